// The [janitor] section of blvm.toml: defaults, relative paths, and errors that name the key.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { parse } from "smol-toml";
import { type JanitorConfig, parseJanitorConfig } from "../../src/config/janitor_config.ts";
import { type ConfigFileError, type ConfigIssue } from "../../src/manager/config_error.ts";
import { loadNodeConfig, parseNodeConfig } from "../../src/manager/node_config.ts";
import { configErrorOf, configErrorOfAsync } from "../manager/_config_error.ts";

const FILE = "/srv/blvm/blvm.toml";

const DEFAULTS: JanitorConfig = {
  shutdown_timeout_seconds: 30,
  flush: { interval_seconds: 300, deadline_ms: 5000 },
  health: { interval_seconds: 60, deadline_ms: 2000 },
  cleanup: { interval_hours: 24, target_age_days: 30, deadline_ms: 10_000 },
  maintenance: {
    deadline_ms: 5000,
    backup_interval_hours: 0,
    backup_dir: "/srv/blvm/data/backups",
    backup_keep: 3,
    cleanup_interval_hours: 24,
    log_dir: "/srv/blvm/data/logs",
    log_retention_days: 14,
    prune_interval_hours: 0,
    prune_keep_blocks: 288,
  },
  disk: { interval_seconds: 30, threshold_percent: 10, hysteresis_percent: 2, repeat_seconds: 600, paths: [] },
  resources: { interval_seconds: 5, warn_percent: 80, repeat_seconds: 300 },
};

/** Parse a `[janitor]` table given as TOML text (its body, with sub-tables as `[janitor.x]`). */
const fromToml = (text: string) =>
  parseJanitorConfig(parse(text, { integersAsBigInt: "asNeeded" }).janitor, FILE, "/srv/blvm");

/** The one issue `fn` reports, which must be for `field`. */
function onlyIssue(fn: () => unknown, field: string): ConfigIssue {
  const e = configErrorOf(fn);
  deepEqual(e.issues.map((i) => i.field), [field], JSON.stringify(e.issues));
  equal(e.issues[0].file, FILE);
  equal(e.file, FILE);
  ok(e.message.includes(`${FILE}: ${field}: `), e.message);
  return e.issues[0];
}

Deno.test("parseJanitorConfig() without a [janitor] table gives every documented default", () => {
  deepEqual(parseJanitorConfig(undefined, FILE, "/srv/blvm"), DEFAULTS);
  deepEqual(parseJanitorConfig({}, FILE, "/srv/blvm"), DEFAULTS);
  // Every sub-table present but empty also gets its defaults.
  deepEqual(
    fromToml("[janitor.flush]\n[janitor.health]\n[janitor.cleanup]\n[janitor.maintenance]\n[janitor.disk]\n"),
    DEFAULTS,
  );
});

Deno.test("parseJanitorConfig() keeps the defaults of keys a partial table leaves out", () => {
  const c = fromToml("[janitor]\nshutdown_timeout_seconds = 5\n[janitor.flush]\ninterval_seconds = 60\n");
  equal(c.shutdown_timeout_seconds, 5);
  deepEqual(c.flush, { interval_seconds: 60, deadline_ms: 5000 });
  deepEqual(c.health, DEFAULTS.health);
  deepEqual(c.maintenance, DEFAULTS.maintenance);
});

Deno.test("parseJanitorConfig() accepts 0 (never) and fractions of a second", () => {
  const c = fromToml(`[janitor.flush]
interval_seconds = 0.05
[janitor.health]
interval_seconds = 0
[janitor.disk]
interval_seconds = 0.2
repeat_seconds = 0
[janitor.maintenance]
backup_interval_hours = 0.001
`);
  equal(c.flush.interval_seconds, 0.05);
  equal(c.health.interval_seconds, 0);
  equal(c.disk.interval_seconds, 0.2);
  equal(c.disk.repeat_seconds, 0);
  equal(c.maintenance.backup_interval_hours, 0.001);
});

