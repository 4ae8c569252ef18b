import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { PendingCalls } from "../../src/transport/pending.ts";
import { ErrorCode, RemoteError } from "../../src/protocol/errors.ts";

/**
 * Await `p` while a ref'd timer keeps the event loop alive. PendingCalls unrefs its deadline timer
 * (in real use the open connection keeps the process alive), so a test that waits only for a
 * deadline must hold the loop open itself.
 */
async function alive<T>(p: Promise<T>): Promise<T> {
  const keep = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(keep);
  }
}

Deno.test("PendingCalls.settle() with ok=true resolves the call with the value", async () => {
  const calls = new PendingCalls();
  const { id, promise } = calls.open("get_block_height", { timeoutMs: 1000 });
  equal(calls.size, 1);
  equal(calls.settle(id, true, { height: 42 }), true);
  deepEqual(await promise, { height: 42 });
  equal(calls.size, 0);
});

Deno.test("PendingCalls.settle() with ok=false rejects with a RemoteError carrying code, message and data", async () => {
  const calls = new PendingCalls();
  const { id, promise } = calls.open("get_block_header", { timeoutMs: 1000 });
  equal(calls.settle(id, false, { code: "NOT_FOUND", message: "No block 00ff", data: { hash: "00ff" } }), true);
  await rejects(promise, (e: unknown) => {
    ok(e instanceof RemoteError);
    equal(e.code, ErrorCode.NotFound);
    equal(e.message, "No block 00ff");
    deepEqual(e.data, { hash: "00ff" });
    return true;
  });
  equal(calls.size, 0);
});

Deno.test("PendingCalls deadline rejects with RemoteError DEADLINE_EXCEEDED and calls onAbandon with the id", async () => {
  const calls = new PendingCalls();
  const abandoned: number[] = [];
  const { id, promise } = calls.open("slow_method", { timeoutMs: 10, onAbandon: (i) => abandoned.push(i) });
  await rejects(alive(promise), (e: unknown) => {
    ok(e instanceof RemoteError);
    equal(e.code, ErrorCode.DeadlineExceeded);
    equal(e.code, "DEADLINE_EXCEEDED");
    ok(e.message.includes("slow_method"), e.message);
    ok(e.message.includes("10 ms"), e.message);
    return true;
  });
  deepEqual(abandoned, [id]);
  equal(calls.size, 0);
});

Deno.test("PendingCalls abort signal rejects with the signal's reason and calls onAbandon", async () => {
  const calls = new PendingCalls();
  const abandoned: number[] = [];
  const ctl = new AbortController();
  const { id, promise } = calls.open("m", {
    timeoutMs: 10_000,
    signal: ctl.signal,
    onAbandon: (i) => abandoned.push(i),
  });
  const reason = new Error("user cancelled");
  ctl.abort(reason);
  await rejects(promise, (e: unknown) => {
    equal(e, reason);
    return true;
  });
  deepEqual(abandoned, [id]);
  equal(calls.size, 0);
});

Deno.test("PendingCalls.open() with an already-aborted signal rejects at once without registering", async () => {
  const calls = new PendingCalls();
  const abandoned: number[] = [];
  const reason = new Error("already");
  const { promise } = calls.open("m", {
    timeoutMs: 10_000,
    signal: AbortSignal.abort(reason),
    onAbandon: (i) => abandoned.push(i),
  });
  await rejects(promise, (e: unknown) => e === reason);
  equal(calls.size, 0);
  deepEqual(abandoned, []);
});

Deno.test("PendingCalls.settle() after the deadline returns false and changes nothing", async () => {
  const calls = new PendingCalls();
  const { id, promise } = calls.open("m", { timeoutMs: 5 });
  await rejects(alive(promise), RemoteError);
  equal(calls.settle(id, true, 1), false);
  equal(calls.size, 0);
});

Deno.test("PendingCalls.settle() after an abort returns false", async () => {
  const calls = new PendingCalls();
  const ctl = new AbortController();
  const { id, promise } = calls.open("m", { timeoutMs: 10_000, signal: ctl.signal });
  ctl.abort(new Error("stop"));
  await rejects(promise, /stop/);
  equal(calls.settle(id, true, 1), false);
});

Deno.test("PendingCalls.settle() a second time returns false", async () => {
  const calls = new PendingCalls();
  const { id, promise } = calls.open("m", { timeoutMs: 1000 });
  equal(calls.settle(id, true, "first"), true);
  equal(calls.settle(id, true, "second"), false);
  equal(await promise, "first");
});

Deno.test("PendingCalls.settle() for an unknown id returns false", () => {
  const calls = new PendingCalls();
  equal(calls.settle(999, true, null), false);
});

Deno.test("PendingCalls.settle() before the deadline means onAbandon is never called", async () => {
  const calls = new PendingCalls();
  let abandoned = 0;
  const ctl = new AbortController();
  const { id, promise } = calls.open("m", { timeoutMs: 20, signal: ctl.signal, onAbandon: () => abandoned++ });
  calls.settle(id, true, 1);
  await promise;
  ctl.abort(); // The abort listener must have been removed.
  await new Promise((r) => setTimeout(r, 40)); // And the deadline passes without abandoning it.
  equal(abandoned, 0);
});

