// Crash, restart, quarantine and stop, with real module processes.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { processAlive } from "../_host_helpers.ts";
import { inspectText } from "../../src/cli/format.ts";
import { manifest, testManager } from "./_managed.ts";

const exitAfterReady = (code: number, ms: number) => `mode = "exit"\nexit_code = ${code}\nexit_after_ms = ${ms}\n`;

Deno.test("A module that exits with code 1 is restarted with growing delays", async () => {
  await using t = await testManager(
    { flaky: { manifest: manifest("flaky"), config: exitAfterReady(1, 50) } },
    "[modules.restart]\ninitial_delay_ms = 100\nmultiplier = 2\nmax_crashes = 10\n",
  );
  await t.waitEvent("ModuleCrashed", (p) => p.restart_in_ms === 400);
  const crashes = t.of("ModuleCrashed", "flaky");
  deepEqual(crashes.slice(0, 3).map((c) => c.payload.restart_in_ms), [100, 200, 400]);
  equal(crashes[0].payload.code, 1);
  equal(crashes[0].payload.action, "restart");
  // Each restart waited at least its delay after the crash before the next start.
  const starts = t.of("ModuleStarted", "flaky");
  ok(starts.length >= 3);
  for (let i = 0; i < 2; i++) {
    const gap = starts[i + 1].at - crashes[i].at;
    ok(gap >= (crashes[i].payload.restart_in_ms as number), `restart ${i + 1} came after ${gap} ms`);
  }
  deepEqual(starts.slice(0, 3).map((s) => s.payload.restarts), [0, 1, 2]);
});

Deno.test("A module killed with SIGKILL is restarted, and repeated kills grow the delay", async () => {
  await using t = await testManager(
    { victim: { manifest: manifest("victim") } },
    "[modules.restart]\ninitial_delay_ms = 150\n",
  );
  for (let round = 0; round < 2; round++) {
    const started = await t.waitEvent("ModuleStarted", (p) => p.restarts === round);
    Deno.kill(started.payload.pid as number, "SIGKILL");
    const crash = await t.waitEvent("ModuleCrashed", (p) => p.restart_in_ms === 150 * 2 ** round);
    equal(crash.payload.signal, "SIGKILL");
  }
  const third = await t.waitEvent("ModuleStarted", (p) => p.restarts === 2);
  equal(t.manager.get("victim")!.state, "running");
  ok(await processAlive(third.payload.pid as number));
  equal(t.manager.list()[0].restarts, 2);
});

Deno.test("A crash loop ends in quarantine until the operator reloads the module", async () => {
  await using t = await testManager(
    { loop: { manifest: manifest("loop"), config: exitAfterReady(2, 0) } },
    "[modules.restart]\ninitial_delay_ms = 20\nmax_crashes = 3\nwindow_ms = 60000\n",
  );
  const q = await t.waitEvent("ModuleStateChanged", (p) => p.new_state === "quarantined");
  match(q.payload.reason as string, /crashed 3 times within 60 s \(last: exit code 2\)/);
  const status = t.manager.list()[0];
  equal(status.state, "quarantined");
  equal(status.health, "unhealthy");
  equal(status.pid, null);
  // No further start happens by itself.
  const starts = t.of("ModuleStarted", "loop").length;
  await new Promise((r) => setTimeout(r, 300));
  equal(t.of("ModuleStarted", "loop").length, starts);
  equal(t.of("ModuleCrashed", "loop").at(-1)!.payload.action, "quarantine");
  // The operator's reload gives it a fresh start.
  await Deno.writeTextFile(`${t.root}/modules/loop/config.toml`, "");
  const r = await t.manager.reload("loop");
  equal(r.success, true);
  equal(t.manager.get("loop")!.state, "running");
});

Deno.test("A module that keeps exiting with code 3 is quarantined with code 3 in every reason, before or after its handshake", async () => {
  const failStart = `env = { BLVM_TEST_MODE = "fail_start" }\ngrants = { env = ["BLVM_TEST_MODE"] }\n`;
  await using t = await testManager(
    {
      early: { manifest: manifest("early", "1.0.0", '[permissions]\nenv = ["BLVM_TEST_MODE"]') },
      late: { manifest: manifest("late"), config: exitAfterReady(3, 0) },
    },
    `[modules.restart]\ninitial_delay_ms = 20\nmax_crashes = 3\nwindow_ms = 60000\n[modules.early]\n${failStart}`,
  );
  for (const name of ["early", "late"]) {
    await t.waitEvent("ModuleStateChanged", (p) => p.name === name && p.new_state === "quarantined");
    const crashes = t.of("ModuleCrashed", name);
    deepEqual(crashes.map((c) => c.payload.code), [3, 3, 3], name);
    deepEqual(crashes.map((c) => c.payload.action), ["restart", "restart", "quarantine"], name);
    const last = name === "early" ? "exit code 3 before the handshake" : "exit code 3";
    const reason = `crashed 3 times within 60 s (last: ${last})`;
    const status = t.manager.inspect(name);
    deepEqual([status.state, status.reason], ["quarantined", reason]);
    ok(inspectText(status).includes(`  state:        quarantined (unhealthy) — ${reason}\n`), inspectText(status));
    for (const c of crashes) match(c.payload.reason as string, name === "early" ? /\(code 3\)/ : /^exit code 3$/);
  }
  // Never the old placeholder.
  ok(!t.events.some((e) => JSON.stringify(e.payload).includes("exit code 1")));
});

