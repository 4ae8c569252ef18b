/**
 * The janitor: runs the janitorial events and maintenance on their schedules and on command, watches
 * disks and module resources, and keeps what happened for the operator (`ctl janitor`).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { JanitorConfig } from "../config/janitor_config.ts";
import type { AckStats } from "../host/requests.ts";
import type { ModuleManager } from "../manager/manager.ts";
import type { NodeBackend } from "../node/backend.ts";
import type { JanitorContext, RunRecord } from "./context.ts";
import { type CleanupType, dataCleanup, type DataCleanupReport } from "./data_cleanup.ts";
import { DiskMonitor, type DiskStatus } from "./disk_monitor.ts";
import { type FlushReport, storageFlush } from "./flush.ts";
import { type CheckType, healthCheck, type HealthReport } from "./health.ts";
import { type MaintenanceReport, type MaintenanceType, runMaintenance } from "./maintenance.ts";
import { type ModuleResources, type ResourceAction, ResourceMonitor } from "./resource_monitor.ts";
import { shutdownNode, type ShutdownReport } from "./shutdown.ts";

/** Settings for {@link Janitor}. */
export interface JanitorOptions {
  /** The module manager. */
  manager: ModuleManager;
  /** The node. */
  backend: NodeBackend;
  /** The `[janitor]` settings. */
  config: JanitorConfig;
  /** The node's data folder on disk, if any (watched for free space, cleaned of temp files). */
  nodeDataDir?: string;
}

/** Everything `ctl janitor` shows. */
export interface JanitorStatus {
  /** When each scheduled operation runs next (ISO), or `null` if it only runs on command. */
  schedule: Record<string, string | null>;
  /** Recent operations, oldest first. */
  runs: RunRecord[];
  /** Per module and request event: how it answered. */
  acknowledgements: Record<string, Record<string, AckStats>>;
  /** Watched filesystems. */
  disks: DiskStatus[];
  /** Module resource usage and the warnings and actions taken. */
  resources: { modules: ModuleResources[]; actions: ResourceAction[] };
  /** The last health check. */
  health: HealthReport | null;
}

const KEEP_RUNS = 100;

/**
 * Janitorial scheduling and commands.
 *
 * @example
 * ```ts ignore
 * const janitor = new Janitor({ manager, backend, config: config.janitor, nodeDataDir: config.node.data_dir });
 * await janitor.start();          // startup HealthCheck, then the schedules
 * await janitor.flush();          // StorageFlush(manual) … StorageFlushCompleted
 * await janitor.shutdown("signal: SIGTERM");
 * ```
 */
export class Janitor {
  /** The free-space monitor. */
  readonly disk: DiskMonitor;
  /** The module resource monitor. */
  readonly resources: ResourceMonitor;
  readonly #ctx: JanitorContext;
  #config: JanitorConfig;
  readonly #timers = new Map<string, { id: number; at: number }>();
  readonly #runs: RunRecord[] = [];
  readonly #busy = new Map<string, Promise<unknown>>();
  readonly #lastMs: Partial<Record<MaintenanceType, number>> = {};
  #maintenance: Promise<unknown> = Promise.resolve();
  #health: HealthReport | null = null;
  #stopped = false;

  /**
   * Create a janitor; nothing runs until {@link Janitor.start}.
   *
   * @param opts Manager, backend, settings.
   */
  constructor(opts: JanitorOptions) {
    this.#config = opts.config;
    this.#ctx = {
      manager: opts.manager,
      backend: opts.backend,
      log: getLogger(["blvm", "janitor"]),
      config: () => this.#config,
      nodeDataDir: opts.nodeDataDir,
      record: (r) => this.#runs.push(r) > KEEP_RUNS && this.#runs.shift(),
    };
    this.disk = new DiskMonitor(this.#ctx, () => void this.cleanup("low_disk").catch(() => {}));
    this.resources = new ResourceMonitor(this.#ctx);
  }

  /** Take first readings, run the startup `HealthCheck`, and start the schedules. */
  async start(): Promise<void> {
    this.disk.check();
    await this.resources.check();
    this.#scheduleAll();
    await this.healthCheck("startup");
  }

  /**
   * Flush storage now (one at a time: a second call joins the running flush).
   *
   * @param reason Why.
   * @returns The report.
   */
  flush(reason: "manual" | "periodic" = "manual"): Promise<FlushReport> {
    return this.#once("flush", () => storageFlush(this.#ctx, reason));
  }

  /**
   * Check health now (joins a running check).
   *
   * @param type What asked.
   * @returns The aggregated report.
   */
  healthCheck(type: CheckType = "manual"): Promise<HealthReport> {
    return this.#once("health", async () => this.#health = await healthCheck(this.#ctx, type, () => this.disk.low()));
  }

  /**
   * Ask modules to clean up their data now (joins a running cleanup).
   *
   * @param type What asked.
   * @param targetAgeDays Default `[janitor.cleanup] target_age_days`.
   * @returns The answers.
   */
  cleanup(type: CleanupType = "manual", targetAgeDays?: number): Promise<DataCleanupReport> {
    return this.#once("cleanup", () => dataCleanup(this.#ctx, type, targetAgeDays));
  }

  /**
   * Run a maintenance operation now, after any that is running.
   *
   * @param type `backup`, `cleanup` or `prune`.
   * @param trigger `manual` or `periodic`.
   * @returns The report.
   */
  maintenance(type: MaintenanceType, trigger = "manual"): Promise<MaintenanceReport> {
    const run = this.#maintenance.then(async () => {
      const r = await runMaintenance(this.#ctx, type, trigger, this.#lastMs[type]);
      this.#lastMs[type] = r.duration_ms;
      return r;
    });
    this.#maintenance = run.catch(() => {});
    return run;
  }

