// Sticky lifecycle events through a real ModuleManager: a module that subscribes after start-up is
// told which modules are loaded (one ModuleLoaded each) and that start-up completed, and an unloaded
// module's ModuleLoaded is no longer replayed. The subscribers run tests/fixtures/events_module.ts,
// which subscribes when the test invokes its `sub` method.
import { deepEqual, equal, ok } from "node:assert/strict";
import { fixtureSource } from "../_host_helpers.ts";
import { manifest, testManager } from "./_managed.ts";

const EVENTS_FIXTURE = new URL("../fixtures/events_module.ts", import.meta.url).href;
const main = fixtureSource(EVENTS_FIXTURE);
const TYPES = ["ModuleLoaded", "NodeStartupCompleted"];

interface Received {
  type: string;
  seq: number;
  replay: boolean;
  payload: Record<string, unknown>;
}

/** Subscribe `name` to `types` now, then return every event it has received. */
async function subscribeLate(
  t: Awaited<ReturnType<typeof testManager>>,
  name: string,
  types: string[],
): Promise<Received[]> {
  const answer = await t.manager.invoke(name, "sub", { types }) as { ok: boolean; code?: string };
  ok(answer.ok, `subscribe of ${name} failed: ${answer.code}`);
  // Replays are written before the subscribe response, so they were handled before it returned.
  return ((await t.manager.invoke(name, "stats", {})) as { records: Received[] }).records;
}

const loadedNames = (events: Received[]) =>
  events.filter((e) => e.type === "ModuleLoaded").map((e) => e.payload.name as string).sort();

Deno.test("A module subscribing after start-up gets NodeStartupCompleted and one replayed ModuleLoaded per module", async () => {
  await using t = await testManager({
    alpha: { manifest: manifest("alpha") },
    beta: { manifest: manifest("beta", "2.1.0") },
    late: { manifest: manifest("late", "0.3.0"), main },
  });
  equal(t.manager.started, true);
  await t.waitLog("late", (m) => m === "ready");
  const got = await subscribeLate(t, "late", TYPES);

  // Everything it got is a replay: nothing was published since it subscribed.
  ok(got.every((e) => e.replay), JSON.stringify(got));
  const loaded = got.filter((e) => e.type === "ModuleLoaded");
  deepEqual(
    loaded.map((e) => e.payload).sort((a, b) => String(a.name).localeCompare(String(b.name))),
    [
      { name: "alpha", version: "1.0.0", lazy: false },
      { name: "beta", version: "2.1.0", lazy: false },
      { name: "late", version: "0.3.0", lazy: false },
    ],
  );
  const done = got.filter((e) => e.type === "NodeStartupCompleted");
  equal(done.length, 1);
  const { duration_ms, components } = done[0].payload as { duration_ms: number; components: string[] };
  ok(duration_ms > 0, `duration_ms ${duration_ms}`);
  ok(components.includes("modules") && components.includes("node"), JSON.stringify(components));
  for (const n of ["alpha", "beta", "late"]) ok(components.includes(`module:${n}`), JSON.stringify(components));
  // Published once: the replay carries its sequence number.
  equal(done[0].seq, 1);
});

Deno.test("After a module is unloaded, a new late subscriber no longer gets its ModuleLoaded", async () => {
  await using t = await testManager({
    alpha: { manifest: manifest("alpha") },
    beta: { manifest: manifest("beta") },
    first: { manifest: manifest("first"), main },
    second: { manifest: manifest("second"), main },
  });
  await t.waitLog("first", (m) => m === "ready");
  await t.waitLog("second", (m) => m === "ready");
  deepEqual(loadedNames(await subscribeLate(t, "first", TYPES)), ["alpha", "beta", "first", "second"]);

  await t.manager.unload("alpha");
  await t.waitEvent("ModuleUnloaded", (p) => p.name === "alpha");
  const got = await subscribeLate(t, "second", TYPES);
  deepEqual(loadedNames(got), ["beta", "first", "second"]);
  // Start-up completion is still replayed, once.
  equal(got.filter((e) => e.type === "NodeStartupCompleted").length, 1);

  // Subscribing again replays nothing new to the first subscriber: it already has these types.
  const again = await subscribeLate(t, "first", TYPES);
  deepEqual(loadedNames(again), ["alpha", "beta", "first", "second"]);
  equal(again.filter((e) => e.type === "NodeStartupCompleted").length, 1);
});

Deno.test("A module subscribed from its start gets NodeStartupCompleted exactly once", async () => {
  await using t = await testManager({
    alpha: { manifest: manifest("alpha") },
    early: { manifest: manifest("early"), main, config: 'subscribe = [{ types = ["NodeStartupCompleted"] }]\n' },
  });
  await t.waitLog("early", (m) => m === "ready");
  // Whether its subscription landed before or after start-up completed, it sees the event once.
  const stats = await t.manager.invoke("early", "stats", {}) as { records: Received[] };
  const done = stats.records.filter((e) => e.type === "NodeStartupCompleted");
  equal(done.length, 1, JSON.stringify(stats.records));
  ok((done[0].payload.components as string[]).includes("module:early"));
});
