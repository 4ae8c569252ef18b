import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { ModuleStartError, RemoteError } from "../../mod.ts";
import { FIXTURES, processAlive, processesUnder, testHost } from "../_host_helpers.ts";

Deno.test("Host runs a module end to end: subscribe, event, NodeAPI calls, log", async () => {
  await using t = await testHost();
  t.backend.dev.generate(3);
  const m = await t.host.startModule({
    name: "echo",
    entry: `${FIXTURES}echo_module.ts`,
    config: { greeting: "hi", n: 2 },
  });
  const ready = await t.waitForLog((r) => r.message === "ready");
  // Module side: typed config and its own data dir arrived through the handshake.
  deepEqual(ready.fields?.config, { greeting: "hi", n: 2 });
  equal(ready.fields?.dataDir, m.dataDir);

  equal(t.host.publish("test.Ping", { nonce: 42 }), 1);
  const pong = await t.waitForLog((r) => r.message === "pong");
  const tip = await t.backend.getTip();
  // Module side: it received the event and got correct NodeAPI answers.
  equal(pong.fields?.seq, 1);
  deepEqual(pong.fields?.payload, { nonce: 42 });
  equal(pong.fields?.height, 3);
  equal(pong.fields?.tip, tip.hash);
  // Host side: it served exactly the subscribe plus the two calls, with no errors.
  equal(m.session.stats.calls, 3);
  equal(m.session.stats.errors, 0);
  equal(pong.module, "echo");
});

Deno.test("Host.publish() reaches only subscribers and numbers events per type", async () => {
  await using t = await testHost();
  await t.host.startModule({ name: "echo", entry: `${FIXTURES}echo_module.ts` });
  await t.waitForLog((r) => r.message === "ready");
  equal(t.host.publish("NotSubscribed", {}), 0);
  t.host.publish("test.Ping", { i: 1 });
  t.host.publish("test.Ping", { i: 2 });
  await t.waitForLog((r) => r.message === "pong" && r.fields?.seq === 2);
  const seqs = t.logs.filter((r) => r.message === "pong").map((r) => r.fields?.seq).sort();
  deepEqual(seqs, [1, 2]);
});

Deno.test("ModuleSession.invoke() calls a method the module serves", async () => {
  await using t = await testHost();
  const m = await t.host.startModule({ name: "echo", entry: `${FIXTURES}echo_module.ts` });
  await t.waitForLog((r) => r.message === "ready");
  deepEqual(await m.session.invoke("echo", { x: [1, 2] }), { params: { x: [1, 2] }, caller: null });
  await rejects(
    m.session.invoke("nope", {}),
    (e: unknown) => e instanceof RemoteError && e.code === "METHOD_NOT_FOUND",
  );
});

Deno.test("Host.stopModule() runs the module's cleanup, then it exits 0 and its socket is gone", async () => {
  await using t = await testHost();
  const m = await t.host.startModule({ name: "echo", entry: `${FIXTURES}echo_module.ts` });
  await t.waitForLog((r) => r.message === "ready");
  const status = await t.host.stopModule("echo");
  equal(status?.code, 0);
  equal(status?.signal, null);
  ok(m.session.stopAcked);
  equal(await Deno.readTextFile(`${m.dataDir}/stopped.txt`), "clean");
  equal(await processAlive(m.pid), false);
  await rejects(Deno.stat(m.socketPath));
  equal(t.host.module("echo"), undefined);
});

Deno.test("Host starts modules with exactly one connection: the socket file is removed after the handshake", async () => {
  await using t = await testHost();
  const m = await t.host.startModule({ name: "echo", entry: `${FIXTURES}echo_module.ts` });
  await rejects(Deno.connect({ transport: "unix", path: m.socketPath }));
  const runtime = (await Deno.stat(t.host.runtimeDir)).mode! & 0o777;
  equal(runtime, 0o700);
});

Deno.test("Closing the host's side of the socket makes the module exit by itself", async () => {
  await using t = await testHost({ stopTimeoutMs: 5_000 });
  const m = await t.host.startModule({ name: "echo", entry: `${FIXTURES}echo_module.ts` });
  await t.waitForLog((r) => r.message === "ready");
  ok(await processAlive(m.pid));
  const started = performance.now();
  await m.session.connection.close();
  const status = await m.process.status;
  // Exit code 1 and no signal: the SDK exited on its own, well before the host would signal it.
  equal(status.code, 1);
  equal(status.signal, null);
  ok(performance.now() - started < 4_000);
  equal(await processAlive(m.pid), false);
});

