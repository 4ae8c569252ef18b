/**
 * Event fan-out. Each event is encoded once and the same bytes go to every subscriber, through that
 * subscriber's bounded {@link Delivery} queue. Subscriptions are by type, by category or `*`; a
 * subscriber that matches an event several ways still gets it once. Sequence numbers count per
 * event type, so a module sees a gap in a type it stays subscribed to.
 *
 * @module
 */
import { EVENT_CATALOG } from "../protocol/events/mod.ts";
import { EncodeBuffer } from "../protocol/encoder.ts";
import type { EventMessage } from "../protocol/messages.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/version.ts";
import { Delivery, type DeliveryLimits, type Subscriber } from "./delivery.ts";
import { EventTooLargeError } from "./errors.ts";
import type { EventJournal } from "./journal.ts";
import type { Coverage } from "./journal_scope.ts";
import {
  type AttachOptions,
  describeSubscription,
  receives,
  type SubscriberStats,
  SubscriptionIndex,
  type SubscriptionSet,
  type SubState,
} from "./subscriptions.ts";

export type { AttachOptions, Subscriber, SubscriberStats, SubscriptionSet };
export { EventTooLargeError };

/** Options of {@link EventBus.publish}. */
export interface PublishOptions {
  /** The module that published it; carried in the event as `source`. */
  source?: string;
  /** Keep this payload under this key and replay it to late subscribers (see {@link EventBus.clearSticky}). */
  sticky?: string;
}

/**
 * One subscriber's own payload for {@link EventBus.publishEach}, or `undefined` to send it nothing.
 * `replay` is `true` when a late subscriber is given a sticky event (see {@link EventBus.subscribe}).
 */
export type PayloadFor = (sub: Subscriber, replay: boolean) => unknown;

/** Options of the {@link EventBus} constructor. */
export interface EventBusOptions {
  /** Largest frame body an encoded event may have; a bigger one is refused by `publish`. Default 4 MiB. */
  maxFrameBytes?: number;
  /** Called when handing an event to one subscriber throws; the other subscribers still get it. */
  onDeliveryError?: (sub: Subscriber, error: unknown) => void;
  /**
   * The delivery journal: every durable event some module's cursor covers is appended to it, and its
   * frame carries the journal position `pos`. The bus also goes on from its last sequence numbers.
   */
  journal?: EventJournal;
  /** Called when appending to the journal fails (a full disk): the event is still delivered live. */
  onJournalError?: (type: string, error: unknown) => void;
}

const LOSSY = new Set(Object.entries(EVENT_CATALOG).filter(([, s]) => s.delivery === "lossy").map(([t]) => t));

/**
 * Subscriptions and publishing.
 *
 * @example
 * ```ts
 * import { EventBus } from "@blvm/node";
 * const bus = new EventBus();
 * const got: Uint8Array[] = [];
 * const sub = { sendFrame: (f: Uint8Array) => got.push(f.slice()) > 0 };
 * bus.subscribe(sub, { types: ["NewBlock"], categories: ["blockchain"] });
 * bus.publish("NewBlock", { hash: "00".repeat(32), height: 1, prev_hash: "00".repeat(32), time: 0 });
 * console.log(got.length); // 1: subscribed twice over, delivered once
 * ```
 */
export class EventBus {
  readonly #subs = new Map<Subscriber, SubState>();
  readonly #held = new Set<Delivery>();
  readonly #index = new SubscriptionIndex();
  readonly #seq = new Map<string, number>();
  readonly #sticky = new Map<string, Map<string, { payload: unknown; source?: string; each?: PayloadFor }>>();
  readonly #scratch = new EncodeBuffer(4096);
  /** Drop notices are encoded while `#scratch` may still hold the event being fanned out. */
  readonly #noticeScratch = new EncodeBuffer(256);
  readonly #subscribeHooks = new Set<(sub: Subscriber, added: string[]) => void>();
  readonly #watchers = new Map<string, Set<(payload: unknown) => void>>();
  readonly #limits: Partial<DeliveryLimits>;
  readonly #maxFrameBytes: number;
  readonly #onDeliveryError?: (sub: Subscriber, error: unknown) => void;
  readonly #journal?: EventJournal;
  readonly #onJournalError?: (type: string, error: unknown) => void;

