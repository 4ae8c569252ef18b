/**
 * Secret redaction for configuration the node shows: the `ConfigLoaded` event, `ctl config` and logs.
 *
 * A value is a secret when its key looks like one (password, passphrase, token, secret, private key,
 * api key, access key, credential, auth, rpcauth, cookie, macaroon, mnemonic, seed, seed phrase, xprv,
 * private key, hmac key, signing key, nsec, pin, sk), when it is under a module's `env` table
 * (environment handed to a module usually carries keys), or when its dotted path is marked: listed in
 * the top-level `secret_keys` of `blvm.toml`, or declared `secret = true` in a module's `[config_schema]`.
 *
 * Other strings (and table keys) are shown with the credentials inside them replaced, see
 * {@link redactText}: URL userinfo, `key=value` / `key: value` pairs and query parameters whose key
 * looks secret, `Bearer` / `Basic` credentials, extended private keys and WIF private keys.
 *
 * @module
 */
/** What every redacted value is replaced with. */
export const REDACTED = "[redacted]";

const SECRET_WORDS = new Set([
  "pass",
  "passwd",
  "auth",
  "authorization",
  "cookie",
  "mnemonic",
  "xprv",
  "privkey",
  "rpcauth",
  "macaroon",
  "nsec",
  "pin",
  "sk",
]);
/** Words that make a secret only as the last word: `rpc_token`, `wallet_seed`, but not `max_tokens` or `seed_nodes`. */
const SECRET_LAST = new Set(["token", "seed", "phrase"]);
const SECRET_PART =
  /password|passphrase|secret|privatekey|privkey|apikey|accesskey|credential|hmackey|signingkey|seedphrase/;

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
 * A deep copy of `value` with every secret replaced by {@link REDACTED}: values under secret names or
 * marked paths as a whole, credentials inside other strings (and table keys) with {@link redactText}.
 * Dates become RFC 3339 strings and bigints decimal strings, so the result is JSON-safe.
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
 * console.log(redactConfig({ upstream: ["http://bob:hunter2@host/"] })); // { upstream: ["http://bob:[redacted]@host/"] }
 * ```
 */
export function redactConfig(value: unknown, marked: Iterable<string> = []): unknown {
  const paths = new Set(marked);
  const walk = (v: unknown, path: string[]): unknown => {
    if (v instanceof Date) return v.toISOString();
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "string") return redactText(v);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, String(i)]));
    if (typeof v !== "object" || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = [...path, k];
      const envTable = k === "env" && path.length >= 2 && path[path.length - 2] === "modules";
      // `secret_keys` lists which paths are secret; the list itself is not.
      const secret = (isSecretName(k) && !(path.length === 0 && k === "secret_keys")) || paths.has(p.join("."));
      out[redactText(k)] = secret ? REDACTED : envTable ? redactAll(x) : walk(x, p);
    }
    return out;
  };
  return walk(value, []);
}

function redactAll(v: unknown): unknown {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return REDACTED;
  return Object.fromEntries(Object.keys(v).map((k) => [k, REDACTED]));
}

const B58 = "1-9A-HJ-NP-Za-km-z";
/** `scheme://userinfo@`: the userinfo runs to the last `@` before the path, query or fragment. */
const URL_USERINFO = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^\s/?#"'<>\\]*)@/g;
/** `Bearer <token>` / `Basic <base64>` outside a `key: value` pair. */
const AUTH_SCHEME = /\b(Bearer|Basic)([ \t]+)([A-Za-z0-9\-._~+/]+=*)/gi;
/** The key and separator of `key=value`, `key: value`, `?key=value&`, `"key": "value"`. */
const KEY_SEP = /(?<!\w)(["']?)([A-Za-z_][\w-]*)\1[ \t]*[=:][ \t]*/g;
/** A command-line flag and its value: `--rpc-password VALUE`, `-rpcauth VALUE`. */
const FLAG_VALUE = /(?<![\w-])(--?([A-Za-z][\w-]*))([ \t]+)([^\s-]\S*)/g;
const VALUE_PREFIX = /^(?:Bearer|Basic|Digest|Token)[ \t]+/i;
/** BIP32 extended private keys (mainnet, testnet, and the SLIP-132 variants). */
const XPRV = new RegExp(`(?<![${B58}])[xtyzuvYZUV]prv[${B58}]{70,}`, "g");
/** PEM blocks of private keys, JSON web tokens, and Nostr secret keys. */
const PEM_PRIVATE = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----/g;
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g;
const NSEC = /\bnsec1[02-9ac-hj-np-z]{58}\b/g;
/** WIF private keys: 51 characters from `5` / `9`, or 52 (compressed) from `K`, `L` / `c`. */
const WIF = new RegExp(`(?<![${B58}])(?:[59][${B58}]{50}|[KLc][${B58}]{51})(?![${B58}])`, "g");

function userinfo(_m: string, scheme: string, info: string): string {
  if (info === "") return `${scheme}@`;
  const colon = info.indexOf(":");
  if (colon < 0) return `${scheme}${REDACTED}@`;
  return colon === info.length - 1 ? `${scheme}${info}@` : `${scheme}${info.slice(0, colon)}:${REDACTED}@`;
}

/** A Bearer token is long, or has a digit or a symbol; Basic credentials decode to `user:password`. */
function authScheme(m: string, scheme: string, space: string, token: string): string {
  let secret: boolean;
  if (scheme.toLowerCase() === "bearer") {
    secret = token.length >= 8 && (token.length >= 20 || /[\d\-._~+/=]/.test(token));
  } else {
    try {
      secret = atob(token).includes(":");
    } catch {
      secret = false;
    }
  }
  return secret ? `${scheme}${space}${REDACTED}` : m;
}

/** Replace the values of `key=value` pairs whose key looks secret, scanning past the others. */
function keyValues(text: string): string {
  let out = "";
  let from = 0;
  KEY_SEP.lastIndex = 0;
  for (let m = KEY_SEP.exec(text); m; m = KEY_SEP.exec(text)) {
    if (!isSecretName(m[2])) continue;
    let at = KEY_SEP.lastIndex;
    const prefix = VALUE_PREFIX.exec(text.slice(at))?.[0] ?? "";
    at += prefix.length;
    const rest = text.slice(at);
    if (rest.startsWith(REDACTED)) continue;
    // Quoted: up to the closing quote (or, unclosed, like an unquoted value); unquoted: up to a separator.
    const quote = rest[0] === '"' || rest[0] === "'" ? rest[0] : "";
    const end = quote ? rest.indexOf(quote, 1) : -1;
    const closed = end > 1;
    const length = closed ? end + 1 : quote.length + /^[^\s&;,"']*/.exec(rest.slice(quote.length))![0].length;
    if (length === quote.length || (quote && end === 1)) continue;
    out += text.slice(from, at) + quote + REDACTED + (closed ? quote : "");
    from = at + length;
    KEY_SEP.lastIndex = from;
  }
  return out + text.slice(from);
}

/**
 * `text` with the credentials inside it replaced by {@link REDACTED}, the rest kept:
 *
 * - the userinfo of a URL of any scheme: `scheme://user:[redacted]@host`, and a lone
 *   `scheme://[redacted]@host`;
 * - the value of a `key=value` or `key: value` pair, query parameter, quoted JSON member or command-line
 *   flag whose key looks secret ({@link isSecretName}): `password=[redacted]`, `?api_key=[redacted]&page=2`,
 *   `--rpc-password [redacted]`;
 * - `Bearer <token>` and `Basic <base64 user:password>`: `Bearer [redacted]`;
 * - BIP32 extended private keys (`xprv…`, `tprv…`, `yprv…`, `zprv…`, …), WIF private keys, PEM private key
 *   blocks, JSON web tokens and Nostr secret keys (`nsec1…`).
 *
 * @param text Any string.
 * @returns The string, redacted.
 *
 * @example
 * ```ts
 * import { redactText } from "./redact.ts";
 * console.log(redactText("postgres://app:hunter2@db/main?sslmode=require")); // "postgres://app:[redacted]@db/main?sslmode=require"
 * console.log(redactText("host=db password=hunter2 dbname=main")); // "host=db password=[redacted] dbname=main"
 * console.log(redactText("https://example.com/a?max_tokens=5")); // unchanged
 * ```
 */
export function redactText(text: string): string {
  if (text.length < 5) return text;
  let s = text.replace(URL_USERINFO, userinfo).replace(AUTH_SCHEME, authScheme);
  s = keyValues(s).replace(
    FLAG_VALUE,
    (m, flag, name, space, value) =>
      isSecretName(name) && !value.startsWith(REDACTED) ? `${flag}${space}${REDACTED}` : m,
  );
  return s.replace(PEM_PRIVATE, REDACTED).replace(JWT, REDACTED).replace(NSEC, REDACTED)
    .replace(XPRV, REDACTED).replace(WIF, REDACTED);
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
