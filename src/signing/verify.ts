/**
 * Verifying a module folder against trusted keys: the files must be exactly those signed, the name and
 * version those of `module.toml`, and at least `threshold` distinct trusted keys must have valid
 * signatures. Trusted keys come from the caller (the operator's `blvm.toml`), never from the module.
 *
 * @module
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ConfigFileError, readTomlSource } from "../manager/config_error.ts";
import {
  canonicalText,
  contentHash,
  describeChange,
  diffListings,
  type FileHashes,
  hashModuleFolder,
  SIGNATURE_FILE,
} from "./content.ts";
import { type ContentChange, SignatureError, type SignatureErrorCode } from "./errors.ts";
import { importPublicKey, normalizePublicKey, shortKey } from "./keys.ts";
import { readSignatureFile, type SignatureFile } from "./sigfile.ts";

/** What became of one signature in `module.sig.json`. */
export interface SignatureCheck {
  /** The signer's public key. */
  key: string;
  /** The operator's name for the key, if it is trusted; `null` otherwise. */
  name: string | null;
  /** When it was signed, as the file says (not covered by the signature). */
  signed_at: string;
  /**
   * `valid`: a trusted key, the signature verifies and counts; `duplicate`: valid, but this key was
   * already counted; `invalid`: the signature does not verify; `untrusted`: it verifies, but the key is
   * not trusted.
   */
  status: "valid" | "duplicate" | "invalid" | "untrusted";
}

/** The name and version a module folder must have been signed with, and the `module.toml` hash. */
export interface ManifestIdentity {
  /** Module name from `module.toml`. */
  name: string;
  /** Module version from `module.toml`. */
  version: string;
  /** Hex SHA-256 of `module.toml` as it was read; a different file on disk fails verification. */
  hash?: string;
}

/** Settings for {@link inspectModuleSignature} and {@link verifyModule}. */
export interface VerifyOptions {
  /** Trusted keys: operator's name → `ed25519:<hex>`. Two names for one key count as one key. */
  keys: Record<string, string>;
  /** Distinct trusted keys that must have signed. Default: 1. */
  threshold?: number;
  /** What `module.toml` says; read from the folder when absent. */
  manifest?: ManifestIdentity;
}

/** Everything verification found. */
export interface VerificationReport {
  /** Whether the folder is verified. */
  verified: boolean;
  /** The main reason it is not, or `null`. */
  code: SignatureErrorCode | null;
  /** The module folder. */
  dir: string;
  /** Name from `module.toml`. */
  name: string;
  /** Version from `module.toml`. */
  version: string;
  /** `sha256:<hex>` of the folder as it is now, or `null` if it could not be listed. */
  content_hash: string | null;
  /** `sha256:<hex>` of what was signed, or `null` without a readable signature file. */
  signed_content_hash: string | null;
  /** Distinct trusted keys required. */
  threshold: number;
  /** Names of the trusted keys whose valid signatures count. */
  signers: string[];
  /** Each signature in the file, in file order. */
  signatures: SignatureCheck[];
  /** Files changed, added or missing since signing. */
  changes: ContentChange[];
  /** Why it is not verified, one sentence each; empty when verified. */
  problems: string[];
}

const utf8 = new TextEncoder();

/**
 * Verify an Ed25519 signature.
 *
 * @param publicKey `ed25519:<64 hex>`.
 * @param message The signed bytes.
 * @param signature 128 hex digits.
 * @returns Whether it verifies.
 * @throws {SignatureError} `BAD_KEY` if the public key is malformed.
 *
 * @example
 * ```ts
 * import { generateSigningKey, signBytes, verifyBytes } from "@blvm/node";
 * const key = await generateSigningKey();
 * const msg = new TextEncoder().encode("hi");
 * console.log(await verifyBytes(key.publicKey, msg, await signBytes(key, msg))); // true
 * ```
 */
export async function verifyBytes(publicKey: string, message: Uint8Array, signature: string): Promise<boolean> {
  const key = await importPublicKey(publicKey);
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(signature)) return false;
  return await crypto.subtle.verify(
    { name: "Ed25519" },
    key,
    new Uint8Array(hexToBytes(signature)),
    new Uint8Array(message),
  );
}

