/**
 * The delivery journal: a bounded log of durable events (lossless, not requests, not per-module), and one
 * cursor per module that has subscribed to any: the position up to which it reported the events processed,
 * and the types it covers. A module that crashes, is restarted or reloaded, or whose host restarts, resumes
 * after its cursor. When the journal must drop events a module has not processed (its size or age limit),
 * the losses are kept per module as sequence ranges and reported when it resumes.
 *
 * Events go to segment files ({@link SegmentLog}) in batches, one write per turn of the event loop (or per
 * batch bound): a host killed in the middle of a turn loses at most that turn's events, which were still in
 * its own buffers too. Cursors, losses and counters live in SQLite (`state.sqlite`, WAL).
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { eventSpec } from "../protocol/events/mod.ts";
import { BatchBuilder, type BatchEntry } from "./journal_batch.ts";
import { type Coverage, isDurable, type LostRange } from "./journal_scope.ts";
import { SegmentLog } from "./journal_segments.ts";

/** Bounds of the journal; past one of them, the oldest events go (and modules that missed them are told). */
export interface JournalLimits {
  /** Most events kept. Default 100,000. */
  maxEvents: number;
  /** Most bytes of events kept. Default 64 MiB. */
  maxBytes: number;
  /** Oldest event kept, in milliseconds. Default 24 hours. */
  maxAgeMs: number;
}

/** Default {@link JournalLimits}. */
export const DEFAULT_JOURNAL_LIMITS: Readonly<JournalLimits> = {
  maxEvents: 100_000,
  maxBytes: 64 * 1024 * 1024,
  maxAgeMs: 24 * 3600_000,
};

/** One journaled event: its position, type, sequence number and frame (as first sent). */
export type JournalEntry = BatchEntry;

const RESERVE_AHEAD = 10_000;

interface Cursor {
  acked: number;
  types: Set<string>;
  moduleEvents: boolean;
}

const covers = (c: Cursor, type: string) => c.types.has(type) || (c.moduleEvents && eventSpec(type) === undefined);

