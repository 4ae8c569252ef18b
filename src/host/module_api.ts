/**
 * The NodeAPI methods that concern modules themselves: subscriptions, publishing events, discovery,
 * health and metrics reports, and module-to-module calls. They act on behalf of the calling module,
 * whose identity the host verified at the handshake.
 *
 * @module
 */
import type { ModuleInfo, ModuleMetrics } from "../protocol/api.ts";
import { checkPayload } from "../protocol/catalog.ts";
import { ErrorCode, RemoteError } from "../protocol/errors.ts";
import {
  CATEGORY_CAPABILITY,
  CUSTOM_EVENT_RE,
  EVENT_CATEGORIES,
  type EventCategory,
  eventSpec,
} from "../protocol/events/mod.ts";
import { API_METHOD_RE, type ApiRegistry } from "./api_registry.ts";
import { type EventBus, EventTooLargeError, type Subscriber } from "./events.ts";
import { TokenBucket } from "./limits.ts";
import type { ApiHandlers, CallContext } from "./node_api.ts";

/** What the module API needs to know about a running module. */
export interface PeerModule {
  /** Its connection, also its event subscriber. */
  connection: Subscriber;
  /** Its effective capabilities. */
  capabilities: ReadonlySet<string>;
  /** Event types its manifest lets it publish. */
  publishes: readonly string[];
  /** Modules allowed to call its API (`*` for any). */
  callers: readonly string[];
  /** Resolves when its connection ends. */
  closed: Promise<unknown>;
  /** Call one of its registered methods on behalf of `caller`. */
  invoke(method: string, params: unknown, timeoutMs: number, caller: string, signal: AbortSignal): Promise<unknown>;
}

/** The host state the module API acts on. */
export interface ModuleApiEnv {
  /** Event subscriptions and publishing. */
  bus: EventBus;
  /** Registered module APIs. */
  apis: ApiRegistry;
  /** Health and metric reports, by module. */
  reports: Map<string, ModuleMetrics>;
  /** A running module by name. */
  peer(name: string): PeerModule | undefined;
  /** Every module the host knows (running or not). */
  directory(): ModuleInfo[];
  /**
   * Start a module that is loaded but not running, if it may be started on a call by `caller`; resolves
   * when it runs. Throws `PERMISSION_DENIED` if `caller` may not call it (so it is not started for nothing).
   */
  activate?(name: string, caller: string): Promise<void>;
  /** Called when a module reports its health. */
  onHealthReport?(name: string, status: string, message: string | null): void;
  /** Called after a module unsubscribed (its journal cursor then covers less). */
  onUnsubscribe?(sub: Subscriber): void;
  /** Called after a module registers or withdraws its API. */
  onApiChange?(name: string): void;
}

const MAX_NAMES = 256;
const MAX_SUBSCRIBED_TYPES = 1024;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const METRIC_RE = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;
const MAX_METRICS = 256;
/**
 * How often a module may do what makes the host announce something to every module (register or withdraw
 * its API, report its health): each may publish an event that subscribers may not drop.
 */
const ANNOUNCE_LIMIT = { per_second: 5, burst: 20 };
/** Unwritten bytes for a module above which calls to it are refused as busy instead of queued for it. */
const BUSY_BYTES = 8 * 1024 * 1024;

/**
 * Build the module-group handlers (and `subscribe`/`unsubscribe`).
 *
 * @param env The host state they act on.
 * @returns Handlers by method name.
 *
 * @example
 * ```ts
 * import { ApiRegistry, createModuleApiHandlers, EventBus } from "@blvm/node";
 * const api = createModuleApiHandlers({
 *   bus: new EventBus(),
 *   apis: new ApiRegistry(),
 *   reports: new Map(),
 *   peer: () => undefined,
 *   directory: () => [],
 * });
 * console.log(await api.discover_modules!({}, { module: "m", signal: new AbortController().signal })); // []
 * ```
 */
