/**
 * The dev node's state changes and the events they publish: accepting transactions, checking and
 * connecting blocks, mining, disconnecting for reorgs, and the fee and threshold events that follow.
 * {@link DevNode} reads through it; {@link DevControls} drives it.
 *
 * Each change is one store transaction ({@link NodeEngine.atomically}): a block is stored and
 * connected (or stored and found invalid) together, with the mempool transactions it confirms; a
 * reorg disconnects and connects all its blocks together. A crash leaves the block absent or fully
 * in; a failed write (a full disk) leaves the store, the chain and the mempool as they were, and the
 * change's events are published only once it is committed.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { FeeEstimate, SubmitBlockResult } from "../../protocol/chain.ts";
import type { BackendEvent } from "../backend.ts";
import { sha256d, toHex } from "../header.ts";
import { BlockRejectedError, type ChainState, type Connected, type IndexEntry } from "./chainstate.ts";
import { decodeBlock, type DecodedBlock, decodeTx, MalformedDataError, type Tx } from "./codec.ts";
import { PoolWatch } from "./pool_watch.ts";
import type { Mempool, PoolEntry, Removal } from "./mempool.ts";
import { COINBASE_RESERVE_WEIGHT, mineBlock } from "./miner.ts";
import { CONSENSUS } from "./params.ts";
import { TxRejectedError } from "./rules.ts";
import type { NodeStore } from "./store.ts";
import { AtomicChanges } from "./atomic.ts";

/** The engine's settings, defaults applied. */
export interface EngineOptions {
  /** Mempool size above which `MempoolThresholdExceeded` is published. */
  mempoolThreshold: number;
  /** Largest block weight mined and assumed by the fee estimator. */
  blockMaxWeight: number;
  /** Recent blocks the fee estimator learns from. */
  feeHistoryBlocks: number;
  /** Seconds since the epoch. */
  clock: () => number;
  /** Where coinbases pay. */
  payout: Uint8Array;
}

/**
 * The dev node's state machine. Internal: use {@link DevNode}.
 *
 * @example
 * ```ts ignore
 * const engine = new NodeEngine(store, chain, pool, options);
 * engine.mine(1, true);
 * ```
 */
export class NodeEngine {
  /** The chain. */
  readonly chain: ChainState;
  /** The mempool. */
  readonly pool: Mempool;
  readonly #store: NodeStore;
  readonly #opts: EngineOptions;
  readonly #changes: AtomicChanges;
  readonly #log = getLogger(["blvm", "devnode"]);
  readonly #watch: PoolWatch;
  #template?: { tip: string; version: number };
  #poolVersion = 0;

  /**
   * Wrap loaded state.
   *
   * @param store The store.
   * @param chain The loaded chain.
   * @param pool The loaded mempool.
   * @param opts Settings.
   */
  constructor(store: NodeStore, chain: ChainState, pool: Mempool, opts: EngineOptions) {
    this.#store = store;
    this.chain = chain;
    this.pool = pool;
    this.#opts = opts;
    this.#changes = new AtomicChanges(store, chain, pool);
    this.#watch = new PoolWatch(chain, pool, opts);
  }

  /**
   * Be told about every event, in order.
   *
   * @param listener Called synchronously; a listener that throws is logged and skipped.
   * @returns A function that removes the listener.
   */
  onEvent(listener: (event: BackendEvent) => void): () => void {
    return this.#changes.onEvent(listener);
  }

  /**
   * Run `fn` as one store transaction (nested calls join the outer one). Its events are published
   * after the commit. If it throws, the store rolls back, the chain and the mempool are read back
   * from the store, none of its events is published, and the error that caused it is rethrown.
   *
   * @param fn The change.
   * @returns What `fn` returned.
   * @throws {StoreWriteError} if the store could not be written; whatever `fn` threw otherwise.
   *
   * @example
   * ```ts ignore
   * engine.atomically(() => {
   *   engine.rewind(fork);
   *   engine.mine(2, false);
   * }); // both or neither; the events after the commit
   * ```
   */
  atomically<T>(fn: () => T): T {
    const [restore, template, version] = [this.#watch.saved(), this.#template, this.#poolVersion];
    return this.#changes.run(fn, () => {
      restore();
      [this.#template, this.#poolVersion] = [template, version];
    });
  }

