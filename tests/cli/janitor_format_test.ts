// The text output of the janitorial ctl commands (janitorText), on hand-made reports and on the real
// reports of a running janitor, and the ctl commands end to end against a real admin socket.
import { equal, match, ok } from "node:assert/strict";
import { fixtureSource } from "../_host_helpers.ts";
import { ctl, show } from "./_ctl.ts";
import { Janitor, parseJanitorConfig, serveAdmin } from "../../mod.ts";
import { janitorText } from "../../src/cli/janitor_format.ts";
import type { DataCleanupReport } from "../../src/janitor/data_cleanup.ts";
import type { FlushReport } from "../../src/janitor/flush.ts";
import type { HealthReport } from "../../src/janitor/health.ts";
import type { JanitorStatus } from "../../src/janitor/janitor.ts";
import type { MaintenanceReport } from "../../src/janitor/maintenance.ts";
import { manifest, testManager } from "../manager/_managed.ts";

const MODULE = new URL("../fixtures/maintenance_module.ts", import.meta.url).href;

const includesAll = (text: string, parts: string[]) => {
  for (const p of parts) ok(text.includes(p), `missing ${JSON.stringify(p)} in:\n${text}`);
};

const STATUS: JanitorStatus = {
  schedule: {
    flush: "2025-01-01T00:05:00.000Z",
    health: "2025-01-01T00:01:00.000Z",
    cleanup: null,
    backup: null,
    "maintenance-cleanup": null,
    prune: null,
    disk: "2025-01-01T00:00:30.000Z",
    resources: null,
  },
  runs: [
    {
      op: "flush",
      trigger: "periodic",
      started_at: "2025-01-01T00:00:00.000Z",
      duration_ms: 12,
      success: true,
      detail: {},
    },
    {
      op: "backup",
      trigger: "manual",
      started_at: "2025-01-01T00:00:01.000Z",
      duration_ms: 340,
      success: false,
      detail: {},
    },
  ],
  acknowledgements: {
    indexer: {
      StorageFlush: { asked: 3, answered: 2, failed: 0, missed: 1, last_ms: 40, max_ms: 41, mean_ms: 35 },
      HealthCheck: { asked: 1, answered: 0, failed: 1, missed: 0, last_ms: 2, max_ms: 2, mean_ms: null },
    },
  },
  disks: [
    {
      path: "/srv/data",
      available_bytes: 1_000,
      total_bytes: 100_000,
      percent_free: 1,
      low: true,
      warnings: 2,
      last_warning: "x",
    },
    {
      path: "/mnt/b",
      available_bytes: 60_000,
      total_bytes: 100_000,
      percent_free: 60,
      low: false,
      warnings: 0,
      last_warning: null,
    },
  ],
  resources: {
    modules: [
      {
        module: "indexer",
        pid: 4242,
        usage: { memory: 52_428_800, cpu: 12.5, disk: 1_048_576, network: 3 },
        limits: { memory: 104_857_600, cpu: 50, disk: null, network: 10 },
        throttled: true,
        read_only: "disk quota",
      },
      {
        module: "quiet",
        pid: 4343,
        usage: { memory: null, cpu: null, disk: null, network: null },
        limits: { memory: null, cpu: null, disk: null, network: null },
        throttled: false,
        read_only: null,
      },
    ],
    actions: [{
      at: "2025-01-01T00:00:02.000Z",
      module: "indexer",
      resource: "cpu",
      action: "throttle",
      detail: "75% > 50%",
    }],
  },
  health: null,
};

