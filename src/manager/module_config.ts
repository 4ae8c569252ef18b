/**
 * A module's effective configuration: its own `config.toml`, the operator's `[modules.<name>.config]`
 * overrides on top, then the defaults and types declared in its manifest's `[config_schema]`.
 *
 * TOML types are kept (integers stay numbers, or `bigint` when too large), except datetimes: the wire
 * protocol has no date type, so every TOML datetime in the result becomes its RFC 3339 string (local
 * dates and times keep their TOML form, for example `2024-05-01` or `07:30:00.000`).
 *
 * @module
 */
import { join, relative } from "node:path";
import { z } from "zod";
import { ConfigFileError, type ConfigIssue, describeValue, fieldPath, isTable, readTomlFile } from "./config_error.ts";
import type { LoadedManifest } from "./manifest.ts";

/** The type of a configuration key, as declared in `[config_schema]`. */
export type ConfigFieldType = "string" | "integer" | "float" | "boolean" | "array" | "table" | "datetime" | "any";

/** One key of a module's configuration, as declared in `[config_schema]`. */
export interface ConfigField {
  /** Its type; `any` accepts every value. */
  type: ConfigFieldType;
  /** What it is for. */
  description?: string;
  /** Value used when neither `config.toml` nor the operator sets it; always matches `type`. */
  default?: unknown;
  /** Whether a value must be present after defaults are filled. */
  required: boolean;
  /** Whether the value is a secret: redacted wherever the node shows configuration (`ConfigLoaded`, `ctl inspect`). */
  secret?: boolean;
}

/**
 * Whether a value has a declared config type. `integer` accepts whole numbers and `bigint`, `float`
 * any number, `datetime` a TOML date (a `Date`), `table` a plain object, `any` anything present.
 *
 * @param type The declared type.
 * @param v The value.
 * @returns `true` if it matches.
 *
 * @example
 * ```ts
 * import { matchesFieldType } from "./module_config.ts";
 * console.log(matchesFieldType("integer", 3), matchesFieldType("integer", 3.5)); // true false
 * ```
 */
export function matchesFieldType(type: ConfigFieldType, v: unknown): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "bigint" || Number.isInteger(v);
    case "float":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    case "array":
      return Array.isArray(v);
    case "table":
      return isTable(v);
    case "datetime":
      return v instanceof Date;
    case "any":
      return v !== undefined;
  }
}

const FIELD_TYPES = ["string", "integer", "float", "boolean", "array", "table", "datetime", "any"] as const;

/**
 * One `[config_schema]` entry: either `key = "description"` or a table
 * `{ type, description, default, required }` (type defaults to `any`, required to `false`). A default
 * must match the type.
 *
 * @example
 * ```ts
 * import { configFieldSchema } from "./module_config.ts";
 * console.log(configFieldSchema.parse("Greeting text")); // { type: "any", description: "Greeting text", required: false }
 * console.log(configFieldSchema.safeParse({ type: "integer", default: "ten" }).success); // false
 * ```
 */
export const configFieldSchema: z.ZodType<ConfigField> = z.preprocess(
  (v) => typeof v === "string" ? { description: v } : v,
  z.object({
    type: z.enum(FIELD_TYPES, {
      error: (i) => `expected one of ${FIELD_TYPES.join(", ")}, got ${describeValue(i.input)}`,
    }).default("any"),
    description: z.string().optional(),
    default: z.unknown().optional(),
    required: z.boolean().default(false),
    secret: z.boolean().optional(),
  }, { error: "expected a description string or a table { type, description, default, required, secret }" })
    .superRefine((f, ctx) => {
      if (f.default !== undefined && !matchesFieldType(f.type, f.default)) {
        ctx.addIssue({
          code: "custom",
          path: ["default"],
          message: `expected ${f.type}, got ${describeValue(f.default)}`,
        });
      }
    }),
);

