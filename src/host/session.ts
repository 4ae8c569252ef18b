/**
 * The host's side of one module connection: the handshake, then requests, logs, subscriptions,
 * invocations and the stop message.
 *
 * @module
 */
import { METHOD_CAPABILITY, type NodeApiMethod } from "../protocol/api.ts";
import { ErrorCode, type ProtocolError, quoted, RemoteError } from "../protocol/errors.ts";
import type {
  EventAckMessage,
  LimitsWire,
  LogLevel,
  Message,
  ModuleContextWire,
  RequestMessage,
} from "../protocol/messages.ts";
import { encodeFrame } from "../protocol/encoder.ts";
import { InFlightCall } from "./inflight.ts";
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../protocol/version.ts";
import { type CloseInfo, Connection } from "../transport/connection.ts";
import { HandshakeGate } from "../transport/gate.ts";
import { PendingCalls } from "../transport/pending.ts";
import { ModuleStartError } from "./errors.ts";
import { Deadlines, type RateLimit, TokenBucket } from "./limits.ts";
import { LogGate } from "./log_gate.ts";
import { type Logger, type ModuleLogRecord, writeModuleLog } from "./log.ts";
import type { ApiHandlers } from "./node_api.ts";

export type { ModuleLogRecord };

/** What a session needs from the host. */
export interface SessionOptions {
  /** The id issued for this spawn; the handshake's `module_id` must equal it. */
  moduleId: string;
  /** The one-time token issued for this spawn. */
  token: string;
  /** Sent to the module in the handshake ack. */
  context: ModuleContextWire;
  /** Sent in the handshake ack; `max_frame_bytes` also caps incoming frames, `call_timeout_ms` invocations. */
  limits: LimitsWire;
  /** Serve the module's NodeAPI requests. */
  handlers: ApiHandlers;
  /** The module's effective capabilities; a method whose capability is missing is answered `PERMISSION_DENIED`. */
  capabilities: ReadonlySet<string>;
  /** The module's request rate limit; `null` for none. */
  rateLimit: RateLimit | null;
  /** Receives the module's log records and the session's own warnings. */
  logger: Logger;
  /** Sees every log record of the module. */
  onLog?: (record: ModuleLogRecord) => void;
  /** Receives the module's `event_ack` answers to request events. */
  onEventAck?: (ack: EventAckMessage) => void;
  /** Receives the module's `processed` reports: journaled events handled up to this position. */
  onProcessed?: (pos: number) => void;
  /** Called with the session right after the handshake ack, before any message behind the handshake is handled. */
  onEstablished?: (session: ModuleSession) => void;
  /**
   * Called for each accepted connection before anything is read from it: a reason string refuses it
   * (another process connected in the module's place) and the host waits for the next one.
   */
  verifyPeer?: () => string | undefined;
  /** Unwritten bytes the host holds for this module before cutting it off (`SLOW_CONSUMER`). Default: no limit. */
  maxOutgoingBytes?: number;
}

/** Counters for one session. */
export interface SessionStats {
  /** Requests answered with a result. */
  calls: number;
  /** Requests answered with an error (all kinds, including the three below). */
  errors: number;
  /** Requests refused for a missing capability. */
  denied: number;
  /** Requests refused by the rate limit. */
  rate_limited: number;
  /** Requests that ran out of time. */
  deadline_exceeded: number;
  /** Log messages received. */
  logs: number;
  /** Log messages dropped for coming faster than the host logs them (see `LogGate`). */
  logs_dropped: number;
}

/** Most map entries one frame from a module may hold. */
const MAX_MAP_ENTRIES = 65_536;

/**
 * Accept exactly one connection on `listener` and complete the handshake within `deadlineMs`.
 *
 * @param listener The module's listening socket; the caller closes it afterwards.
 * @param options Session settings.
 * @param deadlineMs Deadline for connect plus handshake.
 * @param exited Resolves if the module process exits first.
 * @returns The established session.
 * @throws {ModuleStartError} with `HANDSHAKE_TIMEOUT`, `UNAUTHORIZED`, `VERSION_MISMATCH`, `EXITED`
 * or `INVALID_MESSAGE`.
 *
 * @example
 * ```ts ignore
 * const session = await acceptSession(listener, options, 10_000, process.status);
 * ```
 */
