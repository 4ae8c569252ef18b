/**
 * Durable delivery: ties the {@link EventJournal} to module connections. When a module subscribes to types
 * its earlier connections covered, it catches up: the journaled events after its cursor are sent from the
 * journal, a page at a time as its connection drains, while journaled events published meanwhile are held
 * back from live delivery (the journal has them too); once it has read up to the journal's end it is live
 * again. So everything arrives once and in order, however large the backlog, without ever filling its
 * queue. Events an earlier connection may have had are marked `redelivered`. An `EventsLost` notice comes
 * first for what the journal could no longer hold; `processed` messages move the cursor.
 *
 * @module
 */
import type { EventBus, Subscriber } from "./events.ts";
import { eventSpec } from "../protocol/events/mod.ts";
import type { EventJournal } from "./journal.ts";
import { type Coverage, coverageIncludes, isDurable } from "./journal_scope.ts";

/** Frame bytes read from the journal per page. */
const PAGE_BYTES = 512 * 1024;
/** A page is read once the module's queue has this much room, or is empty. */
const MIN_ROOM_BYTES = 64 * 1024;

interface Link {
  module: string;
  /** What the module's earlier connections covered. */
  before: Coverage;
  /** Its cursor when it connected: earlier-covered types are due from there, whatever it reports meanwhile. */
  resumeFrom: number;
  /** What this connection received at its last subscribe or unsubscribe. */
  coverage: Coverage;
  /** The last position when it connected: events up to it may have gone to an earlier connection. */
  connectedAt: number;
  /** Per type this connection receives: the position after which its events are still due. */
  next: Map<string, number>;
  /** The same for module-defined types received through `*`. */
  nextModuleEvents?: number;
  lostSent: boolean;
  /** Catching up: read up to this position; `undefined` when live. */
  page?: number;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Mark a journaled frame as resent: set `redelivered: true` in its map (a fixmap, as every event frame is:
 * at most 8 keys), fixing the length prefix.
 *
 * @param frame The frame as first sent.
 * @returns A new frame.
 *
 * @example
 * ```ts
 * import { decode, EncodeBuffer } from "@blvm/node/protocol";
 * import { markRedelivered } from "@blvm/node";
 * const b = new EncodeBuffer(64);
 * b.frame({ kind: "event", type: "NewBlock", seq: 1, payload: {}, pos: 7 });
 * console.log(decode(markRedelivered(b.bytes()).subarray(4))); // { kind: "event", ..., pos: 7, redelivered: true }
 * ```
 */
export function markRedelivered(frame: Uint8Array): Uint8Array {
  const head = frame[4];
  if ((head & 0xf0) !== 0x80 || (head & 0x0f) === 0x0f) throw new TypeError("Not an event frame with a small map");
  const key = new TextEncoder().encode("redelivered");
  const out = new Uint8Array(frame.length + 2 + key.length);
  out.set(frame);
  out[4] = head + 1;
  out[frame.length] = 0xa0 | key.length;
  out.set(key, frame.length + 1);
  out[out.length - 1] = 0xc3;
  new DataView(out.buffer).setUint32(0, out.length - 4);
  return out;
}

/**
 * The host's side of durable delivery.
 *
 * @example
 * ```ts ignore
 * const durable = new DurableDelivery(bus, journal);
 * durable.connected("hello", session.connection); // at the handshake
 * // then, from the bus's onSubscribe hook and the session's `processed` messages:
 * durable.processed("hello", 42);
 * ```
 */
export class DurableDelivery {
  readonly #bus: EventBus;
  readonly #journal: EventJournal;
  readonly #links = new Map<Subscriber, Link>();
  readonly #onError: (module: string, error: unknown) => void;

  /**
   * Tie a journal to a bus: from now on, each subscribe of a connected module resumes its cursor.
   *
   * @param bus The event bus (made with the same journal).
   * @param journal The journal.
   * @param onError Told when catching a module up fails (the journal cannot be read); it then goes live.
   */
  constructor(
    bus: EventBus,
    journal: EventJournal,
    onError: (module: string, error: unknown) => void = (m, e) =>
      console.error(`Catching ${m} up from the journal failed: ${(e as Error)?.message ?? e}`),
  ) {
    this.#bus = bus;
    this.#journal = journal;
    this.#onError = onError;
    bus.onSubscribe((sub) => this.#subscribed(sub));
  }

  /** The journal. */
  get journal(): EventJournal {
    return this.#journal;
  }

  /**
   * A module connected: its subscriptions on `sub` resume its cursor.
   *
   * @param module The module name.
   * @param sub Its connection.
   */
  connected(module: string, sub: Subscriber): void {
    const cursor = this.#journal.cursor(module);
    this.#links.set(sub, {
      module,
      before: cursor?.coverage ?? { types: [], moduleEvents: false },
      resumeFrom: cursor?.acked ?? this.#journal.lastPos,
      coverage: { types: [], moduleEvents: false },
      connectedAt: this.#journal.lastPos,
      next: new Map(),
      lostSent: false,
    });
  }

