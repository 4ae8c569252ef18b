/**
 * Incremental frame parsing over one reusable read buffer.
 *
 * A frame is a 4-byte big-endian unsigned length followed by that many body bytes. The reader parses
 * lengths in place, hands out body views without copying, compacts the buffer only when it runs out
 * of room, and rejects an oversized length before allocating anything for it.
 *
 * @module
 */
import { ErrorCode, ProtocolError } from "./errors.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "./version.ts";

/** Options for {@link FrameReader}. */
export interface FrameReaderOptions {
  /** Largest accepted frame body in bytes. Default {@link DEFAULT_MAX_FRAME_BYTES} (4 MiB). */
  maxFrameBytes?: number;
  /** Size of the reusable read buffer in bytes. Default 256 KiB. */
  bufferBytes?: number;
}

/**
 * Splits a byte stream into frame bodies.
 *
 * Use it as: read into {@link FrameReader.writable}, report the count with {@link FrameReader.commit},
 * then call {@link FrameReader.next} until it returns `null`. A returned body is a view into the read
 * buffer and stays valid only until the next call to `writable()`.
 *
 * @example Feed bytes by hand
 * ```ts
 * import { encodeFrame, FrameReader } from "@blvm/node/protocol";
 * const reader = new FrameReader();
 * const bytes = encodeFrame({ kind: "log", level: "info", message: "hi" });
 * reader.writable().set(bytes);
 * reader.commit(bytes.length);
 * console.log(reader.next()?.length === bytes.length - 4); // true
 * console.log(reader.next()); // null
 * ```
 */
export class FrameReader {
  #buf: Uint8Array;
  #view: DataView;
  #start = 0;
  #end = 0;
  #max: number;
  readonly #base: number;

  /**
   * Create a reader with an empty buffer.
   *
   * @param options Limits and buffer size.
   * @throws {RangeError} If `maxFrameBytes` is not in 1..2^32-1 or `bufferBytes` is below 16.
   */
  constructor(options: FrameReaderOptions = {}) {
    const { maxFrameBytes = DEFAULT_MAX_FRAME_BYTES, bufferBytes = 256 * 1024 } = options;
    this.#max = checkMax(maxFrameBytes, "Cannot create FrameReader");
    if (!Number.isInteger(bufferBytes) || bufferBytes < 16) {
      throw new RangeError(
        `Cannot create FrameReader: 'bufferBytes' must be an integer >= 16: current value is ${bufferBytes}`,
      );
    }
    this.#base = bufferBytes;
    this.#buf = new Uint8Array(bufferBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /**
   * Largest accepted frame body in bytes. It may be changed at any time, for example to the limit a peer
   * announced in its handshake: the new limit applies from the next length prefix that is checked, and
   * bytes already buffered are kept.
   *
   * @throws {RangeError} (on set) If the value is not an integer in 1..2^32-1.
   *
   * @example Lower the limit after a handshake
   * ```ts
   * import { FrameReader } from "@blvm/node/protocol";
   * const reader = new FrameReader();
   * reader.maxFrameBytes = 64 * 1024;
   * console.log(reader.maxFrameBytes); // 65536
   * ```
   */
  get maxFrameBytes(): number {
    return this.#max;
  }

  set maxFrameBytes(bytes: number) {
    this.#max = checkMax(bytes, "Cannot set FrameReader.maxFrameBytes");
  }

  /** Bytes received but not yet returned as a complete frame. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * The free region to read the next bytes into. Compacts or grows the buffer when needed, which
   * invalidates bodies returned earlier.
   *
   * @returns A non-empty view to read into.
   * @throws {ProtocolError} `FRAME_TOO_LARGE` when the buffer is full and holds the length prefix of a
   * frame over the maximum (only if {@link FrameReader.next} was not called to find it first).
   */
  writable(): Uint8Array {
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      // Drop a buffer grown for one big frame once it has been consumed.
      if (this.#buf.length > this.#base) this.#alloc(this.#base);
    }
    if (this.#end === this.#buf.length) {
      // Room is needed: the pending frame's full size if its header is here, else the header itself.
      const pending = this.#end - this.#start;
      const need = pending >= 4 ? 4 + this.#length() : 4;
      if (this.#start > 0 && need <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const old = this.#buf.subarray(this.#start, this.#end);
        this.#alloc(need > this.#buf.length ? need : this.#buf.length * 2);
        this.#buf.set(old);
      }
      this.#start = 0;
      this.#end = pending;
    }
    return this.#buf.subarray(this.#end);
  }

  /**
   * Record that `n` bytes were written into the region returned by {@link FrameReader.writable}.
   *
   * @param n The number of bytes read.
   */
  commit(n: number): void {
    this.#end += n;
  }

  /**
   * The next complete frame body, or `null` when more bytes are needed.
   *
   * @returns A view of the body, valid until the next `writable()` call.
   * @throws {ProtocolError} `FRAME_TOO_LARGE` as soon as a length prefix exceeds the maximum.
   */
  next(): Uint8Array | null {
    const avail = this.#end - this.#start;
    if (avail < 4) return null;
    const len = this.#length();
    if (avail < 4 + len) return null;
    const body = this.#buf.subarray(this.#start + 4, this.#start + 4 + len);
    this.#start += 4 + len;
    return body;
  }

  /** The length prefix at the read position, checked against the maximum before any allocation. */
  #length(): number {
    const len = this.#view.getUint32(this.#start);
    if (len > this.#max) {
      throw new ProtocolError(
        ErrorCode.FrameTooLarge,
        `Frame length ${len} exceeds the maximum of ${this.#max} bytes`,
      );
    }
    return len;
  }

  #alloc(size: number): void {
    this.#buf = new Uint8Array(size);
    this.#view = new DataView(this.#buf.buffer);
  }
}

function checkMax(bytes: number, what: string): number {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 0xffff_ffff) {
    throw new RangeError(`${what}: 'maxFrameBytes' must be an integer in 1..2^32-1: current value is ${bytes}`);
  }
  return bytes;
}
