/**
 * A strict, standard MessagePack encoder that writes length-prefixed frames straight into a reusable
 * output buffer.
 *
 * Why not a library encoder: the fast JS encoders write integers of 2^32 and above as float64, which a
 * Rust or Python module decoding a `u64` rejects. This encoder always uses the smallest integer form
 * (up to uint64/int64), uses only the core MessagePack types (no extension types), and throws a
 * `TypeError` naming the path of any value it cannot represent.
 *
 * @module
 */

const MAX_DEPTH = 64;
const TWO_32 = 0x1_0000_0000;
const utf8 = new TextEncoder();
// How a nested value sits in its parent (see EncodeBuffer's #path).
const OBJECT = 0, ARRAY = 1, MAP_KEY = 2, MAP_VALUE = 3;

/**
 * A growable buffer that MessagePack values and whole frames are encoded into. The host and the SDK
 * keep two per connection and swap them while a write is in flight.
 *
 * @example Encode a frame and inspect its bytes
 * ```ts
 * import { EncodeBuffer } from "@blvm/node/protocol";
 * const buf = new EncodeBuffer();
 * buf.frame({ kind: "log", level: "info", message: "hi" });
 * console.log(buf.bytes()); // 4-byte length, then the map
 * ```
 */
export class EncodeBuffer {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  /** The key or index at each depth of the value being encoded, and how it nests: for error messages only. */
  readonly #keys: unknown[] = [];
  readonly #kinds: number[] = [];

  /**
   * Create an empty buffer.
   *
   * @param initialBytes Starting capacity in bytes; the buffer grows as needed. Default 64 KiB.
   * @throws {RangeError} If `initialBytes` is not a non-negative integer.
   */
  constructor(initialBytes = 64 * 1024) {
    if (!Number.isInteger(initialBytes) || initialBytes < 0) {
      throw new RangeError(
        `Cannot create EncodeBuffer: 'initialBytes' must be a non-negative integer: current value is ${initialBytes}`,
      );
    }
    this.#buf = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Number of bytes written since the last {@link EncodeBuffer.reset}. */
  get length(): number {
    return this.#pos;
  }

  /** A view of the bytes written so far; valid until the next write or reset. */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  /** Forget everything written, keeping the capacity. */
  reset(): void {
    this.#pos = 0;
  }

  /**
   * Drop everything written after the first `length` bytes.
   *
   * @param length The length to keep; must not exceed {@link EncodeBuffer.length}.
   */
  truncate(length: number): void {
    if (length < 0 || length > this.#pos) {
      throw new RangeError(`Cannot truncate to ${length}: only ${this.#pos} bytes written`);
    }
    this.#pos = length;
  }

  /**
   * Append one frame: a 4-byte big-endian length, then `value` as MessagePack. On a `TypeError` or
   * `RangeError` nothing is appended.
   *
   * @param value The message to encode.
   * @returns The total size of the frame in bytes, prefix included.
   */
  frame(value: unknown): number {
    const start = this.#pos;
    this.#ensure(4);
    this.#pos += 4;
    try {
      this.#value(value, 0);
    } catch (e) {
      this.#pos = start;
      throw e;
    }
    const size = this.#pos - start;
    this.#view.setUint32(start, size - 4);
    return size;
  }

  /**
   * Append one MessagePack value with no length prefix.
   *
   * @param value The value to encode.
   */
  value(value: unknown): void {
    const start = this.#pos;
    try {
      this.#value(value, 0);
    } catch (e) {
      this.#pos = start;
      throw e;
    }
  }

  /**
   * Append bytes that are already encoded (for example, a frame encoded once for many subscribers).
   *
   * @param bytes The bytes to copy in.
   */
  raw(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  #ensure(extra: number): void {
    const need = this.#pos + extra;
    if (need <= this.#buf.length) return;
    let size = Math.max(64, this.#buf.length * 2);
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  #byte(b: number): void {
    this.#buf[this.#pos++] = b;
  }

  /** Where the value at `depth` sits, for an error message: `payload.txids[3]`, or "value" at the top. */
  #path(depth: number): string {
    let s = "";
    for (let i = 0; i < depth; i++) {
      const k = this.#keys[i];
      const kind = this.#kinds[i];
      if (kind === OBJECT) s = s ? `${s}.${k}` : String(k);
      else if (kind === ARRAY) s += `[${k}]`;
      else if (kind === MAP_KEY) s += "<key>";
      else s += `.${String(k)}`;
    }
    return s || "value";
  }

  /** Encodes a value nested at `depth + 1` under `key`. */
  #nested(v: unknown, depth: number, kind: number, key: unknown): void {
    this.#keys[depth] = key;
    this.#kinds[depth] = kind;
    this.#value(v, depth + 1);
  }

  #value(v: unknown, depth: number): void {
    switch (typeof v) {
      case "string":
        return this.#string(v);
      case "number":
        return this.#number(v);
      case "boolean":
        this.#ensure(1);
        return this.#byte(v ? 0xc3 : 0xc2);
      case "bigint":
        return this.#bigint(v, depth);
      case "undefined":
        this.#ensure(1);
        return this.#byte(0xc0);
      case "object":
        if (v === null) {
          this.#ensure(1);
          return this.#byte(0xc0);
        }
        if (depth >= MAX_DEPTH) {
          throw new RangeError(
            `Cannot encode ${this.#path(depth)}: nested deeper than ${MAX_DEPTH} levels (is it cyclic?)`,
          );
        }
        if (Array.isArray(v)) return this.#array(v, depth);
        if (v instanceof Uint8Array) return this.#bin(v);
        if (v instanceof Map) return this.#map(v, depth);
        if (isPlainObject(v)) return this.#object(v as Record<string, unknown>, depth);
        throw new TypeError(
          `Cannot encode ${this.#path(depth)}: ${
            v.constructor?.name ?? "object"
          } is not a plain object, array, Map or Uint8Array`,
        );
      default:
        throw new TypeError(`Cannot encode ${this.#path(depth)}: values of type ${typeof v} have no MessagePack form`);
    }
  }

