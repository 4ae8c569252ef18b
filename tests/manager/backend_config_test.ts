// The [node] section of blvm.toml: parseBackendConfig alone, and through parseNodeConfig / loadNodeConfig.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { parse } from "smol-toml";
import { type BackendConfig, parseBackendConfig } from "../../src/manager/backend_config.ts";
import type { ConfigFileError, ConfigIssue } from "../../src/manager/config_error.ts";
import { loadNodeConfig, parseNodeConfig } from "../../src/manager/node_config.ts";
import { configErrorOf, configErrorOfAsync } from "./_config_error.ts";

const FILE = "/srv/blvm/blvm.toml";
const DEFAULTS: BackendConfig = {
  backend: "dev",
  data_dir: "/srv/blvm/data/node",
  min_fee_rate: 1,
  max_mempool_txs: 50_000,
  mempool_threshold: 40_000,
  demo: { enabled: true, block_interval: 10, tx_interval: 2, min_fee_rate: 1, max_fee_rate: 50 },
};

/** Parse TOML text as the whole blvm.toml in /srv/blvm, as the loader does. */
function toml(text: string): Record<string, unknown> {
  return parse(text, { integersAsBigInt: "asNeeded" }) as Record<string, unknown>;
}

const backendError = (section: unknown) => configErrorOf(() => parseBackendConfig(section, FILE, "/srv/blvm"));

function issue(e: ConfigFileError, field: string): ConfigIssue {
  const hit = e.issues.find((i) => i.field === field);
  ok(hit, `no issue for ${field}; got ${JSON.stringify(e.issues)}`);
  return hit;
}

Deno.test("parseBackendConfig without a [node] table gives every default, data_dir resolved against baseDir", () => {
  deepEqual(parseBackendConfig(undefined, FILE, "/srv/blvm"), DEFAULTS);
  deepEqual(parseBackendConfig({}, FILE, "/srv/blvm"), DEFAULTS);
  deepEqual(parseBackendConfig({ demo: {} }, FILE, "/srv/blvm"), DEFAULTS);
  equal(parseBackendConfig({}, FILE, "/other").data_dir, "/other/data/node");
});

Deno.test("parseBackendConfig keeps every field given, relative and absolute data_dir", () => {
  const c = parseBackendConfig(
    toml(`
backend = "dev"
data_dir = "../chain"
coinbase_address = "bcrt1q2vrjxm3d2pc58hjzr95wkk8qmc2v0re0fr63h3"
min_fee_rate = 2.5
max_mempool_txs = 1000
mempool_threshold = 800
[demo]
enabled = false
block_interval = 0.5
tx_interval = 0
min_fee_rate = 3
max_fee_rate = 3
`),
    FILE,
    "/srv/blvm",
  );
  deepEqual(c, {
    backend: "dev",
    data_dir: "/srv/chain",
    coinbase_address: "bcrt1q2vrjxm3d2pc58hjzr95wkk8qmc2v0re0fr63h3",
    min_fee_rate: 2.5,
    max_mempool_txs: 1000,
    mempool_threshold: 800,
    demo: { enabled: false, block_interval: 0.5, tx_interval: 0, min_fee_rate: 3, max_fee_rate: 3 },
  });
  equal(parseBackendConfig({ data_dir: "/var/lib/blvm" }, FILE, "/srv/blvm").data_dir, "/var/lib/blvm");
  // Only the demo keys given change; the others keep their defaults.
  deepEqual(parseBackendConfig({ demo: { tx_interval: 0 } }, FILE, "/srv").demo, { ...DEFAULTS.demo, tx_interval: 0 });
});

Deno.test("parseBackendConfig results do not share their default objects", () => {
  const a = parseBackendConfig(undefined, FILE, "/srv/blvm");
  a.demo.block_interval = 99;
  a.demo.enabled = false;
  deepEqual(parseBackendConfig(undefined, FILE, "/srv/blvm"), DEFAULTS);
});

