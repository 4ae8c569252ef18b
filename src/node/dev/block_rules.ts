/**
 * Block validity that needs no UTXO set: the header in its context, and the body's structure (weight,
 * coinbase, merkle root, BIP34 height, BIP141 witness commitment). Failures are
 * {@link BlockRejectedError}s with Bitcoin Core's reason names.
 *
 * @module
 */
import { meetsTarget } from "../header.ts";
import type { DecodedBlock } from "./block_codec.ts";
import { bip34Prefix, commitmentOf, txMerkleRoot, WITNESS_COMMITMENT_PREFIX, witnessRoot } from "./coinbase.ts";
import { CONSENSUS, REGTEST_BITS } from "./params.ts";

/**
 * A block the dev node refuses, with a Bitcoin Core style reason (`high-hash`, `bad-txnmrklroot`,
 * `bad-cb-height`, ...).
 *
 * @example
 * ```ts
 * import { BlockRejectedError } from "@blvm/node";
 * const e = new BlockRejectedError("high-hash", "the hash does not meet the target", "00".repeat(32));
 * console.log(e.reason, e.message); // high-hash high-hash: the hash does not meet the target
 * ```
 */
export class BlockRejectedError extends Error {
  /** Short machine-readable reason. */
  readonly reason: string;
  /** The block's hash, if known. */
  readonly hash: string | null;

  /**
   * Create the error.
   *
   * @param reason Short machine-readable reason.
   * @param detail What exactly was wrong.
   * @param hash The block's hash, if known.
   */
  constructor(reason: string, detail: string, hash: string | null) {
    super(`${reason}: ${detail}`);
    this.name = "BlockRejectedError";
    this.reason = reason;
    this.hash = hash;
  }
}

/**
 * Check a header against its parent's context: regtest `bits`, proof of work, time above the parent's
 * median time past and at most two hours ahead of `now`, version 4 or more.
 *
 * @param block The decoded block.
 * @param mtp The median time past of its parent.
 * @param now The node's clock, seconds.
 * @throws {BlockRejectedError} for the first rule broken.
 *
 * @example
 * ```ts ignore
 * checkHeader(block, chain.medianTime(parent), Math.floor(Date.now() / 1000));
 * ```
 */
export function checkHeader(block: DecodedBlock, mtp: number, now: number): void {
  const { header: h, hash } = block;
  const reject = (reason: string, detail: string): never => {
    throw new BlockRejectedError(reason, detail, hash);
  };
  if (h.bits !== REGTEST_BITS) reject("bad-diffbits", `bits 0x${h.bits.toString(16)} is not regtest's 0x207fffff`);
  if (!meetsTarget(hash, h.bits)) {
    reject("high-hash", `the hash does not meet the target of bits 0x${h.bits.toString(16)}`);
  }
  if (h.time <= mtp) reject("time-too-old", `block time ${h.time} is not after the median time past ${mtp}`);
  if (h.time > now + CONSENSUS.maxFutureSeconds) reject("time-too-new", `block time ${h.time} is over 2 hours ahead`);
  if (h.version < 4) reject("bad-version", `version ${h.version} is obsolete (BIP34/65/66 need 4 or more)`);
}

/**
 * Merkle roots already computed from a block's transactions (by the code that built the block), so
 * that checking it does not hash them again.
 *
 * @example
 * ```ts ignore
 * const block = mineBlock(plan);
 * checkBlockBody(block, height, { merkleRoot: block.header.merkle_root, witnessRoot: block.witnessRoot });
 * ```
 */
export interface KnownRoots {
  /** The merkle root of the transactions' txids, display order. */
  merkleRoot: string;
  /** The witness merkle root of their wtxids (the coinbase's taken as zero), internal order. */
  witnessRoot: Uint8Array;
}

/**
 * Check a block's body without its inputs: weight, the coinbase first and only there (the caller
 * checks later transactions), no duplicate txids, the merkle root, the BIP34 height and the witness
 * commitment.
 *
 * @param block The decoded block.
 * @param height Its height.
 * @param known The block's merkle roots if the caller computed them from `block.txs` already (a
 *   block it built itself); otherwise they are computed here.
 * @throws {BlockRejectedError} for the first rule broken.
 *
 * @example
 * ```ts ignore
 * checkBlockBody(block, parent.height + 1);
 * ```
 */
export function checkBlockBody(block: DecodedBlock, height: number, known?: KnownRoots): void {
  const { txs, hash } = block;
  const reject = (reason: string, detail: string): never => {
    throw new BlockRejectedError(reason, detail, hash);
  };
  if (block.weight > CONSENSUS.maxBlockWeight) reject("bad-blk-weight", `weight ${block.weight} is over 4,000,000`);
  if (txs.length === 0 || !txs[0].coinbase) reject("bad-cb-missing", "the first transaction is not a coinbase");
  const txids = txs.map((t) => t.txid);
  if (new Set(txids).size !== txids.length) reject("bad-txns-duplicate", "a transaction appears twice");
  if ((known?.merkleRoot ?? txMerkleRoot(txs)) !== block.header.merkle_root) {
    reject("bad-txnmrklroot", `the merkle root ${block.header.merkle_root} does not commit to the transactions`);
  }
  const sig = txs[0].inputs[0].script_sig;
  if (sig.length < 2 || sig.length > 100) reject("bad-cb-length", `the coinbase script is ${sig.length} bytes`);
  if (!bip34Prefix(height).every((b, i) => sig[i] === b)) {
    reject("bad-cb-height", `the coinbase script does not start with the height ${height} (BIP34)`);
  }
  checkWitnessCommitment(block, reject, known?.witnessRoot);
}

function checkWitnessCommitment(
  block: DecodedBlock,
  reject: (reason: string, detail: string) => never,
  root?: Uint8Array,
): void {
  const cb = block.txs[0];
  let at = -1;
  cb.outputs.forEach((o, i) => {
    if (o.script.length >= 38 && WITNESS_COMMITMENT_PREFIX.every((b, j) => o.script[j] === b)) at = i;
  });
  if (at < 0) {
    if (block.txs.some((t) => t.wtxid !== t.txid)) {
      reject("unexpected-witness", "the block has witness data but no witness commitment");
    }
    return;
  }
  const reserved = cb.inputs[0].witness;
  if (reserved.length !== 1 || reserved[0].length !== 32) {
    reject("bad-witness-nonce-size", "the coinbase witness must be one 32-byte reserved value");
  }
  const expected = commitmentOf(root ?? witnessRoot(block.txs), reserved[0]);
  if (!expected.every((b, i) => cb.outputs[at].script[6 + i] === b)) {
    reject("bad-witness-merkle-match", "the witness commitment does not match the transactions' wtxids");
  }
}
