// Attack: writing outside the disk quota. The module's socket path (it keeps its grant on it after the
// handshake) must not become a folder it writes into, even with a read-only data dir; and what Deno
// caches for code the module writes and imports at run time must land inside its own data dir or be
// refused (under the OS layer the cache is read-only), never in a cache shared with the host.
import { equal, ok } from "node:assert/strict";
import { treeSize } from "../fixtures/_tree_size.ts";
import { ask, assertBystanderServed, hostWithBystander, SANDBOX_LAYERS, startAttacker } from "./_security.ts";

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

  Deno.test(`Deno's cache for code a module writes and imports stays in its quota or is refused (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const m = await startAttacker(t);
    const hostCache = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
    const before = await treeSize(`${hostCache}/gen`).catch(() => 0);
    const done = await ask(t, "import_many", { count: 40, size: 20_000 });
    equal(done.ok && done.value, 40, JSON.stringify(done));
    // The host's cache did not grow because of it (other tests may add a little; 40 × 20 KB would show).
    const after = await treeSize(`${hostCache}/gen`).catch(() => 0);
    ok(after - before < 400_000, `host cache grew by ${after - before} bytes`);
    const own = await treeSize(`${m.dataDir}/.blvm/deno`).catch(() => 0);
    if (layer.kind === "deno") ok(own > 40 * 20_000, `the module's cache in its data dir holds ${own} bytes`);
    else equal(own, 0, "under the OS layer the cache is read-only and nothing is written");
    await assertBystanderServed(t);
  });
}
