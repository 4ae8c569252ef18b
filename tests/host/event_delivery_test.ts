// Event delivery end to end, with real module processes (tests/fixtures/events_module.ts) over real
// sockets: typed delivery, subscriptions by category and `*`, unsubscribe, the drop policy under a
// slow module, lossless events, sticky replay and publish permissions.
import { deepEqual, equal, ok } from "node:assert/strict";
import type { ModuleHandle, ModuleSpec } from "../../mod.ts";
import { DEFAULT_CAPABILITIES } from "../../src/protocol/mod.ts";
import { FIXTURES, type TestHost, testHost, waitUntil } from "../_host_helpers.ts";

const ENTRY = `${FIXTURES}events_module.ts`;
const WITH_MEMPOOL = [...DEFAULT_CAPABILITIES, "read_mempool"];
/** The fixture's "done" marker: a module event, so lossless; everything published before it arrives first. */
const DONE = "test.Done";
const TIMEOUT = 20_000;

/** What the fixture logs as "summary" (and returns from its `stats` method, plus the records). */
interface Summary {
  counts: Record<string, number>;
  seqs: Record<string, number[]>;
  dropped_total: number;
  dropped_notices: number;
  gap_missed: number;
  gaps: number;
  gaps_missed_sdk: number;
  blocks: { seq: number; height: number; hash: string; replay: boolean }[];
}
interface Stats extends Summary {
  records: { type: string; seq: number; replay: boolean; source: string | null; payload: Record<string, unknown> }[];
}
/** An invocation answer of the fixture. */
interface Answer {
  ok: boolean;
  result?: unknown;
  code?: string;
  data?: Record<string, unknown> | null;
}

/** Start the fixture and wait until its start-up subscriptions are done. */
async function start(
  t: TestHost,
  name: string,
  config: Record<string, unknown>,
  spec: Partial<ModuleSpec> = {},
): Promise<ModuleHandle> {
  const handle = await t.host.startModule({ name, entry: ENTRY, config, ...spec });
  await t.waitForLog((r) => r.module === name && r.message === "ready", TIMEOUT);
  return handle;
}

/** The `n`th (1-based) "summary" a module logged. */
async function summary(t: TestHost, name: string, n = 1): Promise<Summary> {
  const mine = (r: { module: string; message: string }) => r.module === name && r.message === "summary";
  const rec = await t.waitForLog((r) => mine(r) && t.logs.filter(mine).indexOf(r) === n - 1, TIMEOUT);
  return rec.fields as unknown as Summary;
}

const stats = async (h: ModuleHandle) => await h.session.invoke("stats", {}) as Stats;
const invoke = async (h: ModuleHandle, method: string, params: unknown) =>
  await h.session.invoke(method, params) as Answer;

/** Resolve once `cond()` holds, checking every few milliseconds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const wake = new Set<() => void>();
  const timer = setInterval(() => wake.forEach((w) => w()), 5);
  try {
    await waitUntil(wake, () => cond() || undefined, TIMEOUT, () => `Timed out waiting for ${what}`);
  } finally {
    clearInterval(timer);
  }
}

/** A valid MempoolTransactionAdded payload, distinct for each `i`. */
const txAdded = (i: number) => ({
  tx_hash: i.toString(16).padStart(64, "0"),
  fee_rate: 2.5,
  vsize: 100,
  fee_sats: 250,
  mempool_size: i + 1,
});

Deno.test("A module subscribed to NewBlock receives the mined blocks, typed, in order, with consecutive seq", async () => {
  await using t = await testHost();
  await start(t, "blocks", { subscribe: [{ types: ["NewBlock", DONE] }] });
  const mined = t.backend.dev.generate(3);
  t.host.publish(DONE, {});
  const s = await summary(t, "blocks");
  deepEqual(s.blocks, mined.map((h, i) => ({ seq: i + 1, height: h.height, hash: h.hash, replay: false })));
  deepEqual(mined.map((h) => h.height), [1, 2, 3]);
  equal(s.gaps, 0);
});

