/**
 * The message kinds of the wire protocol and a validator for decoded frames.
 *
 * Every message is a MessagePack map with a string `kind`. Field names are snake_case so modules in
 * other languages map them directly. See `docs/PROTOCOL.md` for byte-level examples.
 *
 * @module
 */
import { ErrorCode, ProtocolError, quoted } from "./errors.ts";

/** Log levels a module may use. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

/** An error as carried in responses, invocation results and handshake rejections. */
export interface WireError {
  /** An {@link ErrorCode} value. */
  code: string;
  /** Human-readable detail naming what was wrong. */
  message: string;
  /** Optional structured detail. */
  data?: unknown;
}

/** Module → host, first frame on the connection. */
export interface HandshakeMessage {
  /** Message kind tag, the key receivers dispatch on; the host writes it first. */
  kind: "handshake";
  /** The protocol version the module speaks. */
  protocol: number;
  /** The module id the host put in the environment. */
  module_id: string;
  /** The one-time token the host put in the environment. */
  token: string;
  /** Version of the SDK (or hand-written client) the module uses. */
  sdk_version: string;
}

/** The module's context, sent in the handshake ack. */
export interface ModuleContextWire {
  /** The module's id, equal to its configured name and to `BLVM_MODULE_ID`. */
  module_id: string;
  /** The module's typed configuration (TOML types kept); `{}` if it has none. */
  config: Record<string, unknown>;
  /** Absolute real path of the module's private, writable data directory; also its working directory. */
  data_dir: string;
}

/** Deadlines and sizes the host enforces, sent in the handshake ack so the SDK can police itself. */
export interface LimitsWire {
  /** Default deadline for a NodeAPI call, in milliseconds (host default 30000). */
  call_timeout_ms: number;
  /** Time a module has between a `stop` and its exit before SIGTERM, in milliseconds (host default 5000). */
  stop_timeout_ms: number;
  /** Largest frame body either side accepts, in bytes (host default 4194304). */
  max_frame_bytes: number;
}

/** Host → module, reply to a good handshake. */
export interface HandshakeAckMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "handshake_ack";
  /** The protocol version the host speaks; the module closes with `VERSION_MISMATCH` if it differs. */
  protocol: number;
  /** Version of the host package. */
  node_version: string;
  /** The module's id, configuration and data directory. */
  context: ModuleContextWire;
  /** Deadlines and frame size the host enforces. */
  limits: LimitsWire;
}

/** Host → module, reply to a bad handshake; the host closes the connection after it. */
export interface HandshakeRejectMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "handshake_reject";
  /** The protocol version the host speaks. */
  protocol: number;
  /** `VERSION_MISMATCH`, `UNAUTHORIZED` or `INVALID_MESSAGE`. */
  code: string;
  /** Human-readable reason. */
  message: string;
}

/** Module → host, a NodeAPI call. */
export interface RequestMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "request";
  /** Correlation id, unique among the sender's requests in flight. */
  id: number;
  /** NodeAPI method name, for example `get_chain_tip`. */
  method: string;
  /** Method parameters: a map, `{}` when there are none; anything else is answered with `INVALID_PARAMS`. */
  params: unknown;
  /**
   * The caller's deadline, in milliseconds from sending. The host answers `DEADLINE_EXCEEDED` and aborts
   * the work when it passes (capped by the host's own call timeout).
   */
  deadline_ms?: number;
}

/** Host → module, the reply to a request with the same `id`. */
export type ResponseMessage =
  | { kind: "response"; id: number; ok: true; result: unknown }
  | { kind: "response"; id: number; ok: false; error: WireError };

/** Host → module, one event the module subscribed to. */
export interface EventMessage<T extends string = string, P = unknown> {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "event";
  /** Event type, for example `NewBlock`. */
  type: T;
  /**
   * Per-type sequence number, counted by the host across all modules. While a module stays subscribed
   * to a type, a jump between two of its events of that type means events were lost.
   */
  seq: number;
  /** Event data; a map for every node event (see `NodeEvents`). */
  payload: P;
  /** The module that published it; absent for node events. */
  source?: string;
  /**
   * `true` when this is a replay to a new subscriber (a sticky event, or one kept for a lazily started
   * module), not a new event. It carries the type's current `seq`, so it never looks like a gap.
   */
  replay?: boolean;
  /**
   * The event's position in the host's delivery journal, on every journaled (durable) event: it grows with
   * every journaled event, across host restarts, and is the same for every module. A module reports what
   * it has handled with a `processed` message; after a crash or restart it resumes after that position.
   */
  pos?: number;
  /**
   * `true` on an event resent from the journal when the module resumes: it may have been handed to an
   * earlier connection of the module (which had not reported it processed). A module that must act once
   * compares `pos` with the last position it acted on.
   */
  redelivered?: boolean;
}

/** Module → host, a structured log record. */
export interface LogMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "log";
  /** Severity; any value outside {@link LogLevel} is `INVALID_MESSAGE`. */
  level: LogLevel;
  /** The log line, taken literally (no placeholders). */
  message: string;
  /** Structured properties attached to the record; absent when there are none. */
  fields?: Record<string, unknown>;
}

