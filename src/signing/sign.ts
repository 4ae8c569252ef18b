/**
 * Signing a module folder: list and hash its files, sign the canonical text with an Ed25519 key and
 * add the signature to `module.sig.json`. Signing unchanged content again with another key adds a
 * signature (for M-of-N); with the same key it replaces that key's signature; if the content changed,
 * the old signatures are dropped.
 *
 * @module
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { readManifest } from "../manager/manifest.ts";
import { canonicalText, contentHash, type FileHashes, hashModuleFolder, SIGNATURE_FORMAT } from "./content.ts";
import { SignatureError } from "./errors.ts";
import type { SigningKey } from "./keys.ts";
import { readSignatureFile, type SignatureEntry, type SignatureFile, writeSignatureFile } from "./sigfile.ts";

/** What {@link signModule} did. */
export interface SignResult {
  /** The signature file written. */
  file: string;
  /** The module name signed. */
  name: string;
  /** The module version signed. */
  version: string;
  /** `sha256:<hex>` of the canonical text (see `contentHash`). */
  content_hash: string;
  /** How many files are covered. */
  files: number;
  /** The signer's public key. */
  key: string;
  /** `added`: a new signature; `replaced`: this key had signed the same content before. */
  action: "added" | "replaced";
  /** Keys whose signatures were dropped because the content changed since they signed. */
  dropped: string[];
  /** Every key that has signed now, in file order. */
  signers: string[];
}

const utf8 = new TextEncoder();

/**
 * Sign bytes with an Ed25519 private key.
 *
 * @param key The private key.
 * @param message The bytes.
 * @returns The 64-byte signature as 128 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { generateSigningKey, signBytes } from "@blvm/node";
 * const sig = await signBytes(await generateSigningKey(), new TextEncoder().encode("hi"));
 * console.log(sig.length); // 128
 * ```
 */
export async function signBytes(key: SigningKey, message: Uint8Array): Promise<string> {
  return bytesToHex(
    new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, new Uint8Array(message))),
  );
}

const sameListing = (a: FileHashes, b: FileHashes) => {
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
};

/**
 * Sign a module folder with a key and write `module.sig.json`. The manifest must be valid
 * (`readManifest`): its name and version are signed with the files.
 *
 * @param dir The module folder.
 * @param key The signer's key.
 * @param opts `now`: the time recorded as `signed_at`. Default: the current time.
 * @returns What was signed and what happened to earlier signatures.
 * @throws {SignatureError} `LINK_IN_FOLDER` or `BAD_PATH` naming a file that cannot be signed; `MALFORMED`
 * if an existing `module.sig.json` is broken (delete it to start over).
 * @throws {ConfigFileError} if `module.toml` is invalid.
 *
 * @example
 * ```ts
 * import { generateSigningKey, signModule } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/module.toml`, 'name = "hello"\nversion = "0.1.0"\nentry_point = "main.ts"\n');
 * await Deno.writeTextFile(`${dir}/main.ts`, "export {};\n");
 * const r = await signModule(dir, await generateSigningKey());
 * console.log(r.name, r.version, r.files, r.action); // hello 0.1.0 2 added
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function signModule(dir: string, key: SigningKey, opts: { now?: Date } = {}): Promise<SignResult> {
  const loaded = await readManifest(dir);
  const { name, version } = loaded.manifest;
  const files = await hashModuleFolder(loaded.dir);
  if (files["module.toml"] !== loaded.hash) {
    throw new SignatureError("CONTENT_CHANGED", "module.toml changed while the module was being signed; try again", {
      changes: [{ path: "module.toml", change: "changed" }],
    });
  }
  let previous: SignatureFile | undefined;
  try {
    previous = await readSignatureFile(loaded.dir);
  } catch (e) {
    if (!(e instanceof SignatureError)) throw e;
    throw new SignatureError(e.code, `${e.message} (delete it to sign this module afresh)`, e.details, { cause: e });
  }
  const same = previous !== undefined && previous.name === name && previous.version === version &&
    sameListing(previous.files, files);
  const kept: SignatureEntry[] = same ? previous!.signatures : [];
  const dropped = same ? [] : [...new Set(previous?.signatures.map((s) => s.key) ?? [])];
  const entry: SignatureEntry = {
    key: key.publicKey,
    signature: await signBytes(key, utf8.encode(canonicalText(name, version, files))),
    signed_at: (opts.now ?? new Date()).toISOString(),
  };
  const replaced = kept.some((s) => s.key === key.publicKey);
  const signatures = replaced
    ? kept.filter((s, i) => s.key !== key.publicKey || kept.findIndex((t) => t.key === s.key) === i)
      .map((s) => s.key === key.publicKey ? entry : s)
    : [...kept, entry];
  const file = await writeSignatureFile(loaded.dir, { format: SIGNATURE_FORMAT, name, version, files, signatures });
  return {
    file,
    name,
    version,
    content_hash: contentHash(name, version, files),
    files: Object.keys(files).length,
    key: key.publicKey,
    action: replaced ? "replaced" : "added",
    dropped,
    signers: signatures.map((s) => s.key),
  };
}