export function createModuleApiHandlers(env: ModuleApiEnv): ApiHandlers {
  const buckets = new Map<string, TokenBucket>();
  /** Refuse an announcing action past the module's rate (a module that churns could flood everyone). */
  const announce = (module: string, what: string) => {
    let b = buckets.get(module);
    if (!b) buckets.set(module, b = new TokenBucket(ANNOUNCE_LIMIT));
    const wait = b.take();
    if (wait > 0) {
      throw new RemoteError(
        ErrorCode.RateLimited,
        `A module may ${what} at most ${ANNOUNCE_LIMIT.per_second} times a second (bursts of ${ANNOUNCE_LIMIT.burst}); retry in ${wait} ms`,
        { retry_after_ms: wait, ...ANNOUNCE_LIMIT },
      );
    }
  };
  const self = (ctx: CallContext): PeerModule => {
    const p = env.peer(ctx.module);
    if (!p) throw new RemoteError(ErrorCode.Unavailable, `Module '${ctx.module}' is not connected`);
    return p;
  };
  const info = (name: string): ModuleInfo | undefined => env.directory().find((m) => m.name === name);

  return {
    subscribe: (p, ctx) => {
      const me = self(ctx);
      const set = subscriptionParams(p, "subscribe", me.capabilities);
      // Bounded, so a module cannot grow the host's subscription index (and every answer) without end.
      const had = env.bus.stats(me.connection)?.types ?? [];
      const total = new Set([...had, ...set.types]).size;
      if (total > MAX_SUBSCRIBED_TYPES) {
        throw invalid(
          `A module may subscribe to at most ${MAX_SUBSCRIBED_TYPES} event types one by one (this would make ${total}); subscribe to categories or '*' instead`,
        );
      }
      return Promise.resolve(env.bus.subscribe(me.connection, set));
    },
    unsubscribe: (p, ctx) => {
      const me = self(ctx);
      const set = subscriptionParams(p, "unsubscribe", undefined);
      const left = env.bus.unsubscribe(me.connection, set);
      env.onUnsubscribe?.(me.connection);
      return Promise.resolve(left);
    },

    publish_event: (p, ctx) => {
      only(p, ["type", "payload"]);
      const me = self(ctx);
      const type = p.type;
      if (typeof type !== "string") throw invalid(`Param 'type' must be an event type name, got ${show(type)}`);
      const spec = eventSpec(type);
      if (spec?.owner === "node") {
        throw denied(`'${type}' is published by the node only; a module can never publish it`, { event: type });
      }
      if (!spec) {
        if (!CUSTOM_EVENT_RE.test(type)) {
          throw invalid(`'${type}' is not a catalog event, nor a module event named '<module>.<PascalCaseName>'`);
        }
        if (type.slice(0, type.indexOf(".")) !== ctx.module) {
          throw denied(`Module '${ctx.module}' may publish only its own events, named '${ctx.module}.<Name>'`, {
            event: type,
          });
        }
      }
      if (!me.publishes.includes(type)) {
        throw denied(`'${type}' is not declared in the 'publishes' list of ${ctx.module}'s manifest`, { event: type });
      }
      const payload = p.payload;
      const problem = spec
        ? checkPayload(spec.fields, payload)
        : (isMap(payload) ? undefined : `the payload must be a map, got ${show(payload)}`);
      if (problem) throw invalid(`Payload of '${type}' is invalid: ${problem}`);
      try {
        return Promise.resolve(env.bus.publish(type, payload, { source: ctx.module }));
      } catch (e) {
        if (!(e instanceof EventTooLargeError)) throw e;
        throw new RemoteError(ErrorCode.FrameTooLarge, e.message, {
          frame_bytes: e.frameBytes,
          max_frame_bytes: e.maxFrameBytes,
        });
      }
    },

    discover_modules: () => Promise.resolve(env.directory()),
    get_module_info: (p) => {
      const name = nameParam(p, "name");
      const m = info(name);
      if (!m) throw new RemoteError(ErrorCode.NotFound, `No module named '${name}' is known to the host`);
      return Promise.resolve(m);
    },
    is_module_available: (p) => Promise.resolve(env.peer(nameParam(p, "name")) !== undefined),

    report_health: (p, ctx) => {
      only(p, ["status", "message"]);
      const status = p.status;
      if (status !== "healthy" && status !== "degraded" && status !== "unhealthy") {
        throw invalid(`Param 'status' must be "healthy", "degraded" or "unhealthy", got ${show(status)}`);
      }
      const message = p.message === undefined || p.message === null ? null : p.message;
      if (message !== null && typeof message !== "string") throw invalid(`Param 'message' must be a string`);
      announce(ctx.module, "report its health");
      const text = message?.slice(0, 1024) ?? null;
      reportOf(env, ctx.module).health = { status, message: text, at: Date.now() };
      env.onHealthReport?.(ctx.module, status, text);
      return Promise.resolve({ recorded: true });
    },
    report_metric: (p, ctx) => {
      only(p, ["name", "value", "kind"]);
      const name = p.name;
      if (typeof name !== "string" || !METRIC_RE.test(name)) {
        throw invalid(`Param 'name' must be letters, digits and '_', starting with a letter, got ${show(name)}`);
      }
      if (typeof p.value !== "number" || !Number.isFinite(p.value)) {
        throw invalid(`Param 'value' must be a finite number, got ${show(p.value)}`);
      }
      const kind = p.kind ?? "gauge";
      if (kind !== "gauge" && kind !== "counter") throw invalid(`Param 'kind' must be "gauge" or "counter"`);
      const metrics = reportOf(env, ctx.module).metrics;
      if (!Object.hasOwn(metrics, name) && Object.keys(metrics).length >= MAX_METRICS) {
        throw new RemoteError(ErrorCode.RateLimited, `A module may report at most ${MAX_METRICS} distinct metrics`);
      }
      metrics[name] = { value: p.value, kind, at: Date.now() };
      return Promise.resolve({ recorded: true });
    },
    get_module_metrics: (p) => {
      const name = nameParam(p, "name");
      if (!info(name)) throw new RemoteError(ErrorCode.NotFound, `No module named '${name}' is known to the host`);
      return Promise.resolve(env.reports.get(name) ?? { name, health: null, metrics: {} });
    },

    register_module_api: (p, ctx) => {
      only(p, ["methods", "version"]);
      const methods = p.methods;
      if (
        !Array.isArray(methods) || methods.length === 0 || methods.length > MAX_NAMES ||
        !methods.every((m) => typeof m === "string" && API_METHOD_RE.test(m))
      ) {
        throw invalid(`Param 'methods' must be a list of 1-${MAX_NAMES} method names (${API_METHOD_RE.source})`);
      }
      if (typeof p.version !== "string" || p.version.length === 0 || p.version.length > 64) {
        throw invalid(`Param 'version' must be a non-empty string, got ${show(p.version)}`);
      }
      self(ctx);
      announce(ctx.module, "register or withdraw its API");
      const registered = env.apis.register(ctx.module, p.version, methods as string[]);
      env.onApiChange?.(ctx.module);
      return Promise.resolve({ methods: registered });
    },
    unregister_module_api: (p, ctx) => {
      only(p, []);
      announce(ctx.module, "register or withdraw its API");
      const removed = env.apis.unregister(ctx.module);
      if (removed) env.onApiChange?.(ctx.module);
      return Promise.resolve({ removed });
    },

    call_module: async (p, ctx) => {
      only(p, ["target", "method", "params"]);
      const method = p.method;
      if (typeof method !== "string" || !API_METHOD_RE.test(method)) {
        throw invalid(`Param 'method' must be a method name, got ${show(method)}`);
      }
      const target = p.target === undefined || p.target === null ? resolveTarget(env, method) : nameParam(p, "target");
      let peer = env.peer(target);
      if (!peer && env.activate && info(target)) {
        await env.activate(target, ctx.module);
        // A module registers its API just after its handshake; the call that woke it waits for that.
        const woken = env.peer(target);
        if (woken) {
          const gone = new AbortController();
          woken.closed.then(() => gone.abort(new Error("disconnected")));
          await env.apis.registered(target, AbortSignal.any([ctx.signal, gone.signal])).catch(() => {});
        }
      }
      peer = env.peer(target);
      if (!peer) {
        const state = info(target)?.state;
        throw new RemoteError(
          ErrorCode.Unavailable,
          state ? `Module '${target}' is ${state}, not running` : `No module named '${target}' is loaded`,
          { target },
        );
      }
      if (!peer.callers.includes("*") && !peer.callers.includes(ctx.module)) {
        throw denied(`Module '${target}' does not list '${ctx.module}' among the callers in its manifest's [api]`, {
          target,
        });
      }
      const api = env.apis.get(target);
      if (!api?.methods.has(method)) {
        throw new RemoteError(
          ErrorCode.NotFound,
          api
            ? `Module '${target}' does not serve '${method}'; it serves ${[...api.methods].sort().join(", ")}`
            : `Module '${target}' has registered no API`,
          { target, method },
        );
      }
      // A target that is not reading fast enough is busy: the caller waits, the target is never cut off
      // for what other modules send it.
      if ((peer.connection.bufferedBytes ?? 0) > BUSY_BYTES) {
        throw new RemoteError(
          ErrorCode.Unavailable,
          `Module '${target}' is busy: ${peer.connection.bufferedBytes} bytes wait for it to read; retry later`,
          { target, method, busy: true, retry_after_ms: 100 },
        );
      }
      // The caller's own deadline (its session answers DEADLINE_EXCEEDED and cancels this call through
      // ctx.signal); the invocation's timer is only a backstop, a little later.
      // Whole milliseconds: the deadline goes on the wire, where no field is a float.
      const timeoutMs = Math.ceil(Math.max(1, (ctx.deadlineAt ?? performance.now() + 30_000) - performance.now())) +
        100;
      try {
        return await peer.invoke(method, p.params ?? null, timeoutMs, ctx.module, ctx.signal);
      } catch (e) {
        if (!(e instanceof RemoteError)) throw e;
        if (e.code === ErrorCode.ConnectionClosed) {
          throw new RemoteError(
            ErrorCode.Unavailable,
            `Module '${target}' disconnected before answering '${method}'`,
            { target, method },
          );
        }
        throw new RemoteError(e.code, `${target}.${method}: ${e.message}`, e.data ?? { target, method });
      }
    },
  };
}

