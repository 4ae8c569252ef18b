/**
 * The dev node's mempool: which transactions it accepts and why it refuses the rest, the fee-rate
 * order, chains of unconfirmed transactions, and what leaves when a block confirms or conflicts.
 *
 * Acceptance checks are in `mempool_policy.ts` (signatures last, here); the fee-rate order, block
 * selection and the eviction candidate in `pool_order.ts`; what a block takes out in
 * `pool_removal.ts`.
 *
 * @module
 */
import { decodeTx, type Tx } from "./tx_codec.ts";
import { planBlockRemovalSteps } from "./pool_removal.ts";
import { checkAdmission, INCREMENTAL_FEE_RATE } from "./mempool_policy.ts";
import { byFeeRate, lowestLeaf, selectForBlock } from "./pool_order.ts";
import type { Coin } from "./rules.ts";
import { SigCache } from "./sig_cache.ts";
import type { NodeStore } from "./store.ts";
import { runSteps, type Steps } from "./steps.ts";
import { outpointKey } from "./utxo_changes.ts";

/** A mempool transaction. */
export interface PoolEntry {
  /** The transaction. */
  tx: Tx;
  /** Fee, satoshis. */
  fee: number;
  /** `fee / vsize`, sat/vB. */
  feeRate: number;
  /** Arrival, seconds since the epoch. */
  time: number;
  /** Arrival order, to break fee-rate ties. */
  seq: number;
  /** Mempool transactions it spends outputs of. */
  parents: Set<string>;
  /** Mempool transactions spending its outputs. */
  children: Set<string>;
}

/** Why a transaction left the mempool (the `reason` of `MempoolTransactionRemoved`). */
export type RemovalReason = "mined" | "conflict" | "expired" | "replaced" | "evicted" | "reorg" | "manual";

/** A transaction removed, with why. */
export interface Removal {
  /** The entry removed. */
  entry: PoolEntry;
  /** Why. */
  reason: RemovalReason;
}

/** What the mempool needs to know about the chain. */
export interface ChainView {
  /** An unspent main-chain output. */
  coin(txid: string, vout: number): Coin | undefined;
  /** A main-chain transaction's output count, if it is in the chain. */
  outputsOf(txid: string): number | undefined;
  /** The tip's height. */
  height(): number;
  /** The tip's median time past. */
  medianTime(): number;
}

/**
 * What a block takes out of the mempool ({@link Mempool.planBlockRemoval}).
 *
 * @example
 * ```ts ignore
 * const { removals } = pool.planBlockRemoval(block.txs);
 * console.log(removals.map((r) => r.reason)); // ["mined", "mined", "conflict"]
 * ```
 */
export interface BlockRemoval {
  /** The removals, in order: each transaction's descendants before it. */
  removals: Removal[];
  /** The outpoints they spend, as the mempool keys them. */
  spends: string[];
}

/** Mempool policy. */
export interface MempoolPolicy {
  /** Minimum fee rate, sat/vB. */
  minFeeRate: number;
  /** Most transactions held. */
  maxTxs: number;
}

/** Rows deleted between two yields of {@link Mempool.forgetSteps}. */
const FORGET_CHUNK = 250;

/**
 * The mempool. It persists every change to the store.
 *
 * @example
 * ```ts ignore
 * const pool = new Mempool(store, chainView, { minFeeRate: 1, maxTxs: 20_000 });
 * const { entry } = pool.accept(decodeTx(bytes), Math.floor(Date.now() / 1000));
 * ```
 */
export class Mempool {
  readonly #store: NodeStore;
  readonly #chain: ChainView;
  readonly #policy: MempoolPolicy;
  readonly #entries = new Map<string, PoolEntry>();
  /** Outpoint → the mempool transaction spending it. */
  readonly #spends = new Map<string, string>();
  /** Wtxids whose signatures were verified, so a block need not verify them again. */
  readonly #verified = new Set<string>();
  /** Signatures verified before, here or in blocks, so that a transaction back from one is not verified again. */
  readonly #sigs: SigCache;
  #seq = 0;
  #vsize = 0;
  #fees = 0;
  /** False while {@link Mempool.restore} re-admits what the store already holds. */
  #persist = true;

  /**
   * Create an empty mempool.
   *
   * @param store Where to persist it.
   * @param chain The chain it sits on.
   * @param policy Its policy.
   * @param sigs The signature cache, shared with the chain; a cache of its own by default.
   */
  constructor(store: NodeStore, chain: ChainView, policy: MempoolPolicy, sigs: SigCache = new SigCache()) {
    this.#store = store;
    this.#chain = chain;
    this.#policy = policy;
    this.#sigs = sigs;
  }