Deno.test("parseBackendConfig names the field of each wrong type or out-of-range value", () => {
  const cases: [string, unknown, string, RegExp][] = [
    ["a [node] that is not a table", "dev", "node", /expected a \[node\] table, got "dev"/],
    ["an array for [node]", [1], "node", /expected a \[node\] table, got an array/],
    ["an unknown backend", { backend: "core" }, "node.backend", /expected "dev" .*got "core"/],
    ["a number for backend", { backend: 1 }, "node.backend", /expected "dev" .*got 1/],
    ["an empty data_dir", { data_dir: "" }, "node.data_dir", /1 character/],
    ["a number for data_dir", { data_dir: 5 }, "node.data_dir", /expected a string, got 5/],
    ["a malformed coinbase_address", { coinbase_address: "short" }, "node.coinbase_address", /regtest address/],
    ["a negative min_fee_rate", { min_fee_rate: -1 }, "node.min_fee_rate", />=0/],
    ["a string min_fee_rate", { min_fee_rate: "1" }, "node.min_fee_rate", /expected a number, got "1"/],
    ["NaN min_fee_rate", { min_fee_rate: NaN }, "node.min_fee_rate", /NaN/],
    ["max_mempool_txs 0", { max_mempool_txs: 0 }, "node.max_mempool_txs", />=1/],
    ["a fractional max_mempool_txs", { max_mempool_txs: 1.5 }, "node.max_mempool_txs", /integer, got 1\.5/],
    ["a huge mempool_threshold", { mempool_threshold: 10n ** 20n }, "node.mempool_threshold", /100000000000000000000/],
    ["demo not a table", { demo: 5 }, "node.demo", /expected a table, got 5/],
    ["demo.enabled a string", { demo: { enabled: "yes" } }, "node.demo.enabled", /expected a boolean, got "yes"/],
    ["demo.block_interval a string", { demo: { block_interval: "10" } }, "node.demo.block_interval", /got "10"/],
    ["a negative demo.tx_interval", { demo: { tx_interval: -1 } }, "node.demo.tx_interval", />=0/],
    ["a demo.tx_interval over a day", { demo: { tx_interval: 86_401 } }, "node.demo.tx_interval", /<=86400/],
    ["demo.max_fee_rate too high", { demo: { max_fee_rate: 1e6 } }, "node.demo.max_fee_rate", /<=100000/],
  ];
  for (const [what, section, field, message] of cases) {
    const e = backendError(section);
    equal(e.issues.length, 1, `${what}: ${e.message}`);
    equal(e.issues[0].field, field, what);
    equal(e.issues[0].file, FILE, what);
    match(e.issues[0].message, message, what);
    ok(e.message.startsWith(`${FILE}: ${field}: `), `${what}: ${e.message}`);
  }
});

Deno.test("parseBackendConfig refuses demo.min_fee_rate above demo.max_fee_rate", () => {
  const e = backendError({ demo: { min_fee_rate: 60, max_fee_rate: 50 } });
  equal(e.issues.length, 1);
  match(issue(e, "node.demo.min_fee_rate").message, /min_fee_rate must not be above max_fee_rate/);
  // Against the default max_fee_rate of 50 too; equal rates are fine.
  issue(backendError({ demo: { min_fee_rate: 51 } }), "node.demo.min_fee_rate");
  equal(parseBackendConfig({ demo: { min_fee_rate: 50 } }, FILE, "/srv").demo.min_fee_rate, 50);
});

Deno.test("parseBackendConfig names each unknown key, in [node] and in [node.demo]", () => {
  const e = backendError({ datadir: "x", bogus: 1, demo: { blocks: 1 } });
  deepEqual(e.issues.map((i) => i.field).sort(), ["node.bogus", "node.datadir", "node.demo.blocks"]);
  match(issue(e, "node.datadir").message, /unknown key 'datadir'/);
  match(issue(e, "node.demo.blocks").message, /unknown key 'blocks'/);
});

