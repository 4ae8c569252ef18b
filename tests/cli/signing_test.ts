// `deno task ctl keygen | sign | verify` end to end through the real CLI (no host needed), and what
// `ctl inspect`, `ctl load` and `ctl reload` show about signatures on a running host.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { serveAdmin, signModule } from "../../mod.ts";
import { keys, tempModule } from "../signing/_sign.ts";
import { manifest, testManager } from "../manager/_managed.ts";
import { ctl, ctlIn, show } from "./_ctl.ts";

const PUBLIC = /^public key: {2}(ed25519:[0-9a-f]{64})$/m;

Deno.test("ctl keygen, sign and verify, end to end, with exit codes and --json", async (t) => {
  await using m = await tempModule("hello");
  const work = await Deno.makeTempDir({ prefix: "blvm-ctl-sign-" });
  const alicePem = `${work}/alice.pem`, bobPem = `${work}/bob.pem`;
  let alice = "", bob = "";
  try {
    await t.step("keygen writes a 0600 PEM file and prints the public key and the TOML line", async () => {
      const r = await ctl("keygen", "--out", alicePem);
      equal(r.code, 0, show(r));
      alice = PUBLIC.exec(r.stdout)?.[1] ?? "";
      ok(alice, show(r));
      match(r.stdout, new RegExp(`^\\[signing\\.keys\\]\\nalice = "${alice}"$`, "m"));
      equal((await Deno.stat(alicePem)).mode! & 0o777, 0o600);
      match(await Deno.readTextFile(alicePem), /^-----BEGIN PRIVATE KEY-----\n/);
    });

    await t.step("keygen refuses to overwrite without --force (exit 1); --json for scripts", async () => {
      const before = await Deno.readTextFile(alicePem);
      const r = await ctl("keygen", "--out", alicePem);
      equal(r.code, 1, show(r));
      match(r.stderr, /error \[ALREADY_EXISTS\]: .*alice\.pem already exists; use --force to overwrite it/);
      equal(await Deno.readTextFile(alicePem), before);
      const j = await ctl("keygen", "--out", bobPem, "--json");
      equal(j.code, 0, show(j));
      const out = JSON.parse(j.stdout);
      bob = out.public_key;
      match(bob, /^ed25519:[0-9a-f]{64}$/);
      equal(out.private_key_file, bobPem);
      equal(out.toml, `bob = "${bob}"`);
    });

    await t.step("bad usage exits 2 with a message", async () => {
      for (
        const [args, message] of [
          [["keygen"], /'keygen' needs --out FILE/],
          [["keygen", "--out", alicePem, "--key", "x"], /--key does not apply to 'keygen'/],
          [["sign", m.dir], /'sign' needs exactly one --key FILE/],
          [["sign", "--key", alicePem], /'sign' takes 1 argument\(s\), got 0/],
          [["verify", m.dir, "--key", "ed25519:abc"], /--key: Invalid public key "ed25519:abc"/],
          [["verify", m.dir, "--key", alice, "--threshold", "0"], /--threshold must be a whole number of at least 1/],
          [["verify", m.dir, "--key", alice, "--threshold", "2"], /--threshold 2 is more than the 1 distinct keys/],
          [["verify", m.dir, "--bogus"], /Unknown option '--bogus'/],
        ] as const
      ) {
        const r = await ctl(...args);
        equal(r.code, 2, show(r));
        match(r.stderr, message);
        match(r.stderr, /keygen --out FILE/, "the usage is shown");
      }
    });

    await t.step("sign prints the content hash and the signer; --json has the details", async () => {
      const r = await ctl("sign", m.dir, "--key", alicePem);
      equal(r.code, 0, show(r));
      match(r.stdout, /^Signed hello 1\.0\.0 \(3 files\)$/m);
      match(r.stdout, /content hash: sha256:[0-9a-f]{64}$/m);
      match(r.stdout, new RegExp(`signer: +${alice}$`, "m"));
      const j = await ctl("sign", m.dir, "--key", bobPem, "--json");
      equal(j.code, 0, show(j));
      const out = JSON.parse(j.stdout);
      deepEqual([out.name, out.key, out.action, out.signers], ["hello", bob, "added", [alice, bob]]);
      deepEqual(out.dropped, []);
    });

    await t.step("verify with --key: exit 0 when verified", async () => {
      const r = await ctl("verify", m.dir, "--key", alice, "--key", bob, "--threshold", "2");
      equal(r.code, 0, show(r));
      match(r.stdout, /^hello 1\.0\.0 in .*: VERIFIED$/m);
      match(r.stdout, /trusted keys: 2 from --key; 2 must sign/);
      const j = await ctl("verify", m.dir, "--key", alice, "--json");
      equal(j.code, 0, show(j));
      const out = JSON.parse(j.stdout);
      equal(out.verified, true);
      deepEqual(out.signatures.map((s: { status: string }) => s.status), ["valid", "untrusted"]);
    });

    await t.step("verify against blvm.toml: its keys, the module's override, ./blvm.toml by default", async () => {
      const config = `${work}/blvm.toml`;
      await Deno.writeTextFile(
        config,
        `[signing]\npolicy = "require"\n[signing.keys]\nalice = "${alice}"\nbob = "${bob}"\n` +
          `[modules.hello.signing]\nthreshold = 2\n`,
      );
      const r = await ctl("verify", m.dir, "--config", config);
      equal(r.code, 0, show(r));
      match(r.stdout, /signed by: +alice, bob/);
      const d = await ctlIn(work, "verify", m.dir, "--json");
      equal(d.code, 0, show(d));
      const out = JSON.parse(d.stdout);
      deepEqual([out.verified, out.policy, out.threshold, out.keys_from], [true, "require", 2, config]);
      // An invalid configuration is bad usage.
      await Deno.writeTextFile(config, `[signing]\npolicy = "strict"\n`);
      const bad = await ctlIn(work, "verify", m.dir);
      equal(bad.code, 2, show(bad));
      match(
        bad.stderr,
        /error \[INVALID_CONFIG\]: .*blvm\.toml: signing\.policy: expected "allow", "warn" or "require"/,
      );
    });

    await t.step("verify fails (exit 1) naming each changed file and each untrusted signature", async () => {
      await m.write("main.ts", "console.log('changed');\n");
      await m.write("extra.ts", "export {};\n");
      const r = await ctl("verify", m.dir, "--key", alice);
      equal(r.code, 1, show(r));
      match(r.stdout, /NOT VERIFIED \(CONTENT_CHANGED\)/);
      match(r.stdout, /problem: +extra\.ts was added after signing/);
      match(r.stdout, /problem: +main\.ts changed after signing/);
      const j = await ctl("verify", m.dir, "--key", alice, "--json");
      equal(j.code, 1, show(j));
      const out = JSON.parse(j.stdout);
      equal(out.code, "CONTENT_CHANGED");
      deepEqual(out.changes, [{ path: "extra.ts", change: "added" }, { path: "main.ts", change: "changed" }]);
      // Signed again by bob alone: the change dropped alice's signature, and the tool says so.
      const s = await ctl("sign", m.dir, "--key", bobPem);
      equal(s.code, 0, show(s));
      match(s.stderr, /warning: the content changed since the last signing: dropped 2 earlier signature\(s\)/);
      const u = await ctl("verify", m.dir, "--key", alice);
      equal(u.code, 1, show(u));
      match(u.stdout, /NOT VERIFIED \(UNTRUSTED\)/);
      match(u.stdout, /problem: +the signature by ed25519:\S+ is valid, but the key is not trusted/);
    });

    await t.step("a symbolic link in the folder: sign and verify fail, naming it", async () => {
      await Deno.symlink("/etc/passwd", `${m.dir}/passwd`);
      const s = await ctl("sign", m.dir, "--key", alicePem, "--json");
      equal(s.code, 1, show(s));
      deepEqual(JSON.parse(s.stdout).error.code, "LINK_IN_FOLDER");
      match(JSON.parse(s.stdout).error.message, /^passwd is a symbolic link/);
      const v = await ctl("verify", m.dir, "--key", bob);
      equal(v.code, 1, show(v));
      match(v.stdout, /NOT VERIFIED \(LINK_IN_FOLDER\)/);
      const missing = await ctl("verify", `${work}/nothing`, "--key", bob);
      equal(missing.code, 1, show(missing));
      match(missing.stderr, /error \[NOT_FOUND\]/);
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("ctl inspect --json shows the signature; ctl load and reload show why they are refused or held", async () => {
  const [alice] = await keys(1);
  const MAIN = `import { connect } from "@blvm/node/module";\nconst mod = await connect();\nmod.log.info("ready");\n`;
  await using tm = await testManager(
    { good: { manifest: manifest("good"), main: MAIN }, strict: { manifest: manifest("strict"), main: MAIN } },
    `[signing]\npolicy = "warn"\n[signing.keys]\nalice = "${alice.publicKey}"\n[modules.strict.signing]\npolicy = "require"\n`,
    { start: false },
  );
  await signModule(`${tm.root}/modules/good`, alice);
  await tm.manager.start();
  const sock = `${tm.root}/run/admin.sock`;
  const server = await serveAdmin(tm.manager, sock, () => {});
  const run = (...args: string[]) => ctl(...args, "--socket", sock);
  try {
    await tm.waitLog("good", (l) => l === "ready");
    const i = await run("inspect", "good", "--json");
    equal(i.code, 0, show(i));
    const sig = JSON.parse(i.stdout).signature;
    deepEqual([sig.status, sig.policy, sig.keys], ["verified", "warn", ["alice"]]);
    match(sig.content_hash, /^sha256:[0-9a-f]{64}$/);
    // The unsigned module under "require" failed at start-up; ctl load names the code and the reason.
    const l = await run("load", "strict");
    equal(l.code, 1, show(l));
    match(l.stderr, /error \[SIGNATURE_INVALID\]: Module 'strict' 1\.0\.0 refused: .*no module\.sig\.json/);
    // A tampered verified module: ctl reload is held for approval, and the list says so.
    await Deno.writeTextFile(`${tm.root}/modules/good/main.ts`, `${MAIN}// tampered\n`);
    const r = await run("reload", "good");
    equal(r.code, 1, show(r));
    match(r.stderr, /error \[APPROVAL_REQUIRED\]: .*the new files are invalid \(main\.ts changed after signing\)/);
    const list = JSON.parse((await run("list", "--json")).stdout);
    deepEqual(list.find((x: { name: string }) => x.name === "good").pending_approval, ["signature:invalid"]);
    const a = await run("reload", "good", "--approve");
    equal(a.code, 0, show(a));
    equal(JSON.parse((await run("inspect", "good", "--json")).stdout).signature.status, "invalid");
  } finally {
    await server.close();
  }
});
