import { configErrorOf, configErrorOfAsync } from "./_config_error.ts";
import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { TomlDate } from "smol-toml";
import {
  ConfigFileError,
  type ConfigIssue,
  issuesFromZod,
  readTomlFile,
  readTomlSource,
} from "../../src/manager/config_error.ts";
import {
  CAPABILITIES,
  type LoadedManifest,
  type Manifest,
  MAX_MANIFEST_BYTES,
  parseManifest,
  readManifest,
} from "../../src/manager/manifest.ts";
import { z } from "zod";

const BASE = { name: "hello", version: "0.1.0", entry_point: "main.ts" };

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "blvm-manifest-test-" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Create `<base>/hello` with the given files (paths relative to the module folder). */
async function makeModule(base: string, files: Record<string, string>): Promise<string> {
  const dir = `${base}/hello`;
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  return dir;
}

/** The issues of the ConfigFileError `fn` throws. */
const issuesOf = (fn: () => unknown) => configErrorOf(fn).issues;

const MINIMAL = 'name = "hello"\nversion = "0.1.0"\nentry_point = "main.ts"\n';

function parse(extra: Record<string, unknown>): Manifest {
  return parseManifest({ ...BASE, ...extra }, "/m/module.toml").manifest;
}

function fields(issues: ConfigIssue[]): string[] {
  return issues.map((i) => i.field);
}

Deno.test("CAPABILITIES lists the 26 snake_case capability names", () => {
  equal(CAPABILITIES.length, 26);
  equal(new Set(CAPABILITIES).size, 26);
  ok(CAPABILITIES.every((c) => /^[a-z]+(_[a-z]+)*$/.test(c)));
  ok(CAPABILITIES.includes("queue_inbound_block"));
  ok(Object.isFrozen(CAPABILITIES));
});

Deno.test("parseManifest() fills defaults for a minimal manifest", () => {
  const { manifest, warnings } = parseManifest({ ...BASE }, "module.toml");
  deepEqual(manifest, {
    name: "hello",
    version: "0.1.0",
    entry_point: "main.ts",
    capabilities: [],
    dependencies: {},
    optional_dependencies: {},
    config_schema: {},
    permissions: { read: [], write: [], net: [], env: [], sys: [] },
    publishes: [],
    api: { callers: [] },
  });
  deepEqual(warnings, []);
});

Deno.test("parseManifest() accepts every field of a full manifest", () => {
  const m = parse({
    description: "Says hello",
    author: "Alice",
    capabilities: ["read_blockchain", "subscribe_events"],
    dependencies: { wallet: "^1.2.0", "index_db": ">=0.3.0 <0.5.0" },
    optional_dependencies: { metrics: "*" },
    config_schema: { greeting: "Printed per block", every: { type: "integer", default: 10, required: true } },
    permissions: { read: ["/etc/ssl/certs", "assets"], write: ["cache"], net: ["api.example.com:443", "[::1]:8080"] },
    activation: { events: ["NewBlock", "NewBlock"], on_call: true },
    publishes: ["hello.Seen", "PaymentSettled"],
    api: { callers: ["wallet", "*"] },
    signatures: { threshold: "1-of-2", maintainers: [{ name: "alice", public_key: "02ab", signature: "cafe" }] },
  });
  equal(m.description, "Says hello");
  equal(m.author, "Alice");
  deepEqual(m.dependencies, { wallet: "^1.2.0", index_db: ">=0.3.0 <0.5.0" });
  deepEqual(m.optional_dependencies, { metrics: "*" });
  deepEqual(m.config_schema, {
    greeting: { type: "any", description: "Printed per block", required: false },
    every: { type: "integer", default: 10, required: true },
  });
  deepEqual(m.permissions.read, ["/etc/ssl/certs", "assets"]);
  deepEqual(m.permissions.net, ["api.example.com:443", "[::1]:8080"]);
  deepEqual(m.activation, { events: ["NewBlock"], on_call: true });
  deepEqual(m.publishes, ["hello.Seen", "PaymentSettled"]);
  deepEqual(m.api, { callers: ["wallet", "*"] });
  equal(m.signatures?.threshold, "1-of-2");
});

