// The free-space monitor (DiskSpaceLow, then DataCleanup of type low_disk), DataCleanup on its schedule and
// on command, all observed by a real module process; and the units of the readings in proc.ts.
import { deepEqual, equal, ok } from "node:assert/strict";
import process from "node:process";
import { Janitor, parseJanitorConfig } from "../../mod.ts";
import { cpuTimeMs, diskSpace, diskUsage } from "../../src/janitor/proc.ts";
import { type TestManager, testManager } from "../manager/_managed.ts";
import { events, folder, ready, type Rec } from "./_maintenance.ts";

const WATCHER = `record = ["DiskSpaceLow", "DataCleanup"]\n`;

async function seenBy(t: TestManager, name: string, type: string): Promise<Rec[]> {
  return await events(t, name, type);
}

async function waitSeen(t: TestManager, name: string, type: string, want: (r: Rec[]) => boolean): Promise<Rec[]> {
  const end = Date.now() + 15_000;
  for (;;) {
    const recs = await seenBy(t, name, type);
    if (want(recs)) return recs;
    if (Date.now() > end) throw new Error(`${name} saw ${recs.length} ${type}: ${JSON.stringify(recs).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `[janitor]` with only the given schedules. */
function janitorConfig(t: TestManager, section: { disk?: object; cleanup?: object }) {
  return parseJanitorConfig(
    {
      flush: { interval_seconds: 0 },
      health: { interval_seconds: 0 },
      maintenance: { cleanup_interval_hours: 0, backup_dir: "backups", log_dir: "logs" },
      resources: { interval_seconds: 0 },
      cleanup: { interval_hours: 0, ...section.cleanup },
      disk: { interval_seconds: 0, ...section.disk },
    },
    "blvm.toml",
    t.root,
  );
}

/** A janitor with only the given schedules; disk checks counted; stopped on dispose. */
function janitorFor(t: TestManager, section: { disk?: object; cleanup?: object }, nodeDataDir?: string) {
  const janitor = new Janitor({
    manager: t.manager,
    backend: t.backend,
    config: janitorConfig(t, section),
    nodeDataDir,
  });
  const counter = { checks: 0 };
  const check = janitor.disk.check.bind(janitor.disk);
  janitor.disk.check = (now?: number) => (counter.checks++, check(now));
  return { janitor, counter, [Symbol.dispose]: () => janitor.stop() };
}

Deno.test("free space below the threshold: the module gets DiskSpaceLow, then DataCleanup(low_disk)", async () => {
  await using t = await testManager({ watcher: folder("watcher", WATCHER) });
  await ready(t, "watcher");
  const nodeDir = `${t.root}/node`;
  using j = janitorFor(t, { disk: { threshold_percent: 100, paths: ["/"] } }, nodeDir);
  const readings = j.janitor.disk.check();
  ok(readings.length >= 1);

  const lows = await waitSeen(t, "watcher", "DiskSpaceLow", (r) => r.length >= readings.length);
  equal(lows.length, readings.length, "one DiskSpaceLow per filesystem");
  const paths = j.janitor.disk.paths();
  for (const p of [nodeDir, t.manager.config.modules.data_dir, `${t.root}/backups`, "/"]) ok(paths.includes(p), p);
  for (const { payload: p } of lows) {
    const available = p.available_bytes as number, total = p.total_bytes as number, pct = p.percent_free as number;
    ok(available > 0 && total >= available, JSON.stringify(p));
    ok(pct > 0 && pct < 100, `percent_free ${pct}`);
    ok(Math.abs(pct - available / total * 100) < 0.01, `percent_free ${pct} is available/total`);
    ok(paths.includes(p.disk_path as string), `${p.disk_path} is a watched path`);
  }
  deepEqual(lows.map((r) => r.payload.disk_path).sort(), readings.map((r) => r.path).sort());

  const [cleanup] = await waitSeen(t, "watcher", "DataCleanup", (r) => r.length >= 1);
  deepEqual(cleanup.payload, { cleanup_type: "low_disk", target_age_days: 30, deadline_ms: 10_000 });
  ok(cleanup.at >= lows[0].at, "DataCleanup follows DiskSpaceLow");

  const disks = j.janitor.disk.status();
  equal(disks.length, readings.length);
  ok(disks.every((d) => d.low && d.warnings === 1 && d.last_warning !== null), JSON.stringify(disks));
  deepEqual(j.janitor.disk.low().sort(), readings.map((r) => r.path).sort());
  const run = await (async () => {
    for (let i = 0; i < 100; i++) {
      const r = j.janitor.status().runs.find((x) => x.op === "cleanup");
      if (r) return r;
      await sleep(50);
    }
  })();
  deepEqual([run?.trigger, run?.success], ["low_disk", true]);
});

Deno.test("while a disk stays low, DiskSpaceLow repeats only every repeat_seconds", async (t0) => {
  await t0.step("repeat_seconds 600: one DiskSpaceLow per filesystem across many checks", async () => {
    await using t = await testManager({ watcher: folder("watcher", WATCHER) });
    await ready(t, "watcher");
    using j = janitorFor(t, { disk: { threshold_percent: 100, interval_seconds: 0.2, repeat_seconds: 600 } });
    await j.janitor.start();
    const end = Date.now() + 20_000;
    while (j.counter.checks < 8 && Date.now() < end) await sleep(100);
    ok(j.counter.checks >= 8, `only ${j.counter.checks} checks ran`);
    await sleep(300);
    const filesystems = j.janitor.disk.status().length;
    equal(filesystems, 1, "every default path is under the test's temp folder");
    equal((await seenBy(t, "watcher", "DiskSpaceLow")).length, filesystems);
    equal(j.janitor.disk.status()[0].warnings, 1);
    equal((await seenBy(t, "watcher", "DataCleanup")).length, 1, "one low_disk cleanup");
  });

  await t0.step("repeat_seconds 0.5: the warning repeats, but not at every check", async () => {
    await using t = await testManager({ watcher: folder("watcher", WATCHER) });
    await ready(t, "watcher");
    const published: number[] = [];
    t.manager.host.bus.watch("DiskSpaceLow", () => published.push(Date.now()));
    using j = janitorFor(t, { disk: { threshold_percent: 100, interval_seconds: 0.2, repeat_seconds: 0.5 } });
    await j.janitor.start();
    const lows = await waitSeen(t, "watcher", "DiskSpaceLow", (r) => r.length >= 3);
    ok(lows.every((r) => r.payload.disk_path === lows[0].payload.disk_path));
    j.janitor.stop();
    equal(j.janitor.disk.status()[0].warnings, published.length);
    const gaps = published.slice(1).map((at, i) => at - published[i]);
    ok(gaps.every((g) => g >= 490), `warnings at least repeat_seconds apart: ${gaps.join(", ")} ms`);
    ok(j.counter.checks > published.length, `${published.length} warnings in ${j.counter.checks} checks`);
    const cleanups = await waitSeen(t, "watcher", "DataCleanup", (r) => r.length >= 2);
    ok(cleanups.every((r) => r.payload.cleanup_type === "low_disk"));
  });
});

Deno.test("free space above the threshold: no DiskSpaceLow and no cleanup", async () => {
  await using t = await testManager({ watcher: folder("watcher", WATCHER) });
  await ready(t, "watcher");
  using j = janitorFor(t, { disk: { threshold_percent: 0.0001, interval_seconds: 0.2 } });
  await j.janitor.start();
  const end = Date.now() + 20_000;
  while (j.counter.checks < 5 && Date.now() < end) await sleep(100);
  ok(j.counter.checks >= 5);
  await sleep(300);
  deepEqual(await seenBy(t, "watcher", "DiskSpaceLow"), []);
  deepEqual(await seenBy(t, "watcher", "DataCleanup"), []);
  const [disk] = j.janitor.disk.status();
  deepEqual([disk.low, disk.warnings, disk.last_warning], [false, 0, null]);
  ok(disk.available_bytes > 0 && disk.percent_free > 0.0001);
  deepEqual(j.janitor.disk.low(), []);
});

Deno.test("a low disk counts as recovered only above threshold + hysteresis, and then warns again at once", async () => {
  await using t = await testManager({ watcher: folder("watcher", WATCHER) });
  await ready(t, "watcher");
  using j = janitorFor(t, { disk: { threshold_percent: 100, repeat_seconds: 600 } });
  const disk = (d: Record<string, unknown>) => janitorConfig(t, { disk: { repeat_seconds: 600, ...d } });

  const [reading] = j.janitor.disk.check();
  const pf = reading.percent_free;
  ok(pf > 4, `the test needs a disk with more than 4% free, got ${pf}`);
  const hysteresis = Math.min(5, pf / 4);
  equal(j.janitor.disk.status()[0].warnings, 1);

  // Above the threshold but within the hysteresis: still low, no new warning.
  j.janitor.reconfigure(
    disk({ threshold_percent: Math.max(0.01, pf - hysteresis / 5), hysteresis_percent: hysteresis }),
  );
  j.janitor.disk.check();
  deepEqual([j.janitor.disk.status()[0].low, j.janitor.disk.status()[0].warnings], [true, 1]);
  deepEqual(j.janitor.disk.low(), [reading.path]);

  // Past threshold + hysteresis: recovered.
  j.janitor.reconfigure(disk({ threshold_percent: 0.0001, hysteresis_percent: hysteresis }));
  j.janitor.disk.check();
  deepEqual([j.janitor.disk.status()[0].low, j.janitor.disk.status()[0].warnings], [false, 1]);
  deepEqual(j.janitor.disk.low(), []);

  // Low again: a new warning right away, whatever repeat_seconds says.
  j.janitor.reconfigure(disk({ threshold_percent: 100 }));
  j.janitor.disk.check();
  deepEqual([j.janitor.disk.status()[0].low, j.janitor.disk.status()[0].warnings], [true, 2]);
  equal((await waitSeen(t, "watcher", "DiskSpaceLow", (r) => r.length >= 2)).length, 2);
});

Deno.test("DataCleanup runs every cleanup.interval_hours and on command with the asked age", async () => {
  await using t = await testManager({
    tidy: folder("tidy", `record = ["DataCleanup"]\n`),
    other: folder("other", `record = ["DiskSpaceLow"]\n`),
  });
  await ready(t, "tidy", "other");
  const published: number[] = [];
  t.manager.host.bus.watch("DataCleanup", () => published.push(Date.now()));
  {
    using j = janitorFor(t, { cleanup: { interval_hours: 0.0001, target_age_days: 9, deadline_ms: 3000 } });
    await j.janitor.start();
    const recs = await waitSeen(t, "tidy", "DataCleanup", (r) => r.length >= 2);
    for (const r of recs) deepEqual(r.payload, { cleanup_type: "periodic", target_age_days: 9, deadline_ms: 3000 });
    ok(published[1] - published[0] >= 350, `runs are an interval (360 ms) apart: ${published[1] - published[0]} ms`);
    ok(j.janitor.status().schedule.cleanup !== null);
  }
  await sleep(300); // a periodic run under way when the janitor stopped finishes
  const periodic = (await seenBy(t, "tidy", "DataCleanup")).length;

  using j = janitorFor(t, {});
  const r = await j.janitor.cleanup("manual", 7);
  deepEqual([r.cleanup_type, r.target_age_days, r.success], ["manual", 7, true]);
  deepEqual(Object.keys(r.modules), ["tidy"], "only subscribed modules are asked");
  equal(r.modules.tidy.outcome, "answered");
  const recs = await seenBy(t, "tidy", "DataCleanup");
  equal(recs.length, periodic + 1);
  deepEqual(recs.at(-1)!.payload, { cleanup_type: "manual", target_age_days: 7, deadline_ms: 10_000 });
  equal((await j.janitor.cleanup()).target_age_days, 30, "the default age is [janitor.cleanup] target_age_days");
});

Deno.test("proc.ts: diskSpace in bytes like df, diskUsage without links, cpuTimeMs in milliseconds", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "blvm-proc-" }));
  try {
    const d = diskSpace(dir);
    const df = new TextDecoder().decode(
      (await new Deno.Command("df", { args: ["-B1", "--output=avail,size", dir] }).output()).stdout,
    ).trim().split("\n")[1].trim().split(/\s+/).map(Number);
    ok(Math.abs(d.total_bytes - df[1]) <= df[1] * 0.01, `total ${d.total_bytes} vs df ${df[1]}`);
    ok(Math.abs(d.available_bytes - df[0]) <= df[1] * 0.01, `available ${d.available_bytes} vs df ${df[0]}`);
    equal(d.percent_free, Math.round(d.available_bytes / d.total_bytes * 10_000) / 100);
    equal(d.device, Deno.statSync(dir).dev);
    equal(d.path, dir);
    const missing = diskSpace(`${dir}/not/there/yet`);
    deepEqual([missing.path, missing.device, missing.total_bytes], [`${dir}/not/there/yet`, d.device, d.total_bytes]);

    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    await Deno.writeFile(`${dir}/one`, new Uint8Array(1000));
    await Deno.writeFile(`${dir}/a/two`, new Uint8Array(200));
    await Deno.writeFile(`${dir}/a/b/three`, new Uint8Array(34));
    await Deno.symlink("/etc/hostname", `${dir}/a/link`);
    await Deno.symlink(`${dir}/a`, `${dir}/dirlink`);
    ok(await diskUsage(dir) >= 1234);
    ok(await diskUsage(`${dir}/a`) >= 234);
    ok(await diskUsage(`${dir}/a`) < await diskUsage(dir));
    equal(await diskUsage(`${dir}/nope`), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const usage = () => (({ user, system }) => (user + system) / 1000)(process.cpuUsage());
  const before = usage();
  const mine = cpuTimeMs(Deno.pid)!;
  const after = usage();
  ok(mine >= before - 50 && mine <= after + 50, `cpuTimeMs ${mine} vs cpuUsage ${before}..${after} ms`);
  const start = usage();
  while (usage() - start < 300) { /* burn CPU */ }
  const burned = cpuTimeMs(Deno.pid)! - mine;
  ok(burned >= 250 && burned <= usage() - before + 50, `burned ${burned} ms of CPU`);
  equal(cpuTimeMs(999_999_999), null);

  const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const idle = cpuTimeMs(child.pid);
    ok(idle !== null && idle >= 0 && idle < 200, `a sleeping process used ${idle} ms`);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});
