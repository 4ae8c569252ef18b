/**
 * `deno task bench`: NodeAPI call round trip (median, p99), calls/s with 16 in flight, and one-way
 * events/s into one module, each next to a raw-bytes Deno Unix-socket baseline measured in the same
 * run. Rounds alternate baseline and module; ratios are taken inside each round, and the median over
 * rounds is printed.
 *
 *   deno task bench [--rounds 5] [--calls 20000] [--events 200000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DevNode, Host, type ModuleLogRecord } from "../mod.ts";
import { spawnRaw, streamRaw } from "./_raw.ts";

const opts = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    calls: { type: "string", default: "20000" },
    events: { type: "string", default: "200000" },
  },
}).values;
const ROUNDS = Number(opts.rounds), CALLS = Number(opts.calls), EVENTS = Number(opts.events);
const here = new URL(".", import.meta.url).pathname;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

// ---- Raw baseline: a host-side echo/stream server and a child speaking bare length-prefixed bytes.
async function raw(mode: "pingpong" | "pipelined" | "stream", n: number): Promise<Record<string, number | number[]>> {
  const dir = await Deno.makeTempDir();
  const { conn, process: child } = await spawnRaw(dir, "raw", mode, n);
  const out = child.output();
  let t0 = 0, t1 = 0;
  if (mode === "stream") {
    t0 = performance.now();
    await streamRaw(conn, n);
    t1 = performance.now();
  } else {
    const buf = new Uint8Array(256 * 1024);
    while (true) {
      const r = await conn.read(buf).catch(() => null);
      if (r === null) break;
      for (let off = 0; off < r;) off += await conn.write(buf.subarray(off, r)); // echo whole frames back
    }
  }
  const result = JSON.parse(new TextDecoder().decode((await out).stdout));
  try {
    conn.close();
  } catch { /* closed by the child */ }
  await Deno.remove(dir, { recursive: true });
  if (mode === "stream") return { eventsPerSec: n / ((t1 - t0) / 1000), count: result.count };
  return result;
}

// ---- The real thing: a sandboxed module under the host.
async function viaHost(mode: "pingpong" | "pipelined" | "stream", n: number): Promise<Record<string, unknown>> {
  const dataDir = await Deno.makeTempDir();
  let resolve!: (r: ModuleLogRecord) => void, subscribed!: () => void;
  const result = new Promise<ModuleLogRecord>((r) => resolve = r);
  const ready = new Promise<void>((r) => subscribed = r);
  const host = await Host.create({
    backend: DevNode.open(),
    dataDir,
    // The default 10 000 requests/s per module would cap the pipelined run; the bench measures the IPC path.
    rateLimit: null,
    onModuleLog: (r) => r.message === "result" ? resolve(r) : r.message === "subscribed" ? subscribed() : undefined,
  });
  const m = await host.startModule({ name: "bench", entry: `${here}module_child.ts`, config: { mode, n } });
  let out: Record<string, unknown>;
  if (mode === "stream") {
    await ready;
    const payload = { hash: "ab".repeat(32), height: 0, prev_hash: "cd".repeat(32), time: 1_700_000_000 };
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      payload.height = i;
      host.publish("NewBlock", payload);
      // Back-pressure as a real producer applies it: wait while more than 2048 events are queued.
      while ((i & 255) === 0 && host.bus.backlog(m.session.connection) > 2048) {
        await m.session.connection.drained(256 << 10).then(() => new Promise((r) => setTimeout(r, 0)));
      }
    }
    const r = await result;
    const seconds = (performance.now() - t0) / 1000;
    if (r.fields?.count !== n) throw new Error(`module saw ${r.fields?.count} of ${n} events`);
    out = { eventsPerSec: n / seconds };
  } else {
    out = (await result).fields ?? {};
  }
  await host.shutdown();
  await Deno.remove(dataDir, { recursive: true });
  return out;
}

const rows: Record<string, number[]> = {};
const add = (k: string, v: number) => (rows[k] ??= []).push(v);

for (let round = 1; round <= ROUNDS; round++) {
  const rawPP = await raw("pingpong", CALLS);
  const modPP = await viaHost("pingpong", CALLS);
  const rawRtt = rawPP.rtts as number[], modMedian = modPP.median as number, modP99 = modPP.p99 as number;
  add("raw rtt median µs", median(rawRtt) * 1000);
  add("raw rtt p99 µs", pct(rawRtt, 0.99) * 1000);
  add("call rtt median µs", modMedian * 1000);
  add("call rtt p99 µs", modP99 * 1000);
  add("ratio rtt median (call/raw)", modMedian / median(rawRtt));

  const rawPl = await raw("pipelined", CALLS * 5);
  const modPl = await viaHost("pipelined", CALLS * 5);
  const rawCps = (rawPl.calls as number) / (rawPl.seconds as number);
  const modCps = (modPl.calls as number) / (modPl.seconds as number);
  add("raw 16-in-flight round trips/s", rawCps);
  add("calls/s, 16 in flight", modCps);
  add("ratio calls/s (raw/call)", rawCps / modCps);

  const rawSt = await raw("stream", EVENTS * 5);
  const modSt = await viaHost("stream", EVENTS);
  add("raw one-way 256 B msgs/s", rawSt.eventsPerSec as number);
  add("events/s into one module", modSt.eventsPerSec as number);
  add("ratio events/s (raw/module)", (rawSt.eventsPerSec as number) / (modSt.eventsPerSec as number));
  console.error(`round ${round}/${ROUNDS} done`);
}

const fmt = (v: number) => v >= 1000 ? Math.round(v).toLocaleString("en-US") : v.toFixed(2);
console.log(`\n@blvm/node IPC benchmark — ${ROUNDS} rounds, median over rounds (Deno ${Deno.version.deno})\n`);
for (const [k, v] of Object.entries(rows)) {
  console.log(`${k.padEnd(34)} ${fmt(median(v)).padStart(12)}   [${v.map(fmt).join(", ")}]`);
}
const rtt = median(rows["ratio rtt median (call/raw)"]);
const cps = median(rows["calls/s, 16 in flight"]);
const eps = median(rows["events/s into one module"]);
console.log(
  `\ntargets: call RTT ≤ 1.3× raw: ${rtt.toFixed(2)}× ${rtt <= 1.3 ? "met" : "NOT met"}; ` +
    `≥ 100k calls/s with 16 in flight: ${fmt(cps)} ${cps >= 100_000 ? "met" : "NOT met"}; ` +
    `≥ 300k events/s: ${fmt(eps)} ${eps >= 300_000 ? "met" : "NOT met"}`,
);
