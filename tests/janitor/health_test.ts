// HealthCheck: at startup, periodically and on command; real module processes answer with their own
// health, and a module that does not answer in time is marked degraded.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Janitor, parseJanitorConfig } from "../../mod.ts";
import { type TestManager, testManager } from "../manager/_managed.ts";
import { events, folder, ready, type Rec } from "./_maintenance.ts";

async function checksSeenBy(t: TestManager, name: string): Promise<Rec[]> {
  return await events(t, name, "HealthCheck");
}

async function waitChecks(t: TestManager, name: string, want: (recs: Rec[]) => boolean, ms = 15_000): Promise<Rec[]> {
  const end = Date.now() + ms;
  for (;;) {
    const recs = await checksSeenBy(t, name);
    if (want(recs)) return recs;
    if (Date.now() > end) {
      throw new Error(`${name} saw: ${recs.map((r) => r.payload.check_type).join(",") || "no HealthCheck"}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A janitor whose only schedule is health (`interval` seconds, 0 = on command); stopped on dispose. */
function janitorFor(t: TestManager, health: Record<string, unknown> = {}, disk: Record<string, unknown> = {}) {
  const config = parseJanitorConfig(
    {
      flush: { interval_seconds: 0 },
      health: { interval_seconds: 0, ...health },
      cleanup: { interval_hours: 0 },
      maintenance: { cleanup_interval_hours: 0, backup_dir: "backups", log_dir: "logs" },
      disk: { interval_seconds: 0, threshold_percent: 0.0001, ...disk },
      resources: { interval_seconds: 0 },
    },
    "blvm.toml",
    t.root,
  );
  const janitor = new Janitor({ manager: t.manager, backend: t.backend, config });
  return { janitor, [Symbol.dispose]: () => janitor.stop() };
}

const healthOf = (t: TestManager, name: string) => t.manager.list().find((m) => m.name === name)?.health;
const HEALTHY = `health = { status = "healthy", message = "all good" }\n`;

Deno.test("start() runs the startup HealthCheck: node checks pass and the module's answer is in the report", async () => {
  await using t = await testManager({ fine: folder("fine", HEALTHY) });
  await ready(t, "fine");
  using j = janitorFor(t, { deadline_ms: 3000 });
  t.backend.dev.generate(2);
  await j.janitor.start();

  const [seen] = await waitChecks(t, "fine", (r) => r.length >= 1);
  equal(seen.payload.check_type, "startup");
  equal(seen.payload.node_healthy, true);
  equal(seen.payload.deadline_ms, 3000);
  const node = (seen.payload.health_report as { node: Record<string, { ok: boolean; detail: string }> }).node;
  deepEqual(Object.keys(node).sort(), ["backend", "disk", "required_modules"]);
  ok(Object.values(node).every((c) => c.ok), JSON.stringify(node));

  const report = j.janitor.status().health!;
  ok(report, "the startup report is kept");
  equal(report.check_type, "startup");
  equal(report.node_healthy, true);
  deepEqual(report.node, node);
  equal(report.node.backend.detail, "regtest tip 2");
  equal(report.node.required_modules.detail, "all running");
  const fine = report.modules.fine;
  deepEqual([fine.state, fine.health, fine.answer, fine.message], ["running", "healthy", "answered", "all good"]);
  ok(typeof fine.ms === "number" && fine.ms >= 0);
  const run = j.janitor.status().runs.find((r) => r.op === "health")!;
  deepEqual([run.trigger, run.success], ["startup", true]);
});

Deno.test("periodic HealthCheck every interval_seconds, and none after stop()", async () => {
  await using t = await testManager({ fine: folder("fine", HEALTHY) });
  await ready(t, "fine");
  using j = janitorFor(t, { interval_seconds: 0.3 });
  await j.janitor.start();
  const recs = await waitChecks(t, "fine", (r) => r.filter((x) => x.payload.check_type === "periodic").length >= 3);
  equal(recs[0].payload.check_type, "startup");
  ok(recs.slice(1).every((r) => r.payload.check_type === "periodic"));
  ok(j.janitor.status().schedule.health !== null, "the next check is scheduled");

  j.janitor.stop();
  equal(j.janitor.status().schedule.health, null);
  await new Promise((r) => setTimeout(r, 300)); // a check already under way may still land
  const settled = (await checksSeenBy(t, "fine")).length;
  await new Promise((r) => setTimeout(r, 1200));
  equal((await checksSeenBy(t, "fine")).length, settled, "no HealthCheck after stop()");
});

Deno.test("manual HealthCheck: janitor.healthCheck() asks once, and a concurrent call joins it", async () => {
  await using t = await testManager({ fine: folder("fine", HEALTHY) });
  await ready(t, "fine");
  using j = janitorFor(t);
  const [a, b] = await Promise.all([j.janitor.healthCheck(), j.janitor.healthCheck()]);
  equal(a, b, "the second call joined the first");
  equal(a.check_type, "manual");
  equal(a.modules.fine.answer, "answered");
  const recs = await waitChecks(t, "fine", (r) => r.length >= 1);
  await new Promise((r) => setTimeout(r, 300));
  equal((await checksSeenBy(t, "fine")).length, 1);
  equal(recs[0].payload.check_type, "manual");
  equal(j.janitor.status().health, a);
  const acks = j.janitor.status().acknowledgements.fine.HealthCheck;
  deepEqual([acks.asked, acks.answered, acks.missed], [1, 1, 0]);
});

Deno.test("a module answering degraded, and one not answering at all, are marked degraded", async () => {
  await using t = await testManager({
    fine: folder("fine", HEALTHY),
    sick: folder("sick", `health = { status = "degraded", message = "x" }\n`),
    hung: folder("hung", `health = "hang"\n`),
  });
  await ready(t, "fine", "sick", "hung");
  using j = janitorFor(t, { deadline_ms: 500 });
  const report = await j.janitor.healthCheck();

  equal(report.node_healthy, true, "module health is not node health");
  deepEqual(
    [report.modules.sick.health, report.modules.sick.answer, report.modules.sick.message],
    ["degraded", "answered", "x"],
  );
  deepEqual([report.modules.hung.health, report.modules.hung.answer, report.modules.hung.ms], [
    "degraded",
    "missed",
    null,
  ]);
  deepEqual([report.modules.fine.health, report.modules.fine.answer], ["healthy", "answered"]);
  ok(report.duration_ms >= 400, `the check waited for the deadline: ${report.duration_ms} ms`);

  const sick = await t.waitEvent("ModuleHealthChanged", (p) => p.name === "sick" && p.new_health === "degraded");
  deepEqual(sick.payload, { name: "sick", old_health: "healthy", new_health: "degraded", reason: "x" });
  const hung = await t.waitEvent("ModuleHealthChanged", (p) => p.name === "hung" && p.new_health === "degraded");
  equal(hung.payload.old_health, "healthy");
  match(String(hung.payload.reason), /no answer to HealthCheck within 500 ms/);
  deepEqual(["fine", "sick", "hung"].map((n) => healthOf(t, n)), ["healthy", "degraded", "degraded"]);
  await waitChecks(t, "hung", (r) => r.length === 1); // it did receive the check

  // The same answers again change nothing.
  const before = t.of("ModuleHealthChanged").length;
  await j.janitor.healthCheck();
  await new Promise((r) => setTimeout(r, 200));
  equal(t.of("ModuleHealthChanged").length, before);
  const stats = j.janitor.status().acknowledgements;
  deepEqual([stats.hung.HealthCheck.asked, stats.hung.HealthCheck.missed], [2, 2]);
  deepEqual([stats.sick.HealthCheck.answered, stats.sick.HealthCheck.missed], [2, 0]);
});

Deno.test("a module's health follows its answers: degraded, healthy again, unhealthy when its handler fails", async () => {
  await using t = await testManager({ moody: folder("moody", `health = "file"\n`) });
  await ready(t, "moody");
  const answer = (v: string) => Deno.writeTextFile(`${t.manager.config.modules.data_dir}/moody/health.json`, v);
  using j = janitorFor(t);

  await answer(JSON.stringify({ status: "degraded", message: "backlog 5000" }));
  equal((await j.janitor.healthCheck()).modules.moody.health, "degraded");
  await t.waitEvent("ModuleHealthChanged", (p) => p.name === "moody" && p.new_health === "degraded");

  await answer(JSON.stringify({ status: "healthy" }));
  equal((await j.janitor.healthCheck()).modules.moody.health, "healthy");
  const back = await t.waitEvent("ModuleHealthChanged", (p) => p.name === "moody" && p.old_health === "degraded");
  equal(back.payload.new_health, "healthy");
  equal(healthOf(t, "moody"), "healthy");

  await answer("not json");
  const r = await j.janitor.healthCheck();
  deepEqual([r.modules.moody.answer, r.modules.moody.health], ["failed", "unhealthy"]);
  ok(r.modules.moody.message, "the failure's message is reported");
  await t.waitEvent("ModuleHealthChanged", (p) => p.name === "moody" && p.new_health === "unhealthy");
  equal(healthOf(t, "moody"), "unhealthy");
  equal(j.janitor.status().runs.at(-1)!.success, false, "a failed answer fails the check");
});

Deno.test("node checks fail for low disk space and a required module that is down; modules are told", async () => {
  await using t = await testManager(
    { fine: folder("fine", HEALTHY), needed: folder("needed", `exit_after_ms = 200\n`) },
    `[modules.needed]\nrequired = true\n[modules.needed.restart]\ninitial_delay_ms = 60000\n`,
  );
  await ready(t, "fine");
  await t.waitEvent("ModuleCrashed", (p) => p.name === "needed");
  using j = janitorFor(t, {}, { threshold_percent: 100 });
  j.janitor.disk.check();
  const r = await j.janitor.healthCheck();

  equal(r.node_healthy, false);
  equal(r.node.backend.ok, true);
  equal(r.node.disk.ok, false);
  match(r.node.disk.detail, /free space below the threshold at \//);
  equal(r.node.required_modules.ok, false);
  match(r.node.required_modules.detail, /needed is \w+/);
  equal(r.modules.needed.answer, "not subscribed");

  const [seen] = await waitChecks(t, "fine", (recs) => recs.length >= 1);
  equal(seen.payload.node_healthy, false);
  const node = (seen.payload.health_report as { node: Record<string, { ok: boolean }> }).node;
  deepEqual([node.backend.ok, node.disk.ok, node.required_modules.ok], [true, false, false]);
  equal(r.modules.fine.health, "healthy", "the module's own answer still counts");
});
