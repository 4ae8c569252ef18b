// Module-to-module calls under the manager: the manifest's `[api] callers`, capabilities granted in
// blvm.toml, on_call activation by another module's call, discover_modules, ModuleApiRegistered and
// the traffic `ctl inspect` shows. Real module processes running tests/fixtures/api_module.ts.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { fixtureSource } from "../_host_helpers.ts";
import type { Outcome } from "../host/_api_fixture.ts";
import { type FolderSpec, manifest, type TestManager, testManager } from "./_managed.ts";

const API_FIXTURE = new URL("../fixtures/api_module.ts", import.meta.url).href;

/** A fixture module folder: requested capabilities, `[api] callers`, methods to provide, extra manifest TOML. */
function folder(
  name: string,
  o: { caps?: string[]; callers?: string[]; provide?: string[]; extra?: string },
): FolderSpec {
  const lines = [
    `capabilities = ${JSON.stringify(o.caps ?? [])}`,
    `[api]\ncallers = ${JSON.stringify(o.callers ?? [])}`,
    o.extra ?? "",
  ];
  return {
    manifest: manifest(name, "1.0.0", lines.join("\n")),
    config: `provide = ${JSON.stringify(o.provide ?? [])}\n`,
    main: fixtureSource(API_FIXTURE),
  };
}

/** `[modules.<name>]` granting capabilities. */
function grant(name: string, caps: string[]): string {
  return `[modules.${name}]\ngrants = { capabilities = ${JSON.stringify(caps)} }\n`;
}

/** Wait until every named module has logged "ready" (its API, if any, is registered). */
async function ready(t: TestManager, ...names: string[]): Promise<void> {
  await Promise.all(names.map((n) => t.waitLog(n, (m) => m === "ready")));
}

/** Module `from` makes one NodeAPI call. */
function run(t: TestManager, from: string, method: string, params: unknown = {}): Promise<Outcome> {
  return t.manager.invoke(from, "run", { method, params }, 30_000) as Promise<Outcome>;
}

const CALL = ["call_module", "register_module_api", "discover_modules"];

Deno.test("The manifest's [api] callers and the capabilities granted in blvm.toml decide who may call", async () => {
  await using t = await testManager(
    {
      a: folder("a", { caps: CALL, callers: ["b"], provide: ["echo"] }),
      b: folder("b", { caps: ["register_module_api"], callers: ["a"], provide: ["echo", "status"] }),
      c: folder("c", { caps: ["call_module"] }),
      // Asks for call_module, but the operator grants nothing.
      ungranted: folder("ungranted", { caps: ["call_module"] }),
    },
    grant("a", CALL) + grant("b", ["register_module_api"]) + grant("c", ["call_module"]),
  );
  await ready(t, "a", "b", "c", "ungranted");
  deepEqual(t.manager.inspect("ungranted").ungranted, ["capability:call_module"]);

  deepEqual(await run(t, "a", "call_module", { target: "b", method: "echo", params: { n: 1 } }), {
    ok: true,
    result: { params: { n: 1 }, caller: "a" },
  });
  deepEqual(await run(t, "a", "call_module", { target: "b", method: "status" }), { ok: true, result: { name: "b" } });

  const outsider = await run(t, "c", "call_module", { target: "b", method: "echo" });
  equal(outsider.code, "PERMISSION_DENIED", JSON.stringify(outsider));
  match(outsider.message!, /'b' does not list 'c' among the callers/);
  // b is not among a's callers either.
  const back = await run(t, "c", "call_module", { target: "a", method: "echo" });
  equal(back.code, "PERMISSION_DENIED", JSON.stringify(back));

  const noGrant = await run(t, "ungranted", "call_module", { target: "b", method: "echo" });
  equal(noGrant.code, "PERMISSION_DENIED");
  deepEqual(noGrant.data, { capability: "call_module", method: "call_module" });
  // Every refused caller is still served.
  for (const name of ["c", "ungranted"]) deepEqual(await run(t, name, "get_block_height"), { ok: true, result: 0 });
});

