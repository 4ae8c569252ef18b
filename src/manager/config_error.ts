/**
 * Problems found in configuration files, and reading TOML files so that every problem names the file,
 * the field and what is wrong.
 *
 * @module
 */
import { parse, TomlError } from "smol-toml";
import type { z } from "zod";

/** One problem in a configuration file. */
export interface ConfigIssue {
  /** The file (or config source, such as `[modules.hello.config]`) the problem is in. */
  file: string;
  /** Dotted path of the field, for example `modules.hello.grants.net[0]`; empty for the whole file. */
  field: string;
  /** What is wrong. */
  message: string;
}

/**
 * One or more problems in a configuration file. The message lists every issue as
 * `<file>: <field>: <message>`, joined with `; `.
 *
 * @example
 * ```ts
 * import { ConfigFileError } from "./config_error.ts";
 * const e = new ConfigFileError("/srv/blvm.toml", [
 *   { file: "/srv/blvm.toml", field: "modules.watch", message: "expected a boolean, got 1" },
 * ]);
 * console.log(e.message); // "/srv/blvm.toml: modules.watch: expected a boolean, got 1"
 * ```
 */
export class ConfigFileError extends Error {
  /** The file the error is about. */
  readonly file: string;
  /** Every problem found (at least one). */
  readonly issues: ConfigIssue[];

  /**
   * Create the error.
   *
   * @param file The file the error is about.
   * @param issues Every problem found; an empty list becomes one generic issue.
   * @param options Standard error options (`cause`).
   */
  constructor(file: string, issues: ConfigIssue[], options?: ErrorOptions) {
    const list = issues.length ? issues : [{ file, field: "", message: "invalid configuration" }];
    super(list.map(formatIssue).join("; "), options);
    this.name = "ConfigFileError";
    this.file = file;
    this.issues = list;
  }
}

/**
 * Format one issue as `<file>: <field>: <message>`, or `<file>: <message>` when it has no field.
 *
 * @param issue The issue.
 * @returns One line of text.
 *
 * @example
 * ```ts
 * import { formatIssue } from "./config_error.ts";
 * console.log(formatIssue({ file: "module.toml", field: "", message: "file not found" })); // "module.toml: file not found"
 * ```
 */
export function formatIssue(issue: ConfigIssue): string {
  return issue.field ? `${issue.file}: ${issue.field}: ${issue.message}` : `${issue.file}: ${issue.message}`;
}

/**
 * Turn a path of keys and indexes into a dotted field name: keys joined with `.`, indexes as `[i]`,
 * and keys that are not bare TOML keys quoted.
 *
 * @param path The keys and indexes.
 * @param prefix A field path to prepend, for example `modules`.
 * @returns The field name.
 *
 * @example
 * ```ts
 * import { fieldPath } from "./config_error.ts";
 * console.log(fieldPath(["hello", "grants", "net", 0], "modules")); // "modules.hello.grants.net[0]"
 * console.log(fieldPath(["a.b"])); // '"a.b"'
 * ```
 */
export function fieldPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const key = String(seg);
      const bare = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
      out += out ? `.${bare}` : bare;
    }
  }
  return out;
}

/**
 * Describe a configuration value briefly for an error message.
 *
 * @param v Any value.
 * @returns For example `"abc"`, `5`, `a table`, `an array`, `a datetime` or `nothing`.
 *
 * @example
 * ```ts
 * import { describeValue } from "./config_error.ts";
 * console.log(describeValue({ a: 1 })); // "a table"
 * ```
 */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a datetime";
  if (typeof v === "object") return "a table";
  return typeof v;
}

const TYPE_NAMES: Record<string, string> = {
  object: "a table",
  record: "a table",
  array: "an array",
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "a boolean",
  bigint: "an integer",
  date: "a datetime",
};

function zodMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && issue.message.startsWith("Invalid input")) {
    const want = TYPE_NAMES[issue.expected] ?? issue.expected;
    if (!("input" in issue)) return `expected ${want}`;
    if (issue.input === undefined) return `is required (expected ${want})`;
    return `expected ${want}, got ${describeValue(issue.input)}`;
  }
  if (issue.code === "invalid_key") return issue.issues.map(zodMessage).join(", ");
  if (issue.code === "too_big" && issue.origin === "number" && Number(issue.maximum) >= Number.MAX_SAFE_INTEGER) {
    return "integer is too large";
  }
  return issue.message.replace(/^Invalid input: /, "");
}

/**
 * Convert a zod validation error into issues, one per problem, with dotted field paths.
 * Unrecognized keys become one issue each (`unknown key 'x'`).
 *
 * @param file The file being validated.
 * @param error The zod error.
 * @param prefix A field path to prepend, for example `modules`.
 * @returns The issues, in zod's order.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { issuesFromZod } from "./config_error.ts";
 * const r = z.object({ net: z.array(z.string()) }).safeParse({ net: [1] }, { reportInput: true });
 * const [issue] = issuesFromZod("blvm.toml", r.error!, "modules.hello.grants");
 * console.log(issue.field, "|", issue.message); // "modules.hello.grants.net[0] | expected a string, got 1"
 * ```
 */
export function issuesFromZod(file: string, error: z.ZodError, prefix = ""): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const k of issue.keys) {
        out.push({ file, field: fieldPath([...issue.path, k], prefix), message: `unknown key '${k}'` });
      }
    } else {
      out.push({ file, field: fieldPath(issue.path, prefix), message: zodMessage(issue) });
    }
  }
  return out;
}

