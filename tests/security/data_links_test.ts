// Attack: a link planted in a module's data directory after it started (by another local process or a
// compromised tool), which Deno's path-based grants would follow. Under the OS layer a symbolic link that
// points outside leads nowhere (the target is not mounted in the module's view). A hard link is the file
// itself, so no layer can tell it apart while the module runs: the next start refuses both (see
// docs/SECURITY.md). A bystander keeps being served throughout.
import { equal, match, rejects } from "node:assert/strict";
import {
  ask,
  assertBystanderServed,
  hostWithBystander,
  SANDBOX_LAYERS,
  secretFile,
  startAttacker,
} from "./_security.ts";

for (const layer of SANDBOX_LAYERS) {
  Deno.test(`A symlink planted in a running module's data dir (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const secret = await secretFile();
    const m = await startAttacker(t);
    await Deno.symlink(secret.path, `${m.dataDir}/planted.txt`);
    await Deno.symlink(secret.dir, `${m.dataDir}/planted-dir`);
    const read = await ask(t, "read", { path: `${m.dataDir}/planted.txt` });
    const write = await ask(t, "write", { path: `${m.dataDir}/planted-dir/new.txt`, text: "owned" });
    if (layer.kind === "os+deno") {
      // The link is followed inside the sandbox, where its target does not exist.
      equal(read.ok, false, JSON.stringify(read));
      equal(write.ok, false, JSON.stringify(write));
      equal(await Deno.stat(`${secret.dir}/new.txt`).then(() => true, () => false), false);
    } else {
      // Deno's flags alone check the link's own path: this is what the OS layer is for.
      equal(read.ok && read.value, secret.text);
    }
    // Whatever happened meanwhile, the next start refuses the data dir, naming the link.
    await t.host.stopModule("attacker");
    await rejects(startAttacker(t), (e: Error) => (match(e.message, /planted(\.txt|-dir)' is a symbolic link/), true));
    await assertBystanderServed(t);
  });

  Deno.test(`A hard link planted in a running module's data dir is refused at the next start (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const m = await startAttacker(t);
    // A file the module must not reach, on the same filesystem as its data dir.
    const outside = `${t.dataDir}/outside-secret.txt`;
    await Deno.writeTextFile(outside, "hard secret");
    await Deno.link(outside, `${m.dataDir}/innocent.txt`);
    const read = await ask(t, "read", { path: `${m.dataDir}/innocent.txt` });
    // Same inode, so both layers let it through while the module runs (documented residual risk).
    equal(read.ok && read.value, "hard secret");
    await t.host.stopModule("attacker");
    await rejects(startAttacker(t), (e: Error) => (match(e.message, /innocent\.txt' is a hard link/), true));
    await assertBystanderServed(t);
  });
}

Deno.test("The bystander's own data dir is never visible to another module's sandbox", async () => {
  for (const layer of SANDBOX_LAYERS) {
    await using t = await hostWithBystander(layer);
    await startAttacker(t);
    const other = t.host.module("bystander")!.dataDir;
    await Deno.writeTextFile(`${other}/mine.txt`, "bystander data");
    const read = await ask(t, "read", { path: `${other}/mine.txt` });
    equal(read.ok, false, `${layer.name}: ${JSON.stringify(read)}`);
    const write = await ask(t, "write", { path: `${other}/mine.txt`, text: "overwritten" });
    equal(write.ok, false, `${layer.name}: ${JSON.stringify(write)}`);
    equal(await Deno.readTextFile(`${other}/mine.txt`), "bystander data");
    await assertBystanderServed(t);
  }
});
