/**
 * The per-module resource monitor. On each check it reads, for every running module, resident memory
 * (`/proc/<pid>/status`), CPU share of one core (`/proc/<pid>/stat` time deltas), the size of its data
 * folder (only when it has a `disk_mb` quota) and its NodeAPI requests per second. Against the limits
 * in `[modules.<name>.limits]`:
 *
 * - at `warn_percent` of a limit, `ResourceLimitWarning` (again at most every `repeat_seconds`);
 * - at the limit the host acts: memory → restart; cpu → throttle (or restart, `cpu_action`); disk →
 *   restart with a read-only data folder, writable again once it is back under the quota; network → the
 *   rate limiter already refuses the excess, and that is recorded. A memory or CPU restart is a crash for
 *   the restart policy (`ModuleManager.restart`): the module starts again after the back-off, and a loop of
 *   them quarantines it; the disk restarts are a change of flags, done at once.
 *
 * Every warning and action is logged and kept for `ctl resources`.
 *
 * @module
 */
import { residentBytes } from "../manager/managed.ts";
import type { ModuleLimits } from "../manager/node_config.ts";
import type { JanitorContext } from "./context.ts";
import { cpuTimeMs, diskUsage } from "./proc.ts";
import { Throttle } from "./throttle.ts";

/** The resources watched. */
export type ResourceType = "memory" | "cpu" | "disk" | "network";

/** One module's latest usage against its limits. */
export interface ModuleResources {
  /** Module name. */
  module: string;
  /** Its process. */
  pid: number;
  /** Latest readings: bytes, percent of a core, bytes, requests per second (`null` until known). */
  usage: Record<ResourceType, number | null>;
  /** Limits in the same units (`null` = none). */
  limits: Record<ResourceType, number | null>;
  /** Whether its CPU is throttled now. */
  throttled: boolean;
  /** Why its data folder is read-only, or `null`. */
  read_only: string | null;
}

/** A warning or an action, as logged. */
export interface ResourceAction {
  /** ISO time. */
  at: string;
  /** Module name. */
  module: string;
  /** Which resource. */
  resource: ResourceType;
  /** `warning`, `restart`, `throttle`, `release`, `read-only`, `writable` or `rate-limited`. */
  action: string;
  /** What was measured. */
  detail: string;
}

interface Sample {
  pid: number;
  at: number;
  cpuMs: number | null;
  requests: number;
  limited: number;
}

const MiB = 1024 * 1024;
const THROTTLE_WINDOW_MS = 10_000;
const KEEP_ACTIONS = 200;

/**
 * Watches running modules. Call {@link ResourceMonitor.check} on a timer.
 *
 * @example
 * ```ts ignore
 * const monitor = new ResourceMonitor(ctx);
 * await monitor.check();
 * console.table(monitor.status().modules);
 * ```
 */
export class ResourceMonitor {
  readonly #ctx: JanitorContext;
  readonly #samples = new Map<string, Sample>();
  readonly #warned = new Map<string, number>();
  readonly #pids = new Map<string, number>();
  readonly #usage = new Map<string, ModuleResources>();
  readonly #throttles = new Map<string, { throttle: Throttle; until: number }>();
  readonly #acting = new Set<string>();
  readonly #actions: ResourceAction[] = [];

  /**
   * Create the monitor; it reads nothing until {@link ResourceMonitor.check}.
   *
   * @param ctx The janitor context.
   */
  constructor(ctx: JanitorContext) {
    this.#ctx = ctx;
  }