  /**
   * Create an event bus with no subscribers.
   *
   * @param limits Default queue bounds for every subscriber.
   * @param options The largest frame body an event may become (default 4 MiB), and where a failure to
   * hand an event to one subscriber is reported (delivery to the others goes on).
   */
  constructor(limits: Partial<DeliveryLimits> = {}, options: EventBusOptions = {}) {
    this.#limits = limits;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#onDeliveryError = options.onDeliveryError;
    this.#journal = options.journal;
    this.#onJournalError = options.onJournalError;
    if (this.#journal) { for (const [type, seq] of this.#journal.lastSeqs()) this.#seq.set(type, seq); }
  }

  /**
   * Register a subscriber with its queue bounds and visibility. {@link EventBus.subscribe} attaches
   * with defaults when this was not called first.
   *
   * @param sub The subscriber (a module connection).
   * @param options Bounds, visibility and the overflow callback.
   */
  attach(sub: Subscriber, options: AttachOptions = {}): void {
    if (this.#subs.has(sub)) return;
    // EventsDropped goes to this subscriber alone, so it is numbered per subscriber: no false gaps.
    let notices = 0;
    const delivery = new Delivery(
      sub,
      { ...this.#limits, ...options.limits },
      (info) => {
        const b = this.#noticeScratch;
        b.reset();
        b.frame({ kind: "event", type: "EventsDropped", seq: ++notices, payload: info });
        return b.bytes().slice();
      },
      (why) => {
        // Stop delivering, but keep the counters (inspect shows the cut-off) until the connection closes.
        const st = this.#subs.get(sub);
        if (st) {
          st.types.clear();
          st.categories.clear();
          this.#index.refresh(st);
        }
        options.onOverflow?.(why);
      },
    );
    this.#subs.set(sub, {
      delivery,
      types: new Set(),
      categories: new Set(),
      effective: new Set(),
      canSee: options.canSee ?? (() => true),
    });
  }

  /**
   * Call `hook` after a subscriber gains event types, with only the catalog or named types it did not have
   * before (possibly none, when it gained `*` and with it every module-defined type).
   *
   * @param hook Called synchronously inside {@link EventBus.subscribe}, after sticky replay.
   * @returns A function that removes the hook.
   *
   * @example
   * ```ts
   * import { EventBus } from "@blvm/node";
   * const bus = new EventBus();
   * const seen: string[][] = [];
   * const off = bus.onSubscribe((_sub, added) => seen.push(added));
   * bus.subscribe({ sendFrame: () => true }, { types: ["NewBlock"] });
   * off();
   * console.log(seen); // [["NewBlock"]]
   * ```
   */
  onSubscribe(hook: (sub: Subscriber, added: string[]) => void): () => void {
    this.#subscribeHooks.add(hook);
    return () => this.#subscribeHooks.delete(hook);
  }

  /**
   * Call `fn` with the payload of every event of `type` that is published, whether or not anyone is
   * subscribed. Used to start lazily loaded modules on their trigger event.
   *
   * @param type The event type.
   * @param fn Called synchronously inside {@link EventBus.publish}, before delivery.
   * @returns A function that removes the watcher.
   *
   * @example
   * ```ts
   * import { EventBus } from "@blvm/node";
   * const bus = new EventBus();
   * let seen = 0;
   * const off = bus.watch("NewBlock", () => seen++);
   * bus.publish("NewBlock", { height: 1 });
   * off();
   * console.log(seen); // 1
   * ```
   */
  watch(type: string, fn: (payload: unknown) => void): () => void {
    let set = this.#watchers.get(type);
    if (!set) this.#watchers.set(type, set = new Set());
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.#watchers.get(type) === set) this.#watchers.delete(type);
    };
  }

  /**
   * Whether a subscriber currently receives `type` (by type, category or `*`).
   *
   * @param sub The subscriber.
   * @param type The event type.
   * @returns `true` if it does.
   */
  isSubscribed(sub: Subscriber, type: string): boolean {
    const st = this.#subs.get(sub);
    return st !== undefined && receives(st, type);
  }

  /**
   * Send one event to one subscriber only, as a replay (`replay: true`, the type's current sequence
   * number). Nothing is sent if it is not subscribed to `type`.
   *
   * @param sub The subscriber.
   * @param type The event type.
   * @param payload The payload map.
   * @param source The publishing module, if a module published it.
   * @returns `true` if it was delivered or queued.
   */
  sendTo(sub: Subscriber, type: string, payload: unknown, source?: string): boolean {
    const st = this.#subs.get(sub);
    if (!st || !this.isSubscribed(sub, type)) return false;
    const frame = this.#encode(type, this.#seq.get(type) ?? 0, payload, source, true);
    return this.#deliver(st.delivery, frame, type, false, { stable: undefined }) === 1;
  }

