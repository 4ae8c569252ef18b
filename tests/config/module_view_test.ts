// What one module is shown of the configuration (src/config/module_view.ts), and `config_sections`.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { parse } from "smol-toml";
import {
  ALWAYS_SHOWN,
  configLoadedFor,
  moduleView,
  redactedModuleView,
  viewSecretPaths,
} from "../../src/config/module_view.ts";
import { secretPaths } from "../../src/config/live.ts";
import { REDACTED } from "../../src/config/redact.ts";
import { ConfigFileError } from "../../src/manager/config_error.ts";
import { type NodeConfig, parseNodeConfig } from "../../src/manager/node_config.ts";

const BASE = `
secret_keys = ["custom.token_url", "modules.modules.a.config.hook"]
[custom]
label = "shared"
token_url = "https://hooks.example/T0K3N"
[other]
note = "only b"
[node_extra]
rpc_password = "hunter2"
[modules]
modules_dir = "mods"
[modules.a]
config_sections = ["custom", "missing", "node"]
config = { upstream_url = "http://user:PASSWORD@up.example/feed", hook = "h00k", level = 3 }
grants = { env = ["A_KEY"] }
env = { A_KEY = "a-secret" }
[modules.b]
config_sections = ["other", "custom"]
config = { dsn = "postgres://u:pw@db/main" }
[janitor.flush]
interval_seconds = 60
`;

const load = (text: string): NodeConfig =>
  parseNodeConfig(parse(text) as Record<string, unknown>, "/srv/blvm.toml", "/srv");
const json = (v: unknown) => JSON.stringify(v);

Deno.test("moduleView(): own settings, node, janitor and the listed sections present; nothing else", () => {
  const c = load(BASE);
  const a = moduleView(c, "a");
  deepEqual(Object.keys(a), ["modules", "node", "janitor", "custom"]);
  deepEqual(Object.keys(a.modules as object), ["a"]);
  equal((a.modules as Record<string, unknown>).a, c.modules.modules.a);
  equal(a.node, c.node);
  equal(a.janitor, c.janitor);
  equal(a.custom, c.raw.custom);
  const b = moduleView(c, "b");
  deepEqual(Object.keys(b), ["modules", "node", "janitor", "other", "custom"]);
  deepEqual(Object.keys(b.modules as object), ["b"]);
  for (const view of [a, b]) {
    const text = json(view);
    // Never the host's [modules] keys, the list of secret paths, or sections not listed.
    for (const hidden of ["modules_dir", "mods", "secret_keys", "node_extra", "hunter2"]) {
      equal(text.includes(hidden), false, `${hidden} in ${text}`);
    }
  }
  equal(json(a).includes("postgres"), false);
  equal(json(b).includes("PASSWORD"), false);
  deepEqual(ALWAYS_SHOWN, ["node", "janitor"]);
});

Deno.test("moduleView(): a module without a table sees its defaults, node and janitor", () => {
  const c = load(BASE);
  const v = moduleView(c, "stranger");
  deepEqual(Object.keys(v), ["modules", "node", "janitor"]);
  const own = (v.modules as Record<string, Record<string, unknown>>).stranger;
  deepEqual(own.config, {});
  deepEqual(own.env, {});
  equal(own.restart && typeof own.restart, "object");
});

Deno.test("redactedModuleView(): env, key names, secret_keys in both spellings and credentials inside values", () => {
  const c = load(BASE);
  const marked = secretPaths(c);
  const a = redactedModuleView(c, "a", marked) as Record<string, Record<string, Record<string, unknown>>>;
  deepEqual(a.modules.a.config, {
    upstream_url: `http://user:${REDACTED}@up.example/feed`,
    hook: REDACTED,
    level: 3,
  });
  deepEqual(a.modules.a.env, { A_KEY: REDACTED });
  deepEqual(a.custom, { label: "shared", token_url: REDACTED });
  const b = redactedModuleView(c, "b", marked) as Record<string, Record<string, Record<string, unknown>>>;
  deepEqual(b.modules.b.config, { dsn: `postgres://u:${REDACTED}@db/main` });
  for (const secret of ["PASSWORD", "h00k", "a-secret", "T0K3N", ":pw@"]) {
    equal(json(a).includes(secret) || json(b).includes(secret), false, secret);
  }
  deepEqual(viewSecretPaths(["x.y", "modules.modules.a.config.k", "modules.a.env"]), [
    "x.y",
    "modules.modules.a.config.k",
    "modules.a.config.k",
    "modules.a.env",
  ]);
});

