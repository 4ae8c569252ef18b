/**
 * Event fan-out. Each event is encoded once and the same bytes go to every subscriber, through that
 * subscriber's bounded {@link Delivery} queue. Subscriptions are by type, by category or `*`; a
 * subscriber that matches an event several ways still gets it once. Sequence numbers count per
 * event type, so a module sees a gap in a type it stays subscribed to.
 *
 * @module
 */
import { EVENT_CATALOG, EVENT_CATEGORIES, type EventCategory, eventSpec } from "../protocol/events/mod.ts";
import { EncodeBuffer } from "../protocol/encoder.ts";
import type { EventMessage } from "../protocol/messages.ts";
import { Delivery, type DeliveryLimits, type DeliveryStats, type Subscriber } from "./delivery.ts";

export type { Subscriber };

/** Options of {@link EventBus.publish}. */
export interface PublishOptions {
  /** The module that published it; carried in the event as `source`. */
  source?: string;
  /** Keep this payload under this key and replay it to late subscribers (see {@link EventBus.clearSticky}). */
  sticky?: string;
}

/** Options of {@link EventBus.attach}. */
export interface AttachOptions {
  /** Queue bounds for this subscriber. */
  limits?: Partial<DeliveryLimits>;
  /** Whether the subscriber may see a category; `*` expands only to those. Default: every category. */
  canSee?: (category: string) => boolean;
  /** Called if the subscriber falls so far behind that it must be cut off. */
  onOverflow?: (why: string) => void;
}

/** What a subscriber asked for. */
export interface SubscriptionSet {
  /** Types subscribed one by one (`*` included if asked), sorted. */
  types: string[];
  /** Categories subscribed, sorted. */
  categories: string[];
}

/** A subscriber's subscriptions and delivery counters. */
export interface SubscriberStats extends SubscriptionSet, DeliveryStats {}

interface SubState {
  delivery: Delivery;
  types: Set<string>;
  categories: Set<string>;
  /** The catalog types it receives now (explicit, by category, by `*`). */
  effective: Set<string>;
  canSee: (category: string) => boolean;
}

