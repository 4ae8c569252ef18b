/**
 * What connecting or disconnecting a block changes in the UTXO set. Connecting: every transaction's
 * inputs checked against the coins of the chain and of the block's earlier transactions (spends,
 * maturity, finality, amounts, signatures), the coinbase's claim against subsidy plus fees, and the
 * rows it writes (spent and created coins, undo data, the transaction index), a chunk at a time.
 * Disconnecting: the coins to restore from the undo data, and those to remove. Internal:
 * {@link ChainState} connects and disconnects blocks with it.
 *
 * @module
 */
import { fromHex, toHex } from "../header.ts";
import type { DecodedBlock } from "./block_codec.ts";
import type { Tx } from "./tx_codec.ts";
import { BlockRejectedError } from "./block_rules.ts";
import type { IndexEntry } from "./chainstate.ts";
import { blockSubsidy } from "./params.ts";
import { checkFinal, checkInputs, checkTxStructure, type Coin, TxRejectedError } from "./rules.ts";
import type { SigCache } from "./sig_cache.ts";
import type { Steps } from "./steps.ts";
import type { NodeStore, StoredCoin } from "./store.ts";

/** Transactions validated, or rows written, between two yields. */
const CHUNK = 200;

/** What disconnecting a block needs, and the fee rates the fee estimator learns from. */
export interface Undo {
  /** Coins the block spent: txid, vout, value, script hex, height, coinbase (0 or 1). */
  coins: [string, number, number, string, number, number][];
  /** Fee rates of its transactions. */
  rates: number[];
}

/**
 * How the UTXO set keys an outpoint.
 *
 * @param txid The creating transaction.
 * @param vout The output's index.
 * @returns `txid:vout`.
 */
export const outpointKey = (txid: string, vout: number): string => `${txid}:${vout}`;

/**
 * Whether an output can never be spent (OP_RETURN, or a script over 10,000 bytes): it is not a coin.
 *
 * @param script The output script.
 * @returns True if it is never added to the UTXO set.
 */
const unspendable = (script: Uint8Array): boolean => script[0] === 0x6a || script.length > 10_000;

/** A block checked against the UTXO set: what connecting it changes. */
export interface SpendPlan {
  /** The coins it spends, with their keys (built while validating). */
  spent: { txid: string; vout: number; coin: Coin; key: string }[];
  /** The coins it creates and leaves unspent, by key. */
  created: Map<string, StoredCoin>;
  /** Its transactions' fee rates, coinbase excluded. */
  rates: number[];
  /** Fees its transactions paid. */
  fees: number;
  /** Its undo data, serialized. */
  undo: string;
}

/**
 * Validate a block's transactions against the UTXO set, yielding after each signature check and
 * otherwise after a chunk of transactions.
 *
 * @param entry The block's index entry, a child of the tip.
 * @param block The block.
 * @param coinAt An unspent output of the chain, by {@link outpointKey}.
 * @param mtp The tip's median time past.
 * @param verified Whether a transaction's signatures were already verified (by its wtxid).
 * @param sigs Signatures verified before; those verified now are added.
 * @returns Steps returning what connecting it changes.
 * @throws {BlockRejectedError} for the first rule broken.
 *
 * @example
 * ```ts ignore
 * const plan = yield* checkSpendsSteps(entry, block, (k) => coins.get(k), chain.medianTime(), verified, sigs);
 * ```
 */
