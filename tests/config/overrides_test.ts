// Configuration overrides from the environment (BLVM_SECTION__KEY) and the command line (--set a.b=v),
// applied over blvm.toml in that order.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { TomlDate } from "smol-toml";
import { applyOverrides, envOverrides, type Override, setOverrides } from "../../src/config/overrides.ts";
import { toWireValue } from "../../src/manager/module_config.ts";
import { loadNodeConfig } from "../../src/manager/node_config.ts";
import { configErrorOf, configErrorOfAsync } from "../manager/_config_error.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "blvm-overrides-test-" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("envOverrides() takes only BLVM_*__* variables, sorted, with lower-cased paths", () => {
  const out = envOverrides({
    HOME: "/root",
    BLVM_CONFIG: "/etc/blvm.toml",
    BLVM_MODULE_ID: "x",
    XBLVM_NODE__PORT: "1",
    blvm_node__port: "2",
    BLVM_NODE__MIN_FEE_RATE: "2",
    BLVM_JANITOR__FLUSH__INTERVAL_SECONDS: "7",
  });
  deepEqual(out, [
    {
      source: "environment variable BLVM_JANITOR__FLUSH__INTERVAL_SECONDS",
      path: ["janitor", "flush", "interval_seconds"],
      value: 7,
    },
    { source: "environment variable BLVM_NODE__MIN_FEE_RATE", path: ["node", "min_fee_rate"], value: 2 },
  ]);
  deepEqual(envOverrides({}), []);
});

Deno.test("envOverrides() reads TOML values where they are valid TOML, plain strings otherwise", () => {
  const value = (v: string) => envOverrides({ BLVM_A__B: v })[0].value;
  equal(value("2"), 2);
  equal(value("1.5"), 1.5);
  equal(value("-3"), -3);
  equal(value("true"), true);
  equal(value("false"), false);
  deepEqual(value('["a", "b"]'), ["a", "b"]);
  deepEqual(value("{ x = 1 }"), { x: 1 });
  equal(value('"quoted"'), "quoted");
  equal(value('"2"'), "2");
  equal(value("/srv/node"), "/srv/node");
  equal(value("hello world"), "hello world");
  equal(value(""), "");
  equal(value("a = b"), "a = b");
});

Deno.test("setOverrides() parses path=value, splitting at the first '='", () => {
  deepEqual(setOverrides(["janitor.flush.interval_seconds=60", "node.data_dir=/srv/x", "a.b=x=y", "c="]), [
    { source: "--set janitor.flush.interval_seconds=60", path: ["janitor", "flush", "interval_seconds"], value: 60 },
    { source: "--set node.data_dir=/srv/x", path: ["node", "data_dir"], value: "/srv/x" },
    { source: "--set a.b=x=y", path: ["a", "b"], value: "x=y" },
    { source: "--set c=", path: ["c"], value: "" },
  ]);
  deepEqual(setOverrides([]), []);
});

Deno.test("setOverrides() rejects arguments without '=' or with an empty path segment, naming the argument", () => {
  for (const bad of ["janitor.flush.interval_seconds", "=5", ".a=1", "a..b=1", "a.=1", ""]) {
    const e = configErrorOf(() => setOverrides(["ok.key=1", bad]));
    equal(e.file, "--set");
    deepEqual(e.issues.map((i) => [i.file, i.field]), [["--set", bad]], bad);
    match(e.issues[0].message, /expected --set <section\.key>=<value>/);
    ok(e.message.startsWith(bad ? `--set: ${bad}: ` : "--set: "), e.message);
  }
});

Deno.test("applyOverrides() sets nested keys, creating missing tables, without changing its input", () => {
  const data = { node: { min_fee_rate: 1, network: "regtest" }, janitor: { flush: { deadline_ms: 10 } } };
  const before = structuredClone(data);
  const out = applyOverrides(data, [
    ...envOverrides({ BLVM_NODE__MIN_FEE_RATE: "3", BLVM_JANITOR__FLUSH__INTERVAL_SECONDS: "7" }),
    ...setOverrides(["custom.deep.er.key=x"]),
  ]);
  deepEqual(data, before);
  deepEqual(out, {
    node: { min_fee_rate: 3, network: "regtest" },
    janitor: { flush: { deadline_ms: 10, interval_seconds: 7 } },
    custom: { deep: { er: { key: "x" } } },
  });
});

Deno.test("applyOverrides() applies in order, so the command line wins over the environment", () => {
  const env = envOverrides({ BLVM_JANITOR__FLUSH__INTERVAL_SECONDS: "7" });
  const set = setOverrides(["janitor.flush.interval_seconds=9"]);
  const data = { janitor: { flush: { interval_seconds: 1 } } };
  deepEqual(applyOverrides(data, [...env, ...set]), { janitor: { flush: { interval_seconds: 9 } } });
  deepEqual(applyOverrides(data, [...set, ...env]), { janitor: { flush: { interval_seconds: 7 } } });
  // A table can be replaced as a whole.
  deepEqual(applyOverrides(data, setOverrides(["janitor.flush={ deadline_ms = 5 }"])), {
    janitor: { flush: { deadline_ms: 5 } },
  });
});