  /**
   * A module's connection ended.
   *
   * @param sub Its connection.
   */
  disconnected(sub: Subscriber): void {
    const link = this.#links.get(sub);
    if (!link) return;
    clearTimeout(link.timer);
    this.#journal.pin(link, undefined);
    this.#links.delete(sub);
  }

  /**
   * A module unsubscribed: its cursor covers what it still receives.
   *
   * @param sub Its connection.
   */
  unsubscribed(sub: Subscriber): void {
    const link = this.#links.get(sub);
    if (!link) return;
    const now = this.#bus.coverage(sub);
    const gone = link.coverage.types.filter((t) => !now.types.includes(t));
    this.#journal.uncover(link.module, gone, link.coverage.moduleEvents && !now.moduleEvents);
    link.coverage = now;
  }

  /**
   * A module reported events processed up to `pos`.
   *
   * @param module The module name.
   * @param pos The position.
   */
  processed(module: string, pos: number): void {
    this.#journal.ack(module, pos);
  }

  #subscribed(sub: Subscriber): void {
    const link = this.#links.get(sub);
    if (!link) return;
    const now = this.#bus.coverage(sub);
    if (!link.lostSent) {
      link.lostSent = true;
      const lost = this.#journal.takeLost(link.module);
      if (lost.length) {
        const total = lost.reduce((n, r) => n + r.count, 0);
        this.#bus.sendFrame(sub, this.#bus.encodeFor("EventsLost", 1, { lost, total }), "EventsLost");
      }
    }
    // From now on the cursor covers everything durable this connection receives, so all of it is journaled.
    this.#journal.track(link.module, now);
    link.coverage = now;
    const acked = link.resumeFrom, last = this.#journal.lastPos;
    const live = link.page === undefined;
    // Types received live so far have had everything up to now.
    if (live) { for (const t of link.next.keys()) link.next.set(t, last); }
    if (live && link.nextModuleEvents !== undefined) link.nextModuleEvents = last;
    // A newly received type is due from the cursor if an earlier connection covered it, else from now.
    let behind = false;
    const due = (covered: boolean) => {
      behind ||= covered && acked < last;
      return covered ? acked : last;
    };
    for (const t of now.types) {
      if (!link.next.has(t)) link.next.set(t, due(isDurable(t) && coverageIncludes(link.before, t)));
    }
    if (now.moduleEvents && link.nextModuleEvents === undefined) {
      link.nextModuleEvents = due(link.before.moduleEvents);
    }
    if (!behind) return;
    // Read from the cursor (again, if already catching up: what was sent is skipped per type).
    link.page = Math.min(link.page ?? Infinity, acked);
    this.#journal.pin(link, link.page);
    if (live) {
      this.#bus.holdJournaled(sub, true);
      this.#pump(sub, link);
    }
  }

  /** Send the next page if the module's queue has room, until it has caught up with the journal. */
  #pump(sub: Subscriber, link: Link): void {
    link.timer = undefined;
    if (this.#links.get(sub) !== link || link.page === undefined) return;
    try {
      this.#page(sub, link);
    } catch (e) {
      // The journal cannot be read (an I/O error): the module goes live; what it had still to read is lost.
      this.#onError(link.module, e);
      link.page = undefined;
      this.#journal.pin(link, undefined);
      this.#bus.holdJournaled(sub, false);
    }
  }

  #page(sub: Subscriber, link: Link): void {
    if (link.page === undefined) return;
    // Only what fits under the queue's drop bounds: a catch-up never fills it, however large the backlog.
    const room = this.#bus.room(sub);
    if (room.events < 1 || room.bytes < 1 || (room.bytes < MIN_ROOM_BYTES && this.#bus.backlog(sub) > 0)) {
      link.timer = setTimeout(() => this.#pump(sub, link), 5);
      return;
    }
    const { entries, end, done } = this.#journal.read(link.page, Math.min(PAGE_BYTES, room.bytes), room.events);
    const now = this.#bus.coverage(sub);
    for (const e of entries) {
      const named = link.next.has(e.type);
      const from = named ? link.next.get(e.type) : eventSpec(e.type) ? undefined : link.nextModuleEvents;
      if (from === undefined || e.pos <= from || !coverageIncludes(now, e.type)) continue;
      if (named) link.next.set(e.type, e.pos);
      else link.nextModuleEvents = e.pos;
      this.#bus.sendFrame(sub, e.pos <= link.connectedAt ? markRedelivered(e.frame) : e.frame.slice(), e.type);
    }
    link.page = end;
    if (done) {
      // Read to the end in this same turn: nothing can have been published in between.
      link.page = undefined;
      this.#journal.pin(link, undefined);
      this.#bus.holdJournaled(sub, false);
    } else {
      this.#journal.pin(link, end);
      link.timer = setTimeout(() => this.#pump(sub, link), 0);
    }
  }
}
