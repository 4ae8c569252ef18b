// Signing and verifying module folders: round trip, every kind of change, links, trust, thresholds,
// duplicate signers, tampering, and the typed errors.
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import {
  contentHash,
  formatSignatureFile,
  hashModuleFolder,
  inspectModuleSignature,
  readSignatureFile,
  SignatureError,
  signModule,
  verifyModule,
} from "../../mod.ts";
import { keys, manifestText, tempModule, trust } from "./_sign.ts";

Deno.test("round trip: a signed folder verifies, and signing prints the content hash and key", async () => {
  await using m = await tempModule();
  const [alice] = await keys(1);
  const r = await signModule(m.dir, alice, { now: new Date("2025-01-31T12:00:00Z") });
  equal(r.name, "hello");
  equal(r.version, "1.0.0");
  equal(r.files, 3);
  equal(r.key, alice.publicKey);
  equal(r.action, "added");
  deepEqual(r.dropped, []);
  equal(r.content_hash, contentHash("hello", "1.0.0", await hashModuleFolder(m.dir)));
  const sig = (await readSignatureFile(m.dir))!;
  deepEqual(Object.keys(sig.files), ["lib/util.ts", "main.ts", "module.toml"]);
  equal(sig.signatures[0].signed_at, "2025-01-31T12:00:00.000Z");
  const report = await verifyModule(m.dir, { keys: trust({ alice }) });
  equal(report.verified, true);
  equal(report.code, null);
  deepEqual(report.signers, ["alice"]);
  deepEqual(report.problems, []);
  equal(report.content_hash, r.content_hash);
  equal(report.signed_content_hash, r.content_hash);
  deepEqual(report.signatures.map((s) => [s.name, s.status]), [["alice", "valid"]]);
});

/** The SignatureError verifyModule rejects with. */
async function failure(dir: string, opts: Parameters<typeof verifyModule>[1]): Promise<SignatureError> {
  let err: unknown;
  await rejects(verifyModule(dir, opts), (e) => (err = e, true));
  ok(err instanceof SignatureError, `expected SignatureError, got ${err}`);
  return err;
}

Deno.test("a changed file fails verification, naming it", async () => {
  await using m = await tempModule();
  const [alice] = await keys(1);
  await signModule(m.dir, alice);
  await m.write("lib/util.ts", "export const util = 2;\n");
  const e = await failure(m.dir, { keys: trust({ alice }) });
  equal(e.code, "CONTENT_CHANGED");
  equal(e.message, "lib/util.ts changed after signing");
  deepEqual(e.details.changes, [{ path: "lib/util.ts", change: "changed" }]);
});

Deno.test("an added and a missing file fail verification, each named", async () => {
  await using m = await tempModule();
  const [alice] = await keys(1);
  await signModule(m.dir, alice);
  await m.write("extra.ts", "export {};\n");
  await Deno.remove(`${m.dir}/lib/util.ts`);
  const e = await failure(m.dir, { keys: trust({ alice }) });
  equal(e.code, "CONTENT_CHANGED");
  deepEqual(e.details.problems, ["extra.ts was added after signing", "lib/util.ts is missing (it was signed)"]);
  // Also an edit of the manifest: it is one of the signed files.
  await m.write("module.toml", manifestText("hello") + 'description = "now different"\n');
  const r = await inspectModuleSignature(m.dir, { keys: trust({ alice }) });
  deepEqual(r.changes.map((c) => `${c.change} ${c.path}`), [
    "added extra.ts",
    "missing lib/util.ts",
    "changed module.toml",
  ]);
});

Deno.test("a symbolic link in the folder fails signing and verification, naming it", async () => {
  await using m = await tempModule();
  const [alice] = await keys(1);
  await signModule(m.dir, alice);
  await Deno.symlink("../../outside.ts", `${m.dir}/lib/outside.ts`);
  const e = await failure(m.dir, { keys: trust({ alice }) });
  equal(e.code, "LINK_IN_FOLDER");
  match(e.message, /^lib\/outside\.ts is a symbolic link/);
  await rejects(
    signModule(m.dir, alice),
    (x) => x instanceof SignatureError && x.code === "LINK_IN_FOLDER" && x.details.path === "lib/outside.ts",
  );
});

Deno.test("a signature by a key that is not trusted does not count", async () => {
  await using m = await tempModule();
  const [alice, mallory] = await keys(2);
  await signModule(m.dir, mallory);
  const e = await failure(m.dir, { keys: trust({ alice }) });
  equal(e.code, "UNTRUSTED");
  match(e.message, /the signature by ed25519:[0-9a-f]{8}…[0-9a-f]{4} is valid, but the key is not trusted/);
  match(e.message, /needs valid signatures from 1 distinct trusted key, and has none/);
  // Without any trusted key, nothing verifies.
  const none = await failure(m.dir, { keys: {} });
  equal(none.code, "UNTRUSTED");
  match(none.message, /no trusted keys are configured/);
});

Deno.test("2-of-3: met with two trusted signers, not met with one", async () => {
  await using m = await tempModule();
  const [alice, bob, carol] = await keys(3);
  const trusted = trust({ alice, bob, carol });
  await signModule(m.dir, alice);
  const e = await failure(m.dir, { keys: trusted, threshold: 2 });
  equal(e.code, "THRESHOLD_NOT_MET");
  match(e.message, /needs valid signatures from 2 distinct trusted keys, and has 1 \(alice\)/);
  const second = await signModule(m.dir, carol);
  equal(second.action, "added");
  deepEqual(second.signers, [alice.publicKey, carol.publicKey]);
  const r = await verifyModule(m.dir, { keys: trusted, threshold: 2 });
  deepEqual(r.signers, ["alice", "carol"]);
  // 3-of-3 still needs bob.
  equal((await failure(m.dir, { keys: trusted, threshold: 3 })).code, "THRESHOLD_NOT_MET");
});