  #number(n: number): void {
    this.#ensure(9);
    const b = this.#buf, view = this.#view;
    if (!Number.isInteger(n) || n >= 2 ** 64 || n < -(2 ** 63)) {
      b[this.#pos] = 0xcb;
      view.setFloat64(this.#pos + 1, n);
      this.#pos += 9;
    } else if (n >= 0) {
      if (n < 0x80) b[this.#pos++] = n;
      else if (n < 0x100) {
        b[this.#pos++] = 0xcc;
        b[this.#pos++] = n;
      } else if (n < 0x10000) {
        b[this.#pos] = 0xcd;
        view.setUint16(this.#pos + 1, n);
        this.#pos += 3;
      } else if (n < TWO_32) {
        b[this.#pos] = 0xce;
        view.setUint32(this.#pos + 1, n);
        this.#pos += 5;
      } else {
        b[this.#pos] = 0xcf;
        view.setBigUint64(this.#pos + 1, BigInt(n));
        this.#pos += 9;
      }
    } else if (n >= -32) b[this.#pos++] = n & 0xff;
    else if (n >= -0x80) {
      b[this.#pos++] = 0xd0;
      b[this.#pos++] = n & 0xff;
    } else if (n >= -0x8000) {
      b[this.#pos] = 0xd1;
      view.setInt16(this.#pos + 1, n);
      this.#pos += 3;
    } else if (n >= -0x8000_0000) {
      b[this.#pos] = 0xd2;
      view.setInt32(this.#pos + 1, n);
      this.#pos += 5;
    } else {
      b[this.#pos] = 0xd3;
      view.setBigInt64(this.#pos + 1, BigInt(n));
      this.#pos += 9;
    }
  }

  #bigint(n: bigint, depth: number): void {
    if (n >= -0x8000_0000n && n < 0x1_0000_0000n) return this.#number(Number(n));
    this.#ensure(9);
    if (n >= 0n && n < 2n ** 64n) {
      this.#buf[this.#pos] = 0xcf;
      this.#view.setBigUint64(this.#pos + 1, n);
    } else if (n < 0n && n >= -(2n ** 63n)) {
      this.#buf[this.#pos] = 0xd3;
      this.#view.setBigInt64(this.#pos + 1, n);
    } else {
      throw new RangeError(`Cannot encode ${this.#path(depth)}: bigint ${n} does not fit in 64 bits`);
    }
    this.#pos += 9;
  }

  #string(s: string): void {
    const len = s.length;
    if (len < 0x100) {
      // Fast path for ASCII strings up to 255 characters (keys, kinds, method names, hex hashes and ids).
      const head = len < 32 ? 1 : 2;
      this.#ensure(head + len);
      const b = this.#buf;
      let p = this.#pos + head;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          p = -1;
          break;
        }
        b[p++] = c;
      }
      if (p !== -1) {
        if (head === 1) b[this.#pos] = 0xa0 | len;
        else {
          b[this.#pos] = 0xd9;
          b[this.#pos + 1] = len;
        }
        this.#pos = p;
        return;
      }
    }
    // General path: encode after a 5-byte header slot, then shrink the header to its minimal form.
    this.#ensure(5 + len * 3);
    const start = this.#pos + 5;
    const n = utf8.encodeInto(s, this.#buf.subarray(start)).written;
    const header = n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
    if (header < 5) this.#buf.copyWithin(this.#pos + header, start, start + n);
    this.#header(n, 0xa0, 32, 0xd9, 0xda, 0xdb);
    this.#pos += n;
  }

  #bin(bytes: Uint8Array): void {
    const n = bytes.length;
    this.#ensure(5 + n);
    if (n < 0x100) {
      this.#byte(0xc4);
      this.#byte(n);
    } else if (n < 0x10000) {
      this.#byte(0xc5);
      this.#view.setUint16(this.#pos, n);
      this.#pos += 2;
    } else {
      this.#byte(0xc6);
      this.#view.setUint32(this.#pos, n);
      this.#pos += 4;
    }
    this.#buf.set(bytes, this.#pos);
    this.#pos += n;
  }

  #array(a: unknown[], depth: number): void {
    this.#ensure(5);
    this.#header(a.length, 0x90, 16, -1, 0xdc, 0xdd);
    for (let i = 0; i < a.length; i++) this.#nested(a[i], depth, ARRAY, i);
  }

  #map(m: Map<unknown, unknown>, depth: number): void {
    this.#ensure(5);
    this.#header(m.size, 0x80, 16, -1, 0xde, 0xdf);
    for (const [k, v] of m) {
      this.#nested(k, depth, MAP_KEY, k);
      this.#nested(v, depth, MAP_VALUE, k);
    }
  }

  #object(o: Record<string, unknown>, depth: number): void {
    // Properties whose value is undefined are left out, as JSON.stringify does.
    let count = 0;
    for (const k in o) if (o[k] !== undefined) count++;
    this.#ensure(5);
    this.#header(count, 0x80, 16, -1, 0xde, 0xdf);
    for (const k in o) {
      const v = o[k];
      if (v === undefined) continue;
      this.#string(k);
      this.#nested(v, depth, OBJECT, k);
    }
  }

  /** Writes a length header: fix form below `fixLimit`, else 8/16/32-bit (`op8` -1 = no 8-bit form). */
  #header(n: number, fix: number, fixLimit: number, op8: number, op16: number, op32: number): void {
    if (n < fixLimit) this.#byte(fix | n);
    else if (op8 !== -1 && n < 0x100) {
      this.#byte(op8);
      this.#byte(n);
    } else if (n < 0x10000) {
      this.#byte(op16);
      this.#view.setUint16(this.#pos, n);
      this.#pos += 2;
    } else {
      this.#byte(op32);
      this.#view.setUint32(this.#pos, n);
      this.#pos += 4;
    }
  }
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const scratch = new EncodeBuffer(1024);

/**
 * Encode one value as a standalone MessagePack byte string (a fresh copy).
 *
 * @param value The value to encode.
 * @returns The MessagePack bytes.
 *
 * @example
 * ```ts
 * import { encode } from "@blvm/node/protocol";
 * console.log(encode({ a: 1 })); // Uint8Array [ 0x81, 0xa1, 0x61, 0x01 ]
 * ```
 */
export function encode(value: unknown): Uint8Array {
  scratch.reset();
  scratch.value(value);
  return scratch.bytes().slice();
}

/**
 * Encode one value as a complete frame (4-byte big-endian length, then the MessagePack body), as a
 * fresh copy. Use it to encode an event once and write the same bytes to many connections.
 *
 * @param value The message to encode.
 * @returns The frame bytes.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "@blvm/node/protocol";
 * const bytes = encodeFrame({ kind: "event", type: "NewBlock", seq: 1, payload: { height: 1 } });
 * console.log(new DataView(bytes.buffer).getUint32(0) === bytes.length - 4); // true
 * ```
 */
export function encodeFrame(value: unknown): Uint8Array {
  scratch.reset();
  scratch.frame(value);
  return scratch.bytes().slice();
}
