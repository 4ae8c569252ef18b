// EventRequests (host.requests): request events, the answers of real module processes (answered,
// failed, missed, gone) and the per-module statistics.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { EventBus, EventRequests } from "../../mod.ts";
import { testManager } from "../manager/_managed.ts";
import { dataDir, folder, ready, recorded, sleep, until } from "../janitor/_janitor.ts";

const NO_RESTART = `[modules.restart]\npolicy = "never"\n`;

const FLUSH = { reason: "manual" };

Deno.test("EventRequests with no subscriber publishes with deadline_ms and resolves at once", async () => {
  const bus = new EventBus();
  const requests = new EventRequests(bus, () => []);
  const seen: unknown[] = [];
  bus.watch("StorageFlush", (p) => seen.push(p));
  const t0 = performance.now();
  const outcome = await requests.publish("StorageFlush", FLUSH, 60_000.4);
  ok(performance.now() - t0 < 30_000);
  equal(outcome.type, "StorageFlush");
  ok(Number.isInteger(outcome.seq) && outcome.seq > 0);
  deepEqual(outcome.answers, {});
  equal(outcome.all_ok, true);
  deepEqual(seen, [{ reason: "manual", deadline_ms: 60_000 }]);
  await requests.publish("StorageFlush", FLUSH, -5);
  deepEqual(seen[1], { reason: "manual", deadline_ms: 0 });
  // Nobody was asked, so nothing is counted; a stray answer is ignored.
  requests.ack("ghost", { kind: "event_ack", type: "StorageFlush", seq: outcome.seq, ok: true });
  deepEqual(requests.stats(), {});
});

Deno.test("Every subscribed module answers when its handlers finish; others are not asked", async () => {
  await using t = await testManager({
    flusher: folder("flusher", "flush_ms = 150\n"),
    plain: folder("plain", `record = ["StorageFlush"]\n`),
    other: folder("other", `record = ["StorageFlushCompleted"]\n`),
  });
  await ready(t, "flusher", "plain", "other");
  const outcome = await t.manager.host.requests.publish("StorageFlush", FLUSH, 10_000);
  deepEqual(Object.keys(outcome.answers).sort(), ["flusher", "plain"]);
  equal(outcome.all_ok, true);
  const f = outcome.answers.flusher;
  equal(f.outcome, "answered");
  ok(f.ms !== null && f.ms >= 140, `flusher answered after ${f.ms} ms`);
  equal(outcome.answers.plain.outcome, "answered");
  ok(outcome.duration_ms >= f.ms!);
  // The answer came after the handler's work: the file it writes is already there.
  equal((await Deno.readTextFile(`${dataDir(t, "flusher")}/flushed.txt`)).trim(), "manual");
  // A plain mod.on handler received the payload with the deadline added.
  const [got] = await recorded(t, "plain", "StorageFlush");
  deepEqual(got.payload, { reason: "manual", deadline_ms: 10_000 });
  equal(got.seq, outcome.seq);
  equal(t.manager.host.requests.stats().other, undefined);
});

Deno.test("A module that does not answer by the deadline is missed, and its late answer is ignored", async () => {
  await using t = await testManager({ late: folder("late", "flush_ms = 2500\n") });
  await ready(t, "late");
  const requests = t.manager.host.requests;
  const t0 = performance.now();
  const outcome = await requests.publish("StorageFlush", FLUSH, 300);
  const took = performance.now() - t0;
  ok(took >= 250 && took < 2_400, `resolved after ${took} ms`);
  deepEqual(outcome.answers.late, { outcome: "missed", ms: null });
  equal(outcome.all_ok, false);
  await until("the late flush", () => Deno.readTextFile(`${dataDir(t, "late")}/flushed.txt`).catch(() => undefined));
  await sleep(200);
  deepEqual(requests.stats().late.StorageFlush, {
    asked: 1,
    answered: 0,
    failed: 0,
    missed: 1,
    last_ms: null,
    max_ms: 0,
    mean_ms: null,
  });
});

Deno.test("A module that disconnects before answering is gone, without waiting for the deadline", async () => {
  await using t = await testManager(
    { doomed: folder("doomed", `record = ["StorageFlush"]\nflush_ms = 10000\n`) },
    NO_RESTART,
  );
  await ready(t, "doomed");
  const requests = t.manager.host.requests;
  const pid = t.manager.host.modules.find((h) => h.name === "doomed")!.pid;
  const t0 = performance.now();
  const pending = requests.publish("StorageFlush", FLUSH, 30_000);
  await t.waitLog("doomed", (m) => m === "event StorageFlush");
  Deno.kill(pid, "SIGKILL");
  const outcome = await pending;
  ok(performance.now() - t0 < 15_000, "should not wait for the deadline");
  deepEqual(outcome.answers.doomed, { outcome: "gone", ms: null });
  equal(outcome.all_ok, false);
  const s = requests.stats().doomed.StorageFlush;
  deepEqual({ asked: s.asked, answered: s.answered, failed: s.failed, missed: s.missed }, {
    asked: 1,
    answered: 0,
    failed: 0,
    missed: 0,
  });
});