/**
 * The journal of one host (its data root).
 *
 * @example
 * ```ts
 * import { EventJournal } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * const j = EventJournal.open(dir);
 * j.track("m", { types: ["NewBlock"], moduleEvents: false });
 * const pos = j.reserve();
 * j.append(pos, "NewBlock", 1, new Uint8Array([0, 0, 0, 1, 0x80]));
 * console.log(j.since("m", () => true).length); // 1
 * j.ack("m", pos);
 * console.log(j.since("m", () => true).length); // 0
 * j.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class EventJournal {
  readonly #db: DatabaseSync;
  readonly #log: SegmentLog;
  readonly #limits: JournalLimits;
  readonly #cursors = new Map<string, Cursor>();
  readonly #wants = new Map<string, boolean>();
  readonly #statements = new Map<string, StatementSync>();
  readonly #pending = new BatchBuilder();
  /** Events per batch: trimming goes segment by segment, so a batch is small next to the event limit. */
  readonly #batchMax: number;
  #last = 0;
  /** Positions up to this one are claimed on disk. */
  #reserved = 0;
  #inTx = false;
  #timer?: ReturnType<typeof setTimeout>;
  #lastAgeCheck = 0;
  #closed = false;

  private constructor(db: DatabaseSync, log: SegmentLog, limits: JournalLimits) {
    this.#db = db;
    this.#log = log;
    this.#limits = limits;
    this.#batchMax = Math.max(1, Math.min(1024, Math.floor(limits.maxEvents / 20)));
    db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS cursors (module TEXT PRIMARY KEY, acked INTEGER NOT NULL, types TEXT NOT NULL,
        module_events INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS lost (module TEXT NOT NULL, type TEXT NOT NULL, from_seq INTEGER NOT NULL,
        to_seq INTEGER NOT NULL, count INTEGER NOT NULL, upto_pos INTEGER NOT NULL, PRIMARY KEY (module, type));
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    for (const r of db.prepare("SELECT module, acked, types, module_events FROM cursors").all()) {
      this.#cursors.set(String(r.module), {
        acked: Number(r.acked),
        types: new Set(JSON.parse(String(r.types)) as string[]),
        moduleEvents: Number(r.module_events) === 1,
      });
    }
    const meta = db.prepare("SELECT value FROM meta WHERE key = 'last_pos'").get();
    // Positions never go back, even when everything was trimmed or a cursor acknowledged past the last write.
    this.#last = Math.max(log.last, Number(meta?.value ?? 0), ...[...this.#cursors.values()].map((c) => c.acked));
    this.#reserved = this.#last;
  }

  /**
   * Open (or create) the journal in a folder of its own.
   *
   * @param dir The folder: segment files and `state.sqlite`.
   * @param limits Bounds; missing ones take {@link DEFAULT_JOURNAL_LIMITS}.
   * @returns The journal.
   */
  static open(dir: string, limits: Partial<JournalLimits> = {}): EventJournal {
    const l = { ...DEFAULT_JOURNAL_LIMITS, ...limits };
    for (const [k, v] of Object.entries(l)) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`Invalid journal limit '${k}': expected a positive integer: current value is ${v}`);
      }
    }
    const log = SegmentLog.open(dir, {
      segmentBytes: Math.max(64 * 1024, Math.floor(l.maxBytes / 16)),
      segmentEvents: Math.max(1, Math.floor(l.maxEvents / 10)),
    });
    const db = new DatabaseSync(`${dir}/state.sqlite`);
    try {
      return new EventJournal(db, log, l);
    } catch (e) {
      db.close();
      log.close();
      throw e;
    }
  }

  /** The last position handed out. */
  get lastPos(): number {
    return this.#last;
  }

  /** Events and bytes kept now (written or about to be). */
  get size(): { events: number; bytes: number } {
    const s = this.#log.size;
    return { events: s.events + this.#pending.count, bytes: s.bytes + this.#pending.bytes };
  }

  /**
   * The last sequence number journaled per type, so a restarted host goes on counting.
   *
   * @returns Type → last seq.
   */
  lastSeqs(): Map<string, number> {
    this.#write();
    const out = new Map<string, number>();
    for (const f of this.#stmt("SELECT key, value FROM meta WHERE key LIKE 'seq:%'").all()) {
      out.set(String(f.key).slice(4), Number(f.value));
    }
    for (const b of this.#log.batches()) {
      b.types.forEach((t, i) => out.set(t, Math.max(b.seqs[i], out.get(t) ?? 0)));
    }
    return out;
  }

  /**
   * Whether some module's cursor covers `type` (so its events must be journaled).
   *
   * @param type The event type.
   * @returns `true` if an event of this type must be appended.
   */
  wants(type: string): boolean {
    let w = this.#wants.get(type);
    if (w === undefined) {
      w = isDurable(type) && [...this.#cursors.values()].some((c) => covers(c, type));
      this.#wants.set(type, w);
    }
    return w;
  }

  /**
   * The next position, for the frame about to be appended.
   *
   * @returns The position.
   */
  reserve(): number {
    if (++this.#last > this.#reserved) {
      // Positions are claimed ahead, durably, so none is ever reused after a crash, even one handed to a
      // module whose batch was never written.
      this.#reserved = this.#last + RESERVE_AHEAD;
      if (this.#inTx) {
        this.#db.exec("COMMIT");
        this.#inTx = false;
      }
      this.#stmt(
        "INSERT INTO meta (key, value) VALUES ('last_pos', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(this.#reserved);
    }
    return this.#last;
  }

  /**
   * Append one event at a reserved position. It is written at the end of this turn of the event loop.
   *
   * @param pos From {@link EventJournal.reserve}.
   * @param type The event type.
   * @param seq Its sequence number.
   * @param frame Its frame; copied.
   * @throws {Error} if the journal was closed.
   */
  append(pos: number, type: string, seq: number, frame: Uint8Array): void {
    if (this.#closed) throw new Error("The delivery journal is closed");
    this.#pending.add(pos, type, seq, frame);
    if (this.#pending.count >= this.#batchMax) this.#write();
    else this.#timer ??= setTimeout(() => this.flush(), 0);
  }

  /**
   * A module's cursor, if it has one.
   *
   * @param module The module name.
   * @returns Its acknowledged position and coverage.
   */
  cursor(module: string): { acked: number; coverage: Coverage } | undefined {
    const c = this.#cursors.get(module);
    return c && { acked: c.acked, coverage: { types: [...c.types].sort(), moduleEvents: c.moduleEvents } };
  }

  /**
   * Create a module's cursor (at the current position: nothing before matters to it) or widen its coverage.
   *
   * @param module The module name.
   * @param coverage Types to add to what it covers.
   */
  track(module: string, coverage: Coverage): void {
    let c = this.#cursors.get(module);
    if (!c) this.#cursors.set(module, c = { acked: this.#last, types: new Set(), moduleEvents: false });
    for (const t of coverage.types) c.types.add(t);
    c.moduleEvents ||= coverage.moduleEvents;
    this.#save(module, c);
  }

  /**
   * Set a module's coverage to exactly `coverage` (it unsubscribed).
   *
   * @param module The module name.
   * @param coverage What it covers now.
   */
  cover(module: string, coverage: Coverage): void {
    const c = this.#cursors.get(module);
    if (!c) return;
    c.types = new Set(coverage.types);
    c.moduleEvents = coverage.moduleEvents;
    this.#save(module, c);
  }

  /**
   * Record that a module processed every event up to `pos`. Positions past the last one are clamped;
   * older ones are ignored.
   *
   * @param module The module name.
   * @param pos The position.
   */
  ack(module: string, pos: number): void {
    const c = this.#cursors.get(module);
    if (!c) return;
    const p = Math.min(pos, this.#last);
    if (p <= c.acked) return;
    c.acked = p;
    this.#save(module, c);
    this.#stmt("DELETE FROM lost WHERE module = ? AND upto_pos <= ?").run(module, p);
  }

  /**
   * The journaled events after a module's cursor whose type it wants, oldest first.
   *
   * @param module The module name.
   * @param want Whether a type is wanted.
   * @returns The entries; none when it has no cursor.
   */
  since(module: string, want: (type: string) => boolean): JournalEntry[] {
    const c = this.#cursors.get(module);
    if (!c) return [];
    this.#write();
    const out: JournalEntry[] = [];
    for (const e of this.#log.entries(c.acked)) if (e.pos > c.acked && want(e.type)) out.push(e);
    return out;
  }

  /**
   * The events a module lost (trimmed before it processed them), which are then forgotten.
   *
   * @param module The module name.
   * @returns The ranges, by type.
   */
  takeLost(module: string): LostRange[] {
    const rows = this.#stmt("SELECT type, from_seq, to_seq, count FROM lost WHERE module = ? ORDER BY type")
      .all(module);
    if (rows.length === 0) return [];
    this.#begin();
    this.#stmt("DELETE FROM lost WHERE module = ?").run(module);
    return rows.map((r) => ({
      type: String(r.type),
      from_seq: Number(r.from_seq),
      to_seq: Number(r.to_seq),
      count: Number(r.count),
    }));
  }

  /**
   * Drop a module's cursor and losses (it was removed for good).
   *
   * @param module The module name.
   */
  forget(module: string): void {
    if (!this.#cursors.delete(module)) return;
    this.#wants.clear();
    this.#begin();
    this.#stmt("DELETE FROM cursors WHERE module = ?").run(module);
    this.#stmt("DELETE FROM lost WHERE module = ?").run(module);
  }

  /** Write what is pending, commit, and apply the limits, now. */
  flush(): void {
    if (this.#closed) return;
    this.#write();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#inTx) {
      this.#inTx = false;
      this.#db.exec("COMMIT");
    }
    this.#trim();
  }

  /** Write, commit and close. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#log.close();
    this.#db.close();
  }

  #begin(): void {
    this.#timer ??= setTimeout(() => this.flush(), 0);
    if (this.#inTx) return;
    this.#db.exec("BEGIN");
    this.#inTx = true;
  }

  #write(): void {
    if (this.#pending.count) this.#log.append(this.#pending.pack());
  }

  #stmt(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (!st) this.#statements.set(sql, st = this.#db.prepare(sql));
    return st;
  }

  #save(module: string, c: Cursor): void {
    this.#wants.clear();
    this.#begin();
    this.#stmt(
      "INSERT INTO cursors (module, acked, types, module_events) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (module) DO UPDATE SET acked = excluded.acked, types = excluded.types, " +
        "module_events = excluded.module_events",
    ).run(module, c.acked, JSON.stringify([...c.types]), c.moduleEvents ? 1 : 0);
  }

  /** Remove what every module processed, then the oldest events past the limits (recording the losses). */
  #trim(): void {
    const first = this.#log.first;
    if (first === 0) return;
    const l = this.#limits, size = this.#log.size;
    let done = this.#last;
    for (const c of this.#cursors.values()) done = Math.min(done, c.acked);
    // What every module processed goes segment by segment; the limits may take the segment being written.
    let to = this.#log.removable(done, false), forced = 0;
    if (size.events > l.maxEvents || size.bytes > l.maxBytes) {
      forced = this.#log.cutFor(Math.floor(l.maxEvents * 0.9), Math.floor(l.maxBytes * 0.9));
    }
    const now = Date.now();
    if (now - this.#lastAgeCheck > 1000) {
      this.#lastAgeCheck = now;
      for (const b of this.#log.batches()) if (b.at < now - l.maxAgeMs) forced = Math.max(forced, b.last);
    }
    if (forced) to = Math.max(to, this.#log.removable(forced, true, true));
    if (to < first) return;
    this.#db.exec("BEGIN");
    try {
      this.#recordLosses(to);
      const floor = this.#stmt(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
      );
      // Whole segments go; the last seq of each type in them is kept, so a restarted host goes on from it.
      for (const b of this.#log.trim(to)) b.types.forEach((t, i) => floor.run(`seq:${t}`, b.seqs[i]));
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Each module that had not processed the events up to `to` loses the ones it covers: keep them as ranges. */
  #recordLosses(to: number): void {
    const behind = [...this.#cursors].filter(([, c]) => c.acked < to);
    if (behind.length === 0) return;
    const ranges = new Map<string, Map<string, { a: number; z: number; n: number; upto: number }>>();
    for (const e of this.#log.entries(0, to)) {
      for (const [module, c] of behind) {
        if (e.pos <= c.acked || !covers(c, e.type)) continue;
        let m = ranges.get(module);
        if (!m) ranges.set(module, m = new Map());
        const r = m.get(e.type);
        if (!r) m.set(e.type, { a: e.seq, z: e.seq, n: 1, upto: e.pos });
        else {
          r.a = Math.min(r.a, e.seq);
          r.z = Math.max(r.z, e.seq);
          r.n++;
          r.upto = Math.max(r.upto, e.pos);
        }
      }
    }
    const upsert = this.#stmt(
      "INSERT INTO lost (module, type, from_seq, to_seq, count, upto_pos) VALUES (?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (module, type) DO UPDATE SET from_seq = MIN(from_seq, excluded.from_seq), " +
        "to_seq = MAX(to_seq, excluded.to_seq), count = count + excluded.count, upto_pos = excluded.upto_pos",
    );
    for (const [module, m] of ranges) {
      for (const [type, r] of m) upsert.run(module, type, r.a, r.z, r.n, r.upto);
    }
  }
}
