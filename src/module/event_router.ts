/**
 * The module side of events: typed handlers by type or for every event, and sequence-gap detection.
 *
 * @module
 */
import { eventSpec, type EventType, type NodeEvents } from "../protocol/events/mod.ts";
import type { EventMessage } from "../protocol/messages.ts";

/** The event message for event type `K`: a typed payload for catalog events, `unknown` for module events. */
export type EventOf<K extends string> = K extends EventType ? EventMessage<K, NodeEvents[K]> : EventMessage<K, unknown>;

/**
 * An event handler. A returned promise is awaited to report its failure and, for an event that asks for
 * acknowledgement, before the acknowledgement is sent; for `HealthCheck` its value is the module's health.
 */
export type EventHandler<K extends string> = (event: EventOf<K>) => unknown | Promise<unknown>;

/** What the handlers of one event came to. */
export interface HandlerResults {
  /** The values the type's handlers returned (`undefined` left out). */
  values: unknown[];
  /** The first error a handler threw, if any. */
  error: unknown;
}

/** The results of an event no handler returned anything for. */
const NO_RESULTS: HandlerResults = Object.freeze({
  values: Object.freeze([]) as unknown as unknown[],
  error: undefined,
});

/** A jump in one event type's sequence numbers: events of that type were lost. */
export interface SequenceGap {
  /** The event type. */
  type: string;
  /** The sequence number that was due. */
  expected: number;
  /** The one that arrived. */
  got: number;
  /** How many are missing (`got - expected`, or fewer when the host says some were never meant for this module). */
  missed: number;
}

/**
 * Routes incoming events to handlers and notices gaps. Used by `ModuleClient`; exported for tests.
 *
 * @example
 * ```ts
 * import { EventRouter } from "@blvm/node/module";
 * const router = new EventRouter((type, err) => console.error(type, err));
 * const gaps: number[] = [];
 * router.onGap((g) => gaps.push(g.missed));
 * router.on("NewBlock", (e) => console.log(e.payload.height));
 * const ev = (seq: number) => ({ kind: "event" as const, type: "NewBlock", seq, payload: { height: seq } });
 * router.dispatch(ev(1));
 * router.dispatch(ev(4));
 * console.log(gaps); // [2]
 * ```
 */
export class EventRouter {
  readonly #handlers = new Map<string, Set<EventHandler<string>>>();
  readonly #any = new Set<EventHandler<string>>();
  readonly #gapHandlers = new Set<(gap: SequenceGap) => void>();
  readonly #last = new Map<string, number>();
  readonly #failed: (type: string, err: unknown) => void;
  #gaps = 0;
  #missed = 0;

  /**
   * Create a router with no handlers.
   *
   * @param failed Told about a handler that threw or rejected.
   */
  constructor(failed: (type: string, err: unknown) => void) {
    this.#failed = failed;
  }

  /** Gaps seen so far, and the events they lost in total. */
  get gapStats(): { gaps: number; missed: number } {
    return { gaps: this.#gaps, missed: this.#missed };
  }

  /**
   * Add a handler for one event type.
   *
   * @param type The event type.
   * @param handler Called for each event of `type`.
   * @returns A function that removes it.
   */
  on<K extends string>(type: K, handler: EventHandler<K>): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, set = new Set());
    set.add(handler as EventHandler<string>);
    return () => set.delete(handler as EventHandler<string>);
  }

  /**
   * Add a handler for every event.
   *
   * @param handler Called for each event, after the type's own handlers.
   * @returns A function that removes it.
   */
  onAny(handler: (event: EventMessage) => void | Promise<void>): () => void {
    this.#any.add(handler as EventHandler<string>);
    return () => this.#any.delete(handler as EventHandler<string>);
  }

  /**
   * Be told when a type's sequence numbers jump while subscribed.
   *
   * @param handler Called once per gap.
   * @returns A function that removes it.
   */
  onGap(handler: (gap: SequenceGap) => void): () => void {
    this.#gapHandlers.add(handler);
    return () => this.#gapHandlers.delete(handler);
  }

  /**
   * Forget the last sequence numbers seen (after an unsubscribe, a later jump is not a loss).
   *
   * @param types The types to forget; all when omitted.
   */
  reset(types?: string[]): void {
    if (!types) this.#last.clear();
    else for (const t of types) this.#last.delete(t);
  }

  /**
   * Route one event.
   *
   * @param e The event message.
   * @returns What the type's own handlers returned, and the first error one of them threw (also reported):
   * at once when every handler finished synchronously, else a promise of it once they all have.
   */
  dispatch(e: EventMessage): HandlerResults | Promise<HandlerResults> {
    if (e.type === "EventsLost") this.#lost(e.payload as { lost?: unknown });
    // A per-module event skips the numbers of publishes meant for other modules: no gap to report.
    else if (!e.replay && !eventSpec(e.type)?.perModule) this.#track(e.type, e.seq);
    const set = this.#handlers.get(e.type);
    // Most handlers are synchronous: no promise is made for them.
    let own: unknown[] | undefined, pending = false;
    if (set) {
      for (const h of set) {
        const r = this.#run(h, e);
        if (r instanceof Promise) pending = true;
        if (r !== undefined) (own ??= []).push(r);
      }
    }
    for (const h of this.#any) {
      const r = this.#run(h, e);
      if (r instanceof Promise) r.catch(() => {});
    }
    if (!pending) return own ? { values: own, error: undefined } : NO_RESULTS;
    return Promise.allSettled(own!).then((all) => {
      const values: unknown[] = [];
      let error: unknown, failed = false;
      for (const r of all) {
        if (r.status === "fulfilled") {
          if (r.value !== undefined) values.push(r.value);
        } else if (!failed) {
          failed = true;
          error = r.reason;
        }
      }
      return { values, error };
    });
  }

  /** The host could not resend what the module missed (journal limits): each range is a gap. */
  #lost(payload: { lost?: unknown }): void {
    if (!Array.isArray(payload?.lost)) return;
    for (const r of payload.lost as { type?: unknown; from_seq?: unknown; to_seq?: unknown; count?: unknown }[]) {
      const { type, from_seq: from, to_seq: to, count } = r ?? {};
      if (typeof type !== "string" || typeof from !== "number" || typeof to !== "number") continue;
      this.#last.set(type, Math.max(to, this.#last.get(type) ?? 0));
      this.#report({ type, expected: from, got: to + 1, missed: typeof count === "number" ? count : to - from + 1 });
    }
  }

  #track(type: string, seq: number): void {
    const last = this.#last.get(type);
    this.#last.set(type, Math.max(seq, last ?? 0));
    if (last === undefined || seq <= last + 1) return;
    this.#report({ type, expected: last + 1, got: seq, missed: seq - last - 1 });
  }

  #report(gap: SequenceGap): void {
    const type = gap.type;
    this.#gaps++;
    this.#missed += gap.missed;
    for (const h of this.#gapHandlers) {
      try {
        h(gap);
      } catch (err) {
        this.#failed(type, err);
      }
    }
  }

  /** Runs a handler; the result (or a promise of it) rejects if the handler failed, after reporting it. */
  #run(h: EventHandler<string>, e: EventMessage): unknown | Promise<unknown> {
    try {
      const r: unknown = h(e as EventOf<string>);
      if (!isThenable(r)) return r;
      return Promise.resolve(r).catch((err) => {
        this.#failed(e.type, err);
        throw err;
      });
    } catch (err) {
      this.#failed(e.type, err);
      return Promise.reject(err);
    }
  }
}

/** A promise, or anything with a `then` method (a query builder, say): awaited like one. */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | null)?.then === "function";
}
