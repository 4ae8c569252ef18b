// Two hosts on one data root: the second refuses clearly, naming the first, and the first keeps serving its
// modules. A killed host never blocks the next one (the kernel drops its lock).
import { equal, match, ok, rejects } from "node:assert/strict";
import { claimSocketPath, DevNode, Host, HostRunningError, lockDataRoot, socketOwner } from "../../mod.ts";
import { manifest, writeModules } from "../manager/_managed.ts";
import { gone, spawnHostProcess } from "./_host_process.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

Deno.test({
  name: "A second host on the same data root refuses, naming the first, which keeps serving its modules",
  sanitizeResources: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "blvm-single-" });
    const backend = DevNode.open();
    try {
      await using first = spawnHostProcess(root, "off", ["echo=echo"]);
      const [echo] = await first.ready();

      // In another process: a typed refusal naming the first host, and nothing started.
      await using second = spawnHostProcess(root, "off", ["echo=echo"]);
      const refused = (await second.until((l) => "error" in l)).error as Record<string, unknown>;
      equal((await second.child.status).code, 3);
      equal(refused.code, "HOST_RUNNING");
      equal(refused.pid, first.child.pid);
      match(String(refused.message), new RegExp(`Another host is already running \\(pid ${first.child.pid}\\)`));
      // In this process too.
      const e = await Host.create({ backend, dataDir: root }).catch((e) => e);
      ok(e instanceof HostRunningError, String(e));
      equal(e.pid, first.child.pid);

      // The first still serves its module: an event reaches it and it answers through the host.
      ok(!gone(echo.pid));
      await first.send("ping");
      await first.until((l) => l.module === "echo" && l.log === "pong");

      // Killed, it blocks nobody: the next host takes the data root and ends nothing of its own making.
      first.child.kill("SIGKILL");
      await first.child.status;
      const next = await Host.create({ backend, dataDir: root, osSandbox: "off" });
      await next.shutdown();
    } finally {
      await backend.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("lockDataRoot: one holder at a time, in any process; released by its holder or by its death", async () => {
  const root = await Deno.makeTempDir();
  try {
    const lock = lockDataRoot(root);
    const again = (() => {
      try {
        return lockDataRoot(root);
      } catch (e) {
        return e;
      }
    })();
    ok(again instanceof HostRunningError);
    equal(again.code, "HOST_RUNNING");
    equal(again.pid, Deno.pid);
    lock.release();
    lock.release();
    // Held by a process that is then killed.
    const holder = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { lockDataRoot } from ${JSON.stringify(new URL("../../mod.ts", import.meta.url).href)};
         lockDataRoot(${JSON.stringify(root)}); console.log("locked"); setTimeout(() => {}, 60_000);`,
      ],
      stdout: "piped",
    }).spawn();
    const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
    equal((await reader.read()).value?.trim(), "locked");
    const held = (() => {
      try {
        return lockDataRoot(root);
      } catch (e) {
        return e;
      }
    })();
    equal((held as HostRunningError).pid, holder.pid);
    holder.kill("SIGKILL");
    await holder.status;
    await reader.cancel();
    lockDataRoot(root).release();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("claimSocketPath: a dead host's socket or a file is replaced; a live socket is refused naming its owner", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/admin.sock`;
    await claimSocketPath(path); // nothing there
    await Deno.writeTextFile(path, "");
    await claimSocketPath(path);
    ok(!(await Deno.lstat(path).then(() => true, () => false)));
    const live = Deno.listen({ transport: "unix", path });
    try {
      equal(socketOwner(path), Deno.pid);
      const e = await claimSocketPath(path).catch((e) => e);
      ok(e instanceof HostRunningError, String(e));
      equal(e.pid, Deno.pid);
      match(e.message, /^Another host is already running \(pid \d+\)/);
      ok((await Deno.lstat(path)).isSocket, "a live socket was removed");
    } finally {
      live.close();
    }
    await Deno.mkdir(path, { recursive: true });
    await rejects(claimSocketPath(path), /something other than a socket or a file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "deno task start on a data dir another host runs on exits with code 1, naming that host",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "blvm-single-cli-" });
    try {
      await writeModules(dir, { lone: { manifest: manifest("lone") } });
      await using first = spawnHostProcess(`${dir}/data`, "off", ["echo=echo"]);
      await first.ready();
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          MAIN,
          "--modules-dir",
          `${dir}/modules`,
          "--data-dir",
          `${dir}/data`,
          "--runtime-dir",
          `${dir}/run`,
          "--node-dir",
          `${dir}/node`,
          "--no-demo",
          "--log-format",
          "json",
        ],
      }).output();
      equal(out.code, 1);
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      match(text, new RegExp(`Another host is already running \\(pid ${first.child.pid}\\)`));
      // It touched nothing: no node store, no runtime dir.
      ok(!(await Deno.stat(`${dir}/node`).then(() => true, () => false)), "the node store was opened");
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
