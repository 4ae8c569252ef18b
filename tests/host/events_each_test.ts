// EventBus.publishEach: one logical event whose payload differs per subscriber (ConfigLoaded per module).
import assert from "node:assert/strict";
import { EventBus, EventTooLargeError, type Subscriber } from "../../mod.ts";
import { decode, encodeFrame, type EventMessage } from "../../src/protocol/mod.ts";

interface Recorder extends Subscriber {
  name: string;
  msgs: EventMessage[];
  buffered: number;
}

function recorder(name: string, fail = false): Recorder {
  const r: Recorder = {
    name,
    msgs: [],
    buffered: 0,
    sendFrame(f: Uint8Array) {
      if (fail) throw new Error(`${name} is broken`);
      r.msgs.push(decode(f.subarray(4)) as EventMessage);
      return true;
    },
    get bufferedBytes() {
      return r.buffered;
    },
  };
  return r;
}

const T = "test.View";
/** Each recorder's own payload: its name. */
const own = (sub: Subscriber) => ({ to: (sub as Recorder).name });
const seen = (r: Recorder) => r.msgs.map((m) => [m.seq, m.payload, m.replay === true]);

Deno.test("publishEach: each subscriber gets its own payload, all under one sequence number", () => {
  const bus = new EventBus();
  const a = recorder("a"), b = recorder("b"), c = recorder("c");
  for (const r of [a, b, c]) bus.subscribe(r, { types: [T] });
  assert.deepEqual(bus.publishEach(T, (s) => s === c ? undefined : own(s)), { seq: 1, delivered: 2 });
  assert.deepEqual(seen(a), [[1, { to: "a" }, false]]);
  assert.deepEqual(seen(b), [[1, { to: "b" }, false]]);
  assert.deepEqual(seen(c), []);
  // The next event of the type, either way, follows on: c sees a gap of one it was not meant to get.
  assert.equal(bus.publish(T, { all: true }).seq, 2);
  assert.deepEqual(bus.publishEach(T, own), { seq: 3, delivered: 3 });
  assert.deepEqual(a.msgs.map((m) => m.seq), [1, 2, 3]);
  assert.equal(a.msgs[0].source, undefined);
});

Deno.test("publishEach: a payload shared by several subscribers is encoded once", () => {
  // The encoder reads a getter a fixed number of times per encoding: three subscribers cost what one does.
  const reads = (n: number) => {
    const bus = new EventBus();
    const subs = Array.from({ length: n }, (_, i) => recorder(`s${i}`));
    for (const r of subs) bus.subscribe(r, { types: [T] });
    let count = 0;
    const shared = {
      get value() {
        count++;
        return 42;
      },
    };
    assert.deepEqual(bus.publishEach(T, () => shared, { source: "mod" }), { seq: 1, delivered: n });
    for (const r of subs) {
      assert.deepEqual(r.msgs, [{ kind: "event", type: T, seq: 1, source: "mod", payload: { value: 42 } }]);
    }
    return count;
  };
  const one = reads(1);
  assert.ok(one > 0);
  assert.equal(reads(3), one);
});

Deno.test("publishEach: one payload over the frame limit refuses the whole event; no sequence number is used", () => {
  const bus = new EventBus({}, { maxFrameBytes: 200 });
  const a = recorder("a"), b = recorder("b");
  bus.subscribe(a, { types: [T] });
  bus.subscribe(b, { types: [T] });
  const big = (s: Subscriber) => (s === b ? { text: "x".repeat(300) } : { text: "small" });
  assert.throws(() => bus.publishEach(T, big), (e) => e instanceof EventTooLargeError && e.frameBytes > 200);
  assert.deepEqual([a.msgs, b.msgs], [[], []]);
  // A payload function that throws leaves things the same way.
  assert.throws(() =>
    bus.publishEach(T, () => {
      throw new Error("no view");
    }), /no view/);
  assert.deepEqual(bus.publishEach(T, own), { seq: 1, delivered: 2 });
});

Deno.test("publishEach: with sticky, the replay frame (marked `replay`) must fit the limit too", () => {
  const payload = { text: "y".repeat(150) };
  // The frame body of the live event, exactly: it fits, its replay (a few bytes more) does not.
  const body = encodeFrame({ kind: "event", type: T, seq: 1, payload }).length - 4;
  const bus = new EventBus({}, { maxFrameBytes: body });
  const a = recorder("a");
  bus.subscribe(a, { types: [T] });
  assert.throws(() => bus.publishEach(T, () => payload, { sticky: "" }), EventTooLargeError);
  assert.deepEqual(a.msgs, []);
  assert.deepEqual(bus.publishEach(T, () => payload), { seq: 1, delivered: 1 });
  // Nothing was kept by the refused sticky publish.
  const late = recorder("late");
  bus.subscribe(late, { types: [T] });
  assert.deepEqual(late.msgs, []);
});

