// Secret redaction and section diffs for the configuration the node shows (ConfigLoaded, ctl, logs).
import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { parse } from "smol-toml";
import { changedSections, isSecretName, redactConfig, REDACTED, stable } from "../../src/config/redact.ts";
import { effectiveConfig, secretPaths } from "../../src/config/live.ts";
import { parseNodeConfig } from "../../src/manager/node_config.ts";

Deno.test("REDACTED is the documented placeholder", () => {
  equal(REDACTED, "[redacted]");
});

Deno.test("isSecretName() recognizes secret-looking key names in snake, kebab and camel case", () => {
  const secret = [
    "password",
    "rpc_password",
    "rpcPassword",
    "RPC_PASSWORD",
    "passphrase",
    "wallet-passphrase",
    "secret",
    "client_secret",
    "webhook_token",
    "accessToken",
    "private_key",
    "privateKey",
    "api_key",
    "apiKey",
    "APIKey",
    "credential",
    "credentials",
    "auth",
    "basic-auth",
    "authorization",
    "cookie",
    "rpc_cookie",
    "mnemonic",
    "seed",
    "xprv",
    "privkey",
    "pass",
    "db_pass",
    "passwd",
  ];
  for (const k of secret) ok(isSecretName(k), `${k} should be secret`);
});

Deno.test("isSecretName() leaves ordinary key names alone, including near misses", () => {
  const plain = [
    "data_dir",
    "port",
    "url",
    "network",
    "author",
    "passive",
    "compass",
    "keys",
    "key_id",
    "seeds",
    "authority",
    "public_key",
    "greeting",
    "interval_seconds",
    "",
  ];
  for (const k of plain) equal(isSecretName(k), false, `${k} should not be secret`);
});

Deno.test("redactConfig() replaces values under secret names, at any depth and inside arrays", () => {
  const input = {
    node: { rpc_password: "hunter2", port: 8332, enabled: true, nothing: null },
    peers: [{ host: "a", auth: { user: "u", pass: "p" } }, { host: "b", token: 42 }],
    deep: { a: { b: { apiKey: ["x", "y"] } } },
  };
  deepEqual(redactConfig(input), {
    node: { rpc_password: REDACTED, port: 8332, enabled: true, nothing: null },
    peers: [{ host: "a", auth: REDACTED }, { host: "b", token: REDACTED }],
    deep: { a: { b: { apiKey: REDACTED } } },
  });
});

Deno.test("redactConfig() redacts marked dotted paths, including inside arrays of tables, and nothing else", () => {
  const input = {
    x: { url: "https://hooks/abc", other: "kept" },
    list: ["a", "b"],
    tables: [{ url: "u0" }, { url: "u1" }],
    modules: { modules: { alerts: { config: { webhook: "w", level: "info" } } } },
  };
  const out = redactConfig(input, [
    "x.url",
    "list",
    "tables.0.url",
    "modules.modules.alerts.config.webhook",
    "no.such",
  ]);
  deepEqual(out, {
    x: { url: REDACTED, other: "kept" },
    list: REDACTED,
    tables: [{ url: REDACTED }, { url: "u1" }],
    modules: { modules: { alerts: { config: { webhook: REDACTED, level: "info" } } } },
  });
  // A whole table can be marked.
  deepEqual(redactConfig({ a: { b: { c: 1 } } }, new Set(["a.b"])), { a: { b: REDACTED } });
});

Deno.test("redactConfig() redacts every value of a module's env table, keeping the names", () => {
  // As in blvm.toml ([modules.<name>.env]) and as in the effective config (modules.modules.<name>.env).
  deepEqual(redactConfig({ modules: { hello: { env: { API_URL: "u", DEBUG: "1" }, config: { a: 1 } } } }), {
    modules: { hello: { env: { API_URL: REDACTED, DEBUG: REDACTED }, config: { a: 1 } } },
  });
  deepEqual(redactConfig({ modules: { modules: { hello: { env: { X: "1" } } } } }), {
    modules: { modules: { hello: { env: { X: REDACTED } } } },
  });
  // An env value that is not a table is redacted as a whole.
  deepEqual(redactConfig({ modules: { hello: { env: "A=1" } } }), { modules: { hello: { env: REDACTED } } });
  // An `env` key outside a module table is ordinary.
  deepEqual(redactConfig({ tools: { env: { X: "1" } } }), { tools: { env: { X: "1" } } });
});

