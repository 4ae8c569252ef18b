// Attacks through a module's own files: code changed after the module was signed, and an update that
// quietly asks for more (events to publish, being started on calls or events, more callers). A changed
// signed module never runs (not at load, not at reload, not after a crash), naming the file; a wider
// update waits for `ctl reload NAME --approve` while the running version keeps running, and
// `ctl inspect` shows what it would add. A bystander keeps running throughout.
import { equal, match, ok, rejects } from "node:assert/strict";
import { generateSigningKey, ManagerError, signModule } from "../../mod.ts";
import { manifest, type TestManager, testManager } from "../manager/_managed.ts";

const MAIN = `import { connect } from "@blvm/node/module";
const mod = await connect();
mod.log.info("ready");
`;

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The bystander keeps running as before: same process, still connected. */
function assertBystander(t: TestManager, pid: number): void {
  const b = t.manager.get("bystander")!;
  equal(b.state, "running");
  equal(b.handle?.pid, pid);
  equal(b.handle?.session.connection.isClosed, false);
}

Deno.test("A signed module changed after signing never runs: not at start, not after a crash, not on reload", async () => {
  const key = await generateSigningKey();
  await using t = await testManager(
    {
      signed: { manifest: manifest("signed"), main: MAIN },
      bystander: { manifest: manifest("bystander"), main: MAIN },
    },
    `[modules.restart]\ninitial_delay_ms = 50\n[signing]\npolicy = "warn"\n[signing.keys]\nalice = "${key.publicKey}"\n`,
    { start: false },
  );
  await signModule(`${t.root}/modules/signed`, key);
  await t.manager.start();
  equal(t.manager.get("signed")!.signature?.status, "verified");
  const bystander = t.manager.get("bystander")!.handle!.pid;

  // Tampered while it runs, then it crashes: the restart hashes the files again and refuses them.
  await Deno.writeTextFile(`${t.root}/modules/signed/main.ts`, `${MAIN}// evil\n`);
  t.manager.get("signed")!.handle!.process.signal("SIGKILL");
  await until(() => t.manager.get("signed")!.state === "failed", "the restart is refused");
  match(t.manager.get("signed")!.reason, /files changed after their signature was verified/);

  // A reload checks the signature again: policy warn holds it for approval, naming the file.
  const e = await t.manager.reload("signed").catch((e) => e);
  ok(e instanceof ManagerError, String(e));
  equal(e.code, "APPROVAL_REQUIRED");
  match(e.message, /main\.ts changed after signing/);
  assertBystander(t, bystander);
});

Deno.test("Policy require refuses a module changed after signing, naming the file; others keep running", async () => {
  const key = await generateSigningKey();
  await using t = await testManager(
    {
      signed: { manifest: manifest("signed"), main: MAIN },
      bystander: { manifest: manifest("bystander"), main: MAIN },
    },
    `[signing]\npolicy = "warn"\n[signing.keys]\nalice = "${key.publicKey}"\n[modules.signed.signing]\npolicy = "require"\n`,
    { start: false },
  );
  await signModule(`${t.root}/modules/signed`, key);
  await Deno.writeTextFile(`${t.root}/modules/signed/extra.ts`, "export const backdoor = 1;\n");
  await t.manager.start();
  const m = t.manager.get("signed")!;
  equal(m.state, "failed");
  match(m.reason, /extra\.ts was added after signing/);
  equal(t.manager.get("bystander")!.state, "running");
});

Deno.test("An update that adds events to publish, activation triggers or callers waits for --approve", async () => {
  await using t = await testManager({
    quiet: { manifest: manifest("quiet"), main: MAIN },
    bystander: { manifest: manifest("bystander"), main: MAIN },
  });
  const bystander = t.manager.get("bystander")!.handle!.pid;
  const pid = t.manager.get("quiet")!.handle!.pid;
  await Deno.writeTextFile(
    `${t.root}/modules/quiet/module.toml`,
    manifest(
      "quiet",
      "1.1.0",
      'publishes = ["quiet.Alarm"]\n[activation]\nevents = ["NewBlock"]\non_call = true\n[api]\ncallers = ["*"]',
    ),
  );
  await rejects(t.manager.reload("quiet"), (e: ManagerError) => {
    equal(e.code, "APPROVAL_REQUIRED");
    match(e.message, /\+activation:event:NewBlock, \+activation:on_call, \+api_callers:\*, \+publishes:quiet\.Alarm/);
    return true;
  });
  // The old version keeps running, and inspect shows what the update would add.
  const d = t.manager.inspect("quiet");
  equal(d.pid, pid);
  equal(d.version, "1.0.0");
  equal(
    d.pending_approval.join(","),
    "activation:event:NewBlock,activation:on_call,api_callers:*,publishes:quiet.Alarm",
  );
  // Approved, it is applied.
  const r = await t.manager.reload("quiet", { approve: true });
  equal(r.new_version, "1.1.0");
  equal(t.manager.inspect("quiet").pending_approval.length, 0);
  assertBystander(t, bystander);
});
