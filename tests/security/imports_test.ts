// Attack: reading files through the module loader, which does not check --allow-read. A static or literal
// import of a file outside the module's folder, a link in the folder that points out, and a module's own
// deno.json or package.json that would widen what it may import. Each start is refused naming the
// specifier, and a bystander keeps being served; under the OS layer even code the module writes at run
// time cannot reach the file.
import { equal, match, ok, rejects } from "node:assert/strict";
import { ModuleStartError } from "../../mod.ts";
import { FIXTURES } from "../_host_helpers.ts";
import {
  ask,
  assertBystanderServed,
  attackerFiles,
  hostWithBystander,
  moduleFolder,
  SANDBOX_LAYERS,
  secretFile,
  startAttacker,
} from "./_security.ts";

async function refused(start: Promise<unknown>, pattern: RegExp): Promise<ModuleStartError> {
  let error: unknown;
  await rejects(start, (e) => (error = e, true));
  ok(error instanceof ModuleStartError, String(error));
  equal(error.code, "IMPORT_REFUSED", error.message);
  match(error.message, pattern);
  return error;
}

for (const layer of SANDBOX_LAYERS) {
  Deno.test(`A static text import of a file outside the module's folder is refused before start (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const secret = await secretFile();
    const dir = await moduleFolder({
      ...attackerFiles(`import stolen from "${secret.path}" with { type: "text" };\nconsole.log(stolen);\n`),
    });
    const e = await refused(
      t.host.startModule({ name: "attacker", entry: `${dir}/main.ts` }),
      /Import of '.*secret\.txt' \(imported by '.*main\.ts'\) refused: it lies outside the module's folder/,
    );
    ok(!e.message.includes(secret.text));
    ok(!t.logs.some((r) => r.message.includes(secret.text)), "the secret reached the log");
    equal(t.host.module("attacker"), undefined);
    await assertBystanderServed(t);
  });

  Deno.test(`A literal dynamic import and an import through a relative path outside are refused (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const dir = await moduleFolder({
      ...attackerFiles(`import "./lib.ts";\n`, "mod/"),
      "mod/lib.ts": `export const x = await import("../outside.ts");\n`,
      "outside.ts": `export const y = Deno.readTextFileSync("/etc/hostname");\n`,
    });
    await refused(
      t.host.startModule({ name: "attacker", entry: `${dir}/mod/main.ts` }),
      /outside\.ts' \(imported by '.*mod\/lib\.ts'\) refused/,
    );
    await assertBystanderServed(t);
  });

  Deno.test(`A symlink inside the module's folder that points out is refused, naming its target (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const secret = await secretFile();
    const dir = await moduleFolder({
      ...attackerFiles(`import s from "./notes.txt" with { type: "text" };\n`),
    });
    await Deno.symlink(secret.path, `${dir}/notes.txt`);
    await refused(
      t.host.startModule({ name: "attacker", entry: `${dir}/main.ts` }),
      /notes\.txt' \(a link to '.*secret\.txt'\)/,
    );
    await assertBystanderServed(t);
  });

  Deno.test(`A module's own deno.json and package.json never widen what it may import (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const secret = await secretFile();
    const dir = await moduleFolder({
      ...attackerFiles(`import stolen from "x" with { type: "text" };\n`),
      // Its own import map, an unstable flag that would allow byte imports, and Node subpath imports.
      "deno.json": JSON.stringify({ imports: { x: secret.path }, unstable: ["raw-imports"] }),
      "package.json": JSON.stringify({ name: "evil", imports: { "#x": secret.path } }),
    });
    await refused(
      t.host.startModule({ name: "attacker", entry: `${dir}/main.ts` }),
      /Import 'x' in '.*main\.ts' cannot be resolved/,
    );
    await assertBystanderServed(t);
  });

  Deno.test(`An invalid deno.json in one module's folder does not stop others from starting (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const dir = await moduleFolder({ ...attackerFiles(), "deno.json": "{ this is not json" });
    await startAttacker(t, { entry: `${dir}/main.ts` });
    // The bystander restarts while the broken folder is there.
    await t.host.stopModule("bystander");
    const before = t.logs.length;
    await t.host.startModule({ name: "bystander", entry: `${FIXTURES}echo_module.ts` });
    await t.waitForLog((r) => r.module === "bystander" && r.message === "ready" && t.logs.indexOf(r) >= before);
    await assertBystanderServed(t);
  });
}

const osLayer = SANDBOX_LAYERS.find((l) => l.kind === "os+deno");
Deno.test({
  name: "Under the OS layer, code a module writes at run time cannot import files outside its mounts",
  ignore: !osLayer,
  async fn() {
    await using t = await hostWithBystander(osLayer!);
    const secret = await secretFile();
    await startAttacker(t);
    const a = await ask(t, "import_written", {
      name: "steal.ts",
      code: `import s from "${secret.path}" with { type: "text" };\nexport default s;\n`,
    });
    equal(a.ok, false, JSON.stringify(a));
    ok(!JSON.stringify(a).includes(secret.text));
    // The system's own secrets are not mounted at all.
    const shadow = await ask(t, "import_written", {
      name: "shadow.ts",
      code: `import s from "/etc/shadow" with { type: "text" };\nexport default s;\n`,
    });
    equal(shadow.ok, false, JSON.stringify(shadow));
    await assertBystanderServed(t);
  },
});