/** Host → module, a call of an API the module serves. */
export interface InvocationMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "invocation";
  /** Correlation id chosen by the host; the `invocation_result` echoes it. */
  id: number;
  /** Name of the method the module serves. */
  method: string;
  /** The method's parameters, any value. */
  params: unknown;
  /** The verified id of the module the host calls on behalf of; absent when the host itself calls. */
  caller?: string;
  /** The host's deadline in milliseconds; when it passes the host sends `cancel` and discards the result. */
  deadline_ms?: number;
}

/** Module → host, the reply to an invocation with the same `id`. */
export type InvocationResultMessage =
  | { kind: "invocation_result"; id: number; ok: true; result: unknown }
  | { kind: "invocation_result"; id: number; ok: false; error: WireError };

/** Either side: the sender no longer wants the reply to its request or invocation `id`. */
export interface CancelMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "cancel";
  /** Id of the sender's own request (module → host) or invocation (host → module) to abandon. */
  id: number;
}

/** Host → module: run cleanup and exit within `deadline_ms`. */
export interface StopMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "stop";
  /** Why the module is stopped, for logs (`operator`, `shutdown`, ...). */
  reason: string;
  /** Time the module has to exit, in milliseconds; equals `limits.stop_timeout_ms`. */
  deadline_ms: number;
}

/** Module → host: acknowledges a control message (`of: "stop"`: cleanup has begun). */
export interface AckMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "ack";
  /** The kind of message acknowledged; only `"stop"` is defined. */
  of: string;
}

/**
 * Module → host: the module has handled an event that asks for acknowledgement (a catalog type with
 * `acknowledge: true`, whose payload carries `deadline_ms`), identified by its `type` and `seq`.
 */
export interface EventAckMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "event_ack";
  /** The event type acknowledged. */
  type: string;
  /** The event's `seq`. */
  seq: number;
  /** `false` if the module's handling failed. */
  ok: boolean;
  /** Why it failed, or a note. */
  message?: string;
  /** The answer, where the event asks for one: for `HealthCheck`, `{status, message?}`. */
  data?: unknown;
}

/**
 * Module → host: every journaled event up to `pos` (see {@link EventMessage.pos}) has been handled. The SDK
 * sends it after the handlers resolve, in batches. The host keeps the position across restarts and, when
 * the module connects again, resends the journaled events after it.
 */
export interface ProcessedMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "processed";
  /** The highest journal position up to which every event was handled. */
  pos: number;
}

/**
 * Host → module: the module's configuration changed (its `config.toml` or its `[modules.<name>.config]`
 * in the node's file). The SDK replaces `context.config` and calls the module's config handlers.
 */
export interface ConfigMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "config";
  /** The module's whole new configuration. */
  config: Record<string, unknown>;
}

/** Either side, last frame before it closes the connection on purpose: says why. */
export interface CloseMessage {
  /** Message kind tag, the key receivers dispatch on. */
  kind: "close";
  /** Why the sender closes: an {@link ErrorCode} value, `CONNECTION_CLOSED` for an ordinary close. */
  code: string;
  /** Human-readable reason. */
  message: string;
}

/**
 * Any protocol message.
 *
 * @example Narrow on `kind`
 * ```ts
 * import type { Message } from "@blvm/node/protocol";
 * function describe(m: Message): string {
 *   return m.kind === "event" ? `${m.type}#${m.seq}` : m.kind;
 * }
 * console.log(describe({ kind: "event", type: "NewBlock", seq: 3, payload: {} }));
 * ```
 */
export type Message =
  | HandshakeMessage
  | HandshakeAckMessage
  | HandshakeRejectMessage
  | RequestMessage
  | ResponseMessage
  | EventMessage
  | LogMessage
  | InvocationMessage
  | InvocationResultMessage
  | CancelMessage
  | StopMessage
  | AckMessage
  | EventAckMessage
  | ProcessedMessage
  | ConfigMessage
  | CloseMessage;

type Shape = Record<
  string,
  "string" | "number" | "uint" | "object" | "boolean" | "any" | "string?" | "number?" | "object?" | "boolean?"
>;

const SHAPES: Record<Message["kind"], Shape> = {
  handshake: { protocol: "number", module_id: "string", token: "string", sdk_version: "string" },
  handshake_ack: { protocol: "number", node_version: "string", context: "object", limits: "object" },
  handshake_reject: { protocol: "number", code: "string", message: "string" },
  request: { id: "uint", method: "string", params: "any", deadline_ms: "number?" },
  response: { id: "uint", ok: "boolean" },
  event: {
    type: "string",
    seq: "number",
    payload: "any",
    source: "string?",
    replay: "boolean?",
    pos: "number?",
    redelivered: "boolean?",
  },
  log: { level: "string", message: "string", fields: "object?" },
  invocation: { id: "uint", method: "string", params: "any", caller: "string?", deadline_ms: "number?" },
  invocation_result: { id: "uint", ok: "boolean" },
  cancel: { id: "uint" },
  stop: { reason: "string", deadline_ms: "number" },
  ack: { of: "string" },
  event_ack: { type: "string", seq: "uint", ok: "boolean", message: "string?", data: "any" },
  processed: { pos: "uint" },
  config: { config: "object" },
  close: { code: "string", message: "string" },
};

