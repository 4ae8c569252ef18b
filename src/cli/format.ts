/**
 * Human-readable output for `deno task ctl`: aligned tables, durations and sizes.
 *
 * @module
 */
import { describeSignature } from "../signing/policy.ts";
import type { ModuleDetail, ModuleStatus } from "../manager/managed.ts";

/**
 * Render rows as a left-aligned table with a header line.
 *
 * @param header Column titles.
 * @param rows Cells, one array per row.
 * @returns The table, lines joined with `\n`.
 *
 * @example
 * ```ts
 * import { table } from "./format.ts";
 * console.log(table(["NAME", "STATE"], [["hello", "running"]]));
 * // NAME   STATE
 * // hello  running
 * ```
 */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/**
 * A duration as `1h02m`, `3m04s`, `5.2s` or `120ms`.
 *
 * @param ms Milliseconds, or `null`.
 * @returns The text, `-` for `null`.
 *
 * @example
 * ```ts
 * import { duration } from "./format.ts";
 * console.log(duration(62_000)); // "1m02s"
 * ```
 */
export function duration(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
}

/**
 * A byte count in binary units.
 *
 * @param n Bytes, or `null`.
 * @returns The text, `-` for `null`.
 *
 * @example
 * ```ts
 * import { bytes } from "./format.ts";
 * console.log(bytes(52_428_800)); // "50.0 MiB"
 * ```
 */
