/**
 * Strict MessagePack decoding for frame bodies.
 *
 * Only the core MessagePack types are accepted, as the protocol specifies: extension types and the
 * never-used byte 0xc1 are malformed. Maps become plain objects, `bin` becomes a copied `Uint8Array`,
 * and 64-bit integers become numbers when they are within ±2^53 and `bigint` otherwise.
 *
 * The decoder is written for input from an untrusted peer: every length is checked against the bytes
 * that are really there before anything is allocated for it, nesting is capped at 64 levels of maps and
 * arrays (the encoder's own limit, so whatever is decoded can be sent on), and nothing is interpreted
 * beyond the core types (a general-purpose decoder would build dates, sets, shared or cyclic
 * references from extension types).
 *
 * @module
 */
import { ErrorCode, ProtocolError } from "./errors.ts";

/** Deepest nesting of maps and arrays accepted; equal to the encoder's limit. */
const MAX_DEPTH = 64;
/** Strings up to this many bytes are decoded in JS; longer ones by `TextDecoder`. */
const SHORT_STRING = 32;
/** Invalid UTF-8 becomes U+FFFD; a leading U+FEFF is data, not a byte-order mark to strip. */
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const EMPTY = new Uint8Array(0);
const MAX_INT_NUMBER = 2n ** 53n;
const MIN_INT_NUMBER = -(2n ** 53n);

// Decoder state. decode() is synchronous and never re-entered, so one set serves every call.
let src: Uint8Array = EMPTY;
let pos = 0;
/** A DataView of `src`, made on first use (floats and 64-bit integers only). */
let view: DataView | undefined;
/** Map entries the current body may still hold. */
let entriesLeft = Infinity;

/** Why a body is malformed; turned into a `ProtocolError` by {@link decode}. */
class Malformed extends Error {}

/**
 * Decode exactly one MessagePack value from `bytes`. Trailing bytes, truncated input, extension types,
 * the never-used byte 0xc1, map keys that are maps, arrays or binary, and nesting deeper than 64 levels
 * all throw.
 *
 * Map keys that are numbers, booleans or nil are converted to strings, and a `__proto__` key is read as
 * `__proto_` so that it cannot replace the decoded object's prototype.
 *
 * A map with very many keys is slow to build (tens of milliseconds per 100,000 keys), so a receiver that
 * must stay responsive (the host, decoding what modules send) can cap the map entries of one body.
 *
 * @param bytes The frame body.
 * @param maxMapEntries Most map entries (all maps together) the body may hold. Default: no cap.
 * @returns The decoded value.
 * @throws {ProtocolError} with code `MALFORMED_FRAME` when the bytes are not one MessagePack value, or
 * hold more map entries than allowed.
 *
 * @example
 * ```ts
 * import { decode, encode } from "@blvm/node/protocol";
 * console.log(decode(encode({ height: 5 }))); // { height: 5 }
 * ```
 */
export function decode(bytes: Uint8Array, maxMapEntries = Infinity): unknown {
  src = bytes;
  pos = 0;
  entriesLeft = maxMapEntries;
  try {
    const value = read(0);
    if (pos !== bytes.length) throw new Malformed(`${bytes.length - pos} trailing bytes after the value`);
    return value;
  } catch (e) {
    // Malformed is ours; anything else (a RangeError for a string too long for the engine) is the input's fault too.
    throw new ProtocolError(
      ErrorCode.MalformedFrame,
      `Frame body of ${bytes.length} bytes is not one MessagePack value: ${(e as Error).message}`,
      { cause: e },
    );
  } finally {
    // Do not keep the (reused) read buffer alive between frames.
    src = EMPTY;
    view = undefined;
  }
}

/** Advances past `n` bytes and returns where they start; throws if fewer are left. */
function take(n: number): number {
  const at = pos;
  if (n > src.length - at) throw new Malformed(`truncated: ${n} bytes needed at offset ${at}, ${src.length - at} left`);
  pos = at + n;
  return at;
}

function dataView(): DataView {
  return view ??= new DataView(src.buffer, src.byteOffset, src.byteLength);
}

function u16(at: number): number {
  return (src[at] << 8) | src[at + 1];
}

function u32(at: number): number {
  return src[at] * 0x100_0000 + ((src[at + 1] << 16) | (src[at + 2] << 8) | src[at + 3]);
}

function read(depth: number): unknown {
  const t = src[take(1)];
  if (t < 0x80) return t;
  if (t < 0x90) return readMap(t & 0x0f, depth);
  if (t < 0xa0) return readArray(t & 0x0f, depth);
  if (t < 0xc0) return readString(t & 0x1f);
  if (t >= 0xe0) return t - 0x100;
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBin(src[take(1)]);
    case 0xc5:
      return readBin(u16(take(2)));
    case 0xc6:
      return readBin(u32(take(4)));
    case 0xca:
      return dataView().getFloat32(take(4));
    case 0xcb:
      return dataView().getFloat64(take(8));
    case 0xcc:
      return src[take(1)];
    case 0xcd:
      return u16(take(2));
    case 0xce:
      return u32(take(4));
    case 0xcf: {
      const at = take(8);
      const hi = u32(at);
      // Up to 2^53 as a number, beyond as a bigint.
      if (hi < 0x20_0000 || (hi === 0x20_0000 && u32(at + 4) === 0)) return hi * 0x1_0000_0000 + u32(at + 4);
      return dataView().getBigUint64(at);
    }
    case 0xd0:
      return (src[take(1)] << 24) >> 24;
    case 0xd1:
      return (u16(take(2)) << 16) >> 16;
    case 0xd2:
      return u32(take(4)) | 0;
    case 0xd3: {
      const big = dataView().getBigInt64(take(8));
      return big >= MIN_INT_NUMBER && big <= MAX_INT_NUMBER ? Number(big) : big;
    }
    case 0xd9:
      return readString(src[take(1)]);
    case 0xda:
      return readString(u16(take(2)));
    case 0xdb:
      return readString(u32(take(4)));
    case 0xdc:
      return readArray(u16(take(2)), depth);
    case 0xdd:
      return readArray(u32(take(4)), depth);
    case 0xde:
      return readMap(u16(take(2)), depth);
    case 0xdf:
      return readMap(u32(take(4)), depth);
    case 0xc1:
      throw new Malformed(`the never-used type byte 0xc1 at offset ${pos - 1}`);
    default:
      // 0xc7-0xc9 and 0xd4-0xd8.
      throw new Malformed(
        `extension type byte 0x${t.toString(16)} at offset ${pos - 1}: the protocol uses no extension types`,
      );
  }
}

