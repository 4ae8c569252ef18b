// `deno task ctl` as a real subprocess against a real admin socket served by this test process.
import { ctl, show } from "./_ctl.ts";
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type ModuleStatus, serveAdmin } from "../../mod.ts";
import { manifest, testManager } from "../manager/_managed.ts";

Deno.test("ctl talks to a running host over its admin socket", async (t) => {
  await using tm = await testManager({
    alpha: { manifest: manifest("alpha", "1.0.0") },
    beta: { manifest: manifest("beta", "0.3.0") },
  });
  const sock = `${tm.root}/run/admin.sock`;
  const stops: string[] = [];
  const server = await serveAdmin(tm.manager, sock, (why) => stops.push(why));
  const run = (...args: string[]) => ctl(...args, "--socket", sock);
  try {
    await t.step("list prints an aligned table with a header and one row per module", async () => {
      const r = await run("list");
      equal(r.code, 0, show(r));
      const lines = r.stdout.trimEnd().split("\n");
      equal(lines.length, 3, show(r));
      match(lines[0], /^NAME\s+VERSION\s+STATE\s+PID\s+SANDBOX\s+UPTIME\s+RESTARTS\s+MEMORY\s+NOTE$/);
      const pids = Object.fromEntries(tm.manager.list().map((m) => [m.name, m.pid]));
      match(
        lines[1],
        new RegExp(`^alpha\\s+1\\.0\\.0\\s+running\\s+${pids.alpha}\\s+(os\\+deno|deno)\\s+\\S+\\s+0\\s+`),
      );
      match(lines[2], new RegExp(`^beta\\s+0\\.3\\.0\\s+running\\s+${pids.beta}\\s+(os\\+deno|deno)\\s+\\S+\\s+0\\s+`));
      // Columns line up: every value starts where its header does.
      for (const col of ["VERSION", "STATE", "PID"]) {
        const at = lines[0].indexOf(col);
        for (const l of lines.slice(1)) ok(l[at - 1] === " " && l[at] !== " ", `${col} misaligned in '${l}'`);
      }
    });

    await t.step("list --json prints the statuses", async () => {
      const r = await run("list", "--json");
      equal(r.code, 0, show(r));
      const rows = JSON.parse(r.stdout) as ModuleStatus[];
      deepEqual(rows.map((m) => [m.name, m.version, m.state, m.health]), [
        ["alpha", "1.0.0", "running", "healthy"],
        ["beta", "0.3.0", "running", "healthy"],
      ]);
      for (const m of rows) {
        ok(Number.isInteger(m.pid) && m.pid! > 0);
        equal(typeof m.uptime_ms, "number");
        equal(m.restarts, 0);
        deepEqual(m.pending_approval, []);
        equal(m.restart_in_ms, null);
      }
    });

    await t.step("inspect prints the exact command line", async () => {
      await tm.waitLog("alpha", (m) => m === "ready");
      const r = await run("inspect", "alpha");
      equal(r.code, 0, show(r));
      const command = tm.manager.inspect("alpha").command!;
      ok(command.every((a) => /^[A-Za-z0-9_\-./=:,@+]+$/.test(a)), "test assumes no quoting is needed");
      const line = r.stdout.split("\n").find((l) => l.trimStart().startsWith("command:"));
      equal(line, `  command:      ${command.join(" ")}`, show(r));
      match(r.stdout, /^alpha 1\.0\.0$/m);
      match(r.stdout, /state: +running \(healthy\)/);
      match(r.stdout, /recent log \(\d+ lines\):\n.*\bready\b/s);
    });

    await t.step("call prints the method's JSON result", async () => {
      const r = await run("call", "beta", "ping", '{"n":[1,2],"s":"hi there"}');
      equal(r.code, 0, show(r));
      deepEqual(JSON.parse(r.stdout), { pong: "beta", params: { n: [1, 2], s: "hi there" }, caller: "operator" });
      const bare = await run("call", "beta", "ping");
      equal(bare.code, 0, show(bare));
      deepEqual(JSON.parse(bare.stdout), { pong: "beta", params: {}, caller: "operator" });
    });

    await t.step("reload prints old → new version", async () => {
      const oldPid = tm.manager.get("alpha")!.handle!.pid;
      await Deno.writeTextFile(`${tm.root}/modules/alpha/module.toml`, manifest("alpha", "1.2.0"));
      const r = await run("reload", "alpha");
      equal(r.code, 0, show(r));
      equal(r.stdout, "alpha: 1.0.0 → 1.2.0\n");
      const now = tm.manager.list().find((m) => m.name === "alpha")!;
      equal(now.version, "1.2.0");
      ok(now.pid !== null && now.pid !== oldPid);
    });

    await t.step("unload then load", async () => {
      const u = await run("unload", "beta");
      equal(u.code, 0, show(u));
      equal(u.stdout, "unload beta: done\n");
      equal(tm.manager.get("beta"), undefined);
      const l = await run("load", "beta");
      equal(l.code, 0, show(l));
      match(l.stdout, /^NAME\s+VERSION\s+STATE/);
      match(l.stdout, /\nbeta\s+0\.3\.0\s+running\s+\d+/);
      equal(tm.manager.get("beta")?.state, "running");
    });

    await t.step("an error from the host exits 1 with its code", async () => {
      const r = await run("inspect", "ghost");
      equal(r.code, 1, show(r));
      match(r.stderr, /^error \[NOT_FOUND\]: .*'ghost'/m);
      equal(r.stdout, "");
      const c = await run("load", "alpha");
      equal(c.code, 1, show(c));
      match(c.stderr, /error \[CONFLICT\]: Module 'alpha' is already loaded/);
    });

    await t.step("--json errors are an object with the code on stdout", async () => {
      const r = await run("inspect", "ghost", "--json");
      equal(r.code, 1, show(r));
      const body = JSON.parse(r.stdout) as { error: { code: string; message: string } };
      equal(body.error.code, "NOT_FOUND");
      match(body.error.message, /ghost/);
    });

    await t.step("stop asks the host to stop", async () => {
      const r = await run("stop", "upgrade");
      equal(r.code, 0, show(r));
      equal(r.stdout, "Host is stopping.\n");
      // onStop runs once the response is written; the CLI has exited by now, give it a moment if needed.
      for (let i = 0; i < 100 && !stops.length; i++) await new Promise((r) => setTimeout(r, 20));
      deepEqual(stops, ["upgrade"]);
    });
  } finally {
    await server.close();
  }
});