Deno.test("PendingCalls.rejectAll() rejects every call in flight with the error", async () => {
  const calls = new PendingCalls();
  const a = calls.open("a", { timeoutMs: 10_000 });
  const b = calls.open("b", { timeoutMs: 10_000 });
  const err = new RemoteError(ErrorCode.ConnectionClosed, "closed");
  calls.rejectAll(err);
  equal(calls.size, 0);
  await rejects(a.promise, (e: unknown) => e === err);
  await rejects(b.promise, (e: unknown) => e === err);
  equal(calls.settle(a.id, true, 1), false);
});

Deno.test("PendingCalls.rejectAll() does not call onAbandon", async () => {
  const calls = new PendingCalls();
  let abandoned = 0;
  const { promise } = calls.open("a", { timeoutMs: 10_000, onAbandon: () => abandoned++ });
  calls.rejectAll(new Error("closed"));
  await rejects(promise, /closed/);
  equal(abandoned, 0);
});

Deno.test("PendingCalls.open() hands out unique ids", async () => {
  const calls = new PendingCalls();
  const opened = Array.from({ length: 100 }, () => calls.open("m", { timeoutMs: 10_000 }));
  const ids = opened.map((o) => o.id);
  equal(new Set(ids).size, 100);
  ok(ids.every((id) => Number.isInteger(id)));
  equal(calls.size, 100);
  // Ids are not reused after calls finish.
  for (const o of opened) calls.settle(o.id, true, null);
  await Promise.all(opened.map((o) => o.promise));
  const next = calls.open("m", { timeoutMs: 10_000 });
  ok(!ids.includes(next.id));
  calls.settle(next.id, true, null);
  await next.promise;
});

Deno.test("PendingCalls.settle() resolves only the call with the matching id", async () => {
  const calls = new PendingCalls();
  const a = calls.open("a", { timeoutMs: 1000 });
  const b = calls.open("b", { timeoutMs: 1000 });
  calls.settle(b.id, true, "B");
  calls.settle(a.id, true, "A");
  deepEqual(await Promise.all([a.promise, b.promise]), ["A", "B"]);
});

Deno.test("PendingCalls expires calls in deadline order, even when a shorter one is opened later", async () => {
  const calls = new PendingCalls();
  const order: string[] = [];
  const slow = calls.open("slow", { timeoutMs: 60 });
  const fast = calls.open("fast", { timeoutMs: 10 });
  const track = (name: string, p: Promise<unknown>) =>
    p.catch((e) => {
      ok(e instanceof RemoteError && e.code === "DEADLINE_EXCEEDED");
      order.push(name);
    });
  await alive(Promise.all([track("slow", slow.promise), track("fast", fast.promise)]));
  deepEqual(order, ["fast", "slow"]);
  equal(calls.size, 0);
});

Deno.test("PendingCalls still expires a later call after the earliest one is settled", async () => {
  const calls = new PendingCalls();
  const abandoned: number[] = [];
  const first = calls.open("first", { timeoutMs: 15 });
  const second = calls.open("second", { timeoutMs: 30, onAbandon: (i) => abandoned.push(i) });
  calls.settle(first.id, true, "done");
  equal(await first.promise, "done");
  await rejects(alive(second.promise), (e: unknown) => e instanceof RemoteError && e.code === "DEADLINE_EXCEEDED");
  deepEqual(abandoned, [second.id]);
});

Deno.test("PendingCalls does not expire a call before its own deadline when another expires", async () => {
  const calls = new PendingCalls();
  const short = calls.open("short", { timeoutMs: 5 });
  const long = calls.open("long", { timeoutMs: 10_000 });
  await rejects(alive(short.promise), RemoteError);
  equal(calls.size, 1);
  equal(calls.settle(long.id, true, 7), true);
  equal(await long.promise, 7);
});

Deno.test("PendingCalls deadline timer does not keep the process alive by itself", async () => {
  const url = new URL("../../src/transport/pending.ts", import.meta.url).href;
  const script = `import { PendingCalls } from ${JSON.stringify(url)};
const calls = new PendingCalls();
calls.open("m", { timeoutMs: 60_000 }).promise.catch(() => {});
console.log("opened");`;
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    cwd: new URL("../../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  equal(out.code, 0, new TextDecoder().decode(out.stderr));
  equal(new TextDecoder().decode(out.stdout).trim(), "opened");
  ok(performance.now() - started < 30_000, "the process waited for the 60 s deadline");
});

Deno.test({
  name: "PendingCalls with a deadline beyond 2^31-1 ms does not re-arm its timer in a loop",
  async fn() {
    const realSetTimeout = globalThis.setTimeout;
    let arms = 0;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      arms++;
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout;
    const calls = new PendingCalls();
    const { id, promise } = calls.open("m", { timeoutMs: 3e9 });
    const outcome = promise.then((v) => v, (e) => e);
    try {
      await new Promise((r) => realSetTimeout(r, 100));
      ok(arms <= 2, `timer armed ${arms} times in 100 ms`);
      equal(calls.settle(id, true, 1), true);
      equal(await outcome, 1);
    } finally {
      globalThis.setTimeout = realSetTimeout;
      calls.rejectAll(new Error("cleanup"));
      await outcome;
    }
  },
});