Deno.test("A handler that throws answers failed, with its message", async () => {
  await using t = await testManager({ broken: folder("broken", `flush_ms = 20\nflush_fail = "disk full"\n`) });
  await ready(t, "broken");
  const requests = t.manager.host.requests;
  const outcome = await requests.publish("StorageFlush", FLUSH, 10_000);
  const a = outcome.answers.broken;
  equal(a.outcome, "failed");
  match(a.message ?? "", /disk full/);
  ok(a.ms !== null && a.ms >= 15, `failed after ${a.ms} ms`);
  equal(outcome.all_ok, false);
  await t.waitLog("broken", (m) => m.includes("Handler for StorageFlush failed") && m.includes("disk full"));
  const s = requests.stats().broken.StorageFlush;
  equal(s.asked, 1);
  equal(s.failed, 1);
  equal(s.answered, 0);
  equal(s.missed, 0);
  equal(s.last_ms, a.ms);
  equal(s.mean_ms, a.ms, "failed answers count in the mean");
});

Deno.test("A HealthCheck answer carries the module's health as data", async () => {
  await using t = await testManager({
    tired: folder("tired", `health = { status = "degraded", message = "busy" }\n`),
  });
  await ready(t, "tired");
  const outcome = await t.manager.host.requests.publish(
    "HealthCheck",
    { check_type: "manual", node_healthy: true, health_report: {} },
    10_000,
  );
  equal(outcome.answers.tired.outcome, "answered");
  deepEqual(outcome.answers.tired.data, { status: "degraded", message: "busy" });
});

Deno.test("Only modules subscribed at publish time are waited for", async () => {
  await using t = await testManager({ sleepy: folder("sleepy", "subscribe_delay_ms = 1500\nflush_ms = 0\n") });
  const requests = t.manager.host.requests;
  equal(t.manager.host.hasSubscribed("sleepy"), false, "the module subscribed earlier than configured");
  const before = await requests.publish("StorageFlush", FLUSH, 10_000);
  deepEqual(before.answers, {});
  await ready(t, "sleepy");
  const after = await requests.publish("StorageFlush", FLUSH, 10_000);
  equal(after.answers.sleepy.outcome, "answered");
  equal(requests.stats().sleepy.StorageFlush.asked, 1);
});

Deno.test("stats() counts per module and request type", async () => {
  await using t = await testManager({
    mixed: folder("mixed", "flush_ms = 30\ncleanup_ms = 3000\n"),
    quick: folder("quick", "flush_ms = 0\n"),
  });
  await ready(t, "mixed", "quick");
  const requests = t.manager.host.requests;
  const one = await requests.publish("StorageFlush", FLUSH, 10_000);
  const two = await requests.publish("StorageFlush", FLUSH, 10_000);
  const clean = await requests.publish("DataCleanup", { cleanup_type: "manual", target_age_days: 7 }, 200);
  deepEqual(clean.answers.mixed, { outcome: "missed", ms: null });
  const ms = [one.answers.mixed.ms!, two.answers.mixed.ms!];
  const stats = requests.stats();
  deepEqual(stats.mixed.StorageFlush, {
    asked: 2,
    answered: 2,
    failed: 0,
    missed: 0,
    last_ms: ms[1],
    max_ms: Math.max(...ms),
    mean_ms: Math.round((ms[0] + ms[1]) / 2),
  });
  ok(stats.mixed.StorageFlush.mean_ms! >= 25, `mean ${stats.mixed.StorageFlush.mean_ms}`);
  deepEqual(stats.mixed.DataCleanup, {
    asked: 1,
    answered: 0,
    failed: 0,
    missed: 1,
    last_ms: null,
    max_ms: 0,
    mean_ms: null,
  });
  deepEqual(Object.keys(stats.quick), ["StorageFlush"]);
  equal(stats.quick.StorageFlush.asked, 2);
  equal(stats.quick.StorageFlush.answered, 2);
  // stats() is a snapshot.
  stats.quick.StorageFlush.asked = 99;
  equal(requests.stats().quick.StorageFlush.asked, 2);
});
