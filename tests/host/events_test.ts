import assert from "node:assert/strict";
import { EventBus, type Subscriber } from "../../mod.ts";
import { decode, EVENT_CATEGORIES, type EventMessage } from "../../src/protocol/mod.ts";

/** A subscriber that decodes (and copies) every frame while it is valid, i.e. during the call. */
interface Recorder extends Subscriber {
  /** The decoded messages, in order. */
  msgs: EventMessage[];
  /** Copies of the raw frames, in order. */
  raw: Uint8Array[];
  /** Writable stand-in for the connection's unwritten bytes. */
  buffered: number;
}

function recorder(): Recorder {
  const r: Recorder = {
    msgs: [],
    raw: [],
    buffered: 0,
    sendFrame(f: Uint8Array) {
      r.raw.push(f.slice());
      r.msgs.push(decode(f.subarray(4)) as EventMessage);
      return true;
    },
    get bufferedBytes() {
      return r.buffered;
    },
  };
  return r;
}

const types = (r: Recorder) => r.msgs.map((m) => m.type);

Deno.test("EventBus delivers by type, and only to subscribers of that type", () => {
  const bus = new EventBus();
  const a = recorder(), b = recorder();
  assert.deepEqual(bus.subscribe(a, { types: ["NewBlock"] }), { types: ["NewBlock"], categories: [] });
  bus.subscribe(b, { types: ["ChainReorg"] });
  assert.deepEqual(bus.publish("NewBlock", { height: 7 }), { seq: 1, delivered: 1 });
  assert.deepEqual(a.msgs, [{ kind: "event", type: "NewBlock", seq: 1, payload: { height: 7 } }]);
  assert.equal(b.msgs.length, 0);
  // The frame is a 4-byte big-endian length followed by the body.
  const f = a.raw[0];
  assert.equal(new DataView(f.buffer, f.byteOffset).getUint32(0), f.length - 4);
});

Deno.test("EventBus delivers by category: mempool gets mempool events, not NewBlock", () => {
  const bus = new EventBus();
  const a = recorder();
  assert.deepEqual(bus.subscribe(a, { categories: ["mempool"] }), { types: [], categories: ["mempool"] });
  bus.publish("NewBlock", { height: 1 });
  bus.publish("MempoolTransactionAdded", { n: 1 });
  bus.publish("MempoolCleared", { cleared_count: 3 });
  assert.deepEqual(types(a), ["MempoolTransactionAdded", "MempoolCleared"]);
  assert.equal(bus.isSubscribed(a, "MempoolTransactionAdded"), true);
  assert.equal(bus.isSubscribed(a, "NewBlock"), false);
});

Deno.test("EventBus `*` gets every visible category's events and module-defined types", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.subscribe(a, { types: ["*"] });
  const expected: string[] = [];
  for (const [category, list] of Object.entries(EVENT_CATEGORIES)) {
    if (category === "delivery") continue;
    for (const t of list) {
      bus.publish(t, { t });
      expected.push(t);
    }
  }
  bus.publish("mesh.Route", { hop: 1 });
  expected.push("mesh.Route");
  assert.deepEqual(types(a), expected);
  assert.equal(bus.isSubscribed(a, "other.Thing"), true);
  assert.ok(expected.length > 20);
});

Deno.test("EventBus delivers once to a subscriber that matches by type, category and `*`", () => {
  const bus = new EventBus();
  const a = recorder();
  const set = bus.subscribe(a, { types: ["*", "NewBlock", "mesh.Route"], categories: ["blockchain"] });
  assert.deepEqual(set, { types: ["*", "NewBlock", "mesh.Route"], categories: ["blockchain"] });
  assert.equal(bus.publish("NewBlock", { height: 1 }).delivered, 1);
  assert.equal(bus.publish("mesh.Route", {}).delivered, 1);
  assert.deepEqual(types(a), ["NewBlock", "mesh.Route"]);
  // Subscribing again to the same things changes nothing.
  bus.subscribe(a, { types: ["NewBlock", "NewBlock"], categories: ["blockchain"] });
  bus.publish("NewBlock", { height: 2 });
  assert.equal(a.msgs.length, 3);
});

Deno.test("EventBus.unsubscribe() by type stops that type only", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.subscribe(a, { types: ["NewBlock", "ChainReorg"] });
  assert.deepEqual(bus.unsubscribe(a, { types: ["NewBlock"] }), { types: ["ChainReorg"], categories: [] });
  assert.equal(bus.publish("NewBlock", {}).delivered, 0);
  assert.equal(bus.publish("ChainReorg", {}).delivered, 1);
  assert.deepEqual(types(a), ["ChainReorg"]);
});

