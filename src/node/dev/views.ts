/**
 * The dev node's internal records as the wire types of `protocol/chain.ts`.
 *
 * @module
 */
import type { Block, BlockHeader, MempoolEntry, Transaction, Utxo } from "../../protocol/chain.ts";
import { toHex } from "../header.ts";
import type { IndexEntry } from "./chainstate.ts";
import type { DecodedBlock } from "./block_codec.ts";
import type { Tx } from "./tx_codec.ts";
import type { PoolEntry } from "./mempool.ts";
import type { Coin } from "./rules.ts";

/** An index entry as a {@link BlockHeader}. */
export function headerView(e: IndexEntry): BlockHeader {
  return { ...e.header, hash: e.hash, height: e.height };
}

/** A decoded block as a {@link Block}. */
export function blockView(e: IndexEntry, block: DecodedBlock, bytes: Uint8Array): Block {
  return {
    ...headerView(e),
    txids: block.txs.map((t) => t.txid),
    size: block.size,
    weight: block.weight,
    raw: bytes,
  };
}

/** A transaction as a {@link Transaction}; `at` is its block and the tip height, if mined. */
export function txView(tx: Tx, at?: { block: IndexEntry; tipHeight: number }): Transaction {
  return {
    txid: tx.txid,
    wtxid: tx.wtxid,
    raw: tx.bytes,
    size: tx.size,
    vsize: tx.vsize,
    weight: tx.weight,
    block_hash: at?.block.hash ?? null,
    block_height: at?.block.height ?? null,
    confirmations: at ? at.tipHeight - at.block.height + 1 : 0,
  };
}

/** A mempool entry as a {@link MempoolEntry}. */
export function poolView(e: PoolEntry): MempoolEntry {
  return {
    txid: e.tx.txid,
    vsize: e.tx.vsize,
    weight: e.tx.weight,
    fee_sats: e.fee,
    fee_rate: e.feeRate,
    time: e.time,
    depends: [...e.parents],
  };
}

/** An unspent output as a {@link Utxo}. */
export function utxoView(txid: string, vout: number, c: Coin, tipHeight: number): Utxo {
  return {
    txid,
    vout,
    value_sats: c.value,
    script_pubkey: toHex(c.script),
    height: c.height,
    coinbase: c.coinbase,
    confirmations: tipHeight - c.height + 1,
  };
}
