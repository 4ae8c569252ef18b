// Concurrency and shutdown edges of the manager, with real module processes.
import { deepEqual, equal, ok } from "node:assert/strict";
import { processesUnder } from "../_host_helpers.ts";
import { manifest, testManager } from "./_managed.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("Shutdown while a lazy module is starting leaves nothing running, and later triggers start nothing", async () => {
  const t = await testManager({
    lazy: { manifest: manifest("lazy", "1.0.0", '[activation]\nevents = ["test.Trigger"]') },
  });
  t.manager.host.publish("test.Trigger", {});
  await t.manager.shutdown("test");
  t.manager.host.publish("test.Trigger", {});
  await sleep(300);
  equal(await processesUnder(`${t.root}/modules/lazy/main.ts`), 0);
  ok(t.manager.get("lazy")!.state !== "running");
  await Deno.remove(t.root, { recursive: true });
});

Deno.test("A module killed during shutdown is not restarted", async () => {
  const t = await testManager({ solo: { manifest: manifest("solo") } }, "[modules.restart]\ninitial_delay_ms = 1\n");
  const pid = t.manager.list()[0].pid!;
  const done = t.manager.shutdown("test");
  Deno.kill(pid, "SIGKILL");
  await done;
  await sleep(200);
  equal(t.of("ModuleCrashed", "solo").length, 0);
  equal(t.of("ModuleStarted", "solo").length, 1);
  equal(await processesUnder(`${t.root}/modules/solo/main.ts`), 0);
  await Deno.remove(t.root, { recursive: true });
});

Deno.test("Concurrent unload, reload and load of one module never leave an untracked process", async () => {
  await using t = await testManager({ x: { manifest: manifest("x") } });
  await Promise.allSettled([t.manager.unload("x"), t.manager.reload("x"), t.manager.load("x"), t.manager.load("x")]);
  await sleep(200);
  const tracked = t.manager.get("x")?.handle ? 1 : 0;
  equal(await processesUnder(`${t.root}/modules/x/main.ts`), tracked);
  if (tracked) equal(t.manager.get("x")!.state, "running");
});

Deno.test("Modules blocked behind a dependency start in dependency order when it comes back", async () => {
  await using t = await testManager({
    app: { manifest: manifest("app", "1.0.0", '[dependencies]\nlib = "*"') },
    lib: { manifest: manifest("lib", "1.0.0", '[dependencies]\ncore = "*"') },
    core: { manifest: manifest("core") },
  });
  await t.manager.unload("core");
  const before = t.of("ModuleStarted").length;
  await t.manager.load("core");
  deepEqual(t.of("ModuleStarted").slice(before).map((e) => e.payload.name), ["core", "lib", "app"]);
});

Deno.test("Reloading a lazy module as an eager one drops its old triggers", async () => {
  await using t = await testManager({
    flip: { manifest: manifest("flip", "1.0.0", '[activation]\nevents = ["test.Trigger"]') },
  });
  await Deno.writeTextFile(`${t.root}/modules/flip/module.toml`, manifest("flip", "1.1.0"));
  await t.manager.reload("flip");
  equal(t.of("ModuleStarted", "flip").length, 1);
  await t.manager.unload("flip");
  await t.manager.load("flip");
  await t.manager.unload("flip");
  t.manager.host.publish("test.Trigger", {});
  await sleep(300);
  equal(t.of("ModuleStarted", "flip").length, 2);
  equal(await processesUnder(`${t.root}/modules/flip/main.ts`), 0);
});

Deno.test("A required module that exits under policy 'never' is fatal", async () => {
  await using t = await testManager(
    { once: { manifest: manifest("once"), config: 'mode = "exit"\nexit_code = 1\nexit_after_ms = 300\n' } },
    '[modules.once]\nrequired = true\nrestart = { policy = "never" }\n',
  );
  await t.waitEvent("ModuleStateChanged", (p) => p.name === "once" && p.new_state === "failed");
  equal(t.fatal.length, 1);
  equal((t.fatal[0] as Error & { code: string }).code, "REQUIRED_MODULE_FAILED");
  ok(t.fatal[0].message.includes("restart policy does not restart it"), t.fatal[0].message);
});