Deno.test("janitorText: flush, cleanup and maintenance reports", () => {
  const flush: FlushReport = {
    reason: "manual",
    success: true,
    duration_ms: 45,
    node: { pages: 12, duration_ms: 3 },
    modules: { indexer: { outcome: "answered", ms: 40 }, slow: { outcome: "missed", ms: null } },
  };
  includesAll(janitorText("flush", flush), [
    "Storage flush complete in 45 ms",
    "node: 12 pages in 3 ms",
    "indexer: answered in 40 ms",
    "slow: missed",
  ]);
  ok(!janitorText("flush", flush).includes("slow: missed in"));
  const broken = janitorText("flush", { ...flush, success: false, node: { error: "disk full" }, modules: {} });
  includesAll(broken, ["Storage flush INCOMPLETE", "node: failed: disk full", "modules: none subscribed"]);

  const cleanup: DataCleanupReport = {
    cleanup_type: "low_disk",
    target_age_days: 7,
    success: false,
    duration_ms: 10_001,
    modules: { a: { outcome: "failed", ms: 5, message: "cannot delete" }, b: { outcome: "gone", ms: null } },
  };
  includesAll(janitorText("cleanup", cleanup), [
    "DataCleanup (low_disk, older than 7 days) NOT acknowledged by all in 10001 ms",
    "a: failed in 5 ms (cannot delete)",
    "b: gone",
  ]);
  includesAll(janitorText("cleanup", { ...cleanup, cleanup_type: "manual", success: true, modules: {} }), [
    "DataCleanup (manual, older than 7 days) acknowledged in",
    "modules: none subscribed",
  ]);

  const backup: MaintenanceReport = {
    maintenance_type: "backup",
    success: true,
    duration_ms: 812,
    results: { path: "/srv/backups/backup-2025", files: 5, bytes: 123_456, extra: { a: 1 } },
  };
  includesAll(janitorText("maintenance", backup), [
    "Maintenance backup succeeded in 812 ms",
    "  path: /srv/backups/backup-2025",
    "  files: 5",
    "  bytes: 123456",
    '  extra: {"a":1}',
  ]);
  includesAll(
    janitorText("maintenance", {
      maintenance_type: "prune",
      success: false,
      duration_ms: 1,
      results: { error: "boom" },
    }),
    ["Maintenance prune FAILED in 1 ms", "  error: boom"],
  );
});

Deno.test("janitorText: health reports", () => {
  equal(janitorText("health", null), "No health check has run yet.");
  const report: HealthReport = {
    check_type: "periodic",
    checked_at: "2025-01-01T00:00:00.000Z",
    node_healthy: false,
    node: {
      backend: { ok: true, detail: "regtest tip 101" },
      disk: { ok: false, detail: "free space below the threshold at /srv/data" },
    },
    modules: {
      indexer: { state: "running", health: "degraded", answer: "answered", message: "backlog", ms: 7 },
      hung: { state: "running", health: "degraded", answer: "missed", message: null, ms: null },
      lazy: { state: "stopped", health: "unknown", answer: "not subscribed", message: null, ms: null },
    },
    duration_ms: 2001,
  };
  const text = janitorText("health", report);
  includesAll(text, [
    "Node UNHEALTHY (periodic check at 2025-01-01T00:00:00.000Z, 2001 ms)",
    "ok   backend: regtest tip 101",
    "FAIL disk: free space below the threshold at /srv/data",
    "Modules:",
    "indexer: degraded (running); answered in 7 ms - backlog",
    "hung: degraded (running); missed",
    "lazy: unknown (stopped); not subscribed",
  ]);
  includesAll(janitorText("health", { ...report, node_healthy: true }), ["Node healthy (periodic check"]);
});

