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
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { isSqliteError, StoreError, StoreWriteError } from "./store_errors.ts";
import { storeHooks } from "./test_hooks.ts";

export { StoreError };

/** The schema version this code reads and writes. */
const SCHEMA_VERSION = "1";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
  hash TEXT PRIMARY KEY, prev_hash TEXT NOT NULL, height INTEGER NOT NULL, header BLOB NOT NULL,
  raw BLOB NOT NULL, status TEXT NOT NULL, undo TEXT, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chain (height INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS utxos (
  txid TEXT NOT NULL, vout INTEGER NOT NULL, value INTEGER NOT NULL, script BLOB NOT NULL,
  height INTEGER NOT NULL, coinbase INTEGER NOT NULL, PRIMARY KEY (txid, vout)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS txindex (
  txid TEXT PRIMARY KEY, block_hash TEXT NOT NULL, position INTEGER NOT NULL, outputs INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mempool (txid TEXT PRIMARY KEY, raw BLOB NOT NULL, time INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS wallet_keys (idx INTEGER PRIMARY KEY, secret BLOB NOT NULL);
`;

/** Whether a stored block is valid, failed validation, or was invalidated by the operator. */
export type BlockStatus = "valid" | "invalid";

/** A stored block's index entry. */
export interface StoredHeader {
  /** Block hash. */
  hash: string;
  /** Parent hash. */
  prev_hash: string;
  /** Height. */
  height: number;
  /** The 80 header bytes. */
  header: Uint8Array;
  /** Validity. */
  status: BlockStatus;
  /** Arrival order. */
  seq: number;
}

/** A stored unspent output. */
export interface StoredCoin {
  /** Creating transaction. */
  txid: string;
  /** Output index. */
  vout: number;
  /** Satoshis. */
  value: number;
  /** Output script. */
  script: Uint8Array;
  /** Creating block's height. */
  height: number;
  /** Created by a coinbase. */
  coinbase: boolean;
}

/** Where a main-chain transaction is. */
export interface TxLocation {
  /** The block. */
  block_hash: string;
  /** Position in the block. */
  position: number;
  /** How many outputs the transaction has. */
  outputs: number;
}

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
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #s: Record<string, StatementSync> = {};
  #depth = 0;

  private constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
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
    const store = new NodeStore(db, path);
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
    if (this.#depth > 0) return fn();
    // A transaction left open by a rollback that failed earlier: end it before starting anew.
    if (this.#db.isTransaction) this.#guard(() => this.#db.exec("ROLLBACK"));
    this.#guard(() => this.#db.exec("BEGIN IMMEDIATE"));
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

  /** Run a statement outside {@link NodeStore.atomically}, turning SQLite's errors into {@link StoreWriteError}. */
  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw isSqliteError(e) ? new StoreWriteError(this.#path, e) : e;
    }
  }

  /** A metadata value. */
  meta(key: string): string | undefined {
    return (this.#q("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined)?.value;
  }

  /** Set a metadata value. */
  setMeta(key: string, value: string): void {
    this.atomically(() =>
      this.#q("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .run(key, value)
    );
  }

  /** Every stored block's index entry, in arrival order. */
  headers(): StoredHeader[] {
    return (this.#q("SELECT hash, prev_hash, height, header, status, seq FROM blocks ORDER BY seq").all() as {
      hash: string;
      prev_hash: string;
      height: number;
      header: Uint8Array;
      status: BlockStatus;
      seq: number;
    }[]).map((r) => ({ ...r }));
  }

  /** Store a block (ignored if already stored). */
  putBlock(h: StoredHeader, raw: Uint8Array): void {
    this.atomically(() =>
      this.#q(
        "INSERT OR IGNORE INTO blocks (hash, prev_hash, height, header, raw, status, seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).run(h.hash, h.prev_hash, h.height, h.header, raw, h.status, h.seq)
    );
  }

  /** A stored block's bytes. */
  blockBytes(hash: string): Uint8Array | undefined {
    return (this.#q("SELECT raw FROM blocks WHERE hash = ?").get(hash) as { raw: Uint8Array } | undefined)?.raw;
  }

  /** Mark a block valid or invalid. */
  setStatus(hash: string, status: BlockStatus): void {
    this.atomically(() => this.#q("UPDATE blocks SET status = ? WHERE hash = ?").run(status, hash));
  }

  /** A connected block's undo data. */
  undo(hash: string): string | undefined {
    return (this.#q("SELECT undo FROM blocks WHERE hash = ?").get(hash) as { undo: string | null } | undefined)
      ?.undo ?? undefined;
  }

  /** The main chain's hashes, by height. */
  chain(): string[] {
    return (this.#q("SELECT hash FROM chain ORDER BY height").all() as { hash: string }[]).map((r) => r.hash);
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
      storeHooks.beforeConnect?.(hash, height);
      this.#q("INSERT INTO chain (height, hash) VALUES (?, ?)").run(height, hash);
      this.#q("UPDATE blocks SET undo = ? WHERE hash = ?").run(undo, hash);
      const del = this.#q("DELETE FROM utxos WHERE txid = ? AND vout = ?");
      for (const o of spent) del.run(o.txid, o.vout);
      this.#putCoins(created);
      const idx = this.#q("INSERT OR REPLACE INTO txindex (txid, block_hash, position, outputs) VALUES (?, ?, ?, ?)");
      txs.forEach((t, i) => idx.run(t.txid, hash, i, t.outputs));
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
      this.#q("DELETE FROM chain WHERE height = ?").run(height);
      const del = this.#q("DELETE FROM utxos WHERE txid = ? AND vout = ?");
      for (const o of removed) del.run(o.txid, o.vout);
      this.#putCoins(restored);
      const idx = this.#q("DELETE FROM txindex WHERE txid = ?");
      for (const t of txids) idx.run(t);
    });
  }

  /** Every unspent output. */
  coins(): StoredCoin[] {
    return (this.#q("SELECT txid, vout, value, script, height, coinbase FROM utxos").all() as (
      Omit<StoredCoin, "coinbase"> & { coinbase: number }
    )[]).map((r) => ({ ...r, coinbase: r.coinbase === 1 }));
  }

  /** Where a main-chain transaction is. */
  txLocation(txid: string): TxLocation | undefined {
    const r = this.#q("SELECT block_hash, position, outputs FROM txindex WHERE txid = ?").get(txid);
    return r ? { ...(r as unknown as TxLocation) } : undefined;
  }

  /** The stored mempool, in arrival order. */
  mempool(): { txid: string; raw: Uint8Array; time: number; seq: number }[] {
    return (this.#q("SELECT txid, raw, time, seq FROM mempool ORDER BY seq").all() as {
      txid: string;
      raw: Uint8Array;
      time: number;
      seq: number;
    }[]).map((r) => ({ ...r }));
  }

  /** Add a mempool transaction. */
  addMempool(txid: string, raw: Uint8Array, time: number, seq: number): void {
    this.atomically(() =>
      this.#q("INSERT OR REPLACE INTO mempool (txid, raw, time, seq) VALUES (?, ?, ?, ?)").run(txid, raw, time, seq)
    );
  }

  /** Remove a mempool transaction. */
  removeMempool(txid: string): void {
    this.atomically(() => this.#q("DELETE FROM mempool WHERE txid = ?").run(txid));
  }

  /** The wallet's secret keys, by index. */
  keys(): Uint8Array[] {
    return (this.#q("SELECT secret FROM wallet_keys ORDER BY idx").all() as { secret: Uint8Array }[])
      .map((r) => r.secret);
  }

  /** Add a wallet key at the next index. */
  addKey(secret: Uint8Array): void {
    this.atomically(() =>
      this.#q("INSERT INTO wallet_keys (idx, secret) VALUES ((SELECT COUNT(*) FROM wallet_keys), ?)").run(secret)
    );
  }

  /**
   * Checkpoint the write-ahead log into the main file, so that the file alone holds everything.
   *
   * @returns WAL pages written back.
   */
  flush(): number {
    // PASSIVE reports the pages it wrote back; TRUNCATE then empties the WAL file (and reports zeros).
    return this.#guard(() => {
      const r = this.#db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as { checkpointed?: number } | undefined;
      this.#db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
      return Math.max(0, r?.checkpointed ?? 0);
    });
  }

  /**
   * Write a consistent copy of the database to `file` (which must not exist).
   *
   * @param file The destination path.
   */
  backupTo(file: string): void {
    this.#guard(() => this.#db.prepare("VACUUM INTO ?").run(file));
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
      const r = this.#q(
        "SELECT COUNT(*) AS n, COALESCE(SUM(length(raw)), 0) AS b FROM blocks WHERE height > 0 AND height < ? AND length(raw) > 0",
      ).get(height) as { n: number; b: number };
      this.#q("UPDATE blocks SET raw = x'', undo = NULL WHERE height > 0 AND height < ? AND length(raw) > 0").run(
        height,
      );
      this.setMeta("pruned_below", String(Math.max(height, Number(this.meta("pruned_below") ?? 0))));
      return { blocks: Number(r.n), bytes: Number(r.b) };
    });
  }

  /** Checkpoint and close the file. */
  close(): void {
    if (!this.#db.isOpen) return;
    try {
      this.flush();
    } finally {
      // A checkpoint that fails (a full disk) loses nothing: the WAL file keeps what it holds.
      this.#db.close();
    }
  }

  #putCoins(coins: readonly StoredCoin[]): void {
    const put = this.#q(
      "INSERT OR REPLACE INTO utxos (txid, vout, value, script, height, coinbase) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (const c of coins) put.run(c.txid, c.vout, c.value, c.script, c.height, c.coinbase ? 1 : 0);
  }

  #q(sql: string): StatementSync {
    this.#live();
    return this.#s[sql] ??= this.#db.prepare(sql);
  }
}