Deno.test("discover_modules, ModuleApiRegistered and ctl inspect show the registered APIs and the traffic", async () => {
  const registered: Record<string, unknown>[] = [];
  await using t = await testManager(
    {
      a: folder("a", { caps: CALL, provide: ["echo"] }),
      b: folder("b", { caps: ["register_module_api"], callers: ["a"], provide: ["status", "echo"] }),
      plain: folder("plain", {}),
      sleepy: folder("sleepy", { callers: ["a"], extra: "[activation]\non_call = true" }),
    },
    grant("a", CALL) + grant("b", ["register_module_api"]),
    { start: false },
  );
  t.manager.host.bus.watch("ModuleApiRegistered", (p) => registered.push(p as Record<string, unknown>));
  await t.manager.start();
  await ready(t, "a", "b", "plain");

  // One event per module that provided an API, with its methods sorted.
  const byName = Object.fromEntries(registered.map((p) => [p.name, p]));
  deepEqual(Object.keys(byName).sort(), ["a", "b"]);
  deepEqual(byName.b, { name: "b", version: "1.0.0", methods: ["echo", "status"] });
  deepEqual(byName.a, { name: "a", version: "1.0.0", methods: ["echo"] });

  const listed = await run(t, "a", "discover_modules");
  equal(listed.ok, true, JSON.stringify(listed));
  const mods = Object.fromEntries((listed.result as Record<string, unknown>[]).map((m) => [m.name, m]));
  deepEqual(Object.keys(mods).sort(), ["a", "b", "plain", "sleepy"]);
  deepEqual(mods.b.api, { version: "1.0.0", methods: ["echo", "status"] });
  equal(mods.b.state, "running");
  deepEqual(mods.b.capabilities, ["read_blockchain", "read_chain_state", "register_module_api", "subscribe_events"]);
  equal(mods.plain.api, null);
  // The lazy module is known but not started, so it has no API yet.
  equal(mods.sleepy.state, "discovered");
  equal(mods.sleepy.api, null);

  // Traffic: b answered a's two calls through its API; a's requests are counted, refusals included.
  await run(t, "a", "call_module", { target: "b", method: "status" });
  await run(t, "a", "call_module", { target: "b", method: "echo" });
  await run(t, "a", "get_mempool_size");
  const a = t.manager.inspect("a").traffic!;
  const b = t.manager.inspect("b").traffic!;
  deepEqual(b.api, { version: "1.0.0", methods: ["echo", "status"] });
  deepEqual(a.api, { version: "1.0.0", methods: ["echo"] });
  // a: register_module_api, discover_modules and two call_module answered; get_mempool_size denied.
  equal(a.requests.calls, 4);
  equal(a.requests.denied, 1);
  equal(a.requests.errors, 1);
  equal(b.requests.calls, 1);
  equal(t.manager.inspect("plain").traffic!.api, null);
  equal(t.manager.inspect("sleepy").traffic, null);
});

/** A caller `a` and a lazy `sleepy` that provides echo to it and starts on its first call. */
function lazyPair(): Promise<TestManager> {
  return testManager(
    {
      a: folder("a", { caps: CALL }),
      c: folder("c", { caps: CALL }),
      sleepy: folder("sleepy", {
        caps: ["register_module_api"],
        callers: ["a"],
        provide: ["echo"],
        extra: "[activation]\non_call = true",
      }),
    },
    grant("a", CALL) + grant("c", CALL) + grant("sleepy", ["register_module_api"]),
  );
}

Deno.test("A lazy module with on_call = true is started by another module's call_module", async () => {
  await using t = await lazyPair();
  await ready(t, "a");
  equal(t.manager.get("sleepy")!.state, "discovered");
  equal(t.manager.get("sleepy")!.handle, undefined);
  equal(t.of("ModuleStarted", "sleepy").length, 0);

  // The first call starts it (what that call answers is checked by the test below).
  await run(t, "a", "call_module", { target: "sleepy", method: "echo", params: "wake up" });
  await t.waitEvent("ModuleStarted", (p) => p.name === "sleepy");
  equal(t.manager.get("sleepy")!.state, "running");
  ok(t.manager.list().find((m) => m.name === "sleepy")!.pid! > 0);
  await ready(t, "sleepy");
  deepEqual(await run(t, "a", "call_module", { target: "sleepy", method: "echo", params: "again" }), {
    ok: true,
    result: { params: "again", caller: "a" },
  });
  equal(t.of("ModuleStarted", "sleepy").length, 1);
});

Deno.test({
  name: "The call_module that activates an on_call module gets that module's answer",
  fn: async () => {
    await using t = await lazyPair();
    await ready(t, "a");
    const out = await run(t, "a", "call_module", { target: "sleepy", method: "echo", params: "wake up" });
    deepEqual(out, { ok: true, result: { params: "wake up", caller: "a" } });
    equal(t.manager.get("sleepy")!.state, "running");
  },
});

Deno.test("A caller not among an on_call module's [api] callers is refused before the module is started", async () => {
  await using t = await lazyPair();
  await ready(t, "c");
  const out = await run(t, "c", "call_module", { target: "sleepy", method: "echo", params: "wake up" });
  equal(out.code, "PERMISSION_DENIED", JSON.stringify(out));
  deepEqual(out.data, { target: "sleepy" });
  equal(t.manager.get("sleepy")!.state, "discovered");
  equal(t.of("ModuleStarted", "sleepy").length, 0);
});
