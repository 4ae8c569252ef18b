/**
 * Ed25519 keys through WebCrypto: generate, import and export private keys (PKCS#8 PEM files), and
 * parse public keys written `ed25519:<64 hex>` (the raw 32-byte key).
 *
 * @module
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { dirname, resolve } from "node:path";
import { SignatureError } from "./errors.ts";

/**
 * The prefix of a public key string.
 *
 * @example
 * ```ts
 * import { generateSigningKey, PUBLIC_KEY_PREFIX } from "@blvm/node";
 * console.log((await generateSigningKey()).publicKey.startsWith(PUBLIC_KEY_PREFIX)); // true
 * ```
 */
export const PUBLIC_KEY_PREFIX = "ed25519:";

const PUBLIC_KEY_RE = /^ed25519:[0-9a-fA-F]{64}$/;
const PEM_LABEL = "PRIVATE KEY";

/** A private key and its public key. */
export interface SigningKey {
  /** The WebCrypto private key (Ed25519, usage `sign`). */
  privateKey: CryptoKey;
  /** The public key as `ed25519:<64 lowercase hex>`. */
  publicKey: string;
}

/**
 * Whether a string is a public key `ed25519:<64 hex digits>`.
 *
 * @param s Any string.
 * @returns `true` if it has that form.
 *
 * @example
 * ```ts
 * import { isPublicKey } from "@blvm/node";
 * console.log(isPublicKey(`ed25519:${"ab".repeat(32)}`), isPublicKey("ed25519:abc")); // true false
 * ```
 */
export function isPublicKey(s: string): boolean {
  return PUBLIC_KEY_RE.test(s);
}

/**
 * Check a public key string and return it in canonical form (lowercase hex).
 *
 * @param s `ed25519:<64 hex digits>`.
 * @returns The same key, hex in lowercase.
 * @throws {SignatureError} `BAD_KEY` saying what is wrong.
 *
 * @example
 * ```ts
 * import { normalizePublicKey } from "@blvm/node";
 * console.log(normalizePublicKey(`ed25519:${"AB".repeat(32)}`) === `ed25519:${"ab".repeat(32)}`); // true
 * ```
 */
export function normalizePublicKey(s: string): string {
  if (isPublicKey(s)) return s.toLowerCase();
  const why = typeof s !== "string"
    ? `expected a string, got ${typeof s}`
    : !s.startsWith(PUBLIC_KEY_PREFIX)
    ? `must start with '${PUBLIC_KEY_PREFIX}'`
    : `must be '${PUBLIC_KEY_PREFIX}' followed by 64 hex digits (a raw 32-byte Ed25519 key), got ${
      s.length - PUBLIC_KEY_PREFIX.length
    } characters`;
  throw new SignatureError("BAD_KEY", `Invalid public key ${JSON.stringify(s)}: ${why}`);
}

/**
 * The raw 32 bytes of a public key string.
 *
 * @param s `ed25519:<64 hex digits>`.
 * @returns The raw key.
 * @throws {SignatureError} `BAD_KEY` if it is not of that form.
 *
 * @example
 * ```ts
 * import { publicKeyBytes } from "@blvm/node";
 * console.log(publicKeyBytes(`ed25519:${"01".repeat(32)}`).length); // 32
 * ```
 */
export function publicKeyBytes(s: string): Uint8Array {
  return hexToBytes(normalizePublicKey(s).slice(PUBLIC_KEY_PREFIX.length));
}

/**
 * A raw 32-byte Ed25519 public key as a string.
 *
 * @param raw The raw key.
 * @returns `ed25519:<64 lowercase hex>`.
 * @throws {SignatureError} `BAD_KEY` if it is not 32 bytes.
 *
 * @example
 * ```ts
 * import { formatPublicKey } from "@blvm/node";
 * console.log(formatPublicKey(new Uint8Array(32)) === `ed25519:${"0".repeat(64)}`); // true
 * ```
 */
export function formatPublicKey(raw: Uint8Array): string {
  if (raw.length !== 32) throw new SignatureError("BAD_KEY", `An Ed25519 public key has 32 bytes, got ${raw.length}`);
  return PUBLIC_KEY_PREFIX + bytesToHex(raw);
}

/**
 * A short form of a public key for messages: `ed25519:1a2b3c4d…9e8f`.
 *
 * @param key `ed25519:<64 hex>`.
 * @returns The first 8 and last 4 hex digits.
 *
 * @example
 * ```ts
 * import { shortKey } from "@blvm/node";
 * console.log(shortKey(`ed25519:${"0123456789abcdef".repeat(4)}`)); // "ed25519:01234567…cdef"
 * ```
 */
export function shortKey(key: string): string {
  return isPublicKey(key) ? `${key.slice(0, 16)}…${key.slice(-4)}` : key;
}

/**
 * Import a public key string for verification.
 *
 * @param s `ed25519:<64 hex digits>`.
 * @returns A WebCrypto Ed25519 public key (usage `verify`).
 * @throws {SignatureError} `BAD_KEY` if the string is not a key WebCrypto accepts.
 *
 * @example
 * ```ts
 * import { generateSigningKey, importPublicKey } from "@blvm/node";
 * const k = await generateSigningKey();
 * console.log((await importPublicKey(k.publicKey)).type); // "public"
 * ```
 */
export async function importPublicKey(s: string): Promise<CryptoKey> {
  const raw = new Uint8Array(publicKeyBytes(s));
  try {
    return await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, true, ["verify"]);
  } catch (e) {
    throw new SignatureError("BAD_KEY", `Invalid public key ${s}: ${(e as Error).message}`, {}, { cause: e });
  }
}

