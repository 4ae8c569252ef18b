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
  try {
    return unpackr.unpack(bytes);
  } catch (e) {
    throw new ProtocolError(
      ErrorCode.MalformedFrame,
      `Frame body of ${bytes.length} bytes is not one MessagePack value: ${(e as Error).message}`,
      { cause: e },
    );
  }
}
