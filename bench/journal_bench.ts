/**
 * `deno task bench:journal`: events/s into one module's handler with the delivery journal on (every
 * NewBlock appended to SQLite, the module reporting what it processed) against the journal off, both
 * measured in the same run, round by round. The target: the journal costs at most 15 %.
 *
 *   deno task bench:journal [--rounds 5] [--events 100000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DevNode, Host, type ModuleLogRecord } from "../mod.ts";

const opts = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "5" }, events: { type: "string", default: "100000" } },
}).values;
const ROUNDS = Number(opts.rounds), EVENTS = Number(opts.events);
const here = new URL(".", import.meta.url).pathname;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** NewBlock-sized events into one module counting them in its handler; events/s and the journal's size. */
async function run(journal: boolean, n: number): Promise<{ perSec: number; journaled: number }> {
  const dataDir = await Deno.makeTempDir();
  let ready!: () => void, done!: (count: number) => void;
  const subscribed = new Promise<void>((r) => ready = r);
  const finished = new Promise<number>((r) => done = r);
  const backend = DevNode.open();
  const host = await Host.create({
    backend,
    dataDir,
    journal: journal ? {} : false,
    onModuleLog: (r: ModuleLogRecord) => {
      if (r.message === "subscribed") ready();
      if (r.message === "result") done(Number(r.fields?.count));
    },
  });
  const m = await host.startModule({ name: "bench", entry: `${here}module_child.ts`, config: { mode: "stream", n } });
  await subscribed;
  const conn = m.session.connection;
  const payload = { hash: "ab".repeat(32), height: 0, prev_hash: "cd".repeat(32), time: 1_700_000_000 };
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    payload.height = i;
    host.publish("NewBlock", payload);
    if ((i & 255) === 0) {
      while (host.bus.backlog(conn) > 2048) {
        await conn.drained(256 << 10).then(() => new Promise((r) => setTimeout(r, 0)));
      }
    }
  }
  const count = await finished;
  const seconds = (performance.now() - t0) / 1000;
  if (count !== n) throw new Error(`the module saw ${count} of ${n} events`);
  const journaled = host.journal ? host.journal.lastPos : 0;
  await host.shutdown();
  await backend.close();
  await Deno.remove(dataDir, { recursive: true });
  return { perSec: n / seconds, journaled };
}

const off: number[] = [], on: number[] = [], ratio: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const a = await run(false, EVENTS);
  const b = await run(true, EVENTS);
  if (b.journaled !== EVENTS) throw new Error(`the journal kept ${b.journaled} of ${EVENTS} events`);
  off.push(a.perSec);
  on.push(b.perSec);
  ratio.push(b.perSec / a.perSec);
  console.error(`round ${round}/${ROUNDS}: off ${Math.round(a.perSec)}/s, on ${Math.round(b.perSec)}/s`);
}
const fmt = (v: number) => v >= 1000 ? Math.round(v).toLocaleString("en-US") : v.toFixed(3);
console.log(
  `\n@blvm/node journal benchmark — ${ROUNDS} rounds of ${EVENTS} events, medians (Deno ${Deno.version.deno})\n`,
);
console.log(
  `${"journal off: events/s into the handler".padEnd(44)} ${fmt(median(off)).padStart(12)}   [${
    off.map(fmt).join(", ")
  }]`,
);
console.log(
  `${"journal on: events/s into the handler".padEnd(44)} ${fmt(median(on)).padStart(12)}   [${on.map(fmt).join(", ")}]`,
);
console.log(`${"ratio on/off".padEnd(44)} ${fmt(median(ratio)).padStart(12)}   [${ratio.map(fmt).join(", ")}]`);
const r = median(ratio);
console.log(
  `\ntarget: the journal costs at most 15 % (ratio ≥ 0.85): ${r.toFixed(3)} ${r >= 0.85 ? "met" : "NOT met"}`,
);
