/**
 * One NodeAPI call a module made that the host is still serving. Its `AbortSignal` is made only when a
 * handler asks for it: most calls finish at once, and an `AbortController` per call is a large part of
 * what serving a cheap call costs.
 *
 * @module
 */

/**
 * A call in flight: what it is, and whether it was aborted (cancelled, past its deadline, disconnected).
 *
 * @example
 * ```ts
 * import { InFlightCall } from "./inflight.ts";
 * const call = new InFlightCall("get_block_height", 30_000);
 * const signal = call.signal;
 * call.abort(new Error("cancelled"));
 * console.log(call.aborted, signal.aborted); // true true
 * ```
 */
export class InFlightCall {
  /** The NodeAPI method. */
  readonly method: string;
  /** Its deadline in milliseconds. */
  readonly ms: number;
  #aborted = false;
  #reason: unknown;
  #control: AbortController | undefined;

  /**
   * Track one call.
   *
   * @param method The NodeAPI method.
   * @param ms Its deadline in milliseconds.
   */
  constructor(method: string, ms: number) {
    this.method = method;
    this.ms = ms;
  }

  /** Whether it was aborted. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Aborted when the call is; made on first use. */
  get signal(): AbortSignal {
    if (!this.#control) {
      this.#control = new AbortController();
      if (this.#aborted) this.#control.abort(this.#reason);
    }
    return this.#control.signal;
  }

  /**
   * Abort the call (once).
   *
   * @param reason Why; the signal's reason.
   */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason ?? new DOMException("The call was aborted", "AbortError");
    this.#control?.abort(this.#reason);
  }
}
