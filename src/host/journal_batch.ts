/**
 * How the journal stores events: one SQLite row per batch (the events of one turn of the event loop, up
 * to a bound), so an event costs a copy into memory, not a statement. A batch holds its frames back to
 * back (each with its 4-byte length prefix), the distinct types, and per event its position, sequence
 * number and type index.
 *
 * @module
 */

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

/** A batch row's stored columns. */
export interface PackedBatch {
  /** Position of its first event. */
  first: number;
  /** Position of its last event. */
  last: number;
  /** Number of events. */
  count: number;
  /** The distinct types, as JSON. */
  types: string;
  /** The last sequence number of each of those types, as JSON. */
  seqs: string;
  /** `[pos, seq, type index]` per event, as float64 triples. */
  meta: Uint8Array;
  /** The frames back to back. */
  frames: Uint8Array;
}

/**
 * Events being gathered into one batch.
 *
 * @example
 * ```ts
 * import { BatchBuilder, unpackBatch } from "./journal_batch.ts";
 * const b = new BatchBuilder();
 * b.add(1, "NewBlock", 7, new Uint8Array([0, 0, 0, 1, 0x80]));
 * const packed = b.pack();
 * console.log([...unpackBatch(packed.types, packed.meta, packed.frames)].map((e) => e.seq)); // [7]
 * ```
 */
export class BatchBuilder {
  #meta = new Float64Array(3 * 64);
  #frames = new Uint8Array(16 * 1024);
  #index = new Map<string, number>();
  #lastSeqs: number[] = [];
  #count = 0;
  #bytes = 0;

  /** Events gathered. */
  get count(): number {
    return this.#count;
  }

  /** Frame bytes gathered. */
  get bytes(): number {
    return this.#bytes;
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
    const end = this.#bytes + frame.length;
    if (end > this.#frames.length) this.#frames = grow(this.#frames, Math.max(end, this.#frames.length * 2));
    this.#frames.set(frame, this.#bytes);
    this.#bytes = end;
    this.#count++;
  }

  /**
   * Pack what was gathered and start over.
   *
   * @returns The batch's columns.
   */
  pack(): PackedBatch {
    const n = this.#count;
    const meta = this.#meta.slice(0, 3 * n);
    const packed = {
      first: meta[0],
      last: meta[3 * (n - 1)],
      count: n,
      types: JSON.stringify([...this.#index.keys()]),
      seqs: JSON.stringify(this.#lastSeqs),
      meta: new Uint8Array(meta.buffer),
      frames: this.#frames.slice(0, this.#bytes),
    };
    this.#index.clear();
    this.#lastSeqs = [];
    this.#count = 0;
    this.#bytes = 0;
    return packed;
  }
}

function grow<T extends Float64Array | Uint8Array>(a: T, size: number): T {
  const b = new (a.constructor as { new (n: number): T })(size);
  b.set(a);
  return b;
}

/**
 * Read a stored batch back.
 *
 * @param types The distinct types, as JSON.
 * @param meta The `[pos, seq, type index]` triples.
 * @param frames The frames back to back.
 * @returns The entries, oldest first.
 */
export function* unpackBatch(types: string, meta: Uint8Array, frames: Uint8Array): Generator<BatchEntry> {
  const names = JSON.parse(types) as string[];
  // The blob's bytes may not be 8-aligned: copy them into a fresh buffer.
  const m = new Float64Array(meta.slice().buffer);
  const view = new DataView(frames.buffer, frames.byteOffset, frames.byteLength);
  let off = 0;
  for (let i = 0; i < m.length; i += 3) {
    const len = 4 + view.getUint32(off);
    yield { pos: m[i], seq: m[i + 1], type: names[m[i + 2]], frame: frames.subarray(off, off + len) };
    off += len;
  }
}
