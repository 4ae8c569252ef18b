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
    for (const t of types) {
      mine.add(t);
      let set = this.#byType.get(t);
      if (!set) this.#byType.set(t, set = new Set());
      set.add(sub);
    }
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
