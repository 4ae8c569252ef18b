/**
 * Supervision of one module's process: state changes and their events, start, stop, and crash
 * handling with restart back-off and quarantine.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Host } from "../host/host.ts";
import { ModuleStartError } from "../host/errors.ts";
import { DEFAULT_RATE_LIMIT, type RateLimit } from "../host/limits.ts";
import { activate } from "./activation.ts";
import { ManagerError } from "./errors.ts";
import { hardDependencies, type ManagedModule } from "./managed.ts";
import { folderGone } from "./folder.ts";
import { changedSinceVerified } from "./prepare.ts";
import { describeExit, onExit, type RestartDecision, startFailureExit } from "./restart.ts";
import { canTransition, healthOf, type ModuleState } from "./state.ts";

/** What supervision needs from the manager. */
export interface SupervisorContext {
  /** The host that runs the processes. */
  host: Host;
  /** The manager's log. */
  log: Logger;
  /** A module record by name. */
  entry(name: string): ManagedModule | undefined;
  /** Every module record. */
  modules(): Iterable<ManagedModule>;
  /**
   * A check found the module's folder gone (`why`): the manager stops it and its dependents and marks it
   * `missing`, once (see `markMissing`). Called without waiting; safe to call again.
   */
  folderDeleted(m: ManagedModule, why: string): void;
  /** Called when a required module fails for good after start-up. */
  onFatal(error: ManagerError): void;
  /** Whether start-up has finished (before that, required failures are reported by `start`). */
  readonly started: boolean;
  /** Whether the host is shutting down: nothing starts any more, and every exit counts as a stop. */
  readonly closing: boolean;
}

/**
 * Run `fn` after every earlier operation on the same module has settled, so start, stop and reload
 * never interleave.
 *
 * @param m The module.
 * @param fn The operation.
 * @returns Its result.
 *
 * @example
 * ```ts ignore
 * await serial(m, () => stop(ctx, m, "operator"));
 * ```
 */
export function serial<T>(m: ManagedModule, fn: () => Promise<T>): Promise<T> {
  const next = m.op.then(fn, fn);
  m.op = next.catch(() => {});
  return next;
}

/**
 * Move a module to another state and publish ModuleStateChanged (and ModuleHealthChanged when its
 * health changes). An illegal move is logged as a bug and applied anyway, so the operator sees the truth.
 *
 * @param ctx The manager context.
 * @param m The module.
 * @param to The new state.
 * @param reason Why.
 *
 * @example
 * ```ts ignore
 * setState(ctx, m, "failed", "depends on 'b', which is not installed");
 * ```
 */
export function setState(ctx: SupervisorContext, m: ManagedModule, to: ModuleState, reason: string): void {
  const from = m.state;
  if (from === to && m.reason === reason) return;
  if (from !== to && !canTransition(from, to)) {
    ctx.log.error("Bug: illegal state change {from} → {to} for {module}", { from, to, module: m.name });
  }
  m.state = to;
  m.reason = reason;
  const bad = to === "failed" || to === "crashed" || to === "quarantined" || to === "missing";
  const props = { module: m.name, from, to, reason };
  if (bad) ctx.log.warn("Module {module}: {from} → {to} ({reason})", props);
  else ctx.log.info("Module {module}: {from} → {to} ({reason})", props);
  ctx.host.publish("ModuleStateChanged", { name: m.name, old_state: from, new_state: to, reason });
  const [before, after] = [healthOf(from), healthOf(to)];
  if (before !== after) {
    ctx.host.publish("ModuleHealthChanged", { name: m.name, old_health: before, new_health: after, reason });
  }
  if ((to === "failed" || to === "quarantined" || to === "missing") && m.overrides.required && ctx.started) {
    ctx.onFatal(
      new ManagerError("REQUIRED_MODULE_FAILED", m.name, `Required module '${m.name}' is ${to}: ${reason}`),
    );
  }
}

/**
 * Start a module's process and wait for its handshake. Lazy hard dependencies are activated first.
 * A failure counts as a crash for the restart policy, except on the first start of a required module,
 * which fails at once.
 *
 * @param ctx The manager context.
 * @param m The module; must be loaded and not running.
 * @param initial Whether this is the host's start-up.
 * @returns `true` once it runs.
 *
 * @example
 * ```ts ignore
 * await serial(m, () => spawn(ctx, m, false));
 * ```
 */
