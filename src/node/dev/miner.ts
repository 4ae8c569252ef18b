/**
 * Block assembly: a coinbase paying subsidy plus fees with the BIP34 height and the BIP141 witness
 * commitment, the merkle root over the chosen transactions, and a nonce search until the header
 * meets the regtest target.
 *
 * @module
 */
import { type HeaderFields, headerHash, meetsTarget } from "../header.ts";
import { blockOf, encodeBlock } from "./block_codec.ts";
import { buildCoinbase, commitmentOf, txMerkleRoot, witnessRoot } from "./coinbase.ts";
import type { Tx } from "./tx_codec.ts";
import { blockSubsidy, REGTEST_BITS } from "./params.ts";
import { runSteps, type Steps } from "./steps.ts";

/** Block version of mined blocks (BIP9 top bits, nothing signalled). */
export const BLOCK_VERSION = 0x20000000;

/** Weight kept free for the header, the transaction count and the coinbase. */
export const COINBASE_RESERVE_WEIGHT = 4_000;

/** What to build a block from. */
export interface BlockPlan {
  /** Parent hash. */
  prevHash: string;
  /** The new block's height. */
  height: number;
  /** Block time. */
  time: number;
  /** Transactions after the coinbase, in a valid order. */
  txs: readonly Tx[];
  /** Fees they pay. */
  fees: number;
  /** The coinbase payout script. */
  payout: Uint8Array;
  /** Makes otherwise identical blocks differ. */
  extraNonce: number;
}

/** A mined block. */
export interface MinedBlock {
  /** Its hash. */
  hash: string;
  /** Header fields. */
  header: HeaderFields;
  /** All transactions, coinbase first. */
  txs: Tx[];
  /** The serialized block. */
  bytes: Uint8Array;
  /** `bytes.length`. */
  size: number;
  /** BIP141 weight. */
  weight: number;
  /** The witness merkle root its coinbase commits to (internal order), computed while building it. */
  witnessRoot: Uint8Array;
}

/**
 * Build and mine a block.
 *
 * @param plan What goes in it.
 * @returns The block, with a header meeting {@link REGTEST_BITS}.
 *
 * @example
 * ```ts
 * import { fromHex, mineBlock, REGTEST_GENESIS, headerHash, meetsTarget } from "@blvm/node";
 * const b = mineBlock({
 *   prevHash: headerHash(REGTEST_GENESIS), height: 1, time: REGTEST_GENESIS.time + 1,
 *   txs: [], fees: 0, payout: fromHex("51"), extraNonce: 0,
 * });
 * console.log(meetsTarget(b.hash, b.header.bits)); // true
 * ```
 */
export function mineBlock(plan: BlockPlan): MinedBlock {
  return runSteps(mineBlockSteps(plan));
}

/**
 * {@link mineBlock} in steps: it yields after the witness root, after the merkle root and after the
 * proof of work.
 *
 * @param plan What goes in it.
 * @returns Steps returning the block.
 *
 * @example
 * ```ts ignore
 * const block = yield* mineBlockSteps(plan);
 * ```
 */
export function* mineBlockSteps(plan: BlockPlan): Steps<MinedBlock> {
  const value = blockSubsidy(plan.height) + plan.fees;
  // The coinbase's own wtxid counts as zero in the witness root: a placeholder stands in for it.
  const wroot = witnessRoot([{ wtxid: "00".repeat(32) }, ...plan.txs]);
  yield;
  const coinbase = buildCoinbase(plan.height, value, plan.payout, plan.extraNonce, commitmentOf(wroot));
  const txs = [coinbase, ...plan.txs];
  const root = txMerkleRoot(txs);
  yield;
  const header: HeaderFields = {
    version: BLOCK_VERSION,
    prev_hash: plan.prevHash,
    merkle_root: root,
    time: plan.time,
    bits: REGTEST_BITS,
    nonce: 0,
  };
  let hash = headerHash(header);
  while (!meetsTarget(hash, header.bits)) {
    if (header.nonce === 0xffffffff) {
      header.nonce = 0;
      header.time++;
    } else header.nonce++;
    hash = headerHash(header);
  }
  yield;
  const bytes = encodeBlock(header, txs);
  return { ...blockOf(header, hash, txs, bytes.length), bytes, witnessRoot: wroot };
}
