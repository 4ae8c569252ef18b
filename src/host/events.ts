/**
 * Event fan-out: each event is encoded once and the same frame bytes are queued on every subscribed
 * connection. Sequence numbers count per event type.
 *
 * @module
 */
import { EncodeBuffer } from "../protocol/encoder.ts";

/** Anything that can take an encoded frame: in practice a module's `Connection`. */
export interface Subscriber {
  /** Queue (copy) the frame; `false` if the subscriber is gone. The bytes are only valid during the call. */
  sendFrame(frame: Uint8Array): boolean;
}

/**
 * Subscriptions by event type, and publishing.
 *
 * @example
 * ```ts
 * import { EventBus } from "@blvm/node";
 * const bus = new EventBus();
 * const got: Uint8Array[] = [];
 * const sub = { sendFrame: (f: Uint8Array) => got.push(f) > 0 };
 * bus.subscribe(sub, ["NewBlock"]);
 * bus.publish("NewBlock", { height: 1 });
 * console.log(got.length); // 1
 * ```
 */
export class EventBus {
  readonly #byType = new Map<string, Set<Subscriber>>();
  readonly #bySub = new Map<Subscriber, Set<string>>();
  readonly #seq = new Map<string, number>();
  readonly #scratch = new EncodeBuffer(4096);
  readonly #subscribeHooks = new Set<(sub: Subscriber, added: string[]) => void>();
  readonly #watchers = new Map<string, Set<(payload: unknown) => void>>();

  /**
   * Call `hook` after a subscriber gains event types, with only the types it did not have before.
   * Used for sticky replay: the hook can {@link EventBus.sendTo} the new subscriber what it missed.
   *
   * @param hook Called synchronously inside {@link EventBus.subscribe}.
   * @returns A function that removes the hook.
   *
   * @example
   * ```ts
   * import { EventBus } from "@blvm/node";
   * const bus = new EventBus();
   * const off = bus.onSubscribe((sub, added) => {
   *   if (added.includes("ModuleLoaded")) bus.sendTo(sub, "ModuleLoaded", { name: "hello", version: "0.1.0" });
   * });
   * const got: Uint8Array[] = [];
   * bus.subscribe({ sendFrame: (f) => got.push(f.slice()) > 0 }, ["ModuleLoaded"]);
   * console.log(got.length); // 1
   * off();
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
   * Whether a subscriber currently receives `type`.
   *
   * @param sub The subscriber.
   * @param type The event type.
   * @returns `true` if subscribed.
   *
   * @example
   * ```ts
   * import { EventBus } from "@blvm/node";
   * const bus = new EventBus();
   * const sub = { sendFrame: () => true };
   * bus.subscribe(sub, ["NewBlock"]);
   * console.log(bus.isSubscribed(sub, "NewBlock")); // true
   * ```
   */
  isSubscribed(sub: Subscriber, type: string): boolean {
    return this.#bySub.get(sub)?.has(type) ?? false;
  }

  /**
   * Send one event to one subscriber only, with the type's current sequence number (a replay, not
   * a new event). Nothing is sent if it is not subscribed to `type`.
   *
   * @param sub The subscriber.
   * @param type The event type.
   * @param payload The payload map.
   * @returns `true` if it was queued.
   *
   * @example
   * ```ts
   * import { EventBus } from "@blvm/node";
   * const bus = new EventBus();
   * const sub = { sendFrame: () => true };
   * console.log(bus.sendTo(sub, "NewBlock", { height: 1 })); // false: not subscribed
   * ```
   */
  sendTo(sub: Subscriber, type: string, payload: unknown): boolean {
    if (!this.isSubscribed(sub, type)) return false;
    this.#scratch.reset();
    this.#scratch.frame({ kind: "event", type, seq: this.#seq.get(type) ?? 0, payload });
    return sub.sendFrame(this.#scratch.bytes());
  }

  /**
   * Add event types to a subscriber's set. Subscribing twice never duplicates delivery.
   *
   * @param sub The subscriber.
   * @param types Event types.
   * @returns All types the subscriber now has, sorted.
   */
  subscribe(sub: Subscriber, types: string[]): string[] {
    let mine = this.#bySub.get(sub);
    if (!mine) this.#bySub.set(sub, mine = new Set());
    const added: string[] = [];
    for (const t of types) {
      if (mine.has(t)) continue;
      mine.add(t);
      added.push(t);
      let set = this.#byType.get(t);
      if (!set) this.#byType.set(t, set = new Set());
      set.add(sub);
    }
    if (added.length) { for (const hook of this.#subscribeHooks) hook(sub, added); }
    return [...mine].sort();
  }

  /**
   * Remove event types from a subscriber's set.
   *
   * @param sub The subscriber.
   * @param types Event types.
   * @returns The types the subscriber still has, sorted.
   */
  unsubscribe(sub: Subscriber, types: string[]): string[] {
    const mine = this.#bySub.get(sub);
    if (!mine) return [];
    for (const t of types) {
      mine.delete(t);
      this.#byType.get(t)?.delete(sub);
    }
    return [...mine].sort();
  }

  /**
   * Drop every subscription of a subscriber (it disconnected).
   *
   * @param sub The subscriber.
   */
  remove(sub: Subscriber): void {
    this.unsubscribe(sub, [...this.#bySub.get(sub) ?? []]);
    this.#bySub.delete(sub);
  }

  /**
   * Publish an event to every subscriber of its type.
   *
   * @param type The event type.
   * @param payload The payload map.
   * @returns The event's sequence number and how many subscribers it was queued for.
   */
  publish(type: string, payload: unknown): { seq: number; delivered: number } {
    const seq = (this.#seq.get(type) ?? 0) + 1;
    this.#seq.set(type, seq);
    const watchers = this.#watchers.size ? this.#watchers.get(type) : undefined;
    if (watchers) { for (const w of watchers) w(payload); }
    const subs = this.#byType.get(type);
    if (!subs || subs.size === 0) return { seq, delivered: 0 };
    // Encoded once into a reused buffer; every subscriber copies the same bytes into its output.
    this.#scratch.reset();
    this.#scratch.frame({ kind: "event", type, seq, payload });
    const frame = this.#scratch.bytes();
    let delivered = 0;
    for (const s of subs) if (s.sendFrame(frame)) delivered++;
    return { seq, delivered };
  }
}
