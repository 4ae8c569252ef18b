// The admin socket's janitor.* methods through serveAdmin on a real Unix socket, with a real module
// process answering the janitorial requests.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { fixtureSource } from "../_host_helpers.ts";
import { rejectsWith } from "./_admin.ts";
import { connectAdmin, Janitor, LiveConfig, parseJanitorConfig, serveAdmin } from "../../mod.ts";
import { dispatchJanitor, JANITOR_METHODS } from "../../src/admin/janitor_commands.ts";
import type { DataCleanupReport } from "../../src/janitor/data_cleanup.ts";
import type { FlushReport } from "../../src/janitor/flush.ts";
import type { HealthReport } from "../../src/janitor/health.ts";
import type { JanitorStatus } from "../../src/janitor/janitor.ts";
import type { MaintenanceReport } from "../../src/janitor/maintenance.ts";
import { manifest, type TestManager, testManager } from "../manager/_managed.ts";

const MODULE = new URL("../fixtures/maintenance_module.ts", import.meta.url).href;
const KEEPER = `record = ["StorageFlush", "DataCleanup", "MaintenanceStarted"]
health = { status = "healthy", message = "fine" }
files = { "state.txt" = "abc" }
`;

async function keeperHost(t: TestManager, withJanitor = true) {
  await t.waitLog("keeper", (m) => m === "ready");
  const config = parseJanitorConfig(
    {
      maintenance: { backup_dir: "backups", log_dir: "logs" },
      disk: { interval_seconds: 0, threshold_percent: 0.0001 },
    },
    "blvm.toml",
    t.root,
  );
  const janitor = new Janitor({ manager: t.manager, backend: t.backend, config });
  const live = new LiveConfig(t.manager, janitor, { cwd: t.root, overrides: [] });
  const path = `${t.manager.host.runtimeDir}/admin.sock`;
  const server = await serveAdmin(t.manager, path, () => {}, t.backend, withJanitor ? { janitor, live } : {});
  const admin = await connectAdmin(path);
  return {
    janitor,
    admin,
    async [Symbol.asyncDispose]() {
      await admin.close();
      await server.close();
      janitor.stop();
    },
  };
}

async function seen(t: TestManager, type: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(`${t.manager.config.modules.data_dir}/keeper/events.jsonl`).catch(() => "");
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.type === type).map((r) =>
    r.payload
  );
}

Deno.test("janitor.* over the admin socket: each command runs and the module answers", async () => {
  await using t = await testManager({
    keeper: { manifest: manifest("keeper"), config: KEEPER, main: fixtureSource(MODULE) },
  });
  await using h = await keeperHost(t);
  const call = <T>(method: string, params: Record<string, unknown> = {}) => h.admin.call(method, params) as Promise<T>;
  t.backend.dev.generate(3);

  equal(await call("janitor.health", { last: true }), null, "no health check has run yet");
  const health = await call<HealthReport>("janitor.health");
  deepEqual([health.check_type, health.node_healthy], ["manual", true]);
  deepEqual(
    [health.modules.keeper.answer, health.modules.keeper.health, health.modules.keeper.message],
    ["answered", "healthy", "fine"],
  );
  equal(health.node.backend.detail, "regtest tip 3");
  deepEqual(await call("janitor.health", { last: true }), health);

  const flush = await call<FlushReport>("janitor.flush");
  deepEqual([flush.reason, flush.success, flush.modules.keeper.outcome], ["manual", true, "answered"]);
  ok(!("error" in flush.node), JSON.stringify(flush.node));
  deepEqual(await seen(t, "StorageFlush"), [{ reason: "manual", deadline_ms: 5000 }]);

  const aged = await call<DataCleanupReport>("janitor.cleanup", { target_age_days: 3 });
  deepEqual([aged.cleanup_type, aged.target_age_days, aged.success], ["manual", 3, true]);
  equal(aged.modules.keeper.outcome, "answered");
  equal((await call<DataCleanupReport>("janitor.cleanup")).target_age_days, 30);
  equal((await call<DataCleanupReport>("janitor.cleanup", { target_age_days: 0 })).target_age_days, 0);
  deepEqual((await seen(t, "DataCleanup")).map((p) => p.target_age_days), [3, 30, 0]);

  const backup = await call<MaintenanceReport>("janitor.maintenance", { type: "backup" });
  deepEqual([backup.maintenance_type, backup.success], ["backup", true]);
  equal(await Deno.readTextFile(`${backup.results.path}/modules/keeper/state.txt`), "abc");
  const prune = await call<MaintenanceReport>("janitor.maintenance", { type: "prune" });
  deepEqual([prune.success, prune.results.pruned_blocks], [true, 0], "3 blocks: nothing below the 288 kept");
  const cleanup = await call<MaintenanceReport>("janitor.maintenance", { type: "cleanup" });
  deepEqual([cleanup.success, cleanup.results.stale_sockets], [true, 0], "admin.sock is never removed");
  equal((await Deno.lstat(`${t.manager.host.runtimeDir}/admin.sock`)).isSocket, true);
  deepEqual((await seen(t, "MaintenanceStarted")).map((p) => p.maintenance_type), ["backup", "prune", "cleanup"]);

  const status = await call<JanitorStatus>("janitor.status");
  deepEqual(status.runs.map((r) => `${r.op}:${r.trigger}`), [
    "health:manual",
    "flush:manual",
    "cleanup:manual",
    "cleanup:manual",
    "cleanup:manual",
    "backup:manual",
    "prune:manual",
    "maintenance-cleanup:manual",
  ]);
  ok(status.runs.every((r) => r.success));
  const acks = status.acknowledgements.keeper;
  deepEqual(
    Object.fromEntries(Object.entries(acks).map(([type, a]) => [type, [a.asked, a.answered]])),
    { HealthCheck: [1, 1], StorageFlush: [1, 1], DataCleanup: [3, 3], MaintenanceStarted: [3, 3] },
  );
  deepEqual(status.health, health);
  deepEqual(Object.keys(status.schedule).sort(), [
    "backup",
    "cleanup",
    "disk",
    "flush",
    "health",
    "maintenance-cleanup",
    "prune",
    "resources",
  ]);
  ok(Array.isArray(status.disks) && Array.isArray(status.resources.modules));

  const shown = await call<{ file: string | null; config: Record<string, unknown> }>("config.show");
  ok(shown.config.janitor && shown.config.modules, Object.keys(shown.config).join(","));
});

