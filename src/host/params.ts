/**
 * NodeAPI params validation for the host's handlers. Every failure is a `RemoteError` with code
 * `INVALID_PARAMS` whose message names the method, the param, what was expected and the value given.
 *
 * @module
 */
import { ErrorCode, RemoteError } from "../protocol/errors.ts";

/**
 * Reads one param for {@link readParams}: `parse` returns the normalized value, or `undefined` when
 * the value (also `undefined` for a missing param) is not valid, and `expected` goes in the error.
 *
 * @example
 * ```ts
 * import type { ParamReader } from "./params.ts";
 * const name: ParamReader<string> = {
 *   expected: "a non-empty string",
 *   parse: (v) => typeof v === "string" && v.length > 0 ? v : undefined,
 * };
 * console.log(name.parse(""), name.parse("hello")); // undefined hello
 * ```
 */
export interface ParamReader<T> {
  /** What a valid value is, for the error message ("a 64-digit hex txid"). */
  expected: string;
  /** The normalized value, or `undefined` if `v` is not valid. */
  parse(v: unknown): T | undefined;
}

/**
 * Check a params map against a spec: every key must be in the spec and every spec param must parse.
 *
 * @param method The NodeAPI method, for messages.
 * @param params The params map as decoded.
 * @param spec Param name → reader.
 * @returns The parsed params.
 * @throws {RemoteError} `INVALID_PARAMS` naming the first unexpected key, or the first missing or
 *   invalid param with the value given.
 *
 * @example
 * ```ts
 * import { height, readParams } from "./params.ts";
 * console.log(readParams("get_block_hash", { height: 3 }, { height }).height); // 3
 * ```
 */
export function readParams<S extends Record<string, ParamReader<unknown>>>(
  method: string,
  params: Record<string, unknown>,
  spec: S,
): { [K in keyof S]: S[K] extends ParamReader<infer T> ? T : never } {
  for (const key of Object.keys(params)) {
    if (!Object.hasOwn(spec, key)) {
      const takes = Object.keys(spec);
      throw new RemoteError(
        ErrorCode.InvalidParams,
        `Unexpected param ${JSON.stringify(key.slice(0, 80))} for '${method}': it takes ${
          takes.length ? takes.map((k) => `'${k}'`).join(", ") : "no params"
        }`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, reader] of Object.entries(spec)) {
    const v = Object.hasOwn(params, name) ? params[name] : undefined;
    const parsed = reader.parse(v);
    if (parsed === undefined) {
      throw new RemoteError(
        ErrorCode.InvalidParams,
        v === undefined
          ? `Param '${name}' of '${method}' is missing: expected ${reader.expected}`
          : `Param '${name}' of '${method}' must be ${reader.expected}, got ${show(v)}`,
      );
    }
    out[name] = parsed;
  }
  return out as { [K in keyof S]: S[K] extends ParamReader<infer T> ? T : never };
}

/**
 * A 64-digit hex hash (block hash or txid), any case; parsed to lowercase.
 *
 * @param what How to name it, for example `block hash`.
 * @returns The reader.
 *
 * @example
 * ```ts
 * import { hash32 } from "./params.ts";
 * console.log(hash32("txid").parse("AB".repeat(32)) === "ab".repeat(32)); // true
 * ```
 */
export function hash32(what: string): ParamReader<string> {
  return {
    expected: `a 64-digit hex ${what}`,
    parse: (v) => typeof v === "string" && /^[0-9a-fA-F]{64}$/.test(v) ? v.toLowerCase() : undefined,
  };
}

/**
 * A non-negative integer no larger than `max` (a JavaScript number, never a bigint).
 *
 * @param min Smallest allowed.
 * @param max Largest allowed.
 * @param what How to name it.
 * @returns The reader.
 *
 * @example
 * ```ts
 * import { intIn } from "./params.ts";
 * console.log(intIn(1, 1008, "block count").parse(0)); // undefined
 * ```
 */
export function intIn(min: number, max: number, what: string): ParamReader<number> {
  return {
    expected: `an integer ${what} from ${min} to ${max}`,
    parse: (v) => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? v : undefined,
  };
}

/**
 * A block height: a non-negative safe integer.
 *
 * @example
 * ```ts
 * import { height } from "./params.ts";
 * console.log(height.parse(5), height.parse(-1)); // 5 undefined
 * ```
 */
export const height: ParamReader<number> = {
  expected: "a non-negative integer block height",
  parse: (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined,
};

/**
 * Bytes (MessagePack `bin`), at most `maxBytes` of them, not empty.
 *
 * @param maxBytes Most bytes allowed.
 * @param what How to name it.
 * @returns The reader.
 *
 * @example
 * ```ts
 * import { rawData } from "./params.ts";
 * console.log(rawData(8, "block").parse("00")); // undefined: hex is not bytes
 * console.log(rawData(8, "block").parse(new Uint8Array(2))?.length); // 2
 * ```
 */
export function rawData(maxBytes: number, what: string): ParamReader<Uint8Array> {
  return {
    expected: `a ${what} as bytes (MessagePack bin) of 1 to ${maxBytes} bytes`,
    parse: (v) => v instanceof Uint8Array && v.length > 0 && v.length <= maxBytes ? v : undefined,
  };
}

/**
 * A short, always-printable view of a param value: strings quoted and cut at 80 characters, bigints
 * with an `n` suffix, maps, lists and bytes by kind. It never throws.
 *
 * @param v Any decoded value.
 * @returns Text for an error message.
 *
 * @example
 * ```ts
 * import { show } from "./params.ts";
 * console.log(show(2n ** 60n), show({ a: 1 }), show(null)); // 1152921504606846976n a map null
 * ```
 */
export function show(v: unknown): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v.slice(0, 80)) + (v.length > 80 ? ` (${v.length} characters)` : "");
    case "bigint":
      return `${v}n`;
    case "object":
      return v === null
        ? "null"
        : v instanceof Uint8Array
        ? `binary data (${v.length} bytes)`
        : Array.isArray(v)
        ? "a list"
        : "a map";
    case "undefined":
      return "nothing";
    case "function":
    case "symbol":
      return `a ${typeof v}`;
    default:
      return String(v);
  }
}
