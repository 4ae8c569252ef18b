/**
 * Who receives which event type: each subscriber's explicit types, categories and `*`, expanded into
 * an index from event type to delivery queues. Used by the {@link EventBus}.
 *
 * @module
 */
import { EVENT_CATEGORIES, type EventCategory, eventSpec } from "../protocol/events/mod.ts";
import type { Delivery, DeliveryLimits, DeliveryStats } from "./delivery.ts";

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

/** One subscriber's subscriptions. */
export interface SubState {
  delivery: Delivery;
  types: Set<string>;
  categories: Set<string>;
  /** The catalog types it receives now (explicit, by category, by `*`). */
  effective: Set<string>;
  canSee: (category: string) => boolean;
}

const CATEGORY_NAMES = Object.keys(EVENT_CATEGORIES) as EventCategory[];

/**
 * The index from event type to the queues that receive it.
 *
 * @example
 * ```ts ignore
 * const index = new SubscriptionIndex();
 * st.types.add("NewBlock");
 * index.refresh(st); // ["NewBlock"]
 * console.log(index.of("NewBlock")?.has(st.delivery)); // true
 * ```
 */
export class SubscriptionIndex {
  readonly #byType = new Map<string, Set<Delivery>>();
  /** Subscribers with `*`, for module-defined types that are not in the catalog. */
  readonly #wildcard = new Set<Delivery>();

  /**
   * The queues that receive a catalog type (by type, category or `*`), or a module type by name.
   *
   * @param type The event type.
   * @returns The queues, or `undefined` when none.
   */
  of(type: string): Set<Delivery> | undefined {
    return this.#byType.get(type);
  }

  /**
   * The queues subscribed to `*`, when `type` is a module-defined type (not in the catalog).
   *
   * @param type The event type.
   * @returns The queues, or `undefined` for a catalog type or when none.
   */
  wildcardFor(type: string): Set<Delivery> | undefined {
    return this.#wildcard.size && eventSpec(type) === undefined ? this.#wildcard : undefined;
  }

  /**
   * Recompute what a subscriber receives after its sets changed.
   *
   * @param st The subscriber's state; its `effective` set is replaced.
   * @returns The types it gained.
   */
  refresh(st: SubState): string[] {
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
      if (next.has(t)) continue;
      const set = this.#byType.get(t);
      set?.delete(st.delivery);
      if (set?.size === 0) this.#byType.delete(t);
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

/**
 * Whether a subscriber receives `type` now (by type, category or `*`).
 *
 * @param st The subscriber's state.
 * @param type The event type.
 * @returns `true` if it does.
 *
 * @example
 * ```ts ignore
 * if (receives(st, "NewBlock")) deliver();
 * ```
 */
export function receives(st: SubState, type: string): boolean {
  return st.effective.has(type) || (st.types.has("*") && eventSpec(type) === undefined);
}

/**
 * What a subscriber asked for, sorted.
 *
 * @param st The subscriber's state.
 * @returns Its types and categories.
 *
 * @example
 * ```ts ignore
 * console.log(describeSubscription(st)); // { types: ["NewBlock"], categories: ["mempool"] }
 * ```
 */
export function describeSubscription(st: SubState): SubscriptionSet {
  return { types: [...st.types].sort(), categories: [...st.categories].sort() };
}
