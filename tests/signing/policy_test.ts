// The signing policy applied to a module folder, as the manager sees it.
import { deepEqual, equal, match } from "node:assert/strict";
import { checkModuleSignature, describeSignature, signatureDowngrade, signModule } from "../../mod.ts";
import { keys, tempModule, trust } from "./_sign.ts";

Deno.test("checkModuleSignature: verified, unsigned, invalid, and unchecked under 'allow'", async () => {
  await using m = await tempModule();
  const [alice, bob] = await keys(2);
  const warn = { policy: "warn" as const, threshold: 1, keys: trust({ alice }) };
  const unsigned = await checkModuleSignature(m.dir, warn);
  equal(unsigned.status, "unsigned");
  equal(unsigned.code, "UNSIGNED");
  match(unsigned.detail!, /not signed/);
  await signModule(m.dir, alice);
  const ok = await checkModuleSignature(m.dir, { ...warn, policy: "require" });
  deepEqual([ok.status, ok.policy, ok.keys, ok.detail], ["verified", "require", ["alice"], undefined]);
  match(ok.content_hash!, /^sha256:[0-9a-f]{64}$/);
  equal(describeSignature(ok), "verified (alice)");
  // Trusted only through bob: alice's signature does not count.
  const other = await checkModuleSignature(m.dir, { ...warn, keys: trust({ bob }) });
  deepEqual([other.status, other.code], ["invalid", "UNTRUSTED"]);
  await m.write("main.ts", "changed\n");
  const changed = await checkModuleSignature(m.dir, warn);
  deepEqual([changed.status, changed.code, changed.detail], [
    "invalid",
    "CONTENT_CHANGED",
    "main.ts changed after signing",
  ]);
  equal(describeSignature(changed), "invalid: main.ts changed after signing");
  // 'allow' does not even look at the folder.
  const allow = await checkModuleSignature("/nonexistent/folder", { ...warn, policy: "allow" });
  deepEqual(allow, { status: "unchecked", policy: "allow", keys: [] });
});

Deno.test("checkModuleSignature: a manifest that changed since the host read it, and an unreadable folder", async () => {
  await using m = await tempModule();
  const [alice] = await keys(1);
  await signModule(m.dir, alice);
  const settings = { policy: "warn" as const, threshold: 1, keys: trust({ alice }) };
  const raced = await checkModuleSignature(m.dir, settings, { name: "hello", version: "1.0.0", hash: "0".repeat(64) });
  equal(raced.status, "invalid");
  match(raced.detail!, /module\.toml changed while the module was being verified/);
  const gone = await checkModuleSignature(`${m.dir}/nope`, settings, { name: "hello", version: "1.0.0" });
  deepEqual([gone.status, gone.code], ["invalid", "ERROR"]);
  match(gone.detail!, /^cannot check: .*No such file/);
});

Deno.test("signatureDowngrade: only verified → anything else is a downgrade", () => {
  const o = (status: "verified" | "unsigned" | "invalid" | "unchecked") => ({
    status,
    policy: "warn" as const,
    keys: [],
  });
  equal(signatureDowngrade(o("verified"), o("invalid")), "signature:invalid");
  equal(signatureDowngrade(o("verified"), o("unsigned")), "signature:unsigned");
  equal(signatureDowngrade(o("verified"), o("unchecked")), "signature:unchecked");
  equal(signatureDowngrade(o("verified"), o("verified")), undefined);
  equal(signatureDowngrade(o("invalid"), o("unsigned")), undefined);
  equal(signatureDowngrade(undefined, o("invalid")), undefined);
});