Deno.test("the same key counts once: signing twice replaces, and a repeated entry is a duplicate", async () => {
  await using m = await tempModule();
  const [alice, bob] = await keys(2);
  await signModule(m.dir, alice, { now: new Date("2025-01-01T00:00:00Z") });
  const again = await signModule(m.dir, alice, { now: new Date("2025-02-01T00:00:00Z") });
  equal(again.action, "replaced");
  const sig = (await readSignatureFile(m.dir))!;
  deepEqual(sig.signatures.map((s) => s.signed_at), ["2025-02-01T00:00:00.000Z"]);
  // A hand-made file that lists alice twice still counts her once.
  sig.signatures.push({ ...sig.signatures[0] });
  await Deno.writeTextFile(`${m.dir}/module.sig.json`, formatSignatureFile(sig));
  const r = await inspectModuleSignature(m.dir, { keys: trust({ alice, bob }), threshold: 2 });
  equal(r.verified, false);
  equal(r.code, "THRESHOLD_NOT_MET");
  deepEqual(r.signers, ["alice"]);
  deepEqual(r.signatures.map((s) => s.status), ["valid", "duplicate"]);
  // Two operator names for one key are one key too.
  const twice = await inspectModuleSignature(m.dir, {
    keys: { alice: alice.publicKey, "alice-laptop": alice.publicKey },
    threshold: 2,
  });
  equal(twice.code, "THRESHOLD_NOT_MET");
});

Deno.test("tampered signature bytes, or a listing edited to match new files, fail as BAD_SIGNATURE", async () => {
  await using m = await tempModule();
  const [alice] = await keys(1);
  await signModule(m.dir, alice);
  const original = await Deno.readTextFile(`${m.dir}/module.sig.json`);
  const sig = (await readSignatureFile(m.dir))!;
  const s = sig.signatures[0].signature;
  sig.signatures[0].signature = (s[0] === "0" ? "1" : "0") + s.slice(1);
  await Deno.writeTextFile(`${m.dir}/module.sig.json`, formatSignatureFile(sig));
  const e = await failure(m.dir, { keys: trust({ alice }) });
  equal(e.code, "BAD_SIGNATURE");
  match(e.message, /the signature by alice \(ed25519:[0-9a-f]{8}…[0-9a-f]{4}\) does not verify/);
  // An attacker changes main.ts and rewrites its hash in the listing: the files match, the signature does not.
  await Deno.writeTextFile(`${m.dir}/module.sig.json`, original);
  await m.write("main.ts", "console.log('evil');\n");
  const forged = (await readSignatureFile(m.dir))!;
  forged.files["main.ts"] = (await hashModuleFolder(m.dir))["main.ts"];
  await Deno.writeTextFile(`${m.dir}/module.sig.json`, formatSignatureFile(forged));
  const f = await failure(m.dir, { keys: trust({ alice }) });
  equal(f.code, "BAD_SIGNATURE");
  deepEqual(f.details.changes, []);
});

Deno.test("a signature file for another name or version fails as NAME_MISMATCH", async () => {
  await using m = await tempModule();
  const [alice] = await keys(1);
  await signModule(m.dir, alice);
  const e = await failure(m.dir, { keys: trust({ alice }), manifest: { name: "hello", version: "2.0.0" } });
  equal(e.code, "NAME_MISMATCH");
  match(e.message, /module\.sig\.json was made for hello 1\.0\.0, but module\.toml says hello 2\.0\.0/);
});

Deno.test("unsigned and malformed signature files are reported with their own codes", async () => {
  await using m = await tempModule();
  const [alice] = await keys(1);
  const unsigned = await failure(m.dir, { keys: trust({ alice }) });
  equal(unsigned.code, "UNSIGNED");
  match(unsigned.message, /the module is not signed: it has no module\.sig\.json/);
  await m.write("module.sig.json", '{"format":"blvm-module-signature/1"}');
  const bad = await failure(m.dir, { keys: trust({ alice }) });
  equal(bad.code, "MALFORMED");
  match(bad.message, /module\.sig\.json: name: is required/);
  // Signing over a broken file refuses, rather than silently dropping it.
  await rejects(
    signModule(m.dir, alice),
    (x) =>
      x instanceof SignatureError && x.code === "MALFORMED" && /delete it to sign this module afresh/.test(x.message),
  );
  await m.write("module.sig.json", formatSignatureFile({ ...(await emptySig(m.dir)) }));
  const empty = await failure(m.dir, { keys: trust({ alice }) });
  equal(empty.code, "UNSIGNED");
  match(empty.message, /module\.sig\.json holds no signatures/);
});

async function emptySig(dir: string) {
  return {
    format: "blvm-module-signature/1" as const,
    name: "hello",
    version: "1.0.0",
    files: await hashModuleFolder(dir),
    signatures: [],
  };
}

Deno.test("signing changed content drops the old signatures and says whose", async () => {
  await using m = await tempModule();
  const [alice, bob] = await keys(2);
  await signModule(m.dir, alice);
  await m.write("main.ts", "console.log(2);\n");
  const r = await signModule(m.dir, bob);
  deepEqual(r.dropped, [alice.publicKey]);
  deepEqual(r.signers, [bob.publicKey]);
  deepEqual((await verifyModule(m.dir, { keys: trust({ alice, bob }) })).signers, ["bob"]);
});
