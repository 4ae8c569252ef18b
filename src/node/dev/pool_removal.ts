/**
 * What a newly connected block takes out of the mempool: the transactions it confirmed (`mined`) and
 * whatever spends the same outputs (`conflict`, with descendants), planned in steps so that applying
 * the plan afterwards is map updates only. Children of confirmed transactions stay, now spending
 * chain outputs.
 *
 * @module
 */
import type { BlockRemoval, PoolEntry, Removal, RemovalReason } from "./mempool.ts";
import type { Steps } from "./steps.ts";
import type { Tx } from "./tx_codec.ts";
import { outpointKey } from "./utxo_changes.ts";

/** Transactions planned between two yields of {@link planBlockRemovalSteps}. */
const PLAN_CHUNK = 250;

/**
 * Plan the removals for a block, yielding after every few hundred transactions; the mempool must not
 * change until the plan is applied.
 *
 * @param entries The mempool's entries, by txid.
 * @param spends Outpoint → the mempool transaction spending it.
 * @param txs The block's transactions.
 * @returns Steps returning the plan: the removals, each transaction's descendants before it.
 *
 * @example
 * ```ts ignore
 * const plan = yield* planBlockRemovalSteps(entries, spends, block.txs);
 * ```
 */
export function* planBlockRemovalSteps(
  entries: ReadonlyMap<string, PoolEntry>,
  spends: ReadonlyMap<string, string>,
  txs: readonly Tx[],
): Steps<BlockRemoval> {
  const removals: Removal[] = [];
  const gone = new Set<string>();
  /** Mined transactions, whose children stay: they now spend chain outputs. */
  const detached = new Set<string>();
  const take = (txid: string, reason: RemovalReason) => {
    const entry = entries.get(txid);
    if (!entry || gone.has(txid)) return;
    if (!detached.has(txid)) { for (const child of entry.children) take(child, reason); }
    gone.add(txid);
    removals.push({ entry, reason });
  };
  for (const [n, tx] of txs.entries()) {
    if (entries.has(tx.txid) && !gone.has(tx.txid)) {
      detached.add(tx.txid);
      take(tx.txid, "mined");
    }
    for (const input of tx.inputs) {
      const other = spends.get(outpointKey(input.txid, input.vout));
      if (other && other !== tx.txid && !gone.has(other)) take(other, "conflict");
    }
    if (n % PLAN_CHUNK === PLAN_CHUNK - 1) yield;
  }
  // Built (and hashed) now, so that applying the plan is map updates only.
  const spent: string[] = [];
  for (const [n, r] of removals.entries()) {
    for (const i of r.entry.tx.inputs) spent.push(outpointKey(i.txid, i.vout));
    if (n % PLAN_CHUNK === PLAN_CHUNK - 1) yield;
  }
  return { removals, spends: spent };
}
