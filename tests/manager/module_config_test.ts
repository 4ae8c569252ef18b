import { configErrorOfAsync } from "./_config_error.ts";
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { parse, TomlDate } from "smol-toml";
import { type LoadedManifest, readManifest } from "../../src/manager/manifest.ts";
import {
  buildModuleConfig,
  configFieldSchema,
  deepMerge,
  matchesFieldType,
  toWireValue,
} from "../../src/manager/module_config.ts";
import { parseNodeConfig } from "../../src/manager/node_config.ts";

const SCHEMA = `
[config_schema]
greeting = { type = "string", default = "hello" }
interval = { type = "integer", default = 10 }
ratio = { type = "float" }
verbose = { type = "boolean", default = false }
peers = { type = "array" }
rpc = { type = "table", default = { host = "127.0.0.1", port = 8332 } }
since = { type = "datetime" }
api_key = { type = "string", required = true }
anything = "Free-form"
`;

async function withModule(
  fn: (loaded: LoadedManifest) => Promise<void>,
  opts: { schema?: string; config?: string } = {},
): Promise<void> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "blvm-modcfg-test-" }));
  try {
    const dir = `${base}/hello`;
    await Deno.mkdir(dir);
    await Deno.writeTextFile(
      `${dir}/module.toml`,
      `name = "hello"\nversion = "0.1.0"\nentry_point = "main.ts"\n${opts.schema ?? SCHEMA}`,
    );
    await Deno.writeTextFile(`${dir}/main.ts`, "");
    if (opts.config !== undefined) await Deno.writeTextFile(`${dir}/config.toml`, opts.config);
    await fn(await readManifest(dir));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

const OVERRIDES = "[modules.hello.config]";

Deno.test("buildModuleConfig() fills schema defaults when there is no config.toml", async () => {
  await withModule(async (loaded) => {
    const config = await buildModuleConfig(loaded, { api_key: "k" });
    deepEqual(config, {
      api_key: "k",
      greeting: "hello",
      interval: 10,
      verbose: false,
      rpc: { host: "127.0.0.1", port: 8332 },
    });
  });
});

Deno.test("buildModuleConfig() merges overrides over config.toml over defaults", async () => {
  const configToml = `
greeting = "from file"
interval = 20
peers = ["a", "b"]
api_key = "file-key"
[rpc]
host = "10.0.0.1"
[extra]
keep = true
`;
  await withModule(async (loaded) => {
    const overrides = { interval: 30, peers: ["c"], rpc: { port: 18443 }, extra: { added: 1 } };
    const config = await buildModuleConfig(loaded, overrides);
    equal(config.greeting, "from file", "config.toml beats the default");
    equal(config.interval, 30, "overrides beat config.toml");
    deepEqual(config.peers, ["c"], "arrays are replaced, not merged");
    deepEqual(config.rpc, { host: "10.0.0.1", port: 18443 }, "tables merge recursively");
    deepEqual(config.extra, { keep: true, added: 1 }, "keys outside the schema merge and pass through");
    equal(config.api_key, "file-key");
    deepEqual(overrides.rpc, { port: 18443 }, "overrides are not changed");
  }, { config: configToml });
});

Deno.test("buildModuleConfig() keeps TOML types and passes unknown keys through", async () => {
  const configToml = 'api_key = "k"\nratio = 2\nbig = 123456789012345678901\nnested = [[1, 2], ["x"]]\nflag = true\n';
  await withModule(async (loaded) => {
    const config = await buildModuleConfig(loaded, { interval: 2n ** 64n });
    equal(config.ratio, 2, "an integer is a valid float");
    equal(config.big, 123456789012345678901n);
    equal(config.interval, 2n ** 64n, "a bigint is a valid integer");
    deepEqual(config.nested, [[1, 2], ["x"]]);
    equal(config.flag, true);
  }, { config: configToml });
});

Deno.test("buildModuleConfig() reports a missing required key against config.toml", async () => {
  await withModule(async (loaded) => {
    const e = await configErrorOfAsync(buildModuleConfig(loaded, {}));
    const file = `${loaded.dir}/config.toml`;
    equal(e.file, file);
    deepEqual(e.issues, [{
      file,
      field: "api_key",
      message: `required key is missing (set it here or in ${OVERRIDES})`,
    }]);
  });
});

Deno.test("buildModuleConfig() names the source of each wrongly typed value and lists all of them", async () => {
  const configToml = 'api_key = 5\ninterval = 1.5\nsince = "2024-05-01"\npeers = { a = 1 }\n';
  await withModule(async (loaded) => {
    const e = await configErrorOfAsync(
      buildModuleConfig(loaded, { ratio: "fast", rpc: [1], verbose: "yes", interval: 7 }),
    );
    const file = `${loaded.dir}/config.toml`;
    deepEqual(e.issues, [
      { file: OVERRIDES, field: "ratio", message: 'expected a number, got "fast"' },
      { file: OVERRIDES, field: "verbose", message: 'expected a boolean, got "yes"' },
      { file, field: "peers", message: "expected an array, got a table" },
      { file: OVERRIDES, field: "rpc", message: "expected a table, got an array" },
      { file, field: "since", message: 'expected a TOML datetime, got "2024-05-01"' },
      { file, field: "api_key", message: "expected a string, got 5" },
    ]);
    ok(e.message.includes(`; ${file}: peers: expected an array, got a table`));
    ok(e.message.includes(`${OVERRIDES}: ratio: expected a number`));
  }, { config: configToml });
});

Deno.test("buildModuleConfig() rejects a non-integer integer from config.toml", async () => {
  await withModule(async (loaded) => {
    const e = await configErrorOfAsync(buildModuleConfig(loaded, {}));
    deepEqual(e.issues.map((i) => [i.field, i.message]), [["interval", "expected an integer, got 1.5"]]);
  }, { config: 'api_key = "k"\ninterval = 1.5\n' });
});

Deno.test("buildModuleConfig() converts datetimes to RFC 3339 strings everywhere", async () => {
  const configToml = `
api_key = "k"
since = 2024-05-01T12:30:00+02:00
local_day = 2024-05-01
local_time = 07:30:00
local_dt = 2024-05-01T07:30:00
[nested]
list = [2020-01-01T00:00:00Z]
`;
  await withModule(async (loaded) => {
    const config = await buildModuleConfig(loaded, {});
    equal(config.since, "2024-05-01T12:30:00.000+02:00");
    equal(config.local_day, "2024-05-01");
    equal(config.local_time, "07:30:00.000");
    equal(config.local_dt, "2024-05-01T07:30:00.000");
    deepEqual(config.nested, { list: ["2020-01-01T00:00:00.000Z"] });
    ok(Object.values(config).every((v) => !(v instanceof Date)));
  }, { config: configToml });
});

Deno.test("buildModuleConfig() accepts a datetime override from blvm.toml and a datetime default", async () => {
  const schema = '[config_schema]\nsince = { type = "datetime", default = 2000-01-01T00:00:00Z }\nuntil = "any"\n';
  await withModule(async (loaded) => {
    equal((await buildModuleConfig(loaded, {})).since, "2000-01-01T00:00:00.000Z");
    equal(loaded.manifest.config_schema.since.default instanceof TomlDate, true, "the manifest keeps its TomlDate");
    const node = parseNodeConfig(
      parse("[modules.hello.config]\nsince = 2030-06-01T00:00:00Z\nuntil = 2031-01-01\n"),
      "/srv/blvm.toml",
      "/srv",
    );
    const config = await buildModuleConfig(loaded, node.modules.modules.hello.config);
    deepEqual(config, { since: "2030-06-01T00:00:00.000Z", until: "2031-01-01" });
    ok(node.modules.modules.hello.config.since instanceof TomlDate, "the overrides are not converted in place");
  }, { schema });
});

Deno.test("buildModuleConfig() does not share default tables between calls", async () => {
  await withModule(async (loaded) => {
    const a = await buildModuleConfig(loaded, { api_key: "k" });
    (a.rpc as Record<string, unknown>).host = "changed";
    const b = await buildModuleConfig(loaded, { api_key: "k" });
    deepEqual(b.rpc, { host: "127.0.0.1", port: 8332 });
  });
});

Deno.test("buildModuleConfig() reports a config.toml syntax error naming that file", async () => {
  await withModule(async (loaded) => {
    const e = await configErrorOfAsync(buildModuleConfig(loaded, {}));
    equal(e.file, `${loaded.dir}/config.toml`);
    match(e.message, new RegExp(`^${loaded.dir}/config\\.toml: invalid TOML at line 2, column \\d+`));
  }, { config: 'api_key = "k"\ninterval = = 3\n' });
});

Deno.test("buildModuleConfig() refuses a config.toml that links outside the module folder", async () => {
  await withModule(async (loaded) => {
    const outside = await Deno.makeTempFile({ suffix: ".toml" });
    try {
      await Deno.writeTextFile(outside, 'api_key = "stolen"\n');
      await Deno.symlink(outside, `${loaded.dir}/config.toml`);
      const e = await configErrorOfAsync(buildModuleConfig(loaded, {}));
      match(e.message, /outside the module folder/);
    } finally {
      await Deno.remove(outside);
    }
  });
});

Deno.test("buildModuleConfig() passes config through unchanged when there is no schema", async () => {
  await withModule(async (loaded) => {
    deepEqual(await buildModuleConfig(loaded, { b: [1] }), { a: "x", b: [1] });
  }, { schema: "", config: 'a = "x"\nb = 2\n' });
});

Deno.test("buildModuleConfig() refuses a config.toml that is not a regular file", async () => {
  await withModule(async (loaded) => {
    await Deno.mkdir(`${loaded.dir}/config.toml`);
    const e = await configErrorOfAsync(buildModuleConfig(loaded, {}));
    equal(e.message, `${loaded.dir}/config.toml: not a regular file`);
  });
});

Deno.test("matchesFieldType() follows the documented rules", () => {
  const at = new TomlDate("2024-05-01");
  const cases: [Parameters<typeof matchesFieldType>[0], unknown, boolean][] = [
    ["string", "x", true],
    ["string", 1, false],
    ["integer", 3, true],
    ["integer", 3n, true],
    ["integer", 3.5, false],
    ["integer", "3", false],
    ["float", 3, true],
    ["float", 3.5, true],
    ["float", 3n, false],
    ["boolean", false, true],
    ["boolean", 0, false],
    ["array", [], true],
    ["array", {}, false],
    ["table", {}, true],
    ["table", [], false],
    ["table", at, false],
    ["datetime", at, true],
    ["datetime", "2024-05-01", false],
    ["any", null, true],
    ["any", undefined, false],
  ];
  for (const [type, value, expected] of cases) {
    equal(matchesFieldType(type, value), expected, `${type} ${String(value)}`);
  }
});

Deno.test("configFieldSchema accepts both TOML forms", () => {
  deepEqual(configFieldSchema.parse("Text"), { type: "any", description: "Text", required: false });
  deepEqual(configFieldSchema.parse({ type: "boolean", default: true, required: true }), {
    type: "boolean",
    default: true,
    required: true,
  });
  equal(configFieldSchema.safeParse({ type: "boolean", default: 1 }).success, false);
  equal(configFieldSchema.safeParse(["Text"]).success, false);
});

Deno.test("deepMerge() replaces arrays and scalars, merges tables and copies its inputs", () => {
  const base = { a: { b: 1, c: [1, 2] }, d: "x", t: { keep: 1 } };
  const merged = deepMerge(base, { a: { c: [3], e: 2 }, d: { now: "table" }, t: "scalar", u: undefined });
  deepEqual(merged, { a: { b: 1, c: [3], e: 2 }, d: { now: "table" }, t: "scalar" });
  deepEqual(base, { a: { b: 1, c: [1, 2] }, d: "x", t: { keep: 1 } });
  const evil = deepMerge({}, JSON.parse('{"__proto__": {"polluted": true}}'));
  equal(Object.getPrototypeOf(evil), Object.prototype);
  equal(({} as Record<string, unknown>).polluted, undefined);
  ok(Object.hasOwn(evil, "__proto__"));
});

Deno.test("toWireValue() converts nested dates and keeps other values", () => {
  const v = toWireValue({ d: new Date(0), list: [new TomlDate("12:00:00"), 1n], t: { s: "x" } });
  deepEqual(v, { d: "1970-01-01T00:00:00.000Z", list: ["12:00:00.000", 1n], t: { s: "x" } });
});
