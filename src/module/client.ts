/**
 * The module's side of a connection to the host: events, NodeAPI calls, logging, served methods and
 * the stop protocol.
 *
 * @module
 */
import type { SubscribeParams, Subscription } from "../protocol/api.ts";
import { ErrorCode, quoted, RemoteError } from "../protocol/errors.ts";
import { type EVENT_CATALOG, eventSpec, type EventType, type NodeEvents } from "../protocol/events/mod.ts";
import type { EventAckMessage, EventMessage, LimitsWire, LogLevel, Message } from "../protocol/messages.ts";
import type { CloseInfo, Connection } from "../transport/connection.ts";
import { PendingCalls } from "../transport/pending.ts";
import { ProcessedTracker } from "./processed.ts";
import { type EventHandler, EventRouter, type HandlerResults, type SequenceGap } from "./event_router.ts";
import { type CallOptions, createNodeApi, type NodeApi } from "./node_api.ts";

export type { EventHandler, EventOf, HandlerResults, SequenceGap } from "./event_router.ts";

/** A module's answer to a `HealthCheck`: what an {@link ModuleClient.onHealthCheck} handler returns. */
export interface HealthAnswer {
  /** Its health. */
  status: "healthy" | "degraded" | "unhealthy";
  /** Why, for the operator. */
  message?: string;
}

/** Called with the module's new configuration and the one it replaces. */
export type ConfigHandler = (
  config: Record<string, unknown>,
  previous: Record<string, unknown>,
) => void | Promise<void>;

const HEALTH_RANK = { healthy: 0, degraded: 1, unhealthy: 2 } as const;

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

/** Who is calling a method this module serves, and when to give up. */
export interface InvocationContext {
  /** The calling module's name, verified by the host; `operator` for `deno task ctl call`; absent for the host. */
  caller: string | undefined;
  /** Aborted when the caller cancels or its deadline passes; the result is then discarded. */
  signal: AbortSignal;
}

/** A handler for a method this module serves. A thrown `RemoteError` keeps its code. */
export type MethodHandler = (params: unknown, ctx: InvocationContext) => unknown | Promise<unknown>;

/** Event types a module may publish with typed payloads: module-owned catalog types, or its own `<name>.<Type>`. */
export type PublishableType =
  | { [K in EventType]: typeof EVENT_CATALOG[K]["owner"] extends "module" ? K : never }[EventType]
  | `${string}.${string}`;

