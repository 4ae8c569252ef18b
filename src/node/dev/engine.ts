/**
 * The dev node's state changes and the events they publish: accepting transactions, checking and
 * connecting blocks, mining, disconnecting for reorgs, and the fee and threshold events that follow.
 * {@link DevNode} reads through it; {@link DevControls} drives it.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { FeeEstimate, SubmitBlockResult } from "../../protocol/chain.ts";
import type { BackendEvent } from "../backend.ts";
import { sha256d, toHex } from "../header.ts";
import { BlockRejectedError, type ChainState, type Connected, type IndexEntry } from "./chainstate.ts";
import { decodeBlock, type DecodedBlock, decodeTx, MalformedDataError, type Tx } from "./codec.ts";
import { estimateFeeRate } from "./fees.ts";
import type { Mempool, PoolEntry, Removal } from "./mempool.ts";
import { COINBASE_RESERVE_WEIGHT, mineBlock } from "./miner.ts";
import { CONSENSUS } from "./params.ts";
import { TxRejectedError } from "./rules.ts";
import type { NodeStore } from "./store.ts";

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
  readonly #listeners = new Set<(e: BackendEvent) => void>();
  readonly #log = getLogger(["blvm", "devnode"]);
  #fee = { estimate: 0, min: 0 };
  #overThreshold = false;
  #recent?: { tip: string; rates: number[] };
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
    this.#fee = { estimate: this.nextBlockFee(), min: pool.minFeeRate() };
    this.#overThreshold = pool.size > opts.mempoolThreshold;
  }

  /**
   * Be told about every event, in order.
   *
   * @param listener Called synchronously; a listener that throws is logged and skipped.
   * @returns A function that removes the listener.
   */
  onEvent(listener: (event: BackendEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The node's clock, seconds. */
  clock(): number {
    return this.#opts.clock();
  }

  /** Drop every listener. */
  clearListeners(): void {
    this.#listeners.clear();
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

  /** Check and, if it is the best chain, connect a block. */
  processBlock(bytes: Uint8Array, mined: boolean): SubmitBlockResult {
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

  /** Mine `count` blocks on the tip. */
  mine(count: number, withMempool: boolean, payout?: Uint8Array): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (let i = 0; i < count; i++) {
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
      out.push(this.chain.tip());
    }
    return out;
  }

  /** Disconnect blocks down to `fork`, returning their transactions to the mempool. */
  rewind(fork: IndexEntry): IndexEntry[] {
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
    const size = this.pool.size;
    const over = size > this.#opts.mempoolThreshold;
    if (over && !this.#overThreshold) {
      this.#emit({
        type: "MempoolThresholdExceeded",
        payload: { current_size: size, threshold: this.#opts.mempoolThreshold },
      });
    }
    this.#overThreshold = over;
    const min = this.pool.minFeeRate();
    if (min !== this.#fee.min) {
      this.#emit({
        type: "FeeRateChanged",
        payload: { old_fee_rate: this.#fee.min, new_fee_rate: min, mempool_size: size },
      });
      this.#fee.min = min;
    }
    const estimate = this.nextBlockFee();
    if (estimate !== this.#fee.estimate) {
      this.#emit({
        type: "FeeRateChanged",
        payload: { old_fee_rate: this.#fee.estimate, new_fee_rate: estimate, mempool_size: size, target_blocks: 1 },
      });
      this.#fee.estimate = estimate;
    }
  }

  nextBlockFee(): number {
    return this.estimate(1).fee_rate;
  }

  estimate(target: number): FeeEstimate {
    const blockVsize = (this.#opts.blockMaxWeight - COINBASE_RESERVE_WEIGHT) / 4;
    const backlog = this.pool.vsize > target * blockVsize;
    return estimateFeeRate(target, {
      pool: backlog ? this.pool.byFeeRate().map((e) => ({ feeRate: e.feeRate, vsize: e.tx.vsize })) : [],
      recent: this.#recentRates(),
      minFeeRate: this.pool.minFeeRate(),
      blockVsize,
    });
  }

  #recentRates(): number[] {
    const tip = this.chain.tip();
    if (this.#recent?.tip !== tip.hash) {
      const rates: number[] = [];
      for (let h = tip.height; h > tip.height - this.#opts.feeHistoryBlocks && h > 0; h--) {
        rates.push(...this.chain.feeRates(this.chain.at(h)!.hash));
      }
      this.#recent = { tip: tip.hash, rates };
    }
    return this.#recent.rates;
  }

  #emit(event: BackendEvent): void {
    for (const l of [...this.#listeners]) {
      try {
        l(event);
      } catch (e) {
        this.#log.error("An event listener threw on {type}: {error}", { type: event.type, error: String(e) });
      }
    }
  }
}
