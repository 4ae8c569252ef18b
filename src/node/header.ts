/**
 * Bitcoin block header encoding, hashing, merkle roots and proof-of-work arithmetic.
 *
 * @module
 */
import type { BlockHeader } from "../protocol/api.ts";
import { merkleOfIds, sha256d as fastSha256d } from "./sha256.ts";

/** The fields that make up a serialized header (everything in {@link BlockHeader} but hash and height). */
export type HeaderFields = Omit<BlockHeader, "hash" | "height">;

/**
 * Convert bytes to lowercase hex.
 *
 * @param bytes Input bytes.
 * @returns Hex string.
 *
 * @example
 * ```ts
 * import { toHex } from "@blvm/node";
 * console.log(toHex(new Uint8Array([0, 255]))); // "00ff"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b];
  return s;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Parse a hex string.
 *
 * @param hex Even-length hex.
 * @returns The bytes.
 * @throws {SyntaxError} if `hex` is not even-length hex.
 *
 * @example
 * ```ts
 * import { fromHex } from "@blvm/node";
 * console.log(fromHex("00ff")); // Uint8Array [0, 255]
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new SyntaxError(
      `Cannot parse hex: expected an even number of hex digits, got ${JSON.stringify(hex.slice(0, 80))}`,
    );
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1));
  }
  return out;
}

function nibble(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

/** Hex in display (RPC) order → internal byte order. */
function displayToInternal(hex: string): Uint8Array {
  return fromHex(hex).reverse();
}

/**
 * Serialize a header to its 80 consensus bytes.
 *
 * @param h The header fields; hashes in display order.
 * @returns 80 bytes.
 *
 * @example
 * ```ts
 * import { serializeHeader } from "@blvm/node";
 * const zero = "00".repeat(32);
 * const bytes = serializeHeader({ version: 1, prev_hash: zero, merkle_root: zero, time: 0, bits: 0x207fffff, nonce: 0 });
 * console.log(bytes.length); // 80
 * ```
 */
export function serializeHeader(h: HeaderFields): Uint8Array {
  const out = new Uint8Array(80);
  const view = new DataView(out.buffer);
  view.setInt32(0, h.version, true);
  out.set(displayToInternal(h.prev_hash), 4);
  out.set(displayToInternal(h.merkle_root), 36);
  view.setUint32(68, h.time, true);
  view.setUint32(72, h.bits, true);
  view.setUint32(76, h.nonce, true);
  return out;
}

/**
 * Parse the 80 consensus bytes of a header.
 *
 * @param bytes At least 80 bytes; only the first 80 are read.
 * @returns The header fields, hashes in display order.
 * @throws {RangeError} if fewer than 80 bytes are given.
 *
 * @example
 * ```ts
 * import { parseHeader, serializeHeader } from "@blvm/node";
 * const zero = "00".repeat(32);
 * const h = { version: 1, prev_hash: zero, merkle_root: zero, time: 7, bits: 0x207fffff, nonce: 9 };
 * console.log(parseHeader(serializeHeader(h)).nonce); // 9
 * ```
 */
export function parseHeader(bytes: Uint8Array): HeaderFields {
  if (bytes.length < 80) throw new RangeError(`Cannot parse a header: ${bytes.length} bytes, expected 80`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, 80);
  return {
    version: view.getInt32(0, true),
    prev_hash: toHex(bytes.slice(4, 36).reverse()),
    merkle_root: toHex(bytes.slice(36, 68).reverse()),
    time: view.getUint32(68, true),
    bits: view.getUint32(72, true),
    nonce: view.getUint32(76, true),
  };
}

/**
 * Double SHA-256.
 *
 * @param bytes Input.
 * @returns 32-byte digest (internal order).
 *
 * @example
 * ```ts
 * import { sha256d } from "@blvm/node";
 * console.log(sha256d(new Uint8Array()).length); // 32
 * ```
 */
export function sha256d(bytes: Uint8Array): Uint8Array {
  return fastSha256d(bytes);
}

/**
 * The block hash of a header, as display-order hex.
 *
 * @param h The header fields.
 * @returns 64 hex characters.
 *
 * @example
 * ```ts
 * import { headerHash } from "@blvm/node";
 * const h = headerHash({
 *   version: 1,
 *   prev_hash: "00".repeat(32),
 *   merkle_root: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
 *   time: 1296688602, bits: 0x207fffff, nonce: 2,
 * });
 * console.log(h); // regtest genesis: 0f9188f1...
 * ```
 */
export function headerHash(h: HeaderFields): string {
  return toHex(sha256d(serializeHeader(h)).reverse());
}

/**
 * The target a compact `bits` value encodes.
 *
 * @param bits Compact target.
 * @returns The target as a bigint.
 *
 * @example
 * ```ts
 * import { bitsToTarget } from "@blvm/node";
 * console.log(bitsToTarget(0x207fffff) === 0x7fffffn << 232n); // true
 * ```
 */
export function bitsToTarget(bits: number): bigint {
  const exponent = bits >>> 24;
  const mantissa = BigInt(bits & 0x7fffff);
  return exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3));
}

/**
 * The expected number of hashes to find a block at `bits`: 2^256 / (target + 1).
 *
 * @param bits Compact target.
 * @returns Work as a bigint.
 *
 * @example
 * ```ts
 * import { blockWork } from "@blvm/node";
 * console.log(blockWork(0x207fffff)); // 2n
 * ```
 */
export function blockWork(bits: number): bigint {
  return (1n << 256n) / (bitsToTarget(bits) + 1n);
}

/**
 * Whether a display-order hash meets the target encoded by `bits`.
 *
 * @param hash Display-order hex hash.
 * @param bits Compact target.
 * @returns `true` if the proof of work is valid.
 *
 * @example
 * ```ts
 * import { meetsTarget } from "@blvm/node";
 * console.log(meetsTarget("00".repeat(32), 0x207fffff)); // true
 * ```
 */
export function meetsTarget(hash: string, bits: number): boolean {
  return BigInt("0x" + hash) <= bitsToTarget(bits);
}

/**
 * The Bitcoin merkle root of a block's transaction ids: hash pairs with double SHA-256 in internal byte
 * order, duplicating the last hash of an odd-length level, until one remains.
 *
 * @param txids Transaction ids in block order, display-order hex (case-insensitive).
 * @returns The merkle root, display-order hex; for one transaction, its txid.
 * @throws {RangeError} if `txids` is empty (a block has at least its coinbase).
 * @throws {SyntaxError} if a txid is not 64 hex digits.
 *
 * @example
 * ```ts
 * import { merkleRoot } from "@blvm/node";
 * const coinbase = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
 * console.log(merkleRoot([coinbase]) === coinbase); // true
 * ```
 */
export function merkleRoot(txids: readonly string[]): string {
  if (txids.length === 0) throw new RangeError("Cannot compute a merkle root: the transaction list is empty");
  return toHex(merkleOfIds(txids.length, (i) => txids[i]).reverse());
}
