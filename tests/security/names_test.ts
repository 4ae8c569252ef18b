// Attack: a module named like a file of the host, to take the operator's admin socket (its socket used to be
// `<runtime_dir>/<name>.sock`, so a module called `admin` replaced `admin.sock`, answered `ctl list` with
// made-up rows and swallowed `ctl stop`). Module sockets now live inside each module's own data dir and the
// host's names are reserved: the admin socket keeps answering with the real modules.
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { connectAdmin, ModuleStartError, type ModuleStatus, serveAdmin } from "../../mod.ts";
import { FIXTURES } from "../_host_helpers.ts";
import { manifest, testManager } from "../manager/_managed.ts";
import { assertBystanderServed, hostWithBystander, SANDBOX_LAYERS } from "./_security.ts";

for (const layer of SANDBOX_LAYERS) {
  Deno.test(`The host's names are refused and module sockets never live beside the admin socket (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    for (const name of ["admin", "Admin", "host", "node", "operator", "blvm"]) {
      await rejects(t.host.startModule({ name, entry: `${FIXTURES}echo_module.ts` }), (e: unknown) => {
        ok(e instanceof ModuleStartError, String(e));
        equal(e.code, "INVALID_SPEC");
        match(e.message, /reserved name/);
        return true;
      });
    }
    const b = t.host.module("bystander")!;
    ok(b.socketPath.startsWith(`${b.dataDir}/`), b.socketPath);
    ok(!b.socketPath.startsWith(`${t.host.runtimeDir}/`));
    const sockets = (await Array.fromAsync(Deno.readDir(t.host.runtimeDir))).filter((e) => !e.isDirectory);
    deepEqual(sockets, [], "nothing of a module's beside where the admin socket lives");
    await assertBystanderServed(t);
  });
}

Deno.test("A module folder named 'admin' fails its manifest check; ctl list answers with the real modules", async () => {
  await using t = await testManager({
    admin: { manifest: manifest("admin") },
    bystander: { manifest: manifest("bystander") },
  });
  const admin = t.manager.get("admin")!;
  equal(admin.state, "failed");
  match(admin.reason, /reserved name/);
  const path = `${t.root}/run/admin.sock`;
  const server = await serveAdmin(t.manager, path, () => {});
  const client = await connectAdmin(path);
  try {
    const rows = await client.call("list") as ModuleStatus[];
    deepEqual(rows.map((r) => [r.name, r.state]), [["admin", "failed"], ["bystander", "running"]]);
    equal(rows[1].pid, t.manager.get("bystander")!.handle!.pid);
    equal((await Deno.lstat(path)).isSocket, true);
  } finally {
    client.close();
    await server.close();
  }
});
