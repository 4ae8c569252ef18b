/**
 * Text output of `ctl janitor`, `ctl flush`, `ctl health`, `ctl cleanup`, `ctl maintenance`,
 * `ctl resources` and `ctl config`.
 *
 * @module
 */
import type { ReloadOutcome } from "../config/live.ts";
import type { Answer } from "../host/requests.ts";
import type { DataCleanupReport } from "../janitor/data_cleanup.ts";
import type { FlushReport } from "../janitor/flush.ts";
import type { HealthReport } from "../janitor/health.ts";
import type { JanitorStatus } from "../janitor/janitor.ts";
import type { MaintenanceReport } from "../janitor/maintenance.ts";
import { toJson } from "./format.ts";

/**
 * Format the result of a janitorial `ctl` command for people.
 *
 * @param command The `ctl` command.
 * @param result What the admin method returned.
 * @returns Text to print.
 *
 * @example
 * ```ts
 * import { janitorText } from "./janitor_format.ts";
 * console.log(janitorText("cleanup", { cleanup_type: "manual", target_age_days: 7, success: true, duration_ms: 3, modules: {} }));
 * ```
 */
export function janitorText(command: string, result: unknown): string {
  switch (command) {
    case "flush": {
      const r = result as FlushReport;
      const node = "error" in r.node ? `failed: ${r.node.error}` : `${r.node.pages} pages in ${r.node.duration_ms} ms`;
      return `Storage flush ${r.success ? "complete" : "INCOMPLETE"} in ${r.duration_ms} ms\n  node: ${node}\n` +
        answers(r.modules);
    }
    case "health":
      return result === null ? "No health check has run yet." : healthText(result as HealthReport);
    case "cleanup": {
      const r = result as DataCleanupReport;
      return `DataCleanup (${r.cleanup_type}, older than ${r.target_age_days} days) ${
        r.success ? "acknowledged" : "NOT acknowledged by all"
      } in ${r.duration_ms} ms\n${answers(r.modules)}`;
    }
    case "maintenance": {
      const r = result as MaintenanceReport;
      return `Maintenance ${r.maintenance_type} ${r.success ? "succeeded" : "FAILED"} in ${r.duration_ms} ms\n` +
        Object.entries(r.results).map(([k, v]) => `  ${k}: ${typeof v === "object" ? toJson(v) : v}`).join(
          "\n",
        );
    }
    case "resources":
      return resourcesText(result as JanitorStatus);
    case "janitor":
      return statusText(result as JanitorStatus);
    case "config": {
      const r = result as ReloadOutcome | { file: string | null; config: unknown };
      if ("applied" in r) {
        if (r.error) return `Configuration NOT reloaded (the one in force is kept):\n${r.error}`;
        if (!r.applied) return "Configuration unchanged.";
        const mods = Object.entries(r.modules ?? {}).map(([n, a]) => `\n  module ${n}: ${a}`).join("");
        return `Configuration reloaded: ${r.changed_sections.join(", ")} changed${mods}`;
      }
      return `# ${r.file ?? "(no file: defaults and overrides)"}, secrets redacted\n${toJson(r.config, 2)}`;
    }
  }
  return toJson(result, 2);
}

function answers(modules: Record<string, Answer>): string {
  const rows = Object.entries(modules);
  if (!rows.length) return "  modules: none subscribed";
  return rows.map(([n, a]) =>
    `  ${n}: ${a.outcome}${a.ms !== null ? ` in ${a.ms} ms` : ""}${a.message ? ` (${a.message})` : ""}`
  )
    .join("\n");
}

function healthText(r: HealthReport): string {
  const lines = [
    `Node ${r.node_healthy ? "healthy" : "UNHEALTHY"} (${r.check_type} check at ${r.checked_at}, ${r.duration_ms} ms)`,
  ];
  for (const [name, c] of Object.entries(r.node)) lines.push(`  ${c.ok ? "ok  " : "FAIL"} ${name}: ${c.detail}`);
  lines.push("Modules:");
  for (const [name, m] of Object.entries(r.modules)) {
    const ms = m.ms !== null ? ` in ${m.ms} ms` : "";
    lines.push(`  ${name}: ${m.health} (${m.state}); ${m.answer}${ms}${m.message ? ` - ${m.message}` : ""}`);
  }
  return lines.join("\n");
}

function resourcesText(s: JanitorStatus): string {
  const fmt = (v: number | null, unit: string) =>
    v === null ? "-" : unit === "B" ? `${(v / 1048576).toFixed(1)}M` : `${v}${unit}`;
  const lines = ["MODULE           PID      MEMORY/LIMIT     CPU/LIMIT      DISK/QUOTA       REQ/S/LIMIT  STATE"];
  for (const m of s.resources.modules) {
    const col = (r: "memory" | "cpu" | "disk" | "network", unit: string) =>
      `${fmt(m.usage[r], unit)}/${fmt(m.limits[r], unit)}`;
    const state = [m.throttled ? "throttled" : "", m.read_only ? "read-only" : ""].filter(Boolean).join(",") || "ok";
    lines.push(
      `${m.module.padEnd(16)} ${String(m.pid).padEnd(8)} ${col("memory", "B").padEnd(16)} ${
        col("cpu", "%").padEnd(14)
      } ${col("disk", "B").padEnd(16)} ${col("network", "").padEnd(12)} ${state}`,
    );
  }
  if (s.resources.actions.length) {
    lines.push("", "Recent warnings and actions:");
    for (const a of s.resources.actions.slice(-20)) {
      lines.push(`  ${a.at} ${a.module} ${a.resource} ${a.action}: ${a.detail}`);
    }
  }
  return lines.join("\n");
}

function statusText(s: JanitorStatus): string {
  const lines = ["Schedule:"];
  for (const [op, at] of Object.entries(s.schedule)) lines.push(`  ${op.padEnd(20)} ${at ?? "on command only"}`);
  lines.push("Disks:");
  for (const d of s.disks) {
    lines.push(
      `  ${d.path}: ${d.percent_free}% free (${d.available_bytes} of ${d.total_bytes} bytes)${d.low ? " LOW" : ""}`,
    );
  }
  lines.push("Acknowledgements (answered/asked, missed, mean and max ms):");
  for (const [module, byType] of Object.entries(s.acknowledgements)) {
    for (const [type, a] of Object.entries(byType)) {
      lines.push(
        `  ${module.padEnd(16)} ${
          type.padEnd(20)
        } ${a.answered}/${a.asked}, ${a.missed} missed, ${a.failed} failed, mean ${a.mean_ms ?? "-"} max ${a.max_ms}`,
      );
    }
  }
  lines.push("Recent runs:");
  for (const r of s.runs.slice(-15)) {
    lines.push(`  ${r.started_at} ${r.op} (${r.trigger}) ${r.success ? "ok" : "FAILED"} ${r.duration_ms} ms`);
  }
  return lines.join("\n");
}