async function publicOf(privateKey: CryptoKey): Promise<string> {
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  if (typeof jwk.x !== "string") throw new SignatureError("BAD_KEY", "The private key does not carry its public key");
  const b64 = jwk.x.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(b64 + "=".repeat((4 - b64.length % 4) % 4));
  return formatPublicKey(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/**
 * Generate a new Ed25519 key pair.
 *
 * @returns The private key (extractable, so it can be written to a file) and its public key string.
 *
 * @example
 * ```ts
 * import { generateSigningKey, isPublicKey } from "@blvm/node";
 * const key = await generateSigningKey();
 * console.log(isPublicKey(key.publicKey)); // true
 * ```
 */
export async function generateSigningKey(): Promise<SigningKey> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey: formatPublicKey(raw) };
}

/**
 * Write a private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the format OpenSSL reads
 * (`openssl pkey -in key.pem -noout -text`).
 *
 * @param key The key.
 * @returns The PEM text, ending with a newline.
 *
 * @example
 * ```ts
 * import { exportPrivateKeyPem, generateSigningKey } from "@blvm/node";
 * const pem = await exportPrivateKeyPem(await generateSigningKey());
 * console.log(pem.split("\n")[0]); // "-----BEGIN PRIVATE KEY-----"
 * ```
 */
export async function exportPrivateKeyPem(key: SigningKey): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", key.privateKey));
  const b64 = btoa(String.fromCharCode(...der));
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${PEM_LABEL}-----\n${lines.join("\n")}\n-----END ${PEM_LABEL}-----\n`;
}

/**
 * Read a PKCS#8 PEM Ed25519 private key.
 *
 * @param pem The PEM text (`-----BEGIN PRIVATE KEY-----` … `-----END PRIVATE KEY-----`).
 * @returns The key and its public key.
 * @throws {SignatureError} `BAD_KEY` if it is not a PEM Ed25519 private key.
 *
 * @example
 * ```ts
 * import { exportPrivateKeyPem, generateSigningKey, importPrivateKeyPem } from "@blvm/node";
 * const key = await generateSigningKey();
 * const again = await importPrivateKeyPem(await exportPrivateKeyPem(key));
 * console.log(again.publicKey === key.publicKey); // true
 * ```
 */
export async function importPrivateKeyPem(pem: string): Promise<SigningKey> {
  const m = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!m) {
    throw new SignatureError(
      "BAD_KEY",
      "Not a PKCS#8 PEM private key: expected '-----BEGIN PRIVATE KEY-----' (write one with: deno task ctl keygen)",
    );
  }
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch (e) {
    throw new SignatureError("BAD_KEY", "The PEM private key is not valid base64", {}, { cause: e });
  }
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
  } catch (e) {
    throw new SignatureError(
      "BAD_KEY",
      `The PEM private key is not an Ed25519 key: ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
  return { privateKey, publicKey: await publicOf(privateKey) };
}

/**
 * Read a private key file written by {@link writePrivateKeyFile} (or `openssl genpkey -algorithm ed25519`).
 *
 * @param path The file.
 * @returns The key, and `looseMode` set when group or others may read the file (the caller should warn).
 * @throws {SignatureError} `BAD_KEY` if the file is not an Ed25519 PEM private key (the message names it).
 * @throws {Deno.errors.NotFound} if the file does not exist.
 *
 * @example
 * ```ts
 * import { generateSigningKey, readPrivateKeyFile, writePrivateKeyFile } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * const key = await generateSigningKey();
 * await writePrivateKeyFile(`${dir}/alice.pem`, key);
 * const { key: again, looseMode } = await readPrivateKeyFile(`${dir}/alice.pem`);
 * console.log(again.publicKey === key.publicKey, looseMode); // true false
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readPrivateKeyFile(path: string): Promise<{ key: SigningKey; looseMode: boolean }> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new SignatureError("BAD_KEY", `${path} is not a regular file`, { path });
  if (info.size > 64 * 1024) throw new SignatureError("BAD_KEY", `${path} is too large for a key file`, { path });
  try {
    const key = await importPrivateKeyPem(await Deno.readTextFile(path));
    return { key, looseMode: info.mode !== null && (info.mode & 0o077) !== 0 };
  } catch (e) {
    if (!(e instanceof SignatureError)) throw e;
    throw new SignatureError(e.code, `${path}: ${e.message}`, { path }, { cause: e });
  }
}

/**
 * Write a private key to a PEM file with mode 0600, atomically (a temporary file renamed over it).
 *
 * @param path The file to write.
 * @param key The key.
 * @param opts `force`: replace an existing file. Default: refuse.
 * @returns The absolute path written.
 * @throws {Deno.errors.AlreadyExists} if the file exists and `force` is not set.
 * @throws {Deno.errors.NotFound} if its folder does not exist.
 *
 * @example
 * ```ts
 * import { generateSigningKey, writePrivateKeyFile } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * await writePrivateKeyFile(`${dir}/k.pem`, await generateSigningKey());
 * console.log(((await Deno.stat(`${dir}/k.pem`)).mode! & 0o777).toString(8)); // "600"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writePrivateKeyFile(
  path: string,
  key: SigningKey,
  opts: { force?: boolean } = {},
): Promise<string> {
  const file = resolve(path);
  const exists = await Deno.lstat(file).then(() => true, (e) => {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  });
  if (exists && !opts.force) {
    throw new Deno.errors.AlreadyExists(`${file} already exists; use --force to overwrite it`);
  }
  const pem = await exportPrivateKeyPem(key);
  const tmp = `${dirname(file)}/.${crypto.randomUUID()}.key.tmp`;
  try {
    await Deno.writeTextFile(tmp, pem, { createNew: true, mode: 0o600 });
    await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, file);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Cannot write ${file}: the folder ${dirname(file)} does not exist`, { cause: e });
    }
    throw e;
  }
  return file;
}
