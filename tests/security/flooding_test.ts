// Attacks on the host's memory and on other modules' deliveries: a module that sends requests and never
// reads the replies (they would pile up in the host without limit), and a module that publishes an event
// whose frame, once the host adds its type, sequence number and source, is over the frame limit (it used
// to disconnect the subscriber instead). The first is cut off with SLOW_CONSUMER once its outgoing byte
// budget is spent; the second is refused at publish time with FRAME_TOO_LARGE. Bystanders keep being
// served.
import { equal, match, ok } from "node:assert/strict";
import { FIXTURES } from "../_host_helpers.ts";
import { ask, assertBystanderServed, hostWithBystander, SANDBOX_LAYERS, startAttacker } from "./_security.ts";

const MiB = 1024 * 1024;

for (const layer of SANDBOX_LAYERS) {
  Deno.test(`A module that never reads its replies is cut off once its byte budget is spent (${layer.name})`, async () => {
    // Small frames and budget so the budget is spent quickly; the defaults are 4 MiB and 32 MiB.
    await using t = await hostWithBystander(layer, { maxFrameBytes: 64 * 1024, maxOutgoingBytes: 2 * MiB });
    const rssBefore = Deno.memoryUsage().rss;
    const m = await t.host.startModule({
      name: "flooder",
      entry: `${FIXTURES}misbehave_module.ts`,
      env: { BLVM_TEST_SCENARIO: "flood_no_read" },
      grants: { env: ["BLVM_TEST_SCENARIO"] },
      rateLimit: null,
    });
    const closed = await m.session.closed;
    equal(closed.code, "SLOW_CONSUMER", JSON.stringify(closed));
    match(closed.message, /Peer stopped reading: \d+ bytes waited unwritten, over the 2097152-byte budget/);
    ok(m.session.stats.calls > 1000, `only ${m.session.stats.calls} replies before the cut-off`);
    // Bounded: the host held at most about the budget for it (generous margin for the rest of the test).
    const grown = Deno.memoryUsage().rss - rssBefore;
    ok(grown < 200 * MiB, `host RSS grew by ${Math.round(grown / MiB)} MiB`);
    await assertBystanderServed(t);
  });

  Deno.test(`An event too big for one frame is refused at publish time; subscribers stay connected (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer, { maxFrameBytes: 64 * 1024 });
    // A subscriber to everything the publisher sends.
    const sub = await t.host.startModule({
      name: "listener",
      entry: `${FIXTURES}events_module.ts`,
      config: { subscribe: [{ types: ["*"] }] },
    });
    await t.waitForLog((r) => r.module === "listener" && r.message === "ready");
    // A long module name makes the host's additions to the frame (its source) big: the biggest payload
    // the module can send in its request still makes an event over the limit.
    const name = "a" + "t".repeat(59);
    await startAttacker(t, {
      name,
      publishes: [`${name}.Big`],
      capabilities: ["read_blockchain", "subscribe_events", "register_module_api", "publish_events"],
    });
    const refused = await ask(t, "publish_largest", { type: `${name}.Big`, start: 64 * 1024 }, name);
    ok(!refused.ok && refused.error === "RemoteError", JSON.stringify(refused).slice(0, 300));
    match(refused.message, /would be a frame of \d+ bytes .* the limit is 65536 bytes/);
    // A normal event still goes through to the subscriber, which was never disconnected.
    const fine = await ask(t, "publish", { type: `${name}.Big`, bytes: 100 }, name);
    equal(fine.ok, true, JSON.stringify(fine));
    // Events and calls reach it in order on one connection: the event was handled before this call.
    const stats = await sub.session.invoke("stats", {}) as { counts: Record<string, number> };
    equal(stats.counts[`${name}.Big`], 1, JSON.stringify(stats.counts));
    equal(sub.session.connection.isClosed, false);
    await assertBystanderServed(t);
  });
}

for (const layer of SANDBOX_LAYERS) {
  Deno.test(`A frame holding 100,000 map keys is refused before it can stall the host (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    const m = await t.host.startModule({
      name: "wide",
      entry: `${FIXTURES}misbehave_module.ts`,
      env: { BLVM_TEST_SCENARIO: "wide_map" },
      grants: { env: ["BLVM_TEST_SCENARIO"] },
    });
    const closed = await m.session.closed;
    equal(closed.code, "MALFORMED_FRAME", JSON.stringify(closed));
    match(closed.message, /more map entries than the receiver accepts/);
    await t.waitForLog((r) =>
      r.module === "wide" && r.message.startsWith('host said {"kind":"close","code":"MALFORMED_FRAME"')
    );
    await assertBystanderServed(t);
  });
}
