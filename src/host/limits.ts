/**
 * Per-module request limits: a token-bucket rate limiter and one timer for many call deadlines.
 *
 * @module
 */

/** A request rate limit. */
export interface RateLimit {
  /** Sustained requests per second. */
  per_second: number;
  /** Requests allowed in a burst above the sustained rate. */
  burst: number;
}

/** The default per-module limit: 10 000 requests per second, bursts of 20 000. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimit> = { per_second: 10_000, burst: 20_000 };

/**
 * A token bucket: `burst` tokens, refilled at `per_second`; each request takes one.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "@blvm/node";
 * const bucket = new TokenBucket({ per_second: 1, burst: 2 });
 * console.log(bucket.take(), bucket.take(), bucket.take() > 0); // 0 0 true
 * ```
 */
export class TokenBucket {
  /** The rate and burst it enforces. */
  readonly limit: Readonly<RateLimit>;
  #tokens: number;
  #at: number;

  /**
   * A full bucket.
   *
   * @param limit The rate and burst.
   * @param now Clock in milliseconds. Default `performance.now`.
   */
  constructor(limit: RateLimit, readonly now: () => number = () => performance.now()) {
    if (!(limit.per_second > 0) || !(limit.burst >= 1)) {
      throw new RangeError(
        `Rate limit needs per_second > 0 and burst >= 1, got ${limit.per_second}/s and ${limit.burst}`,
      );
    }
    this.limit = limit;
    this.#tokens = limit.burst;
    this.#at = now();
  }

  /**
   * Take one token.
   *
   * @returns 0 if the request may go ahead, otherwise the milliseconds until a token is available.
   */
  take(): number {
    const now = this.now();
    this.#tokens = Math.min(this.limit.burst, this.#tokens + (now - this.#at) * this.limit.per_second / 1000);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens--;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) * 1000 / this.limit.per_second));
  }
}

/**
 * Deadlines of many calls served by one timer, armed for the earliest. Calls normally finish long
 * before their deadline, so adding and removing one costs a map operation, not a timer.
 *
 * @example
 * ```ts
 * import { Deadlines } from "@blvm/node";
 * const expired: number[] = [];
 * const d = new Deadlines<number>((id) => expired.push(id));
 * d.add(1, 10);
 * d.add(2, 10_000);
 * await new Promise((r) => setTimeout(r, 50));
 * d.delete(2);
 * d.close();
 * console.log(expired); // [1]
 * ```
 */
export class Deadlines<K> {
  readonly #at = new Map<K, number>();
  readonly #expire: (key: K) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;

  /**
   * Track no deadlines yet.
   *
   * @param expire Called once for each key whose deadline passed; the key is removed first.
   */
  constructor(expire: (key: K) => void) {
    this.#expire = expire;
  }

  /**
   * Track a deadline.
   *
   * @param key The call.
   * @param ms Milliseconds from now.
   * @returns When it falls, on the `performance.now()` clock.
   */
  add(key: K, ms: number): number {
    const at = performance.now() + ms;
    this.#at.set(key, at);
    if (at < this.#timerAt) this.#arm(at);
    return at;
  }

  /**
   * Stop tracking a call (it finished).
   *
   * @param key The call.
   */
  delete(key: K): void {
    this.#at.delete(key);
  }

  /** Stop the timer and forget every deadline. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#at.clear();
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    // setTimeout takes at most 2^31-1 ms; a later deadline simply re-arms when this one fires.
    const ms = Math.min(Math.max(0, at - performance.now()), 2 ** 31 - 1);
    this.#timer = setTimeout(() => this.#sweep(), Math.ceil(ms));
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    const due: K[] = [];
    for (const [key, at] of this.#at) if (at <= now + 1) due.push(key);
    for (const key of due) this.#at.delete(key);
    // Callbacks run after the scan, so a deadline they add waits for the next turn of the timer.
    for (const key of due) this.#expire(key);
    let next = Infinity;
    for (const at of this.#at.values()) if (at < next) next = at;
    if (next < Infinity && next < this.#timerAt) this.#arm(next);
  }
}
