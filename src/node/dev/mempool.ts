/**
 * The dev node's mempool: which transactions it accepts and why it refuses the rest, the fee-rate
 * order, chains of unconfirmed transactions, and what leaves when a block confirms or conflicts.
 *
 * Acceptance checks, in order (each failure is a {@link TxRejectedError} naming the rule):
 * structure and standard weight → not already in the mempool or the chain → lock time final for the
 * next block → every input an unspent output of the chain or of a mempool transaction, not spent by
 * another mempool transaction → coinbase maturity and input ≥ output → fee rate at least the minimum
 * → room in the mempool (a full mempool evicts its lowest fee-rate leaf for a better-paying
 * transaction) → signatures. There is no replace-by-fee: a conflicting spend is refused.
 *
 * @module
 */
import { decodeTx, type Tx } from "./tx_codec.ts";
import { checkFinal, checkInputs, checkTxStructure, type Coin, TxRejectedError, verifySignatures } from "./rules.ts";
import type { NodeStore } from "./store.ts";
import { runSteps, type Steps } from "./steps.ts";

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

const key = (txid: string, vout: number) => `${txid}:${vout}`;

/** Transactions planned between two yields of {@link Mempool.planBlockRemovalSteps}. */
const PLAN_CHUNK = 250;

/** Rows deleted between two yields of {@link Mempool.forgetSteps}. */
const FORGET_CHUNK = 250;

