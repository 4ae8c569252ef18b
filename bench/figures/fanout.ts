/**
 * The host's CPU time per event per subscribed module with several modules (4, 16 and 32 by default),
 * beside the same for raw frames written to as many raw children, and how flat it stays from the
 * fewest modules to the most.
 *
 * @module
 */
import type { FigureSpec } from "../_report.ts";
import { cpuMicros, rawStream } from "../_raw.ts";
import { BenchHost, deliverBlocks } from "../_bench_host.ts";
import { count, type FigureGroup } from "./_group.ts";

const group = "fanout";
const modules = (k: number) => k === 1 ? "1 module" : `${k} modules`;

/** Host CPU µs per event per module with `subs` modules, each counting every event. */
async function viaHost(subs: number, n: number): Promise<number> {
  const bench = await BenchHost.create();
  try {
    const mods = await bench.startMany(subs, { subscribe: true });
    const cpu0 = cpuMicros();
    await deliverBlocks(bench, mods, n);
    return (cpuMicros() - cpu0) / (n * subs);
  } finally {
    await bench.close();
  }
}

/** Host CPU per event per subscriber, several fan-outs. */
export const fanout: FigureGroup = {
  name: group,
  figures(c) {
    const first = c.fanout[0], last = c.fanout[c.fanout.length - 1];
    const specs: FigureSpec[] = c.fanout.map((k) => ({
      id: `host_cpu_x${k}`,
      group,
      title: `host CPU per event per module, ${modules(k)}`,
      unit: "µs",
      baseline: `host CPU per frame per child, raw 256 B frames to ${k === 1 ? "1 raw child" : `${k} raw children`}`,
      method:
        `${count(c.fanout_events)} NewBlock events to each of ${
          modules(k)
        } (sandboxed) counting them in on(); the host ` +
        "process's CPU time (user + system, all threads) from the first publish to the last count, divided by " +
        "events × modules. The baseline streams the same number of frames to each raw child.",
      target: { on: "value", op: "<=", limit: 0.3 },
    }));
    specs.push({
      id: "host_cpu_flat",
      group,
      title: `host CPU per event per module, ${last} vs ${modules(first)}`,
      unit: "×",
      baseline: `the raw baseline's ${last}-child / ${first}-child ratio`,
      method: `host_cpu_x${last} / host_cpu_x${first} within a round: 1 is perfectly flat. The target (at most 20 % ` +
        "growth) is this bench's reading of the issue's \"flat\".",
      target: { on: "value", op: "<=", limit: 1.2 },
    });
    return specs;
  },
  open(c) {
    return Promise.resolve({
      async round() {
        const out: Record<string, { value: number; baseline: number }> = {};
        for (const k of c.fanout) {
          const raw = await rawStream(k, c.fanout_events);
          out[`host_cpu_x${k}`] = { value: await viaHost(k, c.fanout_events), baseline: raw.cpuPerEventPerSub };
        }
        const first = out[`host_cpu_x${c.fanout[0]}`], last = out[`host_cpu_x${c.fanout[c.fanout.length - 1]}`];
        out.host_cpu_flat = { value: last.value / first.value, baseline: last.baseline / first.baseline };
        return out;
      },
      close: () => Promise.resolve(),
    });
  },
};
