// Ed25519 keys: public key strings, PEM private key files (mode 0600, no silent overwrite), OpenSSL interop.
import { equal, match, notEqual, ok, rejects, throws } from "node:assert/strict";
import {
  exportPrivateKeyPem,
  generateSigningKey,
  importPrivateKeyPem,
  isPublicKey,
  normalizePublicKey,
  readPrivateKeyFile,
  SignatureError,
  signBytes,
  verifyBytes,
  writePrivateKeyFile,
} from "../../mod.ts";

const isBadKey = (pattern: RegExp) => (e: unknown) =>
  e instanceof SignatureError && e.code === "BAD_KEY" && pattern.test(e.message);

Deno.test("public keys are 'ed25519:' and 64 hex digits, normalized to lowercase", () => {
  const hex = "Ab".repeat(32);
  equal(normalizePublicKey(`ed25519:${hex}`), `ed25519:${hex.toLowerCase()}`);
  ok(isPublicKey(`ed25519:${hex}`));
  throws(() => normalizePublicKey(hex), isBadKey(/must start with 'ed25519:'/));
  throws(() => normalizePublicKey("ed25519:abcd"), isBadKey(/64 hex digits.*got 4 characters/));
  throws(() => normalizePublicKey(`ed25519:${"zz".repeat(32)}`), isBadKey(/64 hex digits/));
});

Deno.test("a generated key signs and its public key verifies; another key does not", async () => {
  const [a, b] = [await generateSigningKey(), await generateSigningKey()];
  notEqual(a.publicKey, b.publicKey);
  const msg = new TextEncoder().encode("release");
  const sig = await signBytes(a, msg);
  ok(await verifyBytes(a.publicKey, msg, sig));
  ok(!(await verifyBytes(b.publicKey, msg, sig)));
  ok(!(await verifyBytes(a.publicKey, new TextEncoder().encode("other"), sig)));
});

Deno.test("a private key round-trips through PKCS#8 PEM", async () => {
  const key = await generateSigningKey();
  const pem = await exportPrivateKeyPem(key);
  match(pem, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
  equal((await importPrivateKeyPem(pem)).publicKey, key.publicKey);
  await rejects(importPrivateKeyPem("not a key"), isBadKey(/Not a PKCS#8 PEM private key/));
});

Deno.test("OpenSSL reads our key files and we read OpenSSL's; the public keys agree", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const openssl = (...args: string[]) =>
      new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" }).output();
    // Ours, read by OpenSSL: the last 32 bytes of its DER public key are the raw key.
    const key = await generateSigningKey();
    await writePrivateKeyFile(`${dir}/ours.pem`, key);
    const pub = await openssl("pkey", "-in", `${dir}/ours.pem`, "-pubout", "-outform", "DER");
    equal(pub.code, 0, new TextDecoder().decode(pub.stderr));
    const raw = Array.from(pub.stdout.slice(-32), (b) => b.toString(16).padStart(2, "0")).join("");
    equal(`ed25519:${raw}`, key.publicKey);
    // OpenSSL's, read by us.
    equal((await openssl("genpkey", "-algorithm", "ed25519", "-out", `${dir}/theirs.pem`)).code, 0);
    ok(isPublicKey((await readPrivateKeyFile(`${dir}/theirs.pem`)).key.publicKey));
    // A key of another type is refused with a clear message that names the file.
    equal(
      (await openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${dir}/ec.pem`))
        .code,
      0,
    );
    await rejects(readPrivateKeyFile(`${dir}/ec.pem`), isBadKey(/ec\.pem: The PEM private key is not an Ed25519 key/));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writePrivateKeyFile writes mode 0600 and never overwrites without force", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/k.pem`;
    const first = await generateSigningKey();
    await writePrivateKeyFile(file, first);
    equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    await rejects(writePrivateKeyFile(file, await generateSigningKey()), Deno.errors.AlreadyExists);
    equal((await readPrivateKeyFile(file)).key.publicKey, first.publicKey, "the old key is untouched");
    // A loose file replaced with force ends up 0600 too.
    await Deno.chmod(file, 0o644);
    equal((await readPrivateKeyFile(file)).looseMode, true);
    const second = await generateSigningKey();
    await writePrivateKeyFile(file, second, { force: true });
    equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const again = await readPrivateKeyFile(file);
    equal(again.key.publicKey, second.publicKey);
    equal(again.looseMode, false);
    // No temporary files are left behind.
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    equal(names.join(","), "k.pem");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
