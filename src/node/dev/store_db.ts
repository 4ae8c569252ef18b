/**
 * The SQLite connection under a {@link NodeStore}: its transactions (at once, or in steps that stay
 * open across `yield`s), SQLite's errors made into {@link StoreWriteError}, its prepared statements,
 * and the write-ahead log's checkpoints (SQLite's own, or a worker thread's), backups and closing.
 * Internal: {@link NodeStore} maps its methods onto statements run here.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { isSqliteError, StoreWriteError } from "./store_errors.ts";
import type { Steps } from "./steps.ts";
import { BackgroundCheckpoints, BACKSTOP_PAGES } from "./checkpointer.ts";

/**
 * One open SQLite file in WAL mode. Internal: the methods are documented where {@link NodeStore}
 * offers them.
 *
 * @example
 * ```ts ignore
 * const db = new StoreDb(new DatabaseSync(path), path);
 * db.atomically(() => db.q("DELETE FROM mempool").run());
 * ```
 */
export class StoreDb {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #s: Record<string, StatementSync> = {};
  #depth = 0;
  /** A transaction of {@link StoreDb.atomicallySteps} is open and paused at a `yield`. */
  #paused = false;
  /** Finishes paused work before anything else writes; see {@link StoreDb.beforeInterleavedWrite}. */
  #finishPaused?: () => void;
  /** Checkpoints run by a worker thread, once asked for ({@link StoreDb.checkpointInBackground}). */
  #background?: BackgroundCheckpoints;

