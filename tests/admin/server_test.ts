// The admin socket end to end: a real ModuleManager with real module processes, served on a real
// Unix socket, driven by the real admin client.
import { deepEqual, equal, match, notEqual, ok, rejects } from "node:assert/strict";
import { rejectsWith } from "./_admin.ts";
import {
  type AdminClient,
  connectAdmin,
  type ModuleDetail,
  type ModuleStatus,
  RemoteError,
  serveAdmin,
} from "../../mod.ts";
import { processAlive } from "../_host_helpers.ts";
import { manifest, testManager } from "../manager/_managed.ts";

async function byName(admin: AdminClient): Promise<Record<string, ModuleStatus>> {
  const rows = await admin.call("list") as ModuleStatus[];
  return Object.fromEntries(rows.map((r) => [r.name, r]));
}

Deno.test("The admin socket serves list, inspect, unload, load, reload, call and errors over one connection", async (t) => {
  await using tm = await testManager({
    alpha: { manifest: manifest("alpha", "1.0.0") },
    beta: { manifest: manifest("beta", "2.0.0", '[permissions]\nenv = ["BETA_TOKEN"]') },
  });
  const path = `${tm.root}/run/admin.sock`;
  const stops: string[] = [];
  const server = await serveAdmin(tm.manager, path, (why) => stops.push(why));
  const admin = await connectAdmin(path);
  try {
    equal(server.path, path);

    await t.step("the socket file is a socket with mode 0600", async () => {
      const st = await Deno.lstat(path);
      ok(st.isSocket, "admin.sock is not a socket");
      equal(st.mode! & 0o777, 0o600, `mode is ${(st.mode! & 0o777).toString(8)}`);
    });

    await t.step("list reports both modules running with live, distinct pids", async () => {
      const rows = await admin.call("list") as ModuleStatus[];
      deepEqual(rows.map((r) => r.name), ["alpha", "beta"]);
      for (const r of rows) {
        equal(r.state, "running", `${r.name}: ${r.reason}`);
        equal(r.health, "healthy");
        ok(Number.isInteger(r.pid) && r.pid! > 0, `${r.name} pid ${r.pid}`);
        ok(await processAlive(r.pid!), `${r.name} pid ${r.pid} is not alive`);
        equal(r.restarts, 0);
      }
      equal(rows[0].version, "1.0.0");
      equal(rows[1].version, "2.0.0");
      notEqual(rows[0].pid, rows[1].pid);
    });

    await t.step("inspect shows the exact command line, grants, ungranted permissions and recent logs", async () => {
      const pid = (await byName(admin)).beta.pid;
      // "running" means the handshake is done; the module logs "ready" just after it.
      await tm.waitLog("beta", (m) => m === "ready");
      const d = await admin.call("inspect", { name: "beta" }) as ModuleDetail;
      equal(d.name, "beta");
      equal(d.pid, pid);
      ok(d.command, "no command line");
      // Deno's own command line, after the OS sandbox's (bwrap …) when that layer is on.
      const deno = d.command.lastIndexOf(Deno.execPath());
      ok(deno === 0 || (deno > 0 && d.command[0].endsWith("bwrap")), d.command.join(" "));
      equal(d.command[deno + 1], "run");
      ok(
        d.command.some((a) => a.startsWith("--allow-net=unix:")),
        `no --allow-net=unix: in ${d.command.join(" ")}`,
      );
      equal(d.command.at(-1), `${await Deno.realPath(`${tm.root}/modules/beta`)}/main.ts`);
      ok(d.grants, "no grants");
      deepEqual(d.grants.net, []);
      deepEqual(d.grants.env, []);
      // The manifest asks for an env var the operator did not grant.
      deepEqual(d.ungranted, ["env:BETA_TOKEN"]);
      equal(d.manifest?.version, "2.0.0");
      ok(d.logs.some((l) => /\bready\b/.test(l)), `no 'ready' in logs: ${d.logs.join(" | ")}`);
    });

    await t.step("unload stops the process and removes the module; load brings it back with a new pid", async () => {
      const oldPid = (await byName(admin)).alpha.pid!;
      equal(await admin.call("unload", { name: "alpha" }), null);
      equal((await byName(admin)).alpha, undefined);
      equal(await processAlive(oldPid), false, `pid ${oldPid} survived unload`);
      await rejectsWith(admin.call("inspect", { name: "alpha" }), "NOT_FOUND", /alpha/);

      const s = await admin.call("load", { name: "alpha" }) as ModuleStatus;
      equal(s.name, "alpha");
      equal(s.state, "running", s.reason);
      ok(s.pid !== null && s.pid !== oldPid, `pid ${s.pid} vs old ${oldPid}`);
      ok(await processAlive(s.pid));
      equal((await byName(admin)).alpha.pid, s.pid);
    });

    await t.step("load of an already loaded module is a CONFLICT and changes nothing", async () => {
      const before = (await byName(admin)).alpha.pid;
      await rejectsWith(admin.call("load", { name: "alpha" }), "CONFLICT", /'alpha' is already loaded/);
      const after = await byName(admin);
      equal(after.alpha.pid, before);
      equal(after.alpha.state, "running");
    });

    await t.step("reload picks up a new version and restarts the process", async () => {
      const oldPid = (await byName(admin)).alpha.pid;
      await Deno.writeTextFile(`${tm.root}/modules/alpha/module.toml`, manifest("alpha", "1.1.0"));
      const r = await admin.call("reload", { name: "alpha" });
      deepEqual(r, { old_version: "1.0.0", new_version: "1.1.0", success: true });
      const now = (await byName(admin)).alpha;
      equal(now.version, "1.1.0");
      equal(now.state, "running");
      ok(now.pid !== null && now.pid !== oldPid);
    });

    await t.step("call invokes a method the module registered, as the operator", async () => {
      deepEqual(await admin.call("call", { name: "beta", method: "ping", params: { n: 7, s: "x" } }), {
        pong: "beta",
        params: { n: 7, s: "x" },
        caller: "operator",
      });
      // params default to an empty object.
      deepEqual(await admin.call("call", { name: "alpha", method: "ping" }), {
        pong: "alpha",
        params: {},
        caller: "operator",
      });
    });

    await t.step("errors carry their code and leave the connection usable", async () => {
      await rejectsWith(admin.call("inspect", { name: "ghost" }), "NOT_FOUND", /ghost/);
      equal((await admin.call("list") as unknown[]).length, 2);
      await rejectsWith(admin.call("unload", { name: "ghost" }), "NOT_FOUND", /ghost/);
      await rejectsWith(admin.call("load", { name: "ghost" }), "NOT_FOUND", /ghost/);
      await rejectsWith(admin.call("call", { name: "ghost", method: "ping" }), "NOT_FOUND", /ghost/);
      equal((await admin.call("list") as unknown[]).length, 2);
      await rejectsWith(admin.call("inspect"), "INVALID_PARAMS", /'name'/);
      await rejectsWith(admin.call("inspect", { name: 42 }), "INVALID_PARAMS", /'name'/);
      await rejectsWith(admin.call("reload", { name: "" }), "INVALID_PARAMS", /'name'/);
      await rejectsWith(admin.call("call", { name: "beta" }), "INVALID_PARAMS", /'method'/);
      equal((await admin.call("list") as unknown[]).length, 2);
      const e = await rejectsWith(admin.call("frobnicate"), "METHOD_NOT_FOUND", /frobnicate/);
      match(e.message, /list, inspect, load, unload, reload, call, stop/);
      // A method the module does not serve: the module's own error comes back.
      await rejectsWith(admin.call("call", { name: "beta", method: "nope" }), "METHOD_NOT_FOUND", /nope/);
      deepEqual((await admin.call("call", { name: "beta", method: "ping" }) as { pong: string }).pong, "beta");
      deepEqual(Object.keys(await byName(admin)), ["alpha", "beta"]);
      // None of this stopped the host.
      deepEqual(stops, []);
    });

    await t.step("several requests in flight on one connection each get their own answer", async () => {
      const results = await Promise.all([
        admin.call("call", { name: "alpha", method: "ping", params: { i: 1 } }),
        admin.call("inspect", { name: "ghost" }).catch((e) => (e as RemoteError).code),
        admin.call("call", { name: "beta", method: "ping", params: { i: 2 } }),
        admin.call("list").then((l) => (l as unknown[]).length),
      ]);
      deepEqual(results, [
        { pong: "alpha", params: { i: 1 }, caller: "operator" },
        "NOT_FOUND",
        { pong: "beta", params: { i: 2 }, caller: "operator" },
        2,
      ]);
    });
  } finally {
    await admin.close();
    await server.close();
  }
  await rejects(Deno.lstat(path), Deno.errors.NotFound, "close() left the socket file behind");
});