export function* checkSpendsSteps(
  entry: IndexEntry,
  block: DecodedBlock,
  coinAt: (key: string) => Coin | undefined,
  mtp: number,
  verified: (wtxid: string) => boolean,
  sigs: SigCache,
): Steps<SpendPlan> {
  const { txs, hash } = block;
  const reject = (reason: string, detail: string): never => {
    throw new BlockRejectedError(reason, detail, hash);
  };
  const height = entry.height;
  const created = new Map<string, StoredCoin>();
  const spent: { txid: string; vout: number; coin: Coin; key: string }[] = [];
  const spentKeys = new Set<string>();
  const rates: number[] = [];
  const undoCoins: Undo["coins"] = [];
  let fees = 0;
  for (const [n, tx] of txs.entries()) {
    if (n > 0 && tx.coinbase) reject("bad-cb-multiple", `transaction ${n} is a second coinbase`);
    let checkedScripts = false;
    try {
      if (n > 0) {
        checkTxStructure(tx, false);
        checkFinal(tx, height, mtp);
        const coins = tx.inputs.map((i) => {
          const k = outpointKey(i.txid, i.vout);
          const fresh = created.get(k);
          if (fresh) {
            created.delete(k);
            return fresh;
          }
          const coin = spentKeys.has(k) ? undefined : coinAt(k);
          if (!coin) {
            throw new TxRejectedError("missing-inputs", tx.txid, `${k} is missing or already spent`);
          }
          spentKeys.add(k);
          spent.push({ txid: i.txid, vout: i.vout, coin, key: k });
          undoCoins.push([i.txid, i.vout, coin.value, toHex(coin.script), coin.height, coin.coinbase ? 1 : 0]);
          return coin;
        });
        const fee = checkInputs(tx, coins, height, false);
        // Signatures last, as checkInputs would: skipped for a transaction verified before.
        if (!verified(tx.wtxid)) checkedScripts = sigs.verify(tx, coins);
        fees += fee;
        rates.push(fee / tx.vsize);
      }
    } catch (e) {
      if (e instanceof TxRejectedError) reject(`bad-txns-${e.code}`, `transaction ${n} (${tx.txid}): ${e.message}`);
      throw e;
    }
    tx.outputs.forEach((o, vout) => {
      if (!unspendable(o.script)) {
        created.set(outpointKey(tx.txid, vout), { txid: tx.txid, vout, ...o, height, coinbase: n === 0 });
      }
    });
    // A signature check takes about a millisecond: yield after each; otherwise after a chunk.
    if (checkedScripts || n % CHUNK === CHUNK - 1) yield;
  }
  const claimed = txs[0].outputs.reduce((s, o) => s + o.value, 0);
  const allowed = blockSubsidy(height) + fees;
  if (claimed > allowed) {
    reject("bad-cb-amount", `the coinbase claims ${claimed} sats, above subsidy plus fees ${allowed}`);
  }
  const undo = JSON.stringify({ coins: undoCoins, rates } satisfies Undo);
  return { spent, created, rates, fees, undo };
}

/**
 * Write what connecting a block changes, a chunk at a time, in the caller's store transaction: the
 * chain row and undo data, the spent and created coins, the transaction index.
 *
 * @param store The store.
 * @param block The block.
 * @param height Its height.
 * @param plan From {@link checkSpendsSteps}.
 * @returns Steps.
 *
 * @example
 * ```ts ignore
 * yield* writeConnectSteps(store, block, entry.height, plan);
 * ```
 */
export function* writeConnectSteps(
  store: NodeStore,
  block: DecodedBlock,
  height: number,
  plan: SpendPlan,
): Steps<void> {
  const { hash, txs } = block;
  const { spent, undo } = plan;
  const coins = [...plan.created.values()];
  const index = txs.map((t) => ({ txid: t.txid, outputs: t.outputs.length }));
  yield* store.atomicallySteps((function* () {
    store.recordConnected(hash, height, undo);
    for (let i = 0; i < spent.length; i += CHUNK) {
      store.spendCoins(spent.slice(i, i + CHUNK));
      yield;
    }
    for (let i = 0; i < coins.length; i += CHUNK) {
      store.putCoins(coins.slice(i, i + CHUNK));
      yield;
    }
    for (let i = 0; i < index.length; i += CHUNK) {
      store.indexTxs(hash, index.slice(i, i + CHUNK), i);
      yield;
    }
  })());
}

/**
 * The coins a block spent, read from its undo data, to restore when it is disconnected.
 *
 * @param undo The block's undo data.
 * @returns The coins.
 */
export function restoredCoins(undo: Undo): StoredCoin[] {
  return undo.coins.map(([txid, vout, value, script, height, cb]) => ({
    txid,
    vout,
    value,
    script: fromHex(script),
    height,
    coinbase: cb === 1,
  }));
}

/**
 * The outpoints of the coins a block's transactions created (unspendable outputs are none), to
 * remove when it is disconnected.
 *
 * @param txs The block's transactions.
 * @returns The outpoints.
 */
export function createdCoins(txs: readonly Tx[]): { txid: string; vout: number }[] {
  return txs.flatMap((t) => t.outputs.flatMap((o, vout) => unspendable(o.script) ? [] : [{ txid: t.txid, vout }]));
}
