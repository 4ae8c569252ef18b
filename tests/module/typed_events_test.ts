// Typed events in the module SDK: payload types checked at compile time (the @ts-expect-error lines
// fail `deno check` / `deno test` if a type becomes too loose), typed delivery over an in-process
// host session, and EventRouter's sequence-gap detection.
import { deepEqual, equal, ok } from "node:assert/strict";
import { EventRouter, type ModuleClient, type SequenceGap } from "../../src/module/mod.ts";
import type { EventMessage } from "../../src/protocol/messages.ts";
import { pair } from "./_pair.ts";

/** `true` only when A and B are the same type. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const assertType = <T extends true>(_: T) => {};

// Compile-time only: never called.
function _typeChecks(mod: ModuleClient): void {
  mod.on("NewBlock", (e) => {
    assertType<Equals<typeof e.payload.height, number>>(true);
    assertType<Equals<typeof e.payload.hash, string>>(true);
    assertType<Equals<typeof e.type, "NewBlock">>(true);
    const height: number = e.payload.height;
    // @ts-expect-error NewBlock has no such field
    e.payload.tx_hash;
    // @ts-expect-error height is a number, not a string
    const wrong: string = e.payload.height;
    void height, wrong;
  });
  mod.on("MempoolTransactionAdded", (e) => {
    assertType<Equals<typeof e.payload.fee_rate, number>>(true);
    // @ts-expect-error a mempool event has no height
    e.payload.height;
  });
  mod.on("EventsDropped", (e) => {
    assertType<Equals<typeof e.payload.total, number>>(true);
  });
  // A module-defined type: the payload is unknown until the module narrows it.
  mod.on("mesh.RouteChanged", (e) => {
    assertType<Equals<typeof e.payload, unknown>>(true);
    // @ts-expect-error unknown payload
    e.payload.route;
  });
  // @ts-expect-error the handler's payload must match the type
  mod.on("NewBlock", (e: EventMessage<"NewBlock", { height: string }>) => e.payload.height);
  // A module may publish its own types with any map...
  mod.publish("mesh.RouteChanged", { route: 1 });
  // ...but node-owned catalog types are not publishable.
  // @ts-expect-error NewBlock is published by the node only
  mod.publish("NewBlock", { hash: "", height: 1, prev_hash: "", time: 0 });
}
void _typeChecks;

const block = (height: number) => ({ hash: "ab".repeat(32), height, prev_hash: "00".repeat(32), time: 1_700_000_000 });

Deno.test("ModuleClient.on() delivers typed NewBlock payloads from the host, in order", async () => {
  await using p = await pair();
  const heights: number[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => done = r);
  p.client.on("NewBlock", (e) => {
    heights.push(e.payload.height + 0); // a number, so arithmetic type-checks
    if (heights.length === 3) done();
  });
  await p.client.subscribe(["NewBlock"]);
  for (const h of [1, 2, 3]) p.bus.publish("NewBlock", block(h));
  await all;
  deepEqual(heights, [1, 2, 3]);
  deepEqual(p.client.gaps, { gaps: 0, missed: 0 });
});

const ev = (type: string, seq: number, replay = false): EventMessage => ({
  kind: "event",
  type,
  seq,
  payload: {},
  ...(replay ? { replay: true } : {}),
});

Deno.test("EventRouter reports sequence gaps per type, once each, with the events missed", () => {
  const router = new EventRouter(() => {});
  const gaps: SequenceGap[] = [];
  router.onGap((g) => gaps.push(g));
  for (const e of [ev("A", 1), ev("A", 2), ev("B", 10), ev("A", 5), ev("B", 11), ev("A", 6), ev("B", 14)]) {
    router.dispatch(e);
  }
  deepEqual(gaps, [
    { type: "A", expected: 3, got: 5, missed: 2 },
    { type: "B", expected: 12, got: 14, missed: 2 },
  ]);
  deepEqual(router.gapStats, { gaps: 2, missed: 4 });
});

Deno.test("EventRouter: replays are not gaps, and reset() after unsubscribe forgets the last seq", () => {
  const router = new EventRouter(() => {});
  const seen: number[] = [];
  router.on("ModuleLoaded", (e) => void seen.push(e.seq));
  // Replays carry the type's current seq (here 7, twice); the live one after them is 8.
  for (const e of [ev("ModuleLoaded", 7, true), ev("ModuleLoaded", 7, true), ev("ModuleLoaded", 8)]) {
    router.dispatch(e);
  }
  // A replay after live events does not move the sequence either.
  router.dispatch(ev("ModuleLoaded", 3, true));
  router.dispatch(ev("ModuleLoaded", 9));
  deepEqual(seen, [7, 7, 8, 3, 9]);
  deepEqual(router.gapStats, { gaps: 0, missed: 0 });

  // Unsubscribed from one type: the next event after re-subscribing is no loss; others still tracked.
  router.dispatch(ev("NewBlock", 1));
  router.reset(["ModuleLoaded"]);
  router.dispatch(ev("ModuleLoaded", 40));
  router.dispatch(ev("NewBlock", 3));
  deepEqual(router.gapStats, { gaps: 1, missed: 1 });
  // reset() with no types forgets every type.
  router.reset();
  router.dispatch(ev("NewBlock", 50));
  router.dispatch(ev("ModuleLoaded", 60));
  deepEqual(router.gapStats, { gaps: 1, missed: 1 });
});

Deno.test("EventRouter answers at once when every handler is synchronous, with a promise when one is not", async () => {
  const failures: string[] = [];
  const router = new EventRouter((type, err) => failures.push(`${type}: ${(err as Error).message}`));
  router.on("HealthCheck", () => ({ status: "healthy" }));
  router.on("HealthCheck", () => undefined);
  const sync = router.dispatch(ev("HealthCheck", 1));
  ok(!(sync instanceof Promise), "synchronous handlers: no promise");
  deepEqual(sync, { values: [{ status: "healthy" }], error: undefined });
  deepEqual(router.dispatch(ev("NewBlock", 1)), { values: [], error: undefined }, "no handlers");

  // One async handler: a promise, with the values in handler order and the first error.
  const off = router.on("HealthCheck", async () => {
    await null;
    throw new Error("disk gone");
  });
  router.on("HealthCheck", () => ({ status: "degraded" }));
  const pending = router.dispatch(ev("HealthCheck", 2));
  ok(pending instanceof Promise);
  const r = await pending;
  deepEqual(r.values, [{ status: "healthy" }, { status: "degraded" }]);
  equal((r.error as Error).message, "disk gone");
  off();

  // A handler that throws synchronously is reported once, and its error is the results' error.
  const off2 = router.on("HealthCheck", () => {
    throw new Error("bug");
  });
  const thrown = await router.dispatch(ev("HealthCheck", 3));
  equal((thrown.error as Error).message, "bug");
  off2();
  deepEqual(failures, ["HealthCheck: disk gone", "HealthCheck: bug"]);
});

Deno.test("EventRouter awaits a thenable that is not a Promise (a lazy query builder) like a promise", async () => {
  const failures: string[] = [];
  const router = new EventRouter((type, err) => failures.push(`${type}: ${(err as Error).message}`));
  let ran = false;
  // Runs only when awaited, as query builders do.
  const query = {
    then: (_ok: (v: unknown) => void, fail: (e: unknown) => void) => (ran = true, fail(new Error("db down"))),
  };
  router.on("StorageFlush", () => query);
  const r = router.dispatch(ev("StorageFlush", 1));
  ok(r instanceof Promise, "a thenable makes the results wait for it");
  equal(((await r).error as Error).message, "db down");
  ok(ran);
  deepEqual(failures, ["StorageFlush: db down"]);
});

Deno.test("EventRouter runs type handlers before onAny, and a throwing handler does not stop the others", () => {
  const failures: string[] = [];
  const router = new EventRouter((type, err) => failures.push(`${type}: ${(err as Error).message}`));
  const order: string[] = [];
  router.on("NewBlock", () => {
    throw new Error("boom");
  });
  router.on("NewBlock", () => void order.push("typed"));
  router.onAny(() => void order.push("any"));
  const off = router.on("NewBlock", () => void order.push("removed"));
  off();
  router.dispatch(ev("NewBlock", 1));
  deepEqual(order, ["typed", "any"]);
  deepEqual(failures, ["NewBlock: boom"]);
  equal(router.gapStats.gaps, 0);
});