Deno.test("publishEach: a subscriber whose delivery throws is reported; the others still get theirs", () => {
  const errors: [Subscriber, unknown][] = [];
  const bus = new EventBus({}, { onDeliveryError: (sub, e) => errors.push([sub, e]) });
  const a = recorder("a"), broken = recorder("broken", true), c = recorder("c");
  for (const r of [a, broken, c]) bus.subscribe(r, { types: [T] });
  assert.deepEqual(bus.publishEach(T, own), { seq: 1, delivered: 2 });
  assert.deepEqual(seen(a), [[1, { to: "a" }, false]]);
  assert.deepEqual(seen(c), [[1, { to: "c" }, false]]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0][0], broken);
  assert.match(String(errors[0][1]), /broken is broken/);
});

Deno.test("publishEach: sticky keeps the function; a late subscriber gets its own payload as a replay", () => {
  const bus = new EventBus();
  const calls: [string, boolean][] = [];
  const payloadFor = (s: Subscriber, replay: boolean) => {
    calls.push([(s as Recorder).name, replay]);
    return (s as Recorder).name === "nobody" ? undefined : { to: (s as Recorder).name, replay };
  };
  const a = recorder("a");
  bus.subscribe(a, { types: [T] });
  assert.deepEqual(bus.publishEach(T, payloadFor, { sticky: "", source: "node" }), { seq: 1, delivered: 1 });
  const late = recorder("late"), nobody = recorder("nobody");
  bus.subscribe(late, { categories: ["config"], types: [T] });
  bus.subscribe(nobody, { types: [T] });
  assert.deepEqual(late.msgs, [{
    kind: "event",
    type: T,
    seq: 1,
    source: "node",
    replay: true,
    payload: { to: "late", replay: true },
  }]);
  assert.deepEqual(nobody.msgs, []);
  assert.deepEqual(calls, [["a", false], ["late", true], ["nobody", true]]);
  // Only newly gained types replay: subscribing again to the same type sends nothing.
  bus.subscribe(late, { types: [T] });
  assert.equal(late.msgs.length, 1);
  // publish() under the same key replaces the function; clearSticky() forgets it.
  bus.publish(T, { to: "everyone" }, { sticky: "" });
  const later = recorder("later");
  bus.subscribe(later, { types: [T] });
  assert.deepEqual(seen(later), [[2, { to: "everyone" }, true]]);
  bus.publishEach(T, payloadFor, { sticky: "" });
  bus.clearSticky(T, "");
  const last = recorder("last");
  bus.subscribe(last, { types: [T] });
  assert.deepEqual(last.msgs, []);
});

Deno.test("publishEach: a replay that is too big or whose function throws is reported; subscribing still works", () => {
  const errors: unknown[] = [];
  const bus = new EventBus({}, { maxFrameBytes: 200, onDeliveryError: (_s, e) => errors.push(e) });
  bus.publishEach(T, () => ({}), { sticky: "big" });
  bus.publishEach(T, (s) => ((s as Recorder).name === "huge" ? { text: "z".repeat(300) } : undefined), {
    sticky: "big",
  });
  bus.publishEach("test.Other", () => {
    throw new Error("cannot build");
  }, { sticky: "" });
  const huge = recorder("huge");
  assert.deepEqual(bus.subscribe(huge, { types: [T, "test.Other"] }), {
    types: ["test.Other", T].sort(),
    categories: [],
  });
  assert.deepEqual(huge.msgs, []);
  assert.equal(errors.length, 2);
  assert.ok(errors.some((e) => e instanceof EventTooLargeError));
  assert.ok(errors.some((e) => /cannot build/.test(String(e))));
});

Deno.test("publishEach: `*` subscribers of a module-defined type get their payload once; watchers are not called", () => {
  const bus = new EventBus();
  const star = recorder("star"), both = recorder("both");
  bus.subscribe(star, { types: ["*"] });
  bus.subscribe(both, { types: ["*", T] });
  let watched = 0;
  bus.watch(T, () => watched++);
  assert.deepEqual(bus.publishEach(T, own), { seq: 1, delivered: 2 });
  assert.deepEqual(seen(star), [[1, { to: "star" }, false]]);
  assert.deepEqual(seen(both), [[1, { to: "both" }, false]]);
  assert.equal(watched, 0);
  // Nobody subscribed: nothing is asked, but the sequence number moves on.
  const empty = new EventBus();
  assert.deepEqual(empty.publishEach("ConfigLoaded", () => assert.fail("no subscriber")), { seq: 1, delivered: 0 });
  assert.equal(empty.publish("ConfigLoaded", {}).seq, 2);
});

Deno.test("publishEach: a subscriber that is behind gets its own frame queued intact, after later publishes", () => {
  const bus = new EventBus();
  const slow = recorder("slow"), fast = recorder("fast");
  bus.subscribe(slow, { types: [T] });
  bus.subscribe(fast, { types: [T] });
  slow.buffered = 1 << 30;
  bus.publishEach(T, own);
  bus.publishEach(T, (s) => ({ to: (s as Recorder).name, n: 2 }));
  bus.publish(T, { n: 3 });
  assert.equal(bus.backlog(slow), 3);
  slow.buffered = 0;
  bus.pump(slow);
  assert.deepEqual(seen(slow), [[1, { to: "slow" }, false], [2, { to: "slow", n: 2 }, false], [3, { n: 3 }, false]]);
  assert.deepEqual(seen(fast), [[1, { to: "fast" }, false], [2, { to: "fast", n: 2 }, false], [3, { n: 3 }, false]]);
});
