import { deepEqual, equal, ok } from "node:assert/strict";
import { FIXTURES, SANDBOX_LAYERS, testHost } from "../_host_helpers.ts";

Deno.test("A module is denied /etc/passwd, TCP, env, subprocesses and writes outside its data dir", async () => {
  await using t = await testHost();
  // A real TCP listener the module tries to reach: it must never see a connection.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  (async () => {
    for await (const c of listener) {
      accepted++;
      c.close();
    }
  })();
  try {
    const m = await t.host.startModule({
      name: "escape",
      entry: `${FIXTURES}misbehave_module.ts`,
      config: { port: (listener.addr as Deno.NetAddr).port },
      env: { BLVM_TEST_SCENARIO: "escape" },
      grants: { env: ["BLVM_TEST_SCENARIO"] },
    });
    const r = await t.waitForLog((l) => l.message === "escape results");
    deepEqual(r.fields, {
      passwd: "NotCapable",
      tcp: "NotCapable",
      env_home: "NotCapable",
      run: "NotCapable",
      write_outside: "NotCapable",
      // The positive control: its own data dir is writable, so the denials above are the sandbox.
      own_data: "allowed",
    });
    equal(accepted, 0);
    equal(await Deno.readTextFile(`${m.dataDir}/own.txt`), "ok");
    equal(await Deno.stat(`${t.dataDir}/escaped.txt`).then(() => true, () => false), false);
  } finally {
    listener.close();
  }
});

for (const layer of SANDBOX_LAYERS) {
  Deno.test(`A module's command line grants only its socket and data dir (${layer.name})`, async () => {
    await using t = await testHost({ osSandbox: layer.mode });
    const m = await t.host.startModule({ name: "echo", entry: `${FIXTURES}echo_module.ts` });
    equal(m.sandbox, layer.kind);
    const grants = m.command.filter((a) => a.startsWith("--allow"));
    deepEqual(grants, [
      `--allow-net=unix:${m.socketPath}`,
      `--allow-read=${m.socketPath},${m.dataDir}`,
      `--allow-write=${m.socketPath},${m.dataDir}`,
      "--allow-env=BLVM_MODULE_ID,BLVM_SOCKET,BLVM_TOKEN",
    ]);
    for (const flag of ["--no-prompt", "--no-remote", "--cached-only", "--frozen"]) {
      equal(m.command.includes(flag), true, flag);
    }
    // The child's environment is cleared: read it back from /proc (bwrap adds PWD, its working directory).
    const environ = new TextDecoder().decode(await Deno.readFile(`/proc/${m.pid}/environ`)).split("\0").filter(Boolean);
    const names = environ.map((e) => e.slice(0, e.indexOf("="))).sort();
    deepEqual(names.filter((n) => !["DENO_DIR", "NO_COLOR", "DENO_NO_UPDATE_CHECK", "PATH", "PWD"].includes(n)), [
      "BLVM_MODULE_ID",
      "BLVM_SOCKET",
      "BLVM_TOKEN",
    ]);
    // Its own process group and session, so a group kill never reaches the host.
    const group = async (pid: number) => {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ").slice(2, 4).map(Number);
    };
    const [pgid, sid] = await group(m.pid);
    const [hostPgid, hostSid] = await group(Deno.pid);
    ok(pgid !== hostPgid && sid !== hostSid, `module group ${pgid}/${sid}, host ${hostPgid}/${hostSid}`);
    if (layer.kind === "deno") equal(pgid, m.pid);
    else ok(m.command[0].endsWith("bwrap") && m.process.pid !== m.pid, m.command.join(" "));
  });
}
