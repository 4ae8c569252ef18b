/**
 * The module's side of a connection to the host: events, NodeAPI calls, logging, served methods and
 * the stop protocol.
 *
 * @module
 */
import type { NodeEvents } from "../protocol/api.ts";
import { ErrorCode, RemoteError } from "../protocol/errors.ts";
import type { EventMessage, LimitsWire, LogLevel, Message } from "../protocol/messages.ts";
import type { CloseInfo, Connection } from "../transport/connection.ts";
import { PendingCalls } from "../transport/pending.ts";
import { type CallOptions, createNodeApi, type NodeApi } from "./node_api.ts";

/** What the host told the module about itself in the handshake. */
export interface ModuleContext {
  /** The id the host assigned this module. */
  moduleId: string;
  /** The module's typed configuration. */
  config: Record<string, unknown>;
  /** Absolute path of the module's private data directory (the only writable place). */
  dataDir: string;
  /** Absolute path of the module's Unix socket. */
  socketPath: string;
  /** Version of the host. */
  nodeVersion: string;
  /** Deadlines and sizes the host enforces. */
  limits: LimitsWire;
}

/** The event message type for event type `K`: typed payload for known node events. */
export type EventOf<K extends string> = K extends keyof NodeEvents ? EventMessage<K, NodeEvents[K]>
  : EventMessage<K, unknown>;

/** An event handler; a returned promise is awaited only to report its failure. */
export type EventHandler<K extends string> = (event: EventOf<K>) => void | Promise<void>;

/** A handler for a method this module serves; receives the params and the caller's module id. */
export type MethodHandler = (params: unknown, caller: string | undefined) => unknown | Promise<unknown>;

/** Structured logging to the host's log, tagged with this module's id. */
export type ModuleLogger = { [L in LogLevel]: (message: string, fields?: Record<string, unknown>) => void };

/** Settings for {@link ModuleClient}, filled in by `connect()`. */
export interface ModuleClientOptions {
  /** Exit the process when the connection ends without a stop. Default true. */
  exitOnDisconnect: boolean;
  /** Exit the process after a host `stop` once cleanup has run. Default true. */
  exitOnStop: boolean;
}

/**
 * A connected module. Obtain one with `connect()`.
 *
 * @example A module in ten lines
 * ```ts ignore
 * import { connect } from "@blvm/node/module";
 * const mod = await connect();
 * mod.on("NewBlock", async (e) => {
 *   const tip = await mod.api.getChainTip();
 *   mod.log.info("new block", { height: e.payload.height, tip: tip.hash });
 * });
 * await mod.subscribe(["NewBlock"]);
 * mod.onStop(() => mod.log.info("bye"));
 * ```
 */
export class ModuleClient {
  /** The module's context from the handshake. */
  readonly context: ModuleContext;
  /** Typed NodeAPI calls. */
  readonly api: NodeApi;
  /** Structured logging to the host. */
  readonly log: ModuleLogger;
  readonly #conn: Connection;
  readonly #pending = new PendingCalls();
  readonly #handlers = new Map<string, Set<EventHandler<string>>>();
  readonly #methods = new Map<string, MethodHandler>();
  readonly #stopHandlers: (() => void | Promise<void>)[] = [];
  readonly #opts: ModuleClientOptions;
  #stopping = false;