export function bytes(n: number | null): string {
  if (n === null) return "-";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  // 1023.95 and up would print as "1024.0": show it in the next unit instead.
  while (n >= 1023.95 && i < units.length - 1) [n, i] = [n / 1024, i + 1];
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

/**
 * The `ctl list` table.
 *
 * @param rows Module statuses.
 * @returns The table.
 *
 * @example
 * ```ts ignore
 * console.log(listTable(await admin.call("list") as ModuleStatus[]));
 * ```
 */
export function listTable(rows: ModuleStatus[]): string {
  if (!rows.length) return "No modules.";
  return table(
    ["NAME", "VERSION", "STATE", "PID", "SANDBOX", "UPTIME", "RESTARTS", "MEMORY", "NOTE"],
    rows.map((m) => [
      m.name,
      m.version ?? "-",
      m.state + (m.state === "missing" ? " (folder deleted)" : m.lazy && m.state !== "running" ? " (lazy)" : ""),
      m.pid === null ? "-" : String(m.pid),
      m.sandbox ?? "-",
      duration(m.uptime_ms),
      String(m.restarts),
      bytes(m.memory_bytes),
      note(m),
    ]),
  );
}

function note(m: ModuleStatus): string {
  if (m.pending_approval.length) return `reload waits for approval: +${m.pending_approval.join(", +")}`;
  if (m.restart_in_ms !== null) return `restart in ${duration(m.restart_in_ms)}: ${m.reason}`;
  return m.state === "running" ? "" : m.reason;
}

/**
 * The `ctl inspect` report.
 *
 * @param d The module detail.
 * @returns Multi-line text.
 *
 * @example
 * ```ts ignore
 * console.log(inspectText(await admin.call("inspect", { name: "hello" }) as ModuleDetail));
 * ```
 */
export function inspectText(d: ModuleDetail): string {
  const lines = [
    `${d.name} ${d.version ?? ""}`.trim(),
    `  state:        ${d.state} (${d.health})${d.reason ? ` — ${d.reason}` : ""}`,
    `  folder:       ${d.dir}${d.state === "missing" ? "   (DELETED: restore it, then ctl load; or ctl unload)" : ""}`,
    `  pid:          ${d.pid ?? "-"}   uptime: ${duration(d.uptime_ms)}   restarts: ${d.restarts}   memory: ${
      bytes(d.memory_bytes)
    }`,
    `  required:     ${d.required}   lazy: ${d.lazy}`,
    `  sandbox:      ${
      d.sandbox === null ? "-" : d.sandbox === "deno" ? "deno (Deno's permission flags only, no OS layer)" : d.sandbox
    }`,
  ];
  if (d.manifest) {
    const deps = Object.entries(d.manifest.dependencies).map(([n, r]) => `${n} ${r}`);
    const opt = Object.entries(d.manifest.optional_dependencies).map(([n, r]) => `${n} ${r} (optional)`);
    lines.push(
      `  description:  ${d.manifest.description ?? "-"}`,
      `  dependencies: ${[...deps, ...opt].join(", ") || "-"}`,
    );
  }
  if (d.signature) lines.push(`  signature:    ${describeSignature(d.signature)} (policy ${d.signature.policy})`);
  lines.push(`  capabilities: ${d.capabilities.join(", ") || "-"}`);
  if (d.grants) {
    for (const [k, v] of Object.entries(d.grants)) if (v.length) lines.push(`  grant ${k.padEnd(7)} ${v.join(", ")}`);
  }
  if (d.ungranted.length) lines.push(`  NOT granted:  ${d.ungranted.join(", ")}`);
  if (d.pending_approval.length) lines.push(`  reload waits for approval of: ${d.pending_approval.join(", ")}`);
  for (const w of d.warnings) lines.push(`  warning:      ${w}`);
  lines.push(`  config:       ${toJson(d.config)}`);
  const t = d.traffic;
  if (t) {
    const e = t.events;
    if (e) {
      const subs = [...e.types, ...e.categories.map((c) => `${c}/*`)];
      lines.push(`  subscribed:   ${subs.join(", ") || "-"}`);
      lines.push(
        `  events:       ${e.delivered} delivered, ${e.queued} queued (${
          bytes(e.queued_bytes)
        }), lag ${e.lag_ms} ms, ` +
          `${e.dropped_total} dropped${e.overflowed ? ", CUT OFF for falling behind" : ""}`,
      );
      const dropped = Object.entries(e.dropped).map(([k, v]) => `${k} ${v}`);
      if (dropped.length) lines.push(`  dropped:      ${dropped.join(", ")}`);
    }
    const r = t.requests;
    lines.push(
      `  requests:     ${r.calls} ok, ${r.errors} failed (${r.denied} denied, ${r.rate_limited} rate-limited, ` +
        `${r.deadline_exceeded} past deadline)${r.logs_dropped ? `; ${r.logs_dropped} log messages dropped` : ""}`,
    );
    if (t.api) lines.push(`  serves api:   ${t.api.version}: ${t.api.methods.join(", ")}`);
  }
  if (d.journal) {
    const j = d.journal;
    lines.push(
      `  journal:      processed up to ${j.processed}, ${j.behind} position${j.behind === 1 ? "" : "s"} since; ` +
        `resumes ${j.types.length} type${j.types.length === 1 ? "" : "s"}${
          j.module_events ? " and module events" : ""
        }`,
    );
  }
  lines.push(`  command:      ${d.command ? d.command.map(shellQuote).join(" ") : "-"}`);
  lines.push(`  recent log (${d.logs.length} lines):`, ...d.logs.slice(-20).map((l) => `    ${l}`));
  return lines.join("\n");
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-./=:,@+]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * JSON text for operator output. TOML integers beyond 2^53 arrive as bigints, which `JSON.stringify`
 * rejects; they are written as plain numbers (exact digits). Bytes (a block's or transaction's `raw`) are
 * written as lowercase hex.
 *
 * @param value Any value from the admin socket.
 * @param indent Indentation, as for `JSON.stringify`.
 * @returns The JSON text.
 *
 * @example
 * ```ts
 * import { toJson } from "./format.ts";
 * console.log(toJson({ big: 9007199254740993n, raw: new Uint8Array([1, 171]) })); // {"big":9007199254740993,"raw":"01ab"}
 * ```
 */
export function toJson(value: unknown, indent?: number): string {
  const marks = new Map<string, string>();
  const text = JSON.stringify(value, (_k, v) => {
    if (v instanceof Uint8Array) return hex(v);
    if (typeof v !== "bigint") return v;
    const mark = `\u0000bigint${marks.size}\u0000`;
    marks.set(JSON.stringify(mark), v.toString());
    return mark;
  }, indent);
  let out = text;
  for (const [mark, digits] of marks) out = out.replace(mark, digits);
  return out;
}

/**
 * Bytes as lowercase hex.
 *
 * @param bytes The bytes.
 * @returns The hex text.
 *
 * @example
 * ```ts
 * import { hex } from "./format.ts";
 * console.log(hex(new Uint8Array([0, 255]))); // "00ff"
 * ```
 */
export function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
