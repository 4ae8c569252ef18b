/**
 * `HealthCheck`: the node checks itself (backend answering, disks above their threshold, required
 * modules running), publishes the result, and each subscribed module answers with its own health. A
 * module that does not answer within the deadline is marked degraded (`ModuleHealthChanged`).
 *
 * @module
 */
import { reportHealth } from "../manager/managed.ts";
import { answerSummary, type JanitorContext, recorded } from "./context.ts";

/** What started a check. */
export type CheckType = "periodic" | "manual" | "startup";

/** One node check. */
export interface NodeCheck {
  /** Whether it passed. */
  ok: boolean;
  /** What was found. */
  detail: string;
}

/** One module in the aggregated report. */
export interface ModuleHealthEntry {
  /** Lifecycle state. */
  state: string;
  /** Health after this check. */
  health: string;
  /** Its answer: `answered`, `failed`, `missed`, `gone`, or `not subscribed`. */
  answer: string;
  /** Its own message, if it gave one. */
  message: string | null;
  /** How fast it answered. */
  ms: number | null;
}

/** The aggregated result of a health check, as `ctl health` shows it. */
export interface HealthReport {
  /** What started it. */
  check_type: CheckType;
  /** ISO time. */
  checked_at: string;
  /** Whether every node check passed. */
  node_healthy: boolean;
  /** The node's checks by name. */
  node: Record<string, NodeCheck>;
  /** Every module. */
  modules: Record<string, ModuleHealthEntry>;
  /** Until the last answer or the deadline. */
  duration_ms: number;
}

/**
 * Run one health check.
 *
 * @param ctx The janitor context.
 * @param type What started it.
 * @param lowDisks Paths whose disk is below the free-space threshold now.
 * @returns The aggregated report.
 *
 * @example
 * ```ts ignore
 * const report = await healthCheck(ctx, "manual", () => []);
 * console.log(report.node_healthy, Object.keys(report.modules));
 * ```
 */
export async function healthCheck(
  ctx: JanitorContext,
  type: CheckType,
  lowDisks: () => string[],
): Promise<HealthReport> {
  const { manager } = ctx;
  const deadline = ctx.config().health.deadline_ms;
  const checked_at = new Date().toISOString();
  const r = await recorded(ctx, "health", type, async () => {
    const node = await nodeChecks(ctx, lowDisks());
    const node_healthy = Object.values(node).every((c) => c.ok);
    const outcome = await manager.host.requests.publish(
      "HealthCheck",
      { check_type: type, node_healthy, health_report: { node } },
      deadline,
    );
    for (const [name, a] of Object.entries(outcome.answers)) {
      const m = manager.get(name);
      if (!m || !m.handle) continue;
      const answer = a.data as { status?: string; message?: string } | undefined;
      if (a.outcome === "missed") {
        reportHealth(manager.host, m, "degraded", `no answer to HealthCheck within ${deadline} ms`);
      } else if (typeof answer?.status === "string") {
        reportHealth(manager.host, m, answer.status, answer.message ?? null);
      }
    }
    const modules: Record<string, ModuleHealthEntry> = {};
    for (const s of manager.list()) {
      const a = outcome.answers[s.name];
      const data = a?.data as { message?: string } | undefined;
      modules[s.name] = {
        state: s.state,
        health: s.health,
        answer: a?.outcome ?? "not subscribed",
        message: data?.message ?? a?.message ?? null,
        ms: a?.ms ?? null,
      };
    }
    return {
      success: node_healthy && outcome.all_ok,
      node_healthy,
      node,
      modules,
      detail: { node_healthy, modules: answerSummary(outcome.answers) },
    };
  });
  return {
    check_type: type,
    checked_at,
    node_healthy: r.node_healthy,
    node: r.node,
    modules: r.modules,
    duration_ms: r.duration_ms,
  };
}

async function nodeChecks(ctx: JanitorContext, low: string[]): Promise<Record<string, NodeCheck>> {
  const checks: Record<string, NodeCheck> = {};
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tip = await Promise.race([
      ctx.backend.getTip(),
      new Promise<never>((_, no) => timer = setTimeout(() => no(new Error("no answer within 2000 ms")), 2000)),
    ]).finally(() => clearTimeout(timer));
    checks.backend = { ok: true, detail: `${ctx.backend.network} tip ${tip.height}` };
  } catch (e) {
    checks.backend = { ok: false, detail: (e as Error).message };
  }
  checks.disk = low.length
    ? { ok: false, detail: `free space below the threshold at ${low.join(", ")}` }
    : { ok: true, detail: "free space above the threshold" };
  const down = ctx.manager.list().filter((m) =>
    m.required && m.state !== "running" && !(m.lazy && m.state === "stopped")
  );
  checks.required_modules = down.length
    ? { ok: false, detail: down.map((m) => `${m.name} is ${m.state}`).join("; ") }
    : { ok: true, detail: "all running" };
  return checks;
}
