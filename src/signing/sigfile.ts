/**
 * The signature file `module.sig.json` at the top of a module folder: read, check every field, write.
 *
 * ```json
 * {
 *   "format": "blvm-module-signature/1",
 *   "name": "hello",
 *   "version": "0.1.0",
 *   "files": { "main.ts": "<sha256 hex>", "module.toml": "<sha256 hex>" },
 *   "signatures": [
 *     { "key": "ed25519:<64 hex>", "signature": "<128 hex>", "signed_at": "2025-01-31T12:00:00.000Z" }
 *   ]
 * }
 * ```
 *
 * @module
 */
import { z } from "zod";
import { issuesFromZod } from "../manager/config_error.ts";
import { compareBytewise, type FileHashes, SIGNATURE_FILE, SIGNATURE_FORMAT } from "./content.ts";
import { SignatureError } from "./errors.ts";

/** One signature in `module.sig.json`. */
export interface SignatureEntry {
  /** The signer's public key, `ed25519:<64 lowercase hex>`. */
  key: string;
  /** The Ed25519 signature over the canonical text, 128 lowercase hex digits. */
  signature: string;
  /** When it was made, RFC 3339. Informational: it is not part of the signed text. */
  signed_at: string;
}

/** The contents of `module.sig.json`. */
export interface SignatureFile {
  /** Always `blvm-module-signature/1`. */
  format: typeof SIGNATURE_FORMAT;
  /** The module name that was signed. */
  name: string;
  /** The module version that was signed. */
  version: string;
  /** The signed listing: path → SHA-256 hex. */
  files: FileHashes;
  /** The signatures, one per key. */
  signatures: SignatureEntry[];
}

/**
 * The largest signature file read: 16 MiB.
 *
 * @example
 * ```ts
 * import { MAX_SIGNATURE_FILE_BYTES } from "@blvm/node";
 * console.log(MAX_SIGNATURE_FILE_BYTES); // 16777216
 * ```
 */
export const MAX_SIGNATURE_FILE_BYTES = 16 << 20;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const line = (what: string) =>
  z.string().min(1, `the ${what} must not be empty`).refine((v) => !/[\r\n]/.test(v), {
    error: `the ${what} must not contain a line break`,
  });

const pathProblem = (p: string): string | undefined => {
  if (p === "") return "a file path must not be empty";
  if (p.includes("\n") || p.includes("\0")) return "a file path must not contain a newline or NUL";
  if (p.startsWith("/")) return "a file path must be relative to the module folder";
  if (p.split("/").some((s) => s === "" || s === "." || s === "..")) {
    return "a file path must not have empty, '.' or '..' segments";
  }
  if (p === SIGNATURE_FILE) return `${SIGNATURE_FILE} itself is never listed`;
  return undefined;
};

const schema = z.strictObject({
  format: z.literal(SIGNATURE_FORMAT, {
    error: (i) => `expected "${SIGNATURE_FORMAT}", got ${JSON.stringify(i.input)}`,
  }),
  name: line("module name"),
  version: line("module version"),
  files: z.record(
    z.string().superRefine((p, ctx) => {
      const why = pathProblem(p);
      if (why) ctx.addIssue({ code: "custom", message: `${JSON.stringify(p)}: ${why}` });
    }),
    z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256 as 64 lowercase hex digits"),
  ),
  signatures: z.array(z.strictObject({
    key: z.string().regex(/^ed25519:[0-9a-f]{64}$/, "expected 'ed25519:' and 64 lowercase hex digits"),
    signature: z.string().regex(/^[0-9a-f]{128}$/, "expected an Ed25519 signature as 128 lowercase hex digits"),
    signed_at: z.string().refine((v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)), {
      error: "expected an RFC 3339 date and time such as 2025-01-31T12:00:00Z",
    }),
  })),
});

/**
 * Check the text of a signature file.
 *
 * @param text The file's text.
 * @param file The name used in messages. Default: `module.sig.json`.
 * @returns The signature file.
 * @throws {SignatureError} `MALFORMED` naming every bad field (`details.field` is the first).
 *
 * @example
 * ```ts
 * import { parseSignatureFile, SignatureError } from "@blvm/node";
 * try {
 *   parseSignatureFile('{"format":"blvm-module-signature/1","name":"x","version":"1.0.0","files":{},"signatures":[{}]}');
 * } catch (e) {
 *   console.log((e as SignatureError).details.field); // "signatures[0].key"
 * }
 * ```
 */
