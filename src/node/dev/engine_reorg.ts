/**
 * The dev node's reorgs, the part that goes back: disconnecting blocks down to a fork, returning
 * their transactions to the mempool, dropping the mempool transactions that no longer fit, and
 * `ChainReorg` once the node has switched. Connecting the new branch is `engine_blocks.ts`'s.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { IndexEntry } from "./chainstate.ts";
import { announceRemovals, emit, type EngineCore, poolChanged } from "./engine_core.ts";
import type { Removal } from "./mempool.ts";
import { CONSENSUS } from "./params.ts";
import { TxRejectedError } from "./rules.ts";
import type { Tx } from "./tx_codec.ts";

const log = getLogger(["blvm", "devnode"]);

/**
 * Disconnect blocks down to `fork`, returning their transactions to the mempool, in the caller's
 * store transaction.
 *
 * @param core The engine.
 * @param fork A main-chain block.
 * @returns The blocks disconnected, the old tip first.
 */
export function rewindTo(core: EngineCore, fork: IndexEntry): IndexEntry[] {
  const { chain, pool } = core;
  const disconnected: IndexEntry[] = [];
  const returned: Tx[][] = [];
  while (chain.tip().hash !== fork.hash) {
    const { entry, txs } = chain.disconnectTip();
    disconnected.push(entry);
    returned.unshift(txs.slice(1));
    emit(core, { type: "BlockDisconnected", payload: { hash: entry.hash, height: entry.height } });
  }
  for (const tx of returned.flat()) {
    try {
      const { entry, evicted } = pool.accept(tx, core.opts.clock());
      announceRemovals(core, evicted, 1);
      emit(core, {
        type: "MempoolTransactionAdded",
        payload: {
          tx_hash: tx.txid,
          fee_rate: entry.feeRate,
          vsize: tx.vsize,
          fee_sats: entry.fee,
          mempool_size: pool.size,
        },
      });
    } catch (e) {
      if (!(e instanceof TxRejectedError)) throw e;
      log.info("Disconnected transaction {txid} did not return to the mempool: {error}", {
        txid: tx.txid,
        error: e.message,
      });
    }
  }
  announceRemovals(core, dropInvalid(core));
  core.poolVersion++;
  return disconnected;
}

/** After a rewind: mempool transactions whose inputs are gone or immature now. */
function dropInvalid({ chain, pool }: EngineCore): Removal[] {
  const out: Removal[] = [];
  const spendHeight = chain.tip().height + 1;
  for (const e of [...pool.entries()]) {
    if (!pool.get(e.tx.txid)) continue;
    const ok = e.tx.inputs.every((i) => {
      if (e.parents.has(i.txid)) return true;
      const c = chain.coin(i.txid, i.vout);
      if (c) return !c.coinbase || spendHeight - c.height >= CONSENSUS.coinbaseMaturity;
      // Its parent was disconnected and is back in the mempool: it now depends on it there.
      return pool.link(e.tx.txid, i.txid, i.vout);
    });
    if (!ok) out.push(...pool.remove(e.tx.txid, "reorg"));
  }
  return out;
}

/**
 * Publish `ChainReorg` from `before` to the tip, if the tip moved off `before`'s branch.
 *
 * @param core The engine.
 * @param before The tip before the reorg.
 */
export function finishReorg(core: EngineCore, before: IndexEntry): void {
  const after = core.chain.tip();
  if (after.hash === before.hash) return;
  const fork = core.chain.fork(before);
  const disconnected = before.height - fork.height;
  emit(core, {
    type: "ChainReorg",
    payload: {
      old_tip: before.hash,
      new_tip: after.hash,
      fork_height: fork.height,
      disconnected,
      connected: after.height - fork.height,
    },
  });
  poolChanged(core);
}
