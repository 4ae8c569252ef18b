// NodeStartupCompleted and the shutdown sequence, observed by real module processes that record what
// they receive (tests/fixtures/janitor_module.ts).
import { deepEqual, equal, ok } from "node:assert/strict";
import { testManager } from "../manager/_managed.ts";
import { dataDir, folder, janitorFor, ready, type Rec, recorded, until } from "./_janitor.ts";

const types = (recs: Rec[]) =>
  recs.map((r) => r.type).filter((type) => !["_subscribing", "_subscribed"].includes(type));

Deno.test("NodeStartupCompleted reaches a module subscribed from its start live, once, after the manager waited for it", async () => {
  await using t = await testManager(
    { early: folder("early", `record = ["NodeStartupCompleted"]\nsubscribe_delay_ms = 1000\n`) },
    // Top-level [modules] keys must come before a sub-table: the helper otherwise appends them after its
    // own [modules.restart].
    "startup_wait_ms = 5000\n[modules.restart]\ninitial_delay_ms = 100\n",
    { start: false },
  );
  let publishedAt = 0;
  t.manager.host.bus.watch("NodeStartupCompleted", () => publishedAt = Date.now());
  await t.manager.start();
  ok(publishedAt > 0, "start() returned without publishing NodeStartupCompleted");
  const got = await until("NodeStartupCompleted in events.jsonl", async () => {
    const recs = await recorded(t, "early");
    return recs.some((r) => r.type === "NodeStartupCompleted") ? recs : undefined;
  });
  const startups = got.filter((r) => r.type === "NodeStartupCompleted");
  equal(startups.length, 1);
  equal(startups[0].replay, false, "a module subscribed before start-up completed gets the live event");
  const payload = startups[0].payload!;
  ok(typeof payload.duration_ms === "number" && payload.duration_ms > 0, `duration_ms ${payload.duration_ms}`);
  // The module waited a second before subscribing, and start-up waited for it.
  ok((payload.duration_ms as number) >= 900, `duration_ms ${payload.duration_ms} < the module's subscribe delay`);
  const components = payload.components as string[];
  ok(components.includes("module:early"), `components: ${components}`);
  ok(components.includes("node") && components.includes("modules"), `components: ${components}`);
  const subscribing = got.find((r) => r.type === "_subscribing")!;
  ok(publishedAt >= subscribing.at, "NodeStartupCompleted was published before the module subscribed");
  ok(startups[0].at >= subscribing.at);
  // No second copy (live or replayed) arrives later.
  await new Promise((r) => setTimeout(r, 300));
  equal((await recorded(t, "early")).filter((r) => r.type === "NodeStartupCompleted").length, 1);
});

Deno.test("Without startup_wait_ms a module that subscribes late gets NodeStartupCompleted as a replay", async () => {
  await using t = await testManager(
    { late: folder("late", `record = ["NodeStartupCompleted"]\nsubscribe_delay_ms = 1000\n`) },
  );
  const startup = await until("NodeStartupCompleted in events.jsonl", async () => {
    return (await recorded(t, "late")).find((r) => r.type === "NodeStartupCompleted");
  });
  equal(startup.replay, true);
  ok((startup.payload!.components as string[]).includes("module:late"));
});

Deno.test("Shutdown runs NodeShutdown, StorageFlush, StorageFlushCompleted, NodeShutdownCompleted, then stop", async () => {
  const record = `record = ["NodeShutdown", "StorageFlush", "StorageFlushCompleted", "NodeShutdownCompleted"]\n`;
  await using t = await testManager({ watcher: folder("watcher", record) });
  await ready(t, "watcher");
  const janitor = janitorFor(t, { shutdown_timeout_seconds: 5 });
  const report = await janitor.shutdown("admin: test");
  const recs = await recorded(t, "watcher");
  deepEqual(types(recs), [
    "NodeShutdown",
    "StorageFlush",
    "StorageFlushCompleted",
    "NodeShutdownCompleted",
    "_stopped",
  ]);
  const [shutdown, flush, flushed] = recs.filter((r) => !r.type.startsWith("_"));
  equal(shutdown.replay, false);
  deepEqual(shutdown.payload, { reason: "admin: test", timeout_seconds: 5, deadline_ms: 5000 });
  equal(flush.payload!.reason, "shutdown");
  ok(typeof flush.payload!.deadline_ms === "number" && (flush.payload!.deadline_ms as number) <= 5000);
  equal(flushed.payload!.success, true);
  ok(typeof flushed.payload!.duration_ms === "number");
  const completed = recs.find((r) => r.type === "NodeShutdownCompleted")!;
  ok(typeof completed.payload!.duration_ms === "number");
  // onStop ran after NodeShutdownCompleted, and the module exited by itself.
  ok(recs.at(-1)!.at >= completed.at);
  ok((await Deno.readTextFile(`${dataDir(t, "watcher")}/stopped.txt`)).startsWith("stopped"));
  const stopped = await t.waitEvent("ModuleStopped", (p) => p.name === "watcher");
  equal(stopped.payload.code, 0);
  equal(stopped.payload.signal, null);
  // The report.
  equal(report.reason, "admin: test");
  deepEqual(report.killed, []);
  equal(report.acknowledged.watcher.outcome, "answered");
  equal(report.flush.reason, "shutdown");
  equal(report.flush.success, true);
  equal(report.flush.modules.watcher.outcome, "answered");
  ok(report.total_ms >= report.duration_ms);
  equal(completed.payload!.duration_ms, report.duration_ms);
  const run = janitor.status().runs.find((r) => r.op === "shutdown");
  equal(run?.trigger, "admin: test");
  equal(run?.success, true);
  equal(t.manager.get("watcher")!.state, "stopped");
});