export async function spawn(ctx: SupervisorContext, m: ManagedModule, initial: boolean): Promise<boolean> {
  if (m.handle) return true;
  if (ctx.closing) return false;
  // Never started from a folder that is gone (a restart after the back-off, a lazy start, a reload).
  const gone = folderGone(m.dir);
  if (gone) {
    setState(ctx, m, "missing", gone);
    ctx.folderDeleted(m, gone);
    return false;
  }
  const loaded = m.loaded!;
  for (const dep of hardDependencies(m)) {
    const d = ctx.entry(dep);
    if (d?.lazy && !d.handle) await activate(ctx, d, `needed by '${m.name}'`).catch(() => {});
  }
  // A verified module's files are hashed again before every start, so a restart or a lazy start never
  // runs files that changed after their signature was checked (a held or refused reload, say).
  const changed = await changedSinceVerified(m);
  if (changed) {
    setState(ctx, m, "failed", changed);
    return false;
  }
  setState(ctx, m, "starting", initial ? "host start-up" : m.state === "crashed" ? "restart" : "start");
  const grants = m.effective!.grants;
  const env = Object.fromEntries(Object.entries(m.overrides.env).filter(([k]) => grants.env.includes(k)));
  try {
    const handle = await ctx.host.startModule({
      name: m.name,
      entry: loaded.entry,
      config: m.config,
      grants,
      env,
      heapMb: m.overrides.limits.heap_mb,
      readOnlyData: m.readOnly !== undefined,
      version: loaded.manifest.version,
      capabilities: m.effective!.capabilities,
      publishes: loaded.manifest.publishes,
      callers: loaded.manifest.api.callers,
      rateLimit: rateLimitOf(m.overrides.limits),
      eventQueue: m.overrides.limits.event_queue ? { maxQueued: m.overrides.limits.event_queue } : undefined,
    });
    m.handle = handle;
    m.startedAt = Date.now();
    m.stopRequested = false;
    handle.process.status.then((s) => exited(ctx, m, handle, s)).catch((e) =>
      ctx.log.error("Bug handling the exit of {module}: {error}", { module: m.name, error: String(e) })
    );
    setState(ctx, m, "running", `pid ${handle.pid}`);
    ctx.host.publish("ModuleStarted", {
      name: m.name,
      version: loaded.manifest.version,
      pid: handle.pid,
      restarts: m.restarts,
    });
    return true;
  } catch (e) {
    const reason = e instanceof ModuleStartError ? e.detail : (e as Error).message;
    if (initial && m.overrides.required) {
      setState(ctx, m, "failed", reason);
      return false;
    }
    // The real exit status when the process exited before its handshake; none for a spawn error or timeout.
    const { code, signal } = startFailureExit(reason);
    const cause = code !== null || signal !== null
      ? `${describeExit(code, signal)} before the handshake`
      : `failed to start: ${reason}`;
    const exit = { code, signal, uptimeMs: 0 };
    const { state, decision } = onExit(m.restart, m.overrides.restart, {
      ...exit,
      now: Date.now(),
      requested: false,
      cause,
    });
    m.restart = state;
    crashed(ctx, m, decision, reason, exit);
    return false;
  }
}

/**
 * The process of `handle` exited: a requested stop, a clean exit, or a crash. A stop for a resource limit
 * (`m.limitStop`) is a crash named by that limit, restarted after the back-off whatever the policy says.
 */
function exited(
  ctx: SupervisorContext,
  m: ManagedModule,
  handle: NonNullable<ManagedModule["handle"]>,
  s: Deno.CommandStatus,
) {
  if (m.handle !== handle) return;
  m.handle = undefined;
  m.reportedHealth = undefined;
  const uptimeMs = m.startedAt === undefined ? 0 : Date.now() - m.startedAt;
  const signal = s.signal ?? null;
  const limit = m.limitStop;
  m.limitStop = undefined;
  if (ctx.closing || (m.stopRequested && limit === undefined)) {
    m.stopRequested = false;
    const reason = m.reason || "stopped";
    setState(ctx, m, "stopped", reason);
    ctx.host.publish("ModuleStopped", { name: m.name, reason, code: s.code, signal });
    return;
  }
  m.stopRequested = false;
  const status = limit ?? describeExit(s.code, signal);
  const gone = folderGone(m.dir);
  if (gone) {
    // Nothing to restart from: the module is missing until its folder comes back.
    const reason = `${status}; not restarted: ${gone}`;
    setState(ctx, m, "missing", reason);
    ctx.host.publish("ModuleStopped", { name: m.name, reason, code: s.code, signal });
    ctx.folderDeleted(m, gone);
    return;
  }
  const policy = limit === undefined ? m.overrides.restart : { ...m.overrides.restart, policy: "always" as const };
  const { state, decision } = onExit(m.restart, policy, {
    code: s.code,
    signal,
    uptimeMs,
    now: Date.now(),
    requested: false,
    cause: limit,
  });
  m.restart = state;
  crashed(ctx, m, decision, status, { code: s.code, signal, uptimeMs });
}

