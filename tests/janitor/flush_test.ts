// StorageFlush / StorageFlushCompleted: periodic, manual, late modules and the acknowledgement
// statistics, observed by real module processes (tests/fixtures/janitor_module.ts).
import { deepEqual, equal, ok } from "node:assert/strict";
import { testManager } from "../manager/_managed.ts";
import { dataDir, folder, janitorFor, ready, recorded, sleep, until } from "./_janitor.ts";

const RECORD = `record = ["StorageFlush", "StorageFlushCompleted"]\n`;

Deno.test("Periodic flushes reach the module with reason periodic, and stop with the janitor", async () => {
  await using t = await testManager({ keeper: folder("keeper", `${RECORD}flush_ms = 10\n`) });
  await ready(t, "keeper");
  using janitor = janitorFor(t, { flush: { interval_seconds: 0.3 } });
  await janitor.start();
  ok(janitor.status().schedule.flush !== null, "the flush should be scheduled");
  const flushes = await until("two periodic flushes", async () => {
    const f = await recorded(t, "keeper", "StorageFlush");
    return f.length >= 2 ? f : undefined;
  });
  for (const f of flushes) {
    equal(f.payload!.reason, "periodic");
    equal(f.payload!.deadline_ms, 5000);
    equal(f.replay, false);
  }
  ok(flushes[1].seq! > flushes[0].seq!);
  // Each was completed successfully, the module having flushed.
  const completed = await until("two StorageFlushCompleted", async () => {
    const c = await recorded(t, "keeper", "StorageFlushCompleted");
    return c.length >= 2 ? c : undefined;
  });
  for (const c of completed.slice(0, 2)) equal(c.payload!.success, true);
  ok((await Deno.readTextFile(`${dataDir(t, "keeper")}/flushed.txt`)).startsWith("periodic\nperiodic\n"));
  const runs = janitor.status().runs.filter((r) => r.op === "flush");
  ok(runs.length >= 2 && runs.every((r) => r.trigger === "periodic" && r.success), JSON.stringify(runs));
  // Once stopped, no more periodic flushes.
  janitor.stop();
  equal(janitor.status().schedule.flush, null);
  await sleep(200); // a flush that was already running may still finish
  const after = (await recorded(t, "keeper", "StorageFlush")).length;
  await sleep(900);
  equal((await recorded(t, "keeper", "StorageFlush")).length, after);
});

Deno.test("A manual flush reaches the module with reason manual and reports the node's flush", async () => {
  await using t = await testManager({
    keeper: folder("keeper", `${RECORD}flush_ms = 20\n`),
    bystander: folder("bystander", `record = ["StorageFlushCompleted"]\n`),
  });
  await ready(t, "keeper", "bystander");
  using janitor = janitorFor(t, { flush: { deadline_ms: 4000 } });
  // Two calls at once join one flush.
  const [report, again] = await Promise.all([janitor.flush(), janitor.flush()]);
  equal(again, report);
  equal(report.reason, "manual");
  equal(report.success, true);
  ok(!("error" in report.node), JSON.stringify(report.node));
  ok("pages" in report.node && typeof report.node.pages === "number", JSON.stringify(report.node));
  // Only the module subscribed to StorageFlush was asked.
  deepEqual(Object.keys(report.modules), ["keeper"]);
  equal(report.modules.keeper.outcome, "answered");
  ok(report.modules.keeper.ms !== null && report.modules.keeper.ms >= 15, `answered in ${report.modules.keeper.ms}`);
  ok(report.duration_ms >= report.modules.keeper.ms!);
  const flushes = await recorded(t, "keeper", "StorageFlush");
  equal(flushes.length, 1);
  deepEqual(flushes[0].payload, { reason: "manual", deadline_ms: 4000 });
  equal((await Deno.readTextFile(`${dataDir(t, "keeper")}/flushed.txt`)).trim(), "manual");
  // Both modules see StorageFlushCompleted, after the module's flush.
  for (const name of ["keeper", "bystander"]) {
    const [done] = await until(`StorageFlushCompleted at ${name}`, async () => {
      const c = await recorded(t, name, "StorageFlushCompleted");
      return c.length ? c : undefined;
    });
    equal(done.payload!.success, true);
    // The report times the whole operation, the event from StorageFlush to StorageFlushCompleted.
    const d = done.payload!.duration_ms as number;
    ok(d <= report.duration_ms && report.duration_ms - d < 200, `event ${d} ms, report ${report.duration_ms} ms`);
  }
  ok((await recorded(t, "keeper", "StorageFlushCompleted"))[0].at >= flushes[0].at);
  const run = janitor.status().runs.find((r) => r.op === "flush");
  equal(run?.trigger, "manual");
  equal(run?.success, true);
});

