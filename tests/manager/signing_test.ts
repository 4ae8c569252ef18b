// Signed modules in a real ModuleManager with real module processes: policies require, warn and allow at
// start-up and load, per-module key lists, and reloads of a verified module whose files were tampered with.
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { ManagerError, type SigningKey, signModule } from "../../mod.ts";
import { keys } from "../signing/_sign.ts";
import { type FolderSpec, manifest, type TestManager, testManager } from "./_managed.ts";

/** A self-contained module: it imports only the SDK, connects, and waits to be stopped. */
const MAIN = `import { connect } from "@blvm/node/module";
const mod = await connect();
mod.log.info("ready");
`;

const folder = (name: string, version = "1.0.0"): FolderSpec => ({ manifest: manifest(name, version), main: MAIN });

/** `[signing]` with the given policy and trusted keys, plus extra TOML. */
function signingToml(policy: string, trusted: Record<string, SigningKey>, extra = ""): string {
  const lines = Object.entries(trusted).map(([n, k]) => `${n} = "${k.publicKey}"`);
  return `[signing]\npolicy = "${policy}"\n[signing.keys]\n${lines.join("\n")}\n${extra}`;
}

/** Manager log records, captured while `fn` runs. */
async function withManagerLog<T>(fn: (records: LogRecord[]) => Promise<T>): Promise<T> {
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r) => records.push(r) },
    loggers: [
      { category: ["blvm", "manager"], sinks: ["mem"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
    reset: true,
  });
  try {
    return await fn(records);
  } finally {
    await reset();
  }
}

const text = (r: LogRecord) => r.message.map(String).join("");

/** A manager over `folders`, not started, so the test can sign them first. */
function unstarted(folders: Record<string, FolderSpec>, toml: string, watch = false): Promise<TestManager> {
  return testManager(folders, toml, { start: false, watch });
}

const dirOf = (t: TestManager, name: string) => `${t.root}/modules/${name}`;

/** Wait (generously) until `check` holds. */
async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test("policy require: unverified modules fail naming the problem; a verified one runs", async () => {
  const [alice, mallory] = await keys(2);
  await using t = await unstarted(
    { good: folder("good"), tampered: folder("tampered"), unsigned: folder("unsigned"), foreign: folder("foreign") },
    signingToml("require", { alice }),
  );
  await signModule(dirOf(t, "good"), alice);
  await signModule(dirOf(t, "tampered"), alice);
  await Deno.writeTextFile(`${dirOf(t, "tampered")}/main.ts`, `${MAIN}console.log("extra");\n`);
  await signModule(dirOf(t, "foreign"), mallory);
  await t.manager.start();
  await t.waitLog("good", (m) => m === "ready");
  const state = Object.fromEntries(t.manager.list().map((m) => [m.name, [m.state, m.reason]]));
  equal(state.good[0], "running");
  equal(state.tampered[0], "failed");
  match(state.tampered[1], /Module 'tampered' 1\.0\.0 refused: its signing policy is "require"/);
  match(state.tampered[1], /main\.ts changed after signing/);
  equal(state.unsigned[0], "failed");
  match(state.unsigned[1], /it is unsigned: the module is not signed: it has no module\.sig\.json/);
  equal(state.foreign[0], "failed");
  match(state.foreign[1], /is valid, but the key is not trusted/);
  ok(t.manager.get("tampered")!.handle === undefined, "no process was started");
  const good = t.manager.inspect("good").signature!;
  deepEqual([good.status, good.policy, good.keys], ["verified", "require", ["alice"]]);
  equal(t.manager.inspect("tampered").signature, null);
  // ctl load of a failed module reads it again, and refuses it with its own code.
  await rejects(t.manager.load("tampered"), (e) => {
    ok(e instanceof ManagerError);
    equal(e.code, "SIGNATURE_INVALID");
    match(e.message, /main\.ts changed after signing/);
    return true;
  });
  equal(t.manager.get("good")!.state, "running", "the verified module keeps running");
  // Once signed again, it loads.
  await signModule(dirOf(t, "tampered"), alice);
  const s = await t.manager.load("tampered");
  equal(s.state, "running");
  deepEqual(t.manager.inspect("tampered").signature?.keys, ["alice"]);
});

Deno.test("policy warn: an unverified module runs, and a warning names the module and the problem", async () => {
  await withManagerLog(async (records) => {
    const [alice] = await keys(1);
    await using t = await unstarted(
      { plain: folder("plain"), edited: folder("edited") },
      signingToml("warn", { alice }),
    );
    await signModule(dirOf(t, "edited"), alice);
    await Deno.writeTextFile(`${dirOf(t, "edited")}/extra.ts`, "export {};\n");
    await t.manager.start();
    await t.waitLog("plain", (m) => m === "ready");
    await t.waitLog("edited", (m) => m === "ready");
    deepEqual(t.manager.list().map((m) => m.state), ["running", "running"]);
    equal(t.manager.inspect("plain").signature?.status, "unsigned");
    const edited = t.manager.inspect("edited").signature!;
    deepEqual([edited.status, edited.code, edited.detail], [
      "invalid",
      "CONTENT_CHANGED",
      "extra.ts was added after signing",
    ]);
    const warnings = records.filter((r) => r.level === "warning").map(text);
    ok(
      warnings.some((w) => /SIGNATURE NOT VERIFIED: module plain 1\.0\.0 is unsigned: .*no module\.sig\.json/.test(w)),
      warnings.join("\n"),
    );
    ok(warnings.some((w) => /module edited 1\.0\.0 is invalid: extra\.ts was added after signing/.test(w)));
  });
});