/**
 * The name and version in `<dir>/module.toml` and the file's hash, without checking the rest of it.
 *
 * @param dir The module folder.
 * @returns Name, version and hash.
 * @throws {ConfigFileError} if there is no `module.toml`, it is not TOML, or `name` or `version` is not a string.
 *
 * @example
 * ```ts
 * import { readManifestIdentity } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/module.toml`, 'name = "hello"\nversion = "0.1.0"\n');
 * const { name, version } = await readManifestIdentity(dir);
 * console.log(name, version); // hello 0.1.0
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readManifestIdentity(dir: string): Promise<Required<ManifestIdentity>> {
  const file = `${dir}/module.toml`;
  let source;
  try {
    source = await readTomlSource(file, 64 * 1024);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new ConfigFileError(file, [{ file, field: "", message: "no module.toml" }], { cause: e });
  }
  const { name, version } = source.data;
  for (const [field, v] of [["name", name], ["version", version]] as const) {
    if (typeof v !== "string") throw new ConfigFileError(file, [{ file, field, message: "expected a string" }]);
  }
  return { name: name as string, version: version as string, hash: bytesToHex(sha256(source.bytes)) };
}

/** The trusted keys by hex, first name wins. */
function trustedByKey(keys: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, k] of Object.entries(keys)) {
    const key = normalizePublicKey(k);
    if (!out.has(key)) out.set(key, name);
  }
  return out;
}

async function checkSignatures(
  sig: SignatureFile,
  trusted: Map<string, string>,
): Promise<{ checks: SignatureCheck[]; signers: string[] }> {
  const message = utf8.encode(canonicalText(sig.name, sig.version, sig.files));
  const counted = new Set<string>();
  const checks: SignatureCheck[] = [];
  for (const s of sig.signatures) {
    const name = trusted.get(s.key) ?? null;
    let ok: boolean;
    try {
      ok = await verifyBytes(s.key, message, s.signature);
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      ok = false;
    }
    const status = !ok ? "invalid" : name === null ? "untrusted" : counted.has(s.key) ? "duplicate" : "valid";
    if (status === "valid") counted.add(s.key);
    checks.push({ key: s.key, name, signed_at: s.signed_at, status });
  }
  return { checks, signers: [...counted].map((k) => trusted.get(k)!) };
}

const who = (c: SignatureCheck) => c.name && c.name !== c.key ? `${c.name} (${shortKey(c.key)})` : shortKey(c.key);

