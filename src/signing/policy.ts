/**
 * The operator's signing policy applied to one module: check its folder against the trusted keys and
 * threshold in force for it, and say what came out, for the manager and `ctl inspect`.
 *
 * @module
 */
import type { SignatureErrorCode } from "./errors.ts";
import { inspectModuleSignature, type ManifestIdentity } from "./verify.ts";

/**
 * What the host does with a module's signature: `allow` does not check; `warn` checks, logs loudly
 * and still runs the module; `require` refuses to run a module that is not verified.
 */
export type SigningPolicy = "allow" | "warn" | "require";

/** The signing settings in force for one module (or, in `[signing]`, for every module). */
export interface SigningSettings {
  /** What happens to a module that is not verified. */
  policy: SigningPolicy;
  /** Distinct trusted keys that must have signed (at least 1). */
  threshold: number;
  /** Trusted keys that count: operator's name → `ed25519:<hex>`. */
  keys: Record<string, string>;
}

/** The outcome of a module's signature check, kept on the module and shown by `ctl inspect`. */
export interface SignatureOutcome {
  /**
   * `verified`: enough trusted keys signed exactly these files; `unsigned`: no signature; `invalid`:
   * signed, but something is wrong (see `detail`); `unchecked`: the policy is `allow`.
   */
  status: "verified" | "unsigned" | "invalid" | "unchecked";
  /** The policy that applied. */
  policy: SigningPolicy;
  /** Names of the trusted keys whose valid signatures count. */
  keys: string[];
  /** Why it is not verified: every problem, separated by semicolons. */
  detail?: string;
  /** The main reason it is not verified. */
  code?: SignatureErrorCode | "ERROR";
  /** `sha256:<hex>` of the folder's content when it was checked. */
  content_hash?: string;
}

/**
 * Check a module folder under the given settings. A folder that cannot be read at all (an I/O error)
 * comes out `invalid`, with the error in `detail`.
 *
 * @param dir The module folder.
 * @param settings Policy, threshold and trusted keys in force for the module.
 * @param manifest Name, version and `module.toml` hash as the host read them.
 * @returns The outcome; with policy `allow`, `unchecked` without reading anything.
 *
 * @example
 * ```ts
 * import { checkModuleSignature } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/module.toml`, 'name = "hello"\nversion = "0.1.0"\n');
 * const o = await checkModuleSignature(dir, { policy: "warn", threshold: 1, keys: {} });
 * console.log(o.status, o.detail); // unsigned the module is not signed: it has no module.sig.json
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function checkModuleSignature(
  dir: string,
  settings: SigningSettings,
  manifest?: ManifestIdentity,
): Promise<SignatureOutcome> {
  const { policy } = settings;
  if (policy === "allow") return { status: "unchecked", policy, keys: [] };
  try {
    const r = await inspectModuleSignature(dir, { keys: settings.keys, threshold: settings.threshold, manifest });
    const base = { policy, keys: r.signers, ...(r.content_hash ? { content_hash: r.content_hash } : {}) };
    if (r.verified) return { status: "verified", ...base };
    return {
      status: r.code === "UNSIGNED" ? "unsigned" : "invalid",
      ...base,
      detail: r.problems.join("; "),
      code: r.code ?? "ERROR",
    };
  } catch (e) {
    return { status: "invalid", policy, keys: [], detail: `cannot check: ${(e as Error).message}`, code: "ERROR" };
  }
}

/**
 * Whether a reload would replace a verified module with one that is not: the `kind:value` entry a held
 * reload waits for approval of (like a permission widening), or `undefined`.
 *
 * @param before The running version's outcome.
 * @param after The new version's outcome.
 * @returns `signature:<new status>` when `before` is verified and `after` is not; otherwise `undefined`.
 *
 * @example
 * ```ts
 * import { signatureDowngrade } from "@blvm/node";
 * console.log(signatureDowngrade(
 *   { status: "verified", policy: "warn", keys: ["alice"] },
 *   { status: "invalid", policy: "warn", keys: [], detail: "main.ts changed after signing" },
 * )); // "signature:invalid"
 * ```
 */
export function signatureDowngrade(
  before: SignatureOutcome | undefined,
  after: SignatureOutcome | undefined,
): string | undefined {
  if (before?.status !== "verified" || after?.status === "verified") return undefined;
  return `signature:${after?.status ?? "unchecked"}`;
}

/**
 * An outcome in words, for logs and the CLI.
 *
 * @param o The outcome.
 * @returns For example `verified (alice, bob)`, `unsigned: …` or `not checked (policy allow)`.
 *
 * @example
 * ```ts
 * import { describeSignature } from "@blvm/node";
 * console.log(describeSignature({ status: "verified", policy: "require", keys: ["alice"] })); // "verified (alice)"
 * ```
 */
export function describeSignature(o: SignatureOutcome): string {
  if (o.status === "verified") return `verified (${o.keys.join(", ")})`;
  if (o.status === "unchecked") return `not checked (policy ${o.policy})`;
  return `${o.status}: ${o.detail ?? ""}`;
}