/** Extra time the SDK waits past a call's deadline, so the host's own `DEADLINE_EXCEEDED` arrives first. */
const DEADLINE_GRACE_MS = 250;

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
  readonly #events = new EventRouter((type, err) => this.#handlerFailed(type, err));
  readonly #methods = new Map<string, MethodHandler>();
  readonly #invocations = new Map<number, AbortController>();
  readonly #stopHandlers: (() => void | Promise<void>)[] = [];
  readonly #configHandlers = new Set<ConfigHandler>();
  readonly #opts: ModuleClientOptions;
  readonly #processed = new ProcessedTracker((pos) => this.#conn.send({ kind: "processed", pos }));
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

  /** Tells the host a call was given up. */
  readonly #cancel = (id: number) => this.#conn.send({ kind: "cancel", id });

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
      timeoutMs: timeoutMs + DEADLINE_GRACE_MS,
      signal: options.signal,
      onAbandon: this.#cancel,
    });
    try {
      this.#conn.send({ kind: "request", id, method, params, deadline_ms: timeoutMs });
    } catch (e) {
      this.#pending.settle(id, false, { code: ErrorCode.InvalidParams, message: (e as Error).message });
    }
    return promise;
  }

  /**
   * Start receiving events by type, by category, or all (`"*"`). Subscribing twice never duplicates
   * delivery. Sticky events (the latest `ConfigLoaded`, `NodeStartupCompleted`, one `ModuleLoaded` per
   * loaded module) are replayed at once, marked `replay: true`.
   *
   * @param what Event types, or `{ types, categories }`.
   * @returns Everything this module is now subscribed to.
   * @throws {RemoteError} `INVALID_PARAMS` for an unknown type or category, `PERMISSION_DENIED` when a
   * category needs a capability the module lacks (mempool events need `read_mempool`).
   */
  subscribe(what: string[] | SubscribeParams): Promise<Subscription> {
    return this.api.subscribe(Array.isArray(what) ? { types: what } : what);
  }

  /**
   * Stop receiving events by type, by category, or `"*"`.
   *
   * @param what Event types, or `{ types, categories }`.
   * @returns What this module is still subscribed to.
   */
  async unsubscribe(what: string[] | SubscribeParams): Promise<Subscription> {
    const params = Array.isArray(what) ? { types: what } : what;
    const left = await this.api.unsubscribe(params);
    this.#events.reset(params.categories?.length || params.types?.includes("*") ? undefined : params.types);
    return left;
  }

  /**
   * Register a handler for one event type; the payload is typed for catalog events. It receives events
   * once the module has subscribed to the type (by type, category or `*`). `EventsDropped` arrives
   * without subscribing. A handler that throws is reported to the host log.
   *
   * @param type The event type.
   * @param handler Called for each event of `type`.
   * @returns A function that removes the handler.
   */
  on<K extends EventType | (string & Record<never, never>)>(type: K, handler: EventHandler<K>): () => void {
    return this.#events.on(type, handler);
  }

  /**
   * Register a handler for every event this module receives.
   *
   * @param handler Called for each event.
   * @returns A function that removes the handler.
   */
  onAny(handler: (event: EventMessage) => void | Promise<void>): () => void {
    return this.#events.onAny(handler);
  }

  /**
   * Be told when events of a subscribed type were lost (its sequence numbers jumped).
   *
   * @param handler Called once per gap.
   * @returns A function that removes the handler.
   */
  onGap(handler: (gap: SequenceGap) => void): () => void {
    return this.#events.onGap(handler);
  }

  /** Sequence gaps seen so far and the events they lost. */
  get gaps(): { gaps: number; missed: number } {
    return this.#events.gapStats;
  }

  /**
   * Publish an event. The type must be in this module's manifest `publishes` list: a module-owned
   * catalog type (payload checked against the catalog) or this module's own `<name>.<Type>`.
   *
   * @param type The event type.
   * @param payload Its payload map.
   * @returns Its sequence number and how many modules it went to.
   * @throws {RemoteError} `PERMISSION_DENIED` (node-owned, not declared, or another module's
   * namespace), `INVALID_PARAMS` (payload does not match the catalog).
   */
  publish<K extends PublishableType>(
    type: K,
    payload: K extends EventType ? NodeEvents[K] : Record<string, unknown>,
  ): Promise<{ seq: number; delivered: number }> {
    return this.api.publishEvent({ type, payload: payload as Record<string, unknown> });
  }

  /**
   * Call a method another module registered, through the host. The callee sees this module's name.
   *
   * @param target The module to call, or `undefined` for the one module serving `method`.
   * @param method The method.
   * @param params Any MessagePack value.
   * @param options Deadline and abort signal.
   * @returns The callee's result.
   * @throws {RemoteError} `UNAVAILABLE` (not running, or it disconnected mid-call), `NOT_FOUND` (no
   * such method), `PERMISSION_DENIED` (not among its callers), `CONFLICT` (two modules serve a bare
   * method), `DEADLINE_EXCEEDED`, or the callee's own error code.
   */
  callModule(target: string | undefined, method: string, params?: unknown, options?: CallOptions): Promise<unknown> {
    return this.call("call_module", { target, method, params: params ?? null }, options);
  }

  /**
   * Serve methods to other modules: register handlers with {@link ModuleClient.handle} and announce
   * them to the host, replacing any API registered before.
   *
   * @param version The API version, for callers' information.
   * @param methods Method name → handler.
   * @returns The methods registered.
   */
  async provide(version: string, methods: Record<string, MethodHandler>): Promise<string[]> {
    for (const [name, handler] of Object.entries(methods)) this.handle(name, handler);
    return (await this.api.registerModuleApi({ methods: Object.keys(methods), version })).methods;
  }

  /**
   * Serve a method the host (`deno task ctl call`) can invoke. Other modules can call it once it is
   * also registered with {@link ModuleClient.provide}.
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
   * Handle `NodeShutdown`: save state and release resources. The handler finishing is the module's
   * acknowledgement; the host kills modules that have not acknowledged by the deadline. The module
   * stays connected afterwards (it may still get `StorageFlushCompleted` and `NodeShutdownCompleted`)
   * until the host sends `stop`, which runs the {@link ModuleClient.onStop} handlers.
   *
   * @param handler Shutdown work; it has `e.payload.deadline_ms`.
   * @returns Once subscribed: a function that removes the handler.
   *
   * @example
   * ```ts ignore
   * await mod.onShutdown(async () => await db.close());
   * ```
   */
  onShutdown(handler: EventHandler<"NodeShutdown">): Promise<() => void> {
    return this.#onRequest("NodeShutdown", handler);
  }

  /**
   * Handle `StorageFlush` (periodic, manual, and at shutdown): write pending data to disk. The handler
   * finishing is the acknowledgement; the host waits for it up to `deadline_ms`.
   *
   * @param handler Flush work.
   * @returns Once subscribed: a function that removes the handler.
   *
   * @example
   * ```ts ignore
   * await mod.onFlush(async () => await Deno.writeTextFile(`${mod.context.dataDir}/state.json`, JSON.stringify(state)));
   * ```
   */
  onFlush(handler: EventHandler<"StorageFlush">): Promise<() => void> {
    return this.#onRequest("StorageFlush", handler);
  }

  /**
   * Answer `HealthCheck` with the module's own health. A module that does not answer within the
   * deadline is marked degraded; a handler that throws answers `unhealthy`. With several handlers the
   * worst answer counts.
   *
   * @param handler Returns the module's health.
   * @returns Once subscribed: a function that removes the handler.
   *
   * @example
   * ```ts ignore
   * await mod.onHealthCheck(() => queue.length > 1000 ? { status: "degraded", message: "backlog" } : { status: "healthy" });
   * ```
   */
  onHealthCheck(
    handler: (e: Parameters<EventHandler<"HealthCheck">>[0]) => HealthAnswer | Promise<HealthAnswer>,
  ): Promise<() => void> {
    return this.#onRequest("HealthCheck", handler);
  }

  /**
   * Handle `DataCleanup` (periodic, manual, or after low disk space): delete data older than
   * `target_age_days`. The handler finishing is the acknowledgement.
   *
   * @param handler Cleanup work.
   * @returns Once subscribed: a function that removes the handler.
   *
   * @example
   * ```ts ignore
   * await mod.onCleanup((e) => pruneOlderThan(e.payload.target_age_days));
   * ```
   */
  onCleanup(handler: EventHandler<"DataCleanup">): Promise<() => void> {
    return this.#onRequest("DataCleanup", handler);
  }

  /**
   * Handle `MaintenanceStarted`: pause non-critical work and, before a backup, flush. The host starts
   * the maintenance once every subscribed module has acknowledged, or at the deadline.
   *
   * @param handler Preparation work.
   * @returns Once subscribed: a function that removes the handler.
   *
   * @example
   * ```ts ignore
   * await mod.onMaintenance(async (e) => { if (e.payload.maintenance_type === "backup") await flush(); });
   * ```
   */
  onMaintenance(handler: EventHandler<"MaintenanceStarted">): Promise<() => void> {
    return this.#onRequest("MaintenanceStarted", handler);
  }

  /**
   * Be told when the operator changes this module's configuration. `context.config` already holds the
   * new values when the handler runs. (A change to the module's grants restarts it instead.)
   *
   * @param handler Called with the new and the previous configuration.
   * @returns A function that removes the handler.
   *
   * @example
   * ```ts ignore
   * mod.onConfig((cfg) => { interval = Number(cfg.interval_ms); });
   * ```
   */
  onConfig(handler: ConfigHandler): () => void {
    this.#configHandlers.add(handler);
    return () => this.#configHandlers.delete(handler);
  }

  async #onRequest<K extends EventType>(type: K, handler: EventHandler<K>): Promise<() => void> {
    const off = this.on(type, handler);
    await this.subscribe([type]);
    return off;
  }

  /**
   * Close the connection to the host. The process keeps running; the host treats the module as
   * having disconnected.
   *
   * @returns The close reason.
   */
  close(): Promise<CloseInfo> {
    this.#stopping = true;
    this.#processed.close();
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
      case "config":
        return void this.#config(m.config);
      case "cancel":
        this.#invocations.get(m.id)?.abort(new RemoteError(ErrorCode.DeadlineExceeded, "The caller gave up"));
        return;
      default:
        this.#log("warn", `Ignoring unexpected '${m.kind}' message from the host`);
    }
  }

  #event(e: EventMessage): void {
    const results = this.#events.dispatch(e);
    // A journaled event is reported processed once its handlers finished (failed ones too: they were
    // reported, and a redelivery would fail the same way).
    if (e.pos !== undefined) {
      if (results instanceof Promise) results.then(this.#processed.begin(e.pos));
      else this.#processed.done(e.pos);
    }
    if (e.replay || !eventSpec(e.type)?.acknowledge) return;
    if (results instanceof Promise) results.then((r) => this.#ack(e, r));
    else this.#ack(e, results);
  }

  /** Answer a request event once its handlers have finished. */
  #ack(e: EventMessage, { values, error }: HandlerResults): void {
    const ack: EventAckMessage = { kind: "event_ack", type: e.type, seq: e.seq, ok: error === undefined };
    if (error !== undefined) ack.message = String((error as Error)?.message ?? error);
    if (e.type === "HealthCheck") ack.data = worstHealth(values, ack.message);
    this.#conn.send(ack);
  }

  async #config(config: Record<string, unknown>): Promise<void> {
    const previous = this.context.config;
    this.context.config = config;
    for (const h of this.#configHandlers) {
      try {
        await h(config, previous);
      } catch (e) {
        this.#log("error", `Config handler failed: ${(e as Error)?.message ?? e}`);
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
        error: { code: ErrorCode.MethodNotFound, message: `Module does not serve method ${quoted(method)}` },
      });
      return;
    }
    const control = new AbortController();
    this.#invocations.set(id, control);
    try {
      const result = await handler(params, { caller, signal: control.signal });
      if (control.signal.aborted) return;
      this.#conn.send({ kind: "invocation_result", id, ok: true, result: result ?? null });
    } catch (e) {
      if (control.signal.aborted) return;
      const code = e instanceof RemoteError ? e.code : ErrorCode.Internal;
      const data = e instanceof RemoteError ? e.data : undefined;
      const text = String((e as Error)?.message ?? e);
      const message = text.length > 1024 ? `${text.slice(0, 1024)}...` : text;
      const error = { code, message, ...(data === undefined ? {} : { data }) };
      try {
        this.#conn.send({ kind: "invocation_result", id, ok: false, error });
      } catch {
        this.#conn.send({ kind: "invocation_result", id, ok: false, error: { code, message: error.message } });
      }
    } finally {
      this.#invocations.delete(id);
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
    // (setTimeout takes at most 2^31-1 ms: a bigger deadline is as good as none.)
    const budget = Math.min(Math.max(0, deadlineMs - 100), 2 ** 31 - 1);
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
      this.#processed.close();
      await this.#conn.close(ErrorCode.ConnectionClosed, "Module stopped");
      if (this.#opts.exitOnStop) Deno.exit(ok ? 0 : 1);
    } else if (this.#opts.exitOnDisconnect) {
      Deno.exit(1);
    }
  }

  #onClosed(info: CloseInfo): void {
    this.#processed.close();
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

/** The worst of the health answers handlers returned; `unhealthy` if one failed, `healthy` if none answered. */
function worstHealth(values: unknown[], failure: string | undefined): HealthAnswer {
  if (failure !== undefined) return { status: "unhealthy", message: failure };
  let worst: HealthAnswer = { status: "healthy" };
  for (const v of values) {
    const a = v as HealthAnswer;
    if (typeof a?.status === "string" && Object.hasOwn(HEALTH_RANK, a.status)) {
      if (
        HEALTH_RANK[a.status] > HEALTH_RANK[worst.status] || (a.message && worst.status === a.status && !worst.message)
      ) {
        worst = typeof a.message === "string" ? { status: a.status, message: a.message } : { status: a.status };
      }
    }
  }
  return worst;
}
