// Reload and hot reload, with real module processes and a real Deno.watchFs watcher.
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { fixtureSource } from "../_host_helpers.ts";
import { processAlive } from "../_host_helpers.ts";
import { FIXTURE, manifest, testManager, writeModules } from "./_managed.ts";

Deno.test("Editing a module's code hot-reloads it: new process, ModuleReloaded, config re-read", async () => {
  await using t = await testManager({ live: { manifest: manifest("live"), config: "greeting = 'hi'\n" } }, "", {
    watch: true,
  });
  const first = t.manager.list()[0].pid!;
  await Deno.writeTextFile(`${t.root}/modules/live/config.toml`, "greeting = 'hello'\n");
  await Deno.writeTextFile(`${t.root}/modules/live/main.ts`, `// edited\n${fixtureSource(FIXTURE)}`);
  const r = await t.waitEvent("ModuleReloaded", (p) => p.name === "live");
  equal(r.payload.success, true);
  // Two writes inside the debounce window make one reload.
  await new Promise((res) => setTimeout(res, 400));
  equal(t.of("ModuleReloaded", "live").length, 1);
  const now = t.manager.list()[0];
  equal(now.state, "running");
  ok(now.pid !== first);
  equal(await processAlive(first), false);
  equal(t.manager.inspect("live").config.greeting, "hello");
  // Unloaded then loaded again around the restart.
  deepEqual(t.of("ModuleUnloaded", "live").map((e) => e.payload.reason), ["reload"]);
});

Deno.test("A hot reload that would widen permissions is held until the operator approves it", async () => {
  await using t = await testManager(
    { wide: { manifest: manifest("wide") } },
    '[modules.wide.grants]\nnet = ["example.com"]\ncapabilities = ["read_mempool"]\n',
    { watch: true },
  );
  const pid = t.manager.list()[0].pid!;
  await Deno.writeTextFile(
    `${t.root}/modules/wide/module.toml`,
    manifest("wide", "1.1.0", 'capabilities = ["read_mempool"]\n[permissions]\nnet = ["example.com:443"]'),
  );
  const deadline = Date.now() + 10_000;
  while (!t.manager.list()[0].pending_approval.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const held = t.manager.list()[0];
  deepEqual(held.pending_approval, ["capability:read_mempool", "net:example.com:443"]);
  // The old version keeps running untouched.
  equal(held.pid, pid);
  equal(held.version, "1.0.0");
  equal(t.of("ModuleReloaded", "wide").length, 0);
  await rejects(t.manager.reload("wide"), (e: Error & { code: string }) => {
    equal(e.code, "APPROVAL_REQUIRED");
    match(e.message, /would widen its permissions \(\+capability:read_mempool, \+net:example\.com:443\)/);
    match(e.message, /deno task ctl reload wide --approve/);
    return true;
  });
  const r = await t.manager.reload("wide", { approve: true });
  deepEqual(r, { old_version: "1.0.0", new_version: "1.1.0", success: true });
  const d = t.manager.inspect("wide");
  deepEqual(d.grants!.net, ["example.com:443"]);
  ok(d.command!.some((a) => a.startsWith("--allow-net=") && a.includes("example.com:443")));
  deepEqual(d.pending_approval, []);
});

Deno.test("A reload that narrows permissions applies without approval; a broken edit keeps the old version", async () => {
  await using t = await testManager(
    { narrow: { manifest: manifest("narrow", "1.0.0", '[permissions]\nnet = ["example.com:443"]') } },
    '[modules.narrow.grants]\nnet = ["example.com"]\n',
  );
  await Deno.writeTextFile(`${t.root}/modules/narrow/module.toml`, manifest("narrow", "1.0.1"));
  equal((await t.manager.reload("narrow")).success, true);
  deepEqual(t.manager.inspect("narrow").grants!.net, []);
  const pid = t.manager.list()[0].pid;
  await Deno.writeTextFile(`${t.root}/modules/narrow/module.toml`, 'name = "narrow"\nversion = "2"\n');
  await rejects(t.manager.reload("narrow"), { code: "INVALID_MANIFEST" });
  equal(t.manager.list()[0].pid, pid);
  equal(t.manager.list()[0].state, "running");
});

Deno.test("Reloading a dependency restarts its dependents; unloading it stops them until it is back", async () => {
  await using t = await testManager({
    base: { manifest: manifest("base") },
    top: { manifest: manifest("top", "1.0.0", '[dependencies]\nbase = "^1"') },
  });
  const topPid = t.manager.list().find((m) => m.name === "top")!.pid!;
  await t.manager.reload("base");
  const top = t.manager.list().find((m) => m.name === "top")!;
  equal(top.state, "running");
  ok(top.pid !== topPid);

  await t.manager.unload("base");
  const orphan = t.manager.list().find((m) => m.name === "top")!;
  equal(orphan.state, "failed");
  match(orphan.reason, /dependency 'base' was unloaded/);
  equal(orphan.pid, null);
  // Loading a version that no longer satisfies ^1 keeps it failed; a good one brings it back.
  await Deno.writeTextFile(`${t.root}/modules/base/module.toml`, manifest("base", "2.0.0"));
  await t.manager.load("base");
  match(t.manager.list().find((m) => m.name === "top")!.reason, /'base' \^1, but 'base' is 2\.0\.0/);
  await t.manager.unload("base");
  await Deno.writeTextFile(`${t.root}/modules/base/module.toml`, manifest("base", "1.5.0"));
  await t.manager.load("base");
  equal(t.manager.list().find((m) => m.name === "top")!.state, "running");
});

Deno.test("A required module's dependency reloads without failing the host, and cannot be unloaded", async () => {
  await using t = await testManager(
    {
      dep: { manifest: manifest("dep") },
      mid: { manifest: manifest("mid", "1.0.0", '[dependencies]\ndep = "*"') },
      core: { manifest: manifest("core", "1.0.0", '[dependencies]\nmid = "*"') },
    },
    "[modules.core]\nrequired = true\n",
  );
  await t.manager.reload("dep");
  deepEqual(t.fatal, []);
  deepEqual(t.manager.list().map((m) => m.state), ["running", "running", "running"]);
  await rejects(t.manager.unload("dep"), (e: Error & { code: string }) => {
    equal(e.code, "CONFLICT");
    match(e.message, /required module\(s\) core depend on it/);
    return true;
  });
  equal(t.manager.get("dep")!.state, "running");
});

Deno.test("Loading a missing dependency brings back the whole chain blocked behind it", async () => {
  await using t = await testManager({
    a: { manifest: manifest("a", "1.0.0", '[dependencies]\nb = "*"') },
    b: { manifest: manifest("b", "1.0.0", '[dependencies]\nc = "*"') },
  });
  deepEqual(t.manager.list().map((m) => m.state), ["failed", "failed"]);
  await writeModules(t.root, { c: { manifest: manifest("c") } });
  await t.manager.load("c");
  deepEqual(t.manager.list().map((m) => [m.name, m.state]), [["a", "running"], ["b", "running"], ["c", "running"]]);
});

Deno.test("A symlinked module folder reloads from its link", async () => {
  await using t = await testManager({ real: { manifest: manifest("linked") } }, "", { start: false });
  await Deno.rename(`${t.root}/modules/real`, `${t.root}/elsewhere`);
  await Deno.symlink(`${t.root}/elsewhere`, `${t.root}/modules/linked`);
  await t.manager.start();
  equal(t.manager.get("linked")!.state, "running");
  const r = await t.manager.reload("linked");
  equal(r.success, true);
});
