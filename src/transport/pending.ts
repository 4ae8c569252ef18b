/**
 * Correlation of requests with their replies: ids, deadlines and cancellation. Used by the SDK for
 * NodeAPI calls and by the host for invocations.
 *
 * @module
 */
import { ErrorCode, RemoteError } from "../protocol/errors.ts";
import type { WireError } from "../protocol/messages.ts";

/** Options for one pending call. */
export interface PendingOptions {
  /** Deadline in milliseconds. */
  timeoutMs: number;
  /** Aborting it rejects the call with the signal's reason. */
  signal?: AbortSignal;
  /** Called when the call is given up (deadline or abort) so the peer can be told to cancel. */
  onAbandon?: (id: number) => void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

interface Entry {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** `performance.now()` time at which the call is given up. */
  deadline: number;
  /** For the deadline error. */
  label: string;
  timeoutMs: number;
  onAbandon?: (id: number) => void;
  cleanup?: () => void;
}

/**
 * A table of calls in flight, keyed by correlation id.
 *
 * @example
 * ```ts
 * import { PendingCalls } from "@blvm/node";
 * const calls = new PendingCalls();
 * const { id, promise } = calls.open("get_block_height", { timeoutMs: 1000 });
 * calls.settle(id, true, 42);
 * console.log(await promise); // 42
 * ```
 */
export class PendingCalls {
  #next = 1;
  readonly #map = new Map<number, Entry>();
  // One timer, armed for the earliest pending deadline: a timer per call would cost more than the call.
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;

  /** Number of calls in flight. */
  get size(): number {
    return this.#map.size;
  }

  /**
   * Register a new call.
   *
   * @param label What the call is, for error messages (a method name).
   * @param options Deadline, signal and abandon hook.
   * @returns The correlation id to send and a promise of the result.
   */
  open(label: string, options: PendingOptions): { id: number; promise: Promise<unknown> } {
    const id = this.#next++;
    const { timeoutMs, signal, onAbandon } = options;
    const promise = new Promise<unknown>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const deadline = performance.now() + timeoutMs;
      // No closures per call beyond the promise's own: a call is cheap, and they would be most of its cost.
      const entry: Entry = { resolve, reject, deadline, label, timeoutMs, onAbandon };
      if (signal) {
        const onAbort = () => this.#abandon(id, signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        entry.cleanup = () => signal.removeEventListener("abort", onAbort);
      }
      this.#map.set(id, entry);
      if (deadline < this.#armedFor) this.#arm(deadline);
    });
    return { id, promise };
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = at;
    // Timers overflow above 2^31-1 ms; a longer deadline just re-arms when that timer fires.
    this.#timer = setTimeout(() => this.#sweep(), Math.min(MAX_TIMER_MS, Math.max(0, at - performance.now())));
    // The timer stays armed when the table empties (re-arming per call is costly), so it must not
    // keep the process alive by itself.
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, entry] of [...this.#map]) {
      if (entry.deadline <= now) {
        const why = `Call '${entry.label}' got no reply within ${entry.timeoutMs} ms`;
        this.#abandon(id, new RemoteError(ErrorCode.DeadlineExceeded, why));
      } else if (entry.deadline < next) next = entry.deadline;
    }
    if (next !== Infinity) this.#arm(next);
  }

  /**
   * Deliver the reply for `id`. Unknown ids (late replies to abandoned calls) are ignored.
   *
   * @param id The correlation id.
   * @param ok Whether the call succeeded.
   * @param value The result, or a {@link WireError} when `ok` is false.
   * @returns `true` if a call was waiting for it.
   */
  settle(id: number, ok: boolean, value: unknown): boolean {
    const entry = this.#take(id);
    if (!entry) return false;
    if (ok) entry.resolve(value);
    else {
      const e = value as WireError;
      entry.reject(new RemoteError(e.code, e.message, e.data));
    }
    return true;
  }

  /**
   * Reject every call in flight, for example when the connection closes.
   *
   * @param error The rejection reason.
   */
  rejectAll(error: unknown): void {
    for (const id of [...this.#map.keys()]) this.#take(id)?.reject(error);
  }

  /** Gives up on a call: it is rejected with `err`, and a reply that comes later is ignored. */
  #abandon(id: number, err: unknown): void {
    const entry = this.#take(id);
    if (!entry) return;
    entry.onAbandon?.(id);
    entry.reject(err);
  }

  #take(id: number): Entry | undefined {
    const entry = this.#map.get(id);
    if (!entry) return undefined;
    this.#map.delete(id);
    entry.cleanup?.();
    return entry;
  }
}