export async function acceptSession(
  listener: Deno.Listener,
  options: SessionOptions,
  deadlineMs: number,
  exited: Promise<Deno.CommandStatus>,
): Promise<ModuleSession> {
  const name = options.moduleId;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(
      () => reject(new ModuleStartError(name, ErrorCode.HandshakeTimeout, `No handshake within ${deadlineMs} ms`)),
      deadlineMs,
    )
  );
  const early = exited.then((s) => {
    throw new ModuleStartError(
      name,
      "EXITED",
      `Process exited before the handshake (code ${s.code}${s.signal ? `, ${s.signal}` : ""})`,
    );
  });
  let conn: Connection | undefined;
  let session: ModuleSession | undefined;
  try {
    let socket = await Promise.race([listener.accept(), timeout, early]);
    // The module's own process only: a process that read the token elsewhere is refused, and the host
    // goes on waiting for the module.
    for (let refusal = options.verifyPeer?.(); refusal; refusal = options.verifyPeer?.()) {
      options.logger.warn("Refused a connection to the module's socket: {reason}", { reason: refusal });
      await refuse(socket, refusal);
      socket = await Promise.race([listener.accept(), timeout, early]);
    }
    // Messages a module pipelines behind its handshake are held until the session exists.
    const gate = new HandshakeGate();
    conn = new Connection(socket, {
      maxFrameBytes: options.limits.max_frame_bytes,
      maxBufferedBytes: options.maxOutgoingBytes,
      // A frame of hundreds of thousands of map keys would stall the host for a quarter of a second.
      maxMapEntries: MAX_MAP_ENTRIES,
      onMessage: (m) => gate.push(m),
      onInvalid: (e) => session?.invalid(e) ?? false,
      onClose: (info) =>
        gate.fail(new ModuleStartError(name, info.code, `Connection closed during the handshake: ${info.message}`)),
    });
    conn.start();
    const m = await Promise.race([gate.first, timeout, early]);
    const reject = (code: string, message: string): never => {
      conn!.send({ kind: "handshake_reject", protocol: PROTOCOL_VERSION, code, message });
      throw new ModuleStartError(name, code, message);
    };
    if (m.kind !== "handshake") reject(ErrorCode.InvalidMessage, `First message must be 'handshake', got '${m.kind}'`);
    const hs = m as Extract<Message, { kind: "handshake" }>;
    if (hs.protocol !== PROTOCOL_VERSION) {
      reject(
        ErrorCode.VersionMismatch,
        `Module speaks protocol ${hs.protocol}; this host speaks ${PROTOCOL_VERSION}: build it with SDK ${PACKAGE_VERSION}`,
      );
    }
    if (hs.module_id !== options.moduleId || !sameToken(hs.token, options.token)) {
      reject(ErrorCode.Unauthorized, `Handshake module id or token does not match what the host issued for '${name}'`);
    }
    conn.send({
      kind: "handshake_ack",
      protocol: PROTOCOL_VERSION,
      node_version: PACKAGE_VERSION,
      context: options.context,
      limits: options.limits,
    });
    session = new ModuleSession(conn, options, hs.sdk_version);
    options.onEstablished?.(session);
    gate.open((m) => session!.dispatch(m));
    return session;
  } catch (e) {
    await conn?.close(undefined, "Handshake failed", 200);
    throw e;
  } finally {
    clearTimeout(timer);
    early.catch(() => {});
  }
}

