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

interface Entry {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
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
      const abandon = (err: unknown) => {
        if (!this.#take(id)) return;
        onAbandon?.(id);
        reject(err);
      };
      const timer = setTimeout(
        () => abandon(new RemoteError(ErrorCode.DeadlineExceeded, `Call '${label}' got no reply within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const entry: Entry = { resolve, reject, timer };
      if (signal) {
        const onAbort = () => abandon(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        entry.cleanup = () => signal.removeEventListener("abort", onAbort);
      }
      this.#map.set(id, entry);
    });
    return { id, promise };
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

  #take(id: number): Entry | undefined {
    const entry = this.#map.get(id);
    if (!entry) return undefined;
    this.#map.delete(id);
    clearTimeout(entry.timer);
    entry.cleanup?.();
    return entry;
  }
}
