/**
 * The delivery journal: a bounded log of durable events (lossless, not requests, not per-module), and one
 * cursor per module that has subscribed to any: the position up to which it reported the events processed,
 * and the types it covers. A module that crashes, is restarted or reloaded, or whose host restarts, resumes
 * after its cursor. When the journal must drop events a module has not processed (its size or age limit),
 * the losses are kept per module as sequence ranges and reported when it resumes.
 *
 * Events go to segment files ({@link SegmentLog}) in batches: the first event of a turn of the event loop at
 * once, the rest in a microtask at the end of the turn, so every event is on disk before a connection writes
 * it. Cursors, losses and counters live in SQLite (`state.sqlite`, WAL).
 *
 * @module
 */
import { eventSpec } from "../protocol/events/mod.ts";
import { BatchBuilder, batchEntries, type BatchEntry } from "./journal_batch.ts";
import { lossesOf, mergeLosses } from "./journal_losses.ts";
import { type Coverage, isDurable, type LostRange } from "./journal_scope.ts";
import { SegmentLog } from "./journal_segments.ts";
import { JournalState, type StoredCursor } from "./journal_state.ts";

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
/** The most positions claimed ahead at once, for a host publishing at full speed. */
const MAX_RESERVE_AHEAD = 10_000_000;

type Cursor = StoredCursor;

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
 * console.log(j.read(j.cursor("m")!.acked, 1 << 20).entries.length); // 1
 * j.ack("m", pos);
 * console.log(j.read(j.cursor("m")!.acked, 1 << 20).entries.length); // 0
 * j.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class EventJournal {
  readonly #state: JournalState;
  readonly #log: SegmentLog;
  readonly #limits: JournalLimits;
  readonly #onError: (error: unknown) => void;
  readonly #cursors: Map<string, Cursor>;
  readonly #wants = new Map<string, boolean>();
  readonly #pending = new BatchBuilder();
  /** Events per batch: trimming goes segment by segment, so a batch is small next to the event limit. */
  readonly #batchMax: number;
  #last = 0;
  /** Positions up to this one are claimed on disk. */
  #reserved = 0;
  /** The last claim's step, and when it was made. */
  #step = RESERVE_AHEAD;
  #claimedAt = -Infinity;
  #timer?: ReturnType<typeof setTimeout>;
  #lastAgeCheck = 0;
  #closed = false;
  #writeQueued = false;
  /** Positions catch-ups are reading from: a forced trim keeps what lies after the lowest. */
  readonly #pins = new Map<object, number>();
  /** Losses that could not be written yet (a full disk), by module and type. */
  readonly #unsaved = new Map<string, (LostRange & { upto: number })[]>();
  /** Retry delay after a failed background write; 0 when the last one succeeded. */
  #backoff = 0;
  /** Modules whose acknowledged position changed since it was last written. */
  readonly #dirty = new Set<string>();
  #ackTimer?: ReturnType<typeof setTimeout>;

  private constructor(state: JournalState, log: SegmentLog, limits: JournalLimits, onError: (error: unknown) => void) {
    this.#state = state;
    this.#log = log;
    this.#limits = limits;
    this.#onError = onError;
    this.#batchMax = Math.max(1, Math.min(1024, Math.floor(limits.maxEvents / 20)));
    this.#cursors = state.cursors();
    // Positions never go back, even when everything was trimmed or a cursor acknowledged past the last write.
    this.#last = Math.max(log.last, state.claimed(), ...[...this.#cursors.values()].map((c) => c.acked));
    this.#reserved = this.#last;
  }

  /**
   * Open (or create) the journal in a folder of its own.
   *
   * @param dir The folder: segment files and `state.sqlite`.
   * @param limits Bounds; missing ones take {@link DEFAULT_JOURNAL_LIMITS}.
   * @param onError Told when a write the journal makes on its own (at the end of a turn) fails: a full disk.
   * The events concerned are still delivered live. Default: `console.error`.
   * @returns The journal.
   */
  static open(
    dir: string,
    limits: Partial<JournalLimits> = {},
    onError: (error: unknown) => void = (e) => console.error(`Delivery journal: ${(e as Error)?.message ?? e}`),
  ): EventJournal {
    const l: JournalLimits = {
      maxEvents: limits.maxEvents ?? DEFAULT_JOURNAL_LIMITS.maxEvents,
      maxBytes: limits.maxBytes ?? DEFAULT_JOURNAL_LIMITS.maxBytes,
      maxAgeMs: limits.maxAgeMs ?? DEFAULT_JOURNAL_LIMITS.maxAgeMs,
    };
    for (const [k, v] of Object.entries(l)) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`Invalid journal limit '${k}': expected a positive integer: current value is ${v}`);
      }
    }
    const log = SegmentLog.open(dir, {
      segmentBytes: Math.max(64 * 1024, Math.floor(l.maxBytes / 16)),
      segmentEvents: Math.max(1, Math.floor(l.maxEvents / 10)),
      // Segments go whole: one never spans much more than an eighth of the age limit.
      segmentAgeMs: Math.max(1, Math.floor(l.maxAgeMs / 8)),
    });
    try {
      return new EventJournal(JournalState.open(`${dir}/state.sqlite`), log, l, onError);
    } catch (e) {
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
    const out = this.#state.seqFloors();
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
    if (this.#last + 1 > this.#reserved) {
      // Positions are claimed ahead, durably, so none is ever reused after a crash, even one handed to a
      // module whose batch was never written. A failed claim hands out nothing. Each claim is a synced
      // write: under a steady stream the step grows (one claim a second at most), and shrinks back when idle.
      const now = performance.now();
      const step = now - this.#claimedAt < 1000 ? Math.min(this.#step * 4, MAX_RESERVE_AHEAD) : RESERVE_AHEAD;
      this.#state.claim(this.#last + step);
      this.#reserved = this.#last + step;
      this.#step = step;
      this.#claimedAt = now;
    }
    return ++this.#last;
  }

  /**
   * Append one event at a reserved position. It is written in a microtask at the end of the turn, or
   * earlier by {@link EventJournal.writePending}, which every module connection calls before it writes:
   * so a killed host has journaled every event it sent.
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
    if (!this.#writeQueued) {
      this.#writeQueued = true;
      queueMicrotask(this.#writeSoon);
    } else if (this.#pending.count >= this.#batchMax) this.#write();
    this.#timer ??= setTimeout(() => this.#background(), 0);
  }

  readonly #writeSoon = () => {
    this.#writeQueued = false;
    this.writePending();
  };

  /**
   * Write the events appended so far, now. Never throws: a failed write (a full disk) is reported and its
   * events recorded as lost for the modules that had not processed them; they are still delivered live.
   */
  writePending(): void {
    if (this.#pending.count > 0 && !this.#closed) this.#background(false, false);
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
    const types = coverage.types.filter(isDurable);
    let c = this.#cursors.get(module);
    if (!c && types.length === 0 && !coverage.moduleEvents) return; // nothing durable: no cursor
    if (!c) this.#cursors.set(module, c = { acked: this.#last, types: new Set(), moduleEvents: false });
    const before = c.types.size + Number(c.moduleEvents);
    for (const t of types) c.types.add(t);
    c.moduleEvents ||= coverage.moduleEvents;
    if (c.types.size + Number(c.moduleEvents) === before) return;
    this.#wants.clear();
    this.#save(module, c);
  }

  /**
   * Stop covering types (the module unsubscribed from them).
   *
   * @param module The module name.
   * @param types The types it no longer receives.
   * @param moduleEvents Whether it no longer receives every module-defined type.
   */
  uncover(module: string, types: readonly string[], moduleEvents: boolean): void {
    const c = this.#cursors.get(module);
    if (!c) return;
    for (const t of types) c.types.delete(t);
    if (moduleEvents) c.moduleEvents = false;
    this.#wants.clear();
    this.#save(module, c);
  }

  /**
   * Keep the events after `pos` from forced trims (a module is catching up from there), or release it.
   *
   * @param key Who pins.
   * @param pos The position, or `undefined` to release.
   */
  pin(key: object, pos: number | undefined): void {
    if (pos === undefined) this.#pins.delete(key);
    else this.#pins.set(key, pos);
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
    // Kept on disk at most every 200 ms, and always before events are trimmed: a host killed meanwhile
    // resends a little more (marked redelivered), never less.
    this.#dirty.add(module);
    this.#ackTimer ??= setTimeout(() => {
      this.#ackTimer = undefined;
      this.#background(true);
    }, 200);
  }

  /**
   * A page of journaled events after position `after`, oldest first: at most `maxBytes` of frames and
   * `maxEvents` events, but at least one. Events appended before the call are included.
   *
   * @param after The position to read after.
   * @param maxBytes Frame bytes to stop at.
   * @param maxEvents Events to stop at.
   * @returns The entries, the position read up to, and whether that is the last position.
   */
  read(after: number, maxBytes: number, maxEvents = Infinity): { entries: JournalEntry[]; end: number; done: boolean } {
    this.#write();
    const entries: JournalEntry[] = [];
    let end = after, bytes = 0;
    for (const e of this.#log.entries(after)) {
      if (e.pos <= after) continue;
      if (entries.length && (bytes + e.frame.length > maxBytes || entries.length >= maxEvents)) break;
      entries.push(e);
      bytes += e.frame.length;
      end = e.pos;
    }
    if (entries.length === 0) end = Math.max(after, this.#last);
    return { entries, end, done: end >= this.#last };
  }

  /**
   * The events a module lost (trimmed before it processed them), which are then forgotten.
   *
   * @param module The module name.
   * @returns The ranges, by type.
   */
  takeLost(module: string): LostRange[] {
    this.#persistAcks(); // losses the module made up for since are dropped first
    this.#begin();
    const lost = this.#state.takeLost(module);
    const acked = this.#cursors.get(module)?.acked ?? 0;
    const unsaved = this.#unsaved.get(module)?.filter((r) => r.upto > acked);
    this.#unsaved.delete(module);
    if (!unsaved?.length) return lost;
    return mergeLosses<LostRange & { upto?: number }>([...lost, ...unsaved])
      .map(({ type, from_seq, to_seq, count }) => ({ type, from_seq, to_seq, count }));
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
    this.#state.deleteModule(module);
  }

  /** Write what is pending, commit, and apply the limits, now. */
  flush(): void {
    if (this.#closed) return;
    try {
      this.#write();
    } finally {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#state.commit();
    }
    this.#trim();
  }

  /** Write, commit and close. A failing last write (a full disk) is reported, and the journal closes anyway. */
  close(): void {
    if (this.#closed) return;
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#background(true);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#closed = true;
    this.#log.close();
    this.#state.close();
  }

  #begin(): void {
    this.#timer ??= setTimeout(() => this.#background(), 0);
    this.#state.begin();
  }

  /** A write from a timer: a failure (a full disk) is reported, never thrown into the event loop. */
  #background(acks = false, all = true): void {
    try {
      if (acks) this.#persistAcks();
      if (all) this.flush();
      else this.#write();
      this.#backoff = 0;
    } catch (e) {
      this.#onError(e);
      if (!all || this.#closed) return;
      // Retry later, not at once: the disk stays full for a while.
      clearTimeout(this.#timer);
      this.#backoff = Math.min(Math.max(100, this.#backoff * 2), 5000);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#background();
      }, this.#backoff);
    }
  }

  #persistAcks(): void {
    for (const module of this.#dirty) {
      const c = this.#cursors.get(module);
      if (!c) continue;
      this.#save(module, c);
    }
    this.#dirty.clear();
  }

  #write(): void {
    if (this.#pending.count === 0) return;
    const batch = this.#pending.pack();
    try {
      this.#log.append(batch);
    } catch (e) {
      // The batch is gone: every module that covers its events and has not processed them lost them.
      this.#lose(batchEntries(batch), Infinity);
      throw e;
    }
  }

  #save(module: string, c: Cursor): void {
    this.#begin();
    this.#state.saveCursor(module, c);
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
      forced = this.#log.removable(
        this.#log.cutFor(Math.floor(l.maxEvents * 0.9), Math.floor(l.maxBytes * 0.9)),
        true,
        true,
      );
    }
    const now = Date.now();
    if (now - this.#lastAgeCheck > 1000) {
      this.#lastAgeCheck = now;
      // Only segments whose every batch is too old (segments roll by age too, so they are never much older).
      let old = 0;
      for (const b of this.#log.batches()) if (b.at < now - l.maxAgeMs) old = b.last;
      forced = Math.max(forced, this.#log.removable(old, true, false));
    }
    // A module catching up keeps what it has still to read, whatever the limits say meanwhile.
    for (const p of this.#pins.values()) forced = Math.min(forced, this.#log.removable(p, true, false));
    to = Math.max(to, forced);
    if (to < first) return;
    this.#begin();
    try {
      this.#persistAcks();
      for (const [module, ranges] of this.#unsaved) {
        const acked = this.#cursors.get(module)?.acked ?? Infinity;
        this.#state.addLosses(module, ranges.filter((r) => r.upto > acked));
      }
      this.#unsaved.clear();
      this.#recordLosses(to);
      // The last seq of each type that goes is kept, so a restarted host goes on from it.
      for (const b of this.#log.batches()) {
        if (b.last > to) break;
        b.types.forEach((t, i) => this.#state.raiseSeqFloor(t, b.seqs[i]));
      }
    } catch (e) {
      this.#state.abort();
      throw e;
    }
    this.#state.commit();
    // Whole segments go, after the losses are on disk.
    this.#log.trim(to);
  }

  /** Each module that had not processed the events up to `to` loses the ones it covers: keep them as ranges. */
  #recordLosses(to: number): void {
    if (![...this.#cursors.values()].some((c) => c.acked < to)) return;
    for (const [module, ranges] of lossesOf(this.#cursors, this.#log.entries(0, to), to)) {
      this.#state.addLosses(module, ranges);
    }
  }

  /** Events that could not be written: kept as losses in memory until the state can be written. */
  #lose(entries: Iterable<JournalEntry>, to: number): void {
    for (const [module, ranges] of lossesOf(this.#cursors, entries, to)) {
      this.#unsaved.set(module, mergeLosses([...this.#unsaved.get(module) ?? [], ...ranges]));
    }
  }
}
