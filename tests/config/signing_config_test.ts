// [signing] and [modules.<name>.signing] in blvm.toml: defaults, resolution per module, and errors that
// name the key.
import { deepEqual, equal, match } from "node:assert/strict";
import { parse } from "smol-toml";
import { type ConfigIssue, DEFAULT_SIGNING, moduleOverrides, parseNodeConfig, parseSigningConfig } from "../../mod.ts";
import { configErrorOf } from "../manager/_config_error.ts";

const FILE = "/srv/blvm/blvm.toml";
const A = `ed25519:${"a".repeat(64)}`;
const B = `ed25519:${"b".repeat(64)}`;
const C = `ed25519:${"c".repeat(64)}`;

const node = (toml: string) => parseNodeConfig(parse(toml) as Record<string, unknown>, FILE, "/srv/blvm");

/** The issues a whole blvm.toml reports. */
function issues(toml: string): ConfigIssue[] {
  const e = configErrorOf(() => node(toml));
  for (const i of e.issues) equal(i.file, FILE);
  return e.issues;
}

/** The one issue `toml` reports, which must be for `field` and match `message`. */
function onlyIssue(toml: string, field: string, message: RegExp): void {
  const found = issues(toml);
  deepEqual(found.map((i) => i.field), [field], JSON.stringify(found));
  match(found[0].message, message);
}

Deno.test("without [signing]: policy warn, threshold 1, no keys, for every module", () => {
  const cfg = node("");
  deepEqual(cfg.signing, { policy: "warn", threshold: 1, keys: {} });
  deepEqual(moduleOverrides(cfg.modules, "anything").signing, { policy: "warn", threshold: 1, keys: {} });
  deepEqual({ ...DEFAULT_SIGNING }, { policy: "warn", threshold: 1, keys: {} });
});

Deno.test("[signing] is parsed; keys are normalized; modules without a table get it", () => {
  const cfg = node(`
[signing]
policy = "require"
threshold = 2
[signing.keys]
alice = "${A.toUpperCase().replace("ED25519", "ed25519")}"
bob = "${B}"
`);
  deepEqual(cfg.signing, { policy: "require", threshold: 2, keys: { alice: A, bob: B } });
  deepEqual(moduleOverrides(cfg.modules, "hello").signing, cfg.signing);
  // A module with a table but no signing override inherits too.
  deepEqual(node(`[signing.keys]\nalice = "${A}"\n[modules.hello]\nrequired = false\n`).modules.modules.hello.signing, {
    policy: "warn",
    threshold: 1,
    keys: { alice: A },
  });
});

Deno.test("[modules.<name>.signing] overrides policy and threshold and picks the keys that count", () => {
  const cfg = node(`
[signing]
policy = "warn"
[signing.keys]
alice = "${A}"
bob = "${B}"
carol = "${C}"
[modules.lightning.signing]
policy = "require"
threshold = 2
keys = ["alice", "bob", "alice"]
[modules.wallet.signing]
keys = ["carol"]
`);
  deepEqual(cfg.modules.modules.lightning.signing, { policy: "require", threshold: 2, keys: { alice: A, bob: B } });
  // carol is trusted for the wallet only; alice and bob do not count for it.
  deepEqual(cfg.modules.modules.wallet.signing, { policy: "warn", threshold: 1, keys: { carol: C } });
  deepEqual(Object.keys(moduleOverrides(cfg.modules, "other").signing.keys), ["alice", "bob", "carol"]);
});

Deno.test("errors name the key at fault", () => {
  onlyIssue(`[signing]\npolicy = "strict"`, "signing.policy", /expected "allow", "warn" or "require", got "strict"/);
  onlyIssue(`[signing]\nthreshold = 0\n[signing.keys]\na = "${A}"`, "signing.threshold", /too small|>=1/i);
  onlyIssue(`[signing]\nthreshold = 1.5\n[signing.keys]\na = "${A}"`, "signing.threshold", /integer/);
  onlyIssue(
    `[signing]\nthreshold = 3\n[signing.keys]\na = "${A}"\nb = "${B}"`,
    "signing.threshold",
    /3 is more than the 2 trusted keys/,
  );
  onlyIssue(`[signing]\nthreshold = 2`, "signing.threshold", /2 is more than the 0 trusted keys/);
  // threshold = 1 before any key is added is fine (as in blvm.example.toml).
  equal(node(`[signing]\npolicy = "warn"\nthreshold = 1\n[signing.keys]\n`).signing.threshold, 1);
  onlyIssue(
    `[signing]\npolicy = "require"`,
    "signing.policy",
    /"require" needs at least one trusted key in \[signing\.keys\]/,
  );
  onlyIssue(`[signing.keys]\nalice = "ed25519:abc"`, "signing.keys.alice", /Invalid public key "ed25519:abc"/);
  onlyIssue(`[signing.keys]\nalice = "${A}"\nbob = "${A}"`, "signing.keys.bob", /the same key as 'alice'/);
  onlyIssue(`[signing.keys]\nalice = 5`, "signing.keys.alice", /expected a string, got 5/);
  onlyIssue(`[signing]\ntrheshold = 1`, "signing.trheshold", /unknown key 'trheshold'/);
  onlyIssue(`signing = 5`, "signing", /expected a \[signing\] table, got 5/);
});

Deno.test("errors in a module's override name its key", () => {
  const base = `[signing.keys]\nalice = "${A}"\nbob = "${B}"\n`;
  onlyIssue(
    `${base}[modules.ln.signing]\nkeys = ["alice", "carlo"]`,
    "modules.ln.signing.keys[1]",
    /'carlo' is not a key name in \[signing\.keys\] \(known: alice, bob\)/,
  );
  onlyIssue(`${base}[modules.ln.signing]\nkeys = ["alcie"]`, "modules.ln.signing.keys[0]", /did you mean 'alice'/);
  onlyIssue(
    `${base}[modules.ln.signing]\nthreshold = 3`,
    "modules.ln.signing.threshold",
    /the threshold 3 is more than the 2 trusted keys that count for this module/,
  );
  onlyIssue(
    `[signing]\nthreshold = 2\n${base}[modules.ln.signing]\nkeys = ["alice"]`,
    "modules.ln.signing.keys",
    /the threshold 2 \(from \[signing\]\.threshold\) is more than the 1 trusted key/,
  );
  onlyIssue(
    `[modules.ln.signing]\npolicy = "require"`,
    "modules.ln.signing.policy",
    /"require" needs at least one trusted key/,
  );
  onlyIssue(
    `${base}[modules.ln.signing]\npolicy = "never"`,
    "modules.ln.signing.policy",
    /expected "allow", "warn" or "require"/,
  );
  onlyIssue(`${base}[modules.ln.signing]\nkey = ["alice"]`, "modules.ln.signing.key", /unknown key 'key'/);
});

Deno.test("parseSigningConfig alone: absent means the defaults, as a fresh copy", () => {
  const a = parseSigningConfig(undefined, FILE);
  a.keys.x = A;
  deepEqual(parseSigningConfig(undefined, FILE).keys, {});
});