function resolveTarget(env: ModuleApiEnv, method: string): string {
  const providers = env.apis.providers(method);
  if (providers.length === 1) return providers[0];
  if (providers.length === 0) {
    throw new RemoteError(ErrorCode.NotFound, `No module serves '${method}'`, { method });
  }
  throw new RemoteError(
    ErrorCode.Conflict,
    `'${method}' is served by ${providers.join(" and ")}; name the module in 'target'`,
    { method, candidates: providers },
  );
}

function subscriptionParams(
  p: Record<string, unknown>,
  method: string,
  caps: ReadonlySet<string> | undefined,
): { types: string[]; categories: string[] } {
  only(p, ["types", "categories"]);
  const list = (key: string): string[] => {
    const v = p[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.length > MAX_NAMES || !v.every((t) => typeof t === "string" && t.length <= 130)) {
      throw invalid(`Param '${key}' of '${method}' must be a list of at most ${MAX_NAMES} names`);
    }
    return v as string[];
  };
  const types = list("types");
  const categories = list("categories");
  if (types.length === 0 && categories.length === 0) {
    throw invalid(`'${method}' needs at least one entry in 'types' or 'categories'`);
  }
  const need = (category: string, what: string) => {
    const cap = CATEGORY_CAPABILITY[category as EventCategory];
    if (caps && cap && !caps.has(cap)) {
      throw denied(`${what} needs the '${cap}' capability`, { capability: cap });
    }
  };
  for (const t of types) {
    if (t === "*") continue;
    const spec = eventSpec(t);
    if (spec?.category === "delivery") {
      throw invalid(`'${t}' is always delivered to the module concerned; it cannot be subscribed to`);
    }
    if (spec) need(spec.category, `Event '${t}'`);
    else if (!CUSTOM_EVENT_RE.test(t)) {
      throw invalid(`Unknown event type '${t}': not in the catalog, nor a module event '<module>.<Name>'`);
    }
  }
  for (const c of categories) {
    if (!Object.hasOwn(EVENT_CATEGORIES, c) || c === "delivery") {
      const known = Object.keys(EVENT_CATEGORIES).filter((k) => k !== "delivery").join(", ");
      throw invalid(`Unknown event category '${c}'; categories are ${known}`);
    }
    need(c, `Category '${c}'`);
  }
  return { types, categories };
}

function reportOf(env: ModuleApiEnv, name: string): ModuleMetrics {
  let r = env.reports.get(name);
  if (!r) env.reports.set(name, r = { name, health: null, metrics: {} });
  return r;
}

function nameParam(p: Record<string, unknown>, key: string): string {
  const v = p[key];
  if (typeof v !== "string" || !NAME_RE.test(v)) throw invalid(`Param '${key}' must be a module name, got ${show(v)}`);
  return v;
}

function only(p: Record<string, unknown>, keys: string[]): void {
  for (const k of Object.keys(p)) {
    if (!keys.includes(k)) {
      throw invalid(`Unexpected param '${k}'${keys.length ? `; expected ${keys.join(", ")}` : "; expected none"}`);
    }
  }
}

function isMap(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function invalid(message: string): RemoteError {
  return new RemoteError(ErrorCode.InvalidParams, message);
}

function denied(message: string, data: Record<string, unknown>): RemoteError {
  return new RemoteError(ErrorCode.PermissionDenied, message, data);
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.slice(0, 80));
  if (typeof v === "object" && v !== null) return Array.isArray(v) ? "a list" : "a map";
  return String(v);
}
