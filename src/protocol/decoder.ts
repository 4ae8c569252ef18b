/**
 * MessagePack decoding for frame bodies, using msgpackr's decoder configured for standard MessagePack:
 * maps become plain objects, `bin` becomes a copied `Uint8Array`, and 64-bit integers become numbers
 * when they are safe integers and `bigint` otherwise.
 *
 * @module
 */
import { Unpackr } from "msgpackr/pack";
import { ErrorCode, ProtocolError } from "./errors.ts";

const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  // Frames are views into a reused read buffer: bin values must not alias it.
  copyBuffers: true,
  // "auto" (numbers when safe, bigint beyond 2^53) is implemented but missing from the typings.
  int64AsType: "auto" as "number",
});

/**
 * Decode exactly one MessagePack value from `bytes`. Trailing bytes, truncated input and invalid type
 * bytes all throw.
 *
 * @param bytes The frame body.
 * @returns The decoded value.
 * @throws {ProtocolError} with code `MALFORMED_FRAME` when the bytes are not one MessagePack value.
 *
 * @example
 * ```ts
 * import { decode, encode } from "@blvm/node/protocol";
 * console.log(decode(encode({ height: 5 }))); // { height: 5 }
 * ```
 */
export function decode(bytes: Uint8Array): unknown {
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (e) {
    throw new ProtocolError(
      ErrorCode.MalformedFrame,
      `Frame body of ${bytes.length} bytes is not one MessagePack value: ${(e as Error).message}`,
      { cause: e },
    );
  }
  // msgpackr turns the never-used type byte 0xc1 into a sentinel object instead of failing. Only
  // frames holding that byte at all need the (rare) walk.
  if (bytes.includes(0xc1) && holdsNeverUsed(value, 0)) {
    throw new ProtocolError(
      ErrorCode.MalformedFrame,
      `Frame body of ${bytes.length} bytes uses the never-used type byte 0xc1`,
    );
  }
  return value;
}

function holdsNeverUsed(v: unknown, depth: number): boolean {
  if (typeof v !== "object" || v === null || v instanceof Uint8Array || depth > 512) return false;
  if (v.constructor?.name === "C1Type") return true;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (holdsNeverUsed(x, depth + 1)) return true;
  return false;
}