Deno.test("EventBus.unsubscribe() by category keeps an explicitly subscribed type of it", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.subscribe(a, { types: ["MempoolCleared"], categories: ["mempool", "blockchain"] });
  assert.deepEqual(bus.unsubscribe(a, { categories: ["mempool"] }), {
    types: ["MempoolCleared"],
    categories: ["blockchain"],
  });
  bus.publish("MempoolTransactionAdded", {});
  bus.publish("MempoolCleared", {});
  bus.publish("NewBlock", {});
  assert.deepEqual(types(a), ["MempoolCleared", "NewBlock"]);
});

Deno.test("EventBus.unsubscribe() of `*` stops catalog and module-defined types, keeping the rest", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.subscribe(a, { types: ["*", "ChainReorg"] });
  assert.deepEqual(bus.unsubscribe(a, { types: ["*"] }), { types: ["ChainReorg"], categories: [] });
  assert.equal(bus.publish("NewBlock", {}).delivered, 0);
  assert.equal(bus.publish("mesh.Route", {}).delivered, 0);
  assert.equal(bus.publish("ChainReorg", {}).delivered, 1);
  assert.deepEqual(types(a), ["ChainReorg"]);
  assert.equal(bus.isSubscribed(a, "mesh.Route"), false);
});

Deno.test("EventBus.unsubscribe() of an unknown subscriber returns empty sets", () => {
  const bus = new EventBus();
  assert.deepEqual(bus.unsubscribe(recorder(), { types: ["NewBlock"] }), { types: [], categories: [] });
});

Deno.test("EventBus.attach() with canSee hiding mempool: `*` skips mempool events", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.attach(a, { canSee: (c) => c !== "mempool" });
  bus.subscribe(a, { types: ["*"] });
  bus.publish("MempoolTransactionAdded", {});
  bus.publish("NewBlock", {});
  bus.publish("mesh.Route", {});
  assert.deepEqual(types(a), ["NewBlock", "mesh.Route"]);
  assert.equal(bus.isSubscribed(a, "MempoolCleared"), false);
  // attach() a second time does not reset the subscriber.
  bus.attach(a);
  bus.publish("NewBlock", {});
  assert.equal(a.msgs.length, 3);
});

Deno.test("EventBus seq counts per type, shared across subscribers", () => {
  const bus = new EventBus();
  const a = recorder(), b = recorder();
  bus.subscribe(a, { types: ["NewBlock", "ChainReorg"] });
  bus.subscribe(b, { categories: ["blockchain"] });
  assert.equal(bus.publish("NewBlock", {}).seq, 1);
  assert.equal(bus.publish("NewBlock", {}).seq, 2);
  assert.equal(bus.publish("ChainReorg", {}).seq, 1);
  assert.equal(bus.publish("NewBlock", {}).seq, 3);
  const seqs = (r: Recorder) => r.msgs.map((m) => `${m.type}:${m.seq}`);
  assert.deepEqual(seqs(a), ["NewBlock:1", "NewBlock:2", "ChainReorg:1", "NewBlock:3"]);
  assert.deepEqual(seqs(b), seqs(a));
});

Deno.test("EventBus counts seq with no subscribers, so a later subscriber sees the real number", () => {
  const bus = new EventBus();
  assert.deepEqual(bus.publish("NewBlock", {}), { seq: 1, delivered: 0 });
  const a = recorder();
  bus.subscribe(a, { types: ["NewBlock"] });
  assert.deepEqual(bus.publish("NewBlock", {}), { seq: 2, delivered: 1 });
  assert.equal(a.msgs[0].seq, 2);
});

Deno.test("EventBus sends the same bytes to every subscriber", () => {
  const bus = new EventBus();
  const subs = [recorder(), recorder(), recorder()];
  bus.subscribe(subs[0], { types: ["NewBlock"] });
  bus.subscribe(subs[1], { categories: ["blockchain"] });
  bus.subscribe(subs[2], { types: ["*"] });
  assert.equal(bus.publish("NewBlock", { big: "x".repeat(10_000) }).delivered, 3);
  for (const s of subs) assert.equal(s.raw.length, 1);
  assert.deepEqual(subs[1].raw[0], subs[0].raw[0]);
  assert.deepEqual(subs[2].raw[0], subs[0].raw[0]);
  assert.equal((subs[2].msgs[0].payload as { big: string }).big.length, 10_000);
});

