/**
 * `deno task bench:events`: event fan-out through the real host, next to raw-bytes baselines measured
 * in the same run.
 *
 * - events/s into one module's handler (NewBlock-sized events, the module counts them in `on()`),
 *   beside raw 256-byte frames into one raw child;
 * - total events/s into 16 modules and the host's CPU µs per event per subscriber, beside the same
 *   for raw frames written to 16 raw children.
 *
 * Each round runs every variant once; ratios are taken inside a round and the median over rounds is
 * printed. The producer applies back-pressure the way a real one can: it waits while any module has
 * more than 2048 events queued.
 *
 *   deno task bench:events [--rounds 3] [--events 200000] [--fanout 16]
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { DevNode, Host, type ModuleLogRecord } from "../mod.ts";
import { spawnRaw, streamRaw } from "./_raw.ts";

const opts = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    events: { type: "string", default: "200000" },
    fanout: { type: "string", default: "16" },
  },
}).values;
const ROUNDS = Number(opts.rounds), EVENTS = Number(opts.events), FANOUT = Number(opts.fanout);
const here = new URL(".", import.meta.url).pathname;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Raw baseline: `subs` raw children, each sent the same `n` 256-byte frames in 64 KiB writes. */
async function raw(subs: number, n: number): Promise<{ perSec: number; cpuPerEventPerSub: number }> {
  const dir = await Deno.makeTempDir();
  const children = [];
  for (let i = 0; i < subs; i++) children.push(await spawnRaw(dir, `raw${i}`, "stream", n));
  const cpu0 = cpuMicros(), t0 = performance.now();
  await Promise.all(children.map((c) => streamRaw(c.conn, n)));
  const seconds = (performance.now() - t0) / 1000, cpu = cpuMicros() - cpu0;
  for (const c of children) c.conn.close();
  await Promise.all(children.map((c) => c.process.output()));
  await Deno.remove(dir, { recursive: true });
  return { perSec: n * subs / seconds, cpuPerEventPerSub: cpu / (n * subs) };
}

/** The real thing: `subs` sandboxed modules under the host, each counting NewBlock in its handler. */
async function viaHost(subs: number, n: number): Promise<{ perSec: number; cpuPerEventPerSub: number }> {
  const dataDir = await Deno.makeTempDir();
  let results = 0, subscribed = 0, done!: () => void, ready!: () => void;
  const allDone = new Promise<void>((r) => done = r);
  const allReady = new Promise<void>((r) => ready = r);
  const counts: number[] = [];
  const host = await Host.create({
    backend: DevNode.open(),
    dataDir,
    onModuleLog: (r: ModuleLogRecord) => {
      if (r.message === "subscribed" && ++subscribed === subs) ready();
      if (r.message === "result") {
        counts.push(Number(r.fields?.count));
        if (++results === subs) done();
      }
    },
  });
  const mods = await Promise.all(
    Array.from(
      { length: subs },
      (_, i) => host.startModule({ name: `bench${i}`, entry: `${here}module_child.ts`, config: { mode: "stream", n } }),
    ),
  );
  await allReady;
  const conns = mods.map((m) => m.session.connection);
  const payload = { hash: "ab".repeat(32), height: 0, prev_hash: "cd".repeat(32), time: 1_700_000_000 };
  const cpu0 = cpuMicros(), t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    payload.height = i;
    host.publish("NewBlock", payload);
    if ((i & 255) === 0) {
      for (const c of conns) {
        while (host.bus.backlog(c) > 2048) await c.drained(256 << 10).then(() => new Promise((r) => setTimeout(r, 0)));
      }
    }
  }
  await allDone;
  const seconds = (performance.now() - t0) / 1000, cpu = cpuMicros() - cpu0;
  if (counts.some((c) => c !== n)) throw new Error(`modules saw ${counts.join(", ")} of ${n} events`);
  for (const c of conns) {
    const s = host.bus.stats(c)!;
    if (s.dropped_total) throw new Error(`NewBlock is lossless, yet ${s.dropped_total} were dropped`);
  }
  await host.shutdown();
  await Deno.remove(dataDir, { recursive: true });
  return { perSec: n * subs / seconds, cpuPerEventPerSub: cpu / (n * subs) };
}

const rows: Record<string, number[]> = {};
const add = (k: string, v: number) => (rows[k] ??= []).push(v);

for (let round = 1; round <= ROUNDS; round++) {
  const r1 = await raw(1, EVENTS * 5);
  const m1 = await viaHost(1, EVENTS);
  add("raw ×1: msgs/s", r1.perSec);
  add("module ×1: events/s into the handler", m1.perSec);
  add("module ×1: host CPU µs/event", m1.cpuPerEventPerSub);
  add("ratio ×1 events/s (raw/module)", r1.perSec / m1.perSec);

  const rN = await raw(FANOUT, EVENTS);
  const mN = await viaHost(FANOUT, EVENTS);
  add(`raw ×${FANOUT}: msgs/s total`, rN.perSec);
  add(`raw ×${FANOUT}: host CPU µs/msg/subscriber`, rN.cpuPerEventPerSub);
  add(`module ×${FANOUT}: events/s total`, mN.perSec);
  add(`module ×${FANOUT}: host CPU µs/event/subscriber`, mN.cpuPerEventPerSub);
  add(`ratio ×${FANOUT} host CPU (module/raw)`, mN.cpuPerEventPerSub / rN.cpuPerEventPerSub);
  console.error(`round ${round}/${ROUNDS} done`);
}

const fmt = (v: number) => v >= 1000 ? Math.round(v).toLocaleString("en-US") : v.toFixed(3);
console.log(`\n@blvm/node event benchmark — ${ROUNDS} rounds, median over rounds (Deno ${Deno.version.deno})\n`);
for (const [k, v] of Object.entries(rows)) {
  console.log(`${k.padEnd(44)} ${fmt(median(v)).padStart(12)}   [${v.map(fmt).join(", ")}]`);
}
const one = median(rows["module ×1: events/s into the handler"]);
const cpu = median(rows[`module ×${FANOUT}: host CPU µs/event/subscriber`]);
console.log(
  `\ntargets: ≥ 300k events/s into one module: ${fmt(one)} ${one >= 300_000 ? "met" : "NOT met"}; ` +
    `host CPU ≤ 0.5 µs/event/subscriber at ×${FANOUT}: ${cpu.toFixed(3)} ${cpu <= 0.5 ? "met" : "NOT met"}`,
);
