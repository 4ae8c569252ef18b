/**
 * The mempool's acceptance checks, in order (each failure is a {@link TxRejectedError} naming the
 * rule): structure and standard weight → not already in the mempool or the chain → lock time final
 * for the next block → every input an unspent output of the chain or of a mempool transaction, not
 * spent by another mempool transaction → coinbase maturity and input ≥ output → fee rate at least the
 * minimum → room in the mempool (a full mempool evicts its lowest fee-rate leaf for a better-paying
 * transaction). Signatures come last, in {@link Mempool.accept}. There is no replace-by-fee: a
 * conflicting spend is refused.
 *
 * @module
 */
import type { ChainView, MempoolPolicy, PoolEntry } from "./mempool.ts";
import { lowestLeaf } from "./pool_order.ts";
import { checkFinal, checkInputs, checkTxStructure, type Coin, TxRejectedError } from "./rules.ts";
import type { Tx } from "./tx_codec.ts";
import { outpointKey } from "./utxo_changes.ts";

/** What a transaction must pay above the one it evicts from a full mempool, sat/vB. */
export const INCREMENTAL_FEE_RATE = 1;

/** What the checks read of the mempool. */
export interface PoolView {
  /** Its entries, by txid. */
  entries: ReadonlyMap<string, PoolEntry>;
  /** Outpoint → the mempool transaction spending it. */
  spends: ReadonlyMap<string, string>;
  /** The chain it sits on. */
  chain: ChainView;
  /** Its policy. */
  policy: MempoolPolicy;
}

/** A transaction that passed the checks: what accepting it needs. */
export interface Admission {
  /** The outputs its inputs spend, in input order. */
  coins: Coin[];
  /** The mempool transactions it spends outputs of. */
  parents: Set<string>;
  /** Its fee, satoshis. */
  fee: number;
  /** `fee / vsize`, sat/vB. */
  feeRate: number;
  /** The entry to evict to make room, if the mempool is full. */
  victim?: PoolEntry;
}

/**
 * Check a transaction against the mempool's policy and the chain, all but its signatures.
 *
 * @param pool The mempool.
 * @param tx The transaction.
 * @returns What accepting it needs.
 * @throws {TxRejectedError} for the first rule broken.
 *
 * @example
 * ```ts ignore
 * const { coins, fee, victim } = checkAdmission(pool, tx);
 * ```
 */
export function checkAdmission(pool: PoolView, tx: Tx): Admission {
  const reject = (code: TxRejectedError["code"], why: string): never => {
    throw new TxRejectedError(code, tx.txid, why);
  };
  checkTxStructure(tx, true);
  if (pool.entries.has(tx.txid)) reject("already-known", `transaction ${tx.txid} is already in the mempool`);
  if (pool.chain.outputsOf(tx.txid) !== undefined) {
    reject("already-mined", `transaction ${tx.txid} is already in a main-chain block`);
  }
  const height = pool.chain.height() + 1;
  checkFinal(tx, height, pool.chain.medianTime());
  const parents = new Set<string>();
  const coins = tx.inputs.map((input, i) => {
    const k = outpointKey(input.txid, input.vout);
    const other = pool.spends.get(k);
    if (other) {
      reject("mempool-conflict", `input ${i} spends ${k}, which mempool transaction ${other} already spends`);
    }
    const coin = pool.chain.coin(input.txid, input.vout);
    if (coin) return coin;
    const parent = pool.entries.get(input.txid);
    const out = parent?.tx.outputs[input.vout];
    if (out) {
      parents.add(input.txid);
      return { value: out.value, script: out.script, height, coinbase: false };
    }
    const outputs = parent?.tx.outputs.length ?? pool.chain.outputsOf(input.txid);
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
  if (feeRate < pool.policy.minFeeRate) {
    reject(
      "fee-too-low",
      `transaction ${tx.txid} pays ${fee} sats for ${tx.vsize} vB (${round(feeRate)} sat/vB), below the minimum ` +
        `${pool.policy.minFeeRate} sat/vB`,
    );
  }
  let victim: PoolEntry | undefined;
  if (pool.entries.size >= pool.policy.maxTxs) {
    // Never the transaction's own parent: it would be left spending an output that is gone.
    victim = lowestLeaf(pool.entries, parents);
    if (!victim || feeRate < victim.feeRate + INCREMENTAL_FEE_RATE) {
      reject(
        "mempool-full",
        `the mempool holds its limit of ${pool.policy.maxTxs} transactions; at ${round(feeRate)} sat/vB this ` +
          `one does not pay ${INCREMENTAL_FEE_RATE} sat/vB more than the cheapest it could replace` +
          (victim ? ` (${round(victim.feeRate)} sat/vB)` : ""),
      );
    }
  }
  return { coins, parents, fee, feeRate, victim };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