  /**
   * Sample every running module once, publish warnings and act on limits.
   *
   * @param now `performance.now()`.
   */
  async check(now: number = performance.now()): Promise<void> {
    const { manager } = this.#ctx;
    const running = new Set<string>();
    for (const m of manager.list()) {
      const rec = manager.get(m.name);
      const h = rec?.handle;
      if (!rec || !h || h.process.exited) continue;
      running.add(m.name);
      const limits = rec.overrides.limits;
      if (this.#pids.get(m.name) !== h.pid) {
        // A new process gets its own warnings before any action is taken on it.
        for (const r of ["memory", "cpu", "disk", "network"]) this.#warned.delete(`${m.name}/${r}`);
        this.#pids.set(m.name, h.pid);
      }
      let prev = this.#samples.get(m.name);
      if (prev?.pid !== h.pid) prev = undefined;
      const t = this.#throttles.get(m.name);
      if (t && (now >= t.until || !t.throttle.active)) this.#release(m.name, "throttle window over");
      const stats = h.session.stats;
      const s: Sample = {
        pid: h.pid,
        at: now,
        cpuMs: cpuTimeMs(h.pid),
        requests: stats.calls + stats.errors,
        limited: stats.rate_limited,
      };
      this.#samples.set(m.name, s);
      const dt = prev ? now - prev.at : 0;
      const usage: ModuleResources["usage"] = {
        memory: residentBytes(h.pid),
        cpu: prev && dt > 0 && s.cpuMs !== null && prev.cpuMs !== null && !t
          ? round((s.cpuMs - prev.cpuMs) / dt * 100)
          : null,
        // What its Deno cache (a folder of the host's) grew beyond the precompiled copy it started from counts too.
        disk: limits.disk_mb !== undefined
          ? await diskUsage(h.dataDir) + Math.max(0, await diskUsage(h.cache.dir) - h.cache.seedBytes)
          : null,
        network: prev && dt > 0 ? round((s.requests - prev.requests) / (dt / 1000)) : null,
      };
      const lim = limitsOf(limits);
      if (this.#over(m.name, "memory", usage.memory, lim.memory, now)) {
        this.#act(
          m.name,
          "memory",
          "restart",
          `resident memory ${mib(usage.memory!)} over its limit ${mib(lim.memory!)}`,
        );
      }
      if (this.#over(m.name, "cpu", usage.cpu, lim.cpu, now)) {
        const why = `CPU ${usage.cpu}% of a core over its limit ${lim.cpu}%`;
        if (limits.cpu_action === "restart") this.#act(m.name, "cpu", "restart", why);
        else if (!this.#throttles.has(m.name)) {
          this.#throttles.set(m.name, {
            throttle: new Throttle(h.process, lim.cpu! / usage.cpu!),
            until: now + THROTTLE_WINDOW_MS,
          });
          this.#log(
            m.name,
            "cpu",
            "throttle",
            `${why}; paused part of every 100 ms for ${THROTTLE_WINDOW_MS / 1000} s`,
          );
        }
      }
      if (this.#over(m.name, "disk", usage.disk, lim.disk, now) && !rec.readOnly) {
        const why = `data folder ${mib(usage.disk!)} over its quota ${mib(lim.disk!)}: further writes refused`;
        this.#act(m.name, "disk", "read-only", why, why);
      } else if (rec.readOnly && (usage.disk === null || lim.disk === null || usage.disk < lim.disk)) {
        this.#act(m.name, "disk", "writable", "data folder back under its quota: writable again", null);
      }
      this.#over(m.name, "network", usage.network, lim.network, now);
      if (prev && s.limited > prev.limited) {
        this.#log(
          m.name,
          "network",
          "rate-limited",
          `${s.limited - prev.limited} requests refused over ${lim.network ?? "the host's"} requests/s`,
        );
      }
      this.#usage.set(m.name, {
        module: m.name,
        pid: h.pid,
        usage,
        limits: lim,
        throttled: this.#throttles.has(m.name),
        read_only: rec.readOnly ?? null,
      });
    }
    for (const name of [...this.#pids.keys()]) {
      if (running.has(name)) continue;
      this.#samples.delete(name);
      this.#usage.delete(name);
      this.#pids.delete(name);
      this.#release(name);
    }
  }

  /** Latest usage of every running module, and recent warnings and actions (oldest first). */
  status(): { modules: ModuleResources[]; actions: ResourceAction[] } {
    return { modules: [...this.#usage.values()], actions: [...this.#actions] };
  }

  /** Release every throttle (the host is stopping). */
  stop(): void {
    for (const name of [...this.#throttles.keys()]) this.#release(name);
  }

  /** Publish a warning if due; returns whether the usage is at or over the limit. */
  #over(module: string, resource: ResourceType, current: number | null, limit: number | null, now: number): boolean {
    if (current === null || limit === null) return false;
    const cfg = this.#ctx.config().resources;
    const pct = current / limit * 100;
    const key = `${module}/${resource}`;
    if (pct < cfg.warn_percent) {
      this.#warned.delete(key);
      return false;
    }
    const last = this.#warned.get(key);
    if (last === undefined || now - last >= cfg.repeat_seconds * 1000) {
      this.#warned.set(key, now);
      this.#ctx.manager.host.publish("ResourceLimitWarning", {
        module,
        resource_type: resource,
        usage_percent: round(pct),
        current_usage: round(current),
        limit,
        threshold_percent: cfg.warn_percent,
      });
      this.#log(module, resource, "warning", `${round(pct)}% of its limit (${round(current)} of ${limit})`);
    }
    return pct >= 100;
  }

  /** Restart a module over a limit, once at a time; `readOnly` as for `ModuleManager.restart`. */
  #act(module: string, resource: ResourceType, action: string, why: string, readOnly?: string | null): void {
    if (this.#acting.has(module)) return;
    this.#acting.add(module);
    this.#log(module, resource, action, why);
    this.#release(module);
    this.#ctx.manager.restart(module, why, readOnly)
      .catch((e) => this.#ctx.log.warn("Could not restart {module}: {error}", { module, error: (e as Error).message }))
      .finally(() => {
        this.#acting.delete(module);
        this.#samples.delete(module);
      });
  }

  #release(module: string, why?: string): void {
    const t = this.#throttles.get(module);
    if (!t) return;
    t.throttle.stop();
    this.#throttles.delete(module);
    if (why) this.#log(module, "cpu", "release", why);
  }

  #log(module: string, resource: ResourceType, action: string, detail: string): void {
    this.#actions.push({ at: new Date().toISOString(), module, resource, action, detail });
    if (this.#actions.length > KEEP_ACTIONS) this.#actions.shift();
    const level = action === "warning" || action === "release" || action === "writable" ? "info" : "warn";
    this.#ctx.log[level]("Resource {resource} of {module}: {action}: {detail}", { module, resource, action, detail });
  }
}

function limitsOf(l: ModuleLimits): ModuleResources["limits"] {
  return {
    memory: l.memory_mb !== undefined ? Math.round(l.memory_mb * MiB) : null,
    cpu: l.cpu_percent ?? null,
    disk: l.disk_mb !== undefined ? Math.round(l.disk_mb * MiB) : null,
    network: l.requests_per_second ?? null,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function mib(bytes: number): string {
  return `${round(bytes / MiB)} MiB`;
}
