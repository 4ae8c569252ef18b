// Every NodeAPI error code, as a real module process receives it over its connection, and the
// connection staying usable after each one.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { DEFAULT_CAPABILITIES } from "../../mod.ts";
import { type TestHost, testHost } from "../_host_helpers.ts";
import { CALLER, type Outcome, PROVIDER, run, start } from "./_api_fixture.ts";

const UNKNOWN_HASH = "ab".repeat(32);

/** The call must fail with `code`; returns the outcome for further checks. */
async function fails(t: TestHost, name: string, method: string, params: unknown, code: string): Promise<Outcome> {
  const out = await run(t, name, method, params);
  equal(out.ok, false, `${method} should fail with ${code}, got ${JSON.stringify(out)}`);
  equal(out.code, code, `${method}: ${out.message}`);
  return out;
}

/** The module's connection still serves requests: get_block_height answers the tip. */
async function stillConnected(t: TestHost, name: string, height: number): Promise<void> {
  const out = await run(t, name, "get_block_height");
  deepEqual(out, { ok: true, result: height }, `${name} should still be served`);
}

Deno.test("Each error code reaches the module and its connection keeps working afterwards", async () => {
  await using t = await testHost();
  t.backend.dev.generate(2);
  await start(
    t,
    { name: "plain" },
    { name: "full", capabilities: [...DEFAULT_CAPABILITIES, "read_utxo", "call_module"] },
  );
  const plain = t.host.module("plain")!;
  const full = t.host.module("full")!;

  const denied = await fails(t, "plain", "get_mempool_size", {}, "PERMISSION_DENIED");
  deepEqual(denied.data, { capability: "read_mempool", method: "get_mempool_size" });
  match(denied.message!, /'read_mempool'.*'plain'/);
  equal(plain.session.stats.denied, 1);
  await stillConnected(t, "plain", 2);

  const missing = await fails(t, "full", "get_block_header", { hash: UNKNOWN_HASH }, "NOT_FOUND");
  ok(missing.message!.includes(UNKNOWN_HASH), missing.message);
  await stillConnected(t, "full", 2);

  const negative = await fails(t, "full", "get_block_hash", { height: -1 }, "INVALID_PARAMS");
  match(negative.message!, /'height'.*-1/);
  await stillConnected(t, "full", 2);

  const list = await fails(t, "full", "get_block_height", [1], "INVALID_PARAMS");
  match(list.message!, /must be a map/);
  await stillConnected(t, "full", 2);

  const unknown = await fails(t, "full", "get_everything", {}, "METHOD_NOT_FOUND");
  match(unknown.message!, /get_everything/);
  await stillConnected(t, "full", 2);

  const utxo = await fails(t, "full", "get_utxo", { txid: UNKNOWN_HASH, vout: 0 }, "NOT_FOUND");
  ok(utxo.message!.includes(`${UNKNOWN_HASH}:0`), utxo.message);
  await stillConnected(t, "full", 2);

  const ghost = await fails(t, "full", "call_module", { target: "ghost", method: "echo" }, "UNAVAILABLE");
  match(ghost.message!, /'ghost'/);
  deepEqual(ghost.data, { target: "ghost" });
  await stillConnected(t, "full", 2);

  // The host counted exactly the failures it answered, and both processes are still the same ones.
  equal(full.session.stats.errors, 6);
  equal(plain.session.stats.errors, 1);
  equal(t.host.module("full"), full);
  equal(t.host.module("plain"), plain);
});

Deno.test("RATE_LIMITED: a burst over the limit is refused with retry_after_ms, and a later call succeeds", async () => {
  await using t = await testHost();
  await start(t, { name: "greedy", rateLimit: { per_second: 5, burst: 5 } });
  const greedy = t.host.module("greedy")!;
  // Let the bucket refill after the module's start-up, then fire 20 calls at once.
  await new Promise((r) => setTimeout(r, 1_200));
  const t0 = performance.now();
  const outcomes = await greedy.session.invoke("burst", { method: "get_block_height", count: 20 }, 30_000) as Outcome[];
  const took = performance.now() - t0;
  const served = outcomes.filter((o) => o.ok);
  const limited = outcomes.filter((o) => o.code === "RATE_LIMITED");
  equal(served.length + limited.length, 20, JSON.stringify(outcomes));
  // A full bucket of 5, and the refill (5 a second) while the burst arrives: on a busy machine it takes
  // longer to arrive, so the bound follows how long it took, not a guess.
  const refill = Math.floor((took / 1000) * 5);
  ok(served.length >= 5 && served.length <= 5 + refill, `served ${served.length} in ${Math.round(took)} ms`);
  ok(limited.length >= 20 - 5 - refill && limited.length > 0, `limited ${limited.length}`);
  equal(greedy.session.stats.rate_limited, limited.length);
  for (const o of limited) {
    const wait = o.data?.retry_after_ms as number;
    ok(Number.isInteger(wait) && wait > 0 && wait <= 200, `retry_after_ms ${wait}`);
    equal(o.data?.per_second, 5);
    equal(o.data?.burst, 5);
  }
  const wait = Math.max(...limited.map((o) => o.data!.retry_after_ms as number));
  await new Promise((r) => setTimeout(r, wait));
  await stillConnected(t, "greedy", 0);
});