Deno.test("applyOverrides() refuses a path through a value that is not a table, naming the override", () => {
  const o: Override[] = setOverrides(["node.port.number=1"]);
  const e = configErrorOf(() => applyOverrides({ node: { port: 8333 } }, o));
  equal(e.file, "--set node.port.number=1");
  deepEqual(e.issues.map((i) => [i.file, i.field]), [["--set node.port.number=1", "node.port.number"]]);
  match(e.issues[0].message, /'node\.port' is not a table/);

  const env = envOverrides({ BLVM_JANITOR__FLUSH__X: "1" });
  const e2 = configErrorOf(() => applyOverrides({ janitor: "off" }, env));
  equal(e2.file, "environment variable BLVM_JANITOR__FLUSH__X");
  equal(e2.issues[0].field, "janitor.flush.x");
  match(e2.issues[0].message, /'janitor' is not a table/);
  // An array is not a table either.
  match(configErrorOf(() => applyOverrides({ a: [1] }, setOverrides(["a.b=1"]))).message, /'a' is not a table/);
});

Deno.test("loadNodeConfig() applies overrides over the file, and over the defaults when there is none", async () => {
  await withTempDir(async (dir) => {
    const overrides = [
      ...envOverrides({ BLVM_JANITOR__FLUSH__INTERVAL_SECONDS: "7", BLVM_MODULES__HELLO__CONFIG__GREETING: "hey" }),
      ...setOverrides(["janitor.health.interval_seconds=11", "modules.stop_timeout_ms=1234"]),
    ];
    const none = await loadNodeConfig(undefined, dir, overrides);
    equal(none.file, undefined);
    equal(none.janitor.flush.interval_seconds, 7);
    equal(none.janitor.health.interval_seconds, 11);
    equal(none.modules.stop_timeout_ms, 1234);
    deepEqual(none.modules.modules.hello.config, { greeting: "hey" });

    const file = `${dir}/blvm.toml`;
    await Deno.writeTextFile(
      file,
      '[janitor.flush]\ninterval_seconds = 300\ndeadline_ms = 42\n[modules.hello.config]\ngreeting = "hi"\nn = 1\n',
    );
    const cfg = await loadNodeConfig(file, dir, overrides);
    deepEqual(cfg.janitor.flush, { interval_seconds: 7, deadline_ms: 42 });
    equal(cfg.janitor.health.interval_seconds, 11);
    deepEqual(cfg.modules.modules.hello.config, { greeting: "hey", n: 1 });
    // `raw` is the file with the overrides applied: what the node shows.
    deepEqual((cfg.raw.janitor as Record<string, unknown>).flush, { interval_seconds: 7, deadline_ms: 42 });
    // The file itself is untouched.
    match(await Deno.readTextFile(file), /interval_seconds = 300/);
  });
});

Deno.test("loadNodeConfig() rejects an override with a bad value, naming the key", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/blvm.toml`;
    await Deno.writeTextFile(file, "[janitor.flush]\ninterval_seconds = 300\n");
    const cases: [Override[], string, RegExp][] = [
      [envOverrides({ BLVM_JANITOR__FLUSH__INTERVAL_SECONDS: "-1" }), "janitor.flush.interval_seconds", />=0/],
      [setOverrides(["janitor.flush.interval_seconds=soon"]), "janitor.flush.interval_seconds", /got "soon"/],
      [setOverrides(["janitor.flush.bogus=1"]), "janitor.flush.bogus", /unknown key 'bogus'/],
      [setOverrides(["modules.watch=maybe"]), "modules.watch", /boolean/],
    ];
    for (const [o, field, why] of cases) {
      const e = await configErrorOfAsync(loadNodeConfig(file, dir, o));
      const hit = e.issues.find((i) => i.field === field);
      ok(hit, `${o[0].source}: no issue for ${field}: ${JSON.stringify(e.issues)}`);
      match(hit.message, why);
      ok(e.message.includes(field), e.message);
    }
    // An override through a non-table names the override itself.
    const e = await configErrorOfAsync(loadNodeConfig(file, dir, setOverrides(["janitor.flush.interval_seconds.x=1"])));
    equal(e.file, "--set janitor.flush.interval_seconds.x=1");
    equal(e.issues[0].field, "janitor.flush.interval_seconds.x");
  });
});

Deno.test({
  name: "loadNodeConfig() keeps TOML local dates and times (TomlDate) with and without overrides",

  fn: async () => {
    await withTempDir(async (dir) => {
      const file = `${dir}/blvm.toml`;
      await Deno.writeTextFile(file, "[modules.hello.config]\nuntil = 2031-01-01\nt = 07:30:00\n");
      for (const overrides of [[], setOverrides(["modules.hello.config.n=1"])]) {
        const config = (await loadNodeConfig(file, dir, overrides)).modules.modules.hello.config;
        ok(config.until instanceof TomlDate, "until is a TomlDate");
        equal((toWireValue(config) as Record<string, unknown>).until, "2031-01-01");
        equal((toWireValue(config) as Record<string, unknown>).t, "07:30:00.000");
      }
      const at = new TomlDate("2024-05-01");
      ok((applyOverrides({ a: { at } }, []).a as Record<string, unknown>).at instanceof TomlDate);
    });
  },
});
