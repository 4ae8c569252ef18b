/**
 * Signed modules: Ed25519 signatures (WebCrypto) over a module folder's files, name and version, kept in
 * `module.sig.json`, verified against the keys the operator trusts in `blvm.toml`, with an M-of-N
 * threshold and a policy (`allow`, `warn`, `require`). See `docs/SIGNING.md`.
 *
 * @example Sign a module with two keys and verify it 2-of-2
 * ```ts
 * import { generateSigningKey, signModule, verifyModule } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/module.toml`, 'name = "hello"\nversion = "0.1.0"\nentry_point = "main.ts"\n');
 * await Deno.writeTextFile(`${dir}/main.ts`, "export {};\n");
 * const alice = await generateSigningKey(), bob = await generateSigningKey();
 * await signModule(dir, alice);
 * await signModule(dir, bob);
 * const report = await verifyModule(dir, { keys: { alice: alice.publicKey, bob: bob.publicKey }, threshold: 2 });
 * console.log(report.verified, report.signers); // true ["alice", "bob"]
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export { type ContentChange, SignatureError, SignatureErrorCode, type SignatureErrorDetails } from "./errors.ts";
export {
  canonicalText,
  compareBytewise,
  contentHash,
  describeChange,
  diffListings,
  type FileHashes,
  hashModuleFolder,
  SIGNATURE_FILE,
  SIGNATURE_FORMAT,
} from "./content.ts";
export {
  exportPrivateKeyPem,
  formatPublicKey,
  generateSigningKey,
  importPrivateKeyPem,
  importPublicKey,
  isPublicKey,
  normalizePublicKey,
  PUBLIC_KEY_PREFIX,
  publicKeyBytes,
  readPrivateKeyFile,
  shortKey,
  type SigningKey,
  writePrivateKeyFile,
} from "./keys.ts";
export {
  formatSignatureFile,
  MAX_SIGNATURE_FILE_BYTES,
  parseSignatureFile,
  readSignatureFile,
  type SignatureEntry,
  type SignatureFile,
  writeSignatureFile,
} from "./sigfile.ts";
export { signBytes, signModule, type SignResult } from "./sign.ts";
export {
  inspectModuleSignature,
  type ManifestIdentity,
  readManifestIdentity,
  type SignatureCheck,
  type VerificationReport,
  verifyBytes,
  verifyModule,
  type VerifyOptions,
} from "./verify.ts";
export {
  checkModuleSignature,
  describeSignature,
  signatureDowngrade,
  type SignatureOutcome,
  type SigningPolicy,
  type SigningSettings,
} from "./policy.ts";
export {
  DEFAULT_SIGNING,
  type ModuleSigningOverride,
  parseSigningConfig,
  resolveModuleSigning,
} from "../config/signing_config.ts";