/** What a transaction must pay above the one it evicts from a full mempool, sat/vB. */
const INCREMENTAL_FEE_RATE = 1;

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
   */
  constructor(store: NodeStore, chain: ChainView, policy: MempoolPolicy) {
    this.#store = store;
    this.#chain = chain;
    this.#policy = policy;
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
    return this.#spends.get(key(txid, vout));
  }

  /**
   * The lowest fee rate accepted now: the policy minimum, or, when the mempool is full, the lowest
   * fee rate it holds plus the incremental relay fee (1 sat/vB, as Bitcoin Core).
   */
  minFeeRate(): number {
    if (this.#entries.size < this.#policy.maxTxs) return this.#policy.minFeeRate;
    const lowest = this.#lowestLeaf(new Set());
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
    const reject = (code: TxRejectedError["code"], why: string): never => {
      throw new TxRejectedError(code, tx.txid, why);
    };
    checkTxStructure(tx, true);
    if (this.#entries.has(tx.txid)) reject("already-known", `transaction ${tx.txid} is already in the mempool`);
    if (this.#chain.outputsOf(tx.txid) !== undefined) {
      reject("already-mined", `transaction ${tx.txid} is already in a main-chain block`);
    }
    const height = this.#chain.height() + 1;
    checkFinal(tx, height, this.#chain.medianTime());
    const parents = new Set<string>();
    const coins = tx.inputs.map((input, i) => {
      const k = key(input.txid, input.vout);
      const other = this.#spends.get(k);
      if (other) {
        reject("mempool-conflict", `input ${i} spends ${k}, which mempool transaction ${other} already spends`);
      }
      const coin = this.#chain.coin(input.txid, input.vout);
      if (coin) return coin;
      const parent = this.#entries.get(input.txid);
      const out = parent?.tx.outputs[input.vout];
      if (out) {
        parents.add(input.txid);
        return { value: out.value, script: out.script, height, coinbase: false };
      }
      const outputs = parent?.tx.outputs.length ?? this.#chain.outputsOf(input.txid);
      if (outputs !== undefined && input.vout < outputs) {
        return reject("spent-inputs", `input ${i} spends ${k}, which is already spent in the chain`);
      }
      return reject(
        "missing-inputs",
        outputs === undefined
          ? `input ${i} spends ${k}: no transaction ${input.txid} in the chain or the mempool`
          : `input ${i} spends ${k}: transaction ${input.txid} has only ${outputs} outputs`,
      );
    });
    const fee = checkInputs(tx, coins, height, false);
    const feeRate = fee / tx.vsize;
    if (feeRate < this.#policy.minFeeRate) {
      reject(
        "fee-too-low",
        `transaction ${tx.txid} pays ${fee} sats for ${tx.vsize} vB (${round(feeRate)} sat/vB), below the minimum ` +
          `${this.#policy.minFeeRate} sat/vB`,
      );
    }
    let victim: PoolEntry | undefined;
    if (this.#entries.size >= this.#policy.maxTxs) {
      // Never the transaction's own parent: it would be left spending an output that is gone.
      victim = this.#lowestLeaf(parents);
      if (!victim || feeRate < victim.feeRate + INCREMENTAL_FEE_RATE) {
        reject(
          "mempool-full",
          `the mempool holds its limit of ${this.#policy.maxTxs} transactions; at ${round(feeRate)} sat/vB this ` +
            `one does not pay ${INCREMENTAL_FEE_RATE} sat/vB more than the cheapest it could replace` +
            (victim ? ` (${round(victim.feeRate)} sat/vB)` : ""),
        );
      }
    }
    verifySignatures(tx, coins);
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
    for (const input of tx.inputs) this.#spends.set(key(input.txid, input.vout), tx.txid);
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
  *planBlockRemovalSteps(txs: readonly Tx[]): Steps<BlockRemoval> {
    const removals: Removal[] = [];
    const gone = new Set<string>();
    /** Mined transactions, whose children stay: they now spend chain outputs. */
    const detached = new Set<string>();
    const take = (txid: string, reason: RemovalReason) => {
      const entry = this.#entries.get(txid);
      if (!entry || gone.has(txid)) return;
      if (!detached.has(txid)) { for (const child of entry.children) take(child, reason); }
      gone.add(txid);
      removals.push({ entry, reason });
    };
    for (const [n, tx] of txs.entries()) {
      if (this.#entries.has(tx.txid) && !gone.has(tx.txid)) {
        detached.add(tx.txid);
        take(tx.txid, "mined");
      }
      for (const input of tx.inputs) {
        const other = this.#spends.get(key(input.txid, input.vout));
        if (other && other !== tx.txid && !gone.has(other)) take(other, "conflict");
      }
      if (n % PLAN_CHUNK === PLAN_CHUNK - 1) yield;
    }
    // Built (and hashed) now, so that applying the plan is map updates only.
    const spends: string[] = [];
    for (const [n, r] of removals.entries()) {
      for (const i of r.entry.tx.inputs) spends.push(key(i.txid, i.vout));
      if (n % PLAN_CHUNK === PLAN_CHUNK - 1) yield;
    }
    return { removals, spends };
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
    if (spends) { for (const input of entry.tx.inputs) this.#spends.delete(key(input.txid, input.vout)); }
    for (const p of entry.parents) this.#entries.get(p)?.children.delete(txid);
  }

  /**
   * Entries by fee rate, highest first (arrival order on ties).
   *
   * @returns A new array.
   */
  byFeeRate(): PoolEntry[] {
    return [...this.#entries.values()].sort((a, b) => b.feeRate - a.feeRate || a.seq - b.seq);
  }

  /**
   * What a block should take: highest fee rate first, a transaction only after all its mempool
   * parents, as many as fit in `maxWeight`.
   *
   * @param maxWeight Weight left for transactions.
   * @returns Entries in a valid block order.
   */
  select(maxWeight: number): PoolEntry[] {
    const chosen: PoolEntry[] = [];
    const taken = new Set<string>();
    let weight = 0;
    // Ready transactions (every mempool parent taken) ordered so that the best is last.
    const ready = this.byFeeRate().filter((e) => e.parents.size === 0).reverse();
    const before = (a: PoolEntry, b: PoolEntry) => a.feeRate < b.feeRate || (a.feeRate === b.feeRate && a.seq > b.seq);
    while (ready.length > 0) {
      const e = ready.pop()!;
      if (weight + e.tx.weight > maxWeight) continue;
      chosen.push(e);
      taken.add(e.tx.txid);
      weight += e.tx.weight;
      for (const c of e.children) {
        const child = this.#entries.get(c)!;
        if ([...child.parents].every((p) => taken.has(p))) {
          let at = ready.length;
          while (at > 0 && before(child, ready[at - 1])) at--;
          ready.splice(at, 0, child);
        }
      }
    }
    return chosen;
  }

  /** The entry with the lowest fee rate that nothing depends on, other than those in `keep`. */
  #lowestLeaf(keep: ReadonlySet<string>): PoolEntry | undefined {
    let low: PoolEntry | undefined;
    for (const e of this.#entries.values()) {
      if (
        e.children.size === 0 && !keep.has(e.tx.txid) &&
        (!low || e.feeRate < low.feeRate || (e.feeRate === low.feeRate && e.seq > low.seq))
      ) {
        low = e;
      }
    }
    return low;
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