Deno.test("A module that takes a second to flush finishes before it is stopped", async () => {
  await using t = await testManager({
    slow: folder("slow", `record = ["StorageFlushCompleted"]\nflush_ms = 1000\nshutdown = "ack"\n`),
  });
  await ready(t, "slow");
  const janitor = janitorFor(t, { shutdown_timeout_seconds: 10 });
  const report = await janitor.shutdown("admin: slow flush");
  equal((await Deno.readTextFile(`${dataDir(t, "slow")}/flushed.txt`)).trim(), "shutdown");
  const answer = report.flush.modules.slow;
  equal(answer.outcome, "answered");
  ok(answer.ms !== null && answer.ms >= 900, `flush answered after ${answer.ms} ms`);
  equal(report.flush.success, true);
  equal(report.acknowledged.slow.outcome, "answered");
  deepEqual(report.killed, []);
  const recs = await recorded(t, "slow");
  deepEqual(types(recs), ["StorageFlushCompleted", "_stopped"]);
  equal(recs[recs.length - 2].payload!.success, true);
  const stopped = await t.waitEvent("ModuleStopped", (p) => p.name === "slow");
  equal(stopped.payload.code, 0, "a clean stop, not a kill");
  equal(stopped.payload.signal, null);
});

Deno.test("A module that ignores NodeShutdown is killed at the deadline; a well-behaved one is not", async () => {
  const record = `record = ["NodeShutdown", "NodeShutdownCompleted"]\n`;
  await using t = await testManager({
    stubborn: folder("stubborn", `${record}shutdown = "ignore"\n`),
    polite: folder("polite", `${record}shutdown = "ack"\nshutdown_ms = 100\n`),
  });
  await Promise.all([ready(t, "stubborn"), ready(t, "polite")]);
  const janitor = janitorFor(t, { shutdown_timeout_seconds: 1 });
  const t0 = performance.now();
  const report = await janitor.shutdown("admin: deadline");
  const took = performance.now() - t0;
  ok(took >= 900, `shutdown took only ${took} ms`);
  ok(took < 10_000, `shutdown took ${took} ms`);
  ok(report.duration_ms >= 900, `duration_ms ${report.duration_ms}`);
  deepEqual(report.killed, ["stubborn"]);
  equal(report.acknowledged.stubborn.outcome, "missed");
  equal(report.acknowledged.polite.outcome, "answered");
  // The stubborn module died by a signal; the polite one stopped cleanly.
  const killed = await t.waitEvent("ModuleStopped", (p) => p.name === "stubborn");
  ok(typeof killed.payload.signal === "string", `stubborn exited with ${JSON.stringify(killed.payload)}`);
  const polite = await t.waitEvent("ModuleStopped", (p) => p.name === "polite");
  equal(polite.payload.code, 0);
  equal(polite.payload.signal, null);
  // What each saw: the stubborn one got NodeShutdown but was gone before NodeShutdownCompleted.
  deepEqual(types(await recorded(t, "stubborn")), ["NodeShutdown"]);
  deepEqual(types(await recorded(t, "polite")), ["NodeShutdown", "NodeShutdownCompleted", "_stopped"]);
  equal((await Deno.readTextFile(`${dataDir(t, "polite")}/shutdown.txt`)).trim(), "admin: deadline");
  const stats = janitor.status().acknowledgements;
  equal(stats.stubborn.NodeShutdown.missed, 1);
  equal(stats.polite.NodeShutdown.answered, 1);
});