/** Caller asks sleeper's `slow` (which takes `ms`) with a deadline of `deadlineMs`; returns the outcome and its time. */
async function callSlow(t: TestHost, ms: number, deadlineMs: number): Promise<{ out: Outcome; elapsed: number }> {
  await start(
    t,
    { name: "caller", capabilities: CALLER },
    { name: "sleeper", callers: ["caller"], capabilities: PROVIDER, config: { provide: ["slow"] } },
  );
  const started = performance.now();
  const params = { target: "sleeper", method: "slow", params: { ms } };
  const out = await run(t, "caller", "call_module", params, deadlineMs);
  return { out, elapsed: performance.now() - started };
}

Deno.test("DEADLINE_EXCEEDED: the caller is answered at its deadline and the callee's handler is cancelled", async () => {
  await using t = await testHost();
  const { out, elapsed } = await callSlow(t, 5_000, 300);
  equal(out.ok, false, JSON.stringify(out));
  equal(out.code, "DEADLINE_EXCEEDED", out.message);
  ok(elapsed >= 250 && elapsed < 3_000, `answered after ${elapsed} ms`);
  equal(t.host.module("caller")!.session.stats.errors, 1);
  // The callee was told to cancel: its handler's signal aborted well before its own 5 s were up.
  const finished = await t.waitForLog((r) => r.module === "sleeper" && r.message === "slow finished");
  equal(finished.fields?.aborted, true);
  equal(finished.fields?.caller, "caller");
  ok((finished.fields?.elapsed_ms as number) < 3_000, `callee ran ${finished.fields?.elapsed_ms} ms`);
  const log = await t.host.module("sleeper")!.session.invoke("slow_log", {}) as { aborted: boolean }[];
  deepEqual(log.map((r) => r.aborted), [true]);
  await stillConnected(t, "caller", 0);
});

Deno.test("DEADLINE_EXCEEDED: a deadline longer than the host's call timeout is capped to it", async () => {
  await using t = await testHost({ callTimeoutMs: 1_000 });
  // Uncapped, the 20 s deadline would let the 8 s call finish with a result.
  const { out, elapsed } = await callSlow(t, 8_000, 20_000);
  equal(out.code, "DEADLINE_EXCEEDED", JSON.stringify(out));
  ok(elapsed >= 900 && elapsed < 5_000, `answered after ${elapsed} ms`);
  const finished = await t.waitForLog((r) => r.module === "sleeper" && r.message === "slow finished");
  equal(finished.fields?.aborted, true);
  await stillConnected(t, "caller", 0);
});

Deno.test({
  name: "DEADLINE_EXCEEDED of a call_module is the host's own answer and counted in session.stats.deadline_exceeded",
  fn: async () => {
    await using t = await testHost();
    const { out } = await callSlow(t, 5_000, 300);
    equal(out.code, "DEADLINE_EXCEEDED", JSON.stringify(out));
    deepEqual(out.data, { deadline_ms: 300 });
    equal(t.host.module("caller")!.session.stats.deadline_exceeded, 1);
  },
});

Deno.test("CONFLICT: a bare call of a method two modules serve names both; a target resolves it", async () => {
  await using t = await testHost();
  await start(
    t,
    { name: "caller", capabilities: CALLER },
    { name: "alpha", callers: ["*"], capabilities: PROVIDER, config: { provide: ["status"] } },
    { name: "beta", callers: ["*"], capabilities: PROVIDER, config: { provide: ["status", "echo"] } },
  );
  const bare = await fails(t, "caller", "call_module", { method: "status" }, "CONFLICT");
  deepEqual(bare.data, { method: "status", candidates: ["alpha", "beta"] });
  match(bare.message!, /alpha and beta/);
  deepEqual(await run(t, "caller", "call_module", { target: "alpha", method: "status" }), {
    ok: true,
    result: { name: "alpha" },
  });
  deepEqual(await run(t, "caller", "call_module", { target: "beta", method: "status" }), {
    ok: true,
    result: { name: "beta" },
  });
  // A method only one module serves needs no target.
  deepEqual(await run(t, "caller", "call_module", { method: "echo", params: [7] }), {
    ok: true,
    result: { params: [7], caller: "caller" },
  });
  // Nobody serves it: NOT_FOUND, not CONFLICT.
  const none = await fails(t, "caller", "call_module", { method: "nobody_serves_this" }, "NOT_FOUND");
  deepEqual(none.data, { method: "nobody_serves_this" });
  await stillConnected(t, "caller", 0);
});
