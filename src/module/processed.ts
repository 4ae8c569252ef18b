/**
 * The module side of durable delivery: which journaled events (`pos`) the module has handled, reported to
 * the host with `processed` messages, in batches. Events are handled concurrently but reported in order:
 * the reported position is always one up to which every event was handled.
 *
 * @module
 */

/** Report bounds of {@link ProcessedTracker}. */
export interface ProcessedOptions {
  /** Longest a handled event waits to be reported, in milliseconds. Default 100. */
  maxDelayMs?: number;
  /** Handled events that make a report at once. Default 256. */
  batch?: number;
}

/**
 * Tracks handled journal positions and reports the highest contiguous one.
 *
 * @example
 * ```ts
 * import { ProcessedTracker } from "@blvm/node/module";
 * const sent: number[] = [];
 * const t = new ProcessedTracker((pos) => sent.push(pos) > 0, { batch: 2 });
 * const a = t.begin(5), b = t.begin(9);
 * b(); // 9 is done but 5 is not: nothing to report yet
 * a(); // both done: reports 9
 * t.close();
 * console.log(sent); // [9]
 * ```
 */
export class ProcessedTracker {
  readonly #send: (pos: number) => boolean;
  readonly #maxDelayMs: number;
  readonly #batch: number;
  #queue: { pos: number; done: boolean }[] = [];
  #head = 0;
  #ready = 0;
  #sent = 0;
  #unsent = 0;
  #timer?: ReturnType<typeof setTimeout>;

  /**
   * Track nothing yet.
   *
   * @param send Sends one `processed` message; `false` if the connection is gone.
   * @param options Report bounds.
   */
  constructor(send: (pos: number) => boolean, options: ProcessedOptions = {}) {
    this.#send = send;
    this.#maxDelayMs = options.maxDelayMs ?? 100;
    this.#batch = options.batch ?? 256;
  }

  /** The last position reported to the host. */
  get reported(): number {
    return this.#sent;
  }

  /**
   * An event at `pos` arrived; call the returned function once its handlers have finished.
   *
   * @param pos Its journal position.
   * @returns Marks it handled.
   */
  begin(pos: number): () => void {
    const entry = { pos, done: false };
    this.#queue.push(entry);
    return () => {
      entry.done = true;
      this.#advance();
    };
  }

  /**
   * An event at `pos` arrived and its handlers have already finished: {@link ProcessedTracker.begin} and
   * marking it handled at once, without the bookkeeping when nothing earlier is still being handled.
   *
   * @param pos Its journal position.
   */
  done(pos: number): void {
    if (this.#head < this.#queue.length) {
      this.#queue.push({ pos, done: true });
    } else {
      this.#ready = Math.max(this.#ready, pos);
      this.#unsent++;
    }
    this.#advance();
  }

  /** Report now what is ready. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#ready > this.#sent && this.#send(this.#ready)) this.#sent = this.#ready;
    this.#unsent = 0;
  }

  /** Report what is ready and stop the timer. */
  close(): void {
    this.flush();
  }

  #advance(): void {
    const q = this.#queue;
    while (this.#head < q.length && q[this.#head].done) {
      this.#ready = Math.max(this.#ready, q[this.#head++].pos);
      this.#unsent++;
    }
    if (this.#head === q.length) {
      if (q.length) q.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    if (this.#unsent >= this.#batch) this.flush();
    else if (this.#ready > this.#sent && this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#maxDelayMs);
    }
  }
}