Deno.test("stop answers first, then calls onStop with the reason", async () => {
  await using tm = await testManager({ alpha: { manifest: manifest("alpha") } });
  const path = `${tm.root}/run/admin.sock`;
  let server: Awaited<ReturnType<typeof serveAdmin>> | undefined;
  const stopped: string[] = [];
  const onStopDone = Promise.withResolvers<void>();
  server = await serveAdmin(tm.manager, path, (why) => {
    stopped.push(why);
    // A real host closes everything here; the response must already be on its way.
    server!.close().then(() => onStopDone.resolve(), onStopDone.reject);
  });
  const admin = await connectAdmin(path);
  try {
    deepEqual(await admin.call("stop", { reason: "maintenance window" }), { stopping: true });
    await onStopDone.promise;
    deepEqual(stopped, ["maintenance window"]);
  } finally {
    await admin.close();
  }

  // Without a reason, a default one is passed.
  const onStopDone2 = Promise.withResolvers<void>();
  server = await serveAdmin(tm.manager, path, (why) => {
    stopped.push(why);
    onStopDone2.resolve();
  });
  const admin2 = await connectAdmin(path);
  try {
    deepEqual(await admin2.call("stop"), { stopping: true });
    await onStopDone2.promise;
    deepEqual(stopped, ["maintenance window", "admin stop command"]);
  } finally {
    await admin2.close();
    await server.close();
  }
});

