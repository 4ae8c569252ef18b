/**
 * The `[signing]` section of `blvm.toml` (which keys the operator trusts, the policy and the threshold)
 * and each module's `[modules.<name>.signing]` override, resolved into the settings in force for it.
 * Trusted keys come only from here, never from a module or its signature file.
 *
 * @example
 * ```toml
 * [signing]
 * policy = "warn"        # "allow" | "warn" | "require"
 * threshold = 1
 * [signing.keys]
 * alice = "ed25519:…64 hex…"
 * bob = "ed25519:…64 hex…"
 * [modules.lightning.signing]
 * policy = "require"
 * threshold = 2
 * keys = ["alice", "bob"]
 * ```
 *
 * @module
 */
import { z } from "zod";
import {
  ConfigFileError,
  type ConfigIssue,
  describeValue,
  fieldPath,
  issuesFromZod,
  isTable,
  suggestKey,
} from "../manager/config_error.ts";
import { normalizePublicKey } from "../signing/keys.ts";
import type { SigningPolicy, SigningSettings } from "../signing/policy.ts";

/** A module's `[modules.<name>.signing]` table, before it is resolved against `[signing]`. */
export interface ModuleSigningOverride {
  /** The policy for this module; default: `[signing].policy`. */
  policy?: SigningPolicy;
  /** Distinct trusted keys this module needs; default: `[signing].threshold`. */
  threshold?: number;
  /** Names from `[signing.keys]` that count for this module; default: all of them. */
  keys?: string[];
}

/**
 * The settings when `blvm.toml` has no `[signing]`: policy `warn`, threshold 1, no trusted keys.
 *
 * @example
 * ```ts
 * import { DEFAULT_SIGNING } from "@blvm/node";
 * console.log(DEFAULT_SIGNING.policy, DEFAULT_SIGNING.threshold); // warn 1
 * ```
 */
export const DEFAULT_SIGNING: Readonly<SigningSettings> = Object.freeze({
  policy: "warn",
  threshold: 1,
  keys: Object.freeze({}) as Record<string, string>,
});

const KEY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

const policySchema = z.enum(["allow", "warn", "require"], {
  error: (i) => `expected "allow", "warn" or "require", got ${describeValue(i.input)}`,
});

const globalSchema = z.strictObject({
  policy: policySchema.default("warn"),
  threshold: z.int().min(1).optional(),
  keys: z.record(
    z.string().refine((v) => KEY_NAME_RE.test(v), {
      error: (i) =>
        `key name ${describeValue(i.input)} must be letters, digits, '_', '.', '@' or '-', at most 64, ` +
        "starting with a letter or digit",
    }),
    z.string(),
  ).default(() => ({})),
});

/**
 * The zod schema of a `[modules.<name>.signing]` table (used by `node_config.ts`).
 *
 * @example
 * ```ts
 * import { moduleSigningSchema } from "./signing_config.ts";
 * console.log(moduleSigningSchema.safeParse({ policy: "require", keys: ["alice"] }).success); // true
 * ```
 */
export const moduleSigningSchema: z.ZodType<ModuleSigningOverride> = z.strictObject({
  policy: policySchema.optional(),
  threshold: z.int().min(1).optional(),
  keys: z.array(z.string()).optional(),
});

const keysWord = (n: number) => `${n} trusted key${n === 1 ? "" : "s"}`;

/**
 * Check the `[signing]` table of a parsed `blvm.toml`.
 *
 * @param section The table (`undefined` when absent: {@link DEFAULT_SIGNING}).
 * @param file The file, for error messages.
 * @returns Policy, threshold and trusted keys (hex in lowercase).
 * @throws {ConfigFileError} naming every bad key: an unknown policy, a malformed public key, the same key
 * under two names, a threshold above the number of keys, or `policy = "require"` without keys.
 *
 * @example
 * ```ts
 * import { parseSigningConfig } from "@blvm/node";
 * const s = parseSigningConfig({ policy: "require", keys: { alice: `ed25519:${"ab".repeat(32)}` } }, "blvm.toml");
 * console.log(s.policy, s.threshold, Object.keys(s.keys)); // require 1 ["alice"]
 * ```
 */
