import assert from "node:assert/strict";
import { Delivery, type DeliveryLimits } from "../../mod.ts";

type Sent = number | "notice";

/**
 * A fake connection. Frames carry their id in the first 4 bytes; the drop notice is 1 byte. With
 * `grow`, every frame sent adds its length to `buffered`, as a connection that does not write would.
 */
interface Sink {
  sent: Sent[];
  buffered: number;
  grow: boolean;
  sendFrame(f: Uint8Array): boolean;
  readonly bufferedBytes: number;
}

function sink(): Sink {
  const s: Sink = {
    sent: [],
    buffered: 0,
    grow: false,
    sendFrame(f: Uint8Array) {
      s.sent.push(f.length === 1 ? "notice" : new DataView(f.buffer, f.byteOffset).getUint32(0));
      if (s.grow) s.buffered += f.length;
      return true;
    },
    get bufferedBytes() {
      return s.buffered;
    },
  };
  return s;
}

/** A frame of `size` bytes (at least 4) carrying `id`. */
function frame(id: number, size = 4): Uint8Array {
  const f = new Uint8Array(size);
  new DataView(f.buffer).setUint32(0, id);
  return f;
}

interface NoticeInfo {
  dropped: Record<string, number>;
  total: number;
  queue_limit: number;
}

function setup(limits: Partial<DeliveryLimits> = {}) {
  const s = sink();
  const notices: NoticeInfo[] = [];
  const overflows: string[] = [];
  const d = new Delivery(s, { highWater: 10, ...limits }, (info) => {
    notices.push(structuredClone(info));
    return Uint8Array.of(0xff);
  }, (why) => overflows.push(why));
  return { s, d, notices, overflows };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

Deno.test("Delivery writes straight through while nothing is queued and the sink keeps up", () => {
  const { s, d } = setup();
  assert.equal(d.offer(frame(1), "NewBlock", false), true);
  // An unstable (scratch) frame is fine on the fast path: it is used during the call.
  assert.equal(d.offer(frame(2), "NewBlock", false, false), true);
  s.buffered = 9; // still below highWater
  assert.equal(d.offer(frame(3), "MempoolTransactionAdded", true, false), true);
  assert.deepEqual(s.sent, [1, 2, 3]);
  const st = d.stats();
  assert.equal(st.delivered, 3);
  assert.equal(st.queued, 0);
  assert.equal(st.queued_bytes, 0);
  assert.equal(st.lag_ms, 0);
  assert.equal(d.sink, s);
});

Deno.test("Delivery queues while the sink is behind, and pump() moves events in order once it drains", () => {
  const { s, d } = setup();
  s.buffered = 10; // == highWater: behind
  assert.equal(d.offer(frame(1), "NewBlock", false), true);
  // An unstable frame cannot be kept: the caller must enqueue a copy.
  assert.equal(d.offer(frame(2), "NewBlock", false, false), false);
  assert.equal(d.stats().queued, 1);
  d.enqueue(frame(2), "NewBlock", false);
  d.offer(frame(3, 8), "NewBlock", false);
  assert.deepEqual(s.sent, []);
  assert.equal(d.stats().queued, 3);
  assert.equal(d.stats().queued_bytes, 16);
  d.pump(); // still behind: nothing moves
  assert.deepEqual(s.sent, []);
  s.buffered = 0;
  d.pump();
  assert.deepEqual(s.sent, [1, 2, 3]);
  assert.equal(d.stats().queued, 0);
  assert.equal(d.stats().queued_bytes, 0);
  assert.equal(d.stats().delivered, 3);
});

Deno.test("Delivery: a new event goes behind queued ones even when the sink has drained", () => {
  const { s, d } = setup();
  s.buffered = 100;
  d.offer(frame(1), "NewBlock", false);
  d.offer(frame(2), "NewBlock", false);
  s.buffered = 0;
  // Not the fast path: 1 and 2 wait. enqueue() pumps since the sink has room.
  assert.equal(d.offer(frame(3), "NewBlock", false, false), false);
  d.enqueue(frame(3), "NewBlock", false);
  assert.deepEqual(s.sent, [1, 2, 3]);
});

Deno.test("Delivery.pump() stops as soon as the sink is behind again", () => {
  const { s, d } = setup({ highWater: 10 });
  s.buffered = 100;
  for (let i = 1; i <= 5; i++) d.offer(frame(i), "NewBlock", false);
  s.buffered = 0;
  s.grow = true;
  d.pump(); // 0 → 4 → 8 → 12: three frames fit
  assert.deepEqual(s.sent, [1, 2, 3]);
  assert.equal(d.stats().queued, 2);
  s.buffered = 0;
  d.pump();
  assert.deepEqual(s.sent, [1, 2, 3, 4, 5]);
});

Deno.test("Delivery drops the oldest lossy event first, counts per type, and sends one notice", () => {
  const { s, d, notices } = setup({ maxQueued: 3 });
  s.buffered = 100;
  d.offer(frame(1), "A", true);
  d.offer(frame(2), "A", true);
  d.offer(frame(3), "B", true);
  d.offer(frame(4), "A", true); // drops 1; the notice goes here
  d.offer(frame(5), "B", true); // drops 2
  const st = d.stats();
  assert.equal(st.queued, 3);
  assert.deepEqual(st.dropped, { A: 2 });
  assert.equal(st.dropped_total, 2);
  assert.deepEqual(notices, []); // encoded only when it is sent
  s.buffered = 0;
  d.pump();
  assert.deepEqual(s.sent, ["notice", 3, 4, 5]); // the notice goes ahead of the backlog
  assert.deepEqual(notices, [{ dropped: { A: 2 }, total: 2, queue_limit: 3 }]);
  // The notice is not an event: delivered counts the three events.
  assert.equal(d.stats().delivered, 3);
});

Deno.test("Delivery drops the oldest lossy event, never a lossless one before it", () => {
  const { s, d } = setup({ maxQueued: 3 });
  s.buffered = 100;
  d.offer(frame(1), "NewBlock", false);
  d.offer(frame(2), "A", true);
  d.offer(frame(3), "A", true);
  d.offer(frame(4), "B", true); // drops 2
  d.offer(frame(5), "NewBlock", false); // drops 3
  s.buffered = 0;
  d.pump();
  assert.deepEqual(s.sent, ["notice", 1, 4, 5]);
  assert.deepEqual(d.stats().dropped, { A: 2 });
});

Deno.test("Delivery sends a new notice for drops after the last one, with counts since then", () => {
  const { s, d, notices } = setup({ maxQueued: 2 });
  s.buffered = 100;
  for (let i = 1; i <= 4; i++) d.offer(frame(i), "A", true); // drops 1, 2
  s.buffered = 0;
  d.pump();
  assert.deepEqual(s.sent, ["notice", 3, 4]);
  s.buffered = 100;
  d.offer(frame(5), "B", true);
  d.offer(frame(6), "B", true);
  d.offer(frame(7), "A", true); // drops 5
  d.offer(frame(8), "A", true); // drops 6
  d.offer(frame(9), "A", true); // drops 7
  s.buffered = 0;
  d.pump();
  assert.deepEqual(s.sent, ["notice", 3, 4, "notice", 8, 9]);
  assert.deepEqual(notices, [
    { dropped: { A: 2 }, total: 2, queue_limit: 2 },
    { dropped: { B: 2, A: 1 }, total: 3, queue_limit: 2 },
  ]);
  assert.deepEqual(d.stats().dropped, { A: 3, B: 2 });
  assert.equal(d.stats().dropped_total, 5);
});

Deno.test("Delivery: while a notice waits, later drops join it instead of queueing another", () => {
  const { s, d, notices } = setup({ maxQueued: 1 });
  s.buffered = 100;
  for (let i = 1; i <= 6; i++) d.offer(frame(i), "A", true);
  s.buffered = 0;
  d.pump();
  assert.deepEqual(s.sent, ["notice", 6]);
  assert.deepEqual(notices, [{ dropped: { A: 5 }, total: 5, queue_limit: 1 }]);
});

Deno.test("Delivery never drops lossless events: a full queue drops a new lossy one, keeps a new lossless one", () => {
  const { s, d, notices, overflows } = setup({ maxQueued: 2, hardQueued: 10 });
  s.buffered = 100;
  d.offer(frame(1), "NewBlock", false);
  d.offer(frame(2), "NewBlock", false);
  d.offer(frame(3), "MempoolTransactionAdded", true); // nothing lossy to drop: this one goes
  d.offer(frame(4), "NewBlock", false); // kept beyond maxQueued
  d.offer(frame(5), "NewBlock", false);
  assert.equal(d.stats().queued, 4);
  assert.deepEqual(d.stats().dropped, { MempoolTransactionAdded: 1 });
  s.buffered = 0;
  d.pump();
  assert.deepEqual(s.sent, ["notice", 1, 2, 4, 5]);
  assert.deepEqual(notices, [{ dropped: { MempoolTransactionAdded: 1 }, total: 1, queue_limit: 2 }]);
  assert.deepEqual(overflows, []);
});

Deno.test("Delivery cuts the subscriber off once past hardQueued lossless events", () => {
  const { s, d, overflows } = setup({ maxQueued: 2, hardQueued: 4 });
  s.buffered = 100;
  for (let i = 1; i <= 4; i++) d.offer(frame(i), "NewBlock", false);
  assert.deepEqual(overflows, []);
  assert.equal(d.stats().queued, 4);
  d.offer(frame(5), "NewBlock", false);
  assert.equal(overflows.length, 1);
  assert.match(overflows[0], /4 events/);
  let st = d.stats();
  assert.equal(st.overflowed, true);
  assert.equal(st.queued, 0);
  assert.equal(st.queued_bytes, 0);
  // Later offers are ignored, and the callback is not called again.
  s.buffered = 0;
  assert.equal(d.offer(frame(6), "NewBlock", false), true);
  d.enqueue(frame(7), "NewBlock", false);
  for (let i = 8; i < 20; i++) d.offer(frame(i), "NewBlock", false);
  d.pump();
  assert.deepEqual(s.sent, []);
  assert.equal(overflows.length, 1);
  st = d.stats();
  assert.equal(st.queued, 0);
  assert.equal(st.delivered, 0);
});

Deno.test("Delivery cuts the subscriber off past hardQueuedBytes of lossless events", () => {
  const { s, d, overflows } = setup({ maxQueuedBytes: 16, hardQueuedBytes: 32 });
  s.buffered = 100;
  for (let i = 1; i <= 4; i++) d.offer(frame(i, 8), "NewBlock", false); // 32 bytes
  assert.deepEqual(overflows, []);
  d.offer(frame(5, 8), "NewBlock", false);
  assert.equal(overflows.length, 1);
  assert.match(overflows[0], /32 bytes/);
  assert.equal(d.stats().overflowed, true);
});

Deno.test("Delivery defaults hardQueued to 4 × maxQueued", () => {
  const { s, d, overflows } = setup({ maxQueued: 3 });
  s.buffered = 100;
  for (let i = 0; i < 12; i++) d.offer(frame(i), "NewBlock", false);
  assert.deepEqual(overflows, []);
  d.offer(frame(12), "NewBlock", false);
  assert.equal(overflows.length, 1);
});

Deno.test("Delivery stats().lag_ms is the age of the oldest queued event", async () => {
  const { s, d } = setup();
  s.buffered = 100;
  d.offer(frame(1), "NewBlock", false);
  await new Promise((r) => setTimeout(r, 25));
  d.offer(frame(2), "NewBlock", false);
  const lag = d.stats().lag_ms;
  assert.ok(lag >= 15, `lag_ms ${lag}`);
  s.buffered = 0;
  d.pump();
  assert.equal(d.stats().lag_ms, 0);
});

Deno.test("Delivery stats().lag_ms skips dropped events and the notice", async () => {
  const { s, d } = setup({ maxQueued: 1 });
  s.buffered = 100;
  d.offer(frame(1), "A", true);
  await new Promise((r) => setTimeout(r, 40));
  d.offer(frame(2), "A", true); // drops the old one
  const lag = d.stats().lag_ms;
  assert.ok(lag < 30, `lag_ms ${lag} counts a dropped event`);
});

Deno.test("Delivery drops lossy events when maxQueuedBytes is reached, counting what the connection holds", () => {
  const { s, d, notices } = setup({ maxQueuedBytes: 30 });
  s.buffered = 10; // at highWater: events queue, and these 10 unwritten bytes count
  d.offer(frame(1, 8), "A", true);
  d.offer(frame(2, 8), "A", true); // 16 + 10 bytes
  d.offer(frame(3, 8), "A", true); // 24 + 10 > 30: drops 1
  let st = d.stats();
  assert.equal(st.queued, 2);
  assert.equal(st.queued_bytes, 16);
  assert.deepEqual(st.dropped, { A: 1 });
  d.offer(frame(4, 4), "NewBlock", false); // 20 + 10 bytes: fits
  st = d.stats();
  assert.equal(st.queued, 3);
  assert.equal(st.dropped_total, 1);
  s.buffered = 0;
  d.pump();
  assert.deepEqual(s.sent, ["notice", 2, 3, 4]);
  assert.equal(notices.length, 1);
});

Deno.test("Delivery keeps the order of lossless and lossy events", () => {
  const { s, d } = setup({ maxQueued: 6 });
  s.buffered = 100;
  const lossy = (i: number) => i % 3 !== 0;
  for (let i = 1; i <= 6; i++) d.offer(frame(i), lossy(i) ? "A" : "NewBlock", lossy(i));
  s.buffered = 0;
  d.pump();
  assert.deepEqual(s.sent, [1, 2, 3, 4, 5, 6]);
  // And with drops: the survivors keep their order.
  s.buffered = 100;
  s.sent.length = 0;
  for (let i = 1; i <= 9; i++) d.offer(frame(i), lossy(i) ? "A" : "NewBlock", lossy(i));
  s.buffered = 0;
  d.pump();
  // 7, 8, 9 push out the three oldest lossy ones: 1, 2, 4.
  assert.deepEqual(s.sent, ["notice", 3, 5, 6, 7, 8, 9]);
});

Deno.test("Delivery keeps order across compaction of a long queue drained gradually", () => {
  const { s, d } = setup({ maxQueued: 6000, highWater: 400 });
  s.grow = true; // each pump() moves 100 four-byte frames
  s.buffered = 400;
  for (const i of range(0, 6000)) d.offer(frame(i), "A", true);
  assert.equal(d.stats().queued, 6000);
  for (let k = 0; k < 50; k++) {
    s.buffered = 0;
    d.pump();
  }
  assert.deepEqual(s.sent, range(0, 5000));
  assert.equal(d.stats().queued, 1000);
  // Refill past the limit after the queue was compacted: the oldest left (5000, 5001) are dropped.
  for (const i of range(6000, 11002)) d.offer(frame(i), "A", true);
  assert.equal(d.stats().queued, 6000);
  assert.deepEqual(d.stats().dropped, { A: 2 });
  for (let k = 0; k < 100 && d.stats().queued > 0; k++) {
    s.buffered = 0;
    d.pump();
  }
  assert.deepEqual(s.sent, [...range(0, 5000), "notice", ...range(5002, 11002)]);
  assert.equal(d.stats().delivered, 11000);
});

Deno.test("Delivery keeps order when events arrive while a long queue drains", () => {
  const { s, d } = setup({ highWater: 40 });
  s.grow = true; // each pump() moves 10 frames
  s.buffered = 40;
  let next = 0;
  for (; next < 5500; next++) d.offer(frame(next), "NewBlock", false);
  while (d.stats().queued > 0) {
    s.buffered = 0;
    d.pump();
    if (next < 8000) {
      for (let j = 0; j < 5; j++, next++) d.offer(frame(next), next % 2 ? "A" : "NewBlock", next % 2 === 1);
    }
  }
  assert.deepEqual(s.sent, range(0, next));
});

// Regression test for a bug found in review.
Deno.test({
  name: "Delivery memory stays bounded for a stalled subscriber receiving lossy events",
  fn() {
    const { s, d } = setup({ maxQueued: 10 });
    s.buffered = 10; // stalled at highWater
    const f = frame(0);
    const before = Deno.memoryUsage().heapUsed;
    for (let i = 0; i < 2_000_000; i++) d.offer(f, "MempoolTransactionAdded", true);
    const grown = Deno.memoryUsage().heapUsed - before;
    assert.equal(d.stats().queued, 10);
    assert.ok(grown < 30e6, `heap grew by ${(grown / 1e6).toFixed(0)} MB for 10 queued events`);
  },
});

Deno.test("Delivery: a drop notice reaches a slow reader ahead of its whole backlog", () => {
  const { s, d, notices } = setup({ maxQueued: 100 });
  s.buffered = 10;
  for (let i = 0; i < 100; i++) d.offer(frame(i), "NewBlock", false);
  d.offer(frame(100), "A", true); // the queue is full of lossless events: this lossy one is dropped
  assert.equal(d.stats().dropped_total, 1);
  s.grow = true;
  s.buffered = 0;
  d.pump(); // the connection takes two frames (8 bytes, then at highWater)
  assert.deepEqual(s.sent.slice(0, 2), ["notice", 0]);
  assert.equal(notices.length, 1);
});
