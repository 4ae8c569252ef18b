/**
 * The content of a module folder as it is signed: every regular file except `module.sig.json`, by
 * path, with the SHA-256 of its bytes, and the canonical text whose UTF-8 bytes are the signed message.
 *
 * ```
 * blvm-module-signature/1
 * name hello
 * version 0.1.0
 * 3f9a…64 hex…  main.ts
 * 0c1d…64 hex…  module.toml
 * ```
 *
 * Paths are relative to the folder, `/`-separated and sorted bytewise (by their UTF-8 bytes); every
 * line ends with `\n`. A symbolic link, socket, FIFO or device anywhere in the folder, or a path with a
 * newline, makes listing fail.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { type ContentChange, SignatureError } from "./errors.ts";

/**
 * The first line of the signed text and the `format` of `module.sig.json`.
 *
 * @example
 * ```ts
 * import { SIGNATURE_FORMAT } from "@blvm/node";
 * console.log(SIGNATURE_FORMAT); // "blvm-module-signature/1"
 * ```
 */
export const SIGNATURE_FORMAT = "blvm-module-signature/1";

/**
 * The signature file's name, at the top of the module folder. It is the one file not covered.
 *
 * @example
 * ```ts
 * import { SIGNATURE_FILE } from "@blvm/node";
 * console.log(`modules/hello/${SIGNATURE_FILE}`); // "modules/hello/module.sig.json"
 * ```
 */
export const SIGNATURE_FILE = "module.sig.json";

/** A folder's files: path (relative, `/`-separated) → lowercase hex SHA-256 of the bytes. */
export type FileHashes = Record<string, string>;

const utf8 = new TextEncoder();
const CHUNK = 1 << 16;

/**
 * Compare two paths by their UTF-8 bytes, the order of the signed listing.
 *
 * @param a A path.
 * @param b Another path.
 * @returns Negative, zero or positive, as for `Array.prototype.sort`.
 *
 * @example
 * ```ts
 * import { compareBytewise } from "@blvm/node";
 * console.log(["b.ts", "B.ts", "a/z.ts", "a.ts"].sort(compareBytewise)); // ["B.ts", "a.ts", "a/z.ts", "b.ts"]
 * ```
 */
export function compareBytewise(a: string, b: string): number {
  const x = utf8.encode(a), y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function kindOf(info: Deno.FileInfo): string | undefined {
  if (info.isSymlink) return "a symbolic link";
  if (info.isSocket) return "a socket";
  if (info.isFifo) return "a FIFO";
  if (info.isBlockDevice || info.isCharDevice) return "a device";
  if (!info.isFile && !info.isDirectory) return "not a regular file or folder";
  return undefined;
}

async function hashFile(full: string, rel: string, before: Deno.FileInfo): Promise<string> {
  const f = await Deno.open(full, { read: true });
  try {
    // The entry was checked with lstat; make sure the file opened is that same regular file.
    const now = await f.stat();
    if (!now.isFile || (before.ino !== null && now.ino !== before.ino) || (before.dev !== now.dev)) {
      throw new SignatureError("LINK_IN_FOLDER", `${rel} was replaced while the module folder was being read`, {
        path: rel,
      });
    }
    const h = sha256.create();
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = await f.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
    }
    return bytesToHex(h.digest());
  } finally {
    f.close();
  }
}

