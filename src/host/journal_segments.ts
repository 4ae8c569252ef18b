/**
 * The journal's event store: batches appended to segment files, which go whole when trimmed. A write is
 * one `write(2)` of the batch's record, so a killed host leaves every batch it wrote; a record cut short
 * (a power loss) is found and cut off when the log is opened. Segments are not synced to disk: after a
 * power loss the journal may lose its last writes, never its consistency.
 *
 * The record format is in `journal_batch.ts`.
 *
 * @module
 */
import {
  type BatchEntry,
  type BatchHeader,
  type PackedBatch,
  readRecord,
  RECORD_PREFIX,
  unpackBatch,
} from "./journal_batch.ts";

/** One batch as the log knows it: its header and its frame bytes. */
export interface BatchInfo extends BatchHeader {
  /** Its frame bytes. */
  bytes: number;
}

interface Stored extends BatchInfo {
  /** Offset of its frames (then meta) in the segment file. */
  offset: number;
  metaLength: number;
}

interface Segment {
  path: string;
  size: number;
  events: number;
  batches: Stored[];
}

/**
 * The segment files of one journal.
 *
 * @example
 * ```ts
 * import { BatchBuilder } from "./journal_batch.ts";
 * import { SegmentLog } from "./journal_segments.ts";
 * const dir = await Deno.makeTempDir();
 * const log = SegmentLog.open(dir, { segmentBytes: 1 << 20, segmentEvents: 1000 });
 * const b = new BatchBuilder();
 * b.add(1, "NewBlock", 1, new Uint8Array([0, 0, 0, 1, 0x80]));
 * log.append(b.pack());
 * console.log([...log.entries(0)].length); // 1
 * log.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SegmentLog {
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #segmentEvents: number;
  readonly #segmentAgeMs: number;
  readonly #segments: Segment[] = [];
  #file?: Deno.FsFile;
  #count = 0;
  #bytes = 0;

  private constructor(dir: string, segmentBytes: number, segmentEvents: number, segmentAgeMs: number) {
    this.#dir = dir;
    this.#segmentBytes = segmentBytes;
    this.#segmentEvents = segmentEvents;
    this.#segmentAgeMs = segmentAgeMs;
  }

  /**
   * Open the log in `dir` (created if missing), reading every segment's batch headers and cutting off a
   * record left incomplete.
   *
   * @param dir The folder of the segment files.
   * @param options When a segment is full: bytes, events, or the age of its first batch (default: never).
   * @returns The log.
   */
  static open(
    dir: string,
    options: { segmentBytes: number; segmentEvents: number; segmentAgeMs?: number },
  ): SegmentLog {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const log = new SegmentLog(dir, options.segmentBytes, options.segmentEvents, options.segmentAgeMs ?? Infinity);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /^seg-\d{16}\.log$/.test(n)).sort();
    for (const name of names) log.#load(`${dir}/${name}`);
    return log;
  }

  /** Events and frame bytes kept. */
  get size(): { events: number; bytes: number } {
    return { events: this.#count, bytes: this.#bytes };
  }

  /** Position of the oldest event kept; 0 when empty. */
  get first(): number {
    return this.#segments.find((s) => s.batches.length)?.batches[0].first ?? 0;
  }

  /** Position of the newest event kept; 0 when empty. */
  get last(): number {
    return this.#segments.findLast((s) => s.batches.length)?.batches.at(-1)?.last ?? 0;
  }

  /**
   * The batches kept, oldest first.
   *
   * @returns Their descriptions.
   */
  *batches(): Generator<BatchInfo> {
    for (const s of this.#segments) yield* s.batches;
  }

  /**
   * Append one batch.
   *
   * @param b The packed batch.
   */
  append(b: PackedBatch): void {
    let seg = this.#segments.at(-1);
    const full = seg &&
      (seg.size >= this.#segmentBytes || seg.events >= this.#segmentEvents ||
        (seg.batches.length > 0 && Date.now() - seg.batches[0].at > this.#segmentAgeMs));
    if (!seg || full || !this.#file) {
      this.#file?.close();
      const path = `${this.#dir}/seg-${String(b.header.first).padStart(16, "0")}.log`;
      this.#file = Deno.openSync(path, { write: true, create: true, append: true, mode: 0o600 });
      this.#segments.push(seg = { path, size: 0, events: 0, batches: [] });
    }
    const record = b.record;
    let done = 0;
    try {
      while (done < record.length) done += this.#file.writeSync(record.subarray(done));
    } catch (e) {
      // A full disk: cut the partial record off, so the batches after it stay readable.
      try {
        this.#file.truncateSync(seg.size);
      } catch {
        this.#file.close();
        this.#file = undefined;
      }
      throw e;
    }
    seg.batches.push({
      ...b.header,
      bytes: b.framesLength,
      offset: seg.size + RECORD_PREFIX,
      metaLength: b.metaLength,
    });
    seg.size += record.length;
    seg.events += b.header.count;
    this.#count += b.header.count;
    this.#bytes += b.framesLength;
  }

  /**
   * The events of the batches holding positions in (`after`, `upTo`], oldest first (a batch is read whole:
   * the caller filters by position).
   *
   * @param after Read batches ending after this position.
   * @param upTo And starting at or before this one.
   * @returns The entries.
   */
  *entries(after: number, upTo = Infinity): Generator<BatchEntry> {
    for (const s of this.#segments) {
      const wanted = s.batches.filter((b) => b.last > after && b.first <= upTo);
      if (wanted.length === 0) continue;
      const f = Deno.openSync(s.path, { read: true });
      try {
        for (const b of wanted) {
          const buf = new Uint8Array(b.bytes + b.metaLength);
          f.seekSync(b.offset, Deno.SeekMode.Start);
          let got = 0;
          while (got < buf.length) {
            const n = f.readSync(buf.subarray(got));
            if (n === null) throw new Error(`Journal segment ${s.path} ends inside a batch`);
            got += n;
          }
          yield* unpackBatch(b.types, buf, b.bytes);
        }
      } finally {
        f.close();
      }
    }
  }

  /**
   * The last position of the whole segments that lie at or before `to`: what {@link SegmentLog.trim} would
   * remove. The segment being written goes only with `current`.
   *
   * @param to The position.
   * @param current Whether the segment being written may go too.
   * @param cover Whether the segment holding `to` goes too (to get under a limit, not over it).
   * @returns The position; 0 when no segment would go.
   */
  removable(to: number, current: boolean, cover = false): number {
    let cut = 0;
    for (const s of this.#segments) {
      if (s.batches.length === 0) continue;
      const first = s.batches[0].first, last = s.batches.at(-1)!.last;
      if ((cover ? first > to : last > to) || (!current && s === this.#segments.at(-1) && this.#file)) break;
      cut = last;
    }
    return cut;
  }

  /**
   * Remove every segment whose events all lie at or before `to`: use {@link SegmentLog.removable} for `to`.
   *
   * @param to The position.
   * @returns The batches removed.
   */
  trim(to: number): BatchInfo[] {
    const removed: BatchInfo[] = [];
    while (this.#segments.length) {
      const s = this.#segments[0];
      const last = s.batches.at(-1)?.last ?? 0;
      if (last > to) break;
      if (s === this.#segments.at(-1)) {
        this.#file?.close();
        this.#file = undefined;
      }
      Deno.removeSync(s.path);
      this.#segments.shift();
      for (const b of s.batches) {
        removed.push(b);
        this.#count -= b.count;
        this.#bytes -= b.bytes;
      }
    }
    return removed;
  }

  /**
   * The position up to which whole segments must go so that at most `keepEvents` and `keepBytes` remain.
   *
   * @param keepEvents Events to keep at most.
   * @param keepBytes Bytes to keep at most.
   * @returns The position; 0 when nothing must go.
   */
  cutFor(keepEvents: number, keepBytes: number): number {
    let n = this.#count, b = this.#bytes, to = 0;
    for (const s of this.#segments) {
      if (n <= keepEvents && b <= keepBytes) break;
      for (const x of s.batches) {
        n -= x.count;
        b -= x.bytes;
        to = x.last;
      }
    }
    return to;
  }

  /** Close the current segment file. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  #load(path: string): void {
    const data = Deno.readFileSync(path);
    const seg: Segment = { path, size: 0, events: 0, batches: [] };
    let off = 0;
    for (let r = readRecord(data); r; r = readRecord(data.subarray(off))) {
      seg.batches.push({ ...r.header, bytes: r.framesLength, offset: off + RECORD_PREFIX, metaLength: r.metaLength });
      seg.events += r.header.count;
      this.#count += r.header.count;
      this.#bytes += r.framesLength;
      off += r.length;
    }
    if (off < data.length) Deno.truncateSync(path, off); // a record cut short: drop it
    seg.size = off;
    if (seg.batches.length === 0) Deno.removeSync(path);
    else this.#segments.push(seg);
  }
}