/** Checks a container header: depth, and a count the remaining bytes can hold (one byte per item at least). */
function container(count: number, itemsPerEntry: number, depth: number): void {
  if (depth >= MAX_DEPTH) throw new Malformed(`maps and arrays nested deeper than ${MAX_DEPTH} levels`);
  if (count * itemsPerEntry > src.length - pos) {
    throw new Malformed(`a container of ${count} entries at offset ${pos} is longer than the body`);
  }
}

function readArray(count: number, depth: number): unknown[] {
  container(count, 1, depth);
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = read(depth + 1);
  return out;
}

function readMap(count: number, depth: number): Record<string, unknown> {
  container(count, 2, depth);
  entriesLeft -= count;
  if (entriesLeft < 0) throw new Malformed(`more map entries than the receiver accepts in one frame`);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const t = src[pos];
    let key: string;
    if (t >= 0xa0 && t < 0xc0) {
      pos++;
      key = readKey(t & 0x1f);
    } else {
      const k = read(depth + 1);
      if (typeof k === "string") key = k;
      else if (k === null || typeof k === "number" || typeof k === "boolean" || typeof k === "bigint") key = String(k);
      else throw new Malformed(`a map key at offset ${pos} is ${Array.isArray(k) ? "an array" : "a map or binary"}`);
    }
    if (key === "__proto__") key = "__proto_";
    out[key] = read(depth + 1);
  }
  return out;
}

/**
 * Recently seen map keys and short strings, by a hash of their bytes: the same few come in every message,
 * and handing out the same string again saves building and hashing it.
 */
const keyCache: string[] = new Array(1024).fill("");

function readKey(length: number): string {
  const at = take(length);
  if (length === 0) return "";
  const slot = (length * 97 + src[at] * 31 + src[pos - 1]) & 1023;
  const cached = keyCache[slot];
  if (cached.length === length) {
    let i = 0;
    while (i < length && cached.charCodeAt(i) === src[at + i]) i++;
    if (i === length) return cached;
  }
  const key = shortString(at, pos);
  // Cached only with one char per byte: every char is then ASCII (or U+FFFD for a bad byte, which no
  // byte equals), so a later hit above means exactly the same bytes.
  if (key.length === length) keyCache[slot] = key;
  return key;
}

function readString(length: number): string {
  // Short strings are mostly the same few values (kinds, methods, event types): the key cache serves them too.
  if (length <= SHORT_STRING) return readKey(length);
  const at = take(length);
  return utf8.decode(src.subarray(at, pos));
}

/**
 * Decodes well-formed UTF-8 in JS, which is faster than `TextDecoder` for short strings (keys, kinds,
 * method names). Anything ill-formed goes to `TextDecoder`, so both paths give the same result.
 */
function shortString(at: number, end: number): string {
  let s = "";
  for (let i = at; i < end;) {
    const b = src[i];
    let cp: number;
    if (b < 0x80) {
      cp = b;
      i += 1;
    } else if (b >= 0xc2 && b < 0xe0 && end - i >= 2 && (src[i + 1] & 0xc0) === 0x80) {
      cp = ((b & 0x1f) << 6) | (src[i + 1] & 0x3f);
      i += 2;
    } else if (b >= 0xe0 && b < 0xf0 && end - i >= 3 && (src[i + 1] & 0xc0) === 0x80 && (src[i + 2] & 0xc0) === 0x80) {
      cp = ((b & 0x0f) << 12) | ((src[i + 1] & 0x3f) << 6) | (src[i + 2] & 0x3f);
      if (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000)) return utf8.decode(src.subarray(at, end));
      i += 3;
    } else if (
      b >= 0xf0 && b < 0xf5 && end - i >= 4 && (src[i + 1] & 0xc0) === 0x80 && (src[i + 2] & 0xc0) === 0x80 &&
      (src[i + 3] & 0xc0) === 0x80
    ) {
      cp = ((b & 0x07) << 18) | ((src[i + 1] & 0x3f) << 12) | ((src[i + 2] & 0x3f) << 6) | (src[i + 3] & 0x3f);
      if (cp < 0x10000 || cp > 0x10ffff) return utf8.decode(src.subarray(at, end));
      i += 4;
      s += String.fromCharCode(0xd800 | ((cp - 0x10000) >> 10), 0xdc00 | (cp & 0x3ff));
      continue;
    } else {
      return utf8.decode(src.subarray(at, end));
    }
    s += String.fromCharCode(cp);
  }
  return s;
}

function readBin(length: number): Uint8Array {
  const at = take(length);
  // A copy: frame bodies are views into a reused read buffer.
  return src.slice(at, pos);
}
