// Modules start through `setsid -- setpriv --pdeathsig KILL --`, each of which executes them in the same process: the pid the host
// reports, the signals it sends (SIGTERM, SIGSTOP/SIGCONT to the group) and the exit status it reports are the
// module's own, under both layers.
import { equal, match, ok } from "node:assert/strict";
import { parentDeathArgs, probeParentDeath, readProcess } from "../../mod.ts";
import { FIXTURES, SANDBOX_LAYERS, testHost } from "../_host_helpers.ts";

Deno.test("probeParentDeath: works with util-linux's setpriv, and says why not without it", async () => {
  const probe = await probeParentDeath();
  ok(probe.available, probe.reason);
  equal(parentDeathArgs(probe.setpriv!).slice(1).join(" "), "--pdeathsig KILL --");
  // util-linux's setsid is there too: modules get their own process group without a forking spawn.
  ok(probe.setsid?.endsWith("setsid"), `setsid not found: ${probe.setsid}`);
  const missing = await probeParentDeath("/nonexistent/setpriv");
  equal(missing.available, false);
  match(missing.reason!, /setpriv \(util-linux\) is not installed \(looked for '\/nonexistent\/setpriv'\)/);
});

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const layer of SANDBOX_LAYERS) {
  Deno.test(`${layer.name}: pid, group signals and exit status are the module's own behind setpriv`, async () => {
    await using t = await testHost({ osSandbox: layer.mode });
    const m = await t.host.startModule({ name: "echo", entry: `${FIXTURES}echo_module.ts` });
    await t.waitForLog((r) => r.message === "ready");
    // The reported pid is the Deno process running the module; setpriv is gone from the process table.
    const me = readProcess(m.pid)!;
    equal(me.cmdline[0], Deno.execPath(), me.cmdline.join(" "));
    equal(me.cmdline.at(-1), `${FIXTURES}echo_module.ts`);
    equal(m.command.includes("--pdeathsig"), false, "the command shown is the one the process runs");
    ok(!readProcess(m.process.pid)!.cmdline.some((a) => a.endsWith("setpriv") || a.endsWith("setsid")));
    if (layer.kind === "deno") equal(m.process.pid, m.pid);
    // setsid made the spawned process the leader of a group of its own, not one of the host's group.
    const spawned = readProcess(m.process.pid)!;
    equal(spawned.group, m.process.pid);
    const host = Deno.readTextFileSync("/proc/self/stat");
    ok(spawned.group !== Number(host.slice(host.lastIndexOf(")") + 2).split(" ")[2]));
    // The run record names that group, even when it was written before setsid had run.
    const record = JSON.parse(await Deno.readTextFile(`${t.dataDir}/.blvm/run/echo.json`));
    equal(record.processes[0].group, m.process.pid);
    // SIGSTOP and SIGCONT reach it (the CPU throttle relies on them).
    ok(m.process.signal("SIGSTOP"));
    await until("stopped", () => readProcess(m.pid)?.state === "T");
    ok(m.process.signal("SIGCONT"));
    await until("running again", () => readProcess(m.pid)?.state !== "T");
    // A signal death is reported as such.
    ok(m.process.signal("SIGKILL"));
    equal((await m.process.status).signal, "SIGKILL");
  });

  Deno.test(`${layer.name}: a module's own exit code is reported behind setpriv`, async () => {
    await using t = await testHost({ osSandbox: layer.mode });
    const dir = await Deno.makeTempDir({ dir: t.dataDir });
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { connect } from "@blvm/node/module";\nawait connect();\nDeno.exit(3);\n`,
    );
    const m = await t.host.startModule({ name: "quitter", entry: `${dir}/main.ts` });
    const status = await m.process.status;
    equal(status.code, 3);
    equal(status.signal, null);
  });
}
