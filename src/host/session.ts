/**
 * The host's side of one module connection: the handshake, then requests, logs, subscriptions,
 * invocations and the stop message.
 *
 * @module
 */
import { ErrorCode, type ProtocolError, RemoteError } from "../protocol/errors.ts";
import type { LimitsWire, LogLevel, Message, ModuleContextWire, RequestMessage } from "../protocol/messages.ts";
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../protocol/version.ts";
import { type CloseInfo, Connection } from "../transport/connection.ts";
import { HandshakeGate } from "../transport/gate.ts";
import { PendingCalls } from "../transport/pending.ts";
import { ModuleStartError } from "./errors.ts";
import type { EventBus } from "./events.ts";
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
  /** Serve the module's NodeAPI requests; `subscribe`/`unsubscribe` are handled by the session itself. */
  handlers: ApiHandlers;
  /** Where the module's subscriptions are registered; the session removes them when the connection ends. */
  bus: EventBus;
  /** Receives the module's log records and the session's own warnings. */
  logger: Logger;
  /** Sees every log record of the module. */
  onLog?: (record: ModuleLogRecord) => void;
}

/** Counters for one session. */
export interface SessionStats {
  /** Requests answered with a result. */
  calls: number;
  /** Requests answered with an error. */
  errors: number;
  /** Log messages received. */
  logs: number;
}

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
    const socket = await Promise.race([listener.accept(), timeout, early]);
    // Messages a module pipelines behind its handshake are held until the session exists.
    const gate = new HandshakeGate();
    conn = new Connection(socket, {
      maxFrameBytes: options.limits.max_frame_bytes,
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
      reject(ErrorCode.VersionMismatch, `Module speaks protocol ${hs.protocol}; this host speaks ${PROTOCOL_VERSION}`);
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
  readonly stats: SessionStats = { calls: 0, errors: 0, logs: 0 };
  readonly #opts: SessionOptions;
  readonly #pending = new PendingCalls();
  readonly #inflight = new Map<number, AbortController>();
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
    conn.closed.then((info) => {
      options.bus.remove(conn);
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
   * @returns The result; rejects with a `RemoteError`.
   */
  invoke(
    method: string,
    params: unknown,
    timeoutMs: number = this.#opts.limits.call_timeout_ms,
    caller?: string,
  ): Promise<unknown> {
    const { id, promise } = this.#pending.open(method, {
      timeoutMs,
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
      case "cancel":
        this.#inflight.get(m.id)?.abort();
        return;
      case "ack":
        if (m.of === "stop") this.#stopAcked = true;
        return;
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
    const record = { module: this.#opts.moduleId, level, message, fields, source };
    writeModuleLog(this.#opts.logger, record);
    this.#opts.onLog?.(record);
  }

  async #request(m: RequestMessage): Promise<void> {
    const control = new AbortController();
    this.#inflight.set(m.id, control);
    try {
      const result = await this.#call(m.method, m.params, control.signal);
      if (control.signal.aborted) return;
      try {
        this.connection.send({ kind: "response", id: m.id, ok: true, result });
        this.stats.calls++;
      } catch (e) {
        this.#respondError(m.id, ErrorCode.Internal, `Result could not be encoded: ${(e as Error).message}`);
      }
    } catch (e) {
      if (control.signal.aborted) return;
      const code = e instanceof RemoteError ? e.code : ErrorCode.Internal;
      if (code === ErrorCode.Internal) {
        this.#opts.logger.error("Handler for {method} failed: {error}", { method: m.method, error: e });
      }
      this.#respondError(m.id, code, (e as Error)?.message ?? String(e), e instanceof RemoteError ? e.data : undefined);
    } finally {
      this.#inflight.delete(m.id);
    }
  }

  #call(method: string, params: unknown, signal: AbortSignal): Promise<unknown> {
    const control = method === "subscribe" || method === "unsubscribe";
    const handlers = this.#opts.handlers;
    // Own properties only: `constructor` or `toString` must not resolve to Object.prototype members.
    const handler = Object.hasOwn(handlers, method) ? handlers[method as keyof ApiHandlers] : undefined;
    if (!control && !handler) throw new RemoteError(ErrorCode.MethodNotFound, `Unknown NodeAPI method '${method}'`);
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      throw new RemoteError(ErrorCode.InvalidParams, `Params of '${method}' must be a map`);
    }
    const p = params as Record<string, unknown>;
    if (control) {
      const types = p.types;
      if (!Array.isArray(types) || !types.every((t) => typeof t === "string" && t.length > 0 && t.length <= 128)) {
        throw new RemoteError(
          ErrorCode.InvalidParams,
          `Param 'types' of '${method}' must be a list of event type names`,
        );
      }
      const bus = this.#opts.bus;
      const subscribed = method === "subscribe"
        ? bus.subscribe(this.connection, types)
        : bus.unsubscribe(this.connection, types);
      return Promise.resolve({ subscribed });
    }
    return handler!(p, signal);
  }

  #respondError(id: number, code: string, message: string, data?: unknown): void {
    this.stats.errors++;
    this.connection.send({ kind: "response", id, ok: false, error: { code, message, data } });
  }
}
