import { configErrorOf, configErrorOfAsync } from "./_config_error.ts";
import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { parse, TomlDate } from "smol-toml";
import { ConfigFileError, type ConfigIssue } from "../../src/manager/config_error.ts";
import {
  DEFAULT_RESTART,
  loadNodeConfig,
  moduleOverrides,
  type NodeConfig,
  parseNodeConfig,
  RESERVED_KEYS,
} from "../../src/manager/node_config.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "blvm-nodecfg-test-" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Parse TOML text as blvm.toml located in /srv/blvm. */
function fromToml(text: string): NodeConfig {
  return parseNodeConfig(parse(text, { integersAsBigInt: "asNeeded" }), "/srv/blvm/blvm.toml", "/srv/blvm");
}

function issue(e: ConfigFileError, field: string): ConfigIssue {
  const hit = e.issues.find((i) => i.field === field);
  ok(hit, `no issue for ${field}; got ${JSON.stringify(e.issues)}`);
  return hit;
}

const fields = (e: ConfigFileError) => e.issues.map((i) => i.field);

Deno.test("DEFAULT_RESTART has the documented values", () => {
  deepEqual(DEFAULT_RESTART, {
    policy: "on-failure",
    initial_delay_ms: 1000,
    max_delay_ms: 60000,
    multiplier: 2,
    reset_after_ms: 60000,
    max_crashes: 5,
    window_ms: 60000,
  });
});

Deno.test("RESERVED_KEYS are the [modules] settings", () => {
  deepEqual([...RESERVED_KEYS].sort(), [
    "data_dir",
    "disabled",
    "enabled",
    "handshake_timeout_ms",
    "kill_grace_ms",
    "modules_dir",
    "os_sandbox",
    "require_os_sandbox",
    "restart",
    "runtime_dir",
    "startup_wait_ms",
    "stop_timeout_ms",
    "watch",
    "watch_debounce_ms",
  ]);
});

Deno.test("loadNodeConfig() without a file gives defaults resolved against cwd", async () => {
  await withTempDir(async (cwd) => {
    const cfg = await loadNodeConfig(undefined, cwd);
    equal(cfg.file, undefined);
    equal(cfg.modules.enabled, undefined);
    deepEqual(cfg.raw, {});
    deepEqual(cfg.modules, {
      modules_dir: `${cwd}/modules`,
      data_dir: `${cwd}/data/modules`,
      runtime_dir: `${cwd}/data/run`,
      disabled: [],
      watch: true,
      watch_debounce_ms: 300,
      handshake_timeout_ms: 10000,
      stop_timeout_ms: 5000,
      kill_grace_ms: 2000,
      startup_wait_ms: 5000,
      os_sandbox: "auto",
      require_os_sandbox: false,
      restart: DEFAULT_RESTART,
      modules: {},
      signing: { policy: "warn", threshold: 1, keys: {} },
    });
  });
});

Deno.test("loadNodeConfig() without a path uses <cwd>/blvm.toml when present", async () => {
  await withTempDir(async (cwd) => {
    await Deno.writeTextFile(`${cwd}/blvm.toml`, '[telemetry]\nendpoint = "x"\n[modules]\nwatch = false\n');
    const cfg = await loadNodeConfig(undefined, cwd);
    equal(cfg.file, `${cwd}/blvm.toml`);
    equal(cfg.modules.watch, false);
    // Sections no one checks are kept as they are.
    deepEqual(cfg.raw.telemetry, { endpoint: "x" });
  });
});

Deno.test("loadNodeConfig() with a missing path throws 'file not found'", async () => {
  await withTempDir(async (cwd) => {
    const e = await configErrorOfAsync(loadNodeConfig("conf/none.toml", cwd));
    equal(e.file, `${cwd}/conf/none.toml`);
    equal(e.message, `${cwd}/conf/none.toml: file not found`);
  });
});

Deno.test("loadNodeConfig() resolves relative paths against the config file's folder", async () => {
  await withTempDir(async (cwd) => {
    await Deno.mkdir(`${cwd}/etc`);
    await Deno.writeTextFile(
      `${cwd}/etc/node.toml`,
      '[modules]\nmodules_dir = "../mods"\ndata_dir = "state"\nruntime_dir = "/run/blvm"\n',
    );
    const cfg = await loadNodeConfig("../etc/node.toml", `${cwd}/elsewhere`);
    equal(cfg.file, `${cwd}/etc/node.toml`);
    equal(cfg.modules.modules_dir, `${cwd}/mods`);
    equal(cfg.modules.data_dir, `${cwd}/etc/state`);
    equal(cfg.modules.runtime_dir, "/run/blvm");
  });
});

