/**
 * The dev node's on-disk state, one SQLite file (`node:sqlite`) in its data dir: every block it has
 * seen with its validity, the main chain, the UTXO set, a transaction index, undo data for
 * disconnecting blocks, the mempool and the wallet's keys. Each change to the chain or mempool is one
 * SQLite transaction, so a crash leaves the file at a consistent point. The file is written in WAL mode;
 * {@link NodeStore.flush} checkpoints the WAL into the main file. A write that fails (a full disk, an
 * I/O error) throws a {@link StoreWriteError} naming SQLite's reason, and nothing of its transaction is
 * kept.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { StoreError } from "./store_errors.ts";
import { storeHooks } from "./test_hooks.ts";
import type { Steps } from "./steps.ts";
import { StoreDb } from "./store_db.ts";
import {
  type BlockStatus,
  SCHEMA,
  SCHEMA_VERSION,
  type StoredCoin,
  type StoredHeader,
  type TxLocation,
} from "./store_schema.ts";

export type { BlockStatus, StoredCoin, StoredHeader, TxLocation };

export { StoreError };

/**
 * The SQLite file behind a dev node. Methods map one-to-one onto statements; the dev node decides
 * what goes together in a {@link NodeStore.atomically} block.
 *
 * @example
 * ```ts
 * import { NodeStore } from "@blvm/node";
 * const store = NodeStore.open(":memory:");
 * store.setMeta("network", "regtest");
 * console.log(store.meta("network")); // "regtest"
 * store.close();
 * ```
 */
export class NodeStore {
  readonly #db: StoreDb;

  private constructor(db: StoreDb) {
    this.#db = db;
  }

  /**
   * Open (creating if needed) the store at `path`.
   *
   * @param path A file path, or `:memory:` for a store that lives only as long as the process.
   * @returns The store.
   * @throws {StoreError} if the file has another schema version.
   */
  static open(path: string): NodeStore {
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;");
    db.exec(SCHEMA);
    storeHooks.opened?.(db, path);
    const store = new NodeStore(new StoreDb(db, path));
    const version = store.meta("schema");
    if (version === undefined) store.setMeta("schema", SCHEMA_VERSION);
    else if (version !== SCHEMA_VERSION) {
      db.close();
      throw new StoreError(path, `its schema version is ${version}, this dev node reads ${SCHEMA_VERSION}`);
    }
    return store;
  }

  /**
   * Run `fn` in one SQLite transaction; nested calls join the outer one. If `fn` or the commit
   * throws, the transaction is rolled back and the error that caused it is rethrown: a SQLite error
   * as a {@link StoreWriteError} naming its reason, any other error as it was. A rollback that fails
   * too never hides that error (it is attached as {@link StoreWriteError.rollbackError}).
   *
   * @param fn The work; it must not catch the store's errors and carry on.
   * @returns What `fn` returned.
   * @throws {StoreWriteError} if SQLite could not write (e.g. `SQLITE_FULL` for a full disk).
   */
  atomically<T>(fn: () => T): T {
    return this.#db.atomically(fn);
  }

  /**
   * {@link NodeStore.atomically} for work in steps: one SQLite transaction that stays open while the
   * steps pause at their `yield`s (a nested call joins the open one). While it is paused, nothing else
   * may write: a write from elsewhere ({@link NodeStore.atomically}, a checkpoint, a backup, closing)
   * first calls the function given to {@link NodeStore.beforeInterleavedWrite}, which must finish the
   * paused work, and throws if it did not.
   *
   * @param steps The work; like `atomically`'s, it must not catch the store's errors and carry on.
   * @returns Steps returning what the work returned; the commit happens in the last step, right
   *   after the work's own last step.
   * @throws {StoreWriteError} if SQLite could not write; whatever the work threw otherwise.
   *
   * @example
   * ```ts ignore
   * const entry = yield* store.atomicallySteps(connectSteps(block));
   * ```
   */
  atomicallySteps<T>(steps: Steps<T>): Steps<T> {
    return this.#db.atomicallySteps(steps);
  }

  /**
   * Say how to finish paused work ({@link NodeStore.atomicallySteps}) when something else is about to
   * write: the dev node runs its queued operations to the end.
   *
   * @param fn Finishes the paused work, synchronously.
   *
   * @example
   * ```ts ignore
   * store.beforeInterleavedWrite(() => engine.drain());
   * ```
   */
  beforeInterleavedWrite(fn: () => void): void {
    this.#db.beforeInterleavedWrite(fn);
  }