// Regression test for a bug found in review.
Deno.test({
  name: "EventBus sends the right bytes to later subscribers when an earlier one flushes a drop notice",
  fn() {
    const bus = new EventBus();
    const slow = recorder();
    const fast = recorder();
    bus.attach(slow, { limits: { maxQueued: 1, highWater: 10 } });
    bus.subscribe(slow, { types: ["MempoolTransactionAdded"] });
    bus.subscribe(fast, { types: ["MempoolTransactionAdded"] });
    slow.buffered = 100;
    bus.publish("MempoolTransactionAdded", { n: 1 });
    bus.publish("MempoolTransactionAdded", { n: 2 }); // drops n:1, queues the notice
    slow.buffered = 0; // drained, but nobody pumped yet
    bus.publish("MempoolTransactionAdded", { n: 3 }); // slow pumps the notice, then fast is offered the frame
    assert.deepEqual(fast.msgs.map((m) => m.payload), [{ n: 1 }, { n: 2 }, { n: 3 }]);
    assert.deepEqual(types(slow), ["EventsDropped", "MempoolTransactionAdded"]);
  },
});

Deno.test("EventBus carries `source` when given, and omits it otherwise", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.subscribe(a, { types: ["mesh.Route"] });
  bus.publish("mesh.Route", { hop: 1 }, { source: "mesh" });
  bus.publish("mesh.Route", { hop: 2 });
  assert.equal(a.msgs[0].source, "mesh");
  assert.equal("source" in a.msgs[1], false);
  assert.equal("replay" in a.msgs[0], false);
});

Deno.test("EventBus sticky: a late subscriber gets one replay per key, at the current seq", () => {
  const bus = new EventBus();
  bus.publish("ModuleLoaded", { name: "a" }, { sticky: "a" });
  bus.publish("ModuleLoaded", { name: "b" }, { sticky: "b" });
  bus.publish("ModuleLoaded", { name: "x" }); // not sticky
  const late = recorder();
  bus.subscribe(late, { categories: ["modules"] });
  assert.deepEqual(late.msgs, [
    { kind: "event", type: "ModuleLoaded", seq: 3, payload: { name: "a" }, replay: true },
    { kind: "event", type: "ModuleLoaded", seq: 3, payload: { name: "b" }, replay: true },
  ]);
  // Subscribing again (nothing newly gained) does not replay again.
  bus.subscribe(late, { types: ["ModuleLoaded"] });
  assert.equal(late.msgs.length, 2);
  // The next live event follows on.
  bus.publish("ModuleLoaded", { name: "c" }, { sticky: "c" });
  assert.deepEqual(late.msgs[2], { kind: "event", type: "ModuleLoaded", seq: 4, payload: { name: "c" } });
});

Deno.test("EventBus sticky replay carries the source", () => {
  const bus = new EventBus();
  bus.publish("PaymentSettled", { payment_id: "p" }, { sticky: "k", source: "pay" });
  const late = recorder();
  bus.subscribe(late, { types: ["PaymentSettled"] });
  assert.equal(late.msgs.length, 1);
  assert.equal(late.msgs[0].source, "pay");
  assert.equal(late.msgs[0].replay, true);
});

Deno.test("EventBus.clearSticky() stops the replay; a second publish under a key replaces it", () => {
  const bus = new EventBus();
  bus.publish("ModuleLoaded", { name: "a", v: 1 }, { sticky: "a" });
  bus.publish("ModuleLoaded", { name: "a", v: 2 }, { sticky: "a" });
  bus.publish("ModuleLoaded", { name: "b" }, { sticky: "b" });
  bus.clearSticky("ModuleLoaded", "b");
  bus.clearSticky("ModuleLoaded", "never");
  bus.clearSticky("NoSuchType", "a");
  const late = recorder();
  bus.subscribe(late, { types: ["ModuleLoaded"] });
  assert.deepEqual(late.msgs.map((m) => m.payload), [{ name: "a", v: 2 }]);
});

Deno.test("EventBus sticky replay goes to the new subscriber only", () => {
  const bus = new EventBus();
  const early = recorder();
  bus.subscribe(early, { types: ["ModuleLoaded"] });
  bus.publish("ModuleLoaded", { name: "a" }, { sticky: "a" });
  const late = recorder();
  bus.subscribe(late, { types: ["*"] });
  assert.equal(early.msgs.length, 1);
  assert.equal(early.msgs[0].replay, undefined);
  assert.equal(late.msgs.length, 1);
  assert.equal(late.msgs[0].replay, true);
});

Deno.test("EventBus.onSubscribe sees only newly added types; removing the hook stops it", () => {
  const bus = new EventBus();
  const seen: string[][] = [];
  const a = recorder();
  const off = bus.onSubscribe((sub, added) => {
    assert.equal(sub, a);
    seen.push([...added].sort());
  });
  bus.subscribe(a, { types: ["NewBlock", "mesh.Route"] });
  bus.subscribe(a, { types: ["NewBlock"], categories: ["blockchain"] });
  bus.subscribe(a, { types: ["NewBlock"] }); // nothing new: no call
  off();
  bus.subscribe(a, { types: ["MempoolCleared"] });
  assert.deepEqual(seen, [["NewBlock", "mesh.Route"], ["BlockDisconnected", "ChainReorg"]]);
});

