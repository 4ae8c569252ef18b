import assert from "node:assert/strict";
import { decode } from "../../src/protocol/mod.ts";
import { EventRouter, ProcessedTracker } from "../../src/module/mod.ts";
import { EventBus, EventJournal, isDurable, markRedelivered } from "../../mod.ts";
import { EncodeBuffer } from "../../src/protocol/mod.ts";

const NB = { types: ["NewBlock"], moduleEvents: false };

function frameOf(m: unknown): Uint8Array {
  const b = new EncodeBuffer(64);
  b.frame(m);
  return b.bytes().slice();
}

async function tempDb(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "blvm-journal-" });
  return { path: dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** The journaled events after a module's cursor. */
function pending(j: EventJournal, module: string) {
  return j.read(j.cursor(module)?.acked ?? j.lastPos, Infinity).entries;
}

/** A journal in a temp folder, removed with it. */
function tempJournal(limits: Parameters<typeof EventJournal.open>[1] = {}) {
  const dir = Deno.makeTempDirSync({ prefix: "blvm-journal-" });
  const j = EventJournal.open(dir, limits);
  return Object.assign(j, {
    dir,
    [Symbol.dispose]() {
      j.close();
      Deno.removeSync(dir, { recursive: true });
    },
  });
}

Deno.test("isDurable: lossless events are journaled; lossy, request, per-module and delivery events are not", () => {
  assert.deepEqual(
    ["NewBlock", "BlockDisconnected", "alerts.Hello", "MempoolTransactionAdded", "HealthCheck", "ConfigLoaded"]
      .map(isDurable),
    [true, true, true, false, false, false],
  );
  assert.equal(isDurable("EventsDropped"), false);
});

Deno.test("EventJournal: positions, cursors and sequence numbers survive a reopen, and positions never go back", async () => {
  await using db = await tempDb();
  let j = EventJournal.open(db.path);
  j.track("m", NB);
  for (let seq = 1; seq <= 5; seq++) j.append(j.reserve(), "NewBlock", seq, frameOf({ seq }));
  j.ack("m", 3);
  j.close();
  j = EventJournal.open(db.path);
  assert.ok(j.lastPos >= 5);
  assert.deepEqual(j.cursor("m"), { acked: 3, coverage: NB });
  assert.deepEqual(pending(j, "m").map((e) => e.pos), [4, 5]);
  assert.equal(j.lastSeqs().get("NewBlock"), 5);
  j.ack("m", 5);
  j.ack("m", 2); // never backwards
  assert.equal(j.cursor("m")!.acked, 5);
  j.ack("m", j.lastPos + 99); // clamped to the last position
  assert.equal(j.cursor("m")!.acked, j.lastPos);
  j.close();
  j = EventJournal.open(db.path);
  j.flush(); // everything processed by every cursor: its segments go
  assert.equal(j.size.events, 0);
  assert.deepEqual([...Deno.readDirSync(db.path)].filter((e) => e.name.startsWith("seg-")), []);
  j.close();
  j = EventJournal.open(db.path);
  assert.ok(j.lastPos >= 5, "the position survives an empty journal");
  assert.equal(j.lastSeqs().get("NewBlock"), 5, "and so does the last sequence number");
  assert.ok(j.reserve() > 5);
  j.close();
});

Deno.test("EventJournal.wants: only durable types some cursor covers", () => {
  using j = tempJournal();
  assert.equal(j.wants("NewBlock"), false, "no cursor yet");
  j.track("a", { types: ["NewBlock", "MempoolTransactionAdded"], moduleEvents: false });
  j.track("b", { types: [], moduleEvents: true });
  assert.deepEqual(
    ["NewBlock", "MempoolTransactionAdded", "x.Y", "BlockDisconnected"].map((t) => j.wants(t)),
    [true, false, true, false],
  );
  j.uncover("b", [], true);
  assert.equal(j.wants("x.Y"), false);
  j.forget("a");
  assert.equal(j.wants("NewBlock"), false);
});

Deno.test("EventJournal: past its limits the oldest events go, and each module behind is told exactly what it lost", () => {
  using j = tempJournal({ maxEvents: 10 });
  j.track("behind", { types: ["NewBlock", "x.Tick"], moduleEvents: false });
  j.track("other", { types: ["x.Tick"], moduleEvents: false });
  let tick = 0, block = 0;
  for (let i = 1; i <= 20; i++) {
    const [type, seq] = i % 2 ? ["NewBlock", ++block] : ["x.Tick", ++tick];
    j.append(j.reserve(), type, seq, frameOf({ i }));
  }
  j.ack("other", 20);
  j.flush();
  assert.ok(j.size.events <= 10);
  const kept = pending(j, "behind");
  const firstKept = kept[0].pos;
  const lost = j.takeLost("behind");
  // Positions 1..firstKept-1 alternate NewBlock (odd) and x.Tick (even).
  const gone = firstKept - 1;
  assert.deepEqual(lost, [
    { type: "NewBlock", from_seq: 1, to_seq: Math.ceil(gone / 2), count: Math.ceil(gone / 2) },
    { type: "x.Tick", from_seq: 1, to_seq: Math.floor(gone / 2), count: Math.floor(gone / 2) },
  ]);
  assert.deepEqual(j.takeLost("behind"), [], "reported once");
  assert.deepEqual(j.takeLost("other"), [], "a module that processed everything lost nothing");
});

Deno.test("EventJournal: losses recorded for a module that then processes those events (it was still connected) are dropped", () => {
  using j = tempJournal({ maxEvents: 4 });
  j.track("m", NB);
  for (let seq = 1; seq <= 8; seq++) j.append(j.reserve(), "NewBlock", seq, frameOf({ seq }));
  j.flush();
  j.ack("m", 8); // it had them in memory and handled them
  assert.deepEqual(j.takeLost("m"), []);
});

Deno.test("EventBus with a journal: journaled frames carry pos; a failing journal still delivers live and reports it", () => {
  using j = tempJournal();
  const errors: string[] = [];
  const bus = new EventBus({}, { journal: j, onJournalError: (type) => errors.push(type) });
  const got: Record<string, unknown>[] = [];
  const sub = { sendFrame: (f: Uint8Array) => got.push(decode(f.subarray(4)) as Record<string, unknown>) > 0 };
  bus.subscribe(sub, { types: ["NewBlock"] });
  bus.publish("NewBlock", { height: 1 }); // no cursor yet: not journaled
  j.track("m", bus.coverage(sub));
  bus.publish("NewBlock", { height: 2 });
  assert.equal(got[0].pos, undefined);
  assert.equal(got[1].pos, 1);
  j.close();
  bus.publish("NewBlock", { height: 3 });
  assert.equal(got.length, 3, "delivered live anyway");
  assert.deepEqual(errors, ["NewBlock"]);
});

Deno.test("markRedelivered adds redelivered: true and keeps the rest of the frame", () => {
  const f = frameOf({ kind: "event", type: "NewBlock", seq: 3, payload: { h: 1 }, pos: 9 });
  const m = markRedelivered(f);
  assert.equal(new DataView(m.buffer).getUint32(0), m.length - 4);
  assert.deepEqual(decode(m.subarray(4)), {
    kind: "event",
    type: "NewBlock",
    seq: 3,
    payload: { h: 1 },
    pos: 9,
    redelivered: true,
  });
  assert.throws(() => markRedelivered(frameOf([1, 2])), TypeError);
});

Deno.test("ProcessedTracker reports the highest position up to which everything was handled, in batches", () => {
  const sent: number[] = [];
  const t = new ProcessedTracker((p) => sent.push(p) > 0, { batch: 3, maxDelayMs: 60_000 });
  const done = [1, 2, 3, 4, 5].map((p) => t.begin(p));
  done[1]();
  done[2]();
  assert.deepEqual(sent, [], "1 is not done: nothing to report");
  done[0](); // 1..3 done: a batch of 3
  assert.deepEqual(sent, [3]);
  done[4]();
  t.flush();
  assert.deepEqual(sent, [3], "4 is still running");
  done[3]();
  t.close();
  assert.deepEqual(sent, [3, 5]);
});

Deno.test("ProcessedTracker.done(): an event handled at once, before or behind one still running", () => {
  const sent: number[] = [];
  const t = new ProcessedTracker((p) => sent.push(p) > 0, { batch: 2, maxDelayMs: 60_000 });
  t.done(1);
  t.done(2); // two handled: a batch
  assert.deepEqual(sent, [2]);
  const slow = t.begin(3);
  t.done(4);
  t.done(5);
  t.flush();
  assert.deepEqual(sent, [2], "3 is still running: 4 and 5 wait behind it");
  slow();
  assert.deepEqual(sent, [2, 5]);
  t.close();
});

Deno.test("EventRouter turns EventsLost into gaps, and a later event of that type is not a second gap", () => {
  const r = new EventRouter(() => {});
  const gaps: unknown[] = [];
  r.onGap((g) => gaps.push(g));
  r.dispatch({
    kind: "event",
    type: "EventsLost",
    seq: 1,
    payload: { lost: [{ type: "NewBlock", from_seq: 4, to_seq: 9, count: 6 }], total: 6 },
  });
  r.dispatch({ kind: "event", type: "NewBlock", seq: 10, payload: {} });
  assert.deepEqual(gaps, [{ type: "NewBlock", expected: 4, got: 10, missed: 6 }]);
  assert.deepEqual(r.gapStats, { gaps: 1, missed: 6 });
});

Deno.test("EventJournal: a batch cut short by a crash is dropped on open, the rest kept", async () => {
  await using db = await tempDb();
  let j = EventJournal.open(db.path);
  j.track("m", NB);
  for (let seq = 1; seq <= 3; seq++) {
    j.append(j.reserve(), "NewBlock", seq, frameOf({ seq }));
    j.flush(); // one batch each
  }
  j.close();
  const seg = [...Deno.readDirSync(db.path)].find((e) => e.name.startsWith("seg-"))!.name;
  const size = Deno.statSync(`${db.path}/${seg}`).size;
  Deno.truncateSync(`${db.path}/${seg}`, size - 3); // the last batch loses its tail
  j = EventJournal.open(db.path);
  assert.deepEqual(pending(j, "m").map((e) => e.pos), [1, 2]);
  const next = j.reserve();
  assert.ok(next > 3, `position 3 was handed out before the crash: never again (next is ${next})`);
  j.append(next, "NewBlock", 4, frameOf({ seq: 4 }));
  assert.deepEqual(pending(j, "m").map((e) => e.pos), [1, 2, next]);
  j.close();
});

Deno.test("EventJournal.open refuses limits that are not positive integers, naming the limit", () => {
  assert.throws(() => EventJournal.open("/nonexistent-never", { maxEvents: 0 }), /Invalid journal limit 'maxEvents'/);
});

Deno.test("EventJournal.read pages by events and bytes, at least one event a page, and says when it reached the end", () => {
  using j = tempJournal();
  j.track("m", NB);
  for (let seq = 1; seq <= 10; seq++) j.append(j.reserve(), "NewBlock", seq, frameOf({ seq, pad: "x".repeat(50) }));
  const size = pending(j, "m")[0].frame.length;
  const a = j.read(0, Infinity, 4);
  assert.deepEqual([a.entries.map((e) => e.pos), a.end, a.done], [[1, 2, 3, 4], 4, false]);
  const b = j.read(a.end, 2 * size + 1);
  assert.deepEqual([b.entries.map((e) => e.pos), b.done], [[5, 6], false]);
  const c = j.read(b.end, 1); // smaller than one frame: still one event
  assert.deepEqual(c.entries.map((e) => e.pos), [7]);
  const d = j.read(c.end, Infinity);
  assert.deepEqual([d.entries.map((e) => e.pos), d.end, d.done], [[8, 9, 10], 10, true]);
  assert.deepEqual(j.read(10, Infinity), { entries: [], end: 10, done: true });
});

Deno.test("EventJournal: a module that receives nothing durable gets no cursor, and nothing is journaled for it", () => {
  using j = tempJournal();
  j.track("m", { types: ["HealthCheck", "MempoolTransactionAdded"], moduleEvents: false });
  assert.equal(j.cursor("m"), undefined);
  assert.equal(j.wants("MempoolTransactionAdded"), false);
});

Deno.test("EventJournal: events past the age limit go a segment at a time, fresh ones stay", async () => {
  using j = tempJournal({ maxAgeMs: 400 });
  j.track("m", NB);
  for (let seq = 1; seq <= 3; seq++) j.append(j.reserve(), "NewBlock", seq, frameOf({ seq }));
  j.flush();
  await new Promise((r) => setTimeout(r, 1200)); // past the age limit, and past the once-a-second age check
  for (let seq = 4; seq <= 5; seq++) j.append(j.reserve(), "NewBlock", seq, frameOf({ seq }));
  j.flush();
  const kept = pending(j, "m").map((e) => e.seq);
  assert.deepEqual(kept, [4, 5], "the old segment went, the new one stayed");
  assert.deepEqual(j.takeLost("m"), [{ type: "NewBlock", from_seq: 1, to_seq: 3, count: 3 }]);
});