function set(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, so that a key named `__proto__` stays a plain key.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Merge `over` onto `base` into a new table: tables merge recursively; arrays and other values in
 * `over` replace those in `base`. Neither input is changed.
 *
 * @param base The lower-precedence table.
 * @param over The higher-precedence table.
 * @returns The merged table.
 *
 * @example
 * ```ts
 * import { deepMerge } from "./module_config.ts";
 * const merged = deepMerge({ rpc: { host: "a", port: 1 }, tags: [1, 2] }, { rpc: { port: 2 }, tags: [3] });
 * console.log(merged); // { rpc: { host: "a", port: 2 }, tags: [3] }
 * ```
 */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(base)) set(out, k, v);
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = Object.hasOwn(out, k) ? out[k] : undefined;
    set(out, k, isTable(b) && isTable(v) ? deepMerge(b, v) : v);
  }
  return out;
}

/**
 * Copy a configuration value for the wire: datetimes become their RFC 3339 strings (`toISOString()`,
 * which a TOML local date or time keeps in its TOML form); everything else keeps its type.
 *
 * @param v A configuration value.
 * @returns A deep copy without `Date`s.
 *
 * @example
 * ```ts
 * import { parse } from "smol-toml";
 * import { toWireValue } from "./module_config.ts";
 * console.log(toWireValue(parse("at = 2024-05-01T12:00:00Z\nday = 2024-05-01")));
 * // { at: "2024-05-01T12:00:00.000Z", day: "2024-05-01" }
 * ```
 */
export function toWireValue(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(toWireValue);
  if (isTable(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) set(out, k, toWireValue(x));
    return out;
  }
  return v;
}

const ARTICLE: Record<ConfigFieldType, string> = {
  string: "a string",
  integer: "an integer",
  float: "a number",
  boolean: "a boolean",
  array: "an array",
  table: "a table",
  datetime: "a TOML datetime",
  any: "a value",
};

async function readModuleConfigFile(dir: string, file: string): Promise<Record<string, unknown>> {
  let real: string;
  try {
    real = await Deno.realPath(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw e;
  }
  const rel = relative(dir, real);
  if (rel === ".." || rel.startsWith("../") || rel.startsWith("/")) {
    throw new ConfigFileError(file, [{ file, field: "", message: `resolves to ${real}, outside the module folder` }]);
  }
  return await readTomlFile(real);
}

/**
 * Build the configuration a module is started with: `<dir>/config.toml` (if present), the operator's
 * overrides merged over it (see {@link deepMerge}), then `[config_schema]` defaults for missing keys.
 * Every declared key is then checked: required keys must be present and each value must have its
 * declared type. Keys not in the schema pass through unchanged. Datetimes become RFC 3339 strings
 * (see {@link toWireValue}).
 *
 * @param loaded The module's manifest, as read by `readManifest`.
 * @param overrides The operator's `[modules.<name>.config]` table.
 * @returns The configuration.
 * @throws {ConfigFileError} listing every problem; each issue names where the offending value came
 * from: `config.toml`, `[modules.<name>.config]`, or for a missing key, `config.toml`.
 *
 * @example
 * ```ts ignore
 * import { readManifest } from "./manifest.ts";
 * import { buildModuleConfig } from "./module_config.ts";
 * const loaded = await readManifest("./modules/hello");
 * const config = await buildModuleConfig(loaded, { greeting: "hi" });
 * ```
 */
export async function buildModuleConfig(
  loaded: LoadedManifest,
  overrides: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const file = join(loaded.dir, "config.toml");
  const label = `[modules.${loaded.manifest.name}.config]`;
  const merged = deepMerge(await readModuleConfigFile(loaded.dir, file), overrides);
  const issues: ConfigIssue[] = [];
  for (const [key, field] of Object.entries(loaded.manifest.config_schema)) {
    const present = Object.hasOwn(merged, key) && merged[key] !== undefined;
    if (!present && field.default !== undefined) set(merged, key, field.default);
    const value = Object.hasOwn(merged, key) ? merged[key] : undefined;
    if (value === undefined) {
      if (field.required) {
        issues.push({ file, field: fieldPath([key]), message: `required key is missing (set it here or in ${label})` });
      }
    } else if (!matchesFieldType(field.type, value)) {
      const source = !present ? loaded.file : Object.hasOwn(overrides, key) ? label : file;
      issues.push({
        file: source,
        field: fieldPath([key]),
        message: `expected ${ARTICLE[field.type]}, got ${describeValue(value)}`,
      });
    }
  }
  if (issues.length) throw new ConfigFileError(file, issues);
  return toWireValue(merged) as Record<string, unknown>;
}