Deno.test("EventBus.onSubscribe runs after sticky replay, and sendTo() reaches that subscriber alone", () => {
  const bus = new EventBus();
  const a = recorder(), b = recorder();
  bus.subscribe(b, { types: ["NewBlock"] });
  bus.publish("ModuleLoaded", { name: "s" }, { sticky: "s" });
  bus.onSubscribe((sub, added) => {
    for (const t of added) bus.sendTo(sub, t, { hook: t });
  });
  bus.subscribe(a, { types: ["ModuleLoaded"] });
  assert.deepEqual(a.msgs.map((m) => m.payload), [{ name: "s" }, { hook: "ModuleLoaded" }]);
  assert.equal(b.msgs.length, 0);
  assert.equal(bus.sendTo(b, "ChainReorg", {}), false);
  assert.equal(bus.sendTo(recorder(), "NewBlock", {}), false);
});

Deno.test("EventBus.watch() sees every publish of its type, subscribed or not, until removed", () => {
  const bus = new EventBus();
  const got: unknown[] = [];
  const off = bus.watch("NewBlock", (p) => got.push(p));
  const off2 = bus.watch("NewBlock", () => got.push("second"));
  bus.publish("NewBlock", { n: 1 });
  bus.publish("ChainReorg", { n: 2 });
  off();
  bus.publish("NewBlock", { n: 3 });
  off2();
  bus.publish("NewBlock", { n: 4 });
  assert.deepEqual(got, [{ n: 1 }, "second", "second"]);
});

Deno.test("EventBus.stats() reports subscriptions and delivery counters", () => {
  const bus = new EventBus();
  const a = recorder();
  assert.equal(bus.stats(a), undefined);
  bus.subscribe(a, { types: ["NewBlock", "*"], categories: ["mempool", "blockchain"] });
  bus.publish("NewBlock", {});
  bus.publish("MempoolCleared", {});
  const s = bus.stats(a)!;
  assert.deepEqual(s.types, ["*", "NewBlock"]);
  assert.deepEqual(s.categories, ["blockchain", "mempool"]);
  assert.equal(s.delivered, 2);
  assert.equal(s.queued, 0);
  assert.equal(s.dropped_total, 0);
  assert.equal(s.overflowed, false);
});

Deno.test("EventBus queues for a subscriber that is behind and pump() delivers", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.attach(a, { limits: { highWater: 10 } });
  bus.subscribe(a, { types: ["NewBlock"] });
  a.buffered = 100;
  assert.equal(bus.publish("NewBlock", { n: 1 }).delivered, 1);
  assert.equal(a.msgs.length, 0);
  assert.equal(bus.stats(a)!.queued, 1);
  a.buffered = 0;
  bus.pump(a);
  assert.deepEqual(a.msgs.map((m) => m.payload), [{ n: 1 }]);
  bus.pump(recorder()); // unknown subscriber: nothing happens
});

Deno.test("EventBus cuts off a subscriber past the hard limit and calls onOverflow", () => {
  const bus = new EventBus();
  const a = recorder();
  const why: string[] = [];
  bus.attach(a, { limits: { maxQueued: 1, hardQueued: 2, highWater: 10 }, onOverflow: (w) => why.push(w) });
  bus.subscribe(a, { types: ["NewBlock"] });
  a.buffered = 100;
  for (let i = 0; i < 5; i++) bus.publish("NewBlock", { i });
  assert.equal(why.length, 1);
  assert.match(why[0], /2 events/);
  // Counters stay visible to the operator until the connection is removed; nothing is delivered any more.
  const stats = bus.stats(a)!;
  assert.equal(stats.overflowed, true);
  assert.deepEqual(stats.types, []);
  assert.equal(bus.isSubscribed(a, "NewBlock"), false);
  assert.equal(bus.publish("NewBlock", {}).delivered, 0);
  bus.remove(a);
  assert.equal(bus.stats(a), undefined);
});

Deno.test("EventBus.remove() stops delivery; the subscriber starts afresh if it subscribes again", () => {
  const bus = new EventBus();
  const a = recorder(), b = recorder();
  bus.subscribe(a, { types: ["*"], categories: ["blockchain"] });
  bus.subscribe(b, { types: ["NewBlock"] });
  bus.remove(a);
  bus.remove(recorder()); // unknown: nothing happens
  assert.equal(bus.publish("NewBlock", {}).delivered, 1);
  assert.equal(bus.publish("mesh.Route", {}).delivered, 0);
  assert.equal(a.msgs.length, 0);
  assert.equal(bus.stats(a), undefined);
  assert.deepEqual(bus.subscribe(a, { types: ["ChainReorg"] }), { types: ["ChainReorg"], categories: [] });
});
