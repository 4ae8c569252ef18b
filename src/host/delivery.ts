/**
 * One subscriber's event delivery: a bounded queue between the event bus and the subscriber's
 * connection, with the drop policy.
 *
 * While the connection keeps up (nothing queued, little unwritten), an event is copied straight into
 * its output buffer. Otherwise it waits here and moves on as the connection drains. When the queue is
 * full (bytes already handed to the connection and not yet written count against it), the oldest `lossy`
 * event is dropped and counted, and the module is told with one `EventsDropped` event, which goes ahead
 * of everything still queued; `lossless` events are never dropped. A subscriber whose queue passes the hard
 * limit anyway is cut off (`onOverflow`), which the host reports loudly instead of losing data quietly.
 *
 * @module
 */

/** Anything that can take an encoded frame: in practice a module's `Connection`. */
export interface Subscriber {
  /** Queue (copy) the frame; `false` if the subscriber is gone. The bytes are only valid during the call. */
  sendFrame(frame: Uint8Array): boolean;
  /** Bytes accepted by `sendFrame` but not yet written. Default: always 0 (never behind). */
  readonly bufferedBytes?: number;
}

/** Queue bounds. */
export interface DeliveryLimits {
  /** Queued events at which lossy events start to be dropped. Default 10000. */
  maxQueued: number;
  /** Queued bytes at which lossy events start to be dropped. Default 16 MiB. */
  maxQueuedBytes: number;
  /** Queued events (lossless ones piling up) at which the subscriber is cut off. Default 4 × `maxQueued`. */
  hardQueued: number;
  /** Queued bytes at which the subscriber is cut off. Default 4 × `maxQueuedBytes`. */
  hardQueuedBytes: number;
  /** Unwritten bytes in the connection above which events wait in the queue. Default 256 KiB. */
  highWater: number;
}

/** Default {@link DeliveryLimits}. */
export const DEFAULT_DELIVERY_LIMITS: Readonly<DeliveryLimits> = {
  maxQueued: 10_000,
  maxQueuedBytes: 16 * 1024 * 1024,
  hardQueued: 40_000,
  hardQueuedBytes: 64 * 1024 * 1024,
  highWater: 256 * 1024,
};

/** Delivery counters of one subscriber, for operators. */
export interface DeliveryStats {
  /** Events handed to the connection. */
  delivered: number;
  /** Events waiting in the queue. */
  queued: number;
  /** Bytes waiting in the queue. */
  queued_bytes: number;
  /** Age of the oldest queued event in milliseconds; 0 when nothing waits. */
  lag_ms: number;
  /** Events dropped, per type, since the subscriber attached. */
  dropped: Record<string, number>;
  /** Sum of `dropped`. */
  dropped_total: number;
  /** Whether the subscriber was cut off for falling too far behind. */
  overflowed: boolean;
}

/**
 * The queue of one subscriber. Made by the `EventBus`; exported for tests and benchmarks.
 *
 * @example
 * ```ts
 * import { Delivery } from "@blvm/node";
 * const sent: number[] = [];
 * let buffered = 0;
 * const sink = { sendFrame: (f: Uint8Array) => sent.push(f.length) > 0, get bufferedBytes() { return buffered; } };
 * const d = new Delivery(sink, { maxQueued: 2, highWater: 10 }, (dropped) => new Uint8Array([dropped.total]), () => {});
 * d.offer(new Uint8Array(4), "MempoolTransactionAdded", true); // written at once
 * buffered = 100; // the connection falls behind
 * for (let i = 0; i < 3; i++) d.offer(new Uint8Array(4), "MempoolTransactionAdded", true);
 * console.log(d.stats().dropped_total); // 1: the oldest queued one
 * buffered = 0;
 * d.pump();
 * console.log(sent.length); // 4: the first, then the drop notice ahead of the two kept
 * ```
 */
export class Delivery {
  readonly #sink: Subscriber;
  readonly #limits: DeliveryLimits;
  readonly #notice: (info: { dropped: Record<string, number>; total: number; queue_limit: number }) => Uint8Array;
  readonly #overflow: (why: string) => void;
  #frames: (Uint8Array | null)[] = [];
  #types: string[] = [];
  #lossy: boolean[] = [];
  #times: number[] = [];
  #head = 0;
  /** Index from which to look for the oldest live lossy entry; nothing before it is one. */
  #scan = 0;
  #live = 0;
  #bytes = 0;
  #delivered = 0;
  #pending = new Map<string, number>();
  #pendingTotal = 0;
  #noticeQueued = false;
  #dropped: Record<string, number> = {};
  #droppedTotal = 0;
  #overflowed = false;