  /** A metadata value. */
  meta(key: string): string | undefined {
    return (this.#db.q("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined)?.value;
  }

  /** Set a metadata value. */
  setMeta(key: string, value: string): void {
    this.atomically(() =>
      this.#db.q("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .run(key, value)
    );
  }

  /** Every stored block's index entry, in arrival order. */
  headers(): StoredHeader[] {
    return (this.#db.q("SELECT hash, prev_hash, height, header, status, seq FROM blocks ORDER BY seq")
      .all() as unknown as StoredHeader[]).map((r) => ({ ...r }));
  }

  /** Store a block (ignored if already stored). */
  putBlock(h: StoredHeader, raw: Uint8Array): void {
    this.atomically(() =>
      this.#db.q(
        "INSERT OR IGNORE INTO blocks (hash, prev_hash, height, header, raw, status, seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).run(h.hash, h.prev_hash, h.height, h.header, raw, h.status, h.seq)
    );
  }

  /** A stored block's bytes. */
  blockBytes(hash: string): Uint8Array | undefined {
    return (this.#db.q("SELECT raw FROM blocks WHERE hash = ?").get(hash) as { raw: Uint8Array } | undefined)?.raw;
  }

  /** Mark a block valid or invalid. */
  setStatus(hash: string, status: BlockStatus): void {
    this.atomically(() => this.#db.q("UPDATE blocks SET status = ? WHERE hash = ?").run(status, hash));
  }

  /** A connected block's undo data. */
  undo(hash: string): string | undefined {
    return (this.#db.q("SELECT undo FROM blocks WHERE hash = ?").get(hash) as { undo: string | null } | undefined)
      ?.undo ?? undefined;
  }

  /** The main chain's hashes, by height. */
  chain(): string[] {
    return (this.#db.q("SELECT hash FROM chain ORDER BY height").all() as { hash: string }[]).map((r) => r.hash);
  }

  /**
   * Record a block connected at the tip: the chain row, its undo data, the spent and created coins
   * and the transaction index.
   */
  connect(
    hash: string,
    height: number,
    undo: string,
    spent: readonly { txid: string; vout: number }[],
    created: readonly StoredCoin[],
    txs: readonly { txid: string; outputs: number }[],
  ): void {
    this.atomically(() => {
      this.recordConnected(hash, height, undo);
      this.spendCoins(spent);
      this.putCoins(created);
      this.indexTxs(hash, txs);
    });
  }

  /**
   * The first part of {@link NodeStore.connect}: the chain row and the undo data. The rest
   * ({@link NodeStore.spendCoins}, {@link NodeStore.putCoins}, {@link NodeStore.indexTxs}) may follow
   * in parts, in the same transaction.
   *
   * @example
   * ```ts ignore
   * store.atomically(() => {
   *   store.recordConnected(hash, height, undo);
   *   store.spendCoins(spent);
   *   store.putCoins(created);
   *   store.indexTxs(hash, txs);
   * });
   * ```
   */
  recordConnected(hash: string, height: number, undo: string): void {
    this.atomically(() => {
      storeHooks.beforeConnect?.(hash, height);
      this.#db.q("INSERT INTO chain (height, hash) VALUES (?, ?)").run(height, hash);
      this.#db.q("UPDATE blocks SET undo = ? WHERE hash = ?").run(undo, hash);
    });
  }

  /**
   * Delete spent coins.
   *
   * @example
   * ```ts ignore
   * store.spendCoins([{ txid, vout: 0 }]);
   * ```
   */
  spendCoins(spent: readonly { txid: string; vout: number }[]): void {
    this.atomically(() => {
      const del = this.#db.q("DELETE FROM utxos WHERE txid = ? AND vout = ?");
      for (const o of spent) del.run(o.txid, o.vout);
    });
  }

  /**
   * Add (or replace) coins.
   *
   * @example
   * ```ts ignore
   * store.putCoins([{ txid, vout: 0, value: 1_000, script, height: 5, coinbase: false }]);
   * ```
   */
  putCoins(coins: readonly StoredCoin[]): void {
    this.atomically(() => this.#putCoins(coins));
  }

  /**
   * Index a connected block's transactions.
   *
   * @param hash The block.
   * @param txs Transactions, in block order from position `from`.
   * @param from The position of `txs[0]` in the block.
   *
   * @example
   * ```ts ignore
   * store.indexTxs(hash, txs.slice(200, 400), 200);
   * ```
   */
  indexTxs(hash: string, txs: readonly { txid: string; outputs: number }[], from = 0): void {
    this.atomically(() => {
      const idx = this.#db.q(
        "INSERT OR REPLACE INTO txindex (txid, block_hash, position, outputs) VALUES (?, ?, ?, ?)",
      );
      txs.forEach((t, i) => idx.run(t.txid, hash, from + i, t.outputs));
    });
  }

  /** Undo {@link NodeStore.connect} for the tip block. */
  disconnect(
    height: number,
    removed: readonly { txid: string; vout: number }[],
    restored: readonly StoredCoin[],
    txids: readonly string[],
  ): void {
    this.atomically(() => {
      this.#db.q("DELETE FROM chain WHERE height = ?").run(height);
      const del = this.#db.q("DELETE FROM utxos WHERE txid = ? AND vout = ?");
      for (const o of removed) del.run(o.txid, o.vout);
      this.#putCoins(restored);
      const idx = this.#db.q("DELETE FROM txindex WHERE txid = ?");
      for (const t of txids) idx.run(t);
    });
  }

  /** Every unspent output. */
  coins(): StoredCoin[] {
    return (this.#db.q("SELECT txid, vout, value, script, height, coinbase FROM utxos").all() as (
      Omit<StoredCoin, "coinbase"> & { coinbase: number }
    )[]).map((r) => ({ ...r, coinbase: r.coinbase === 1 }));
  }

  /** Where a main-chain transaction is. */
  txLocation(txid: string): TxLocation | undefined {
    const r = this.#db.q("SELECT block_hash, position, outputs FROM txindex WHERE txid = ?").get(txid);
    return r ? { ...(r as unknown as TxLocation) } : undefined;
  }

  /** The stored mempool, in arrival order. */
  mempool(): { txid: string; raw: Uint8Array; time: number; seq: number }[] {
    return (this.#db.q("SELECT txid, raw, time, seq FROM mempool ORDER BY seq").all() as {
      txid: string;
      raw: Uint8Array;
      time: number;
      seq: number;
    }[]).map((r) => ({ ...r }));
  }

  /** Add a mempool transaction. */
  addMempool(txid: string, raw: Uint8Array, time: number, seq: number): void {
    this.atomically(() =>
      this.#db.q("INSERT OR REPLACE INTO mempool (txid, raw, time, seq) VALUES (?, ?, ?, ?)").run(txid, raw, time, seq)
    );
  }

  /** Remove a mempool transaction. */
  removeMempool(txid: string): void {
    this.atomically(() => this.#db.q("DELETE FROM mempool WHERE txid = ?").run(txid));
  }

  /**
   * Remove mempool transactions.
   *
   * @example
   * ```ts ignore
   * store.removeMempoolTxs([txid]);
   * ```
   */
  removeMempoolTxs(txids: readonly string[]): void {
    this.atomically(() => {
      const del = this.#db.q("DELETE FROM mempool WHERE txid = ?");
      for (const t of txids) del.run(t);
    });
  }

  /** The wallet's secret keys, by index. */
  keys(): Uint8Array[] {
    return (this.#db.q("SELECT secret FROM wallet_keys ORDER BY idx").all() as { secret: Uint8Array }[])
      .map((r) => r.secret);
  }

  /** Add a wallet key at the next index. */
  addKey(secret: Uint8Array): void {
    this.atomically(() =>
      this.#db.q("INSERT INTO wallet_keys (idx, secret) VALUES ((SELECT COUNT(*) FROM wallet_keys), ?)").run(secret)
    );
  }

  /**
   * Checkpoint the write-ahead log into the main file, so that the file alone holds everything.
   *
   * @returns WAL pages written back.
   */
  flush(): number {
    return this.#db.flush();
  }

  /**
   * Write a consistent copy of the database to `file` (which must not exist).
   *
   * @param file The destination path.
   */
  backupTo(file: string): void {
    this.#db.backupTo(file);
  }

  /**
   * Drop the raw bytes and undo data of every block below `height` (headers and the index stay). The
   * genesis block is kept.
   *
   * @param height The first height to keep.
   * @returns Blocks pruned now and the bytes of block data they held.
   */
  prune(height: number): { blocks: number; bytes: number } {
    return this.atomically(() => {
      const r = this.#db.q(
        "SELECT COUNT(*) AS n, COALESCE(SUM(length(raw)), 0) AS b FROM blocks WHERE height > 0 AND height < ? AND length(raw) > 0",
      ).get(height) as { n: number; b: number };
      this.#db.q("UPDATE blocks SET raw = x'', undo = NULL WHERE height > 0 AND height < ? AND length(raw) > 0").run(
        height,
      );
      this.setMeta("pruned_below", String(Math.max(height, Number(this.meta("pruned_below") ?? 0))));
      return { blocks: Number(r.n), bytes: Number(r.b) };
    });
  }

  /** Checkpoint the write-ahead log in a worker thread from now on, starting soon (see `store_db.ts`). */
  checkpointInBackground(): void {
    this.#db.checkpointInBackground();
  }

  /** Whether a worker thread checkpoints the log ({@link NodeStore.checkpointInBackground}). */
  get checkpointsInBackground(): boolean {
    return this.#db.checkpointsInBackground;
  }

  /**
   * Stop background checkpoints and give checkpoints back to SQLite's default.
   *
   * @returns Settles once the worker is gone.
   */
  async stopBackgroundCheckpoints(): Promise<void> {
    await this.#db.stopBackgroundCheckpoints();
  }

  /** Checkpoint and close the file. */
  close(): void {
    this.#db.close();
  }

  #putCoins(coins: readonly StoredCoin[]): void {
    const put = this.#db.q(
      "INSERT OR REPLACE INTO utxos (txid, vout, value, script, height, coinbase) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (const c of coins) put.run(c.txid, c.vout, c.value, c.script, c.height, c.coinbase ? 1 : 0);
  }
}
