// CI proof that `deno task bench` still works: its smoke mode (tiny counts, one round) as a subprocess,
// checked for shape only. No timing is asserted: the numbers of a smoke run mean nothing.
import { deepEqual, equal, ok } from "node:assert/strict";
import type { BenchReport } from "../../bench/_report.ts";
import { renderPerformanceDoc } from "../../tools/perf_doc.ts";

const MAIN = new URL("../../bench/main.ts", import.meta.url).pathname;

/** The figures in report order; the host CPU ids name the module counts of the run. */
function expectedIds(fanout: number[]): string[] {
  return [
    "events_per_s",
    "call_rtt_median",
    "call_rtt_p99",
    "calls_per_s",
    ...fanout.map((k) => `host_cpu_x${k}`),
    "host_cpu_flat",
    "spawn_one_ms",
    "spawn_together_ms",
    "mining_loop_gap_ms",
    "mining_call_ms",
    "idle_rss_mib",
    "journal_events_per_s",
  ];
}

const positive = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;

Deno.test("deno task bench --smoke --json measures every figure beside its baseline", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--smoke", "--json"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  ok(out.success, `bench/main.ts --smoke failed:\n${stderr}`);
  const report = JSON.parse(new TextDecoder().decode(out.stdout)) as BenchReport;

  equal(report.schema, 1);
  equal(report.settings.smoke, true);
  equal(report.settings.rounds, 1);
  const m = report.machine;
  ok(m.cpu && m.deno === Deno.version.deno && m.commit && m.os, JSON.stringify(m));
  ok(positive(m.cores) && !Number.isNaN(Date.parse(m.date)), JSON.stringify(m));
  ok(positive(report.seconds));

  const fanout = report.settings.counts.fanout as number[];
  ok(Array.isArray(fanout) && fanout.length >= 2, `fanout counts: ${fanout}`);
  deepEqual(report.figures.map((f) => f.id), expectedIds(fanout));
  for (const f of report.figures) {
    for (const k of ["title", "unit", "baseline", "method", "group"] as const) {
      ok(typeof f[k] === "string" && f[k].length > 0, `${f.id}.${k}`);
    }
    equal(f.rounds.length, 1, f.id);
    for (const s of [...f.rounds, f.median]) {
      ok(positive(s.value) && positive(s.baseline) && positive(s.ratio), `${f.id}: ${JSON.stringify(s)}`);
    }
    for (const s of Object.values(f.spread)) ok(positive(s.min) && s.min <= s.max, `${f.id} spread`);
    ok(f.met === null ? !f.target : typeof f.met === "boolean", `${f.id}.met`);
  }

  // The table went to stderr, and the doc renders every figure from the same JSON.
  for (const f of report.figures) ok(stderr.includes(f.title), `the table lacks ${f.title}`);
  const doc = renderPerformanceDoc(report);
  for (const f of report.figures) ok(doc.includes(`| ${f.title} |`), `the doc lacks ${f.title}`);
  ok(doc.includes(m.commit) && doc.includes("smoke run"));
});
