// A module folder deleted while the host runs, with real module processes: noticed by the watcher and by
// the checks at supervised steps, shown as `missing`, never restarted from nothing, loaded again when back.
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { processAlive } from "../_host_helpers.ts";
import { inspectText, listTable } from "../../src/cli/format.ts";
import { folderGone } from "../../src/manager/folder.ts";
import { manifest, type Published, type TestManager, testManager, writeModules } from "./_managed.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait (polling, generous deadline) until at least `n` events of `type` for `name` match. */
async function nth(
  t: TestManager,
  type: string,
  name: string,
  n: number,
  match: (p: Record<string, unknown>) => boolean = () => true,
  ms = 20_000,
): Promise<Published[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = t.of(type, name).filter((e) => match(e.payload));
    if (found.length >= n) return found;
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${n} ${type} of ${name}; events: ${t.events.map((e) => e.type)}`);
    }
    await sleep(20);
  }
}

const toMissing = (p: Record<string, unknown>) => p.new_state === "missing";
const code = (e: unknown) => (e as { code?: string }).code;

Deno.test("folderGone: a folder is there, a deleted one or a file is gone, a link follows its target", async () => {
  const root = await Deno.makeTempDir({ prefix: "blvm-gone-" });
  try {
    await Deno.mkdir(`${root}/here`);
    await Deno.writeTextFile(`${root}/file`, "x");
    await Deno.symlink(`${root}/target`, `${root}/link`);
    equal(folderGone(`${root}/here`), undefined);
    equal(folderGone(`${root}/nope`), `its folder ${root}/nope was deleted`);
    equal(folderGone(`${root}/file`), `${root}/file is no longer a folder`);
    equal(folderGone(`${root}/link`), `its folder ${root}/link was deleted`, "dangling link");
    await Deno.mkdir(`${root}/target`);
    equal(folderGone(`${root}/link`), undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("The watcher notices every deletion of a running module's folder (rm -rf and a move away), and its return", async () => {
  await using t = await testManager({ gone: { manifest: manifest("gone") } }, "", { watch: true });
  const dir = `${t.root}/modules/gone`;
  for (let round = 1; round <= 4; round++) {
    const pid = (await nth(t, "ModuleStarted", "gone", round)).at(-1)!.payload.pid as number;
    // Odd rounds delete the folder, even rounds move it out of modules_dir (one event, for the folder itself).
    if (round % 2) await Deno.remove(dir, { recursive: true });
    else await Deno.rename(dir, `${t.root}/moved-away`);
    // Noticed without anyone calling list() or inspect(): the watcher's events or its look at the folders.
    const change = (await nth(t, "ModuleStateChanged", "gone", round, toMissing)).at(-1)!;
    equal(change.payload.reason, `its folder ${dir} was deleted`);
    equal(await processAlive(pid), false, "its process was stopped");
    const m = t.manager.get("gone")!;
    equal(m.state, "missing");
    equal(m.handle, undefined);
    // Stopped gracefully (the stop message, so its cleanup ran) and unloaded, with the reason.
    const stopped = t.of("ModuleStopped", "gone").at(-1)!.payload;
    deepEqual([stopped.reason, stopped.code], [`its folder ${dir} was deleted`, 0]);
    equal(t.of("ModuleUnloaded", "gone").at(-1)!.payload.reason, `its folder ${dir} was deleted`);
    // The operator's reload says NOT_FOUND, as documented.
    await rejects(t.manager.reload("gone"), (e: Error) => {
      equal(code(e), "NOT_FOUND");
      match(e.message, /Module 'gone' is missing: its folder .* was deleted\. Restore the folder/);
      return true;
    });
    // Back: loaded again by the watcher, a new process.
    if (round % 2) await writeModules(t.root, { gone: { manifest: manifest("gone") } });
    else await Deno.rename(`${t.root}/moved-away`, dir);
    const started = (await nth(t, "ModuleStarted", "gone", round + 1)).at(-1)!.payload;
    ok(started.pid !== pid);
    equal(t.manager.get("gone")!.state, "running");
  }
  // Each deletion was logged once as a state change to `missing`, never as a failed hot reload.
  equal(t.of("ModuleStateChanged", "gone").filter((e) => toMissing(e.payload)).length, 4);
  deepEqual(t.fatal, []);
});

Deno.test("Without the watcher, list() notices a deleted folder; ctl shows it; call and reload say NOT_FOUND; load brings it back", async () => {
  await using t = await testManager({
    base: { manifest: manifest("base") },
    top: { manifest: manifest("top", "1.0.0", '[dependencies]\nbase = "*"') },
  });
  const dir = `${t.root}/modules/base`;
  const pid = t.manager.get("base")!.handle!.pid;
  await Deno.remove(dir, { recursive: true });
  // Nothing happens by itself (no watcher, the module runs on) until a supervised step looks.
  await sleep(300);
  equal(t.of("ModuleStateChanged", "base").filter((e) => toMissing(e.payload)).length, 0);
  t.manager.list();
  await nth(t, "ModuleStateChanged", "base", 1, toMissing);
  equal(await processAlive(pid), false);
  // Its dependent was stopped first and waits for it, failed.
  const top = t.manager.get("top")!;
  equal(top.state, "failed");
  match(top.reason, /dependency 'base' is missing: its folder .* was deleted/);

  const rows = t.manager.list();
  const row = rows.find((r) => r.name === "base")!;
  deepEqual([row.state, row.health, row.pid, row.reason], [
    "missing",
    "unhealthy",
    null,
    `its folder ${dir} was deleted`,
  ]);
  const table = listTable(rows);
  match(table, new RegExp(`base +1\\.0\\.0 +missing \\(folder deleted\\) .* its folder ${dir} was deleted`));
  const text = inspectText(t.manager.inspect("base"));
  match(text, /state: +missing \(unhealthy\) — its folder .* was deleted/);
  match(text, /folder: .*base +\(DELETED: restore it, then ctl load; or ctl unload\)/);

  await rejects(t.manager.invoke("base", "ping", {}), (e: Error) => code(e) === "NOT_FOUND");
  await rejects(t.manager.reload("base"), (e: Error) => code(e) === "NOT_FOUND");
  await rejects(t.manager.load("base"), (e: Error) => code(e) === "NOT_FOUND");
  // Logged once: later looks add nothing.
  t.manager.list();
  t.manager.inspect("base");
  await sleep(100);
  equal(t.of("ModuleStateChanged", "base").filter((e) => toMissing(e.payload)).length, 1);

  // The folder comes back: `ctl load` starts it, and its dependent with it.
  await writeModules(t.root, { base: { manifest: manifest("base") } });
  await t.manager.load("base");
  deepEqual(t.manager.list().map((m) => [m.name, m.state]), [["base", "running"], ["top", "running"]]);
});

Deno.test("A module whose folder is deleted is not restarted after it exits, nor after its back-off", async () => {
  await using t = await testManager(
    {
      victim: { manifest: manifest("victim") },
      loop: { manifest: manifest("loop"), config: `mode = "exit"\nexit_code = 3\nexit_after_ms = 0\n` },
    },
    "[modules.restart]\ninitial_delay_ms = 3000\n",
  );
  // At its exit: the folder is checked before the restart policy.
  const pid = t.manager.get("victim")!.handle!.pid;
  await Deno.remove(`${t.root}/modules/victim`, { recursive: true });
  Deno.kill(pid, "SIGKILL");
  const change = (await nth(t, "ModuleStateChanged", "victim", 1, toMissing))[0];
  match(change.payload.reason as string, /^signal SIGKILL; not restarted: its folder .*victim was deleted$/);
  equal(t.of("ModuleCrashed", "victim").length, 0);
  equal(t.of("ModuleStopped", "victim")[0].payload.signal, "SIGKILL");
  await nth(t, "ModuleUnloaded", "victim", 1);

  // During the back-off of a crash: the restart checks the folder and does not start it.
  await nth(t, "ModuleCrashed", "loop", 1);
  await Deno.remove(`${t.root}/modules/loop`, { recursive: true });
  await nth(t, "ModuleStateChanged", "loop", 1, toMissing);
  equal(t.manager.get("loop")!.state, "missing");
  equal(t.of("ModuleStarted", "loop").length, 1);
  equal(t.of("ModuleStarted", "victim").length, 1);
});

Deno.test("A required module whose folder is deleted stops the host", async () => {
  await using t = await testManager({ vital: { manifest: manifest("vital") } }, "[modules.vital]\nrequired = true\n", {
    watch: true,
  });
  await Deno.remove(`${t.root}/modules/vital`, { recursive: true });
  await nth(t, "ModuleStateChanged", "vital", 1, toMissing);
  equal(t.fatal.length, 1);
  equal(code(t.fatal[0]), "REQUIRED_MODULE_FAILED");
  match(t.fatal[0].message, /Required module 'vital' is missing: its folder .* was deleted/);
});
