/**
 * Configuration overrides from the environment and the command line, applied over `blvm.toml` in that
 * order (file < environment < command line), and again after every reload of the file.
 *
 * - Environment: `BLVM_<SECTION>__<KEY>[__<SUBKEY>...]=value`, a double underscore between levels and
 *   names lower-cased: `BLVM_NODE__MIN_FEE_RATE=2` sets `node.min_fee_rate`. Variables without `__`
 *   (`BLVM_CONFIG`, the module bootstrap variables) are not overrides.
 * - Command line: `--set <dotted.path>=<value>`, for example `--set janitor.flush.interval_seconds=60`.
 *
 * A value is read as a TOML value when it is one (`2`, `true`, `["a", "b"]`, `"quoted"`), otherwise as
 * a plain string, so `BLVM_NODE__DATA_DIR=/srv/node` needs no quotes.
 *
 * @module
 */
import { parse } from "smol-toml";
import { ConfigFileError, isTable } from "../manager/config_error.ts";

/** One override, as the operator gave it. */
export interface Override {
  /** Where it came from: `env BLVM_NODE__MIN_FEE_RATE` or `--set node.min_fee_rate=2`. */
  source: string;
  /** The dotted path it sets. */
  path: string[];
  /** The value. */
  value: unknown;
}

/**
 * The overrides in an environment.
 *
 * @param env The environment (usually `Deno.env.toObject()`).
 * @returns One override per `BLVM_*__*` variable, sorted by name.
 *
 * @example
 * ```ts
 * import { envOverrides } from "./overrides.ts";
 * const [o] = envOverrides({ BLVM_NODE__MIN_FEE_RATE: "2", BLVM_MODULE_ID: "x", HOME: "/root" });
 * console.log(o.path, o.value); // ["node", "min_fee_rate"] 2
 * ```
 */
export function envOverrides(env: Record<string, string>): Override[] {
  return Object.keys(env).filter((k) => k.startsWith("BLVM_") && k.includes("__")).sort().map((k) => ({
    source: `environment variable ${k}`,
    path: k.slice(5).toLowerCase().split("__"),
    value: tomlValue(env[k]),
  }));
}

/**
 * Parse `--set path=value` arguments.
 *
 * @param sets The `path=value` strings.
 * @returns The overrides.
 * @throws {ConfigFileError} for an argument without `=` or with an empty path segment.
 *
 * @example
 * ```ts
 * import { setOverrides } from "./overrides.ts";
 * console.log(setOverrides(["janitor.flush.interval_seconds=60"])[0].value); // 60
 * ```
 */
export function setOverrides(sets: readonly string[]): Override[] {
  return sets.map((s) => {
    const eq = s.indexOf("=");
    const path = eq > 0 ? s.slice(0, eq).split(".") : [];
    if (!path.length || path.some((p) => p === "")) {
      throw new ConfigFileError("--set", [{
        file: "--set",
        field: s,
        message: "expected --set <section.key>=<value>, for example --set node.min_fee_rate=2",
      }]);
    }
    return { source: `--set ${s}`, path, value: tomlValue(s.slice(eq + 1)) };
  });
}

/**
 * Apply overrides to a parsed configuration, in order. The input is not changed.
 *
 * @param data The parsed file.
 * @param overrides What to set.
 * @returns A copy with the overrides applied.
 * @throws {ConfigFileError} naming the override when its path runs through a value that is not a table.
 *
 * @example
 * ```ts
 * import { applyOverrides, envOverrides } from "./overrides.ts";
 * const out = applyOverrides({ node: { min_fee_rate: 1 } }, envOverrides({ BLVM_NODE__MIN_FEE_RATE: "3" }));
 * console.log(out.node); // { min_fee_rate: 3 }
 * ```
 */
export function applyOverrides(data: Record<string, unknown>, overrides: readonly Override[]): Record<string, unknown> {
  if (!overrides.length) return data;
  const out = copyTables(data) as Record<string, unknown>;
  for (const o of overrides) {
    let t: Record<string, unknown> = out;
    for (const [i, key] of o.path.slice(0, -1).entries()) {
      if (t[key] === undefined) t[key] = {};
      const next = t[key];
      if (!isTable(next)) {
        const at = o.path.slice(0, i + 1).join(".");
        throw new ConfigFileError(o.source, [{
          file: o.source,
          field: o.path.join("."),
          message: `'${at}' is not a table in the configuration, so '${o.path.join(".")}' cannot be set`,
        }]);
      }
      t = next;
    }
    t[o.path[o.path.length - 1]] = o.value;
  }
  return out;
}

/** A copy of the tables and arrays; other values (TOML dates keep their class) are shared. */
function copyTables(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyTables);
  if (!isTable(v)) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyTables(x)]));
}

/** The value as TOML reads it, or the text itself. */
function tomlValue(text: string): unknown {
  try {
    return parse(`v = ${text}`).v;
  } catch {
    return text;
  }
}
