/**
 * Checkpoints of the dev node's write-ahead log off the event loop. SQLite copies the WAL into the
 * database file itself when a commit finds it over 1,000 pages (its auto-checkpoint), with two
 * fsyncs: for a block of a thousand transactions that is a ~20 ms pause in the middle of the host's
 * event loop every block or two. Once the node commits such blocks, a worker thread with its own
 * connection does the copying instead ({@link BackgroundCheckpoints}), after each of them, and the
 * node's own connection keeps SQLite's auto-checkpoint only as a backstop, at a much larger size.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";

/**
 * WAL pages at which the node's own connection still checkpoints, once a worker does it.
 *
 * @example
 * ```ts ignore
 * db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
 * ```
 */
export const BACKSTOP_PAGES = 20_000;

/**
 * A worker thread checkpointing one SQLite file in WAL mode. Requests coalesce: while one runs, any
 * number of further requests make one more.
 *
 * @example
 * ```ts ignore
 * const bg = BackgroundCheckpoints.start("data/node/node.sqlite");
 * bg.request(); // after a large commit
 * await bg.close();
 * ```
 */
export class BackgroundCheckpoints {
  readonly #worker: Worker;
  readonly #log = getLogger(["blvm", "devnode"]);
  #running = false;
  #again = false;
  #closing?: Promise<void>;
  #failed = false;

  private constructor(path: string) {
    this.#worker = new Worker(new URL("./checkpoint_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<{ op: string; error?: string }>) => {
      if (e.data.op !== "done") return;
      if (e.data.error) this.#log.warn("Background checkpoint failed: {error}", { error: e.data.error });
      this.#running = false;
      if (this.#again) this.request();
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#failed = true;
      this.#log.error("The background checkpointer stopped: {error}", { error: e.message });
    };
    this.#worker.postMessage({ op: "open", path });
  }

  /**
   * Start a worker for the file at `path`.
   *
   * @param path The database file.
   * @returns The checkpointer.
   *
   * @example
   * ```ts ignore
   * const bg = BackgroundCheckpoints.start("data/node/node.sqlite");
   * ```
   */
  static start(path: string): BackgroundCheckpoints {
    return new BackgroundCheckpoints(path);
  }

  /**
   * Whether it can still checkpoint (it has not failed and is not closing).
   *
   * @example
   * ```ts ignore
   * if (!bg.live) bg = BackgroundCheckpoints.start(path);
   * ```
   */
  get live(): boolean {
    return !this.#failed && !this.#closing;
  }

  /**
   * Checkpoint soon: now if idle, else once more after the one running.
   *
   * @example
   * ```ts ignore
   * bg.request();
   * ```
   */
  request(): void {
    if (!this.live) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    this.#again = false;
    this.#worker.postMessage({ op: "checkpoint" });
  }

  /**
   * Close the worker's connection and end it.
   *
   * @returns Settles once the worker has closed its connection (at most a second).
   *
   * @example
   * ```ts ignore
   * await bg.close();
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#worker.terminate();
        resolve();
      };
      // A worker that failed or never answers is ended anyway: its connection only ever reads and
      // checkpoints, which SQLite recovers from.
      const timer = setTimeout(done, this.#failed ? 0 : 1_000);
      this.#worker.onmessage = (e: MessageEvent<{ op: string }>) => {
        if (e.data.op === "closed") done();
      };
      if (!this.#failed) this.#worker.postMessage({ op: "close" });
    });
    return this.#closing;
  }
}
