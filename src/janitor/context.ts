/**
 * What every janitorial operation works with, and the record each one leaves.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { JanitorConfig } from "../config/janitor_config.ts";
import type { ModuleManager } from "../manager/manager.ts";
import type { NodeBackend } from "../node/backend.ts";

/** One janitorial operation that ran, for `ctl janitor`. */
export interface RunRecord {
  /** `flush`, `health`, `cleanup`, `backup`, `maintenance-cleanup`, `prune`, `shutdown`. */
  op: string;
  /** What started it: `periodic`, `manual`, `shutdown`, `startup`, `low_disk`. */
  trigger: string;
  /** ISO time it started. */
  started_at: string;
  /** How long it took. */
  duration_ms: number;
  /** Whether it succeeded (for requests: every asked module answered in time). */
  success: boolean;
  /** Its numbers. */
  detail: Record<string, unknown>;
}

/** The shared state of the janitorial layer. */
export interface JanitorContext {
  /** The module manager (and through it the host). */
  manager: ModuleManager;
  /** The node. */
  backend: NodeBackend;
  /** The janitor's log. */
  log: Logger;
  /** The `[janitor]` settings in force. */
  config(): JanitorConfig;
  /** The node's own data folder, if it has one on disk. */
  nodeDataDir?: string;
  /** Keep a record of an operation. */
  record(run: RunRecord): void;
}

/**
 * Time an operation and record it.
 *
 * @param ctx The context.
 * @param op The operation's name.
 * @param trigger What started it.
 * @param fn The work; returns whether it succeeded and its numbers.
 * @returns What `fn` returned, with its duration.
 *
 * @example
 * ```ts ignore
 * const r = await recorded(ctx, "prune", "manual", async () => ({ success: true, detail: await backend.prune(288) }));
 * ```
 */
export async function recorded<T extends { success: boolean; detail: Record<string, unknown> }>(
  ctx: JanitorContext,
  op: string,
  trigger: string,
  fn: () => Promise<T>,
): Promise<T & { duration_ms: number }> {
  const started_at = new Date().toISOString();
  const t0 = performance.now();
  const r = await fn();
  const duration_ms = Math.round(performance.now() - t0);
  ctx.record({ op, trigger, started_at, duration_ms, success: r.success, detail: r.detail });
  return { ...r, duration_ms };
}

/**
 * Summaries of request answers for records: module → outcome and time.
 *
 * @param answers The answers of a request.
 * @returns `{module: "answered 12 ms" | "missed" | ...}`.
 *
 * @example
 * ```ts
 * import { answerSummary } from "./context.ts";
 * console.log(answerSummary({ a: { outcome: "answered", ms: 12 } })); // { a: "answered 12 ms" }
 * ```
 */
export function answerSummary(answers: Record<string, { outcome: string; ms: number | null }>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(answers).map(([n, a]) => [n, a.ms === null ? a.outcome : `${a.outcome} ${a.ms} ms`]),
  );
}
