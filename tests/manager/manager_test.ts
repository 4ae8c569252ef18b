// Discovery, dependency order, broken manifests, lazy loading, sticky ModuleLoaded and hot reload,
// with real module processes.
import { deepEqual, equal, match, rejects } from "node:assert/strict";
import { processesUnder } from "../_host_helpers.ts";
import { manifest, testManager } from "./_managed.ts";

Deno.test("Dependency order and failure propagation follow the manifests", async () => {
  await using t = await testManager({
    app: { manifest: manifest("app", "1.0.0", '[dependencies]\nlib = "^1.2"\nutil = "~1.0.0"') },
    lib: { manifest: manifest("lib", "1.3.0", '[dependencies]\nutil = ">=1.0.0 <2"') },
    util: { manifest: manifest("util", "1.0.4") },
    zeta: { manifest: manifest("zeta") },
    orphan: { manifest: manifest("orphan", "1.0.0", '[dependencies]\nghost = "^1"') },
    heir: { manifest: manifest("heir", "1.0.0", '[dependencies]\norphan = "*"') },
    picky: { manifest: manifest("picky", "1.0.0", '[dependencies]\nlib = "^2"') },
    relaxed: { manifest: manifest("relaxed", "1.0.0", '[optional_dependencies]\nghost = "^1"\nzeta = "*"') },
  });
  const started = t.of("ModuleStarted").map((e) => e.payload.name);
  // Dependencies first; ties broken by name.
  deepEqual(started, ["util", "lib", "app", "zeta", "relaxed"]);
  const state = Object.fromEntries(t.manager.list().map((m) => [m.name, m]));
  equal(state.orphan.state, "failed");
  match(state.orphan.reason, /depends on 'ghost' \(\^1\), which is not installed/);
  equal(state.heir.state, "failed");
  match(state.heir.reason, /'orphan'.*'ghost'/);
  equal(state.picky.state, "failed");
  match(state.picky.reason, /'lib' \^2, but 'lib' is 1\.3\.0/);
  equal(state.relaxed.state, "running");
  // Failed modules never spawned a process.
  for (const n of ["orphan", "heir", "picky"]) equal(t.of("ModuleStarted", n).length, 0);
});

Deno.test("A dependency cycle fails its members and their dependents, never the others", async () => {
  await using t = await testManager({
    a: { manifest: manifest("a", "1.0.0", '[dependencies]\nb = "*"') },
    b: { manifest: manifest("b", "1.0.0", '[dependencies]\na = "*"') },
    c: { manifest: manifest("c", "1.0.0", '[dependencies]\na = "*"') },
    d: { manifest: manifest("d") },
  });
  const s = Object.fromEntries(t.manager.list().map((m) => [m.name, m]));
  match(s.a.reason, /dependency cycle: a → b → a/);
  match(s.b.reason, /dependency cycle: a → b → a/);
  equal(s.c.state, "failed");
  equal(s.d.state, "running");
});

Deno.test("A broken manifest is reported with file and field while the other modules load", async () => {
  await using t = await testManager({
    bad: { manifest: 'name = "bad"\nversion = "one"\nentry_point = "main.ts"\ncapabilities = ["fly"]\n' },
    garbled: { manifest: 'name = "garbled"\nversion = \n' },
    good: { manifest: manifest("good") },
    user: { manifest: manifest("user", "1.0.0", '[dependencies]\nbad = "*"') },
  });
  const s = Object.fromEntries(t.manager.list().map((m) => [m.name, m]));
  equal(s.good.state, "running");
  equal(s.bad.state, "failed");
  match(s.bad.reason, /modules\/bad\/module\.toml: version: /);
  match(s.bad.reason, /capabilities\[0\]/);
  equal(s.garbled.state, "failed");
  match(s.garbled.reason, /modules\/garbled\/module\.toml/);
  equal(s.user.state, "failed");
  match(s.user.reason, /'bad'/);
  equal(t.of("ModuleDiscovered", "bad").length, 0);
});

Deno.test("A lazily loaded module is not spawned until its trigger event, which it then receives", async () => {
  const lazy = manifest("sleepy", "1.0.0", '[activation]\nevents = ["test.Trigger"]');
  await using t = await testManager({ sleepy: { manifest: lazy, config: 'subscribe = ["test.Trigger"]\n' } });
  const before = t.manager.list()[0];
  equal(before.state, "discovered");
  equal(before.pid, null);
  equal(before.lazy, true);
  equal(t.of("ModuleLoaded", "sleepy")[0].payload.lazy, true);
  equal(await processesUnder(`${t.root}/modules/sleepy/main.ts`), 0);
  await new Promise((r) => setTimeout(r, 200));
  equal(t.of("ModuleStarted").length, 0);

  t.manager.host.publish("test.Trigger", { n: 1 });
  t.manager.host.publish("test.Trigger", { n: 2 });
  // Both trigger events arrive, in order, after the handshake.
  await t.waitLog("sleepy", (m) => m === "event test.Trigger");
  const deadline = Date.now() + 5_000;
  const got = () => t.logs.filter((l) => l.module === "sleepy" && l.message === "event test.Trigger");
  while (got().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  deepEqual(got().map((l) => JSON.parse(String(l.fields?.payload)).n), [1, 2]);
  equal(t.of("ModuleStarted", "sleepy").length, 1);
  equal(t.manager.get("sleepy")!.state, "running");
});

Deno.test("A module with on_call activation starts on its first call", async () => {
  const lazy = manifest("oncall", "1.0.0", "[activation]\non_call = true");
  await using t = await testManager({ oncall: { manifest: lazy } });
  equal(t.manager.list()[0].pid, null);
  const result = await t.manager.invoke("oncall", "ping", { x: 1 }) as Record<string, unknown>;
  deepEqual(result, { pong: "oncall", params: { x: 1 }, caller: "operator" });
  equal(t.manager.get("oncall")!.state, "running");
  await rejects(t.manager.invoke("nobody", "ping", {}), { code: "NOT_FOUND" });
});

Deno.test("A module that subscribes to ModuleLoaded late is told about every module already loaded", async () => {
  await using t = await testManager({
    alpha: { manifest: manifest("alpha") },
    beta: { manifest: manifest("beta", "2.1.0") },
    watcher: {
      manifest: manifest("watcher", "1.0.0", '[dependencies]\nalpha = "*"\nbeta = "*"'),
      config: 'subscribe = ["ModuleLoaded"]\n',
    },
  });
  await t.waitLog("watcher", (m) => m === "ready");
  const seen = t.logs.filter((l) => l.module === "watcher" && l.message === "event ModuleLoaded")
    .map((l) => JSON.parse(String(l.fields?.payload)).name);
  deepEqual(seen.sort(), ["alpha", "beta", "watcher"]);
});