Deno.test("parseBackendConfig reports every bad field at once", () => {
  const e = backendError({ min_fee_rate: -3, backend: "core", demo: { tx_interval: -1, min_fee_rate: 60 } });
  deepEqual(e.issues.map((i) => i.field).sort(), [
    "node.backend",
    "node.demo.min_fee_rate",
    "node.demo.tx_interval",
    "node.min_fee_rate",
  ]);
});

Deno.test({
  name: "parseBackendConfig refuses a coinbase_address that is not a regtest address",
  fn() {
    for (
      const address of ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"]
    ) {
      const e = backendError({ coinbase_address: address });
      match(issue(e, "node.coinbase_address").message, /regtest/);
    }
  },
});

Deno.test("parseNodeConfig returns the [node] section with defaults, or as given", () => {
  deepEqual(parseNodeConfig({}, undefined, "/srv/blvm").node, DEFAULTS);
  const cfg = parseNodeConfig(
    toml(`[modules]\nwatch = false\n[node]\ndata_dir = "chain"\nmin_fee_rate = 4\n[node.demo]\nenabled = false\n`),
    FILE,
    "/srv/blvm",
  );
  deepEqual(cfg.node, {
    ...DEFAULTS,
    data_dir: "/srv/blvm/chain",
    min_fee_rate: 4,
    demo: { ...DEFAULTS.demo, enabled: false },
  });
  equal(cfg.modules.watch, false);
});

Deno.test("parseNodeConfig reports [modules] and [node] errors together", () => {
  const e = configErrorOf(() =>
    parseNodeConfig(
      toml(
        `[modules]\nwatch = 1\n[modules.hello]\nrequired = "yes"\n[node]\nbackend = "core"\n[node.demo]\ntx_interval = "x"\n`,
      ),
      FILE,
      "/srv/blvm",
    )
  );
  deepEqual(e.issues.map((i) => i.field).sort(), [
    "modules.hello.required",
    "modules.watch",
    "node.backend",
    "node.demo.tx_interval",
  ]);
  for (const i of e.issues) equal(i.file, FILE);
  match(e.message, /node\.demo\.tx_interval: expected a number, got "x"/);
  match(e.message, /modules\.watch: expected a boolean, got 1/);
});

Deno.test("parseNodeConfig fails for a bad [node] even when [modules] is fine, and the label defaults", () => {
  const only = configErrorOf(() => parseNodeConfig({ node: "x" }, undefined, "/srv"));
  deepEqual(only.issues, [{ file: "blvm.toml", field: "node", message: 'expected a [node] table, got "x"' }]);
  const demo = configErrorOf(() =>
    parseNodeConfig({ node: { demo: { min_fee_rate: 9, max_fee_rate: 2 } } }, FILE, "/")
  );
  deepEqual(demo.issues.map((i) => i.field), ["node.demo.min_fee_rate"]);
});

Deno.test("loadNodeConfig resolves [node].data_dir against the file's folder and reports its errors", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "blvm-backend-test-" }));
  try {
    await Deno.mkdir(`${dir}/etc`);
    const file = `${dir}/etc/blvm.toml`;
    await Deno.writeTextFile(file, `[node]\ndata_dir = "../state"\nmax_mempool_txs = 10\n`);
    const cfg = await loadNodeConfig(file, "/");
    equal(cfg.node.data_dir, `${dir}/state`);
    equal(cfg.node.max_mempool_txs, 10);
    equal((await loadNodeConfig(undefined, dir)).node.data_dir, `${dir}/data/node`);
    await Deno.writeTextFile(file, `[node]\nmempool_threshold = 0\n[node.demo]\nspeed = 2\n`);
    const e = await configErrorOfAsync(loadNodeConfig(file));
    deepEqual(e.issues.map((i) => i.field).sort(), ["node.demo.speed", "node.mempool_threshold"]);
    for (const i of e.issues) equal(i.file, file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