/** Apply the restart policy's decision after an unexpected exit or a failed start. */
function crashed(
  ctx: SupervisorContext,
  m: ManagedModule,
  decision: RestartDecision,
  reason: string,
  exit: { code: number | null; signal: string | null; uptimeMs: number },
): void {
  if (decision.action === "none") {
    setState(ctx, m, "stopped", decision.reason);
    ctx.host.publish("ModuleStopped", {
      name: m.name,
      reason: decision.reason,
      code: exit.code,
      signal: exit.signal,
    });
    // A required module that is gone for good is a failure, whatever its restart policy.
    if (m.overrides.required) {
      setState(ctx, m, "failed", `${reason}; its restart policy does not restart it (${decision.reason})`);
    }
    return;
  }
  const delay = decision.action === "restart" ? decision.delayMs : null;
  setState(ctx, m, "crashed", reason);
  ctx.host.publish("ModuleCrashed", {
    name: m.name,
    reason,
    code: exit.code,
    signal: exit.signal,
    uptime_ms: exit.uptimeMs,
    action: decision.action,
    restart_in_ms: delay,
  });
  if (decision.action === "quarantine") {
    setState(ctx, m, "quarantined", decision.reason);
    return;
  }
  ctx.log.info("Restarting {module} in {ms} ms (attempt {attempt})", {
    module: m.name,
    ms: delay,
    attempt: decision.attempt,
  });
  m.restartAt = Date.now() + delay!;
  m.restartTimer = setTimeout(() => {
    m.restartTimer = m.restartAt = undefined;
    serial(m, async () => {
      if (m.state !== "crashed" || ctx.closing) return;
      m.restarts++;
      await spawn(ctx, m, false);
    }).catch((e) => ctx.log.error("Bug restarting {module}: {error}", { module: m.name, error: String(e) }));
  }, delay!);
}

/**
 * Stop a module: cancel a pending restart, then stop message → deadline → SIGTERM → SIGKILL to its
 * process group (see `Host.stopModule`). Resolves once the process has exited.
 *
 * @param ctx The manager context.
 * @param m The module.
 * @param reason Why, sent to the module and shown to the operator.
 *
 * @example
 * ```ts ignore
 * await serial(m, () => stop(ctx, m, "operator"));
 * ```
 */
export async function stop(ctx: SupervisorContext, m: ManagedModule, reason: string): Promise<void> {
  if (m.restartTimer) {
    clearTimeout(m.restartTimer);
    m.restartTimer = m.restartAt = undefined;
    if (m.state === "crashed") setState(ctx, m, "stopped", reason);
  }
  const handle = m.handle;
  if (!handle) return;
  m.stopRequested = true;
  setState(ctx, m, "stopping", reason);
  const status = await ctx.host.stopModule(m.name, reason);
  if (status) exited(ctx, m, handle, status);
}

/**
 * Every loaded module that depends on `name`, directly or not, dependents first.
 *
 * @param modules Every module record.
 * @param name The dependency.
 * @returns The dependents, each after the modules that depend on it.
 *
 * @example
 * ```ts ignore
 * const required = dependentsOf(modules.values(), "wallet").filter((m) => m.overrides.required);
 * ```
 */
export function dependentsOf(modules: Iterable<ManagedModule>, name: string): ManagedModule[] {
  const all = [...modules];
  const out: ManagedModule[] = [];
  const visit = (n: string) => {
    for (const m of all) {
      if (m.isLoaded && hardDependencies(m).includes(n) && !out.includes(m)) {
        visit(m.name);
        out.push(m);
      }
    }
  };
  visit(name);
  return out;
}

/**
 * Stop every loaded module that depends on `name`, dependents first, and leave them in state `then`
 * (`stopped` while a dependency reloads, `failed` when it is unloaded), blocked by `name`.
 *
 * @param ctx The manager context.
 * @param modules Every module record.
 * @param name The dependency.
 * @param reason Why, for the module and the operator.
 * @param then The state they are left in.
 * @returns The stopped modules, dependencies before dependents (the order to start them again).
 *
 * @example
 * ```ts ignore
 * const again = await stopDependents(ctx, modules.values(), "wallet", "dependency 'wallet' is reloading", "stopped");
 * ```
 */
export async function stopDependents(
  ctx: SupervisorContext,
  modules: Iterable<ManagedModule>,
  name: string,
  reason: string,
  then: "stopped" | "failed",
): Promise<ManagedModule[]> {
  // Failed and quarantined dependents keep their state and reason; only active ones are stopped.
  const out = dependentsOf(modules, name).filter((m) => m.state !== "failed" && m.state !== "quarantined");
  for (const m of out) {
    await serial(m, async () => {
      await stop(ctx, m, reason);
      m.blockedBy = name;
      setState(ctx, m, then, reason);
    });
  }
  return out.reverse();
}

/** The module's rate limit from `[modules.<name>.limits]`; `undefined` keeps the host default. */
function rateLimitOf(l: { requests_per_second?: number; request_burst?: number }): RateLimit | undefined {
  if (l.requests_per_second === undefined && l.request_burst === undefined) return undefined;
  const per_second = l.requests_per_second ?? DEFAULT_RATE_LIMIT.per_second;
  return { per_second, burst: l.request_burst ?? Math.max(1, Math.ceil(per_second * 2)) };
}