Deno.test("loadNodeConfig() reports invalid TOML with the line", async () => {
  await withTempDir(async (cwd) => {
    await Deno.writeTextFile(`${cwd}/blvm.toml`, "[modules]\nwatch = \n");
    const e = await configErrorOfAsync(loadNodeConfig(undefined, cwd));
    equal(e.file, `${cwd}/blvm.toml`);
    match(e.message, /invalid TOML at line 2, column \d+/);
  });
});

Deno.test("parseNodeConfig() reads the global settings", () => {
  const cfg = fromToml(`
[modules]
enabled = ["hello", "wallet", "hello"]
disabled = ["wallet"]
watch = false
watch_debounce_ms = 50
handshake_timeout_ms = 3000
stop_timeout_ms = 1000
kill_grace_ms = 0
[modules.restart]
policy = "always"
max_crashes = 0
multiplier = 1.5
`);
  deepEqual(cfg.modules.enabled, ["hello", "wallet"]);
  deepEqual(cfg.modules.disabled, ["wallet"]);
  equal(cfg.modules.watch, false);
  equal(cfg.modules.watch_debounce_ms, 50);
  equal(cfg.modules.handshake_timeout_ms, 3000);
  equal(cfg.modules.stop_timeout_ms, 1000);
  equal(cfg.modules.kill_grace_ms, 0);
  deepEqual(cfg.modules.restart, { ...DEFAULT_RESTART, policy: "always", max_crashes: 0, multiplier: 1.5 });
  // `restart` is a setting, not a module.
  deepEqual(Object.keys(cfg.modules.modules), []);
});

Deno.test("parseNodeConfig() reads per-module tables and merges restart over the global policy", () => {
  const cfg = fromToml(`
[modules.restart]
max_crashes = 3
initial_delay_ms = 500
[modules.hello]
version = "^0.1"
required = true
lazy = false
config = { greeting = "hi", at = 2024-05-01T12:00:00Z, nested = { n = 1 }, list = [1, 2] }
env = { API_KEY = "secret" }
limits = { heap_mb = 128 }
restart = { policy = "never", max_delay_ms = 5000 }
[modules.hello.grants]
read = ["/srv/shared"]
write = ["/srv/out"]
net = ["api.example.com:443", "10.0.0.1"]
env = ["API_KEY"]
sys = ["loadavg"]
capabilities = ["ReadMempool", "send_transactions"]
[modules.other]
`);
  const hello = cfg.modules.modules.hello;
  equal(hello.version, "^0.1");
  equal(hello.required, true);
  equal(hello.lazy, false);
  equal(hello.config.greeting, "hi");
  ok(hello.config.at instanceof TomlDate, "TOML types are kept");
  deepEqual(hello.config.nested, { n: 1 });
  deepEqual(hello.config.list, [1, 2]);
  deepEqual(hello.env, { API_KEY: "secret" });
  deepEqual(hello.limits, { heap_mb: 128 });
  deepEqual(hello.grants, {
    read: ["/srv/shared"],
    write: ["/srv/out"],
    net: ["api.example.com:443", "10.0.0.1"],
    env: ["API_KEY"],
    sys: ["loadavg"],
    capabilities: ["read_mempool", "send_transactions"],
  });
  deepEqual(hello.restart, {
    ...DEFAULT_RESTART,
    max_crashes: 3,
    initial_delay_ms: 500,
    policy: "never",
    max_delay_ms: 5000,
  });
  const other = cfg.modules.modules.other;
  equal(other.version, undefined);
  equal(other.lazy, undefined);
  deepEqual(other, {
    required: false,
    config: {},
    grants: { read: [], write: [], net: [], env: [], sys: [], capabilities: [] },
    env: {},
    limits: {},
    restart: { ...DEFAULT_RESTART, max_crashes: 3, initial_delay_ms: 500 },
    signing: { policy: "warn", threshold: 1, keys: {} },
  });
});

Deno.test("moduleOverrides() returns the module's table or fresh defaults with the global restart", () => {
  const cfg = fromToml("[modules.restart]\nwindow_ms = 10\n[modules.hello]\nrequired = true\n");
  equal(moduleOverrides(cfg.modules, "hello").required, true);
  const a = moduleOverrides(cfg.modules, "absent");
  a.grants.net.push("x.com");
  deepEqual(a.grants.net, ["x.com"]);
  deepEqual(a.restart, { ...DEFAULT_RESTART, window_ms: 10 });
  equal(a.required, false);
  a.restart.window_ms = 1;
  const b = moduleOverrides(cfg.modules, "absent");
  deepEqual(b.grants.net, [], "defaults are not shared");
  equal(cfg.modules.restart.window_ms, 10);
  notEqual(a, b);
  equal(moduleOverrides(cfg.modules, "toString").required, false, "not an inherited property");
});

