// Attacks on other modules and on the host's own resources through legitimate NodeAPI calls: flooding
// another module with calls (it used to be cut off, then quarantined, for what others sent it), churning
// what the host announces to every module (API registrations, health), growing the host's subscription
// index, and flooding or forging the host's log. Each is bounded, and a bystander keeps being served.
import { equal, match, ok } from "node:assert/strict";
import { ask, assertBystanderServed, hostWithBystander, SANDBOX_LAYERS, startAttacker } from "./_security.ts";

const CAPS = ["read_blockchain", "subscribe_events", "register_module_api", "call_module"];

for (const layer of SANDBOX_LAYERS) {
  Deno.test(`Calls flooding another module are refused as busy; the target is never cut off (${layer.name})`, async () => {
    await using t = await hostWithBystander(layer);
    // The target serves its methods to anyone; every call carries 3 MiB.
    const victim = await startAttacker(t, { name: "victim", callers: ["*"] });
    await startAttacker(t, { capabilities: CAPS });
    // The target is busy and reads nothing, as a slow module would, until the host has refused a call.
    const blocked = ask(t, "block", { ms: 120_000 }, "victim");
    const flood = ask(t, "call_flood", { target: "victim", method: "read", bytes: 3 * 1024 * 1024, count: 48 });
    const attacker = t.host.module("attacker")!;
    for (const deadline = Date.now() + 60_000; attacker.session.stats.errors === 0;) {
      ok(Date.now() < deadline, "no call was refused within 60 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    await Deno.writeTextFile(`${t.dataDir}/victim/unblock`, "");
    const a = await flood;
    ok(a.ok, JSON.stringify(a));
    const codes = a.value as Record<string, number>;
    ok((codes.UNAVAILABLE ?? 0) > 0, `no call was refused as busy: ${JSON.stringify(codes)}`);
    await blocked;
    equal(victim.session.connection.isClosed, false, "the target was cut off for what another module sent it");
    equal((await ask(t, "read", { path: "/nonexistent" }, "victim")).ok, false); // it still answers
    await assertBystanderServed(t);
  });
}

Deno.test("What the host announces for a module (API changes, health) is rate-limited", async () => {
  await using t = await hostWithBystander(SANDBOX_LAYERS[0]);
  await startAttacker(t, { capabilities: CAPS });
  const a = await ask(t, "register_many", { count: 60 });
  const codes = (a.ok ? a.value : {}) as Record<string, number>;
  // The burst (20, one of them used at start-up), then refusals.
  ok((codes.RATE_LIMITED ?? 0) > 0 && (codes.ok ?? 0) >= 15, JSON.stringify(codes));
  await assertBystanderServed(t);
});

Deno.test("A module's explicit subscriptions are capped at 1024 types", async () => {
  await using t = await hostWithBystander(SANDBOX_LAYERS[0]);
  await startAttacker(t);
  const a = await ask(t, "subscribe_many", { rounds: 6 });
  const codes = (a.ok ? a.value : {}) as Record<string, number>;
  equal(codes.ok, 4, JSON.stringify(codes));
  equal(codes.INVALID_PARAMS, 2, JSON.stringify(codes));
  await assertBystanderServed(t);
});

Deno.test("Log floods are cut and rate-limited, and a module cannot log as another", async () => {
  await using t = await hostWithBystander(SANDBOX_LAYERS[0]);
  const m = await startAttacker(t);
  const a = await ask(t, "log_flood", { count: 5000, bytes: 40_000 });
  ok(a.ok, JSON.stringify(a));
  for (const deadline = Date.now() + 30_000; m.session.stats.logs < 5000;) {
    ok(Date.now() < deadline, `only ${m.session.stats.logs} of 5000 log messages arrived`);
    await new Promise((r) => setTimeout(r, 50));
  }
  ok(m.session.stats.logs_dropped > 0, JSON.stringify(m.session.stats));
  const kept = t.logs.filter((r) => r.source === "ipc" && r.message.startsWith("yyyy"));
  ok(kept.length < 5000 && kept.length > 0, `${kept.length} kept`);
  for (const r of kept) {
    equal(r.module, "attacker");
    ok(r.message.length <= 16_384 + 3, `${r.message.length} characters kept`);
  }
  match(JSON.stringify(kept[0].fields), /"module":"bystander"/); // its own field, not the record's module
  await assertBystanderServed(t);
});
