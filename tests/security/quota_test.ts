// Attack: writing outside the disk quota. The module's socket path (it keeps its grant on it after the
// handshake) must not become a folder it writes into, even with a read-only data dir; and what Deno
// caches for code the module writes and imports at run time must land inside its own data dir or be
// refused (under the OS layer the cache is read-only), never in a cache shared with the host.
import { equal, match, ok, rejects } from "node:assert/strict";
import { ModuleStartError } from "../../mod.ts";
import { FIXTURES } from "../_host_helpers.ts";
import { treeSize } from "../fixtures/_tree_size.ts";
import {
  ask,
  assertBystanderServed,
  attackerFiles,
  hostWithBystander,
  moduleFolder,
  SANDBOX_LAYERS,
  startAttacker,
} from "./_security.ts";

for (const layer of SANDBOX_LAYERS) {
  for (const readOnlyData of [false, true]) {
    const data = readOnlyData ? "read-only data dir" : "writable data dir";
    Deno.test(`The socket path cannot become a folder the module writes into (${layer.name}, ${data})`, async () => {
      await using t = await hostWithBystander(layer);
      const m = await startAttacker(t, { readOnlyData });
      const runtimeBefore = await Array.fromAsync(Deno.readDir(t.host.runtimeDir));
      const attempt = await ask(t, "mkdir_write", { dir: m.socketPath });
      equal(attempt.ok, false, JSON.stringify(attempt));
      equal(await Deno.stat(`${m.socketPath}/blob`).then(() => true, () => false), false);
      // Nothing appeared in the host's private runtime dir either.
      equal((await Array.fromAsync(Deno.readDir(t.host.runtimeDir))).length, runtimeBefore.length);
      await assertBystanderServed(t);
    });
  }

  Deno.test(`Deno's cache is out of the module's reach, and what it caches counts in its quota (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const m = await startAttacker(t);
    const hostCache = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
    const before = await treeSize(`${hostCache}/gen`).catch(() => 0);
    const done = await ask(t, "import_many", { count: 40, size: 20_000 });
    equal(done.ok && done.value, 40, JSON.stringify(done));
    // The host's cache did not grow because of it (other tests may add a little; 40 × 20 KB would show).
    const after = await treeSize(`${hostCache}/gen`).catch(() => 0);
    ok(after - before < 400_000, `host cache grew by ${after - before} bytes`);
    // Nothing cached inside the data dir, where the module could edit it: a folder of the host's, which the disk
    // quota counts beyond the precompiled copy it started from...
    equal(await treeSize(`${m.dataDir}/.blvm`).catch(() => 0), 0);
    ok((await treeSize(m.cache.dir)) > m.cache.seedBytes + 40 * 20_000, `cache ${m.cache.dir}`);
    // ...and which the module cannot write (it would poison its own compiled code and dependency list).
    const poison = await ask(t, "write", { path: `${m.cache.dir}/dep_analysis_cache_v2`, text: "x" });
    equal(poison.ok, false, JSON.stringify(poison));
    const peek = await ask(t, "read", { path: `${m.cache.dir}/.seeded-from` });
    equal(peek.ok, false, JSON.stringify(peek));
    await assertBystanderServed(t);
  });

  Deno.test(`A module can use the host's pinned npm packages and never writes to the shared runtime (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const dir = await moduleFolder({
      ...attackerFiles(
        `import { z } from "zod";\nimport { sha256 } from "@noble/hashes/sha2.js";\n` +
          `console.log("npm ok", typeof z.string, sha256(new Uint8Array(1)).length);\n`,
      ),
    });
    const m = await startAttacker(t, { entry: `${dir}/main.ts` });
    await t.waitForLog((r) => r.module === "attacker" && r.message === "npm ok function 32");
    const runtime = m.command.find((a) => a.startsWith("--config="))!.slice("--config=".length).replace(
      /\/deno\.json$/,
      "",
    );
    const write = await ask(t, "write", { path: `${runtime}/node_modules/zod/index.js`, text: "module.exports = 1" });
    equal(write.ok, false, JSON.stringify(write));
    await assertBystanderServed(t);
  });
}

for (const layer of SANDBOX_LAYERS) {
  Deno.test(`A module that turns its socket into a folder before the handshake is killed (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const start = t.host.startModule({
      name: "digger",
      entry: `${FIXTURES}misbehave_module.ts`,
      env: { BLVM_TEST_SCENARIO: "socket_dir" },
      grants: { env: ["BLVM_TEST_SCENARIO"] },
      readOnlyData: true,
    });
    if (layer.kind === "deno") {
      await rejects(start, (e: unknown) => {
        ok(e instanceof ModuleStartError, String(e));
        equal(e.code, "UNAUTHORIZED");
        match(e.message, /(removed|replaced) its socket before its handshake; killed/);
        return true;
      });
      // What it wrote there is gone with the sealed folder.
      equal(await Deno.stat(`${t.dataDir}/digger/.blvm/run/sock`).then(() => true, () => false), false);
    } else {
      // The socket is a mount point in its sandbox: it cannot even remove it.
      await start;
      await t.waitForLog((r) => r.module === "digger" && r.message === "connected after the denial");
    }
    await assertBystanderServed(t);
  });
}