for (
  const [scenario, code] of [
    ["bad_token", "UNAUTHORIZED"],
    ["bad_version", "VERSION_MISMATCH"],
    ["crash", "EXITED"],
  ] as const
) {
  Deno.test(`Host.startModule() fails with ${code} and leaves no process for scenario ${scenario}`, async () => {
    await using t = await testHost();
    const err = await t.host.startModule({
      name: "bad",
      entry: `${FIXTURES}misbehave_module.ts`,
      env: { BLVM_TEST_SCENARIO: scenario },
      grants: { env: ["BLVM_TEST_SCENARIO"] },
    }).catch((e) => e);
    ok(err instanceof ModuleStartError, String(err));
    equal(err.code, code);
    equal(t.host.modules.length, 0);
    equal(await processesUnder(t.host.runtimeDir), 0);
    if (scenario === "crash") ok(err.message.includes("fixture crashed on purpose"), err.message);
    if (scenario === "bad_version") {
      // The module's own side saw the same code from the SDK.
      await t.waitForLog((r) => r.message === "sdk error VERSION_MISMATCH");
    }
    if (scenario === "bad_token") {
      const reply = await t.waitForLog((r) => r.message.startsWith("reply "));
      equal(JSON.parse(reply.message.slice(6)).code, "UNAUTHORIZED");
    }
  });
}

Deno.test("Host.startModule() kills a module that never connects, at the handshake deadline", async () => {
  await using t = await testHost({ handshakeTimeoutMs: 1_500 });
  const err = await t.host.startModule({
    name: "silent",
    entry: `${FIXTURES}misbehave_module.ts`,
    env: { BLVM_TEST_SCENARIO: "silent" },
    grants: { env: ["BLVM_TEST_SCENARIO"] },
  }).catch((e) => e);
  ok(err instanceof ModuleStartError);
  equal(err.code, "HANDSHAKE_TIMEOUT");
  equal(await processesUnder(t.host.runtimeDir), 0);
});

Deno.test("Host.startModule() rejects invalid specs with a clear error", async () => {
  await using t = await testHost();
  const bad = async (spec: Parameters<typeof t.host.startModule>[0], text: RegExp) => {
    const e = await t.host.startModule(spec).catch((e) => e);
    ok(e instanceof ModuleStartError && text.test(e.message), String(e));
  };
  await bad({ name: "../x", entry: `${FIXTURES}echo_module.ts` }, /name must be/);
  await bad({ name: "missing", entry: `${FIXTURES}nope.ts` }, /entry .* is not a readable file/);
  await bad({ name: "comma", entry: `${FIXTURES}echo_module.ts`, grants: { read: ["/tmp/a,/etc"] } }, /comma/);
  await bad(
    { name: "env", entry: `${FIXTURES}echo_module.ts`, env: { LD_PRELOAD: "/tmp/x.so" } },
    /LD_PRELOAD' is not in grants.env/,
  );
  await bad({
    name: "env2",
    entry: `${FIXTURES}echo_module.ts`,
    env: { DENO_DIR: "/x" },
    grants: { env: ["DENO_DIR"] },
  }, /steer the runtime/);
  equal(await processesUnder(t.host.runtimeDir), 0);
});

Deno.test("Host.startModule() reports a missing deno binary as SPAWN_FAILED and leaves no socket", async () => {
  await using t = await testHost({ denoPath: "/nonexistent/deno" });
  const err = await t.host.startModule({ name: "echo", entry: `${FIXTURES}echo_module.ts` }).catch((e) => e);
  ok(err instanceof ModuleStartError, String(err));
  equal(err.code, "SPAWN_FAILED");
  ok(err.message.includes("/nonexistent/deno"), err.message);
  await rejects(Deno.stat(`${t.host.runtimeDir}/echo.sock`), Deno.errors.NotFound);
});

Deno.test("Host.stopModule() escalates to SIGTERM, then SIGKILL to the group, for a module that ignores both", async () => {
  await using t = await testHost({ stopTimeoutMs: 300, killGraceMs: 300 });
  const m = await t.host.startModule({
    name: "stubborn",
    entry: `${FIXTURES}misbehave_module.ts`,
    env: { BLVM_TEST_SCENARIO: "stubborn" },
    grants: { env: ["BLVM_TEST_SCENARIO"] },
  });
  await t.waitForLog((r) => r.message === "stubborn ready");
  const started = performance.now();
  const status = await t.host.stopModule("stubborn");
  const elapsed = performance.now() - started;
  equal(status?.signal, "SIGKILL");
  ok(elapsed >= 550, `killed after ${elapsed} ms, before stop deadline + SIGTERM grace`);
  await t.waitForLog((r) => r.message === "ignoring SIGTERM");
  equal(await processAlive(m.pid), false);
});