Deno.test("configLoadedFor(): every section at start-up; on a reload only the sections of the module's view that changed", () => {
  const before = load(BASE);
  const m = (c: NodeConfig) => ({ config: c, marked: secretPaths(c) });
  const start = configLoadedFor(before, "a", secretPaths(before))!;
  deepEqual(start.changed_sections, ["custom", "janitor", "modules", "node"]);
  deepEqual(JSON.parse(start.config_json), redactedModuleView(before, "a", secretPaths(before)));
  equal(configLoadedFor(before, "a", secretPaths(before), m(before)), undefined);

  const edit = (from: string, to: string) => {
    ok(BASE.includes(from), from);
    return load(BASE.replace(from, to));
  };
  const cases: [string, NodeConfig, string[] | undefined, string[] | undefined][] = [
    ["a's settings", edit("level = 3", "level = 4"), ["modules"], undefined],
    ["b's settings", edit("db/main", "db/other"), undefined, ["modules"]],
    ["[janitor]", edit("interval_seconds = 60", "interval_seconds = 61"), ["janitor"], ["janitor"]],
    ["[other], listed by b only", edit('note = "only b"', 'note = "still b"'), undefined, ["other"]],
    ["[custom], listed by both", edit('label = "shared"', 'label = "both"'), ["custom"], ["custom"]],
    ["[node_extra], listed by nobody", edit('rpc_password = "hunter2"', 'rpc_password = "x"'), undefined, undefined],
    ["the host's [modules] keys", edit('modules_dir = "mods"', 'modules_dir = "elsewhere"'), undefined, undefined],
    // A new value behind "[redacted]" is a change, as is a value newly marked secret.
    ["a secret of a", edit('A_KEY = "a-secret"', 'A_KEY = "rotated"'), ["modules"], undefined],
    ["secret_keys", edit('"custom.token_url",', '"custom.token_url", "custom.label",'), ["custom"], ["custom"]],
    ["a's config_sections", edit('"custom", "missing", "node"', '"custom", "other"'), ["modules", "other"], undefined],
  ];
  for (const [what, after, forA, forB] of cases) {
    deepEqual(configLoadedFor(after, "a", secretPaths(after), m(before))?.changed_sections, forA, `${what}: a`);
    deepEqual(configLoadedFor(after, "b", secretPaths(after), m(before))?.changed_sections, forB, `${what}: b`);
  }
  // The payload is the module's view after the edit.
  const after = edit("level = 3", "level = 4");
  const p = configLoadedFor(after, "a", secretPaths(after), m(before))!;
  equal((JSON.parse(p.config_json).modules.a.config as Record<string, unknown>).level, 4);
});

Deno.test("config_sections: validated with errors that name the key; duplicates dropped", () => {
  const tryLoad = (value: string) => {
    try {
      load(`[modules.a]\nconfig_sections = ${value}\n`);
      return "";
    } catch (e) {
      ok(e instanceof ConfigFileError, String(e));
      return e.message;
    }
  };
  const cases: [string, RegExp][] = [
    [
      '"custom"',
      /modules\.a\.config_sections: expected a list of top-level section names such as \["custom"\], got "custom"/,
    ],
    [
      '["modules"]',
      /modules\.a\.config_sections\[0\]: 'modules' cannot be shown to a module: it holds the host's settings/,
    ],
    ['["custom", "secret_keys"]', /modules\.a\.config_sections\[1\]: 'secret_keys' cannot be shown to a module/],
    ["[3]", /modules\.a\.config_sections\[0\]: expected a top-level section name such as "custom", got 3/],
    [
      '[""]',
      /modules\.a\.config_sections\[0\]: expected a top-level section name such as "custom", got an empty string/,
    ],
  ];
  for (const [value, message] of cases) {
    const error = tryLoad(value);
    ok(message.test(error), `${value}: ${error}`);
    ok(error.startsWith("/srv/blvm.toml"), error);
  }
  deepEqual(load('[modules.a]\nconfig_sections = ["x", "y", "x"]\n').modules.modules.a.config_sections, ["x", "y"]);
  equal(load("[modules.a]\n").modules.modules.a.config_sections, undefined);
  throws(() => load('[modules.a]\nconfig_section = ["x"]\n'), /unknown key 'config_section'/);
});
