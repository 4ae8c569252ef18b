// Discovery of module folders, with the operator's enabled/disabled lists and version pins.
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { discoverModules, readModuleFolder } from "../../src/manager/discovery.ts";
import { parseNodeConfig } from "../../src/manager/node_config.ts";
import { ConfigFileError } from "../../src/manager/config_error.ts";

/** A temp root with `modules/` holding `folders` (folder name → manifest text, or null for no module.toml). */
async function tempModules(folders: Record<string, string | null>): Promise<{ root: string } & AsyncDisposable> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "blvm-disc-" }));
  for (const [folder, toml] of Object.entries(folders)) {
    const dir = `${root}/modules/${folder}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/main.ts`, "export {};\n");
    if (toml !== null) await Deno.writeTextFile(`${dir}/module.toml`, toml);
  }
  return { root, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

const toml = (name: string, version = "1.0.0") => `name = "${name}"\nversion = "${version}"\nentry_point = "main.ts"\n`;

function config(root: string, modules: Record<string, unknown> = {}) {
  return parseNodeConfig({ modules: { modules_dir: "modules", ...modules } }, undefined, root).modules;
}

Deno.test("discoverModules finds module folders sorted by name, ignoring folders without module.toml and dot-folders", async () => {
  await using t = await tempModules({
    zeta: toml("zeta"),
    alpha: toml("alpha", "0.1.0"),
    mid: toml("mid"),
    notes: null,
    ".hidden": toml(".hidden"),
    ".git": toml("git"),
  });
  // A plain file at the top level is not a module either.
  await Deno.writeTextFile(`${t.root}/modules/README.md`, "# modules\n");
  const r = await discoverModules(config(t.root));
  deepEqual(r.found.map((f) => f.manifest.name), ["alpha", "mid", "zeta"]);
  deepEqual(r.broken, []);
  deepEqual(r.skipped, []);
  const alpha = r.found[0];
  equal(alpha.manifest.version, "0.1.0");
  equal(alpha.dir, `${t.root}/modules/alpha`);
  equal(alpha.file, `${t.root}/modules/alpha/module.toml`);
  equal(alpha.entry, `${t.root}/modules/alpha/main.ts`);
});

Deno.test("disabled wins over enabled; modules not in enabled are skipped with a reason", async () => {
  await using t = await tempModules({ a: toml("a"), b: toml("b"), c: toml("c"), d: toml("d") });
  const r = await discoverModules(config(t.root, { enabled: ["a", "b", "ghost"], disabled: ["b", "d"] }));
  deepEqual(r.found.map((f) => f.manifest.name), ["a"]);
  deepEqual(r.skipped, [
    { name: "b", reason: "listed in [modules].disabled" },
    { name: "c", reason: "not in [modules].enabled" },
    { name: "d", reason: "listed in [modules].disabled" },
  ]);
  deepEqual(r.broken, []);
  // Without an enabled list, everything not disabled is found.
  const all = await discoverModules(config(t.root, { disabled: ["c"] }));
  deepEqual(all.found.map((f) => f.manifest.name), ["a", "b", "d"]);
  deepEqual(all.skipped.map((s) => s.name), ["c"]);
});

Deno.test("A manifest whose name differs from its folder is broken, naming both and the file", async () => {
  await using t = await tempModules({ good: toml("good"), folder: toml("other") });
  const r = await discoverModules(config(t.root));
  deepEqual(r.found.map((f) => f.manifest.name), ["good"]);
  equal(r.broken.length, 1);
  const b = r.broken[0];
  equal(b.name, "folder");
  equal(b.dir, `${t.root}/modules/folder`);
  equal(b.error, `${t.root}/modules/folder/module.toml: name: 'other' must match its folder name 'folder'`);
});

Deno.test("A version that misses the operator's pin is broken, naming the pin", async () => {
  await using t = await tempModules({ lib: toml("lib", "1.4.0"), app: toml("app", "2.0.0-rc.1") });
  const cfg = config(t.root, { lib: { version: "^2.0.0" }, app: { version: ">=2.0.0-rc.0 <3" } });
  const r = await discoverModules(cfg);
  // Pre-releases satisfy a range that admits them.
  deepEqual(r.found.map((f) => f.manifest.name), ["app"]);
  equal(r.broken.length, 1);
  equal(r.broken[0].name, "lib");
  match(
    r.broken[0].error,
    /lib\/module\.toml: version: 1\.4\.0 does not satisfy the pin '\^2\.0\.0' in \[modules\.lib\]\.version/,
  );
  // A satisfied pin is fine.
  const ok2 = await discoverModules(config(t.root, { lib: { version: "~1.4" } }));
  deepEqual(ok2.found.map((f) => f.manifest.name), ["app", "lib"]);
});

Deno.test("An invalid manifest is broken with its file and field, and the others are still found", async () => {
  await using t = await tempModules({
    bad: 'name = "bad"\nversion = "one"\nentry_point = "main.ts"\n',
    garbled: "name = \n",
    fine: toml("fine"),
  });
  const r = await discoverModules(config(t.root));
  deepEqual(r.found.map((f) => f.manifest.name), ["fine"]);
  deepEqual(r.broken.map((b) => b.name), ["bad", "garbled"]);
  match(r.broken[0].error, /modules\/bad\/module\.toml: version: /);
  match(r.broken[1].error, /modules\/garbled\/module\.toml/);
});

Deno.test("A missing modules_dir gives an empty result", async () => {
  const root = await Deno.makeTempDir({ prefix: "blvm-disc-" });
  try {
    const r = await discoverModules(config(root, { modules_dir: "does/not/exist" }));
    deepEqual(r, { found: [], broken: [], skipped: [] });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("A modules_dir that is a file is an error, not an empty result", async () => {
  const root = await Deno.makeTempDir({ prefix: "blvm-disc-" });
  try {
    await Deno.writeTextFile(`${root}/modules`, "");
    await rejects(discoverModules(config(root)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readModuleFolder accepts a trailing slash and throws ConfigFileError for a pin mismatch", async () => {
  await using t = await tempModules({ hello: toml("hello", "0.5.0") });
  const loaded = await readModuleFolder(config(t.root), `${t.root}/modules/hello/`);
  equal(loaded.manifest.name, "hello");
  await rejects(
    readModuleFolder(config(t.root, { hello: { version: "^1" } }), `${t.root}/modules/hello`),
    (e) => {
      ok(e instanceof ConfigFileError);
      deepEqual(e.issues.map((i) => i.field), ["version"]);
      match(e.message, /0\.5\.0 does not satisfy the pin '\^1'/);
      return true;
    },
  );
});

Deno.test("discoverModules follows a symlinked module folder; a dangling link is ignored", async () => {
  await using t = await tempModules({ local: toml("local") });
  await using elsewhere = await tempModules({ linked: toml("linked") });
  await Deno.symlink(`${elsewhere.root}/modules/linked`, `${t.root}/modules/linked`);
  await Deno.symlink(`${t.root}/nowhere`, `${t.root}/modules/dangling`);
  const r = await discoverModules(config(t.root));
  deepEqual(r.found.map((f) => f.manifest.name), ["linked", "local"]);
  equal(r.found[0].dir, `${elsewhere.root}/modules/linked`);
  deepEqual(r.broken, []);
});