Deno.test("ctl rejects bad usage with exit code 2, naming the problem, before contacting any host", async (t) => {
  // No host listens here: a usage error must be found first.
  const sock = "/nonexistent/blvm/admin.sock";
  const cases: [string, string[], RegExp][] = [
    ["unknown command", ["frobnicate"], /error: unknown command 'frobnicate'/],
    ["missing argument", ["inspect"], /error: 'inspect' takes 1 argument\(s\)/],
    ["too many arguments", ["list", "extra"], /error: 'list' takes 0 argument\(s\)/],
    ["call without a method", ["call", "alpha"], /error: 'call' takes 2-3 argument\(s\)/],
    ["bad JSON for call", ["call", "alpha", "ping", "{nope"], /error: JSON params for 'call' do not parse: /],
    ["unknown option", ["list", "--bogus"], /error: .*bogus/],
  ];
  for (const [what, args, message] of cases) {
    await t.step(what, async () => {
      const r = await ctl(...args, "--socket", sock);
      equal(r.code, 2, show(r));
      match(r.stderr, message);
      match(r.stderr, /Usage: deno task ctl/);
      equal(r.stdout, "");
    });
  }
  await t.step("no command prints the usage to stderr and exits 2", async () => {
    const r = await ctl();
    equal(r.code, 2, show(r));
    match(r.stderr, /a command is required[\s\S]*Usage: deno task ctl <command>/);
  });
  await t.step("--help exits 0", async () => {
    const r = await ctl("list", "--help");
    equal(r.code, 0, show(r));
    match(r.stdout, /Usage: deno task ctl <command>/);
  });
});

Deno.test("ctl exits 3 when no host listens on the socket", async () => {
  const dir = await Deno.makeTempDir({ prefix: "blvm-ctl-" });
  try {
    const sock = `${dir}/admin.sock`;
    const r = await ctl("list", "--socket", sock);
    equal(r.code, 3, show(r));
    match(r.stderr, /^error \[UNAVAILABLE\]: No host is listening on /m);
    ok(r.stderr.includes(sock), show(r));
    const j = await ctl("list", "--json", "--socket", sock);
    equal(j.code, 3, show(j));
    equal((JSON.parse(j.stdout) as { error: { code: string } }).error.code, "UNAVAILABLE");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ctl finds the socket through --config's runtime_dir", async () => {
  await using tm = await testManager({ alpha: { manifest: manifest("alpha") } });
  const server = await serveAdmin(tm.manager, `${tm.root}/run/admin.sock`, () => {});
  try {
    const cfg = `${tm.root}/blvm.toml`;
    await Deno.writeTextFile(cfg, `[modules]\nruntime_dir = "run"\n`);
    const r = await ctl("list", "--json", "--config", cfg);
    equal(r.code, 0, show(r));
    deepEqual((JSON.parse(r.stdout) as ModuleStatus[]).map((m) => m.name), ["alpha"]);
    const bad = await ctl("list", "--config", `${tm.root}/missing.toml`);
    equal(bad.code, 2, show(bad));
    match(bad.stderr, /missing\.toml: file not found/);
  } finally {
    await server.close();
  }
});