export function parseSignatureFile(text: string, file: string = SIGNATURE_FILE): SignatureFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new SignatureError("MALFORMED", `${file} is not valid JSON: ${(e as Error).message}`, { path: file }, {
      cause: e,
    });
  }
  const r = schema.safeParse(data, { reportInput: true });
  if (!r.success) {
    // The shared zod messages speak TOML; this file is JSON.
    const issues = issuesFromZod(file, r.error).map((i) => ({
      ...i,
      message: i.message.replace(/\ba table\b/g, "an object"),
    }));
    throw new SignatureError(
      "MALFORMED",
      issues.map((i) => `${file}: ${i.field || "(top level)"}: ${i.message}`).join("; "),
      { path: file, field: issues[0]?.field ?? "", problems: issues.map((i) => `${i.field}: ${i.message}`) },
    );
  }
  return r.data as SignatureFile;
}

/**
 * Read `<dir>/module.sig.json`.
 *
 * @param dir The module folder.
 * @returns The signature file, or `undefined` if there is none.
 * @throws {SignatureError} `MALFORMED` naming the field at fault, or `LINK_IN_FOLDER` if it is not a
 * regular file.
 *
 * @example
 * ```ts
 * import { readSignatureFile } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * console.log(await readSignatureFile(dir)); // undefined
 * await Deno.remove(dir);
 * ```
 */
export async function readSignatureFile(dir: string): Promise<SignatureFile | undefined> {
  const path = `${dir}/${SIGNATURE_FILE}`;
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  if (!info.isFile) {
    throw new SignatureError("LINK_IN_FOLDER", `${SIGNATURE_FILE} is not a regular file`, { path: SIGNATURE_FILE });
  }
  if (info.size > MAX_SIGNATURE_FILE_BYTES) {
    throw new SignatureError("MALFORMED", `${SIGNATURE_FILE} is larger than ${MAX_SIGNATURE_FILE_BYTES} bytes`, {
      path: SIGNATURE_FILE,
    });
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await Deno.readFile(path));
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    throw new SignatureError("MALFORMED", `${SIGNATURE_FILE} is not valid UTF-8`, { path: SIGNATURE_FILE }, {
      cause: e,
    });
  }
  return parseSignatureFile(text);
}

/**
 * The JSON text of a signature file: fields in a fixed order, files sorted bytewise, two-space indent,
 * ending with a newline.
 *
 * @param sig The signature file.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { formatSignatureFile } from "@blvm/node";
 * const text = formatSignatureFile({
 *   format: "blvm-module-signature/1", name: "x", version: "1.0.0", files: {}, signatures: [],
 * });
 * console.log(JSON.parse(text).format); // "blvm-module-signature/1"
 * ```
 */
export function formatSignatureFile(sig: SignatureFile): string {
  const files = Object.fromEntries(Object.keys(sig.files).sort(compareBytewise).map((p) => [p, sig.files[p]]));
  const signatures = sig.signatures.map(({ key, signature, signed_at }) => ({ key, signature, signed_at }));
  const ordered = { format: sig.format, name: sig.name, version: sig.version, files, signatures };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/**
 * Write `<dir>/module.sig.json` atomically (a hidden temporary file renamed over it).
 *
 * @param dir The module folder.
 * @param sig The signature file (checked before it is written).
 * @returns The path written.
 * @throws {SignatureError} `MALFORMED` if `sig` is not a valid signature file.
 *
 * @example
 * ```ts
 * import { readSignatureFile, writeSignatureFile } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * await writeSignatureFile(dir, {
 *   format: "blvm-module-signature/1", name: "x", version: "1.0.0", files: {}, signatures: [],
 * });
 * console.log((await readSignatureFile(dir))?.name); // "x"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeSignatureFile(dir: string, sig: SignatureFile): Promise<string> {
  const text = formatSignatureFile(sig);
  parseSignatureFile(text);
  const path = `${dir}/${SIGNATURE_FILE}`;
  const tmp = `${dir}/.${SIGNATURE_FILE}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text, { createNew: true, mode: 0o644 });
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  return path;
}
