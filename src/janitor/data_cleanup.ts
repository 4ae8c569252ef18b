/**
 * `DataCleanup`: a request to every subscribed module to delete or archive its data older than the
 * target age, periodically, on command, or after the disk monitor found free space low.
 *
 * @module
 */
import type { Answer } from "../host/requests.ts";
import { answerSummary, type JanitorContext, recorded } from "./context.ts";

/** What started a cleanup. */
export type CleanupType = "periodic" | "manual" | "low_disk";

/** What came of a `DataCleanup` request. */
export interface DataCleanupReport {
  /** What started it. */
  cleanup_type: CleanupType;
  /** The age asked for. */
  target_age_days: number;
  /** Every subscribed module answered in time. */
  success: boolean;
  /** Until the last answer or the deadline. */
  duration_ms: number;
  /** Each subscribed module's answer. */
  modules: Record<string, Answer>;
}

/**
 * Publish `DataCleanup` and wait for the modules' answers.
 *
 * @param ctx The janitor context.
 * @param type What started it.
 * @param targetAgeDays Default `[janitor.cleanup] target_age_days`.
 * @returns The answers.
 *
 * @example
 * ```ts ignore
 * await dataCleanup(ctx, "manual", 7);
 * ```
 */
export async function dataCleanup(
  ctx: JanitorContext,
  type: CleanupType,
  targetAgeDays?: number,
): Promise<DataCleanupReport> {
  const cfg = ctx.config().cleanup;
  const age = targetAgeDays ?? cfg.target_age_days;
  const r = await recorded(ctx, "cleanup", type, async () => {
    const o = await ctx.manager.host.requests.publish(
      "DataCleanup",
      { cleanup_type: type, target_age_days: age },
      cfg.deadline_ms,
    );
    return {
      success: o.all_ok,
      modules: o.answers,
      detail: { target_age_days: age, modules: answerSummary(o.answers) },
    };
  });
  return {
    cleanup_type: type,
    target_age_days: age,
    success: r.success,
    duration_ms: r.duration_ms,
    modules: r.modules,
  };
}
