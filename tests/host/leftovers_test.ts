// A host that starts ends what a killed host left running of its modules, before it starts them again, and
// never anything else: a record whose pid now names another process (or the host itself) kills nothing.
import { deepEqual, equal, ok } from "node:assert/strict";
import { DevNode, Host, readProcess, RunRecords } from "../../mod.ts";
import { FIXTURES, processesUnder } from "../_host_helpers.ts";
import { gone } from "./_host_process.ts";

/** A process of the test's that no parent-death signal covers: a leftover as a killed host would leave it. */
function spawnStray(code: string, stdout: "null" | "piped" = "null"): { child: Deno.ChildProcess; command: string[] } {
  const command = [Deno.execPath(), "eval", code];
  const child = new Deno.Command(command[0], { args: command.slice(1), detached: true, stdout, stderr: "null" })
    .spawn();
  return { child, command };
}

async function withRoot(fn: (root: string, backend: DevNode) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "blvm-leftovers-" });
  const backend = DevNode.open();
  try {
    await fn(root, backend);
  } finally {
    await backend.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

Deno.test("A starting host ends a previous host's leftover of a module, and a module's start ends one first", async () => {
  await withRoot(async (root, backend) => {
    // What a host killed without its modules dying would leave: a busy module process and its record.
    const before = spawnStray(`/* busy */ for (;;) {}`);
    const previousHost = new RunRecords(`${root}/.blvm/run`);
    previousHost.record("busy", before.child.pid, before.command);
    const host = await Host.create({ backend, dataDir: root, osSandbox: "off" });
    try {
      // Ended (by SIGKILL to its group) before Host.create returned.
      ok(gone(before.child.pid), `leftover pid ${before.child.pid} still runs after Host.create`);
      equal((await before.child.status).signal, "SIGKILL");
      deepEqual([...Deno.readDirSync(`${root}/.blvm/run`)].map((e) => e.name), []);

      // One recorded by another host after this one started (it could not be ended at start-up): the module's
      // start ends it before it spawns the module.
      const during = spawnStray(`/* echo */ for (;;) {}`);
      new RunRecords(`${root}/.blvm/run`).record("echo", during.child.pid, during.command);
      const m = await host.startModule({ name: "echo", entry: `${FIXTURES}echo_module.ts` });
      ok(gone(during.child.pid), `leftover pid ${during.child.pid} still runs beside the new module`);
      equal((await during.child.status).signal, "SIGKILL");
      ok(!gone(m.pid));
      // Its own record now names the new process, as the kernel sees it.
      const rec = JSON.parse(await Deno.readTextFile(`${root}/.blvm/run/echo.json`));
      equal(rec.processes[0].pid, m.process.pid);
      equal(rec.processes[0].start_time, readProcess(m.process.pid)!.startTime);
      deepEqual(rec.processes[0].cmdlines[0], readProcess(m.process.pid)!.cmdline);
      equal(await processesUnder(`${root}/echo`), 1);
      await host.stopModule("echo");
      // Gone with its process.
      ok(!(await Deno.stat(`${root}/.blvm/run/echo.json`).then(() => true, () => false)));
    } finally {
      await host.shutdown();
    }
  });
});

Deno.test("A record whose pid names another process, or the host itself, never kills it", async () => {
  await withRoot(async (root, backend) => {
    const bystander = spawnStray(`/* bystander */ setTimeout(() => {}, 120_000)`);
    try {
      const dir = `${root}/.blvm/run`;
      const records = new RunRecords(dir);
      const self = readProcess(Deno.pid)!;
      const write = (name: string, pid: number, start_time: string, cmdline: string[], group = pid) =>
        Deno.writeTextFileSync(
          `${dir}/${name}.json`,
          JSON.stringify({
            module: name,
            host: { pid: 999_999, start_time: "1", id: "a-dead-host" },
            processes: [{ pid, group, start_time, cmdlines: [cmdline] }],
            written_at: new Date().toISOString(),
          }),
        );
      const { startTime } = readProcess(bystander.child.pid)!;
      // The pid was reused: another start time.
      write("reused", bystander.child.pid, String(Number(startTime) - 1), bystander.command);
      // Same pid and start time, another command line.
      write("renamed", bystander.child.pid, startTime, [Deno.execPath(), "eval", "something else"]);
      // The host's own process, exactly as it is.
      write("self", Deno.pid, self.startTime, self.cmdline, self.group);
      // Damaged records.
      Deno.writeTextFileSync(`${dir}/garbage.json`, "{not json");
      write("init", 1, readProcess(1)?.startTime ?? "0", readProcess(1)?.cmdline ?? []);
      deepEqual(records.names(), ["garbage", "init", "renamed", "reused", "self"]);

      const host = await Host.create({ backend, dataDir: root, osSandbox: "off" });
      await host.shutdown();
      ok(!gone(bystander.child.pid), "the bystander was killed");
      // Every record was dealt with: none names a process that could be ended.
      deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), []);
    } finally {
      bystander.child.kill("SIGKILL");
      await bystander.child.status;
    }
  });
});

Deno.test("Stale module sockets a dead host left are removed at start-up; a live one is left alone", async () => {
  await withRoot(async (root, backend) => {
    const sock = (name: string) => `${root}/${name}/.blvm/run/sock`;
    for (const name of ["ghost", "alive"]) await Deno.mkdir(`${root}/${name}/.blvm/run`, { recursive: true });
    // A listener killed with SIGKILL leaves its socket file behind, as a killed host does.
    const dead = spawnStray(
      `Deno.listen({ transport: "unix", path: ${
        JSON.stringify(sock("ghost"))
      } }); console.log("up"); setTimeout(() => {}, 60_000)`,
      "piped",
    );
    await dead.child.stdout!.pipeThrough(new TextDecoderStream()).getReader().read();
    dead.child.kill("SIGKILL");
    await dead.child.status;
    ok((await Deno.lstat(sock("ghost"))).isSocket);
    const live = Deno.listen({ transport: "unix", path: sock("alive") });
    try {
      const host = await Host.create({ backend, dataDir: root, osSandbox: "off" });
      await host.shutdown();
      ok(!(await Deno.lstat(sock("ghost")).then(() => true, () => false)), "the stale socket is still there");
      ok((await Deno.lstat(sock("alive"))).isSocket, "the live socket was removed");
    } finally {
      live.close();
    }
  });
});
