/**
 * Durable delivery: ties the {@link EventJournal} to module connections. When a module subscribes, the
 * journaled events after its cursor (of the types its previous connections covered) are resent before
 * anything live, marked `redelivered`, after an `EventsLost` notice for what the journal could no longer
 * hold; `processed` messages move its cursor.
 *
 * @module
 */
import type { EventBus, Subscriber } from "./events.ts";
import { eventSpec } from "../protocol/events/mod.ts";
import type { EventJournal } from "./journal.ts";
import { type Coverage, coverageIncludes } from "./journal_scope.ts";

interface Link {
  module: string;
  /** What the module's earlier connections covered: only those types are resent. */
  before: Coverage;
  /** Types already resent on this connection (each type once, however it was subscribed). */
  resent: Set<string>;
  resentModuleEvents: boolean;
  lostSent: boolean;
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

  /**
   * Tie a journal to a bus: from now on, each subscribe of a connected module resumes its cursor.
   *
   * @param bus The event bus (made with the same journal).
   * @param journal The journal.
   */
  constructor(bus: EventBus, journal: EventJournal) {
    this.#bus = bus;
    this.#journal = journal;
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
    const before = this.#journal.cursor(module)?.coverage ?? { types: [], moduleEvents: false };
    this.#links.set(sub, { module, before, resent: new Set(), resentModuleEvents: false, lostSent: false });
  }

  /**
   * A module's connection ended.
   *
   * @param sub Its connection.
   */
  disconnected(sub: Subscriber): void {
    this.#links.delete(sub);
  }

  /**
   * A module unsubscribed: its cursor covers what it still receives.
   *
   * @param sub Its connection.
   */
  unsubscribed(sub: Subscriber): void {
    const link = this.#links.get(sub);
    if (link) this.#journal.cover(link.module, this.#bus.coverage(sub));
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
    const first = !link.lostSent;
    if (first) {
      link.lostSent = true;
      const lost = this.#journal.takeLost(link.module);
      if (lost.length) {
        const total = lost.reduce((n, r) => n + r.count, 0);
        this.#bus.sendFrame(sub, this.#bus.encodeFor("EventsLost", 1, { lost, total }), "EventsLost");
      }
    }
    // Resend what the module's earlier connections covered and it covers again, each type once.
    const wanted = (type: string) =>
      coverageIncludes(link.before, type) && coverageIncludes(now, type) &&
      !(link.resent.has(type) || (link.resentModuleEvents && eventSpec(type) === undefined));
    const entries = this.#journal.since(link.module, wanted);
    for (const t of now.types) if (coverageIncludes(link.before, t)) link.resent.add(t);
    if (now.moduleEvents && link.before.moduleEvents) link.resentModuleEvents = true;
    for (const e of entries) this.#bus.sendFrame(sub, markRedelivered(e.frame), e.type);
    this.#journal.track(link.module, now);
  }
}