  /**
   * Used by `connect()`; the connection must have completed the handshake.
   *
   * @param conn The connection, already started.
   * @param context The context from the handshake ack.
   * @param options Exit behaviour.
   */
  constructor(conn: Connection, context: ModuleContext, options: ModuleClientOptions) {
    this.#conn = conn;
    this.context = context;
    this.#opts = options;
    this.api = createNodeApi((m, p, o) => this.call(m, p, o));
    const log = {} as ModuleLogger;
    for (const level of ["trace", "debug", "info", "warn", "error"] as const) {
      log[level] = (message, fields) => this.#log(level, message, fields);
    }
    this.log = log;
    conn.closed.then((info) => this.#onClosed(info));
  }

  /** Resolves with the reason once the connection to the host has ended. */
  get closed(): Promise<CloseInfo> {
    return this.#conn.closed;
  }

  /**
   * Call a NodeAPI method by its wire name.
   *
   * @param method The method, for example `get_block_height`.
   * @param params The params map.
   * @param options Deadline and abort signal.
   * @returns The result; rejects with a `RemoteError` carrying the host's error code.
   */
  call(method: string, params: unknown = {}, options: CallOptions = {}): Promise<unknown> {
    if (this.#conn.isClosed) {
      return Promise.reject(
        new RemoteError(ErrorCode.ConnectionClosed, `Cannot call '${method}': the connection to the host is closed`),
      );
    }
    const timeoutMs = options.timeoutMs ?? this.context.limits.call_timeout_ms;
    const { id, promise } = this.#pending.open(method, {
      timeoutMs,
      signal: options.signal,
      onAbandon: (id) => this.#conn.send({ kind: "cancel", id }),
    });
    try {
      this.#conn.send({ kind: "request", id, method, params, deadline_ms: timeoutMs });
    } catch (e) {
      this.#pending.settle(id, false, { code: ErrorCode.InvalidParams, message: (e as Error).message });
    }
    return promise;
  }

  /**
   * Start receiving events of these types. Subscribing twice never duplicates delivery.
   *
   * @param types Event types.
   * @returns Every type this module is now subscribed to.
   */
  async subscribe(types: string[]): Promise<string[]> {
    return (await this.api.subscribe({ types })).subscribed;
  }

  /**
   * Stop receiving events of these types.
   *
   * @param types Event types.
   * @returns Every type this module is still subscribed to.
   */
  async unsubscribe(types: string[]): Promise<string[]> {
    return (await this.api.unsubscribe({ types })).subscribed;
  }

  /**
   * Register a handler for one event type. It only receives events once the module has subscribed to
   * that type (see {@link ModuleClient.subscribe}). A handler that throws is reported to the host log.
   *
   * @param type The event type.
   * @param handler Called for each event of `type`.
   * @returns A function that removes the handler.
   */
  on<K extends keyof NodeEvents | (string & Record<never, never>)>(type: K, handler: EventHandler<K>): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, set = new Set());
    set.add(handler as EventHandler<string>);
    return () => set.delete(handler as EventHandler<string>);
  }

  /**
   * Serve a method the host (or, through it, another module) can invoke.
   *
   * @param method The method name.
   * @param handler Returns (or resolves to) the result; a thrown `RemoteError` keeps its code.
   */
  handle(method: string, handler: MethodHandler): void {
    this.#methods.set(method, handler);
  }

  /**
   * Register cleanup to run when the host stops this module, or when the host goes away. Handlers run
   * in order, within the host's stop deadline.
   *
   * @param handler Cleanup work.
   */
  onStop(handler: () => void | Promise<void>): void {
    this.#stopHandlers.push(handler);
  }

  /**
   * Close the connection to the host. The process keeps running; the host treats the module as
   * having disconnected.
   *
   * @returns The close reason.
   */
  close(): Promise<CloseInfo> {
    this.#stopping = true;
    return this.#conn.close(ErrorCode.ConnectionClosed, "Module closed the connection");
  }

  /**
   * Route one message from the host. Called by the connection.
   *
   * @param m The message.
   */
  dispatch(m: Message): void {
    switch (m.kind) {
      case "response":
        this.#pending.settle(m.id, m.ok, m.ok ? m.result : m.error);
        return;
      case "event":
        return this.#event(m);
      case "invocation":
        return void this.#invoke(m.id, m.method, m.params, m.caller);
      case "stop":
        return void this.#stop(m.deadline_ms, true);
      case "cancel":
        return; // Invocations run to completion; the host discards a late result.
      default:
        this.#log("warn", `Ignoring unexpected '${m.kind}' message from the host`);
    }
  }

  #event(e: EventMessage): void {
    const set = this.#handlers.get(e.type);
    if (!set) return;
    for (const h of set) {
      try {
        const r = h(e as EventOf<string>);
        if (r instanceof Promise) r.catch((err) => this.#handlerFailed(e.type, err));
      } catch (err) {
        this.#handlerFailed(e.type, err);
      }
    }
  }

  #handlerFailed(type: string, err: unknown): void {
    this.#log("error", `Handler for ${type} failed: ${(err as Error)?.message ?? err}`, { event: type });
  }

  async #invoke(id: number, method: string, params: unknown, caller?: string): Promise<void> {
    const handler = this.#methods.get(method);
    if (!handler) {
      this.#conn.send({
        kind: "invocation_result",
        id,
        ok: false,
        error: { code: ErrorCode.MethodNotFound, message: `Module does not serve method '${method}'` },
      });
      return;
    }
    try {
      const result = await handler(params, caller);
      this.#conn.send({ kind: "invocation_result", id, ok: true, result: result ?? null });
    } catch (e) {
      const code = e instanceof RemoteError ? e.code : ErrorCode.Internal;
      this.#conn.send({
        kind: "invocation_result",
        id,
        ok: false,
        error: { code, message: (e as Error)?.message ?? String(e) },
      });
    }
  }

  async #stop(deadlineMs: number, fromHost: boolean): Promise<void> {
    if (this.#stopping && fromHost) return;
    this.#stopping = true;
    if (fromHost) this.#conn.send({ kind: "ack", of: "stop" });
    let ok = true;
    const work = (async () => {
      for (const h of this.#stopHandlers) {
        try {
          await h();
        } catch (e) {
          ok = false;
          this.#log("error", `Stop handler failed: ${(e as Error)?.message ?? e}`);
        }
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Leave a margin before the host's deadline so the exit itself is on time.
    const budget = Math.max(0, deadlineMs - 100);
    const finished = await Promise.race([
      work.then(() => true),
      new Promise<false>((r) => timer = setTimeout(() => r(false), budget)),
    ]);
    clearTimeout(timer);
    if (!finished) {
      ok = false;
      this.#log("warn", `Stop handlers did not finish within ${budget} ms`);
    }
    if (fromHost) {
      await this.#conn.close(ErrorCode.ConnectionClosed, "Module stopped");
      if (this.#opts.exitOnStop) Deno.exit(ok ? 0 : 1);
    } else if (this.#opts.exitOnDisconnect) {
      Deno.exit(1);
    }
  }

  #onClosed(info: CloseInfo): void {
    this.#pending.rejectAll(
      new RemoteError(ErrorCode.ConnectionClosed, `Connection to the host closed: ${info.message}`),
    );
    if (this.#stopping) return;
    // The host went away (or closed us): clean up within the stop deadline, then exit. No orphans.
    console.error(`[blvm] connection to host lost (${info.code}: ${info.message}); stopping`);
    this.#stop(this.context.limits.stop_timeout_ms, false);
  }

  #log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    let sent = false;
    try {
      sent = this.#conn.send({ kind: "log", level, message, fields });
    } catch (e) {
      message += ` (fields dropped: ${(e as Error).message})`;
      sent = this.#conn.send({ kind: "log", level, message });
    }
    // Never lose a log line: with no connection, stderr still reaches the host's log.
    if (!sent) {
      console.error(
        `[${level}] ${message}${
          fields ? " " + JSON.stringify(fields, (_, v) => typeof v === "bigint" ? `${v}` : v) : ""
        }`,
      );
    }
  }
}