Deno.test("parseManifest() normalizes PascalCase capabilities to snake_case and removes duplicates", () => {
  const m = parse({ capabilities: ["ReadBlockchain", "read_blockchain", "SubscribeEvents", "QueueInboundBlock"] });
  deepEqual(m.capabilities, ["read_blockchain", "subscribe_events", "queue_inbound_block"]);
});

Deno.test("parseManifest() rejects unknown capabilities with their index", () => {
  const issues = issuesOf(() => parse({ capabilities: ["read_blockchain", "ReadEverything", "rEAD_utxo"] }));
  deepEqual(fields(issues), ["capabilities[1]", "capabilities[2]"]);
  match(issues[0].message, /unknown capability "ReadEverything"/);
});

Deno.test("parseManifest() warns about unknown keys at every level instead of failing", () => {
  const { manifest, warnings } = parseManifest({
    ...BASE,
    colour: "red",
    permissions: { net: [], ffi: true },
    activation: { events: ["NewBlock"], when: "always" },
    config_schema: { a: { type: "string", hidden: true }, "b.c": { "x y": 1 } },
    signatures: { threshold: "1-of-1", maintainers: [{ name: "a", public_key: "00", signature: "00", x: 1 }] },
  }, "module.toml");
  equal(manifest.name, "hello");
  deepEqual(warnings, [
    "unknown key 'colour' (ignored)",
    "unknown key 'permissions.ffi' (ignored)",
    "unknown key 'activation.when' (ignored)",
    "unknown key 'signatures.maintainers[0].x' (ignored)",
    "unknown key 'config_schema.a.hidden' (ignored)",
    'unknown key \'config_schema."b.c"."x y"\' (ignored)',
    "[signatures] in module.toml is not verified and proves nothing; sign the folder with 'deno task ctl sign' " +
    "(module.sig.json, see docs/SIGNING.md)",
  ]);
  equal((manifest as unknown as Record<string, unknown>).colour, undefined);
});