  /**
   * An empty queue in front of one connection.
   *
   * @param sink The connection.
   * @param limits Queue bounds; missing ones take {@link DEFAULT_DELIVERY_LIMITS}.
   * @param notice Encodes the `EventsDropped` frame for the counts since the last one.
   * @param overflow Called once if the hard limit is passed; the caller disconnects the subscriber.
   */
  constructor(
    sink: Subscriber,
    limits: Partial<DeliveryLimits>,
    notice: (info: { dropped: Record<string, number>; total: number; queue_limit: number }) => Uint8Array,
    overflow: (why: string) => void,
  ) {
    this.#sink = sink;
    const l = { ...DEFAULT_DELIVERY_LIMITS, ...limits };
    if (limits.hardQueued === undefined) l.hardQueued = Math.max(l.maxQueued, l.maxQueued * 4);
    if (limits.hardQueuedBytes === undefined) l.hardQueuedBytes = l.maxQueuedBytes * 4;
    this.#limits = l;
    this.#notice = notice;
    this.#overflow = overflow;
  }

  /** Events waiting in the queue. */
  get backlog(): number {
    return this.#live;
  }

  /**
   * What can still be queued before the drop bounds (`maxQueued`, `maxQueuedBytes`, counting the bytes the
   * connection has not written): producers that can wait, such as a module catching up from the journal,
   * send no more than this.
   */
  get room(): { events: number; bytes: number } {
    const l = this.#limits;
    return {
      events: l.maxQueued - this.#live,
      bytes: l.maxQueuedBytes - this.#bytes - (this.#sink.bufferedBytes ?? 0),
    };
  }

  /** The connection this queue feeds. */
  get sink(): Subscriber {
    return this.#sink;
  }