Deno.test("janitor.* rejects bad params with INVALID_PARAMS and asks no module anything", async () => {
  await using t = await testManager({
    keeper: { manifest: manifest("keeper"), config: KEEPER, main: fixtureSource(MODULE) },
  });
  await using h = await keeperHost(t);
  const call = (method: string, params: Record<string, unknown> = {}) => h.admin.call(method, params);

  const e = await rejectsWith(call("janitor.maintenance", { type: "x" }), "INVALID_PARAMS", /backup, cleanup, prune/);
  match(e.message, /'type' must be one of backup, cleanup, prune, got "x"/);
  await rejectsWith(call("janitor.maintenance"), "INVALID_PARAMS", /'type' must be one of .* got undefined/);
  await rejectsWith(call("janitor.maintenance", { type: "BACKUP" }), "INVALID_PARAMS", /got "BACKUP"/);
  // A bigint (an integer beyond 2^53 on the wire) is named, not a failure to show it (once INTERNAL).
  await rejectsWith(call("janitor.maintenance", { type: 2n ** 63n }), "INVALID_PARAMS", /got 9223372036854775808$/);
  for (const bad of [-1, 1.5, "7", null, Number.MAX_SAFE_INTEGER + 2]) {
    await rejectsWith(
      call("janitor.cleanup", { target_age_days: bad }),
      "INVALID_PARAMS",
      /'target_age_days' must be a whole number of days >= 0/,
    );
  }
  await rejectsWith(call("janitor.nope"), "METHOD_NOT_FOUND", /janitor\.status/);

  await new Promise((r) => setTimeout(r, 200));
  deepEqual(await seen(t, "MaintenanceStarted"), []);
  deepEqual(await seen(t, "DataCleanup"), []);
  deepEqual(h.janitor.status().runs, []);
  // The connection still works after the refusals.
  equal(((await call("janitor.cleanup", { target_age_days: 1 })) as DataCleanupReport).target_age_days, 1);
});

Deno.test("without a janitor or a live configuration the methods answer UNAVAILABLE", async () => {
  await using t = await testManager({
    keeper: { manifest: manifest("keeper"), config: KEEPER, main: fixtureSource(MODULE) },
  });
  await using h = await keeperHost(t, false);
  for (const method of JANITOR_METHODS) {
    const why = method.startsWith("config.") ? /does not follow a configuration file/ : /without a janitor/;
    await rejectsWith(h.admin.call(method, { type: "backup" }), "UNAVAILABLE", why);
  }
  await rejectsWith(dispatchJanitor(undefined, undefined, "janitor.flush", {}), "UNAVAILABLE");
  deepEqual(await seen(t, "StorageFlush"), [], "nothing was asked");
});
