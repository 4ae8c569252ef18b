// Maintenance operations (backup, cleanup, prune) announced by MaintenanceStarted and MaintenanceCompleted,
// observed by a real module process, with the real effects on disk and on the dev node checked.
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { BackendUnavailableError, Janitor, parseJanitorConfig } from "../../mod.ts";
import type { BackupStats } from "../../src/janitor/backup.ts";
import type { FileCleanupStats } from "../../src/janitor/file_cleanup.ts";
import { treeSize } from "../fixtures/_tree_size.ts";
import { type TestManager, testManager } from "../manager/_managed.ts";
import { events, folder, ready, type Rec } from "./_maintenance.ts";

const RECORD = `record = ["MaintenanceStarted", "MaintenanceCompleted"]\n`;

/** What the module recorded in its events.jsonl. */
async function recordedBy(t: TestManager, name: string): Promise<Rec[]> {
  return await events(t, name);
}

/** Poll until the module has recorded `count` events of `type`. */
async function waitRecorded(t: TestManager, name: string, type: string, count = 1, ms = 15_000): Promise<Rec[]> {
  const end = Date.now() + ms;
  for (;;) {
    const recs = await recordedBy(t, name);
    const of = recs.filter((r) => r.type === type);
    if (of.length >= count) return of;
    if (Date.now() > end) {
      throw new Error(`${name} recorded ${of.length} ${type}, wanted ${count}: ${recs.map((r) => r.type).join(",")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A janitor over the test manager, with `maintenance` settings; stopped on dispose. */
function janitorFor(t: TestManager, maintenance: Record<string, unknown>, nodeDataDir?: string) {
  const config = parseJanitorConfig(
    {
      maintenance: { backup_dir: "backups", log_dir: "logs", ...maintenance },
      disk: { interval_seconds: 0 },
    },
    "blvm.toml",
    t.root,
  );
  const janitor = new Janitor({ manager: t.manager, backend: t.backend, config, nodeDataDir });
  return { janitor, config, [Symbol.dispose]: () => janitor.stop() };
}

/** Leave socket files nobody listens on: a child process binds them and exits without removing them. */
async function abandonedSockets(...paths: string[]): Promise<void> {
  const code = `for (const p of ${JSON.stringify(paths)}) Deno.listen({ transport: "unix", path: p }); Deno.exit(0);`;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code], stderr: "piped" }).output();
  equal(out.code, 0, new TextDecoder().decode(out.stderr));
  for (const p of paths) ok((await Deno.lstat(p)).isSocket, `${p} should be a socket file`);
}

async function age(path: string, ms: number): Promise<void> {
  const when = new Date(Date.now() - ms);
  await Deno.utime(path, when, when);
}

const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);
const DAY = 86_400_000;

Deno.test("backup: the module sees MaintenanceStarted and MaintenanceCompleted around a snapshot of the chain and its data; only backup_keep stay", async () => {
  await using t = await testManager({
    keeper: folder("keeper", `${RECORD}files = { "notes.txt" = "hello backup", "state.json" = '{"n":1}' }\n`),
  });
  await ready(t, "keeper");
  const moduleDir = `${t.manager.config.modules.data_dir}/keeper`;
  await Deno.mkdir(`${moduleDir}/sub`);
  await Deno.writeFile(`${moduleDir}/sub/deep.bin`, new Uint8Array(4096).fill(7));
  await Deno.symlink("/etc/hostname", `${moduleDir}/outside`);
  // A 1 TiB sparse file: copying it would write a terabyte.
  const sparse = await Deno.open(`${moduleDir}/sub/huge.bin`, { write: true, create: true });
  await sparse.truncate(2 ** 40);
  sparse.close();
  t.backend.dev.generate(5);
  const tip = await t.backend.getTip();
  using j = janitorFor(t, { backup_keep: 2, deadline_ms: 4000 });
  const backupDir = j.config.maintenance.backup_dir;

  const r1 = await j.janitor.maintenance("backup");
  equal(r1.maintenance_type, "backup");
  equal(r1.success, true, JSON.stringify(r1.results));
  const s1 = r1.results as BackupStats;
  ok(s1.path.startsWith(`${backupDir}/backup-`), s1.path);
  equal(s1.modules, 1);
  equal(s1.skipped_links, 1);
  equal(s1.skipped_sparse, 1);
  equal(await exists(`${s1.path}/modules/keeper/sub/huge.bin`), false, "a sparse file is not copied");
  equal(s1.removed, 0);
  // node.sqlite + notes.txt, state.json, events.jsonl (MaintenanceStarted was recorded first), sub/deep.bin
  equal(s1.files, 5);
  ok(s1.node_bytes > 0);
  equal(s1.node_bytes, (await Deno.stat(`${s1.path}/node/node.sqlite`)).size);
  equal(s1.bytes, s1.node_bytes + await treeSize(`${s1.path}/modules`));
  equal(await Deno.readTextFile(`${s1.path}/modules/keeper/notes.txt`), "hello backup");
  deepEqual(await Deno.readFile(`${s1.path}/modules/keeper/sub/deep.bin`), new Uint8Array(4096).fill(7));
  equal(await exists(`${s1.path}/modules/keeper/outside`), false, "a symbolic link is not followed");
  const meta = JSON.parse(await Deno.readTextFile(`${s1.path}/backup.json`));
  equal(meta.files, 5);

  // The snapshot is a readable SQLite copy holding the whole chain.
  const db = new DatabaseSync(`${s1.path}/node/node.sqlite`, { readOnly: true });
  try {
    equal((db.prepare("SELECT COUNT(*) AS n FROM blocks").get() as { n: number }).n, tip.height + 1);
    equal((db.prepare("SELECT COUNT(*) AS n FROM chain").get() as { n: number }).n, tip.height + 1);
    equal((db.prepare("SELECT hash FROM chain WHERE height = ?").get(tip.height) as { hash: string }).hash, tip.hash);
  } finally {
    db.close();
  }

  const [started] = await waitRecorded(t, "keeper", "MaintenanceStarted");
  deepEqual(started.payload, { maintenance_type: "backup", estimated_duration_seconds: null, deadline_ms: 4000 });
  const [completed] = await waitRecorded(t, "keeper", "MaintenanceCompleted");
  equal(completed.payload.maintenance_type, "backup");
  equal(completed.payload.success, true);
  equal(typeof completed.payload.duration_ms, "number");
  deepEqual(completed.payload.results, r1.results);
  ok(started.at <= completed.at);

  // Retention: three backups leave the newest two.
  t.backend.dev.generate(1);
  const r2 = await j.janitor.maintenance("backup");
  const r3 = await j.janitor.maintenance("backup");
  equal((r2.results as BackupStats).removed, 0);
  equal((r3.results as BackupStats).removed, 1);
  const left = (await Array.fromAsync(Deno.readDir(backupDir))).map((e) => e.name).sort();
  deepEqual(left, [(r2.results as BackupStats).path, (r3.results as BackupStats).path].map((p) => p.split("/").pop()));
  equal(left.some((n) => n.endsWith(".tmp")), false);
  equal(await exists(s1.path), false, "the oldest backup was removed");

  const starts = await waitRecorded(t, "keeper", "MaintenanceStarted", 3);
  const ends = await waitRecorded(t, "keeper", "MaintenanceCompleted", 3);
  const estimate = starts[1].payload.estimated_duration_seconds;
  ok(typeof estimate === "number" && estimate >= 1, `the second backup is estimated from the first: ${estimate}`);
  equal((ends[2].payload.results as BackupStats).removed, 1);
  const runs = j.janitor.status().runs.filter((r) => r.op === "backup");
  equal(runs.length, 3);
  ok(runs.every((r) => r.success && r.trigger === "manual"));
});

Deno.test("backup: a failure is reported in MaintenanceCompleted (success false, results.error), not thrown", async () => {
  await using t = await testManager({ keeper: folder("keeper", RECORD) });
  await ready(t, "keeper");
  // The backup folder is a regular file: nothing can be written under it.
  await Deno.writeTextFile(`${t.root}/blocked`, "not a folder");
  using j = janitorFor(t, { backup_dir: "blocked" });
  const r = await j.janitor.maintenance("backup");
  equal(r.success, false);
  match(String(r.results.error), /./);
  const [done] = await waitRecorded(t, "keeper", "MaintenanceCompleted");
  equal(done.payload.success, false);
  deepEqual(done.payload.results, r.results);
  equal(await Deno.readTextFile(`${t.root}/blocked`), "not a folder");
  const run = j.janitor.status().runs.at(-1)!;
  deepEqual([run.op, run.success], ["backup", false]);
});

Deno.test("cleanup maintenance removes stale sockets, interrupted backups and old logs, and nothing else", async () => {
  await using t = await testManager({ keeper: folder("keeper", RECORD) });
  await ready(t, "keeper");
  const nodeDir = `${t.root}/node`;
  using j = janitorFor(t, { log_retention_days: 14 }, nodeDir);
  const { backup_dir: backups, log_dir: logs } = j.config.maintenance;
  const run = t.manager.host.runtimeDir;

  await abandonedSockets(`${run}/stale.sock`, `${run}/fresh.sock`, `${run}/admin.sock`);
  await age(`${run}/stale.sock`, 3_600_000);
  await age(`${run}/admin.sock`, 3_600_000);
  await Deno.writeTextFile(`${run}/plain.sock`, "not a socket");
  await age(`${run}/plain.sock`, 3_600_000);

  await Deno.mkdir(`${backups}/.backup-x.tmp/node`, { recursive: true });
  await Deno.writeFile(`${backups}/.backup-x.tmp/node/node.sqlite`, new Uint8Array(1000));
  await Deno.writeFile(`${backups}/.backup-x.tmp/backup.json`, new Uint8Array(500));
  await Deno.mkdir(`${backups}/backup-2020-01-01T00-00-00-000Z`);
  await Deno.mkdir(nodeDir);
  await Deno.writeFile(`${nodeDir}/node.sqlite.x.tmp`, new Uint8Array(200));
  await Deno.writeFile(`${nodeDir}/node.sqlite`, new Uint8Array(10));

  await Deno.mkdir(logs);
  await Deno.writeFile(`${logs}/old.log`, new Uint8Array(300));
  await Deno.writeFile(`${logs}/old.log.1`, new Uint8Array(100));
  await Deno.writeFile(`${logs}/fresh.log`, new Uint8Array(50));
  await Deno.writeFile(`${logs}/old.txt`, new Uint8Array(70));
  for (const f of ["old.log", "old.log.1", "old.txt"]) await age(`${logs}/${f}`, 30 * DAY);
  await age(`${logs}/fresh.log`, 13 * DAY);

  const r = await j.janitor.maintenance("cleanup");
  equal(r.success, true, JSON.stringify(r.results));
  equal(r.maintenance_type, "cleanup");
  deepEqual(r.results as FileCleanupStats, { stale_sockets: 1, temp_files: 2, old_logs: 2, freed_bytes: 2100 });

  for (const gone of [`${run}/stale.sock`, `${backups}/.backup-x.tmp`, `${nodeDir}/node.sqlite.x.tmp`]) {
    equal(await exists(gone), false, `${gone} should be removed`);
  }
  for (const gone of ["old.log", "old.log.1"]) equal(await exists(`${logs}/${gone}`), false, gone);
  for (
    const kept of [
      `${run}/admin.sock`,
      `${run}/fresh.sock`,
      `${run}/plain.sock`,
      `${backups}/backup-2020-01-01T00-00-00-000Z`,
      `${nodeDir}/node.sqlite`,
      `${logs}/fresh.log`,
      `${logs}/old.txt`,
    ]
  ) equal(await exists(kept), true, `${kept} should stay`);

  const [started] = await waitRecorded(t, "keeper", "MaintenanceStarted");
  equal(started.payload.maintenance_type, "cleanup");
  const [done] = await waitRecorded(t, "keeper", "MaintenanceCompleted");
  deepEqual(done.payload.results, r.results);
  equal(j.janitor.status().runs.at(-1)!.op, "maintenance-cleanup");

  const again = await j.janitor.maintenance("cleanup");
  deepEqual(again.results, { stale_sockets: 0, temp_files: 0, old_logs: 0, freed_bytes: 0 });
});

Deno.test("prune drops old block data: pruned blocks answer UNAVAILABLE, headers and recent blocks stay", async () => {
  await using t = await testManager({ reader: folder("reader", RECORD) });
  await ready(t, "reader");
  t.backend.dev.generate(288 + 20);
  const tip = await t.backend.getTip();
  const hashAt = async (h: number) => (await t.backend.getBlockHash(h))!;
  const h1 = await hashAt(1);
  deepEqual(await t.manager.invoke("reader", "block", { hash: h1 }), { height: 1 });
  using j = janitorFor(t, { prune_keep_blocks: 288 });

  const r = await j.janitor.maintenance("prune");
  equal(r.success, true, JSON.stringify(r.results));
  equal(r.results.pruned_blocks, tip.height - 288);
  equal(r.results.prune_height, tip.height - 287);
  ok((r.results.freed_bytes as number) > 0);

  const first = r.results.prune_height as number;
  for (const h of [1, first - 1]) {
    await rejects(async () => await t.backend.getBlock(await hashAt(h)), BackendUnavailableError, `height ${h}`);
  }
  for (const h of [0, first, tip.height]) equal((await t.backend.getBlock(await hashAt(h)))!.height, h);
  equal((await t.backend.getHeader(h1))!.height, 1, "the header of a pruned block stays");
  equal((await t.backend.getTip()).hash, tip.hash);

  // A module asking the NodeAPI for a pruned block is told it is unavailable.
  deepEqual(await t.manager.invoke("reader", "block", { hash: h1 }), { error: "UNAVAILABLE" });
  deepEqual(await t.manager.invoke("reader", "block", { hash: tip.hash }), { height: tip.height });

  const [started] = await waitRecorded(t, "reader", "MaintenanceStarted");
  equal(started.payload.maintenance_type, "prune");
  const [done] = await waitRecorded(t, "reader", "MaintenanceCompleted");
  equal(done.payload.success, true);
  equal((done.payload.results as Record<string, unknown>).pruned_blocks, tip.height - 288);

  // Nothing more to prune; the chain still grows.
  const again = await j.janitor.maintenance("prune");
  deepEqual([again.results.pruned_blocks, again.results.freed_bytes], [0, 0]);
  t.backend.dev.generate(1);
  equal((await t.backend.getTip()).height, tip.height + 1);
});

Deno.test({
  name: "getBlock of a pruned block returns a rejected promise, it does not throw synchronously",
  fn: async () => {
    await using t = await testManager({});
    t.backend.dev.generate(300);
    await t.backend.prune(288);
    const h1 = (await t.backend.getBlockHash(1))!;
    let p: Promise<unknown> | undefined;
    try {
      p = t.backend.getBlock(h1);
    } catch (e) {
      throw new Error(`getBlock threw synchronously: ${(e as Error).message}`);
    }
    await rejects(p, BackendUnavailableError);
  },
});

Deno.test({
  name: "backup with backup_dir inside the modules' data folder does not copy the backups into themselves",
  fn: async () => {
    await using t = await testManager({ keeper: folder("keeper", RECORD) });
    await ready(t, "keeper");
    using j = janitorFor(t, { backup_dir: `${t.manager.config.modules.data_dir}/backups` });
    const r = await j.janitor.maintenance("backup");
    equal(r.success, true, JSON.stringify(r.results).slice(0, 300));
    const s = r.results as BackupStats;
    equal(s.modules, 1);
    equal(await exists(`${s.path}/modules/backups`), false);
  },
});

Deno.test("maintenance operations run one at a time, each bracketed by its own Started and Completed", async () => {
  await using t = await testManager({ keeper: folder("keeper", RECORD) });
  await ready(t, "keeper");
  t.backend.dev.generate(3);
  using j = janitorFor(t, {});
  const reports = await Promise.all([
    j.janitor.maintenance("backup"),
    j.janitor.maintenance("prune"),
    j.janitor.maintenance("cleanup"),
  ]);
  deepEqual(reports.map((r) => [r.maintenance_type, r.success]), [["backup", true], ["prune", true], [
    "cleanup",
    true,
  ]]);
  await waitRecorded(t, "keeper", "MaintenanceCompleted", 3);
  const seq = (await recordedBy(t, "keeper")).map((r) => `${r.type}:${r.payload.maintenance_type}`);
  deepEqual(seq, [
    "MaintenanceStarted:backup",
    "MaintenanceCompleted:backup",
    "MaintenanceStarted:prune",
    "MaintenanceCompleted:prune",
    "MaintenanceStarted:cleanup",
    "MaintenanceCompleted:cleanup",
  ]);
  const acks = j.janitor.status().acknowledgements.keeper.MaintenanceStarted;
  deepEqual([acks.asked, acks.answered, acks.missed], [3, 3, 0]);
});