type Fields = (readonly [field: string, type: string, optional: boolean])[];

/** A shape compiled to [field, type, optional] triples once, so validation does no string work. */
function compile(shape: Shape): Fields {
  return Object.entries(shape).filter(([, t]) => t !== "any").map(([f, t]) =>
    [f, t.replace("?", ""), t.endsWith("?")] as const
  );
}

const COMPILED = new Map(Object.entries(SHAPES).map(([kind, shape]) => [kind, compile(shape)]));

/** The maps inside a `handshake_ack`, checked like the message's own fields. */
const ACK_MAPS: [string, Fields][] = [
  ["context", compile({ module_id: "string", config: "object", data_dir: "string" })],
  ["limits", compile({ call_timeout_ms: "number", stop_timeout_ms: "number", max_frame_bytes: "number" })],
];

const LEVELS = new Set(["trace", "debug", "info", "warn", "error"]);

/**
 * Check that a decoded frame is a valid {@link Message}.
 *
 * @param value A decoded frame body.
 * @returns The same value, typed.
 * @throws {ProtocolError} `INVALID_MESSAGE` naming the kind and field that is wrong. When the value
 * was a `request` with a valid `id`, the error's `cause` is `{ id }` so a receiver can answer it.
 *
 * @example
 * ```ts
 * import { parseMessage } from "@blvm/node/protocol";
 * const m = parseMessage({ kind: "cancel", id: 7 });
 * console.log(m.kind); // "cancel"
 * ```
 */
export function parseMessage(value: unknown): Message {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(`Message must be a map with a 'kind' field, got ${describe(value)}`, undefined);
  }
  const m = value as Record<string, unknown>;
  const kind = m.kind;
  // Only a request with a usable id can be answered with an error; anything else closes the connection.
  const id = kind === "request" && isId(m.id) ? m.id : undefined;
  const fields = typeof kind === "string" ? COMPILED.get(kind) : undefined;
  if (!fields) {
    const what = typeof kind === "string" ? quoted(kind) : kind === undefined ? "(none)" : describe(kind);
    throw invalid(`Message has unknown kind ${what}`, id);
  }
  checkFields(kind as string, m, fields, id, "");
  if (kind === "handshake_ack") {
    for (const [name, inner] of ACK_MAPS) checkFields(kind, m[name] as Record<string, unknown>, inner, id, `${name}.`);
  }
  if ((kind === "response" || kind === "invocation_result") && m.ok === false) checkError(kind, m.error, id);
  if (kind === "log" && !LEVELS.has(m.level as string)) {
    throw invalid(`'log' message field 'level' must be one of ${[...LEVELS].join(", ")}, got ${describe(m.level)}`, id);
  }
  return value as Message;
}

function checkFields(
  kind: string,
  m: Record<string, unknown>,
  fields: Fields,
  id: number | undefined,
  prefix: string,
): void {
  for (const [field, type, optional] of fields) {
    const v = m[field];
    if (v === undefined || v === null) {
      if (optional) continue;
      throw invalid(`'${kind}' message is missing field '${prefix}${field}'`, id);
    }
    const wanted = mismatch(v, type);
    if (wanted) throw invalid(`'${kind}' message field '${prefix}${field}' must be ${wanted}, got ${describe(v)}`, id);
  }
}

/** What `v` must be to be of `type`, or `undefined` when it is. */
function mismatch(v: unknown, type: string): string | undefined {
  switch (type) {
    case "object":
      return typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array) ? undefined : "a map";
    case "number":
      // NaN is no number of any field: a NaN deadline would never pass.
      return typeof v === "number" && !Number.isNaN(v) ? undefined : "a number";
    case "uint":
      return typeof v !== "number" ? "a number" : isId(v) ? undefined : "a non-negative integer";
    case "string":
      return typeof v === "string" ? undefined : "a string";
    default:
      return typeof v === "boolean" ? undefined : "a boolean";
  }
}

function isId(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function checkError(kind: string, e: unknown, id: number | undefined): void {
  if (
    typeof e !== "object" || e === null || typeof (e as WireError).code !== "string" ||
    typeof (e as WireError).message !== "string"
  ) {
    throw invalid(`'${kind}' message with ok=false needs 'error' as a map with string 'code' and 'message'`, id);
  }
}

function invalid(message: string, id: number | undefined): ProtocolError {
  return new ProtocolError(ErrorCode.InvalidMessage, message, id === undefined ? undefined : { cause: { id } });
}

/**
 * A short description of a decoded value for an error message. It stays short and cannot throw, whatever
 * the value: the message may be sent back to the peer in a frame of bounded size.
 */
function describe(v: unknown): string {
  if (v === null) return "nil";
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "binary";
  if (typeof v === "object") return "a map";
  return `${typeof v} ${quoted(String(v))}`;
}
