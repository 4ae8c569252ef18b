/**
 * Render a `deno task bench --json` report as docs/PERFORMANCE.md: the machine and run, one table of
 * figure / value / baseline / ratio / target / per-round spread, every round, and how each figure is
 * measured. `deno task bench --doc PATH` calls this directly; from a saved report:
 *
 *   deno task bench --json > run.json && deno run -A tools/perf_doc.ts run.json --out docs/PERFORMANCE.md
 *
 * @module
 */
import type { BenchReport, FigureResult } from "../bench/_report.ts";
import { formatNumber, formatSpread, formatTarget, formatValue } from "../bench/_report.ts";

const REGENERATE = "deno task bench:doc";

/** One Markdown table. */
function table(head: string[], rows: string[][], align: ("l" | "r")[]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `| ${align.map((a) => a === "r" ? "---:" : "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

function metText(f: FigureResult): string {
  return f.met === null ? "" : f.met ? "met" : "**not met**";
}

/**
 * The Markdown document for a report.
 *
 * @param r The report.
 * @returns The document (run it through `deno fmt` to align the tables; {@link writeMarkdown} does).
 *
 * @example
 * ```ts ignore
 * import { renderPerformanceDoc } from "./perf_doc.ts";
 * const report = JSON.parse(await Deno.readTextFile("run.json"));
 * console.log(renderPerformanceDoc(report));
 * ```
 */
export function renderPerformanceDoc(r: BenchReport): string {
  const m = r.machine, rounds = r.settings.rounds;
  const out: string[] = [
    "# Performance",
    "",
    `<!-- Generated from one run of bench/main.ts by \`${REGENERATE}\`; do not edit by hand. -->`,
    "",
    "Every figure is measured through the real host: modules are sandboxed Deno processes started by `Host`, " +
    "talking MessagePack frames over their Unix sockets. Each figure has a baseline measured in the same run, " +
    "in every round, right beside it: the same work done by bare Deno processes, or the host in a quieter " +
    "state. The ratio is value / baseline taken inside each round. The tables show the median over rounds of " +
    "each column (the ratio column is the median of the per-round ratios), and the spread is the smallest to " +
    "the largest over rounds. The machine is shared, so absolute numbers move with its load. Compare the " +
    "ratios.",
    "",
    `Regenerate with \`${REGENERATE}\` (\`deno run -A bench/main.ts --rounds 5 --doc docs/PERFORMANCE.md\`); ` +
    "`deno task bench` alone prints the same table, `--json` gives every round.",
    "",
  ];
  if (r.settings.smoke) {
    out.push("**This is a smoke run (tiny counts): its numbers are not figures.**", "");
  }
  out.push(
    "## The run",
    "",
    ...table(["", ""], [
      ["CPU (/proc/cpuinfo)", `${m.cpu}, ${m.cores} logical cores`],
      ["Deno", `${m.deno} (V8 ${m.v8}, TypeScript ${m.typescript})`],
      ["OS", m.os],
      ["commit", `\`${m.commit}\`${m.dirty ? " with uncommitted changes" : ""}`],
      ["date", m.date],
      ["rounds", `${rounds}, ${Math.round(r.seconds)} s in all`],
      ["load average (1 min)", `${m.load.start} at the start, ${m.load.end} at the end`],
    ], ["l", "l"]),
    "",
    "## Figures",
    "",
    ...table(
      ["figure", "value", "baseline", "ratio", "target", "met", "per-round spread: value; ratio"],
      r.figures.map((f) => [
        f.title,
        formatValue(f.median.value, f.unit),
        formatValue(f.median.baseline, f.unit),
        `${formatNumber(f.median.ratio)}×`,
        formatTarget(f),
        metText(f),
        `${formatSpread(f.spread.value, f.unit)}; ${formatSpread(f.spread.ratio, "×")}`,
      ]),
      ["l", "r", "r", "r", "l", "l", "l"],
    ),
    "",
    "What each baseline is, and how each figure is measured, is [below](#how-each-figure-is-measured).",
    "",
    ...(r.warnings?.length ? ["Recovered from during the run:", "", ...r.warnings.map((w) => `- ${w}`), ""] : []),
    "## Every round",
    "",
    "Value / baseline (ratio) in each round, in the order measured.",
    "",
    ...table(
      ["figure", ...Array.from({ length: rounds }, (_, i) => `round ${i + 1}`)],
      r.figures.map((f) => [
        f.title,
        ...f.rounds.map((s) => `${formatNumber(s.value)} / ${formatNumber(s.baseline)} (${formatNumber(s.ratio)}×)`),
      ]),
      ["l", ...Array.from({ length: rounds }, () => "r" as const)],
    ),
    "",
    "## How each figure is measured",
    "",
    ...r.figures.map((f) => `- **${f.title}** (\`${f.id}\`, ${f.unit}): ${f.method} Baseline: ${f.baseline}.`),
    "",
    `Counts used: ${
      Object.entries(r.settings.counts).map(([k, v]) => `\`${k}\` ${Array.isArray(v) ? v.join(", ") : v}`).join("; ")
    }. Each can be changed with \`--<count>\`; see \`deno task bench --help\`.`,
    "",
    "## Other benchmarks",
    "",
    "Not part of this run; each prints its own table beside its own same-run baselines:",
    "`deno task bench:devnode` (mining and mempool acceptance of the dev node), `deno task bench:monitor` " +
      "(the janitor's monitoring), `deno task bench:sandbox` (the OS layer against Deno's flags alone) and " +
      "`deno task bench:slow-reader` (host memory with a module that never reads).",
    "",
  );
  return out.join("\n");
}

/**
 * Write Markdown to a file and format it with `deno fmt` (this repository's settings), so the file
 * passes `deno fmt --check`.
 *
 * @param path The file.
 * @param text The Markdown.
 */
export async function writeMarkdown(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  const root = new URL("..", import.meta.url).pathname;
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", `--config=${root}deno.json`, await Deno.realPath(path)],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!fmt.success) throw new Error(`deno fmt failed on ${path}`);
}

if (import.meta.main) {
  const args = [...Deno.args];
  const at = args.indexOf("--out");
  const outPath = at >= 0 ? args.splice(at, 2)[1] : undefined;
  const json = args[0] && args[0] !== "-"
    ? await Deno.readTextFile(args[0])
    : await new Response(Deno.stdin.readable).text();
  const doc = renderPerformanceDoc(JSON.parse(json) as BenchReport);
  if (outPath) await writeMarkdown(outPath, doc);
  else console.log(doc);
}
