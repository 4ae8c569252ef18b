/**
 * How the journal stores events: in batches (the events of one turn of the event loop, up to a bound), each
 * one record of a segment file, built in one reused buffer so an event costs one copy of its frame. A record
 * is the magic `BLVJ` and three big-endian u32 lengths (frames, meta, header), then the frames back to back
 * (each with its 4-byte length prefix), the meta (per event its position, sequence number and type index, as
 * float64 triples) and the header (JSON: positions, count, time, the distinct types and their last sequence
 * numbers).
 *
 * @module
 */

/** The record's first bytes: magic and three lengths. */
export const RECORD_PREFIX = 16;
const MAGIC = 0x424c564a; // "BLVJ"

/** One journaled event, as read back. */
export interface BatchEntry {
  /** Its position. */
  pos: number;
  /** Its type. */
  type: string;
  /** Its sequence number. */
  seq: number;
  /** The frame as first sent (length prefix included); a view into the batch. */
  frame: Uint8Array;
}

/** A batch's header. */
export interface BatchHeader {
  /** Position of its first event. */
  first: number;
  /** Position of its last event. */
  last: number;
  /** Its events. */
  count: number;
  /** When it was packed (ms since the epoch). */
  at: number;
  /** The distinct types. */
  types: string[];
  /** The last sequence number of each type. */
  seqs: number[];
}

/** A packed batch: the record to write, and where its parts lie in it. */
export interface PackedBatch {
  /** The header. */
  header: BatchHeader;
  /** The whole record; a view into the builder's buffer, valid until its next `add`. */
  record: Uint8Array;
  /** Bytes of frames (they start at {@link RECORD_PREFIX}). */
  framesLength: number;
  /** Bytes of meta (right after the frames). */
  metaLength: number;
}

/**
 * Events being gathered into one batch.
 *
 * @example
 * ```ts
 * import { BatchBuilder, unpackBatch } from "./journal_batch.ts";
 * const b = new BatchBuilder();
 * b.add(1, "NewBlock", 7, new Uint8Array([0, 0, 0, 1, 0x80]));
 * const p = b.pack();
 * const body = p.record.subarray(16, 16 + p.framesLength + p.metaLength);
 * console.log([...unpackBatch(p.header.types, body, p.framesLength)].map((e) => e.seq)); // [7]
 * ```
 */
export class BatchBuilder {
  #buf = new Uint8Array(64 * 1024);
  #meta = new Float64Array(3 * 64);
  #index = new Map<string, number>();
  #lastSeqs: number[] = [];
  #count = 0;
  #end = RECORD_PREFIX;

  /** Events gathered. */
  get count(): number {
    return this.#count;
  }

  /** Frame bytes gathered. */
  get bytes(): number {
    return this.#end - RECORD_PREFIX;
  }

  /**
   * Add one event.
   *
   * @param pos Its position.
   * @param type Its type.
   * @param seq Its sequence number.
   * @param frame Its frame; copied.
   */
  add(pos: number, type: string, seq: number, frame: Uint8Array): void {
    let k = this.#index.get(type);
    if (k === undefined) this.#index.set(type, k = this.#index.size);
    if (!(this.#lastSeqs[k] >= seq)) this.#lastSeqs[k] = seq;
    const i = 3 * this.#count;
    if (i + 3 > this.#meta.length) this.#meta = grow(this.#meta, this.#meta.length * 2);
    this.#meta[i] = pos;
    this.#meta[i + 1] = seq;
    this.#meta[i + 2] = k;
    this.#ensure(this.#end + frame.length);
    this.#buf.set(frame, this.#end);
    this.#end += frame.length;
    this.#count++;
  }

  /**
   * Pack what was gathered into one record and start over (the buffer is reused).
   *
   * @returns The record and its header.
   */
  pack(): PackedBatch {
    const n = this.#count;
    const header: BatchHeader = {
      first: this.#meta[0],
      last: this.#meta[3 * (n - 1)],
      count: n,
      at: Date.now(),
      types: [...this.#index.keys()],
      seqs: this.#lastSeqs,
    };
    const json = new TextEncoder().encode(JSON.stringify(header));
    const framesLength = this.#end - RECORD_PREFIX, metaLength = 24 * n;
    this.#ensure(this.#end + metaLength + json.length);
    this.#buf.set(new Uint8Array(this.#meta.buffer, 0, metaLength), this.#end);
    this.#buf.set(json, this.#end + metaLength);
    const v = new DataView(this.#buf.buffer);
    v.setUint32(0, MAGIC);
    v.setUint32(4, framesLength);
    v.setUint32(8, metaLength);
    v.setUint32(12, json.length);
    const record = this.#buf.subarray(0, this.#end + metaLength + json.length);
    this.#index = new Map();
    this.#lastSeqs = [];
    this.#count = 0;
    this.#end = RECORD_PREFIX;
    return { header, record, framesLength, metaLength };
  }

  #ensure(size: number): void {
    if (size > this.#buf.length) this.#buf = grow(this.#buf, Math.max(size, this.#buf.length * 2));
  }
}

/**
 * Read a record's prefix and header.
 *
 * @param data Bytes from the record's start; at least the whole record.
 * @returns The header and lengths, or `undefined` if it is not a whole record.
 */
export function readRecord(
  data: Uint8Array,
): { header: BatchHeader; framesLength: number; metaLength: number; length: number } | undefined {
  if (data.length < RECORD_PREFIX) return undefined;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (v.getUint32(0) !== MAGIC) return undefined;
  const f = v.getUint32(4), m = v.getUint32(8), h = v.getUint32(12);
  const length = RECORD_PREFIX + f + m + h;
  if (length > data.length) return undefined;
  try {
    const header = JSON.parse(new TextDecoder().decode(data.subarray(RECORD_PREFIX + f + m, length)));
    return { header, framesLength: f, metaLength: m, length };
  } catch {
    return undefined;
  }
}

/**
 * The events of a batch, from its frames and meta (stored back to back).
 *
 * @param types The batch's distinct types.
 * @param body The frames, then the meta.
 * @param framesLength Bytes of frames.
 * @returns The entries, oldest first.
 */
export function* unpackBatch(types: string[], body: Uint8Array, framesLength: number): Generator<BatchEntry> {
  // The meta's bytes may not be 8-aligned: copy them into a fresh buffer.
  const m = new Float64Array(body.slice(framesLength).buffer);
  const view = new DataView(body.buffer, body.byteOffset, framesLength);
  let off = 0;
  for (let i = 0; i < m.length; i += 3) {
    const len = 4 + view.getUint32(off);
    yield { pos: m[i], seq: m[i + 1], type: types[m[i + 2]], frame: body.subarray(off, off + len) };
    off += len;
  }
}

/**
 * The events of a packed batch.
 *
 * @param b The batch.
 * @returns Its entries, oldest first.
 *
 * @example
 * ```ts
 * import { BatchBuilder, batchEntries } from "./journal_batch.ts";
 * const b = new BatchBuilder();
 * b.add(3, "NewBlock", 1, new Uint8Array([0, 0, 0, 1, 0x80]));
 * console.log([...batchEntries(b.pack())].map((e) => e.pos)); // [3]
 * ```
 */
export function batchEntries(b: PackedBatch): Iterable<BatchEntry> {
  const body = b.record.subarray(RECORD_PREFIX, RECORD_PREFIX + b.framesLength + b.metaLength);
  return unpackBatch(b.header.types, body, b.framesLength);
}

function grow<T extends Float64Array | Uint8Array>(a: T, size: number): T {
  const b = new (a.constructor as { new (n: number): T })(size);
  b.set(a);
  return b;
}