  /**
   * Wrap an open connection.
   *
   * @param db The connection, its schema in place.
   * @param path Its file, or `:memory:`.
   */
  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
  }

  /**
   * Run `fn` in one SQLite transaction; nested calls join the outer one (`NodeStore.atomically`).
   *
   * @param fn The work.
   * @returns What `fn` returned.
   */
  atomically<T>(fn: () => T): T {
    this.notPaused();
    if (this.#depth > 0) return fn();
    // A transaction left open by a rollback that failed earlier: end it before starting anew.
    if (this.#db.isTransaction) this.guard(() => this.#db.exec("ROLLBACK"));
    this.guard(() => this.#db.exec("BEGIN IMMEDIATE"));
    this.#depth++;
    try {
      const out = fn();
      this.#live();
      this.#db.exec("COMMIT");
      return out;
    } catch (e) {
      throw this.#rolledBack(e);
    } finally {
      this.#depth--;
    }
  }

  /**
   * {@link StoreDb.atomically} for work in steps (`NodeStore.atomicallySteps`).
   *
   * @param steps The work.
   * @returns Steps returning what the work returned.
   */
  *atomicallySteps<T>(steps: Steps<T>): Steps<T> {
    this.notPaused();
    if (this.#depth > 0) return yield* steps;
    if (this.#db.isTransaction) this.guard(() => this.#db.exec("ROLLBACK"));
    this.guard(() => this.#db.exec("BEGIN IMMEDIATE"));
    this.#depth++;
    try {
      for (;;) {
        const r = steps.next();
        if (r.done) {
          this.#live();
          this.#db.exec("COMMIT");
          return r.value;
        }
        this.#paused = true;
        try {
          yield r.value;
        } finally {
          this.#paused = false;
        }
      }
    } catch (e) {
      throw this.#rolledBack(e);
    } finally {
      this.#depth--;
    }
  }

  /**
   * Say how to finish paused work when something else is about to write (`NodeStore.beforeInterleavedWrite`).
   *
   * @param fn Finishes the paused work, synchronously.
   */
  beforeInterleavedWrite(fn: () => void): void {
    this.#finishPaused = fn;
  }

  /** Before a write from outside paused work: have that work finished first. */
  notPaused(): void {
    if (!this.#paused) return;
    this.#finishPaused?.();
    if (this.#paused) {
      throw new Error("The dev node's store is in the middle of a change; finish it before writing anything else");
    }
  }

  /** Roll back after `e` (unless SQLite already did) and return the error to throw. */
  #rolledBack(e: unknown): unknown {
    let rollbackError: unknown;
    if (this.#db.isTransaction) {
      try {
        this.#db.exec("ROLLBACK");
      } catch (r) {
        rollbackError = r;
      }
    }
    if (e instanceof StoreWriteError) {
      return rollbackError === undefined ? e : new StoreWriteError(this.#path, e.cause, rollbackError);
    }
    if (isSqliteError(e) || rollbackError !== undefined) return new StoreWriteError(this.#path, e, rollbackError);
    return e;
  }

  /** Throw if SQLite ended the current transaction itself (it does on `SQLITE_FULL`, for one). */
  #live(): void {
    if (this.#depth > 0 && !this.#db.isTransaction) {
      throw new StoreWriteError(
        this.#path,
        Object.assign(new Error("SQLite ended the transaction after an earlier error; nothing of it was kept"), {
          errcode: 4,
        }),
      );
    }
  }

  /**
   * Run a statement outside {@link StoreDb.atomically}, turning SQLite's errors into {@link StoreWriteError}.
   *
   * @param fn Runs the statement.
   * @returns What `fn` returned.
   */
  guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw isSqliteError(e) ? new StoreWriteError(this.#path, e) : e;
    }
  }

  /**
   * A prepared statement (prepared once), checking first that SQLite did not end the transaction.
   *
   * @param sql The statement.
   * @returns It, prepared.
   */
  q(sql: string): StatementSync {
    this.#live();
    return this.#s[sql] ??= this.#db.prepare(sql);
  }

  /**
   * Checkpoint the write-ahead log into the main file (`NodeStore.flush`).
   *
   * @returns WAL pages written back.
   */
  flush(): number {
    this.notPaused();
    // PASSIVE reports the pages it wrote back; TRUNCATE then empties the WAL file (and reports zeros).
    return this.guard(() => {
      const r = this.#db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as { checkpointed?: number } | undefined;
      // A background checkpoint in progress makes TRUNCATE busy: wait for it (tens of milliseconds).
      if (this.#background) this.#db.exec("PRAGMA busy_timeout = 5000");
      try {
        this.#db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
      } finally {
        if (this.#background) this.#db.exec("PRAGMA busy_timeout = 0");
      }
      return Math.max(0, r?.checkpointed ?? 0);
    });
  }

  /**
   * Write a consistent copy of the database to `file` (`NodeStore.backupTo`).
   *
   * @param file The destination path.
   */
  backupTo(file: string): void {
    this.notPaused();
    this.guard(() => this.#db.prepare("VACUUM INTO ?").run(file));
  }

  /**
   * Checkpoint the write-ahead log in a worker thread, soon, and from now on leave checkpoints to it:
   * SQLite's own (in the commit that finds the log over 1,000 pages, with its fsyncs, on the caller's
   * thread) only if the log reaches {@link BACKSTOP_PAGES}. For a file store written with large
   * transactions from an event loop that must stay responsive; a store in memory has no log, and
   * this does nothing.
   *
   * @example
   * ```ts ignore
   * store.checkpointInBackground(); // after committing a block of a thousand transactions
   * ```
   */
  checkpointInBackground(): void {
    if (this.#path === ":memory:" || !this.#db.isOpen) return;
    if (!this.#background?.live) {
      this.#background = BackgroundCheckpoints.start(this.#path);
      this.guard(() => this.#db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`));
    }
    this.#background.request();
  }

  /**
   * Whether a worker thread checkpoints the log ({@link StoreDb.checkpointInBackground}).
   *
   * @example
   * ```ts ignore
   * if (store.checkpointsInBackground) await store.stopBackgroundCheckpoints();
   * ```
   */
  get checkpointsInBackground(): boolean {
    return this.#background !== undefined;
  }

  /**
   * Stop background checkpoints (the worker closes its connection) and give checkpoints back to
   * SQLite's default.
   *
   * @returns Settles once the worker is gone.
   *
   * @example
   * ```ts ignore
   * await store.stopBackgroundCheckpoints();
   * store.close();
   * ```
   */
  async stopBackgroundCheckpoints(): Promise<void> {
    const background = this.#background;
    if (!background) return;
    this.#background = undefined;
    await background.close();
    if (this.#db.isOpen) this.guard(() => this.#db.exec("PRAGMA wal_autocheckpoint = 1000"));
  }

  /** Checkpoint and close the file. */
  close(): void {
    if (!this.#db.isOpen) return;
    this.notPaused();
    // Normally stopped first (DevNode.close awaits it); otherwise the worker closes its own
    // connection shortly, and whichever connection closes last checkpoints what is left.
    void this.#background?.close();
    this.#background = undefined;
    try {
      this.flush();
    } finally {
      // A checkpoint that fails (a full disk) loses nothing: the WAL file keeps what it holds.
      this.#db.close();
    }
  }
}
