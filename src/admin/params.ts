/**
 * Showing a request's parameter values in the admin socket's error messages. Values arrive decoded
 * from MessagePack, so integers beyond 2^53 are bigints, which `JSON.stringify` refuses; an error
 * message about a bad value must never fail to be built.
 *
 * @module
 */

/** Longest rendering of a value in a message, in characters. */
const MAX_SHOWN = 200;

/**
 * A parameter value as an operator reads it in an error message: JSON, bigints as their digits,
 * `nothing` (or `missing`) for a missing value, cut to 200 characters. Never throws.
 *
 * @param value Any decoded value.
 * @param missing What to show for `undefined`.
 * @returns Its rendering.
 *
 * @example
 * ```ts
 * import { shown } from "./params.ts";
 * console.log(shown(99999999999999999n)); // 99999999999999999
 * console.log(shown({ n: 1n, s: "x" })); // {"n":1,"s":"x"}
 * console.log(shown(undefined)); // nothing
 * ```
 */
export function shown(value: unknown, missing = "nothing"): string {
  if (value === undefined) return missing;
  if (typeof value === "bigint") return value.toString();
  let text: string | undefined;
  try {
    const marks: string[] = [];
    text = JSON.stringify(value, (_k, v) => typeof v === "bigint" ? `\u0000${marks.push(v.toString()) - 1}\u0000` : v);
    text = text?.replace(/"\\u0000(\d+)\\u0000"/g, (_m, i) => marks[Number(i)]);
  } catch {
    text = undefined;
  }
  text ??= String(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}
