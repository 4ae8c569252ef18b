/**
 * The dev node's queue of operations in steps (`steps.ts`). Async operations run in the order they
 * were asked for, a slice of about {@link SLICE_MS} ms at a time, with a turn of the event loop
 * between slices, so that the host sharing this loop keeps serving modules while a block of thousands
 * of transactions goes in. A synchronous operation first finishes what is queued
 * ({@link OpQueue.drain}). Internal: {@link NodeEngine} runs its operations through it.
 *
 * @module
 */
import { singleStep, type StepHint, type Steps, TURN } from "./steps.ts";

/**
 * How long an async operation runs before it gives the event loop a turn, ms. Its steps are small
 * (a chunk of transactions, of rows or of events), so a slice ends soon after.
 */
const SLICE_MS = 4;

/** An operation waiting in the queue, or running a slice at a time. */
interface Job {
  /** Starts the operation's steps (when its turn comes, so it sees the state as it is then). */
  start: () => Steps<unknown>;
  steps?: Steps<unknown>;
  done: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Operations in steps, serialized: async ones queued and run a slice at a time, synchronous ones
 * after the queue is drained.
 *
 * @example
 * ```ts ignore
 * const queue = new OpQueue();
 * const pending = queue.enqueue(() => mineSteps(1));
 * queue.sync(() => engine.acceptTx(bytes)); // the block is mined first
 * ```
 */
export class OpQueue {
  /** Async operations, oldest first; the first is the one running. */
  readonly #jobs: Job[] = [];
  /** A job's step is running: synchronous calls from inside it (event listeners) go ahead. */
  #stepping = false;
  /** Synchronous operations running (nested ones join the outer one). */
  #syncDepth = 0;
  #pumping = false;
  /** The pump's wait for the next turn of the event loop: its timer, and how to end the wait early. */
  #turn?: { timer: ReturnType<typeof setTimeout>; wake: () => void };

  /** Whether async operations are queued or running. */
  get busy(): boolean {
    return this.#jobs.length > 0;
  }

  /** Whether a queued operation's step is running (the caller is inside it). */
  get stepping(): boolean {
    return this.#stepping;
  }

  /**
   * Run every queued operation to the end, now, synchronously; from inside a running operation (an
   * event listener), or inside a synchronous one, nothing.
   */
  drain(): void {
    if (this.#stepping || this.#syncDepth > 0) return;
    while (this.#jobs.length > 0) {
      const job = this.#jobs[0];
      while (!job.done) this.#step(job);
      this.#jobs.shift();
    }
    // Nothing left for the pump to wait for: end its wait now rather than leave a timer behind.
    if (this.#turn) {
      clearTimeout(this.#turn.timer);
      this.#turn.wake();
    }
  }

  /**
   * Queue an operation in steps, to run after those queued before it, a slice at a time.
   *
   * @param start Starts the steps when the operation's turn comes.
   * @returns What the operation returned.
   */
  enqueue<T>(start: () => Steps<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#jobs.push({ start, done: false, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#pumping) void this.#pump();
    });
  }

  /**
   * Run `fn` as soon as nothing else is queued: now if the queue is empty, otherwise as a queued
   * operation of one step.
   *
   * @param fn The operation.
   * @returns What it returned.
   */
  exclusive<T>(fn: () => T): Promise<T> {
    if (this.#jobs.length > 0) return this.enqueue(() => singleStep(fn));
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * A synchronous operation: queued ones finish first.
   *
   * @param fn The operation.
   * @returns What it returned.
   */
  sync<T>(fn: () => T): T {
    this.drain();
    this.#syncDepth++;
    try {
      return fn();
    } finally {
      this.#syncDepth--;
    }
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#jobs.length > 0) {
        await this.#nextTurn();
        const t0 = performance.now();
        while (this.#jobs.length > 0 && performance.now() - t0 < SLICE_MS) {
          const job = this.#jobs[0];
          if (this.#step(job) === TURN) break;
          if (job.done) this.#jobs.shift();
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * A turn of the event loop: timers and I/O run before it resolves. A timer, not `setImmediate` or
   * a `MessageChannel`: with those pending, Deno's event loop does not wait, and its I/O driver (the
   * sockets modules call over) is polled only every few dozen turns.
   */
  #nextTurn(): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.#turn = undefined;
        resolve();
      };
      this.#turn = { timer: setTimeout(wake, 0), wake };
    });
  }

  /** Run one step of `job`; what it yielded. */
  #step(job: Job): StepHint {
    this.#stepping = true;
    try {
      job.steps ??= job.start();
      const r = job.steps.next();
      if (!r.done) return r.value;
      job.done = true;
      job.resolve(r.value);
    } catch (e) {
      job.done = true;
      job.reject(e);
    } finally {
      this.#stepping = false;
    }
  }
}