  /**
   * Deliver one event: straight to the connection when nothing waits and it keeps up, else queued.
   *
   * @param frame The encoded frame. Only valid during the call unless `stable` is true.
   * @param type The event type.
   * @param lossy Whether the event may be dropped when the queue is full.
   * @param stable Whether `frame` may be kept (it is not a reused scratch buffer).
   * @returns `false` if it had to be queued and `frame` was not stable: call {@link Delivery.enqueue}
   * with a copy.
   */
  offer(frame: Uint8Array, type: string, lossy: boolean, stable = true): boolean {
    if (this.#overflowed) return true;
    if (this.#live === 0 && !this.#noticeQueued && (this.#sink.bufferedBytes ?? 0) < this.#limits.highWater) {
      this.#sink.sendFrame(frame);
      this.#delivered++;
      return true;
    }
    if (!stable) return false;
    this.enqueue(frame, type, lossy);
    return true;
  }

  /**
   * Queue one event, applying the drop policy.
   *
   * @param frame The encoded frame; kept until written.
   * @param type The event type.
   * @param lossy Whether it may be dropped.
   */
  enqueue(frame: Uint8Array, type: string, lossy: boolean): void {
    if (this.#overflowed) return;
    const l = this.#limits;
    // Bytes the connection holds but has not written yet are part of the backlog: a module that stops
    // reading is behind by them too, and lossy events must start to go as soon as it is.
    const unwritten = this.#sink.bufferedBytes ?? 0;
    // Make room by dropping the oldest lossy events; when none is left, a lossy newcomer is the one dropped.
    if (this.#full(unwritten + frame.length)) {
      while (this.#full(unwritten + frame.length) && this.#dropOldestLossy());
      if (this.#full(unwritten + frame.length) && lossy) return this.#countDrop(type);
    }
    if (this.#live >= l.hardQueued || this.#bytes + frame.length > l.hardQueuedBytes) {
      this.#overflowed = true;
      this.#clear();
      this.#overflow(
        `its event queue passed ${l.hardQueued} events or ${l.hardQueuedBytes} bytes of events that may not be dropped`,
      );
      return;
    }
    this.#push(frame, type, lossy);
    this.#live++;
    this.#bytes += frame.length;
    // Dropped entries leave holes; a subscriber that stopped reading must not grow the arrays without bound.
    if (this.#frames.length - this.#head > 2 * this.#live + 1024) this.#compact();
    if ((this.#sink.bufferedBytes ?? 0) < l.highWater) this.pump();
  }

  /** Move queued events into the connection while it has room. Call it when the connection drains. */
  pump(): void {
    const high = this.#limits.highWater;
    // The drop notice goes first: the module learns of its losses now, not after the backlog.
    if (this.#noticeQueued && (this.#sink.bufferedBytes ?? 0) < high) {
      this.#noticeQueued = false;
      const dropped = Object.fromEntries(this.#pending);
      const total = this.#pendingTotal;
      this.#pending.clear();
      this.#pendingTotal = 0;
      this.#sink.sendFrame(this.#notice({ dropped, total, queue_limit: this.#limits.maxQueued }));
    }
    while (!this.#noticeQueued && this.#head < this.#frames.length && (this.#sink.bufferedBytes ?? 0) < high) {
      const i = this.#head++;
      const frame = this.#frames[i];
      this.#frames[i] = null;
      if (frame === null) continue;
      this.#live--;
      this.#bytes -= frame.length;
      this.#delivered++;
      this.#sink.sendFrame(frame);
    }
    if (this.#head === this.#frames.length && !this.#noticeQueued) this.#reset();
    else if (this.#head > 4096 && this.#head * 2 > this.#frames.length) this.#compact();
  }

  /** Counters for operators. */
  stats(): DeliveryStats {
    let lag = 0;
    for (let i = this.#head; i < this.#frames.length; i++) {
      if (this.#frames[i] !== null) {
        lag = Math.max(0, Math.round(performance.now() - this.#times[i]));
        break;
      }
    }
    return {
      delivered: this.#delivered,
      queued: this.#live,
      queued_bytes: this.#bytes,
      lag_ms: lag,
      dropped: { ...this.#dropped },
      dropped_total: this.#droppedTotal,
      overflowed: this.#overflowed,
    };
  }

  /** Whether the queue is at its drop bounds with `extra` more bytes. */
  #full(extra: number): boolean {
    return this.#live >= this.#limits.maxQueued || this.#bytes + extra > this.#limits.maxQueuedBytes;
  }

  #push(frame: Uint8Array, type: string, lossy: boolean): void {
    this.#frames.push(frame);
    this.#types.push(type);
    this.#lossy.push(lossy);
    this.#times.push(turnNow());
  }

  #dropOldestLossy(): boolean {
    let i = Math.max(this.#scan, this.#head);
    const n = this.#frames.length;
    while (i < n && !(this.#lossy[i] && this.#frames[i] !== null)) i++;
    this.#scan = i;
    if (i >= n) return false;
    const frame = this.#frames[i]!;
    this.#frames[i] = null;
    this.#live--;
    this.#bytes -= frame.length;
    this.#countDrop(this.#types[i]);
    return true;
  }

  #countDrop(type: string): void {
    this.#pending.set(type, (this.#pending.get(type) ?? 0) + 1);
    this.#pendingTotal++;
    this.#dropped[type] = (this.#dropped[type] ?? 0) + 1;
    this.#droppedTotal++;
    this.#noticeQueued = true;
  }

  /** Drop the consumed head and the holes left by dropped events, keeping order. */
  #compact(): void {
    const frames: (Uint8Array | null)[] = [], types: string[] = [], lossy: boolean[] = [], times: number[] = [];
    for (let i = this.#head; i < this.#frames.length; i++) {
      if (this.#frames[i] === null) continue;
      frames.push(this.#frames[i]);
      types.push(this.#types[i]);
      lossy.push(this.#lossy[i]);
      times.push(this.#times[i]);
    }
    this.#frames = frames;
    this.#types = types;
    this.#lossy = lossy;
    this.#times = times;
    this.#head = this.#scan = 0;
  }

  #reset(): void {
    this.#frames = [];
    this.#types = [];
    this.#lossy = [];
    this.#times = [];
    this.#head = this.#scan = 0;
  }

  #clear(): void {
    this.#reset();
    this.#live = this.#bytes = 0;
    this.#noticeQueued = false;
  }
}

let now = 0;
let fresh = false;
const expire = () => fresh = false;

/**
 * `performance.now()`, read at most once per turn of the event loop (until the next microtask checkpoint):
 * the timestamps of many events queued in one burst cost one clock read. They only feed `lag_ms`.
 */
function turnNow(): number {
  if (!fresh) {
    now = performance.now();
    fresh = true;
    queueMicrotask(expire);
  }
  return now;
}