Deno.test("Subscribing by category and `*` follows the module's capabilities", async () => {
  await using t = await testHost();
  t.backend.dev.generate(101); // a mature coinbase for the wallet, before anyone subscribes
  await start(t, "mp", { subscribe: [{ categories: ["mempool"], types: [DONE] }] }, { capabilities: WITH_MEMPOOL });
  const all = await start(t, "all", {
    subscribe: [{ types: ["*"] }, { categories: ["mempool"] }, { types: ["MempoolTransactionAdded"] }],
  });
  // Without read_mempool, asking for mempool events explicitly is refused.
  const refused = t.logs.filter((r) => r.module === "all" && r.message === "subscribe failed");
  deepEqual(refused.map((r) => [r.fields?.index, r.fields?.code]), [[1, "PERMISSION_DENIED"], [
    2,
    "PERMISSION_DENIED",
  ]]);
  deepEqual(refused.map((r) => (r.fields?.data as Record<string, unknown>).capability), [
    "read_mempool",
    "read_mempool",
  ]);
  // The refusals added nothing: `*` alone.
  const host = t.host.bus.stats(all.session.connection)!;
  deepEqual([host.types, host.categories], [["*"], []]);

  const sent = t.backend.dev.send(t.backend.wallet.newAddress(), 50_000, 3);
  const entry = (await t.backend.getMempoolEntry(sent.txid))!;
  t.backend.dev.generate(1);
  t.host.publish(DONE, {});
  const mp = await summary(t, "mp");
  const star = await summary(t, "all");
  // The mined block moves the next-block fee estimate from the 1 sat/vB floor to the 3 sat/vB it confirmed.
  deepEqual(mp.counts, {
    NewTransaction: 1,
    MempoolTransactionAdded: 1,
    MempoolTransactionRemoved: 1,
    FeeRateChanged: 1,
    [DONE]: 1,
  });
  deepEqual(star.counts, {
    BlockTemplateUpdated: 1,
    BlockValidationStarted: 1,
    BlockValidationCompleted: 1,
    NewBlock: 1,
    BlockMined: 1,
    [DONE]: 1,
  });
  const added = (await stats(t.host.module("mp")!)).records.find((r) => r.type === "MempoolTransactionAdded")!;
  deepEqual(added.payload, {
    tx_hash: sent.txid,
    fee_rate: entry.fee_rate,
    vsize: entry.vsize,
    fee_sats: entry.fee_sats,
    mempool_size: 1,
  });
});

Deno.test("After unsubscribe no more events arrive, and a later re-subscribe is not a gap", async () => {
  await using t = await testHost();
  const h = await start(t, "unsub", { subscribe: [{ types: ["NewBlock", DONE] }] });
  t.backend.dev.generate(3);
  t.host.publish(DONE, {});
  equal((await summary(t, "unsub", 1)).counts.NewBlock, 3);

  deepEqual(await invoke(h, "unsub", { types: ["NewBlock"] }), { ok: true, result: { types: [DONE], categories: [] } });
  t.backend.dev.generate(3);
  // A round trip through the same queue: anything published before the marker arrives before it.
  t.host.publish(DONE, {});
  const after = await summary(t, "unsub", 2);
  equal(after.counts.NewBlock, 3);
  equal(t.host.bus.isSubscribed(h.session.connection, "NewBlock"), false);

  // Subscribed again, it sees seq 7 after seq 3: the SDK forgot the old seq at unsubscribe.
  equal((await invoke(h, "sub", { types: ["NewBlock"] })).ok, true);
  t.backend.dev.generate(1);
  t.host.publish(DONE, {});
  const again = await summary(t, "unsub", 3);
  deepEqual(again.seqs.NewBlock, [1, 2, 3, 7]);
  equal(again.gaps, 0);
});

Deno.test("A slow module with a small queue loses the oldest lossy events and is told exactly how many", async () => {
  await using t = await testHost();
  const published = 5_000;
  const h = await start(t, "slow", { busy_ms: 2, subscribe: [{ types: ["MempoolTransactionAdded", DONE] }] }, {
    capabilities: WITH_MEMPOOL,
    eventQueue: { maxQueued: 64, highWater: 4096 },
  });
  for (let i = 0; i < published; i++) t.host.publish("MempoolTransactionAdded", txAdded(i));
  t.host.publish(DONE, {});
  const s = await summary(t, "slow");
  const received = s.counts.MempoolTransactionAdded;
  ok(s.dropped_total > 0 && s.dropped_notices >= 1, `dropped ${s.dropped_total} in ${s.dropped_notices} notices`);
  equal(received + s.dropped_total, published);
  // The sequence gaps the module saw account for exactly the drops it was told about.
  equal(s.gap_missed, s.dropped_total);
  equal(s.gaps_missed_sdk, s.dropped_total);
  // Drop-oldest: the newest event always survives.
  const last = (await stats(h)).records.filter((r) => r.type === "MempoolTransactionAdded").at(-1);
  equal(last?.seq, published);
  // The host counted the same.
  const host = t.host.bus.stats(h.session.connection)!;
  equal(host.dropped_total, s.dropped_total);
  deepEqual(host.dropped, { MempoolTransactionAdded: s.dropped_total });
  equal(host.delivered, received + 1);
  equal(host.overflowed, false);
  equal(host.queued, 0);
});