/**
 * Verify a module folder and report everything found. Never throws because of what is in the folder:
 * the report says what failed.
 *
 * @param dir The module folder.
 * @param opts Trusted keys, threshold and, optionally, the manifest identity already read.
 * @returns The report; `verified` is `true` only if nothing is wrong.
 * @throws {Deno.errors.NotFound} if the folder does not exist; {@link ConfigFileError} if `module.toml`
 * is missing or unreadable and `opts.manifest` is not given; `RangeError` for a bad threshold.
 *
 * @example
 * ```ts
 * import { generateSigningKey, inspectModuleSignature, signModule } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/module.toml`, 'name = "hello"\nversion = "0.1.0"\nentry_point = "main.ts"\n');
 * await Deno.writeTextFile(`${dir}/main.ts`, "export {};\n");
 * const alice = await generateSigningKey();
 * await signModule(dir, alice);
 * await Deno.writeTextFile(`${dir}/main.ts`, "export const evil = 1;\n");
 * const r = await inspectModuleSignature(dir, { keys: { alice: alice.publicKey } });
 * console.log(r.verified, r.code, r.problems); // false CONTENT_CHANGED ["main.ts changed after signing"]
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function inspectModuleSignature(dir: string, opts: VerifyOptions): Promise<VerificationReport> {
  const threshold = opts.threshold ?? 1;
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new RangeError(`The threshold must be an integer of at least 1, got ${threshold}`);
  }
  const trusted = trustedByKey(opts.keys);
  const real = await Deno.realPath(dir);
  const manifest = opts.manifest ?? await readManifestIdentity(real);
  const report: VerificationReport = {
    verified: false,
    code: null,
    dir: real,
    name: manifest.name,
    version: manifest.version,
    content_hash: null,
    signed_content_hash: null,
    threshold,
    signers: [],
    signatures: [],
    changes: [],
    problems: [],
  };
  const fail = (code: SignatureErrorCode, problems: string[]) => {
    report.code ??= code;
    report.problems.push(...problems);
  };
  let files: FileHashes;
  let sig: SignatureFile | undefined;
  try {
    files = await hashModuleFolder(real);
    report.content_hash = contentHash(manifest.name, manifest.version, files);
    sig = await readSignatureFile(real);
  } catch (e) {
    if (!(e instanceof SignatureError)) throw e;
    fail(e.code, [e.message]);
    return report;
  }
  if (!sig) {
    fail("UNSIGNED", [`the module is not signed: it has no ${SIGNATURE_FILE}`]);
    return report;
  }
  report.signed_content_hash = contentHash(sig.name, sig.version, sig.files);
  report.changes = diffListings(sig.files, files);
  if (report.changes.length) fail("CONTENT_CHANGED", report.changes.map(describeChange));
  if (manifest.hash !== undefined && files["module.toml"] !== manifest.hash) {
    fail("CONTENT_CHANGED", ["module.toml changed while the module was being verified"]);
  }
  if (sig.name !== manifest.name || sig.version !== manifest.version) {
    fail("NAME_MISMATCH", [
      `${SIGNATURE_FILE} was made for ${sig.name} ${sig.version}, but module.toml says ${manifest.name} ${manifest.version}`,
    ]);
  }
  const { checks, signers } = await checkSignatures(sig, trusted);
  report.signatures = checks;
  report.signers = signers;
  if (signers.length < threshold) {
    const problems: string[] = [];
    for (const c of checks) {
      if (c.status === "invalid" && c.name !== null) {
        problems.push(`the signature by ${who(c)} does not verify: it or ${SIGNATURE_FILE} was altered after signing`);
      } else if (c.status === "invalid") {
        problems.push(`the signature by ${who(c)} is not from a trusted key, and does not verify`);
      } else if (c.status === "untrusted") {
        problems.push(`the signature by ${who(c)} is valid, but the key is not trusted`);
      }
    }
    if (!sig.signatures.length) problems.push(`${SIGNATURE_FILE} holds no signatures`);
    else if (!trusted.size) problems.push("no trusted keys are configured");
    else {
      const has = signers.length ? `${signers.length} (${signers.join(", ")})` : "none";
      problems.push(
        `it needs valid signatures from ${threshold} distinct trusted key${threshold === 1 ? "" : "s"}, and has ${has}`,
      );
    }
    const code = !sig.signatures.length
      ? "UNSIGNED"
      : checks.some((c) => c.status === "invalid" && c.name !== null)
      ? "BAD_SIGNATURE"
      : signers.length === 0
      ? "UNTRUSTED"
      : "THRESHOLD_NOT_MET";
    fail(code, problems);
  }
  report.verified = report.problems.length === 0;
  return report;
}

/**
 * Verify a module folder, throwing when it is not verified.
 *
 * @param dir The module folder.
 * @param opts Trusted keys, threshold and, optionally, the manifest identity.
 * @returns The report of a verified folder.
 * @throws {SignatureError} with the main `code` (`CONTENT_CHANGED`, `UNTRUSTED`, `THRESHOLD_NOT_MET`, …), a
 * message naming every problem, and `details.changes` and `details.problems`.
 *
 * @example
 * ```ts
 * import { generateSigningKey, signModule, verifyModule } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/module.toml`, 'name = "hello"\nversion = "0.1.0"\nentry_point = "main.ts"\n');
 * await Deno.writeTextFile(`${dir}/main.ts`, "export {};\n");
 * const alice = await generateSigningKey(), bob = await generateSigningKey();
 * await signModule(dir, alice);
 * await signModule(dir, bob);
 * const r = await verifyModule(dir, { keys: { alice: alice.publicKey, bob: bob.publicKey }, threshold: 2 });
 * console.log(r.signers); // ["alice", "bob"]
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function verifyModule(dir: string, opts: VerifyOptions): Promise<VerificationReport> {
  const r = await inspectModuleSignature(dir, opts);
  if (r.verified) return r;
  throw new SignatureError(r.code ?? "UNSIGNED", r.problems.join("; "), {
    changes: r.changes,
    problems: r.problems,
  });
}