Deno.test("janitorText: janitor status, resources and config", () => {
  const status = janitorText("janitor", STATUS);
  includesAll(status, [
    "Schedule:",
    "flush                2025-01-01T00:05:00.000Z",
    "cleanup              on command only",
    "Disks:",
    "/srv/data: 1% free (1000 of 100000 bytes) LOW",
    "/mnt/b: 60% free (60000 of 100000 bytes)",
    "indexer          StorageFlush         2/3, 1 missed, 0 failed, mean 35 max 41",
    "HealthCheck          0/1, 0 missed, 1 failed, mean - max 2",
    "2025-01-01T00:00:00.000Z flush (periodic) ok 12 ms",
    "2025-01-01T00:00:01.000Z backup (manual) FAILED 340 ms",
  ]);
  ok(!status.includes("/mnt/b: 60% free (60000 of 100000 bytes) LOW"));

  const res = janitorText("resources", STATUS);
  const rows = res.split("\n");
  match(rows[0], /^MODULE\s+PID\s+MEMORY\/LIMIT\s+CPU\/LIMIT\s+DISK\/QUOTA\s+REQ\/S\/LIMIT\s+STATE$/);
  match(rows[1], /^indexer\s+4242\s+50\.0M\/100\.0M\s+12\.5%\/50%\s+1\.0M\/-\s+3\/10\s+throttled,read-only$/);
  match(rows[2], /^quiet\s+4343\s+-\/-\s+-\/-\s+-\/-\s+-\/-\s+ok$/);
  includesAll(res, ["Recent warnings and actions:", "2025-01-01T00:00:02.000Z indexer cpu throttle: 75% > 50%"]);
  ok(!janitorText("resources", { ...STATUS, resources: { ...STATUS.resources, actions: [] } }).includes("Recent"));

  includesAll(janitorText("config", { applied: false, changed_sections: [], error: "blvm.toml: bad" }), [
    "Configuration NOT reloaded (the one in force is kept):",
    "blvm.toml: bad",
  ]);
  equal(janitorText("config", { applied: false, changed_sections: [] }), "Configuration unchanged.");
  equal(
    janitorText("config", { applied: true, changed_sections: ["janitor", "modules"], modules: { a: "restarted" } }),
    "Configuration reloaded: janitor, modules changed\n  module a: restarted",
  );
  const shown = janitorText("config", { file: null, config: { janitor: { flush: { interval_seconds: 60 } } } });
  includesAll(shown, ["# (no file: defaults and overrides), secrets redacted", '"interval_seconds": 60']);
  equal(janitorText("other", { a: 1n }), '{\n  "a": 1\n}');
});

Deno.test("janitorText on real reports, and the ctl commands against a running janitor", async () => {
  await using t = await testManager({
    keeper: {
      manifest: manifest("keeper"),
      config: `record = ["StorageFlush", "DataCleanup", "MaintenanceStarted"]\nhealth = { status = "healthy" }\n`,
      main: fixtureSource(MODULE),
    },
  });
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
  const socket = `${t.manager.host.runtimeDir}/admin.sock`;
  const server = await serveAdmin(t.manager, socket, () => {}, t.backend, { janitor });
  try {
    includesAll(janitorText("health", await janitor.healthCheck()), [
      "Node healthy (manual check",
      "ok   backend: regtest tip 0",
      "keeper: healthy (running); answered in",
    ]);
    includesAll(janitorText("flush", await janitor.flush()), ["Storage flush complete", "keeper: answered in"]);

    const health = await ctl("health", "--last", "--socket", socket);
    equal(health.code, 0, show(health));
    includesAll(health.stdout, ["Node healthy (manual check", "keeper: healthy (running)"]);
    const cleanup = await ctl("cleanup", "--age", "4", "--socket", socket);
    equal(cleanup.code, 0, show(cleanup));
    includesAll(cleanup.stdout, ["DataCleanup (manual, older than 4 days) acknowledged", "keeper: answered"]);
    const backup = await ctl("maintenance", "backup", "--json", "--socket", socket);
    equal(backup.code, 0, show(backup));
    const report = JSON.parse(backup.stdout) as MaintenanceReport;
    equal(report.success, true);
    ok((await Deno.stat(`${report.results.path}/node/node.sqlite`)).size > 0);
    const bad = await ctl("maintenance", "x", "--socket", socket);
    equal(bad.code, 1, show(bad));
    match(bad.stderr, /error \[INVALID_PARAMS\]: 'type' must be one of backup, cleanup, prune, got "x"/);
    const usage = await ctl("cleanup", "--age=-1", "--socket", socket);
    equal(usage.code, 2, show(usage));
    match(usage.stderr, /--age must be a whole number of days, got '-1'/);
    const status = await ctl("janitor", "--socket", socket);
    equal(status.code, 0, show(status));
    includesAll(status.stdout, ["Schedule:", "keeper", "MaintenanceStarted", "backup (manual) ok"]);
  } finally {
    await server.close();
    janitor.stop();
  }
});