/** Tell an impostor why (`handshake_reject`, UNAUTHORIZED) and close its connection, within 200 ms. */
async function refuse(socket: Deno.Conn, reason: string): Promise<void> {
  const frame = encodeFrame({
    kind: "handshake_reject",
    protocol: PROTOCOL_VERSION,
    code: ErrorCode.Unauthorized,
    message: `Connection refused: ${reason}`,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([socket.write(frame).catch(() => 0), new Promise((r) => timer = setTimeout(r, 200))]);
  clearTimeout(timer);
  try {
    socket.close();
  } catch { /* closed by the peer */ }
}

function sameToken(a: string, b: string): boolean {
  if (typeof a !== "string" || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * An established module connection, as the host sees it.
 *
 * @example
 * ```ts ignore
 * session.stop("operator", 5000);
 * const result = await session.invoke("status", {});
 * ```
 */
export class ModuleSession {
  /** The connection; also the module's event subscriber. */
  readonly connection: Connection;
  /** The SDK version the module announced. */
  readonly sdkVersion: string;
  /** Request and log counters. */
  readonly stats: SessionStats = {
    calls: 0,
    errors: 0,
    denied: 0,
    rate_limited: 0,
    deadline_exceeded: 0,
    logs: 0,
    logs_dropped: 0,
  };
  readonly #logGate: LogGate;
  readonly #opts: SessionOptions;
  readonly #pending = new PendingCalls();
  readonly #inflight = new Map<number, InFlightCall>();
  readonly #deadlines = new Deadlines<number>((id) => this.#expire(id));
  readonly #bucket: TokenBucket | undefined;
  #stopAcked = false;

  /**
   * Wrap a connection whose handshake has succeeded. Normally made by {@link acceptSession}.
   *
   * @param conn The connection, after the handshake.
   * @param options Session settings.
   * @param sdkVersion What the module announced.
   */
  constructor(conn: Connection, options: SessionOptions, sdkVersion: string) {
    this.connection = conn;
    this.#opts = options;
    this.sdkVersion = sdkVersion;
    this.#bucket = options.rateLimit ? new TokenBucket(options.rateLimit) : undefined;
    this.#logGate = new LogGate(options.logger);
    conn.closed.then((info) => {
      this.#deadlines.close();
      this.#pending.rejectAll(
        new RemoteError(ErrorCode.ConnectionClosed, `Module '${options.moduleId}' disconnected: ${info.message}`),
      );
      for (const c of this.#inflight.values()) c.abort();
      const log = info.initiator === "local" && info.code !== ErrorCode.ConnectionClosed ? "warn" : "info";
      options.logger[log]("Connection closed: {reason}", {
        reason: info.message,
        code: info.code,
        initiator: info.initiator,
      });
    });
  }

  /** Whether the module acknowledged a `stop`. */
  get stopAcked(): boolean {
    return this.#stopAcked;
  }

  /** Resolves when the connection ends. */
  get closed(): Promise<CloseInfo> {
    return this.connection.closed;
  }

  /**
   * Ask the module to clean up and exit.
   *
   * @param reason Why, for the module's logs.
   * @param deadlineMs How long it has.
   * @returns `false` if the connection was already closed.
   */
  stop(reason: string, deadlineMs: number): boolean {
    return this.connection.send({ kind: "stop", reason, deadline_ms: deadlineMs });
  }

  /**
   * Call a method the module serves.
   *
   * @param method The method.
   * @param params Its params.
   * @param timeoutMs Deadline. Default: the call timeout from the limits.
   * @param caller The calling module's id, if a module is calling.
   * @param signal Aborts the call: the module is sent `cancel` and the promise rejects.
   * @returns The result; rejects with a `RemoteError`.
   */
  invoke(
    method: string,
    params: unknown,
    timeoutMs: number = this.#opts.limits.call_timeout_ms,
    caller?: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const { id, promise } = this.#pending.open(method, {
      timeoutMs,
      signal,
      onAbandon: (id) => this.connection.send({ kind: "cancel", id }),
    });
    if (!this.connection.send({ kind: "invocation", id, method, params, caller, deadline_ms: timeoutMs })) {
      this.#pending.settle(id, false, { code: ErrorCode.ConnectionClosed, message: "Module is not connected" });
    }
    return promise;
  }

  /**
   * Route one message from the module. Called by the connection.
   *
   * @param m The message.
   */
  dispatch(m: Message): void {
    switch (m.kind) {
      case "request":
        return void this.#request(m);
      case "log":
        return this.#log(m.level, m.message, m.fields, "ipc");
      case "invocation_result":
        this.#pending.settle(m.id, m.ok, m.ok ? m.result : m.error);
        return;
      case "cancel": {
        // Cancelled: no answer at all, not even DEADLINE_EXCEEDED later.
        const call = this.#inflight.get(m.id);
        this.#inflight.delete(m.id);
        this.#deadlines.delete(m.id);
        call?.abort();
        return;
      }
      case "ack":
        if (m.of === "stop") this.#stopAcked = true;
        return;
      case "event_ack":
        return this.#opts.onEventAck?.(m);
      case "processed":
        return this.#opts.onProcessed?.(m.pos);
      default:
        this.#opts.logger.warn("Ignoring unexpected {kind} message", { kind: m.kind });
    }
  }

  /**
   * Answer a request that failed validation but carried an id; anything else closes the connection.
   *
   * @param e The validation error.
   * @returns Whether it was answered.
   */
  invalid(e: ProtocolError): boolean {
    const id = (e.cause as { id?: number } | undefined)?.id;
    if (id === undefined) return false;
    this.#respondError(id, ErrorCode.InvalidRequest, e.message);
    return true;
  }

  #log(
    level: LogLevel,
    message: string,
    fields: Record<string, unknown> | undefined,
    source: ModuleLogRecord["source"],
  ): void {
    this.stats.logs++;
    const kept = this.#logGate.admit(message, fields);
    this.stats.logs_dropped = this.#logGate.dropped;
    if (!kept) return;
    const record = { module: this.#opts.moduleId, level, ...kept, source };
    writeModuleLog(this.#opts.logger, record);
    this.#opts.onLog?.(record);
  }

  async #request(m: RequestMessage): Promise<void> {
    const refusal = this.#refuse(m);
    if (refusal) return this.#respondError(m.id, refusal.code, refusal.message, refusal.data);
    const handler = this.#opts.handlers[m.method as NodeApiMethod]!;
    // The caller's deadline, capped by the host's call timeout.
    const ms = Math.min(Math.max(1, m.deadline_ms ?? Infinity), this.#opts.limits.call_timeout_ms);
    const call = new InFlightCall(m.method, ms);
    this.#inflight.set(m.id, call);
    const deadlineAt = this.#deadlines.add(m.id, ms);
    try {
      const result = await handler(m.params as Record<string, unknown>, {
        module: this.#opts.moduleId,
        get signal() {
          return call.signal;
        },
        deadlineAt,
      });
      if (call.aborted) return;
      try {
        this.connection.send({ kind: "response", id: m.id, ok: true, result });
        this.stats.calls++;
      } catch (e) {
        this.#respondError(m.id, ErrorCode.Internal, `Result could not be encoded: ${(e as Error).message}`);
      }
    } catch (e) {
      if (call.aborted) return;
      const code = e instanceof RemoteError ? e.code : ErrorCode.Internal;
      if (code === ErrorCode.Internal) {
        this.#opts.logger.error("Handler for {method} failed: {error}", { method: m.method, error: e });
      }
      this.#respondError(m.id, code, (e as Error)?.message ?? String(e), e instanceof RemoteError ? e.data : undefined);
    } finally {
      this.#inflight.delete(m.id);
      this.#deadlines.delete(m.id);
    }
  }

  /** Checks made before a handler runs: rate limit, method, capability, params shape. */
  #refuse(m: RequestMessage): { code: string; message: string; data?: unknown } | undefined {
    const method = m.method;
    const wait = this.#bucket?.take() ?? 0;
    if (wait > 0) {
      this.stats.rate_limited++;
      const limit = this.#bucket!.limit;
      return {
        code: ErrorCode.RateLimited,
        message: `Rate limit of ${limit.per_second} requests/s (burst ${limit.burst}) exceeded; retry in ${wait} ms`,
        data: { retry_after_ms: wait, per_second: limit.per_second, burst: limit.burst },
      };
    }
    // Own properties only: `constructor` or `toString` must not resolve to Object.prototype members.
    if (!Object.hasOwn(this.#opts.handlers, method) || !Object.hasOwn(METHOD_CAPABILITY, method)) {
      return { code: ErrorCode.MethodNotFound, message: `Unknown NodeAPI method ${quoted(String(method))}` };
    }
    const capability = METHOD_CAPABILITY[method as NodeApiMethod];
    if (!this.#opts.capabilities.has(capability)) {
      this.stats.denied++;
      return {
        code: ErrorCode.PermissionDenied,
        message:
          `'${method}' needs the '${capability}' capability, which module '${this.#opts.moduleId}' does not have`,
        data: { capability, method },
      };
    }
    const p = m.params;
    if (typeof p !== "object" || p === null || Array.isArray(p) || p instanceof Uint8Array) {
      return { code: ErrorCode.InvalidParams, message: `Params of '${method}' must be a map` };
    }
    return undefined;
  }

  #expire(id: number): void {
    const call = this.#inflight.get(id);
    if (!call) return;
    this.#inflight.delete(id);
    call.abort(new RemoteError(ErrorCode.DeadlineExceeded, "deadline passed"));
    this.stats.deadline_exceeded++;
    this.#respondError(id, ErrorCode.DeadlineExceeded, `'${call.method}' did not finish within ${call.ms} ms`, {
      deadline_ms: call.ms,
    });
  }

  #respondError(id: number, code: string, message: string, data?: unknown): void {
    this.stats.errors++;
    const text = message.length > 1024 ? `${message.slice(0, 1024)}...` : message;
    try {
      this.connection.send({ kind: "response", id, ok: false, error: { code, message: text, data } });
    } catch {
      // An error too big for a frame (its data, say) still gets an answer, without the data.
      this.connection.send({ kind: "response", id, ok: false, error: { code, message: text } });
    }
  }
}
