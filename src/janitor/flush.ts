/**
 * `StorageFlush`: the node flushes its own storage while every subscribed module flushes its data,
 * then `StorageFlushCompleted` reports whether all of it succeeded in time.
 *
 * @module
 */
import type { Answer } from "../host/requests.ts";
import type { FlushResult } from "../node/backend.ts";
import { answerSummary, type JanitorContext, recorded } from "./context.ts";

/** Why a flush runs. */
export type FlushReason = "shutdown" | "periodic" | "manual";

/** What a flush did. */
export interface FlushReport {
  /** Why it ran. */
  reason: FlushReason;
  /** The node's flush and every module's answer succeeded in time. */
  success: boolean;
  /** From `StorageFlush` to `StorageFlushCompleted`. */
  duration_ms: number;
  /** The node's own flush, or its error. */
  node: FlushResult | { error: string };
  /** Each subscribed module's answer. */
  modules: Record<string, Answer>;
}

/**
 * Run one storage flush: publish `StorageFlush`, flush the node, wait for the modules' answers up to
 * the deadline, publish `StorageFlushCompleted`.
 *
 * @param ctx The janitor context.
 * @param reason Why.
 * @param deadlineMs How long modules have; default `[janitor.flush] deadline_ms`.
 * @returns The report.
 *
 * @example
 * ```ts ignore
 * const r = await storageFlush(ctx, "manual");
 * console.log(r.success, r.node);
 * ```
 */
export async function storageFlush(
  ctx: JanitorContext,
  reason: FlushReason,
  deadlineMs?: number,
): Promise<FlushReport> {
  const host = ctx.manager.host;
  const deadline = deadlineMs ?? ctx.config().flush.deadline_ms;
  const r = await recorded(ctx, "flush", reason, async () => {
    const t0 = performance.now();
    const asked = host.requests.publish("StorageFlush", { reason }, deadline);
    let node: FlushResult | { error: string };
    try {
      node = await ctx.backend.flush();
    } catch (e) {
      node = { error: (e as Error).message };
      ctx.log.error("Node storage flush failed: {error}", { error: node.error });
    }
    const outcome = await asked;
    const success = !("error" in node) && outcome.all_ok;
    const duration_ms = Math.round(performance.now() - t0);
    host.publish("StorageFlushCompleted", { success, duration_ms });
    const late = Object.entries(outcome.answers).filter(([, a]) => a.outcome !== "answered").map(([n]) => n);
    if (late.length) {
      ctx.log.warn("Storage flush ({reason}): {modules} did not confirm within {ms} ms", {
        reason,
        modules: late.join(", "),
        ms: deadline,
      });
    }
    return {
      success,
      node,
      modules: outcome.answers,
      completed_ms: duration_ms,
      detail: { node, modules: answerSummary(outcome.answers) },
    };
  });
  return { reason, success: r.success, duration_ms: r.completed_ms, node: r.node, modules: r.modules };
}