Deno.test("policy allow: nothing is checked", async () => {
  await withManagerLog(async (records) => {
    const [alice] = await keys(1);
    await using t = await unstarted({ loose: folder("loose") }, signingToml("allow", { alice }));
    await signModule(dirOf(t, "loose"), alice);
    await Deno.writeTextFile(`${dirOf(t, "loose")}/main.ts`, `${MAIN}// edited\n`);
    await t.manager.start();
    await t.waitLog("loose", (m) => m === "ready");
    deepEqual(t.manager.inspect("loose").signature, { status: "unchecked", policy: "allow", keys: [] });
    deepEqual(records.filter((r) => /SIGNATURE/.test(text(r))).map(text), []);
  });
});

Deno.test("a module's own key list and threshold: only its keys count, and 2-of-2 is enforced", async () => {
  const [alice, bob, carol] = await keys(3);
  await using t = await unstarted(
    { ln: folder("ln"), wallet: folder("wallet"), other: folder("other") },
    signingToml(
      "warn",
      { alice, bob, carol },
      `[modules.ln.signing]\npolicy = "require"\nthreshold = 2\nkeys = ["alice", "bob"]\n` +
        `[modules.wallet.signing]\npolicy = "require"\nkeys = ["carol"]\n`,
    ),
  );
  await signModule(dirOf(t, "ln"), alice);
  await signModule(dirOf(t, "ln"), carol); // trusted globally, but not for ln
  await signModule(dirOf(t, "wallet"), carol); // trusted for the wallet through its own list
  await signModule(dirOf(t, "other"), bob);
  await t.manager.start();
  await t.waitLog("wallet", (m) => m === "ready");
  const ln = t.manager.list().find((m) => m.name === "ln")!;
  equal(ln.state, "failed");
  match(ln.reason, /the signature by ed25519:\S+ is valid, but the key is not trusted/);
  match(ln.reason, /needs valid signatures from 2 distinct trusted keys, and has 1 \(alice\)/);
  deepEqual(t.manager.inspect("wallet").signature?.keys, ["carol"]);
  deepEqual(t.manager.inspect("other").signature?.keys, ["bob"]);
  // bob signs too: ln now meets its 2-of-2.
  await signModule(dirOf(t, "ln"), bob);
  await t.manager.load("ln");
  await t.waitLog("ln", (m) => m === "ready");
  deepEqual(t.manager.inspect("ln").signature?.keys, ["alice", "bob"]);
});

Deno.test("a hot reload of a tampered verified module is held (warn), and refused (require)", async (s) => {
  const [alice] = await keys(1);
  await using t = await unstarted(
    { held: folder("held"), strict: folder("strict") },
    signingToml("warn", { alice }, `[modules.strict.signing]\npolicy = "require"\n`),
    true,
  );
  await signModule(dirOf(t, "held"), alice);
  await signModule(dirOf(t, "strict"), alice);
  await t.manager.start();
  await t.waitLog("held", (m) => m === "ready");
  await t.waitLog("strict", (m) => m === "ready");
  const pids = { held: t.manager.get("held")!.handle!.pid, strict: t.manager.get("strict")!.handle!.pid };

  await s.step("warn: the reload waits for approval and the verified version keeps running", async () => {
    await Deno.writeTextFile(`${dirOf(t, "held")}/main.ts`, `${MAIN}console.log("tampered");\n`);
    await until(() => t.manager.get("held")!.pendingApproval !== undefined, "the hot reload is held");
    const st = t.manager.list().find((m) => m.name === "held")!;
    deepEqual(st.pending_approval, ["signature:invalid"]);
    equal(st.state, "running");
    equal(st.pid, pids.held);
    equal(t.manager.inspect("held").signature?.status, "verified");
    await rejects(t.manager.reload("held"), (e) => {
      ok(e instanceof ManagerError);
      equal(e.code, "APPROVAL_REQUIRED");
      match(
        e.message,
        /the running version is verified, but the new files are invalid \(main\.ts changed after signing\)/,
      );
      match(e.message, /deno task ctl reload held --approve/);
      return true;
    });
    equal(t.manager.get("held")!.handle?.pid, pids.held);
    // The operator approves: the new version runs, marked invalid.
    const r = await t.manager.reload("held", { approve: true });
    equal(r.success, true);
    await until(() => t.manager.get("held")!.handle?.pid !== pids.held, "the approved version runs");
    equal(t.manager.inspect("held").signature?.status, "invalid");
    deepEqual(t.manager.inspect("held").pending_approval, []);
  });

  await s.step("require: the reload is refused and the verified version keeps running", async () => {
    await Deno.writeTextFile(`${dirOf(t, "strict")}/lib.ts`, "export const x = 1;\n");
    await rejects(t.manager.reload("strict"), (e) => {
      ok(e instanceof ManagerError);
      equal(e.code, "SIGNATURE_INVALID");
      match(e.message, /lib\.ts was added after signing/);
      return true;
    });
    const st = t.manager.list().find((m) => m.name === "strict")!;
    equal(st.state, "running");
    equal(st.pid, pids.strict);
    equal(t.manager.inspect("strict").signature?.status, "verified");
    // Signed again: the reload goes through.
    await signModule(dirOf(t, "strict"), alice);
    await until(() => t.manager.get("strict")!.handle?.pid !== pids.strict, "the re-signed version runs");
    equal(t.manager.inspect("strict").signature?.status, "verified");
  });
});
