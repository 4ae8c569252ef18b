/**
 * The host stall while mining a block of many transactions through the operator's path (the
 * `node.generate` admin method, as `ctl node generate 1` runs it): the longest gap of a 1 ms timer in
 * the host process, and the slowest NodeAPI call of a module polling the node meanwhile, each beside
 * the same measured idle in the same round.
 *
 * @module
 */
import { type DevNode, dispatchNode } from "../../mod.ts";
import { fundedNode, spends, submitAll } from "../_chain.ts";
import { BenchHost, invoke } from "../_bench_host.ts";
import { percentile, sleep } from "../_stats.ts";
import { count, type FigureGroup } from "./_group.ts";

const group = "stall";

/** Record the gaps between the ticks of a 1 ms interval timer until stopped. */
function loopProbe(): { stop(): number[] } {
  const gaps: number[] = [];
  let last = performance.now();
  const id = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(id);
      gaps.push(performance.now() - last);
      return gaps;
    },
  };
}

type Latencies = { count: number; p99: number; max: number };

/** Host stall while mining. */
export const stall: FigureGroup = {
  name: group,
  figures: (c) => [
    {
      id: "mining_loop_gap_ms",
      group,
      title: `host stall mining a ${count(c.mining_txs)}-tx block: longest event-loop gap`,
      unit: "ms",
      baseline: `the p99 gap of the same 1 ms timer over ${count(c.idle_ms)} ms idle, same round`,
      method:
        `${count(c.mining_txs)} signed P2WPKH spends are put in the mempool, then one block is mined through the ` +
        "`node.generate` admin method (dispatchNode, what `ctl node generate 1` runs) while a 1 ms setInterval in " +
        "the host records the gaps between its ticks; the longest gap from the call to 50 ms after it returned.",
      target: { on: "value", op: "<=", limit: 20 },
    },
    {
      id: "mining_call_ms",
      group,
      title: "host stall while mining: slowest module NodeAPI call",
      unit: "ms",
      baseline: "the p99 latency of the same calls while idle, same round",
      method: `A sandboxed module calls getBlockHeight every ${c.poll_ms} ms throughout; the slowest call issued ` +
        "while the block was mined, timed in the module.",
      target: { on: "value", op: "<=", limit: 20 },
    },
  ],
  async open(c, rounds) {
    const { node, outs } = await fundedNode(c.mining_txs * rounds);
    const txs = spends(outs);
    let next = 0;
    return {
      round: async () => {
        const batch = txs.slice(next, next += c.mining_txs);
        return await measure(node, batch, c.idle_ms, c.poll_ms);
      },
      close: () => node.close(),
    };
  },
};

async function measure(node: DevNode, batch: string[], idleMs: number, pollMs: number) {
  const bench = await BenchHost.create({ backend: node });
  try {
    const m = await bench.start("poller", { subscribe: true, poll_ms: pollMs });
    await submitAll(node, batch);
    await sleep(100);

    await invoke(m, "window", { label: "idle" });
    let probe = loopProbe();
    await sleep(idleMs);
    const idleGaps = probe.stop();
    const idle = await invoke<Latencies>(m, "latencies", { label: "idle" });

    await invoke(m, "window", { label: "mining" });
    probe = loopProbe();
    await dispatchNode(node, "node.generate", { count: 1 });
    await sleep(50);
    const miningGaps = probe.stop();
    const mining = await invoke<Latencies>(m, "latencies", { label: "mining" });

    const block = await node.getBlock((await node.getTip()).hash);
    const mined = (block?.txids.length ?? 0) - 1;
    if (mined !== batch.length) throw new Error(`expected ${batch.length} transactions in the block, got ${mined}`);
    if (!idle.count || !mining.count) {
      throw new Error(`no module calls measured (idle ${idle.count}, mining ${mining.count})`);
    }
    return {
      mining_loop_gap_ms: { value: Math.max(...miningGaps), baseline: percentile(idleGaps, 0.99) },
      mining_call_ms: { value: mining.max, baseline: idle.p99 },
    };
  } finally {
    await bench.close();
  }
}