Deno.test("parseNodeConfig() rejects a typo key in a per-module table with a hint", () => {
  const e = configErrorOf(() => fromToml('[modules.hello]\ngrnats = { net = ["a.com"] }\nverison = "1"\nfoo = 1\n'));
  deepEqual(fields(e), ["modules.hello.grnats", "modules.hello.verison", "modules.hello.foo"]);
  equal(issue(e, "modules.hello.grnats").message, "unknown key 'grnats' (did you mean 'grants'?)");
  equal(issue(e, "modules.hello.verison").message, "unknown key 'verison' (did you mean 'version'?)");
  match(issue(e, "modules.hello.foo").message, /expected one of: version, required, lazy, config/);
  equal(e.file, "/srv/blvm/blvm.toml");
});

Deno.test("parseNodeConfig() rejects unknown keys in grants, limits and restart subtables", () => {
  const e = configErrorOf(() =>
    fromToml("[modules.hello]\ngrants = { ffi = [] }\nlimits = { cpu = 1 }\nrestart = { retries = 1 }\n")
  );
  deepEqual(fields(e), ["modules.hello.grants.ffi", "modules.hello.limits.cpu", "modules.hello.restart.retries"]);
  match(e.issues[0].message, /unknown key 'ffi'/);
});

Deno.test("parseNodeConfig() treats a non-table, non-setting key as a mistake", () => {
  const e = configErrorOf(() => fromToml("[modules]\nwacth = true\nhello = 1\n"));
  equal(issue(e, "modules.wacth").message, "unknown setting 'wacth' (did you mean 'watch'?)");
  equal(issue(e, "modules.hello").message, "expected a [modules.hello] table for module 'hello', got 1");
});

Deno.test("parseNodeConfig() rejects a per-module table whose key is not a module name", () => {
  const e = configErrorOf(() => fromToml('[modules."bad name"]\nrequired = true\n'));
  deepEqual(fields(e), ['modules."bad name"']);
  match(e.issues[0].message, /not a valid module name/);
});

Deno.test("parseNodeConfig() requires every env name to be granted in grants.env", () => {
  const e = configErrorOf(() =>
    fromToml('[modules.hello]\nenv = { API_KEY = "x", OTHER = "y" }\ngrants = { env = ["OTHER"] }\n')
  );
  deepEqual(fields(e), ["modules.hello.env.API_KEY"]);
  equal(
    e.message,
    "/srv/blvm/blvm.toml: modules.hello.env.API_KEY: 'API_KEY' is not in modules.hello.grants.env (grant it there to pass it to the module)",
  );
  const none = configErrorOf(() => fromToml('[modules.hello]\nenv = { API_KEY = "x" }\n'));
  deepEqual(fields(none), ["modules.hello.env.API_KEY"]);
});

Deno.test("parseNodeConfig() validates env values and names", () => {
  const e = configErrorOf(() =>
    fromToml('[modules.hello]\nenv = { N = 5, LD_PRELOAD = "x" }\ngrants = { env = ["N", "LD_PRELOAD"] }\n')
  );
  deepEqual(fields(e).sort(), ["modules.hello.env.LD_PRELOAD", "modules.hello.env.N", "modules.hello.grants.env[1]"]);
  equal(issue(e, "modules.hello.env.N").message, "expected a string, got 5");
  match(issue(e, "modules.hello.grants.env[1]").message, /steer the runtime/);
});

Deno.test("parseNodeConfig() validates grants like the sandbox does and reports them all", () => {
  const e = configErrorOf(() =>
    fromToml(`
[modules.hello.grants]
read = ["relative/path", "/srv/../etc", "/a,b"]
write = ["/ok", 5]
net = ["unix:/run/x.sock", "host:99999", "a.com"]
env = ["DYLD_INSERT_LIBRARIES", "1BAD"]
sys = ["pid"]
capabilities = ["read_blockchain", "FlyToTheMoon"]
`)
  );
  deepEqual(fields(e), [
    "modules.hello.grants.read[0]",
    "modules.hello.grants.read[1]",
    "modules.hello.grants.read[2]",
    "modules.hello.grants.write[1]",
    "modules.hello.grants.net[0]",
    "modules.hello.grants.net[1]",
    "modules.hello.grants.env[0]",
    "modules.hello.grants.env[1]",
    "modules.hello.grants.sys[0]",
    "modules.hello.grants.capabilities[1]",
  ]);
  const msg = (f: string) => issue(e, `modules.hello.grants.${f}`).message;
  equal(msg("read[0]"), 'expected an absolute path, got "relative/path"');
  equal(msg("read[1]"), "path \"/srv/../etc\" contains '..'");
  match(msg("read[2]"), /comma/);
  equal(msg("write[1]"), "expected a string, got 5");
  equal(msg("net[0]"), "expected 'host' or 'host:port', got \"unix:/run/x.sock\"");
  match(msg("sys[0]"), /unknown sys name "pid"/);
  equal(msg("capabilities[1]"), 'unknown capability "FlyToTheMoon"');
  equal(e.message.split("; ").length, 10);
});

