// Module-to-module calls through the host with real module processes: both directions, the callee's
// manifest `callers`, the call_module capability, callee errors, and either side crashing mid-call.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { RemoteError } from "../../mod.ts";
import { type TestHost, testHost } from "../_host_helpers.ts";
import { BOTH, CALLER, type Outcome, PROVIDER, start } from "./_api_fixture.ts";

/** Module `from` calls `target.method(params)` through the host. */
function callModule(t: TestHost, from: string, target: string, method: string, params: unknown = {}): Promise<Outcome> {
  const args = { method: "call_module", params: { target, method, params } };
  return t.host.module(from)!.session.invoke("run", args, 30_000) as Promise<Outcome>;
}

/** The module's connection still serves requests. */
async function stillConnected(t: TestHost, name: string): Promise<void> {
  const out = await t.host.module(name)!.session.invoke("run", { method: "get_block_height" }, 30_000);
  deepEqual(out, { ok: true, result: 0 }, `${name} should still be served`);
}

Deno.test("call_module works both ways and the callee sees the verified caller", async () => {
  await using t = await testHost();
  await start(
    t,
    { name: "a", capabilities: [...BOTH, "discover_modules"], callers: ["b"], config: { provide: ["echo"] } },
    { name: "b", capabilities: BOTH, callers: ["a"], config: { provide: ["echo", "fail"], api_version: "2.0.0" } },
  );
  deepEqual(await callModule(t, "a", "b", "echo", { x: [1, "two"] }), {
    ok: true,
    result: { params: { x: [1, "two"] }, caller: "a" },
  });
  deepEqual(await callModule(t, "b", "a", "echo", "hi"), { ok: true, result: { params: "hi", caller: "b" } });
  // Discovery shows what each registered, at which version.
  const found = await t.host.module("a")!.session.invoke("run", { method: "discover_modules" }, 30_000) as Outcome;
  const apis = Object.fromEntries((found.result as { name: string; api: unknown }[]).map((m) => [m.name, m.api]));
  deepEqual(apis, { a: { version: "1.0.0", methods: ["echo"] }, b: { version: "2.0.0", methods: ["echo", "fail"] } });

  // The callee's own error code comes back to the caller, the message prefixed with target and method.
  const failed = await callModule(t, "a", "b", "fail", { code: "TEAPOT", message: "no tea here" });
  equal(failed.code, "TEAPOT");
  equal(failed.message, "b.fail: no tea here");
  deepEqual(failed.data, { target: "b", method: "fail" });
  // Structured data the callee attaches to its error reaches the caller unchanged.
  const withData = await callModule(t, "a", "b", "fail", { code: "TEAPOT", message: "m", data: { kettle: 2 } });
  deepEqual(withData.data, { kettle: 2 });

  // A method the callee serves to the host but did not register is not callable by modules.
  const unregistered = await callModule(t, "a", "b", "status");
  equal(unregistered.code, "NOT_FOUND");
  match(unregistered.message!, /does not serve 'status'; it serves echo, fail/);
  deepEqual(unregistered.data, { target: "b", method: "status" });
  await stillConnected(t, "a");
  await stillConnected(t, "b");
});

Deno.test("The callee's callers list and the caller's call_module capability are enforced", async () => {
  await using t = await testHost();
  await start(
    t,
    { name: "open", capabilities: PROVIDER, callers: ["*"], config: { provide: ["echo"] } },
    { name: "picky", capabilities: PROVIDER, callers: ["a"], config: { provide: ["echo"] } },
    { name: "closed", capabilities: PROVIDER, config: { provide: ["echo"] } },
    { name: "a", capabilities: CALLER },
    { name: "c", capabilities: CALLER },
    { name: "nocap" },
  );
  equal((await callModule(t, "a", "picky", "echo")).ok, true);
  const outsider = await callModule(t, "c", "picky", "echo");
  equal(outsider.code, "PERMISSION_DENIED", JSON.stringify(outsider));
  match(outsider.message!, /'picky' does not list 'c' among the callers/);
  deepEqual(outsider.data, { target: "picky" });

  // `*` lets anyone call.
  deepEqual(await callModule(t, "c", "open", "echo", 1), { ok: true, result: { params: 1, caller: "c" } });
  deepEqual(await callModule(t, "a", "open", "echo", 2), { ok: true, result: { params: 2, caller: "a" } });
  // No callers at all: nobody may call, not even with the capability.
  equal((await callModule(t, "a", "closed", "echo")).code, "PERMISSION_DENIED");

  // Without the capability the request never reaches the callee.
  const noCap = await callModule(t, "nocap", "open", "echo");
  equal(noCap.code, "PERMISSION_DENIED");
  deepEqual(noCap.data, { capability: "call_module", method: "call_module" });
  equal(t.host.module("nocap")!.session.stats.denied, 1);
  // Refusals leave every connection usable.
  for (const name of ["a", "c", "nocap"]) await stillConnected(t, name);
});

Deno.test("A callee that crashes mid-call makes the call UNAVAILABLE naming it; the caller's connection lives on", async () => {
  await using t = await testHost();
  await start(
    t,
    { name: "a", capabilities: CALLER },
    { name: "b", capabilities: PROVIDER, callers: ["a"], config: { provide: ["crash", "echo"] } },
  );
  const b = t.host.module("b")!;
  const out = await callModule(t, "a", "b", "crash");
  equal(out.ok, false, JSON.stringify(out));
  equal(out.code, "UNAVAILABLE");
  match(out.message!, /'b' disconnected before answering 'crash'/);
  deepEqual(out.data, { target: "b", method: "crash" });
  // It really was mid-call: b got the invocation, then exited with the fixture's code.
  await t.waitForLog((r) => r.module === "b" && r.message === "crashing");
  equal((await b.process.status).code, 3);

  await stillConnected(t, "a");
  const after = await callModule(t, "a", "b", "echo");
  equal(after.code, "UNAVAILABLE");
  match(after.message!, /No module named 'b'/);
});

Deno.test("A caller that crashes mid-call gets the callee's handler cancelled", async () => {
  await using t = await testHost();
  await start(
    t,
    { name: "a", capabilities: CALLER },
    { name: "b", capabilities: PROVIDER, callers: ["a"], config: { provide: ["slow"] } },
  );
  const a = t.host.module("a")!;
  // A waits on b.slow for up to 20 s; the host's invocation of A's `run` fails once A is gone.
  const inFlight = callModule(t, "a", "b", "slow", { ms: 20_000 }).then(() => undefined, (e) => e);
  const startedLog = await t.waitForLog((r) => r.module === "b" && r.message === "slow started");
  equal(startedLog.fields?.caller, "a");
  const crash = a.session.invoke("crash", {}, 10_000).then(() => undefined, (e) => e);
  equal((await a.process.status).code, 3);

  const finished = await t.waitForLog((r) => r.module === "b" && r.message === "slow finished", 15_000);
  equal(finished.fields?.aborted, true);
  ok((finished.fields?.elapsed_ms as number) < 15_000, `callee ran ${finished.fields?.elapsed_ms} ms`);
  for (const e of [await inFlight, await crash]) {
    ok(e instanceof RemoteError, String(e));
    equal(e.code, "CONNECTION_CLOSED");
  }
  // The callee itself is unharmed and remembers the cancelled call.
  deepEqual(await t.host.module("b")!.session.invoke("slow_log", {}), [finished.fields]);
});