Deno.test("redactConfig() shows the top-level secret_keys list but redacts a secret_keys key elsewhere", () => {
  deepEqual(redactConfig({ secret_keys: ["a.b"], a: { b: 1 } }, ["a.b"]), { secret_keys: ["a.b"], a: { b: REDACTED } });
  deepEqual(redactConfig({ x: { secret_keys: ["k"] } }), { x: { secret_keys: REDACTED } });
});

Deno.test("redactConfig() returns a JSON-safe deep copy and leaves its input alone", () => {
  const when = new Date("2024-05-01T12:00:00Z");
  const input = { a: { big: 2n ** 70n, when, list: [1, { password: "p" }] }, password: "top" };
  const copy = structuredClone(input);
  const out = redactConfig(input) as Record<string, unknown>;
  deepEqual(input, copy);
  deepEqual(out, {
    a: { big: "1180591620717411303424", when: "2024-05-01T12:00:00.000Z", list: [1, { password: REDACTED }] },
    password: REDACTED,
  });
  equal(JSON.stringify(out).includes("top"), false);
  notEqual(out.a, input.a);
  // Primitive input passes through.
  equal(redactConfig("plain"), "plain");
  equal(redactConfig(null), null);
});

Deno.test("effectiveConfig() + secretPaths() redact secret_keys paths and secret module config keys", () => {
  const data = parse(`
secret_keys = ["custom.url", "modules.modules.hello.config.webhook"]
[node_extra]
rpc_password = "hunter2"
user = "bob"
[custom]
url = "https://hunter2@example.com"
name = "visible"
[modules.hello]
config = { webhook = "hunter2", greeting = "hi" }
grants = { env = ["API_KEY"] }
env = { API_KEY = "hunter2" }
`) as Record<string, unknown>;
  const cfg = parseNodeConfig(data, "/srv/blvm.toml", "/srv");
  deepEqual(secretPaths(cfg), ["custom.url", "modules.modules.hello.config.webhook"]);
  const shown = redactConfig(effectiveConfig(cfg), secretPaths(cfg)) as Record<string, Record<string, unknown>>;
  deepEqual(Object.keys(shown).sort(), ["custom", "janitor", "modules", "node", "node_extra", "secret_keys"]);
  deepEqual(shown.node_extra, { rpc_password: REDACTED, user: "bob" });
  deepEqual(shown.custom, { url: REDACTED, name: "visible" });
  const hello = (shown.modules.modules as Record<string, Record<string, unknown>>).hello;
  deepEqual(hello.config, { webhook: REDACTED, greeting: "hi" });
  deepEqual(hello.env, { API_KEY: REDACTED });
  deepEqual(shown.secret_keys, ["custom.url", "modules.modules.hello.config.webhook"]);
  const json = JSON.stringify(shown);
  equal(json.includes("hunter2"), false, json);
  ok(json.includes('"greeting":"hi"'), json);
});

Deno.test("changedSections() lists added, removed and changed top-level sections, sorted", () => {
  deepEqual(changedSections({ node: { a: 1 }, modules: {} }, { node: { a: 2 }, modules: {}, janitor: {} }), [
    "janitor",
    "node",
  ]);
  deepEqual(changedSections({ z: 1, a: 1, m: { x: [1] } }, { m: { x: [1, 2] } }), ["a", "m", "z"]);
  deepEqual(changedSections({}, {}), []);
});

Deno.test("changedSections() ignores key order but not value types", () => {
  deepEqual(changedSections({ s: { a: 1, b: { c: 2, d: 3 } } }, { s: { b: { d: 3, c: 2 }, a: 1 } }), []);
  deepEqual(changedSections({ s: { n: 1 } }, { s: { n: 1n } }), ["s"]);
  deepEqual(changedSections({ s: { n: 1 } }, { s: { n: "1" } }), ["s"]);
  deepEqual(changedSections({ s: [1, 2] }, { s: [2, 1] }), ["s"]);
  const d = (iso: string) => new Date(iso);
  deepEqual(changedSections({ s: { t: d("2024-01-01T00:00:00Z") } }, { s: { t: d("2024-01-01T00:00:00Z") } }), []);
  deepEqual(changedSections({ s: { t: d("2024-01-01T00:00:00Z") } }, { s: { t: d("2024-01-02T00:00:00Z") } }), ["s"]);
});

Deno.test("stable() gives equal text for equal tables whatever their key order", () => {
  equal(stable({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } }), stable({ a: { c: [3, { e: 2, f: 1 }], d: 2 }, b: 1 }));
  notEqual(stable({ a: 1 }), stable({ a: 2 }));
  equal(stable(undefined), "undefined");
  equal(stable(5n), '"5n"');
});
