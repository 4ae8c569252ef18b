/**
 * NodeAPI calls through the real host and sandbox, next to raw echo round trips over a Deno Unix
 * socket: the round trip with one call in flight (median, p99), and calls/s with 16 in flight.
 *
 * @module
 */
import { rawPingPong, rawPipelined, type RoundTrips } from "../_raw.ts";
import { BenchHost, invoke } from "../_bench_host.ts";
import { count, type FigureGroup } from "./_group.ts";

const group = "ipc";

/** Call round trips and calls/s in flight. */
export const ipc: FigureGroup = {
  name: group,
  figures: (c) => [
    {
      id: "call_rtt_median",
      group,
      title: "NodeAPI call round trip, median",
      unit: "µs",
      baseline: "raw Deno Unix-socket echo round trip (64 B frames), median",
      method: `A sandboxed module calls getBlockHeight ${count(c.calls)} times, one in flight, after ` +
        `${count(c.warmup)} untimed calls, timing each in the module; the baseline child does the same with bare ` +
        "length-prefixed frames echoed by the host.",
      target: { on: "ratio", op: "<=", limit: 1.1 },
    },
    {
      id: "call_rtt_p99",
      group,
      title: "NodeAPI call round trip, p99",
      unit: "µs",
      baseline: "raw Deno Unix-socket echo round trip, p99",
      method: "The 99th percentile of the same samples.",
    },
    {
      id: "calls_per_s",
      group,
      title: `calls/s, ${c.inflight} in flight`,
      unit: "calls/s",
      baseline: `raw echo round trips/s with ${c.inflight} in flight`,
      method:
        `${
          count(c.pipelined)
        } getBlockHeight calls from ${c.inflight} concurrent loops in one module (the per-module ` +
        `rate limit off: this measures the IPC path); the baseline keeps ${c.inflight} raw frames outstanding.`,
      target: { on: "value", op: ">=", limit: 200_000 },
    },
  ],
  open(c) {
    return Promise.resolve({
      async round() {
        const raw = await rawPingPong(c.calls, c.warmup);
        const rawCps = await rawPipelined(c.pipelined, c.inflight);
        const bench = await BenchHost.create({ rateLimit: null });
        try {
          const m = await bench.start("ipc");
          const rtt = await invoke<RoundTrips>(m, "pingpong", { n: c.calls, warmup: c.warmup });
          const pl = await invoke<{ seconds: number; calls: number }>(m, "pipelined", {
            n: c.pipelined,
            inflight: c.inflight,
          });
          return {
            call_rtt_median: { value: rtt.median * 1000, baseline: raw.median * 1000 },
            call_rtt_p99: { value: rtt.p99 * 1000, baseline: raw.p99 * 1000 },
            calls_per_s: { value: pl.calls / pl.seconds, baseline: rawCps },
          };
        } finally {
          await bench.close();
        }
      },
      close: () => Promise.resolve(),
    });
  },
};
