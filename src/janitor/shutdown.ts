/**
 * The node's shutdown sequence, in this order:
 *
 * 1. `NodeShutdown {reason, timeout_seconds}`. Nothing starts any more: no restarts, no lazy starts, no
 *    loads, no hot reloads.
 * 2. At the same moment `StorageFlush {reason: "shutdown"}`; the node flushes its own storage, and
 *    `StorageFlushCompleted` follows once the modules have confirmed (or the flush deadline passed).
 * 3. Modules have until `timeout_seconds` to acknowledge `NodeShutdown` (the SDK's `onShutdown`
 *    handlers finishing). A subscribed module that has not is killed at the deadline: SIGTERM to its
 *    process group, SIGKILL after `kill_grace_ms`.
 * 4. `NodeShutdownCompleted {duration_ms}` to the modules still connected.
 * 5. `stop` to each module, dependents before their dependencies; each has `stop_timeout_ms` to run
 *    its `onStop` handlers and exit, then SIGTERM, then SIGKILL.
 *
 * The caller closes the node backend afterwards.
 *
 * @module
 */
import type { Answer } from "../host/requests.ts";
import { answerSummary, type JanitorContext } from "./context.ts";
import { type FlushReport, storageFlush } from "./flush.ts";

/** What the shutdown did. */
export interface ShutdownReport {
  /** Why it ran. */
  reason: string;
  /** Each subscribed module's answer to `NodeShutdown`. */
  acknowledged: Record<string, Answer>;
  /** Modules killed for not acknowledging in time. */
  killed: string[];
  /** The shutdown flush. */
  flush: FlushReport;
  /** Until `NodeShutdownCompleted`. */
  duration_ms: number;
  /** Until every module had exited. */
  total_ms: number;
}

/**
 * Shut the node down (see the module documentation for the order).
 *
 * @param ctx The janitor context.
 * @param reason Why: `signal: SIGTERM`, `admin: ...`, `error: ...`.
 * @returns The report.
 *
 * @example
 * ```ts ignore
 * const report = await shutdownNode(ctx, "signal: SIGTERM");
 * await backend.close();
 * ```
 */
export async function shutdownNode(ctx: JanitorContext, reason: string): Promise<ShutdownReport> {
  const t0 = performance.now();
  const { manager } = ctx;
  const host = manager.host;
  const cfg = ctx.config();
  const timeoutMs = Math.round(cfg.shutdown_timeout_seconds * 1000);
  manager.beginShutdown();
  ctx.log.info("Shutting down ({reason}); modules have {s} s to acknowledge", {
    reason,
    s: cfg.shutdown_timeout_seconds,
  });
  const asked = host.requests.publish(
    "NodeShutdown",
    { reason, timeout_seconds: Math.ceil(cfg.shutdown_timeout_seconds) },
    timeoutMs,
  );
  const [outcome, flush] = await Promise.all([
    asked,
    storageFlush(ctx, "shutdown", Math.min(cfg.flush.deadline_ms, Math.max(1, timeoutMs))),
  ]);
  const killed = Object.entries(outcome.answers).filter(([, a]) => a.outcome === "missed").map(([n]) => n);
  await Promise.all(killed.map((name) => {
    ctx.log.warn("Module {module} did not acknowledge NodeShutdown within {s} s: killing it", {
      module: name,
      s: cfg.shutdown_timeout_seconds,
    });
    return host.killModule(name, `did not acknowledge NodeShutdown within ${cfg.shutdown_timeout_seconds} s`);
  }));
  const duration_ms = Math.round(performance.now() - t0);
  host.publish("NodeShutdownCompleted", { duration_ms });
  await manager.shutdown(reason);
  const total_ms = Math.round(performance.now() - t0);
  ctx.record({
    op: "shutdown",
    trigger: reason,
    started_at: new Date(Date.now() - total_ms).toISOString(),
    duration_ms: total_ms,
    success: outcome.all_ok && flush.success,
    detail: { acknowledged: answerSummary(outcome.answers), killed },
  });
  ctx.log.info("Shutdown complete in {ms} ms ({killed} killed)", { ms: total_ms, killed: killed.length });
  return { reason, acknowledged: outcome.answers, killed, flush, duration_ms, total_ms };
}