Deno.test("parseJanitorConfig() resolves relative paths against the base folder and keeps absolute ones", () => {
  const c = fromToml(`[janitor.maintenance]
backup_dir = "backups/../snapshots"
log_dir = "/var/log/blvm"
[janitor.disk]
paths = ["chain", "/mnt/other", "."]
`);
  equal(c.maintenance.backup_dir, "/srv/blvm/snapshots");
  equal(c.maintenance.log_dir, "/var/log/blvm");
  deepEqual(c.disk.paths, ["/srv/blvm/chain", "/mnt/other", "/srv/blvm"]);
});

Deno.test("parseJanitorConfig() does not change the table it is given", () => {
  const section = { maintenance: { backup_dir: "b" }, disk: { paths: ["p"] } };
  const copy = structuredClone(section);
  const c = parseJanitorConfig(section, FILE, "/srv/blvm");
  deepEqual(section, copy);
  equal(c.maintenance.backup_dir, "/srv/blvm/b");
  deepEqual(c.disk.paths, ["/srv/blvm/p"]);
});

Deno.test("parseJanitorConfig() rejects a [janitor] that is not a table, naming 'janitor'", () => {
  for (const bad of [5, "x", [1], true]) {
    const i = onlyIssue(() => parseJanitorConfig(bad, FILE, "/srv"), "janitor");
    match(i.message, /expected a \[janitor\] table/);
  }
  match(onlyIssue(() => parseJanitorConfig({ flush: 5 }, FILE, "/srv"), "janitor.flush").message, /table/);
});

Deno.test("parseJanitorConfig() rejects out-of-range values, naming the key and the bound", () => {
  const cases: [string, string, RegExp][] = [
    ["[janitor.flush]\ninterval_seconds = -1", "janitor.flush.interval_seconds", />=0/],
    ["[janitor.flush]\ninterval_seconds = 31536001", "janitor.flush.interval_seconds", /<=31536000/],
    ["[janitor.flush]\ndeadline_ms = 0", "janitor.flush.deadline_ms", />=1/],
    ["[janitor.health]\ndeadline_ms = 3600001", "janitor.health.deadline_ms", /<=3600000/],
    ["[janitor]\nshutdown_timeout_seconds = 3601", "janitor.shutdown_timeout_seconds", /<=3600/],
    ["[janitor.cleanup]\ntarget_age_days = -2", "janitor.cleanup.target_age_days", />=0/],
    ["[janitor.maintenance]\nbackup_keep = 0", "janitor.maintenance.backup_keep", />=1/],
    ["[janitor.maintenance]\nprune_keep_blocks = 10", "janitor.maintenance.prune_keep_blocks", />=288/],
    ["[janitor.disk]\nthreshold_percent = 0", "janitor.disk.threshold_percent", />0/],
    ["[janitor.disk]\nthreshold_percent = 100.5", "janitor.disk.threshold_percent", /<=100/],
    ["[janitor.disk]\nhysteresis_percent = 51", "janitor.disk.hysteresis_percent", /<=50/],
    ["[janitor.resources]\nwarn_percent = 0", "janitor.resources.warn_percent", />0/],
  ];
  for (const [text, field, bound] of cases) {
    match(onlyIssue(() => fromToml(text), field).message, bound, text);
  }
});