const LOSSY = new Set(Object.entries(EVENT_CATALOG).filter(([, s]) => s.delivery === "lossy").map(([t]) => t));
const CATEGORY_NAMES = Object.keys(EVENT_CATEGORIES) as EventCategory[];

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
  readonly #byType = new Map<string, Set<Delivery>>();
  /** Subscribers with `*`, for module-defined types that are not in the catalog. */
  readonly #wildcard = new Set<Delivery>();
  readonly #seq = new Map<string, number>();
  readonly #sticky = new Map<string, Map<string, { payload: unknown; source?: string }>>();
  readonly #scratch = new EncodeBuffer(4096);
  /** Drop notices are encoded while `#scratch` may still hold the event being fanned out. */
  readonly #noticeScratch = new EncodeBuffer(256);
  readonly #subscribeHooks = new Set<(sub: Subscriber, added: string[]) => void>();
  readonly #watchers = new Map<string, Set<(payload: unknown) => void>>();
  readonly #limits: Partial<DeliveryLimits>;

  /**
   * @param limits Default queue bounds for every subscriber.
   */
  constructor(limits: Partial<DeliveryLimits> = {}) {
    this.#limits = limits;
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
          this.#refresh(st);
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
   * Call `hook` after a subscriber gains event types, with only the types it did not have before.
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
    if (!st) return false;
    return st.effective.has(type) || (st.types.has("*") && eventSpec(type) === undefined);
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
    if (!st.delivery.offer(frame, type, false, false)) st.delivery.enqueue(frame.slice(), type, false);
    return true;
  }

  /**
   * Add types and categories to a subscriber's set. `*` in `types` means every category the
   * subscriber may see, and every module-defined type. Sticky events of newly gained types are
   * replayed to it at once.
   *
   * @param sub The subscriber.
   * @param set Types and categories to add.
   * @returns Everything it is subscribed to now.
   */
  subscribe(sub: Subscriber, set: { types?: string[]; categories?: string[] }): SubscriptionSet {
    this.attach(sub);
    const st = this.#subs.get(sub)!;
    for (const t of set.types ?? []) st.types.add(t);
    for (const c of set.categories ?? []) st.categories.add(c);
    const added = this.#refresh(st);
    for (const type of added) {
      for (const s of this.#sticky.get(type)?.values() ?? []) this.sendTo(sub, type, s.payload, s.source);
    }
    if (added.length) { for (const hook of this.#subscribeHooks) hook(sub, added); }
    return describe(st);
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
    this.#refresh(st);
    return describe(st);
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
    this.#refresh(st);
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
   * A subscriber's subscriptions and delivery counters: queue depth, lag and drops.
   *
   * @param sub The subscriber.
   * @returns The stats, or `undefined` if it never subscribed.
   */
  stats(sub: Subscriber): SubscriberStats | undefined {
    const st = this.#subs.get(sub);
    return st && { ...describe(st), ...st.delivery.stats() };
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
    const seq = this.#next(type);
    const source = options?.source;
    if (options?.sticky !== undefined) {
      let map = this.#sticky.get(type);
      if (!map) this.#sticky.set(type, map = new Map());
      map.set(options.sticky, { payload, source });
    }
    const watchers = this.#watchers.size ? this.#watchers.get(type) : undefined;
    if (watchers) { for (const w of watchers) w(payload); }
    const subs = this.#byType.get(type);
    const wild = this.#wildcard.size && eventSpec(type) === undefined ? this.#wildcard : undefined;
    if (!subs?.size && !wild) return { seq, delivered: 0 };
    // Encoded once into a reused buffer. A subscriber that keeps up copies it into its output buffer;
    // the first one that must queue it makes the one copy all queues share.
    const frame = this.#encode(type, seq, payload, source, false);
    const lossy = LOSSY.has(type);
    let stable: Uint8Array | undefined;
    let delivered = 0;
    if (subs) {
      for (const d of subs) {
        if (!d.offer(frame, type, lossy, false)) d.enqueue(stable ??= frame.slice(), type, lossy);
        delivered++;
      }
    }
    if (wild) {
      for (const d of wild) {
        if (subs?.has(d)) continue;
        if (!d.offer(frame, type, lossy, false)) d.enqueue(stable ??= frame.slice(), type, lossy);
        delivered++;
      }
    }
    return { seq, delivered };
  }

  #next(type: string): number {
    const seq = (this.#seq.get(type) ?? 0) + 1;
    this.#seq.set(type, seq);
    return seq;
  }

  #encode(type: string, seq: number, payload: unknown, source: string | undefined, replay: boolean): Uint8Array {
    const m: EventMessage = { kind: "event", type, seq, payload };
    if (source !== undefined) m.source = source;
    if (replay) m.replay = true;
    this.#scratch.reset();
    this.#scratch.frame(m);
    return this.#scratch.bytes();
  }

  /** Recompute what a subscriber receives; returns the types it gained. */
  #refresh(st: SubState): string[] {
    const next = new Set<string>();
    const star = st.types.has("*");
    for (const t of st.types) if (t !== "*") next.add(t);
    for (const c of CATEGORY_NAMES) {
      // Delivery events (EventsDropped) go only to the module concerned, never through subscriptions.
      if (c === "delivery") continue;
      if ((star || st.categories.has(c)) && st.canSee(c)) { for (const t of EVENT_CATEGORIES[c]) next.add(t); }
    }
    const added: string[] = [];
    for (const t of st.effective) {
      if (!next.has(t)) this.#byType.get(t)?.delete(st.delivery);
    }
    for (const t of next) {
      if (st.effective.has(t)) continue;
      added.push(t);
      let set = this.#byType.get(t);
      if (!set) this.#byType.set(t, set = new Set());
      set.add(st.delivery);
    }
    st.effective = next;
    if (star) this.#wildcard.add(st.delivery);
    else this.#wildcard.delete(st.delivery);
    return added;
  }
}

function describe(st: SubState): SubscriptionSet {
  return { types: [...st.types].sort(), categories: [...st.categories].sort() };
}
