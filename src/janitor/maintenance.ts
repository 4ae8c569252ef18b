/**
 * Maintenance operations wrapped in `MaintenanceStarted` and `MaintenanceCompleted`: modules are asked
 * to pause (and, before a backup, flush) and have until the deadline to acknowledge; then the work runs
 * and its real numbers go out in `results`. One maintenance runs at a time.
 *
 * @module
 */
import { takeBackup } from "./backup.ts";
import { type JanitorContext, recorded } from "./context.ts";
import { cleanFiles } from "./file_cleanup.ts";

/** The maintenance operations. */
export type MaintenanceType = "backup" | "cleanup" | "prune";

/** What a maintenance did. */
export interface MaintenanceReport {
  /** Which operation. */
  maintenance_type: MaintenanceType;
  /** Whether the work succeeded. */
  success: boolean;
  /** From `MaintenanceStarted` to `MaintenanceCompleted`. */
  duration_ms: number;
  /** Its numbers, or `{error}`. */
  results: Record<string, unknown>;
}

const WORK: Record<MaintenanceType, (ctx: JanitorContext) => Promise<Record<string, unknown>>> = {
  backup: takeBackup,
  cleanup: cleanFiles,
  prune: async (ctx) => ({ ...await ctx.backend.prune(ctx.config().maintenance.prune_keep_blocks) }),
};

/**
 * Run one maintenance operation, announced to the modules.
 *
 * @param ctx The janitor context.
 * @param type Which operation.
 * @param trigger `periodic` or `manual`, for the record.
 * @param lastMs How long the previous run of this type took, for `estimated_duration_seconds`.
 * @returns The report (a failure is reported, not thrown).
 *
 * @example
 * ```ts ignore
 * const r = await runMaintenance(ctx, "backup", "manual");
 * console.log(r.results.path);
 * ```
 */
export async function runMaintenance(
  ctx: JanitorContext,
  type: MaintenanceType,
  trigger: string,
  lastMs?: number,
): Promise<MaintenanceReport> {
  const host = ctx.manager.host;
  const r = await recorded(ctx, type === "cleanup" ? "maintenance-cleanup" : type, trigger, async () => {
    await host.requests.publish("MaintenanceStarted", {
      maintenance_type: type,
      estimated_duration_seconds: lastMs === undefined ? null : Math.max(1, Math.ceil(lastMs / 1000)),
    }, ctx.config().maintenance.deadline_ms);
    const t0 = performance.now();
    let results: Record<string, unknown>;
    let success = true;
    try {
      results = await WORK[type](ctx);
    } catch (e) {
      success = false;
      results = { error: (e as Error).message };
      ctx.log.error("Maintenance {type} failed: {error}", { type, error: (e as Error).message });
    }
    const duration_ms = Math.round(performance.now() - t0);
    host.publish("MaintenanceCompleted", { maintenance_type: type, success, duration_ms, results });
    ctx.log.info("Maintenance {type} ({trigger}) took {ms} ms: {results}", {
      type,
      trigger,
      ms: duration_ms,
      results: JSON.stringify(results),
    });
    return { success, results, detail: results };
  });
  return { maintenance_type: type, success: r.success, duration_ms: r.duration_ms, results: r.results };
}