Deno.test("A second admin server on a live socket is refused and the first keeps serving", async () => {
  await using tm = await testManager({ alpha: { manifest: manifest("alpha") } });
  const path = `${tm.root}/run/admin.sock`;
  const server = await serveAdmin(tm.manager, path, () => {});
  try {
    await rejects(serveAdmin(tm.manager, path, () => {}), /Another host is already running/);
    const admin = await connectAdmin(path);
    try {
      const rows = await admin.call("list") as ModuleStatus[];
      deepEqual(rows.map((r) => [r.name, r.state]), [["alpha", "running"]]);
    } finally {
      await admin.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("A stale socket file with no listener is replaced", async () => {
  await using tm = await testManager({ alpha: { manifest: manifest("alpha") } }, "", { start: false });
  const path = `${tm.root}/run/admin.sock`;
  // A leftover socket from a host that died: the file exists, nobody listens.
  const old = Deno.listen({ transport: "unix", path });
  old.close();
  // Deno leaves the file behind; should it ever remove it, leave a plain file in its place instead.
  if (!(await Deno.lstat(path).then(() => true, () => false))) await Deno.writeTextFile(path, "");
  const server = await serveAdmin(tm.manager, path, () => {});
  try {
    const st = await Deno.lstat(path);
    ok(st.isSocket);
    equal(st.mode! & 0o777, 0o600);
    const admin = await connectAdmin(path);
    try {
      deepEqual(await admin.call("list"), []);
    } finally {
      await admin.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("connectAdmin to a path with no listener fails with UNAVAILABLE naming the path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "blvm-admin-" });
  try {
    const path = `${dir}/admin.sock`;
    await rejectsWith(connectAdmin(path), "UNAVAILABLE", new RegExp(path.replaceAll(/[.*+?^${}()|[\]\\/]/g, "\\$&")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