Deno.test("parseNodeConfig() validates version, limits, booleans and config", () => {
  const e = configErrorOf(() =>
    fromToml(`
[modules.hello]
version = "newest"
required = "yes"
lazy = 1
config = 5
limits = { heap_mb = 8 }
[modules.two]
limits = { heap_mb = 64.5 }
`)
  );
  match(issue(e, "modules.hello.version").message, /semver range.*"newest"/);
  equal(issue(e, "modules.hello.required").message, 'expected a boolean, got "yes"');
  equal(issue(e, "modules.hello.lazy").message, "expected a boolean, got 1");
  equal(issue(e, "modules.hello.config").message, "expected a table, got 5");
  match(issue(e, "modules.hello.limits.heap_mb").message, />=16/);
  ok(issue(e, "modules.two.limits.heap_mb"));
});

Deno.test("parseNodeConfig() validates global settings and restart policies", () => {
  const e = configErrorOf(() =>
    fromToml(`
[modules]
modules_dir = "a,b"
enabled = ["ok", "not ok"]
disabled = "hello"
watch = "yes"
watch_debounce_ms = -1
handshake_timeout_ms = 0
[modules.restart]
policy = "sometimes"
multiplier = 0.5
initial_delay_ms = 1.5
[modules.hello.restart]
initial_delay_ms = 90000
`)
  );
  deepEqual(fields(e), [
    "modules.modules_dir",
    "modules.enabled[1]",
    "modules.disabled",
    "modules.watch",
    "modules.watch_debounce_ms",
    "modules.handshake_timeout_ms",
    "modules.restart.policy",
    "modules.restart.initial_delay_ms",
    "modules.restart.multiplier",
  ]);
  equal(issue(e, "modules.restart.policy").message, 'expected "on-failure", "always" or "never", got "sometimes"');
  equal(issue(e, "modules.disabled").message, 'expected an array, got "hello"');
  match(issue(e, "modules.enabled[1]").message, /module name.*"not ok"/);
});

Deno.test("parseNodeConfig() checks that initial_delay_ms is not above max_delay_ms after merging", () => {
  const e = configErrorOf(() =>
    fromToml("[modules.restart]\nmax_delay_ms = 100\n[modules.hello.restart]\nmax_delay_ms = 10\n")
  );
  deepEqual(fields(e), ["modules.restart.initial_delay_ms", "modules.hello.restart.initial_delay_ms"]);
  equal(e.issues[1].message, "1000 is larger than max_delay_ms (10)");
});

Deno.test("parseNodeConfig() rejects a [modules] that is not a table", () => {
  const e = configErrorOf(() => parseNodeConfig({ modules: [1] }, undefined, "/srv"));
  equal(e.message, "blvm.toml: modules: expected a [modules] table, got an array");
});

Deno.test("parseNodeConfig() lists problems from settings and several modules at once", () => {
  const e = configErrorOf(() =>
    fromToml(
      '[modules]\nwatch = 1\n[modules.a]\ntypo = 1\n[modules.b]\nenv = { X = "1" }\n[modules.c]\nversion = "newest"\n',
    )
  );
  deepEqual(fields(e), ["modules.watch", "modules.a.typo", "modules.b.env.X", "modules.c.version"]);
  equal(e.issues.length, e.message.split("; ").length);
});

Deno.test("parseNodeConfig() refuses require_os_sandbox with os_sandbox off, naming both keys", () => {
  const e = configErrorOf(() => fromToml('[modules]\nos_sandbox = "off"\nrequire_os_sandbox = true\n'));
  match(e.message, /modules\.require_os_sandbox: cannot be true while modules\.os_sandbox is "off"/);
  match(
    configErrorOf(() => fromToml('[modules]\nos_sandbox = "maybe"\n')).message,
    /modules\.os_sandbox: expected "auto"/,
  );
});

Deno.test("parseNodeConfig() refuses a host folder inside the modules' data folder", () => {
  // A module named "run" would own the runtime folder (the admin socket), one named "chain" the node's store.
  const e = configErrorOf(() =>
    fromToml('[modules]\ndata_dir = "data"\nruntime_dir = "data/run"\n[node]\ndata_dir = "data/chain"\n')
  );
  match(e.message, /modules\.data_dir: '\/srv\/blvm\/data' contains modules\.runtime_dir '\/srv\/blvm\/data\/run'/);
  match(e.message, /contains node\.data_dir '\/srv\/blvm\/data\/chain'/);
  // Side by side is fine.
  fromToml('[modules]\ndata_dir = "data/modules"\nruntime_dir = "data/run"\n[node]\ndata_dir = "data/node"\n');
});