Deno.test("A slow module is told of its drops ahead of its backlog, not after it", async () => {
  await using t = await testHost();
  const h = await start(t, "slow", { busy_ms: 2, subscribe: [{ types: ["MempoolTransactionAdded", DONE] }] }, {
    capabilities: WITH_MEMPOOL,
    eventQueue: { maxQueued: 64, highWater: 4096 },
  });
  for (let i = 0; i < 3_000; i++) t.host.publish("MempoolTransactionAdded", txAdded(i));
  t.host.publish(DONE, {});
  await summary(t, "slow");
  const records = (await stats(h)).records;
  // The first drop takes the oldest queued event: the first gap in the sequence. Everything after the gap
  // was still queued when the host counted that drop, so the notice must come before it.
  const txs = records.map((r, i) => ({ ...r, i })).filter((r) => r.type === "MempoolTransactionAdded");
  const afterGap = txs.find((r, k) => k > 0 && r.seq !== txs[k - 1].seq + 1);
  const notice = records.findIndex((r) => r.type === "EventsDropped");
  ok(afterGap, "events were dropped within the recorded window");
  ok(notice >= 0 && notice < afterGap.i, `notice at record ${notice}, first event after the gap at ${afterGap.i}`);
});

Deno.test("A slow module does not hold back a fast one, and still gets every lossless event", async () => {
  await using t = await testHost();
  const types = ["MempoolTransactionAdded", "NewBlock", DONE];
  const fast = await start(t, "fast", { subscribe: [{ types }] }, { capabilities: WITH_MEMPOOL });
  await start(t, "slow", { busy_ms: 2, subscribe: [{ types }] }, {
    capabilities: WITH_MEMPOOL,
    eventQueue: { maxQueued: 64, highWater: 4096 },
  });
  const batches = 20, perBatch = 1_000, published = batches * perBatch;
  const conn = fast.session.connection;
  const mined = [];
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < perBatch; i++) t.host.publish("MempoolTransactionAdded", txAdded(b * perBatch + i));
    mined.push(...t.backend.dev.generate(1));
    // Paced by the fast module only: its default queue (10 000 events) never fills.
    await until(() => t.host.bus.stats(conn)!.queued === 0 && conn.bufferedBytes === 0, "the fast module's queue");
  }
  t.host.publish(DONE, {});
  const f = await summary(t, "fast");
  const s = await summary(t, "slow");
  const summaries = t.logs.filter((r) => r.message === "summary").map((r) => r.module);
  deepEqual(summaries, ["fast", "slow"], "the fast module finished first");

  equal(f.counts.MempoolTransactionAdded, published);
  equal(f.dropped_total, 0);
  equal(f.gaps, 0);
  ok(s.dropped_total > 0, "the slow module dropped events");
  equal(s.counts.MempoolTransactionAdded + s.dropped_total, published);
  equal(s.gap_missed, s.dropped_total);
  // Lossless: every NewBlock, in order, on both.
  const blocks = mined.map((h, i) => ({ seq: i + 1, height: h.height, hash: h.hash, replay: false }));
  deepEqual(f.blocks, blocks);
  deepEqual(s.blocks, blocks);
  const host = t.host.bus.stats(t.host.module("slow")!.session.connection)!;
  equal(host.dropped.NewBlock, undefined);
  equal(host.dropped_total, s.dropped_total);
  equal(host.overflowed, false);
});

