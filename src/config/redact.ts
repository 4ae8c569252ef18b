/**
 * Secret redaction for configuration the node shows: the `ConfigLoaded` event, `ctl inspect` and logs.
 *
 * A value is a secret when its key looks like one (password, passphrase, token, secret, private key,
 * api key, credential, auth, cookie, mnemonic, seed, xprv), when it is under a module's `env` table
 * (environment handed to a module usually carries keys), or when its dotted path is marked: listed in
 * the top-level `secret_keys` of `blvm.toml`, or declared `secret = true` in a module's `[config_schema]`.
 *
 * @module
 */

/** What every redacted value is replaced with. */
export const REDACTED = "[redacted]";

const SECRET_WORDS = new Set(["pass", "passwd", "auth", "authorization", "cookie", "mnemonic", "xprv", "privkey"]);
/** Words that make a secret only as the last word: `rpc_token`, `wallet_seed`, but not `max_tokens` or `seed_nodes`. */
const SECRET_LAST = new Set(["token", "seed"]);
const SECRET_PART = /password|passphrase|secret|privatekey|apikey|credential/;

/**
 * Whether a key name looks like it holds a secret.
 *
 * @param key The key, without its path.
 * @returns `true` for names like `password`, `rpc_token`, `private_key`, `api_key`.
 *
 * @example
 * ```ts
 * import { isSecretName } from "./redact.ts";
 * console.log(isSecretName("rpc_password"), isSecretName("webhook_token"), isSecretName("data_dir")); // true true false
 * ```
 */
export function isSecretName(key: string): boolean {
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase().split(/[_\-.]+/);
  return SECRET_PART.test(words.join("")) || words.some((w) => SECRET_WORDS.has(w)) ||
    SECRET_LAST.has(words[words.length - 1]);
}

/**
 * A deep copy of `value` with every secret replaced by {@link REDACTED}. Dates become RFC 3339
 * strings and bigints decimal strings, so the result is JSON-safe.
 *
 * @param value The configuration (any JSON-like value).
 * @param marked Dotted paths marked secret (`modules.alerts.config.webhook_url`).
 * @returns The redacted copy.
 *
 * @example
 * ```ts
 * import { redactConfig } from "./redact.ts";
 * const out = redactConfig({ node: { rpc_password: "hunter2", port: 1 }, x: { url: "u" } }, ["x.url"]);
 * console.log(JSON.stringify(out)); // {"node":{"rpc_password":"[redacted]","port":1},"x":{"url":"[redacted]"}}
 * ```
 */
export function redactConfig(value: unknown, marked: Iterable<string> = []): unknown {
  const paths = new Set(marked);
  const walk = (v: unknown, path: string[]): unknown => {
    if (v instanceof Date) return v.toISOString();
    if (typeof v === "bigint") return v.toString();
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, String(i)]));
    if (typeof v !== "object" || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = [...path, k];
      const envTable = k === "env" && path.length >= 2 && path[path.length - 2] === "modules";
      // `secret_keys` lists which paths are secret; the list itself is not.
      const secret = (isSecretName(k) && !(path.length === 0 && k === "secret_keys")) || paths.has(p.join("."));
      out[k] = secret ? REDACTED : envTable ? redactAll(x) : walk(x, p);
    }
    return out;
  };
  return walk(value, []);
}

function redactAll(v: unknown): unknown {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return REDACTED;
  return Object.fromEntries(Object.keys(v).map((k) => [k, REDACTED]));
}

/**
 * The top-level sections whose content differs between two parsed configurations, sorted.
 *
 * @param before The configuration in force.
 * @param after The new one.
 * @returns Section names added, removed or changed.
 *
 * @example
 * ```ts
 * import { changedSections } from "./redact.ts";
 * console.log(changedSections({ node: { a: 1 }, modules: {} }, { node: { a: 2 }, modules: {}, janitor: {} })); // ["janitor", "node"]
 * ```
 */
export function changedSections(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => stable(before[k]) !== stable(after[k])).sort();
}

/** JSON with sorted keys, so that two equal tables compare equal whatever their key order. */
export function stable(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (typeof x === "bigint") return `${x}n`;
    if (x && typeof x === "object" && !Array.isArray(x) && !(x instanceof Date)) {
      return Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]));
    }
    return x;
  }) ?? "undefined";
}