  /** The node's clock, seconds. */
  clock(): number {
    return this.#opts.clock();
  }

  /** Drop every listener. */
  clearListeners(): void {
    this.#changes.clearListeners();
  }

  /** What the next block takes from the mempool. */
  select(): PoolEntry[] {
    return this.pool.select(this.#opts.blockMaxWeight - COINBASE_RESERVE_WEIGHT);
  }

  templateBuilt(txCount: number): void {
    const tip = this.chain.tip();
    if (this.#template?.tip === tip.hash && this.#template.version === this.#poolVersion) return;
    this.#template = { tip: tip.hash, version: this.#poolVersion };
    this.#emit({
      type: "BlockTemplateUpdated",
      payload: { prev_hash: tip.hash, height: tip.height + 1, tx_count: txCount },
    });
  }

  /** Decode, check and accept a transaction, publishing its events. */
  acceptTx(bytes: Uint8Array): ReturnType<Mempool["accept"]>["entry"] {
    return this.atomically(() => this.#acceptTx(bytes));
  }

  #acceptTx(bytes: Uint8Array): ReturnType<Mempool["accept"]>["entry"] {
    let tx: Tx;
    try {
      tx = decodeTx(bytes);
    } catch (e) {
      if (e instanceof MalformedDataError) throw new TxRejectedError("malformed", null, e.message);
      throw e;
    }
    const { entry, evicted } = this.pool.accept(tx, this.#opts.clock());
    this.#poolVersion++;
    this.#announceRemovals(evicted, 1);
    const payload = { tx_hash: tx.txid };
    this.#emit({ type: "NewTransaction", payload });
    this.#emit({
      type: "MempoolTransactionAdded",
      payload: {
        ...payload,
        fee_rate: entry.feeRate,
        vsize: tx.vsize,
        fee_sats: entry.fee,
        mempool_size: this.pool.size,
      },
    });
    this.#poolChanged();
    return entry;
  }

  /** Check, store and, if it is the best chain, connect a block: one store transaction. */
  processBlock(bytes: Uint8Array, mined: boolean): SubmitBlockResult {
    return this.atomically(() => this.#processBlock(bytes, mined));
  }

  #processBlock(bytes: Uint8Array, mined: boolean): SubmitBlockResult {
    let block;
    try {
      block = decodeBlock(bytes);
    } catch (e) {
      const hash = bytes.length >= 80 ? toHex(sha256d(bytes.subarray(0, 80)).reverse()) : null;
      return { status: "rejected", hash, reason: `malformed: ${(e as Error).message}` };
    }
    const known = this.chain.entry(block.hash);
    if (known) {
      return known.status === "invalid"
        ? { status: "rejected", hash: block.hash, reason: "duplicate-invalid: the block is known to be invalid" }
        : { status: "duplicate", hash: block.hash, reason: null };
    }
    let entry: IndexEntry;
    try {
      entry = this.chain.accept(block, bytes, this.#opts.clock());
    } catch (e) {
      if (!(e instanceof BlockRejectedError)) throw e;
      const height = (this.chain.entry(block.header.prev_hash)?.height ?? -1) + 1;
      this.#validated(block.hash, height, performance.now(), e.message);
      return { status: "rejected", hash: block.hash, reason: e.message };
    }
    const tip = this.chain.tip();
    if (entry.header.prev_hash === tip.hash) {
      const error = this.#connect(entry, mined, block);
      return error
        ? { status: "rejected", hash: entry.hash, reason: error }
        : { status: "accepted", hash: entry.hash, reason: null };
    }
    if (entry.work <= tip.work) {
      return {
        status: "inconclusive",
        hash: entry.hash,
        reason: "stored on a side branch with no more work than the tip",
      };
    }
    this.#reorgToBest(tip);
    if (this.chain.onMain(entry.hash)) return { status: "accepted", hash: entry.hash, reason: null };
    return this.chain.best().hash === this.chain.tip().hash && !this.chain.valid(entry)
      ? { status: "rejected", hash: entry.hash, reason: "its branch failed validation; see BlockValidationCompleted" }
      : { status: "inconclusive", hash: entry.hash, reason: "stored on a side branch that is not the best chain" };
  }

  /** Validate and connect a child of the tip; the error message if it failed. */
  #connect(entry: IndexEntry, mined: boolean, block?: DecodedBlock): string | undefined {
    const t0 = performance.now();
    this.#emit({ type: "BlockValidationStarted", payload: { block_hash: entry.hash, height: entry.height } });
    let connected: Connected;
    try {
      connected = this.chain.connect(entry, (w) => this.pool.verified(w), block);
    } catch (e) {
      if (!(e instanceof BlockRejectedError)) throw e;
      this.#validated(entry.hash, entry.height, t0, e.message, false);
      return e.message;
    }
    this.#validated(entry.hash, entry.height, t0, null, false);
    const { hash, height, header } = connected.entry;
    this.#emit({ type: "NewBlock", payload: { hash, height, prev_hash: header.prev_hash, time: header.time } });
    this.#announceRemovals(this.pool.removeForBlock(connected.txs));
    this.#poolVersion++;
    if (mined) this.#emit({ type: "BlockMined", payload: { block_hash: hash, height, miner_id: "devnode" } });
    this.#poolChanged();
    return undefined;
  }

  #validated(hash: string, height: number, t0: number, error: string | null, started = true): void {
    if (started) this.#emit({ type: "BlockValidationStarted", payload: { block_hash: hash, height } });
    this.#emit({
      type: "BlockValidationCompleted",
      payload: {
        block_hash: hash,
        height,
        success: error === null,
        validation_time_ms: Math.round(performance.now() - t0),
        error,
      },
    });
  }

  /** Mine `count` blocks on the tip, each in its own store transaction (or the caller's). */
  mine(count: number, withMempool: boolean, payout?: Uint8Array): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (let i = 0; i < count; i++) out.push(this.atomically(() => this.#mineOne(withMempool, payout)));
    return out;
  }

  #mineOne(withMempool: boolean, payout?: Uint8Array): IndexEntry {
    const tip = this.chain.tip();
    const chosen = withMempool ? this.select() : [];
    this.templateBuilt(chosen.length);
    const extraNonce = Number(this.#store.meta("extra_nonce") ?? "0");
    this.#store.setMeta("extra_nonce", String(extraNonce + 1));
    const block = mineBlock({
      prevHash: tip.hash,
      height: tip.height + 1,
      time: Math.max(this.#opts.clock(), this.chain.medianTime() + 1),
      txs: chosen.map((e) => e.tx),
      fees: chosen.reduce((n, e) => n + e.fee, 0),
      payout: payout ?? this.#opts.payout,
      extraNonce,
    });
    const r = this.processBlock(block.bytes, true);
    if (r.status !== "accepted") throw new Error(`The dev node rejected its own block ${block.hash}: ${r.reason}`);
    return this.chain.tip();
  }

  /** Disconnect blocks down to `fork`, returning their transactions to the mempool. */
  rewind(fork: IndexEntry): IndexEntry[] {
    return this.atomically(() => this.#rewind(fork));
  }

  #rewind(fork: IndexEntry): IndexEntry[] {
    const disconnected: IndexEntry[] = [];
    const returned: Tx[][] = [];
    while (this.chain.tip().hash !== fork.hash) {
      const { entry, txs } = this.chain.disconnectTip();
      disconnected.push(entry);
      returned.unshift(txs.slice(1));
      this.#emit({ type: "BlockDisconnected", payload: { hash: entry.hash, height: entry.height } });
    }
    for (const tx of returned.flat()) {
      try {
        const { entry, evicted } = this.pool.accept(tx, this.#opts.clock());
        this.#announceRemovals(evicted, 1);
        this.#emit({
          type: "MempoolTransactionAdded",
          payload: {
            tx_hash: tx.txid,
            fee_rate: entry.feeRate,
            vsize: tx.vsize,
            fee_sats: entry.fee,
            mempool_size: this.pool.size,
          },
        });
      } catch (e) {
        if (!(e instanceof TxRejectedError)) throw e;
        this.#log.info("Disconnected transaction {txid} did not return to the mempool: {error}", {
          txid: tx.txid,
          error: e.message,
        });
      }
    }
    this.#announceRemovals(this.#dropInvalid());
    this.#poolVersion++;
    return disconnected;
  }

  /** After a rewind: mempool transactions whose inputs are gone or immature now. */
  #dropInvalid(): Removal[] {
    const out: Removal[] = [];
    const spendHeight = this.chain.tip().height + 1;
    for (const e of [...this.pool.entries()]) {
      if (!this.pool.get(e.tx.txid)) continue;
      const ok = e.tx.inputs.every((i) => {
        if (e.parents.has(i.txid)) return true;
        const c = this.chain.coin(i.txid, i.vout);
        if (c) return !c.coinbase || spendHeight - c.height >= CONSENSUS.coinbaseMaturity;
        // Its parent was disconnected and is back in the mempool: it now depends on it there.
        return this.pool.link(e.tx.txid, i.txid, i.vout);
      });
      if (!ok) out.push(...this.pool.remove(e.tx.txid, "reorg"));
    }
    return out;
  }

  /**
   * Switch to the valid branch with the most work. If a block of it fails, it is marked invalid and
   * the node switches to the best valid branch again (the old chain, first seen, on equal work).
   * One `ChainReorg` from `before` to where the node ends up.
   */
  #reorgToBest(before: IndexEntry): void {
    for (let best = this.chain.best(); best.hash !== this.chain.tip().hash; best = this.chain.best()) {
      this.rewind(this.chain.fork(best));
      for (const e of this.chain.branch(best)) {
        if (this.#connect(e, false) !== undefined) break;
      }
    }
    this.finishReorg(before);
  }

  /**
   * Publish `ChainReorg` from `before` to the tip, if the tip moved off `before`'s branch.
   *
   * @param before The tip before the reorg.
   */
  finishReorg(before: IndexEntry): void {
    const after = this.chain.tip();
    if (after.hash === before.hash) return;
    const fork = this.chain.fork(before);
    const disconnected = before.height - fork.height;
    this.#emit({
      type: "ChainReorg",
      payload: {
        old_tip: before.hash,
        new_tip: after.hash,
        fork_height: fork.height,
        disconnected,
        connected: after.height - fork.height,
      },
    });
    this.#poolChanged();
  }

  /** `MempoolTransactionRemoved` for each removal; `pending` transactions already added are not counted yet. */
  #announceRemovals(removed: readonly Removal[], pending = 0): void {
    let size = this.pool.size - pending + removed.length;
    for (const r of removed) {
      this.#emit({
        type: "MempoolTransactionRemoved",
        payload: { tx_hash: r.entry.tx.txid, reason: r.reason, mempool_size: --size },
      });
    }
  }

  /** Threshold and fee-rate events after the mempool or the tip changed. */
  #poolChanged(): void {
    this.#watch.changed((e) => this.#emit(e));
  }

  /** The next-block fee estimate, sat/vB. */
  nextBlockFee(): number {
    return this.#watch.nextBlockFee();
  }

  /** The fee estimate for a confirmation target of `target` blocks. */
  estimate(target: number): FeeEstimate {
    return this.#watch.estimate(target);
  }

  #emit(event: BackendEvent): void {
    this.#changes.emit(event);
  }
}
