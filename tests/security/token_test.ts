// Attack: another process of the same OS user reads a starting module's one-time token from
// /proc/<pid>/environ and connects to its socket first, to take the module's place. The host asks the
// kernel which process connected (SO_PEERCRED): the impostor is refused with UNAUTHORIZED, the real
// module still gets in, and a bystander keeps being served.
import { equal, match, ok } from "node:assert/strict";
import { decode, encodeFrame, FrameReader, MODULE_ENV, PROTOCOL_VERSION } from "../../src/protocol/mod.ts";
import { FIXTURES } from "../_host_helpers.ts";
import { assertBystanderServed, hostWithBystander, SANDBOX_LAYERS } from "./_security.ts";

/** The environment of the process whose BLVM_SOCKET is `socket`, read as an attacker would. */
async function stealEnvironment(socket: string, ms = 20_000): Promise<Record<string, string>> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for await (const e of Deno.readDir("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      const text = await Deno.readTextFile(`/proc/${e.name}/environ`).catch(() => "");
      if (!text.includes(`${MODULE_ENV.socket}=${socket}\0`)) continue;
      return Object.fromEntries(
        text.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no process with ${MODULE_ENV.socket}=${socket} within ${ms} ms`);
}

async function readFrame(conn: Deno.Conn): Promise<unknown> {
  const reader = new FrameReader();
  for (;;) {
    const n = await conn.read(reader.writable());
    if (n === null) return null;
    reader.commit(n);
    const body = reader.next();
    if (body) return decode(body);
  }
}

for (const layer of SANDBOX_LAYERS) {
  Deno.test(`A process that steals a module's token cannot take its place (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const socket = `${await Deno.realPath(t.dataDir)}/slowpoke/.blvm/run/sock`;
    const starting = t.host.startModule({
      name: "slowpoke",
      entry: `${FIXTURES}misbehave_module.ts`,
      env: { BLVM_TEST_SCENARIO: "slow_connect" },
      grants: { env: ["BLVM_TEST_SCENARIO"] },
    });
    const env = await stealEnvironment(socket);
    equal(env[MODULE_ENV.moduleId], "slowpoke");
    // The impostor (this test process) connects first, with the right id and token.
    const conn = await Deno.connect({ transport: "unix", path: env[MODULE_ENV.socket] });
    await conn.write(encodeFrame({
      kind: "handshake",
      protocol: PROTOCOL_VERSION,
      module_id: env[MODULE_ENV.moduleId],
      token: env[MODULE_ENV.token],
      sdk_version: "impostor",
    }));
    const reply = await readFrame(conn) as { kind: string; code: string; message: string };
    conn.close();
    equal(reply.kind, "handshake_reject", JSON.stringify(reply));
    equal(reply.code, "UNAUTHORIZED");
    match(reply.message, /not the module's process/);
    // The real module still connects and runs.
    const m = await starting;
    await t.waitForLog((r) => r.module === "slowpoke" && r.message === "slow module connected");
    ok(m.session.sdkVersion !== "impostor");
    await assertBystanderServed(t);
  });
}