/**
 * List and hash a module folder: every regular file under it except the top-level `module.sig.json`.
 *
 * @param dir The module folder (it may itself be reached through a symbolic link).
 * @returns Path → SHA-256 hex, in bytewise path order.
 * @throws {SignatureError} `LINK_IN_FOLDER` naming a symbolic link, socket, FIFO or device in the folder,
 * or `BAD_PATH` naming a path that contains a newline or is not valid UTF-8.
 * @throws {Deno.errors.NotFound} if `dir` does not exist.
 *
 * @example
 * ```ts
 * import { hashModuleFolder } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/main.ts`, "console.log(1);\n");
 * await Deno.writeTextFile(`${dir}/module.sig.json`, "{}");
 * console.log(Object.keys(await hashModuleFolder(dir))); // ["main.ts"]
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function hashModuleFolder(dir: string): Promise<FileHashes> {
  const root = await Deno.realPath(dir);
  if (!(await Deno.stat(root)).isDirectory) throw new Error(`${dir} is not a folder`);
  const found: [string, string][] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names: string[] = [];
    for await (const e of Deno.readDir(abs)) names.push(e.name);
    for (const name of names.sort(compareBytewise)) {
      const path = rel ? `${rel}/${name}` : name;
      if (path.includes("\n")) {
        throw new SignatureError("BAD_PATH", `${JSON.stringify(path)} has a newline in its name; it cannot be signed`, {
          path,
        });
      }
      if (path.includes("\uFFFD")) {
        throw new SignatureError("BAD_PATH", `${JSON.stringify(path)} is not a valid UTF-8 name; it cannot be signed`, {
          path,
        });
      }
      const full = `${abs}/${name}`;
      const info = await Deno.lstat(full);
      const kind = kindOf(info);
      if (kind) {
        throw new SignatureError(
          "LINK_IN_FOLDER",
          `${path} is ${kind}; a module folder with one cannot be signed or verified (it could point anywhere)`,
          { path },
        );
      }
      if (info.isDirectory) await walk(full, path);
      else if (path !== SIGNATURE_FILE) found.push([path, await hashFile(full, path, info)]);
    }
  };
  await walk(root, "");
  found.sort(([a], [b]) => compareBytewise(a, b));
  return Object.fromEntries(found);
}

/**
 * The canonical text of a module release; its UTF-8 bytes are what each key signs.
 *
 * @param name The module name from `module.toml`.
 * @param version The module version from `module.toml`.
 * @param files The listing (any order; it is sorted bytewise here).
 * @returns The text: the format line, `name …`, `version …`, then `<sha256>  <path>` per file, each line
 * ending with `\n`.
 * @throws {SignatureError} `MALFORMED` if the name or version contains a newline, `BAD_PATH` if a path does.
 *
 * @example
 * ```ts
 * import { canonicalText } from "@blvm/node";
 * const text = canonicalText("hello", "0.1.0", { "main.ts": "ab".repeat(32) });
 * console.log(text.split("\n")); // ["blvm-module-signature/1", "name hello", "version 0.1.0", "abab…  main.ts", ""]
 * ```
 */
export function canonicalText(name: string, version: string, files: FileHashes): string {
  for (const [what, v] of [["name", name], ["version", version]]) {
    if (/[\r\n]/.test(v) || v === "") {
      throw new SignatureError("MALFORMED", `The module ${what} ${JSON.stringify(v)} cannot be signed`, {
        field: what,
      });
    }
  }
  const lines = [SIGNATURE_FORMAT, `name ${name}`, `version ${version}`];
  for (const path of Object.keys(files).sort(compareBytewise)) {
    if (path.includes("\n")) {
      throw new SignatureError("BAD_PATH", `${JSON.stringify(path)} has a newline in its name`, { path });
    }
    lines.push(`${files[path]}  ${path}`);
  }
  return lines.map((l) => `${l}\n`).join("");
}

/**
 * The content hash of a release: SHA-256 of its canonical text. Two folders with the same hash have
 * the same name, version and files; `ctl sign` prints it so signers can compare what they sign.
 *
 * @param name The module name.
 * @param version The module version.
 * @param files The listing.
 * @returns `sha256:<64 hex>`.
 *
 * @example
 * ```ts
 * import { contentHash } from "@blvm/node";
 * console.log(contentHash("hello", "0.1.0", {}).startsWith("sha256:")); // true
 * ```
 */
export function contentHash(name: string, version: string, files: FileHashes): string {
  return `sha256:${bytesToHex(sha256(utf8.encode(canonicalText(name, version, files))))}`;
}

/**
 * How the current files differ from the signed listing.
 *
 * @param signed The listing that was signed.
 * @param current The listing now.
 * @returns Every changed, added and missing file, sorted by path.
 *
 * @example
 * ```ts
 * import { diffListings } from "@blvm/node";
 * const a = "a".repeat(64), b = "b".repeat(64);
 * console.log(diffListings({ "main.ts": a, "lib.ts": a }, { "main.ts": b, "extra.ts": a }));
 * // [{ path: "extra.ts", change: "added" }, { path: "lib.ts", change: "missing" }, { path: "main.ts", change: "changed" }]
 * ```
 */
export function diffListings(signed: FileHashes, current: FileHashes): ContentChange[] {
  const out: ContentChange[] = [];
  for (const [path, hash] of Object.entries(current)) {
    if (!Object.hasOwn(signed, path)) out.push({ path, change: "added" });
    else if (signed[path] !== hash) out.push({ path, change: "changed" });
  }
  for (const path of Object.keys(signed)) if (!Object.hasOwn(current, path)) out.push({ path, change: "missing" });
  return out.sort((x, y) => compareBytewise(x.path, y.path));
}

/**
 * A change in words: `main.ts changed after signing`, `extra.ts was added after signing`,
 * `lib.ts is missing (it was signed)`.
 *
 * @param c The change.
 * @returns One sentence.
 *
 * @example
 * ```ts
 * import { describeChange } from "@blvm/node";
 * console.log(describeChange({ path: "lib.ts", change: "missing" })); // "lib.ts is missing (it was signed)"
 * ```
 */
export function describeChange(c: ContentChange): string {
  if (c.change === "changed") return `${c.path} changed after signing`;
  if (c.change === "added") return `${c.path} was added after signing`;
  return `${c.path} is missing (it was signed)`;
}