  /**
   * Use new `[janitor]` settings: every schedule restarts with its new interval.
   *
   * @param config The new settings.
   */
  reconfigure(config: JanitorConfig): void {
    this.#config = config;
    if (!this.#stopped) this.#scheduleAll();
  }

  /**
   * Run the shutdown sequence (see `shutdown.ts`). Schedules stop first; throttled modules resume.
   *
   * @param reason Why.
   * @returns The report.
   */
  async shutdown(reason: string): Promise<ShutdownReport> {
    this.stop();
    return await shutdownNode(this.#ctx, reason);
  }

  /** Stop the schedules and release throttled modules. */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t.id);
    this.#timers.clear();
    this.resources.stop();
  }

  /** What the janitor has done and sees now. */
  status(): JanitorStatus {
    const schedule: Record<string, string | null> = {};
    for (const name of ["flush", "health", "cleanup", "backup", "maintenance-cleanup", "prune", "disk", "resources"]) {
      const t = this.#timers.get(name);
      schedule[name] = t ? new Date(t.at).toISOString() : null;
    }
    return {
      schedule,
      runs: [...this.#runs],
      acknowledgements: this.#ctx.manager.host.requests.stats(),
      disks: this.disk.status(),
      resources: this.resources.status(),
      health: this.#health,
    };
  }

  #once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#busy.get(key);
    if (running) return running as Promise<T>;
    const p = fn().finally(() => this.#busy.delete(key));
    this.#busy.set(key, p);
    return p;
  }

  #scheduleAll(): void {
    const c = () => this.#config;
    const h = 3600;
    this.#every("flush", () => c().flush.interval_seconds, () => this.flush("periodic"));
    this.#every("health", () => c().health.interval_seconds, () => this.healthCheck("periodic"));
    this.#every("cleanup", () => c().cleanup.interval_hours * h, () => this.cleanup("periodic"));
    this.#every(
      "backup",
      () => c().maintenance.backup_interval_hours * h,
      () => this.maintenance("backup", "periodic"),
    );
    this.#every(
      "maintenance-cleanup",
      () => c().maintenance.cleanup_interval_hours * h,
      () => this.maintenance("cleanup", "periodic"),
    );
    this.#every("prune", () => c().maintenance.prune_interval_hours * h, () => this.maintenance("prune", "periodic"));
    this.#every("disk", () => c().disk.interval_seconds, () => Promise.resolve(this.disk.check()));
    this.#every("resources", () => c().resources.interval_seconds, () => this.resources.check());
  }

  /** Run `fn` every `seconds()` (0 = never), the next run timed from the end of the last. */
  #every(name: string, seconds: () => number, fn: () => Promise<unknown>): void {
    clearTimeout(this.#timers.get(name)?.id);
    this.#timers.delete(name);
    const ms = seconds() * 1000;
    if (!(ms > 0) || this.#stopped) return;
    const id = setTimeout(async () => {
      try {
        await fn();
      } catch (e) {
        this.#ctx.log.error("Scheduled {name} failed: {error}", { name, error: (e as Error).message });
      }
      if (this.#timers.get(name)?.id === id) this.#every(name, seconds, fn);
    }, Math.min(ms, 2 ** 31 - 1)) as unknown as number;
    Deno.unrefTimer(id);
    this.#timers.set(name, { id, at: Date.now() + ms });
  }
}
