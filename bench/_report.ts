/**
 * The bench report: figure definitions, per-round samples summarized into medians and spreads, the
 * machine it ran on, and the compact text table `deno task bench` prints. The same shape is the
 * `--json` output and the input of tools/perf_doc.ts.
 *
 * @module
 */
import { median, type Spread, spread } from "./_stats.ts";

/** A target: the median value (or the median per-round ratio) must be at most / at least `limit`. */
export interface Target {
  /** What is compared: the figure's value, or its ratio to the baseline. */
  on: "value" | "ratio";
  /** The comparison. */
  op: "<=" | ">=";
  /** The limit, in the figure's unit (or as a ratio). */
  limit: number;
}

/** What a figure is. */
export interface FigureSpec {
  /** Stable id, e.g. `events_per_s`. */
  id: string;
  /** The group (and file in bench/figures/) that measures it. */
  group: string;
  /** Short title. */
  title: string;
  /** Unit of the value and the baseline: `events/s`, `calls/s`, `µs`, `ms`, `MiB` or `×`. */
  unit: string;
  /** What the baseline is. */
  baseline: string;
  /** How it is measured, in a sentence or two. */
  method: string;
  /** The target, if the issue set one. */
  target?: Target;
}

/** One round's measurement of a figure. */
export interface Sample {
  /** The figure's value. */
  value: number;
  /** The baseline, measured in the same round. */
  baseline: number;
  /** `value / baseline`. */
  ratio: number;
}

/** A figure over all rounds. */
export interface FigureResult extends FigureSpec {
  /** Every round, in order. */
  rounds: Sample[];
  /** Medians over rounds of the value, the baseline and the per-round ratio (not a ratio of medians). */
  median: Sample;
  /** Smallest and largest over rounds. */
  spread: { value: Spread; baseline: Spread; ratio: Spread };
  /** Whether the median meets the target; `null` without a target. */
  met: boolean | null;
}

/** Where and when the run happened. */
export interface MachineInfo {
  /** CPU model name from /proc/cpuinfo. */
  cpu: string;
  /** Logical processors in /proc/cpuinfo. */
  cores: number;
  /** Deno version. */
  deno: string;
  /** V8 version. */
  v8: string;
  /** TypeScript version. */
  typescript: string;
  /** `os arch kernel`. */
  os: string;
  /** `git rev-parse HEAD`, or `unknown`. */
  commit: string;
  /** Whether the working tree had uncommitted changes. */
  dirty: boolean;
  /** ISO date of the run's start. */
  date: string;
  /** 1-minute load average at the start and at the end of the run. */
  load: { start: number; end: number };
}

/** A whole run: `deno task bench --json` prints this. */
export interface BenchReport {
  /** Format version. */
  schema: 1;
  /** The machine. */
  machine: MachineInfo;
  /** Rounds, mode and the counts every figure used. */
  settings: { rounds: number; smoke: boolean; groups: string[]; counts: Record<string, number | number[]> };
  /** Wall-clock seconds of the whole run. */
  seconds: number;
  /** Every figure, in catalog order. */
  figures: FigureResult[];
  /** What went wrong during the run but was recovered from (e.g. a module start retried). */
  warnings: string[];
}

/**
 * Summarize a figure's rounds.
 *
 * @param spec The figure.
 * @param rounds Its value and baseline in each round.
 * @returns Medians, spreads and whether the target is met.
 */
export function summarize(spec: FigureSpec, rounds: { value: number; baseline: number }[]): FigureResult {
  const samples = rounds.map(({ value, baseline }) => ({ value, baseline, ratio: value / baseline }));
  const pick = (k: keyof Sample) => samples.map((s) => s[k]);
  const med = { value: median(pick("value")), baseline: median(pick("baseline")), ratio: median(pick("ratio")) };
  let met: boolean | null = null;
  if (spec.target) {
    const x = med[spec.target.on];
    met = spec.target.op === "<=" ? x <= spec.target.limit : x >= spec.target.limit;
  }
  return {
    ...spec,
    rounds: samples,
    median: med,
    spread: { value: spread(pick("value")), baseline: spread(pick("baseline")), ratio: spread(pick("ratio")) },
    met,
  };
}