  /**
   * Add types and categories to a subscriber's set. `*` in `types` means every category the
   * subscriber may see, and every module-defined type. Sticky events of newly gained types are
   * replayed to it at once (one kept by {@link EventBus.publishEach}: the payload built for it).
   *
   * @param sub The subscriber.
   * @param set Types and categories to add.
   * @returns Everything it is subscribed to now.
   */
  subscribe(sub: Subscriber, set: { types?: string[]; categories?: string[] }): SubscriptionSet {
    this.attach(sub);
    const st = this.#subs.get(sub)!;
    const hadStar = st.types.has("*");
    for (const t of set.types ?? []) st.types.add(t);
    for (const c of set.categories ?? []) st.categories.add(c);
    const added = this.#index.refresh(st);
    for (const type of added) {
      for (const s of this.#sticky.get(type)?.values() ?? []) {
        if (s.each) this.#replayEach(st, type, s.each, s.source);
        else this.sendTo(sub, type, s.payload, s.source);
      }
    }
    // Gaining `*` gains every module-defined type even when no catalog type is new.
    if (added.length || (!hadStar && st.types.has("*"))) { for (const hook of this.#subscribeHooks) hook(sub, added); }
    return describeSubscription(st);
  }

  /**
   * Remove types and categories from a subscriber's set.
   *
   * @param sub The subscriber.
   * @param set Types and categories to remove.
   * @returns What it is still subscribed to.
   */
  unsubscribe(sub: Subscriber, set: { types?: string[]; categories?: string[] }): SubscriptionSet {
    const st = this.#subs.get(sub);
    if (!st) return { types: [], categories: [] };
    for (const t of set.types ?? []) st.types.delete(t);
    for (const c of set.categories ?? []) st.categories.delete(c);
    this.#index.refresh(st);
    return describeSubscription(st);
  }

  /**
   * Drop a subscriber and everything queued for it (it disconnected).
   *
   * @param sub The subscriber.
   */
  remove(sub: Subscriber): void {
    const st = this.#subs.get(sub);
    if (!st) return;
    st.types.clear();
    st.categories.clear();
    this.#index.refresh(st);
    this.#held.delete(st.delivery);
    this.#subs.delete(sub);
  }

  /**
   * Move queued events into a subscriber's connection; call when the connection has drained.
   *
   * @param sub The subscriber.
   */
  pump(sub: Subscriber): void {
    this.#subs.get(sub)?.delivery.pump();
  }

  /**
   * Events waiting in a subscriber's queue (not yet handed to its connection). Producers that can wait
   * use it for back-pressure.
   *
   * @param sub The subscriber.
   * @returns The count; 0 for an unknown subscriber.
   */
  backlog(sub: Subscriber): number {
    return this.#subs.get(sub)?.delivery.backlog ?? 0;
  }

  /**
   * The types a subscriber receives now, for its journal cursor.
   *
   * @param sub The subscriber.
   * @returns Its coverage; empty for an unknown subscriber.
   */
  coverage(sub: Subscriber): Coverage {
    const st = this.#subs.get(sub);
    return { types: st ? [...st.effective] : [], moduleEvents: st?.types.has("*") ?? false };
  }

  /**
   * What can still be queued for a subscriber before its drop bounds (see `Delivery.room`).
   *
   * @param sub The subscriber.
   * @returns Events and bytes; none for an unknown subscriber.
   */
  room(sub: Subscriber): { events: number; bytes: number } {
    return this.#subs.get(sub)?.delivery.room ?? { events: 0, bytes: 0 };
  }

  /**
   * Hold back journaled events from a subscriber (it is catching up from the journal, which has them) or
   * deliver them live again. Events that are not journaled are delivered live either way.
   *
   * @param sub The subscriber.
   * @param on Whether to hold them back.
   */
  holdJournaled(sub: Subscriber, on: boolean): void {
    const d = this.#subs.get(sub)?.delivery;
    if (d && on) this.#held.add(d);
    else if (d) this.#held.delete(d);
  }

  /**
   * Write the journaled events published so far to disk now (they are otherwise written at the end of the
   * turn). A module's connection calls it before each write, so no journaled event reaches a module before
   * it is on disk. Never throws.
   */
  writeJournal(): void {
    this.#journal?.writePending();
  }

  /**
   * Send one already-encoded frame to one subscriber through its queue, as a lossless event (a journaled
   * event resent when a module resumes, or a notice meant for it alone).
   *
   * @param sub The subscriber.
   * @param frame The frame; kept until written.
   * @param type Its event type.
   * @returns `false` for an unknown subscriber.
   */
  sendFrame(sub: Subscriber, frame: Uint8Array, type: string): boolean {
    const st = this.#subs.get(sub);
    if (!st) return false;
    return this.#deliver(st.delivery, frame, type, false, { stable: frame }) === 1;
  }

  /**
   * Encode an event for one subscriber only (`EventsLost`, say), with its own sequence number.
   *
   * @param type The event type.
   * @param seq Its sequence number.
   * @param payload The payload map.
   * @returns The frame (a copy).
   */
  encodeFor(type: string, seq: number, payload: unknown): Uint8Array {
    return this.#encode(type, seq, payload, undefined, false).slice();
  }

  /**
   * A subscriber's subscriptions and delivery counters: queue depth, lag and drops.
   *
   * @param sub The subscriber.
   * @returns The stats, or `undefined` if it never subscribed.
   */
  stats(sub: Subscriber): SubscriberStats | undefined {
    const st = this.#subs.get(sub);
    return st && { ...describeSubscription(st), ...st.delivery.stats() };
  }

  /**
   * Forget a sticky payload so late subscribers no longer get it (for example, a module was unloaded).
   *
   * @param type The event type.
   * @param key The key it was published under.
   */
  clearSticky(type: string, key: string): void {
    this.#sticky.get(type)?.delete(key);
  }

  /**
   * Publish an event to every subscriber of its type, category or `*`.
   *
   * @param type The event type.
   * @param payload The payload map.
   * @param options Source module and sticky key.
   * @returns The event's sequence number and how many subscribers it went to.
   */
  publish(type: string, payload: unknown, options?: PublishOptions): { seq: number; delivered: number } {
    const seq = (this.#seq.get(type) ?? 0) + 1;
    const source = options?.source;
    // Encoded once into a reused buffer, and checked against the frame limit before anything happens: an
    // event too big for any subscriber is refused here, not discovered at one subscriber's connection.
    // A sticky event is also replayed later, marked `replay`: that frame must fit too.
    const sticky = options?.sticky;
    const journal = this.#journal?.wants(type) ? this.#journal : undefined;
    const pos = journal ? journal.lastPos + 1 : undefined;
    const frame = this.#checkedFrame(type, seq, payload, source, sticky !== undefined, false, pos);
    this.#seq.set(type, seq);
    let journaled = journal !== undefined;
    if (journal) {
      try {
        journal.append(journal.reserve(), type, seq, frame);
      } catch (e) {
        journaled = false;
        this.#onJournalError?.(type, e);
      }
    }
    if (sticky !== undefined) this.#keep(type, sticky, { payload, source });
    const watchers = this.#watchers.size ? this.#watchers.get(type) : undefined;
    if (watchers) { for (const w of watchers) w(payload); }
    const subs = this.#index.of(type);
    const wild = this.#index.wildcardFor(type);
    if (!subs?.size && !wild) return { seq, delivered: 0 };
    // A subscriber that keeps up copies the frame into its output buffer; the first one that must queue it
    // makes the one copy all queues share. (Watchers run before, so `frame` is re-encoded if they published.)
    const bytes = watchers ? this.#encode(type, seq, payload, source, false, pos) : frame;
    const lossy = LOSSY.has(type);
    const shared = { stable: undefined as Uint8Array | undefined };
    let delivered = 0;
    // A subscriber catching up from the journal gets journaled events from there, in order, not live.
    // (If the journal could not keep it, they get it live: out of order, but not lost.)
    const held = journaled && this.#held.size ? this.#held : undefined;
    if (subs) {
      for (const d of subs) if (!held?.has(d)) delivered += this.#deliver(d, bytes, type, lossy, shared);
    }
    if (wild) {
      for (const d of wild) {
        if (!subs?.has(d) && !held?.has(d)) delivered += this.#deliver(d, bytes, type, lossy, shared);
      }
    }
    return { seq, delivered };
  }

  /**
   * Publish one event whose payload differs per subscriber (each module's own view of the configuration,
   * say). Like {@link EventBus.publish} it takes one sequence number, however many payloads (a subscriber
   * given nothing sees that number skipped, as for an event published while it was not subscribed); each
   * distinct payload (by identity) is encoded once; every frame is checked against the frame limit before
   * anything is delivered; a failure at one subscriber is reported and the others still get theirs. A
   * subscriber for which `payloadFor` returns `undefined` gets nothing. With `sticky`, the function is
   * kept: a late subscriber gets its own payload, asked for with `replay = true`. Watchers
   * ({@link EventBus.watch}) are not called: there is no one payload to show them, and a watcher may hand
   * what it gets to a module.
   *
   * @param type The event type.
   * @param payloadFor Each subscriber's payload, or `undefined` for none.
   * @param options Source module and sticky key.
   * @returns The event's sequence number and how many subscribers it went to.
   * @throws {EventTooLargeError} if one subscriber's frame would exceed the limit: nothing was delivered and
   * no sequence number was used (an error thrown by `payloadFor` leaves things the same way).
   *
   * @example
   * ```ts
   * import { EventBus } from "@blvm/node";
   * const bus = new EventBus();
   * const a = { sendFrame: () => true }, b = { sendFrame: () => true };
   * bus.subscribe(a, { types: ["alerts.Hello"] });
   * bus.subscribe(b, { types: ["alerts.Hello"] });
   * console.log(bus.publishEach("alerts.Hello", (sub) => sub === a ? { to: "a" } : undefined)); // { seq: 1, delivered: 1 }
   * ```
   */
  publishEach(type: string, payloadFor: PayloadFor, options?: PublishOptions): { seq: number; delivered: number } {
    const seq = (this.#seq.get(type) ?? 0) + 1;
    const source = options?.source;
    const sticky = options?.sticky;
    const subs = new Set(this.#index.of(type));
    for (const d of this.#index.wildcardFor(type) ?? []) subs.add(d);
    // One frame per distinct payload (a copy: the scratch buffer is reused), all checked before delivery.
    const frames = new Map<unknown, { frame: Uint8Array; to: Delivery[] }>();
    for (const d of subs) {
      const payload = payloadFor(d.sink, false);
      if (payload === undefined) continue;
      let f = frames.get(payload);
      if (!f) {
        const frame = this.#checkedFrame(type, seq, payload, source, sticky !== undefined).slice();
        frames.set(payload, f = { frame, to: [] });
      }
      f.to.push(d);
    }
    this.#seq.set(type, seq);
    if (sticky !== undefined) this.#keep(type, sticky, { payload: undefined, source, each: payloadFor });
    const lossy = LOSSY.has(type);
    let delivered = 0;
    for (const { frame, to } of frames.values()) {
      const shared = { stable: frame };
      for (const d of to) delivered += this.#deliver(d, frame, type, lossy, shared);
    }
    return { seq, delivered };
  }

  /** Replay a per-subscriber sticky event to a late subscriber: its own payload, if it has one that fits. */
  #replayEach(st: SubState, type: string, each: PayloadFor, source: string | undefined): void {
    const sub = st.delivery.sink;
    let payload: unknown;
    try {
      payload = each(sub, true);
    } catch (e) {
      this.#onDeliveryError?.(sub, e);
      return;
    }
    if (payload === undefined) return;
    let frame: Uint8Array;
    try {
      frame = this.#checkedFrame(type, this.#seq.get(type) ?? 0, payload, source, true, true);
    } catch (e) {
      this.#onDeliveryError?.(sub, e);
      return;
    }
    this.#deliver(st.delivery, frame, type, false, { stable: undefined });
  }

  /**
   * The event's frame (a view of the scratch buffer), after checking that it fits in a frame: as sent, and,
   * for a sticky event, as it will be replayed.
   */
  #checkedFrame(
    type: string,
    seq: number,
    payload: unknown,
    source: string | undefined,
    sticky: boolean,
    replay = false,
    pos?: number,
  ): Uint8Array {
    const replayed = sticky && !replay ? this.#encode(type, seq, payload, source, true).length : 0;
    const frame = this.#encode(type, seq, payload, source, replay, pos);
    const body = Math.max(replayed, frame.length) - 4;
    if (body > this.#maxFrameBytes) throw new EventTooLargeError(type, body, this.#maxFrameBytes);
    return frame;
  }

  #keep(type: string, key: string, entry: { payload: unknown; source?: string; each?: PayloadFor }): void {
    let map = this.#sticky.get(type);
    if (!map) this.#sticky.set(type, map = new Map());
    map.set(key, entry);
  }

  /** Hand one event to one subscriber; a failure there is reported and never stops the fan-out. */
  #deliver(
    d: Delivery,
    frame: Uint8Array,
    type: string,
    lossy: boolean,
    shared: { stable: Uint8Array | undefined },
  ): number {
    try {
      if (!d.offer(frame, type, lossy, false)) d.enqueue(shared.stable ??= frame.slice(), type, lossy);
      return 1;
    } catch (e) {
      this.#onDeliveryError?.(d.sink, e);
      return 0;
    }
  }

  #encode(
    type: string,
    seq: number,
    payload: unknown,
    source: string | undefined,
    replay: boolean,
    pos?: number,
  ): Uint8Array {
    const m: EventMessage = { kind: "event", type, seq, payload };
    if (source !== undefined) m.source = source;
    if (replay) m.replay = true;
    if (pos !== undefined) m.pos = pos;
    this.#scratch.reset();
    this.#scratch.frame(m);
    return this.#scratch.bytes();
  }
}