Deno.test("parseJanitorConfig() rejects wrong types, naming the key and the value", () => {
  match(
    onlyIssue(() => fromToml('[janitor.flush]\ninterval_seconds = "60"'), "janitor.flush.interval_seconds").message,
    /expected a number, got "60"/,
  );
  match(
    onlyIssue(() => fromToml("[janitor.flush]\ndeadline_ms = 1.5"), "janitor.flush.deadline_ms").message,
    /expected an integer, got 1\.5/,
  );
  match(
    onlyIssue(() => fromToml("[janitor.maintenance]\nbackup_keep = 2.5"), "janitor.maintenance.backup_keep").message,
    /integer/,
  );
  onlyIssue(() => fromToml('[janitor.disk]\npaths = ["ok", ""]'), "janitor.disk.paths[1]");
  onlyIssue(() => fromToml('[janitor.disk]\npaths = "chain"'), "janitor.disk.paths");
  onlyIssue(() => fromToml('[janitor.maintenance]\nbackup_dir = ""'), "janitor.maintenance.backup_dir");
  // An integer too large for a number arrives as a bigint and is still reported as a bad number.
  onlyIssue(
    () => fromToml("[janitor.flush]\ninterval_seconds = 99999999999999999999"),
    "janitor.flush.interval_seconds",
  );
});

Deno.test("parseJanitorConfig() rejects unknown keys at every level, naming them", () => {
  match(onlyIssue(() => fromToml("[janitor]\nbogus = 1"), "janitor.bogus").message, /unknown key 'bogus'/);
  match(onlyIssue(() => fromToml("[janitor.flush]\ninterval = 1"), "janitor.flush.interval").message, /'interval'/);
  onlyIssue(() => fromToml("[janitor.backup]\nkeep = 1"), "janitor.backup");
});

Deno.test("parseJanitorConfig() reports every bad key at once", () => {
  const e = configErrorOf(() =>
    fromToml(`[janitor]
shutdown_timeout_seconds = -1
[janitor.flush]
interval_seconds = -1
deadline_ms = "soon"
[janitor.disk]
threshold_percent = 0
extra = true
`)
  );
  deepEqual(e.issues.map((i) => i.field).sort(), [
    "janitor.disk.extra",
    "janitor.disk.threshold_percent",
    "janitor.flush.deadline_ms",
    "janitor.flush.interval_seconds",
    "janitor.shutdown_timeout_seconds",
  ]);
  for (const f of ["janitor.flush.interval_seconds", "janitor.flush.deadline_ms", "janitor.disk.extra"]) {
    ok(e.message.includes(f), e.message);
  }
});

Deno.test("parseNodeConfig() puts [janitor] into NodeConfig.janitor and its issues among the others", () => {
  const cfg = parseNodeConfig({ janitor: { flush: { interval_seconds: 7 } } }, FILE, "/srv/blvm");
  equal(cfg.janitor.flush.interval_seconds, 7);
  equal(cfg.janitor.maintenance.backup_dir, "/srv/blvm/data/backups");
  deepEqual(parseNodeConfig({}, FILE, "/srv/blvm").janitor, DEFAULTS);

  const e: ConfigFileError = configErrorOf(() =>
    parseNodeConfig(
      { modules: { watch: 1 }, janitor: { flush: { interval_seconds: -1 } } },
      FILE,
      "/srv/blvm",
    )
  );
  deepEqual(e.issues.map((i) => i.field).sort(), ["janitor.flush.interval_seconds", "modules.watch"]);
  ok(e.issues.every((i) => i.file === FILE), JSON.stringify(e.issues));
});

Deno.test("loadNodeConfig() resolves [janitor] paths against the file's folder and names the file in errors", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "blvm-janitor-cfg-" }));
  try {
    const file = `${dir}/sub/blvm.toml`;
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(file, '[janitor.maintenance]\nbackup_dir = "bk"\n[janitor.disk]\npaths = ["."]\n');
    const cfg = await loadNodeConfig(file, dir);
    equal(cfg.janitor.maintenance.backup_dir, `${dir}/sub/bk`);
    deepEqual(cfg.janitor.disk.paths, [`${dir}/sub`]);

    await Deno.writeTextFile(file, "[janitor.flush]\ninterval_seconds = -1\n");
    const e = await configErrorOfAsync(loadNodeConfig(file, dir));
    deepEqual(e.issues.map((i) => [i.file, i.field]), [[file, "janitor.flush.interval_seconds"]]);
    ok(e.message.startsWith(`${file}: janitor.flush.interval_seconds: `), e.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