  /** Number of transactions. */
  get size(): number {
    return this.#entries.size;
  }

  /** Sum of virtual sizes. */
  get vsize(): number {
    return this.#vsize;
  }

  /** Sum of fees. */
  get fees(): number {
    return this.#fees;
  }

  /** One entry. */
  get(txid: string): PoolEntry | undefined {
    return this.#entries.get(txid);
  }

  /** Every entry, in arrival order. */
  entries(): IterableIterator<PoolEntry> {
    return this.#entries.values();
  }

  /** Whether `wtxid`'s signatures were verified on acceptance. */
  verified(wtxid: string): boolean {
    return this.#verified.has(wtxid);
  }

  /** The mempool transaction spending an outpoint. */
  spender(txid: string, vout: number): string | undefined {
    return this.#spends.get(outpointKey(txid, vout));
  }

  /**
   * The lowest fee rate accepted now: the policy minimum, or, when the mempool is full, the lowest
   * fee rate it holds plus the incremental relay fee (1 sat/vB, as Bitcoin Core).
   */
  minFeeRate(): number {
    if (this.#entries.size < this.#policy.maxTxs) return this.#policy.minFeeRate;
    const lowest = lowestLeaf(this.#entries, new Set());
    return lowest ? Math.max(this.#policy.minFeeRate, lowest.feeRate + INCREMENTAL_FEE_RATE) : this.#policy.minFeeRate;
  }

  /**
   * Accept a transaction or say why not.
   *
   * @param tx The decoded transaction.
   * @param time Arrival time, seconds.
   * @param seq Arrival order to keep (a reloaded transaction keeps its own); default the next.
   * @returns The new entry and the transactions evicted to make room.
   * @throws {TxRejectedError} for the first rule broken.
   */
  accept(tx: Tx, time: number, seq?: number): { entry: PoolEntry; evicted: Removal[] } {
    const { coins, parents, fee, feeRate, victim } = checkAdmission(
      { entries: this.#entries, spends: this.#spends, chain: this.#chain, policy: this.#policy },
      tx,
    );
    this.#sigs.verify(tx, coins);
    const entry: PoolEntry = { tx, fee, feeRate, time, seq: seq ?? this.#seq, parents, children: new Set() };
    this.#seq = Math.max(this.#seq, entry.seq) + 1;
    const evicted: Removal[] = [];
    const admit = () => {
      if (victim) evicted.push(...this.remove(victim.tx.txid, "evicted"));
      if (this.#persist) this.#store.addMempool(tx.txid, tx.bytes, time, entry.seq);
    };
    // Restoring writes nothing, so it works even when the store cannot be written.
    if (this.#persist) this.#store.atomically(admit);
    else admit();
    this.#entries.set(tx.txid, entry);
    this.#verified.add(tx.wtxid);
    this.#vsize += tx.vsize;
    this.#fees += fee;
    for (const input of tx.inputs) this.#spends.set(outpointKey(input.txid, input.vout), tx.txid);
    for (const p of parents) this.#entries.get(p)!.children.add(tx.txid);
    return { entry, evicted };
  }

  /**
   * Forget what is in memory and re-admit the transactions the store holds, in their arrival order,
   * against the chain as it is now (at start-up, and after a store transaction failed and was rolled
   * back). A stored transaction that no longer fits is dropped from the store.
   *
   * @returns The transactions dropped, with why.
   *
   * @example
   * ```ts ignore
   * for (const { txid, error } of pool.restore()) console.warn(`dropped ${txid}: ${error}`);
   * ```
   */
  restore(): { txid: string; error: unknown }[] {
    this.#entries.clear();
    this.#spends.clear();
    this.#verified.clear();
    this.#seq = this.#vsize = this.#fees = 0;
    const dropped: { txid: string; error: unknown }[] = [];
    for (const row of this.#store.mempool()) {
      this.#persist = false;
      try {
        this.accept(decodeTx(row.raw), row.time, row.seq);
      } catch (error) {
        dropped.push({ txid: row.txid, error });
      } finally {
        this.#persist = true;
      }
    }
    for (const d of dropped) this.#store.removeMempool(d.txid);
    return dropped;
  }

  /**
   * Remove a transaction and everything spending its outputs (descendants first, then it).
   *
   * @param txid The transaction.
   * @param reason Why it leaves; its descendants leave for the same reason.
   * @returns What was removed, descendants first.
   */
  remove(txid: string, reason: RemovalReason): Removal[] {
    const entry = this.#entries.get(txid);
    if (!entry) return [];
    const out: Removal[] = [];
    for (const child of [...entry.children]) out.push(...this.remove(child, reason));
    this.#store.removeMempool(txid);
    this.#forget(entry);
    out.push({ entry, reason });
    return out;
  }

  /**
   * Record that mempool transaction `child` spends output `vout` of mempool transaction `parent`
   * (after a reorg returned the parent to the mempool).
   *
   * @returns Whether `parent` is in the mempool and has that output.
   */
  link(child: string, parent: string, vout: number): boolean {
    const p = this.#entries.get(parent), c = this.#entries.get(child);
    if (!p || !c || !p.tx.outputs[vout]) return false;
    p.children.add(child);
    c.parents.add(parent);
    return true;
  }

  /**
   * Take out what a newly connected block confirmed (`mined`) and whatever spends the same outputs
   * (`conflict`, with descendants). Children of confirmed transactions stay, now spending chain
   * outputs.
   *
   * @param txs The block's transactions.
   * @returns What was removed.
   */
  removeForBlock(txs: readonly Tx[]): Removal[] {
    const plan = this.planBlockRemoval(txs);
    this.#store.removeMempoolTxs(plan.removals.map((r) => r.entry.tx.txid));
    this.applyRemovals(plan);
    return plan.removals;
  }

  /**
   * What {@link Mempool.removeForBlock} would remove, in the order it would, changing nothing.
   *
   * @param txs The block's transactions.
   * @returns The plan: the removals, each transaction's descendants before it.
   *
   * @example
   * ```ts ignore
   * const plan = pool.planBlockRemoval(block.txs);
   * yield* pool.forgetSteps(plan); // the store, in chunks
   * pool.applyRemovals(plan); // memory, at once
   * ```
   */
  planBlockRemoval(txs: readonly Tx[]): BlockRemoval {
    return runSteps(this.planBlockRemovalSteps(txs));
  }

  /**
   * {@link Mempool.planBlockRemoval} in steps, yielding after every few hundred transactions; the
   * mempool must not change until the plan is applied.
   *
   * @param txs The block's transactions.
   * @returns Steps returning the plan.
   *
   * @example
   * ```ts ignore
   * const plan = yield* pool.planBlockRemovalSteps(block.txs);
   * ```
   */
  planBlockRemovalSteps(txs: readonly Tx[]): Steps<BlockRemoval> {
    return planBlockRemovalSteps(this.#entries, this.#spends, txs);
  }

  /**
   * Delete planned removals from the store, a chunk at a time (in the caller's transaction).
   *
   * @param plan From {@link Mempool.planBlockRemoval}.
   * @returns Steps.
   *
   * @example
   * ```ts ignore
   * yield* pool.forgetSteps(plan);
   * ```
   */
  *forgetSteps(plan: BlockRemoval): Steps<void> {
    const { removals } = plan;
    for (let i = 0; i < removals.length; i += FORGET_CHUNK) {
      this.#store.removeMempoolTxs(removals.slice(i, i + FORGET_CHUNK).map((r) => r.entry.tx.txid));
      yield;
    }
  }

  /**
   * Remove planned removals from memory, in their order (the store's rows are the caller's).
   *
   * @param plan From {@link Mempool.planBlockRemoval}, with nothing changed since.
   *
   * @example
   * ```ts ignore
   * pool.applyRemovals(plan); // after the store's rows are gone
   * ```
   */
  applyRemovals(plan: BlockRemoval): void {
    for (const { entry, reason } of plan.removals) {
      const txid = entry.tx.txid;
      if (reason === "mined") {
        for (const child of entry.children) this.#entries.get(child)?.parents.delete(txid);
        entry.children.clear();
      }
      this.#forget(entry, false);
    }
    for (const k of plan.spends) this.#spends.delete(k);
  }

  /** Take one entry out of memory; its spends too unless the caller does. */
  #forget(entry: PoolEntry, spends = true): void {
    const txid = entry.tx.txid;
    this.#entries.delete(txid);
    this.#verified.delete(entry.tx.wtxid);
    this.#vsize -= entry.tx.vsize;
    this.#fees -= entry.fee;
    if (spends) { for (const input of entry.tx.inputs) this.#spends.delete(outpointKey(input.txid, input.vout)); }
    for (const p of entry.parents) this.#entries.get(p)?.children.delete(txid);
  }

  /**
   * Entries by fee rate, highest first (arrival order on ties).
   *
   * @returns A new array.
   */
  byFeeRate(): PoolEntry[] {
    return byFeeRate(this.#entries);
  }

  /**
   * What a block should take: highest fee rate first, a transaction only after all its mempool
   * parents, as many as fit in `maxWeight`.
   *
   * @param maxWeight Weight left for transactions.
   * @returns Entries in a valid block order.
   */
  select(maxWeight: number): PoolEntry[] {
    return selectForBlock(this.#entries, maxWeight);
  }
}
