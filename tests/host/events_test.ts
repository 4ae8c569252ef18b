import { deepEqual, equal, ok } from "node:assert/strict";
import { EventBus, type Subscriber } from "../../src/host/events.ts";
import { decode } from "../../src/protocol/decoder.ts";

/**
 * A subscriber that records every frame it is given and answers with `accept`. `frames` holds the
 * instances as passed (only valid during the call); `copies` holds copies taken during the call.
 */
function recorder(accept = true): Subscriber & { frames: Uint8Array[]; copies: Uint8Array[] } {
  const frames: Uint8Array[] = [];
  const copies: Uint8Array[] = [];
  return {
    frames,
    copies,
    sendFrame(f: Uint8Array) {
      frames.push(f);
      copies.push(f.slice());
      return accept;
    },
  };
}

/** Decode a frame (4-byte length + body) into its message. */
function message(frame: Uint8Array): Record<string, unknown> {
  const len = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
  equal(len, frame.length - 4);
  return decode(frame.subarray(4)) as Record<string, unknown>;
}

Deno.test("EventBus.publish() encodes once: every subscriber gets the same Uint8Array instance", () => {
  const bus = new EventBus();
  const a = recorder(), b = recorder(), c = recorder();
  for (const s of [a, b, c]) bus.subscribe(s, ["NewBlock"]);
  const { delivered } = bus.publish("NewBlock", { height: 1 });
  equal(delivered, 3);
  equal(a.frames.length, 1);
  ok(a.frames[0] instanceof Uint8Array);
  equal(b.frames[0], a.frames[0]);
  equal(c.frames[0], a.frames[0]);
  deepEqual(b.copies[0], a.copies[0]);
});

Deno.test("EventBus.publish() passes the same instance to subscribers of a type with many subscribers", () => {
  const bus = new EventBus();
  const subs = Array.from({ length: 10 }, () => recorder());
  for (const s of subs) bus.subscribe(s, ["T"]);
  bus.publish("T", { big: "x".repeat(10_000) });
  equal(new Set(subs.map((s) => s.frames[0])).size, 1);
  equal((message(subs[9].copies[0]).payload as { big: string }).big.length, 10_000);
});

Deno.test("EventBus.publish() sends a framed event message", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.subscribe(a, ["NewBlock"]);
  bus.publish("NewBlock", { height: 7, hash: "ab" });
  deepEqual(message(a.copies[0]), { kind: "event", type: "NewBlock", seq: 1, payload: { height: 7, hash: "ab" } });
});

Deno.test("EventBus.publish() increments seq per event type", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.subscribe(a, ["A", "B"]);
  deepEqual([bus.publish("A", 0).seq, bus.publish("A", 0).seq, bus.publish("B", 0).seq, bus.publish("A", 0).seq], [
    1,
    2,
    1,
    3,
  ]);
  deepEqual(a.copies.map((f) => [message(f).type, message(f).seq]), [["A", 1], ["A", 2], ["B", 1], ["A", 3]]);
});

Deno.test("EventBus.publish() counts seq even with no subscribers", () => {
  const bus = new EventBus();
  deepEqual(bus.publish("NewBlock", {}), { seq: 1, delivered: 0 });
  const a = recorder();
  bus.subscribe(a, ["NewBlock"]);
  deepEqual(bus.publish("NewBlock", {}), { seq: 2, delivered: 1 });
  equal(message(a.copies[0]).seq, 2);
});

Deno.test("EventBus.publish() delivers only to subscribers of the type", () => {
  const bus = new EventBus();
  const a = recorder(), b = recorder();
  bus.subscribe(a, ["A"]);
  bus.subscribe(b, ["B"]);
  equal(bus.publish("A", 1).delivered, 1);
  equal(a.frames.length, 1);
  equal(b.frames.length, 0);
});

Deno.test("EventBus.subscribe() twice does not duplicate delivery", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.subscribe(a, ["NewBlock"]);
  deepEqual(bus.subscribe(a, ["NewBlock", "NewBlock"]), ["NewBlock"]);
  equal(bus.publish("NewBlock", {}).delivered, 1);
  equal(a.frames.length, 1);
});