/** Read a command's stdout, or `undefined` if it fails. */
async function output(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return o.success ? new TextDecoder().decode(o.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The 1-minute load average.
 *
 * @returns It, or `NaN` off Linux.
 */
export function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/**
 * Describe this machine and checkout.
 *
 * @param repo The git checkout.
 * @returns The machine info; `load.end` is filled in at the end of the run.
 */
export async function machineInfo(repo: string): Promise<MachineInfo> {
  let cpu = "unknown", cores = navigator.hardwareConcurrency;
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1].trim() ?? cpu;
    cores = info.match(/^processor\s*:/gm)?.length ?? cores;
  } catch { /* not Linux */ }
  const commit = await output("git", ["-C", repo, "rev-parse", "HEAD"]) ?? "unknown";
  const status = await output("git", ["-C", repo, "status", "--porcelain"]);
  return {
    cpu,
    cores,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: `${Deno.build.os} ${Deno.build.arch} ${Deno.osRelease()}`,
    commit,
    dirty: !!status,
    date: new Date().toISOString(),
    load: { start: loadAverage(), end: NaN },
  };
}

/**
 * A number for people: thousands as `k`, millions as `M`, small ones with 2-3 significant digits.
 *
 * @param v The number.
 * @returns It, formatted.
 */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(a >= 1e8 ? 0 : a >= 1e7 ? 1 : 2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(a >= 1e5 ? 0 : 1)}k`;
  if (a >= 100) return Math.round(v).toLocaleString("en-US");
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

/**
 * A value with its unit.
 *
 * @param v The value.
 * @param unit The unit.
 * @returns E.g. `451k events/s`, `32.2 µs`, `1.25×`.
 */
export function formatValue(v: number, unit: string): string {
  return unit === "×" ? `${formatNumber(v)}×` : `${formatNumber(v)} ${unit}`;
}

/**
 * A target for people.
 *
 * @param f The figure.
 * @returns E.g. `≥ 500k events/s`, `≤ 1.1× baseline`, or `—`.
 */
export function formatTarget(f: FigureSpec): string {
  if (!f.target) return "—";
  const op = f.target.op === "<=" ? "≤" : "≥", v = f.target.limit;
  const limit = v >= 1e4 ? `${v / 1e3}k` : String(v);
  if (f.target.on === "ratio") return `${op} ${limit}× baseline`;
  return f.unit === "×" ? `${op} ${limit}×` : `${op} ${limit} ${f.unit}`;
}

/**
 * A spread for people.
 *
 * @param s The spread.
 * @param unit The unit, or `×` for ratios.
 * @returns `min–max`.
 */
export function formatSpread(s: Spread, unit: string): string {
  const u = unit === "×" ? "×" : "";
  return `${formatNumber(s.min)}–${formatNumber(s.max)}${u}`;
}

/**
 * The compact table printed at the end of a run.
 *
 * @param r The report.
 * @returns Plain text, one line per figure.
 */
export function textTable(r: BenchReport): string {
  const m = r.machine;
  const head = [
    `@blvm/node bench: ${r.settings.rounds} round(s)${r.settings.smoke ? " (smoke: tiny counts, not figures)" : ""}, ` +
    `medians over rounds; ratio = value / baseline, taken inside each round`,
    `${m.cpu} ×${m.cores}, Deno ${m.deno}, commit ${m.commit.slice(0, 10)}${m.dirty ? " (dirty)" : ""}, ${m.date}, ` +
    `load ${m.load.start} → ${m.load.end}, ${r.seconds.toFixed(0)} s`,
    "",
  ];
  const rows = [["figure", "value", "baseline", "ratio", "ratio spread", "value spread", "target", "met"]];
  for (const f of r.figures) {
    rows.push([
      f.title,
      formatValue(f.median.value, f.unit),
      formatValue(f.median.baseline, f.unit),
      `${formatNumber(f.median.ratio)}×`,
      formatSpread(f.spread.ratio, "×"),
      formatSpread(f.spread.value, f.unit),
      formatTarget(f),
      f.met === null ? "" : f.met ? "met" : "NOT met",
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const lines = rows.map((row) =>
    row.map((c, i) => i === 0 || i >= 6 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ").trimEnd()
  );
  const warnings = r.warnings.length ? ["", "warnings:", ...r.warnings.map((w) => `  ${w}`)] : [];
  return [...head, ...lines, "", "baselines:", ...r.figures.map((f) => `  ${f.title}: ${f.baseline}`), ...warnings]
    .join("\n");
}