Deno.test("A graceful stop runs the module's cleanup before it exits", async () => {
  await using t = await testManager({ tidy: { manifest: manifest("tidy") } });
  const { pid } = t.manager.list()[0];
  await t.manager.unload("tidy", "operator");
  const cleanup = await Deno.readTextFile(`${t.root}/data/tidy/cleanup.txt`);
  match(cleanup, /^clean \d+$/);
  const stopped = t.of("ModuleStopped", "tidy")[0];
  equal(stopped.payload.code, 0);
  equal(stopped.payload.reason, "operator");
  equal(t.of("ModuleUnloaded", "tidy").length, 1);
  equal(await processAlive(pid!), false);
  equal(t.manager.list().length, 0);
  // The socket file is gone.
  equal([...Deno.readDirSync(`${t.root}/run`)].filter((e) => e.name.startsWith("tidy")).length, 0);
});

Deno.test("A module that ignores stop and SIGTERM is killed at the deadline", async () => {
  await using t = await testManager(
    { mule: { manifest: manifest("mule", "1.0.0", '[permissions]\nenv = ["BLVM_TEST_MODE"]') } },
    `[modules.mule]\nenv = { BLVM_TEST_MODE = "stubborn" }\ngrants = { env = ["BLVM_TEST_MODE"] }\n`,
    { stopMs: 300 },
  );
  const { pid } = t.manager.list()[0];
  const t0 = Date.now();
  await t.manager.unload("mule");
  const took = Date.now() - t0;
  ok(took >= 600, `stopped after ${took} ms, before the deadlines`);
  equal(await processAlive(pid!), false);
  equal(t.of("ModuleStopped", "mule")[0].payload.signal, "SIGKILL");
  ok(t.logs.some((l) => l.module === "mule" && l.message === "ignoring SIGTERM"));
});

Deno.test("A module that exits cleanly by itself is stopped, not restarted", async () => {
  await using t = await testManager({ oneshot: { manifest: manifest("oneshot"), config: exitAfterReady(0, 0) } });
  const s = await t.waitEvent("ModuleStopped", (p) => p.name === "oneshot");
  equal(s.payload.reason, "exited cleanly");
  await new Promise((r) => setTimeout(r, 250));
  equal(t.of("ModuleStarted", "oneshot").length, 1);
  equal(t.manager.get("oneshot")!.state, "stopped");
});

Deno.test("A required module that cannot start fails start-up; an optional one does not", async () => {
  const folders = {
    must: { manifest: manifest("must", "1.0.0", '[permissions]\nenv = ["BLVM_TEST_MODE"]') },
    nice: { manifest: manifest("nice", "1.0.0", '[permissions]\nenv = ["BLVM_TEST_MODE"]') },
  };
  const broken = `env = { BLVM_TEST_MODE = "fail_start" }\ngrants = { env = ["BLVM_TEST_MODE"] }\n`;
  await using opt = await testManager(folders, `[modules.nice]\n${broken}`);
  equal(opt.manager.get("must")!.state, "running");
  await opt.waitEvent("ModuleCrashed", (p) => p.name === "nice");

  await using req = await testManager(folders, `[modules.must]\nrequired = true\n${broken}`, { start: false });
  const err = await req.manager.start().then(() => undefined, (e) => e);
  ok(err, "start() resolved");
  equal(err.code, "REQUIRED_MODULE_FAILED");
  match(err.message, /must: .*exit/i);
  equal(req.manager.get("must")!.state, "failed");
});

Deno.test("A required module that ends in quarantine after start-up is reported as fatal", async () => {
  await using t = await testManager(
    { vital: { manifest: manifest("vital"), config: exitAfterReady(1, 0) } },
    "[modules.restart]\ninitial_delay_ms = 20\nmax_crashes = 2\n[modules.vital]\nrequired = true\n",
  );
  await t.waitEvent("ModuleStateChanged", (p) => p.new_state === "quarantined");
  equal(t.fatal.length, 1);
  equal((t.fatal[0] as Error & { code: string }).code, "REQUIRED_MODULE_FAILED");
  match(t.fatal[0].message, /Required module 'vital' is quarantined: crashed 2 times/);
});