Deno.test("EventBus.subscribe() returns all the subscriber's types, sorted", () => {
  const bus = new EventBus();
  const a = recorder();
  deepEqual(bus.subscribe(a, ["Z"]), ["Z"]);
  deepEqual(bus.subscribe(a, ["B", "A"]), ["A", "B", "Z"]);
});

Deno.test("EventBus.unsubscribe() stops delivery of those types only", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.subscribe(a, ["A", "B"]);
  deepEqual(bus.unsubscribe(a, ["A"]), ["B"]);
  equal(bus.publish("A", 1).delivered, 0);
  equal(bus.publish("B", 1).delivered, 1);
  equal(a.frames.length, 1);
  equal(message(a.copies[0]).type, "B");
});

Deno.test("EventBus.unsubscribe() of an unknown subscriber returns an empty list", () => {
  const bus = new EventBus();
  deepEqual(bus.unsubscribe(recorder(), ["A"]), []);
});

Deno.test("EventBus.unsubscribe() leaves other subscribers of the type alone", () => {
  const bus = new EventBus();
  const a = recorder(), b = recorder();
  bus.subscribe(a, ["A"]);
  bus.subscribe(b, ["A"]);
  bus.unsubscribe(a, ["A"]);
  equal(bus.publish("A", 1).delivered, 1);
  equal(a.frames.length, 0);
  equal(b.frames.length, 1);
});

Deno.test("EventBus.remove() drops every subscription of a subscriber", () => {
  const bus = new EventBus();
  const a = recorder(), b = recorder();
  bus.subscribe(a, ["A", "B"]);
  bus.subscribe(b, ["A"]);
  bus.remove(a);
  equal(bus.publish("A", 1).delivered, 1);
  equal(bus.publish("B", 1).delivered, 0);
  equal(a.frames.length, 0);
  // A removed subscriber starts from scratch when it subscribes again.
  deepEqual(bus.subscribe(a, ["C"]), ["C"]);
});

Deno.test("EventBus.remove() of an unknown subscriber does nothing", () => {
  const bus = new EventBus();
  const a = recorder();
  bus.subscribe(a, ["A"]);
  bus.remove(recorder());
  equal(bus.publish("A", 1).delivered, 1);
});

Deno.test("EventBus.publish() does not count a subscriber returning false as delivered", () => {
  const bus = new EventBus();
  const good = recorder(true), gone = recorder(false);
  bus.subscribe(good, ["A"]);
  bus.subscribe(gone, ["A"]);
  const { delivered } = bus.publish("A", {});
  equal(delivered, 1);
  // It was still offered the frame.
  equal(gone.frames.length, 1);
});

Deno.test("EventBus.onSubscribe sees only newly added types, and sendTo replays to that subscriber alone", () => {
  const bus = new EventBus();
  const seen: string[][] = [];
  bus.onSubscribe((sub, added) => {
    seen.push(added);
    for (const t of added) bus.sendTo(sub, t, { replay: t });
  });
  const a: Uint8Array[] = [];
  const b: Uint8Array[] = [];
  const subA = { sendFrame: (f: Uint8Array) => a.push(f.slice()) > 0 };
  const subB = { sendFrame: (f: Uint8Array) => b.push(f.slice()) > 0 };
  bus.subscribe(subA, ["X", "Y"]);
  bus.subscribe(subA, ["X", "Z"]);
  bus.subscribe(subB, ["X"]);
  deepEqual(seen, [["X", "Y"], ["Z"], ["X"]]);
  equal(a.length, 3);
  equal(b.length, 1);
  equal(bus.sendTo(subB, "Y", {}), false);
});

Deno.test("EventBus.watch sees every publish of its type, with or without subscribers, until removed", () => {
  const bus = new EventBus();
  const got: unknown[] = [];
  const off = bus.watch("T", (p) => got.push(p));
  bus.publish("T", { n: 1 });
  bus.publish("U", { n: 2 });
  off();
  bus.publish("T", { n: 3 });
  deepEqual(got, [{ n: 1 }]);
});
