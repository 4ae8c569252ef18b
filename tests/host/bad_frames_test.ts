import { equal, ok } from "node:assert/strict";
import { FIXTURES, testHost } from "../_host_helpers.ts";

for (const [scenario, code] of [["oversize", "FRAME_TOO_LARGE"], ["garbled", "MALFORMED_FRAME"]] as const) {
  Deno.test(`A ${scenario} frame closes that module's connection with ${code}; other modules keep being served`, async () => {
    await using t = await testHost();
    await t.host.startModule({ name: "good", entry: `${FIXTURES}echo_module.ts` });
    await t.waitForLog((r) => r.module === "good" && r.message === "ready");
    const bad = await t.host.startModule({
      name: "bad",
      entry: `${FIXTURES}misbehave_module.ts`,
      env: { BLVM_TEST_SCENARIO: scenario },
      grants: { env: ["BLVM_TEST_SCENARIO"] },
    });
    const info = await bad.session.closed;
    // Host side: closed by the host, for the right reason.
    equal(info.initiator, "local");
    equal(info.code, code);
    // Module side: it was told why before the socket closed (never a silent close).
    const said = await t.waitForLog((r) => r.module === "bad" && r.message.startsWith("host said "));
    const msg = JSON.parse(said.message.slice("host said ".length));
    equal(msg.kind, "close");
    equal(msg.code, code);
    ok((await bad.process.status).success, "the raw module exits normally after the close");
    // The other module is unaffected.
    t.host.publish("test.Ping", { after: scenario });
    const pong = await t.waitForLog((r) => r.module === "good" && r.message === "pong");
    equal((pong.fields?.payload as Record<string, unknown>).after, scenario);
  });
}