Deno.test("A module that does not confirm the flush in time makes StorageFlushCompleted fail", async () => {
  await using t = await testManager({ laggard: folder("laggard", `${RECORD}flush_ms = 2000\n`) });
  await ready(t, "laggard");
  using janitor = janitorFor(t, { flush: { deadline_ms: 300 } });
  const report = await janitor.flush();
  equal(report.success, false);
  deepEqual(report.modules.laggard, { outcome: "missed", ms: null });
  ok(!("error" in report.node), "the node's own flush worked");
  ok(report.duration_ms >= 250 && report.duration_ms < 1900, `flush took ${report.duration_ms} ms`);
  const [done] = await until("StorageFlushCompleted", async () => {
    const c = await recorded(t, "laggard", "StorageFlushCompleted");
    return c.length ? c : undefined;
  });
  equal(done.payload!.success, false);
  // The module did flush, late: the late answer changes nothing.
  await until("the late flush", () => Deno.readTextFile(`${dataDir(t, "laggard")}/flushed.txt`).catch(() => undefined));
  await sleep(200);
  const s = janitor.status().acknowledgements.laggard.StorageFlush;
  deepEqual({ asked: s.asked, answered: s.answered, missed: s.missed, mean_ms: s.mean_ms }, {
    asked: 1,
    answered: 0,
    missed: 1,
    mean_ms: null,
  });
  const run = janitor.status().runs.find((r) => r.op === "flush");
  equal(run?.success, false);
  equal((run?.detail.modules as Record<string, string>).laggard, "missed");
});

Deno.test("janitor.status() counts per module which flushes it answered and how fast", async () => {
  await using t = await testManager({
    fast: folder("fast", "flush_ms = 50\n"),
    slow: folder("slow", "flush_ms = 2000\n"),
    deaf: folder("deaf", `record = ["StorageFlushCompleted"]\n`),
  });
  await ready(t, "fast", "slow", "deaf");
  using janitor = janitorFor(t, { flush: { deadline_ms: 600 } });
  equal(janitor.status().acknowledgements.fast, undefined, "nothing asked yet");
  const first = await janitor.flush();
  const second = await janitor.flush();
  for (const r of [first, second]) {
    equal(r.success, false);
    equal(r.modules.fast.outcome, "answered");
    equal(r.modules.slow.outcome, "missed");
    equal(r.modules.deaf, undefined);
  }
  const acks = janitor.status().acknowledgements;
  const fast = acks.fast.StorageFlush;
  equal(fast.asked, 2);
  equal(fast.answered, 2);
  equal(fast.failed, 0);
  equal(fast.missed, 0);
  ok(fast.mean_ms !== null && fast.mean_ms >= 45 && fast.mean_ms < 600, `fast mean_ms ${fast.mean_ms}`);
  equal(fast.last_ms, second.modules.fast.ms);
  equal(fast.max_ms, Math.max(first.modules.fast.ms!, second.modules.fast.ms!));
  equal(fast.mean_ms, Math.round((first.modules.fast.ms! + second.modules.fast.ms!) / 2));
  const slow = acks.slow.StorageFlush;
  deepEqual(slow, { asked: 2, answered: 0, failed: 0, missed: 2, last_ms: null, max_ms: 0, mean_ms: null });
  equal(acks.deaf, undefined, "a module not subscribed to StorageFlush is never asked");
  // Only request types are counted.
  deepEqual(Object.keys(acks.fast), ["StorageFlush"]);
});
