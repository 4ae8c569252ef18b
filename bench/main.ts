/**
 * `deno task bench`: every performance figure of the host, each next to its baseline measured in the
 * same run, with ratios taken inside each round, medians over rounds and the per-round spread
 * (bench/figures/mod.ts lists them). The table goes to stdout, progress to stderr.
 *
 *   deno task bench [--rounds 5] [--json] [--smoke] [--doc docs/PERFORMANCE.md] [--only events,ipc,...]
 *                   [--<count> N ...]   e.g. --events 100000 --fanout 4,16,32 (see --help)
 *
 * - `--json`: the whole report, every round, as JSON on stdout (the table then goes to stderr).
 * - `--smoke`: tiny counts and one round: proves every bench still works; its numbers mean nothing.
 * - `--doc PATH`: also write the report as Markdown (tools/perf_doc.ts), e.g. docs/PERFORMANCE.md.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { setupLogging } from "../mod.ts";
import { renderPerformanceDoc, writeMarkdown } from "../tools/perf_doc.ts";
import { BENCH_WARNINGS } from "./_bench_host.ts";
import { type BenchReport, type FigureResult, loadAverage, machineInfo, summarize, textTable } from "./_report.ts";
import {
  type Counts,
  DEFAULT_COUNTS,
  figureRank,
  type GroupRun,
  GROUPS,
  type RoundValues,
  SMOKE_COUNTS,
} from "./figures/mod.ts";

const USAGE = `deno task bench [--rounds N] [--json] [--smoke] [--doc PATH] [--only GROUP,...] [--COUNT N ...]
groups: ${GROUPS.map((g) => g.name).join(", ")}
counts (default / smoke): ${
  Object.entries(DEFAULT_COUNTS).map(([k, v]) => `--${k} ${v} / ${SMOKE_COUNTS[k as keyof Counts]}`).join(", ")
}`;

const countOptions = Object.fromEntries(Object.keys(DEFAULT_COUNTS).map((k) => [k, { type: "string" as const }]));
const { values: opts } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string" },
    json: { type: "boolean", default: false },
    smoke: { type: "boolean", default: false },
    doc: { type: "string" },
    only: { type: "string" },
    help: { type: "boolean", default: false },
    ...countOptions,
  },
});
if (opts.help) {
  console.log(USAGE);
  Deno.exit(0);
}

const counts: Counts = { ...(opts.smoke ? SMOKE_COUNTS : DEFAULT_COUNTS) };
for (const k of Object.keys(DEFAULT_COUNTS) as (keyof Counts)[]) {
  const v = (opts as Record<string, unknown>)[k];
  if (typeof v !== "string") continue;
  const parsed = v.split(",").map(Number);
  if (parsed.some((x) => !(x > 0))) throw new Error(`--${k} takes positive numbers, got ${v}`);
  (counts as unknown as Record<string, number | number[]>)[k] = Array.isArray(DEFAULT_COUNTS[k]) ? parsed : parsed[0];
}
const rounds = Number(opts.rounds ?? (opts.smoke ? 1 : 5));
if (!(Number.isInteger(rounds) && rounds > 0)) throw new Error(`--rounds takes a positive integer, got ${opts.rounds}`);
const only = opts.only?.split(",");
const unknown = only?.filter((n) => !GROUPS.some((g) => g.name === n));
if (unknown?.length) throw new Error(`unknown group(s) ${unknown}; ${USAGE}`);
const groups = GROUPS.filter((g) => !only || only.includes(g.name));

await setupLogging({ level: "warning" });
const repo = new URL("..", import.meta.url).pathname;
const machine = await machineInfo(repo);
const t0 = performance.now();
const progress = (s: string) => console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`);

const runs: GroupRun[] = [];
for (const g of groups) {
  progress(`setting up ${g.name}`);
  runs.push(await g.open(counts, rounds));
}
const samples = new Map<string, { value: number; baseline: number }[]>();
for (let round = 1; round <= rounds; round++) {
  for (const [i, g] of groups.entries()) {
    const t = performance.now();
    const values: RoundValues = await runs[i].round();
    for (const f of g.figures(counts)) {
      const v = values[f.id];
      if (!v || !(Number.isFinite(v.value) && Number.isFinite(v.baseline))) {
        throw new Error(`${g.name} measured no finite ${f.id}: ${JSON.stringify(v)}`);
      }
      samples.set(f.id, [...samples.get(f.id) ?? [], v]);
    }
    progress(`round ${round}/${rounds} ${g.name} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
}
for (const r of runs) await r.close();

const figures: FigureResult[] = groups.flatMap((g) => g.figures(counts))
  .map((f) => summarize(f, samples.get(f.id)!))
  .sort((a, b) => figureRank(a.id) - figureRank(b.id));
machine.load.end = loadAverage();
const report: BenchReport = {
  schema: 1,
  machine,
  settings: { rounds, smoke: opts.smoke, groups: groups.map((g) => g.name), counts: { ...counts } },
  seconds: (performance.now() - t0) / 1000,
  figures,
  warnings: BENCH_WARNINGS,
};

const table = textTable(report);
if (opts.json) {
  console.error(`\n${table}`);
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(`\n${table}`);
}
if (opts.doc) {
  await writeMarkdown(opts.doc, renderPerformanceDoc(report));
  progress(`wrote ${opts.doc}`);
}