/**
 * The key in `known` closest to a misspelt `key`, if one is close enough to suggest.
 *
 * @param key The unknown key.
 * @param known The keys that are allowed.
 * @returns The suggestion, or `undefined`.
 *
 * @example
 * ```ts
 * import { suggestKey } from "./config_error.ts";
 * console.log(suggestKey("grnats", ["grants", "env"]), suggestKey("zzz", ["grants"])); // "grants" undefined
 * ```
 */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of known) {
    const d = editDistance(c, key);
    if (d <= Math.max(1, Math.floor(c.length / 3)) && d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/**
 * Issues for keys of a table that are not in `known`, each with a "did you mean" hint when a known
 * key is close, or else the list of allowed keys.
 *
 * @param file The file being validated.
 * @param table The table.
 * @param known The keys it may have.
 * @param prefix The table's own field path.
 * @returns One issue per unknown key, with message `unknown key 'x'` plus a hint.
 *
 * @example
 * ```ts
 * import { unknownKeyIssues } from "./config_error.ts";
 * const [i] = unknownKeyIssues("blvm.toml", { grnats: {} }, ["grants", "env"], "modules.hello");
 * console.log(i.field, "|", i.message); // "modules.hello.grnats | unknown key 'grnats' (did you mean 'grants'?)"
 * ```
 */
export function unknownKeyIssues(
  file: string,
  table: Record<string, unknown>,
  known: readonly string[],
  prefix: string,
): ConfigIssue[] {
  return Object.keys(table).filter((k) => !known.includes(k)).map((k) => {
    const near = suggestKey(k, known);
    const hint = near ? ` (did you mean '${near}'?)` : ` (expected one of: ${known.join(", ")})`;
    return { file, field: fieldPath([k], prefix), message: `unknown key '${k}'${hint}` };
  });
}

// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * Whether a value is a TOML table (a plain object, not an array or a datetime).
 *
 * @param v Any value.
 * @returns `true` for a plain object.
 *
 * @example
 * ```ts
 * import { isTable } from "./config_error.ts";
 * console.log(isTable({}), isTable([]), isTable(new Date())); // true false false
 * ```
 */
export function isTable(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Default size limit of a configuration file: 1 MiB. */
export const DEFAULT_MAX_CONFIG_BYTES = 1 << 20;

/**
 * Read and parse a TOML file, keeping its bytes (for hashing). Integers too large for a JS number
 * become `bigint`; datetimes are `TomlDate`s. Keys `__proto__` and `constructor` are refused.
 *
 * @param file The file.
 * @param maxBytes Size limit. Default: 1 MiB.
 * @returns The parsed table and the raw bytes.
 * @throws {Deno.errors.NotFound} if the file does not exist (unchanged).
 * @throws {ConfigFileError} if it is not a regular file, too large, not UTF-8 or not valid TOML
 * (with the line and column).
 *
 * @example
 * ```ts
 * import { readTomlSource } from "./config_error.ts";
 * const file = await Deno.makeTempFile({ suffix: ".toml" });
 * await Deno.writeTextFile(file, 'name = "hello"\n');
 * const { data, bytes } = await readTomlSource(file);
 * console.log(data.name, bytes.length); // "hello" 15
 * await Deno.remove(file);
 * ```
 */
export async function readTomlSource(
  file: string,
  maxBytes = DEFAULT_MAX_CONFIG_BYTES,
): Promise<{ data: Record<string, unknown>; bytes: Uint8Array }> {
  const fail = (message: string, cause?: unknown) =>
    new ConfigFileError(file, [{ file, field: "", message }], cause === undefined ? undefined : { cause });
  // Check before opening: opening a FIFO would block.
  if (!(await Deno.stat(file)).isFile) throw fail("not a regular file");
  const f = await Deno.open(file, { read: true });
  let bytes: Uint8Array;
  try {
    // Read at most maxBytes + 1, whatever the file claims its size is.
    const buf = new Uint8Array(maxBytes + 1);
    let n = 0;
    while (n < buf.length) {
      const got = await f.read(buf.subarray(n));
      if (got === null) break;
      n += got;
    }
    if (n > maxBytes) throw fail(`file is larger than the ${maxBytes}-byte limit`);
    bytes = buf.slice(0, n);
  } finally {
    f.close();
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    throw fail("file is not valid UTF-8", e);
  }
  try {
    return { data: parse(text, { integersAsBigInt: "asNeeded", unsafeKeyBehaviour: "throw" }), bytes };
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    const reason = e.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    throw fail(`invalid TOML at line ${e.line}, column ${e.column}: ${reason}`, e);
  }
}

/**
 * Read and parse a TOML file (see {@link readTomlSource}).
 *
 * @param file The file.
 * @param maxBytes Size limit. Default: 1 MiB.
 * @returns The parsed table.
 * @throws {Deno.errors.NotFound} if the file does not exist (unchanged).
 * @throws {ConfigFileError} if it is not a regular file, too large, not UTF-8 or not valid TOML.
 *
 * @example
 * ```ts
 * import { ConfigFileError, readTomlFile } from "./config_error.ts";
 * const file = await Deno.makeTempFile({ suffix: ".toml" });
 * await Deno.writeTextFile(file, "a = \n");
 * try {
 *   await readTomlFile(file);
 * } catch (e) {
 *   console.log(e instanceof ConfigFileError, (e as ConfigFileError).issues[0].message.startsWith("invalid TOML at line 1"));
 * }
 * await Deno.remove(file);
 * ```
 */
export async function readTomlFile(file: string, maxBytes?: number): Promise<Record<string, unknown>> {
  return (await readTomlSource(file, maxBytes)).data;
}
