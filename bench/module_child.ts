// Benchmark module: runs under the real host and sandbox. Config { subscribe?: boolean, poll_ms?: number }.
// It serves methods the bench invokes (all times in milliseconds):
//   pingpong { n, warmup }    getBlockHeight one at a time         → { median, p99 }
//   pipelined { n, inflight } getBlockHeight with `inflight` open  → { seconds, calls }
//   count { n }               resolves once `n` NewBlock events were counted in the `on()` handler → { count, sum }
//   window { label }          poll mode: calls issued from now on belong to `label`
//   latencies { label }       poll mode: latencies of the completed calls of `label` → { count, p99, max }
// and logs "ready" once its handlers are in place (and it is subscribed, with `subscribe`).
// The older config { mode: "pingpong" | "pipelined" | "stream", n } (results as "result" log records,
// "subscribed" once subscribed) still works for ad-hoc probes.
import { connect } from "@blvm/node/module";

const mod = await connect();
const config = mod.context.config as { subscribe?: boolean; poll_ms?: number; mode?: string; n?: number };
type P = Record<string, number | string>;

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pick = (s: number[], p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * p) - 1))];

async function pingpong(n: number, warmup: number) {
  const rtts: number[] = [];
  for (let i = 0; i < n + warmup; i++) {
    const t = performance.now();
    await mod.api.getBlockHeight();
    if (i >= warmup) rtts.push(performance.now() - t);
  }
  const s = sorted(rtts), mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, p99: pick(s, 0.99) };
}

async function pipelined(n: number, inflight: number) {
  let sent = 0;
  const t = performance.now();
  const worker = async () => {
    while (sent < n) {
      sent++;
      await mod.api.getBlockHeight();
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return { seconds: (performance.now() - t) / 1000, calls: n };
}

mod.handle("pingpong", (p) => pingpong(Number((p as P).n), Number((p as P).warmup)));
mod.handle("pipelined", (p) => pipelined(Number((p as P).n), Number((p as P).inflight)));

let count = 0, sum = 0;
let waiting: { n: number; done: () => void } | undefined;
mod.handle("count", async (params) => {
  const n = Number((params as P).n);
  if (count < n) await new Promise<void>((done) => waiting = { n, done });
  return { count, sum };
});
if (config.subscribe || config.mode === "stream") {
  if (config.mode === "stream") waiting = { n: config.n!, done: () => mod.log.info("result", { count, sum }) };
  mod.on("NewBlock", (e) => {
    count++;
    sum += (e.payload as { height: number }).height;
    if (waiting && count === waiting.n) waiting.done();
  });
  await mod.subscribe(["NewBlock"]);
  if (config.mode === "stream") mod.log.info("subscribed");
}

if (config.poll_ms !== undefined) {
  const pause = config.poll_ms;
  let label = "";
  const latencies = new Map<string, number[]>();
  mod.handle("window", (params) => {
    label = String((params as P).label);
    latencies.set(label, []);
    return null;
  });
  mod.handle("latencies", (params) => {
    const s = sorted(latencies.get(String((params as P).label)) ?? []);
    return { count: s.length, p99: pick(s, 0.99), max: s[s.length - 1] };
  });
  (async () => {
    while (true) {
      const mine = label, t = performance.now();
      await mod.api.getBlockHeight();
      latencies.get(mine)?.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, pause));
    }
  })().catch(() => {/* disconnected at the end */});
}

if (config.mode === "pingpong") mod.log.info("result", await pingpong(config.n!, 1000));
if (config.mode === "pipelined") mod.log.info("result", await pipelined(config.n!, 16));
mod.log.info("ready");