Deno.test("Sticky events published before a module starts are replayed to it, marked replay, latest per key", async () => {
  await using t = await testHost();
  const config = { changed_sections: ["modules"], config_json: '{"modules":{}}' };
  t.host.publish("ConfigLoaded", config, { sticky: "" });
  t.host.publish("ModuleLoaded", { name: "a", version: "1.0.0", lazy: false }, { sticky: "a" });
  t.host.publish("ModuleLoaded", { name: "b", version: "2.0.0", lazy: true }, { sticky: "b" });
  t.host.publish("ModuleLoaded", { name: "a", version: "1.1.0", lazy: false }, { sticky: "a" });
  t.host.publish("NewBlock", { hash: "00".repeat(32), height: 1, prev_hash: "00".repeat(32), time: 1 });
  const h = await start(t, "late", { subscribe: [{ types: ["ConfigLoaded", "ModuleLoaded", "NewBlock", DONE] }] });
  // Live after the replay: not marked.
  t.host.publish("ModuleLoaded", { name: "c", version: "3.0.0", lazy: false }, { sticky: "c" });
  t.host.publish(DONE, {});
  await summary(t, "late");
  const records = (await stats(h)).records.filter((r) => r.type !== DONE).map((
    r,
  ) => [r.type, r.seq, r.replay, r.payload]);
  deepEqual(records, [
    ["ConfigLoaded", 1, true, config],
    ["ModuleLoaded", 3, true, { name: "a", version: "1.1.0", lazy: false }],
    ["ModuleLoaded", 3, true, { name: "b", version: "2.0.0", lazy: true }],
    ["ModuleLoaded", 4, false, { name: "c", version: "3.0.0", lazy: false }],
  ]);
  // Replays carry the type's current seq, so the live event after them is no gap.
  equal((await stats(h)).gaps, 0);
});

Deno.test("Publishing is refused for node events, other namespaces, undeclared types and without the capability", async () => {
  await using t = await testHost();
  const rx = await start(t, "rx", { subscribe: [{ types: ["evmod.Hello", DONE] }] });
  const pub = await start(t, "evmod", {}, {
    capabilities: [...DEFAULT_CAPABILITIES, "publish_events"],
    publishes: ["evmod.Hello"],
  });
  const nopub = await start(t, "nopub", {}, { publishes: ["nopub.Hello"] });
  const block = { hash: "00".repeat(32), height: 1, prev_hash: "00".repeat(32), time: 1 };
  for (const [type, payload] of [["NewBlock", block], ["other.Thing", {}], ["evmod.Nope", {}]] as const) {
    const a = await invoke(pub, "publish", { type, payload });
    equal(a.code, "PERMISSION_DENIED", `${type}: ${JSON.stringify(a)}`);
    equal(a.data?.event, type);
  }
  const denied = await invoke(nopub, "publish", { type: "nopub.Hello", payload: {} });
  equal(denied.code, "PERMISSION_DENIED");
  equal(denied.data?.capability, "publish_events");

  // The connections stayed open: a NodeAPI call and an allowed publish still work.
  deepEqual(await invoke(pub, "height", {}), { ok: true, result: 0 });
  deepEqual(await invoke(nopub, "height", {}), { ok: true, result: 0 });
  deepEqual(await invoke(pub, "publish", { type: "evmod.Hello", payload: { n: 1 } }), {
    ok: true,
    result: { seq: 1, delivered: 1 },
  });
  t.host.publish(DONE, {});
  await summary(t, "rx");
  const hello = (await stats(rx)).records.filter((r) => r.type === "evmod.Hello");
  deepEqual(hello.map((r) => [r.seq, r.source, r.payload]), [[1, "evmod", { n: 1 }]]);
  equal(t.host.module("evmod")?.session.stats.denied, 0);
  equal(t.host.module("nopub")?.session.stats.denied, 1);
});

// Regression test: EventsDropped is numbered per module, so its seq never shows a false gap.
Deno.test({
  name: "Two slow modules each see gaps for exactly the events they were told were dropped",
  fn: async () => {
    await using t = await testHost();
    const names = ["slow1", "slow2"];
    for (const name of names) {
      await start(t, name, { busy_ms: 2, subscribe: [{ types: ["MempoolTransactionAdded", DONE] }] }, {
        capabilities: WITH_MEMPOOL,
        eventQueue: { maxQueued: 64, highWater: 4096 },
      });
    }
    // Several bursts, so that each module gets several notices.
    for (let b = 0; b < 4; b++) {
      for (let i = 0; i < 1_000; i++) t.host.publish("MempoolTransactionAdded", txAdded(b * 1_000 + i));
      await new Promise((r) => setTimeout(r, 20));
    }
    t.host.publish(DONE, {});
    for (const name of names) {
      const s = await summary(t, name);
      ok(s.dropped_notices >= 2, `${name}: ${s.dropped_notices} notices`);
      equal(s.counts.MempoolTransactionAdded + s.dropped_total, 4_000);
      equal(s.gap_missed, s.dropped_total, `${name}: gaps ${JSON.stringify(s.seqs.EventsDropped)}`);
    }
  },
});