const INVALID: [string, Record<string, unknown>, string, RegExp][] = [
  ["name with a slash", { name: "a/b" }, "name", /expected a module name.*got "a\/b"/],
  ["name starting with '-'", { name: "-x" }, "name", /module name/],
  ["name too long", { name: "a".repeat(65) }, "name", /module name/],
  ["name not a string", { name: 5 }, "name", /expected a string, got 5/],
  ["version not strict", { version: "1.0" }, "version", /semantic version.*got "1.0"/],
  ["version with v prefix", { version: "v1.0.0" }, "version", /semantic version/],
  ["absolute entry_point", { entry_point: "/etc/passwd" }, "entry_point", /relative path/],
  ["entry_point with ..", { entry_point: "../other/main.ts" }, "entry_point", /without '\.\.'/],
  ["empty entry_point", { entry_point: "" }, "entry_point", /relative path/],
  ["description not a string", { description: 1 }, "description", /expected a string/],
  ["capabilities not an array", { capabilities: "read_blockchain" }, "capabilities", /expected an array/],
  ["dependency name invalid", { dependencies: { "bad name": "^1" } }, 'dependencies."bad name"', /module name/],
  ["dependency range invalid", { dependencies: { foo: "latest" } }, "dependencies.foo", /semver range.*"latest"/],
  ["dependency range empty", { dependencies: { foo: "" } }, "dependencies.foo", /semver range/],
  ["optional dependency range", { optional_dependencies: { bar: 2 } }, "optional_dependencies.bar", /string/],
  ["self dependency", { dependencies: { hello: "*" } }, "dependencies.hello", /cannot depend on itself/],
  ["config type unknown", { config_schema: { a: { type: "text" } } }, "config_schema.a.type", /expected one of/],
  [
    "config default mismatch",
    { config_schema: { a: { type: "integer", default: "x" } } },
    "config_schema.a.default",
    /expected integer, got "x"/,
  ],
  [
    "config float default",
    { config_schema: { a: { type: "integer", default: 1.5 } } },
    "config_schema.a.default",
    /integer/,
  ],
  ["config entry a number", { config_schema: { a: 5 } }, "config_schema.a", /description string or a table/],
  ["config required not bool", { config_schema: { a: { required: "yes" } } }, "config_schema.a.required", /boolean/],
  ["net with path", { permissions: { net: ["example.com/x"] } }, "permissions.net[0]", /'host' or 'host:port'/],
  ["net unix socket", { permissions: { net: ["unix:/tmp/s"] } }, "permissions.net[0]", /'host' or 'host:port'/],
  ["net port out of range", { permissions: { net: ["a.com:70000"] } }, "permissions.net[0]", /host:port/],
  ["env LD_PRELOAD", { permissions: { env: ["LD_PRELOAD"] } }, "permissions.env[0]", /steer the runtime/],
  ["env DENO_DIR", { permissions: { env: ["OK", "DENO_DIR"] } }, "permissions.env[1]", /steer the runtime/],
  ["env bad name", { permissions: { env: ["A-B"] } }, "permissions.env[0]", /environment variable name/],
  ["sys unknown", { permissions: { sys: ["pid"] } }, "permissions.sys[0]", /unknown sys name "pid"/],
  ["read escaping", { permissions: { read: ["../x"] } }, "permissions.read[0]", /leaves the module folder/],
  ["read absolute ..", { permissions: { read: ["/srv/../etc"] } }, "permissions.read[0]", /contains '\.\.'/],
  ["write with comma", { permissions: { write: ["a,b"] } }, "permissions.write[0]", /comma/],
  ["permissions not a table", { permissions: ["net"] }, "permissions", /expected a table, got an array/],
  ["activation without trigger", { activation: {} }, "activation", /needs a trigger/],
  ["activation event name", { activation: { events: ["new_block"] } }, "activation.events[0]", /event type such as/],
  ["activation on_call", { activation: { on_call: "yes" } }, "activation.on_call", /boolean/],
  ["publishes name", { publishes: ["hello.Ok", "not ok"] }, "publishes[1]", /not a catalog event/],
  ["publishes node-owned event", { publishes: ["NewBlock"] }, "publishes[0]", /published by the node only/],
  ["publishes in another namespace", { publishes: ["mesh.Route"] }, "publishes[0]", /another module's namespace/],
  [
    "activation on unknown event",
    { activation: { events: ["NewBlok"] } },
    "activation.events[0]",
    /not in the event catalog/,
  ],
  ["reserved name operator", { name: "operator" }, "name", /reserved/],
  ["api caller name", { api: { callers: ["bad name"] } }, "api.callers[0]", /./],
  ["signature threshold", { signatures: { threshold: "3-of-2", maintainers: [] } }, "signatures.threshold", /M-of-N/],
  [
    "signature hex",
    { signatures: { threshold: "1-of-1", maintainers: [{ name: "a", public_key: "xyz", signature: "00" }] } },
    "signatures.maintainers[0].public_key",
    /hex/,
  ],
];

for (const [what, patch, field, message] of INVALID) {
  Deno.test(`parseManifest() rejects ${what} at field ${field}`, () => {
    const issues = issuesOf(() => parse(patch));
    const hit = issues.find((i) => i.field === field);
    ok(hit, `no issue for ${field}; got ${JSON.stringify(issues)}`);
    match(hit.message, message);
    equal(hit.file, "/m/module.toml");
  });
}

Deno.test("parseManifest() reports missing required fields", () => {
  const issues = issuesOf(() => parseManifest({}, "module.toml"));
  deepEqual(fields(issues), ["name", "version", "entry_point"]);
  ok(issues.every((i) => /is required/.test(i.message)));
});

Deno.test("parseManifest() lists every problem at once, in the error message too", () => {
  let error: ConfigFileError | undefined;
  try {
    parseManifest({
      name: "hello",
      version: "one",
      entry_point: "/main.ts",
      capabilities: ["Nope"],
      dependencies: { a: "^1" },
      optional_dependencies: { a: "^2" },
      permissions: { net: ["unix:/x"], sys: ["pid"] },
    }, "/m/module.toml");
  } catch (e) {
    error = e as ConfigFileError;
  }
  ok(error instanceof ConfigFileError);
  equal(error.file, "/m/module.toml");
  deepEqual(fields(error.issues), [
    "version",
    "entry_point",
    "capabilities[0]",
    "permissions.net[0]",
    "permissions.sys[0]",
    "optional_dependencies.a",
  ]);
  match(error.issues[5].message, /also listed in \[dependencies\]/);
  const parts = error.message.split("; ");
  equal(parts.length, 6);
  ok(parts[0].startsWith("/m/module.toml: version: expected a semantic version"));
  ok(parts[3].startsWith("/m/module.toml: permissions.net[0]: "));
});

Deno.test("parseManifest() accepts a datetime and a bigint default of matching type", () => {
  const at = new TomlDate("2024-05-01T00:00:00Z");
  const m = parse({
    config_schema: {
      at: { type: "datetime", default: at },
      big: { type: "integer", default: 2n ** 70n },
      f: { type: "float", default: 3 },
      t: { type: "table", default: { a: 1 } },
    },
  });
  equal(m.config_schema.at.default, at);
  equal(m.config_schema.big.default, 2n ** 70n);
  throws(() => parse({ config_schema: { t: { type: "table", default: [1] } } }), /config_schema\.t\.default/);
  throws(() => parse({ config_schema: { d: { type: "datetime", default: "2024-05-01" } } }), /config_schema\.d/);
});

Deno.test("parseManifest() accepts activation with only on_call", () => {
  deepEqual(parse({ activation: { on_call: true } }).activation, { events: [], on_call: true });
});

Deno.test("readManifest() loads a module folder", async () => {
  await withTempDir(async (base) => {
    const text = MINIMAL + 'capabilities = ["ReadBlockchain"]\n[permissions]\nread = ["assets", "/etc/ssl"]\n';
    const dir = await makeModule(base, { "module.toml": text, "main.ts": "export {};\n" });
    const loaded: LoadedManifest = await readManifest(dir);
    equal(loaded.dir, dir);
    equal(loaded.file, `${dir}/module.toml`);
    equal(loaded.entry, `${dir}/main.ts`);
    deepEqual(loaded.warnings, []);
    deepEqual(loaded.manifest.capabilities, ["read_blockchain"]);
    // Relative permission paths are resolved against the module folder, absolute ones kept.
    deepEqual(loaded.manifest.permissions.read, [`${dir}/assets`, "/etc/ssl"]);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
    equal(loaded.hash, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
  });
});

Deno.test("readManifest() returns the real path of a symlinked folder and a changed hash on change", async () => {
  await withTempDir(async (base) => {
    const dir = await makeModule(base, { "module.toml": MINIMAL, "main.ts": "" });
    await Deno.symlink(dir, `${base}/link`);
    const a = await readManifest(`${base}/link`);
    equal(a.dir, dir);
    equal(a.entry, `${dir}/main.ts`);
    await Deno.writeTextFile(`${dir}/module.toml`, MINIMAL + 'description = "x"\n');
    const b = await readManifest(dir);
    ok(/^[0-9a-f]{64}$/.test(b.hash));
    ok(a.hash !== b.hash);
  });
});

Deno.test("readManifest() reports warnings for unknown keys", async () => {
  await withTempDir(async (base) => {
    const dir = await makeModule(base, { "module.toml": MINIMAL + "foo = 1\n[extra]\na = 1\n", "main.ts": "" });
    deepEqual((await readManifest(dir)).warnings, ["unknown key 'foo' (ignored)", "unknown key 'extra' (ignored)"]);
  });
});

Deno.test("readManifest() without module.toml throws a ConfigFileError naming the file", async () => {
  await withTempDir(async (base) => {
    const dir = await makeModule(base, { "main.ts": "" });
    const e = await configErrorOfAsync(readManifest(dir));
    equal(e.file, `${dir}/module.toml`);
    equal(e.message, `${dir}/module.toml: no module.toml`);
  });
});

Deno.test("readManifest() of a missing folder rethrows NotFound", async () => {
  await withTempDir(async (base) => {
    await rejects(readManifest(`${base}/nope`), Deno.errors.NotFound);
  });
});

Deno.test("readManifest() reports a TOML syntax error with line and column", async () => {
  await withTempDir(async (base) => {
    const dir = await makeModule(base, { "module.toml": MINIMAL + "capabilities = [\n", "main.ts": "" });
    const e = await configErrorOfAsync(readManifest(dir));
    equal(e.issues.length, 1);
    equal(e.issues[0].field, "");
    match(e.issues[0].message, /^invalid TOML at line \d+, column \d+: /);
    ok(!e.message.includes("\n"), "one-line message");
  });
});

Deno.test("readManifest() refuses a module.toml over 64 KiB", async () => {
  await withTempDir(async (base) => {
    const big = MINIMAL + `description = "${"x".repeat(MAX_MANIFEST_BYTES)}"\n`;
    const dir = await makeModule(base, { "module.toml": big, "main.ts": "" });
    const e = await configErrorOfAsync(readManifest(dir));
    match(e.message, /larger than the 65536-byte limit/);
  });
});

Deno.test("readManifest() rejects an entry_point that escapes with '..'", async () => {
  await withTempDir(async (base) => {
    await Deno.writeTextFile(`${base}/outside.ts`, "");
    const dir = await makeModule(base, { "module.toml": MINIMAL.replace("main.ts", "../outside.ts") });
    const e = await configErrorOfAsync(readManifest(dir));
    deepEqual(fields(e.issues), ["entry_point"]);
    match(e.issues[0].message, /without '\.\.'/);
  });
});

Deno.test("readManifest() rejects an entry_point that escapes through a symlink", async () => {
  await withTempDir(async (base) => {
    await Deno.writeTextFile(`${base}/outside.ts`, "");
    const dir = await makeModule(base, { "module.toml": MINIMAL });
    await Deno.symlink(`${base}/outside.ts`, `${dir}/main.ts`);
    const e = await configErrorOfAsync(readManifest(dir));
    deepEqual(fields(e.issues), ["entry_point"]);
    match(e.issues[0].message, /outside the module folder/);
    ok(e.issues[0].message.includes(`${base}/outside.ts`));
  });
});

Deno.test("readManifest() follows a symlink that stays inside the folder", async () => {
  await withTempDir(async (base) => {
    const dir = await makeModule(base, { "module.toml": MINIMAL, "src/real.ts": "" });
    await Deno.symlink("src/real.ts", `${dir}/main.ts`);
    equal((await readManifest(dir)).entry, `${dir}/src/real.ts`);
  });
});

Deno.test("readManifest() rejects a missing entry file and a directory entry", async () => {
  await withTempDir(async (base) => {
    const dir = await makeModule(base, { "module.toml": MINIMAL });
    let e = await configErrorOfAsync(readManifest(dir));
    match(e.issues[0].message, /"main.ts" not found/);
    await Deno.mkdir(`${dir}/main.ts`);
    e = await configErrorOfAsync(readManifest(dir));
    deepEqual(fields(e.issues), ["entry_point"]);
    match(e.issues[0].message, /not a regular file/);
    await Deno.writeTextFile(`${dir}/module.toml`, MINIMAL.replace("main.ts", "."));
    e = await configErrorOfAsync(readManifest(dir));
    equal(e.message, `${dir}/module.toml: entry_point: "." is not a regular file`);
  });
});

Deno.test("readManifest() lists field problems and entry problems together", async () => {
  await withTempDir(async (base) => {
    const text = MINIMAL.replace("0.1.0", "0.1") + '[permissions]\nsys = ["pid"]\n';
    const dir = await makeModule(base, { "module.toml": text });
    const e = await configErrorOfAsync(readManifest(dir));
    deepEqual(fields(e.issues).sort(), ["entry_point", "permissions.sys[0]", "version"]);
  });
});

Deno.test("readManifest() rejects a relative permission path that leaves the folder through a symlink", async () => {
  await withTempDir(async (base) => {
    await Deno.mkdir(`${base}/secret`);
    const text = MINIMAL + '[permissions]\nread = ["ok", "data/link"]\nwrite = ["../w"]\n';
    const dir = await makeModule(base, { "module.toml": text, "main.ts": "", "ok/x": "" });
    await Deno.mkdir(`${dir}/data`);
    await Deno.symlink(`${base}/secret`, `${dir}/data/link`);
    const e = await configErrorOfAsync(readManifest(dir));
    deepEqual(fields(e.issues), ["permissions.write[0]", "permissions.read[1]"]);
    match(e.issues[1].message, /outside the module folder/);
  });
});

Deno.test("readTomlFile() rethrows NotFound unchanged", async () => {
  await withTempDir(async (base) => {
    await rejects(readTomlFile(`${base}/none.toml`), Deno.errors.NotFound);
  });
});

Deno.test("readTomlFile() keeps TOML types: big integers as bigint, datetimes as TomlDate", async () => {
  await withTempDir(async (base) => {
    await Deno.writeTextFile(`${base}/a.toml`, "small = 1\nbig = 123456789012345678901\nat = 2024-05-01\nf = 1.5\n");
    const data = await readTomlFile(`${base}/a.toml`);
    equal(data.small, 1);
    equal(data.big, 123456789012345678901n);
    ok(data.at instanceof TomlDate);
    equal(data.f, 1.5);
  });
});

Deno.test("readTomlFile() refuses files that are too large, not UTF-8, directories or unsafe keys", async () => {
  await withTempDir(async (base) => {
    await Deno.writeTextFile(`${base}/a.toml`, "a = 1\n");
    const big = await configErrorOfAsync(readTomlFile(`${base}/a.toml`, 5));
    equal(big.message, `${base}/a.toml: file is larger than the 5-byte limit`);
    equal((await readTomlSource(`${base}/a.toml`, 6)).bytes.length, 6);
    await Deno.writeFile(`${base}/b.toml`, new Uint8Array([0x61, 0x3d, 0x22, 0xff, 0x22]));
    match((await configErrorOfAsync(readTomlFile(`${base}/b.toml`))).message, /not valid UTF-8/);
    match((await configErrorOfAsync(readTomlFile(base))).message, /not a regular file/);
    await Deno.writeTextFile(`${base}/c.toml`, "[x]\n__proto__ = 1\n");
    match((await configErrorOfAsync(readTomlFile(`${base}/c.toml`))).message, /line 2, column 1: .*unsafe/);
  });
});

Deno.test("issuesFromZod() joins paths with dots and [i], quotes odd keys and splits unknown keys", () => {
  const schema = z.strictObject({ a: z.object({ list: z.array(z.int()) }), m: z.record(z.string(), z.boolean()) });
  const r = schema.safeParse({ a: { list: [1, "x"] }, m: { "a.b": 1 }, extra: 1, more: 2 }, { reportInput: true });
  deepEqual(issuesFromZod("f.toml", r.error!, "root"), [
    { file: "f.toml", field: "root.a.list[1]", message: 'expected a number, got "x"' },
    { file: "f.toml", field: 'root.m."a.b"', message: "expected a boolean, got 1" },
    { file: "f.toml", field: "root.extra", message: "unknown key 'extra'" },
    { file: "f.toml", field: "root.more", message: "unknown key 'more'" },
  ]);
  equal(issuesFromZod("f.toml", r.error!)[0].field, "a.list[1]");
});

Deno.test("ConfigFileError formats issues with and without a field", () => {
  const e = new ConfigFileError("a.toml", [
    { file: "a.toml", field: "", message: "bad" },
    { file: "[modules.x.config]", field: "k", message: "worse" },
  ]);
  equal(e.name, "ConfigFileError");
  equal(e.message, "a.toml: bad; [modules.x.config]: k: worse");
  ok(e instanceof Error);
});