export function parseSigningConfig(section: unknown, file: string): SigningSettings {
  if (section === undefined) return { ...DEFAULT_SIGNING, keys: {} };
  if (!isTable(section)) {
    throw new ConfigFileError(file, [
      { file, field: "signing", message: `expected a [signing] table, got ${describeValue(section)}` },
    ]);
  }
  const r = globalSchema.safeParse(section, { reportInput: true });
  if (!r.success) throw new ConfigFileError(file, issuesFromZod(file, r.error, "signing"));
  const issues: ConfigIssue[] = [];
  const keys: Record<string, string> = {};
  const owner = new Map<string, string>();
  for (const [name, value] of Object.entries(r.data.keys)) {
    const field = fieldPath(["keys", name], "signing");
    try {
      const key = normalizePublicKey(value);
      if (owner.has(key)) {
        issues.push({ file, field, message: `the same key as '${owner.get(key)}'; list each key once` });
        continue;
      }
      owner.set(key, name);
      keys[name] = key;
    } catch (e) {
      issues.push({ file, field, message: (e as Error).message });
    }
  }
  const policy = r.data.policy;
  const threshold = r.data.threshold ?? 1;
  const count = Object.keys(r.data.keys).length;
  if (threshold > 1 && threshold > count) {
    issues.push({
      file,
      field: "signing.threshold",
      message: `${threshold} is more than the ${keysWord(count)} in [signing.keys]`,
    });
  }
  if (policy === "require" && count === 0) {
    issues.push({
      file,
      field: "signing.policy",
      message: `"require" needs at least one trusted key in [signing.keys] (create one with: deno task ctl keygen)`,
    });
  }
  if (issues.length) throw new ConfigFileError(file, issues);
  return { policy, threshold, keys };
}

/**
 * The signing settings in force for one module: its `[modules.<name>.signing]` over `[signing]`.
 *
 * @param global The checked `[signing]` settings.
 * @param own The module's override, if it has one.
 * @param file The file, for problems.
 * @param field The override's field path, such as `modules.lightning.signing`.
 * @param issues Problems are appended here: a key name not in `[signing.keys]`, a threshold above the
 * keys that count, or `require` with no keys.
 * @returns The settings (a copy; never shares objects with `global`).
 *
 * @example
 * ```ts
 * import { parseSigningConfig, resolveModuleSigning } from "@blvm/node";
 * const k = (b: string) => `ed25519:${b.repeat(64)}`;
 * const global = parseSigningConfig({ keys: { alice: k("a"), bob: k("b") } }, "blvm.toml");
 * const issues: { file: string; field: string; message: string }[] = [];
 * const s = resolveModuleSigning(global, { policy: "require", keys: ["bob"] }, "blvm.toml", "modules.ln.signing", issues);
 * console.log(s.policy, Object.keys(s.keys), issues.length); // require ["bob"] 0
 * ```
 */
export function resolveModuleSigning(
  global: SigningSettings,
  own: ModuleSigningOverride | undefined,
  file: string,
  field: string,
  issues: ConfigIssue[],
): SigningSettings {
  if (!own) return { ...global, keys: { ...global.keys } };
  const known = Object.keys(global.keys);
  let keys: Record<string, string> = { ...global.keys };
  if (own.keys) {
    keys = {};
    own.keys.forEach((name, i) => {
      if (Object.hasOwn(global.keys, name)) keys[name] = global.keys[name];
      else {
        const near = suggestKey(name, known);
        const hint = near
          ? ` (did you mean '${near}'?)`
          : known.length
          ? ` (known: ${known.join(", ")})`
          : " ([signing.keys] is empty)";
        issues.push({
          file,
          field: `${field}.keys[${i}]`,
          message: `'${name}' is not a key name in [signing.keys]${hint}`,
        });
      }
    });
  }
  const policy = own.policy ?? global.policy;
  const threshold = own.threshold ?? global.threshold;
  const count = Object.keys(keys).length;
  if (threshold > 1 && threshold > count) {
    const from = own.threshold !== undefined ? "" : " (from [signing].threshold)";
    issues.push({
      file,
      field: own.threshold !== undefined ? `${field}.threshold` : `${field}.keys`,
      message: `the threshold ${threshold}${from} is more than the ${keysWord(count)} that count for this module`,
    });
  }
  if (policy === "require" && count === 0 && (own.policy !== undefined || own.keys !== undefined)) {
    issues.push({
      file,
      field: own.policy !== undefined ? `${field}.policy` : `${field}.keys`,
      message: `"require" needs at least one trusted key, and none counts for this module`,
    });
  }
  return { policy, threshold, keys };
}
