/**
 * The dev node's coinbase (BIP34 height, BIP141 witness commitment) and what a block commits to:
 * the merkle root of its txids and the witness commitment.
 *
 * @module
 */
import * as btc from "@scure/btc-signer";
import { sha256d, toHex } from "../header.ts";
import { merkleOfIds } from "../sha256.ts";
import { NULL_TXID, type RawTx, txFromRaw } from "./raw_tx.ts";
import type { Tx } from "./tx_codec.ts";

/**
 * The BIP141 witness commitment of a block's transactions: double SHA-256 of the witness merkle root
 * (the coinbase's wtxid taken as zero) and the 32-byte zero witness reserved value.
 *
 * @param txs The block's transactions, the coinbase first.
 * @param reserved The witness reserved value in the coinbase's witness; 32 zero bytes by default.
 * @returns 32 bytes.
 *
 * @example
 * ```ts
 * import { decodeTx, fromHex, GENESIS_COINBASE_HEX, witnessCommitment } from "@blvm/node";
 * console.log(witnessCommitment([decodeTx(fromHex(GENESIS_COINBASE_HEX))]).length); // 32
 * ```
 */
export function witnessCommitment(
  txs: readonly Pick<Tx, "wtxid">[],
  reserved: Uint8Array = new Uint8Array(32),
): Uint8Array {
  return commitmentOf(witnessRoot(txs), reserved);
}

/**
 * The BIP141 witness merkle root of a block's transactions, the coinbase's wtxid taken as zero.
 *
 * @param txs The block's transactions, the coinbase first.
 * @returns 32 bytes, internal order.
 *
 * @example
 * ```ts
 * import { decodeTx, fromHex, GENESIS_COINBASE_HEX, witnessRoot } from "@blvm/node";
 * console.log(witnessRoot([decodeTx(fromHex(GENESIS_COINBASE_HEX))]).every((b) => b === 0)); // true
 * ```
 */
export function witnessRoot(txs: readonly Pick<Tx, "wtxid">[]): Uint8Array {
  return merkleOfIds(txs.length, (i) => i === 0 ? NULL_TXID : txs[i].wtxid);
}

/**
 * The witness commitment for a witness merkle root: double SHA-256 of the root and the witness
 * reserved value.
 *
 * @param root The witness merkle root ({@link witnessRoot}), internal order.
 * @param reserved The witness reserved value; 32 zero bytes by default.
 * @returns 32 bytes.
 *
 * @example
 * ```ts
 * import { commitmentOf, decodeTx, fromHex, GENESIS_COINBASE_HEX, witnessCommitment, witnessRoot } from "@blvm/node";
 * const txs = [decodeTx(fromHex(GENESIS_COINBASE_HEX))];
 * console.log(commitmentOf(witnessRoot(txs)).join() === witnessCommitment(txs).join()); // true
 * ```
 */
export function commitmentOf(root: Uint8Array, reserved: Uint8Array = new Uint8Array(32)): Uint8Array {
  const buf = new Uint8Array(64);
  buf.set(root);
  buf.set(reserved, 32);
  return sha256d(buf);
}

/**
 * The merkle root of a block's transaction ids, display-order hex: the same as `merkleRoot` of
 * their txids.
 *
 * @param txs The block's transactions, the coinbase first.
 * @returns The root.
 *
 * @example
 * ```ts
 * import { decodeTx, fromHex, GENESIS_COINBASE_HEX, txMerkleRoot } from "@blvm/node";
 * console.log(txMerkleRoot([decodeTx(fromHex(GENESIS_COINBASE_HEX))]).slice(0, 8)); // 4a5e1e4b
 * ```
 */
export function txMerkleRoot(txs: readonly Pick<Tx, "txid">[]): string {
  return toHex(merkleOfIds(txs.length, (i) => txs[i].txid).reverse());
}

/** The output script prefix of a witness commitment: OP_RETURN, push 36, `aa21a9ed`. */
export const WITNESS_COMMITMENT_PREFIX: Uint8Array = Uint8Array.of(0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed);

/**
 * Build the dev node's coinbase: version 2, one input spending the null outpoint whose script starts
 * with the BIP34 height (as Bitcoin Core's `CScript() << height`), then an extra nonce and the tag
 * `/blvm-dev/`; the payout; and, when `commitment` is given, the BIP141 witness commitment output
 * with the zero witness reserved value in the input's witness.
 *
 * @param height The block's height.
 * @param valueSats Subsidy plus fees.
 * @param script The payout's output script.
 * @param extraNonce Makes otherwise identical blocks differ.
 * @param commitment The witness commitment ({@link witnessCommitment}), or `undefined` for none.
 * @returns The coinbase.
 *
 * @example
 * ```ts
 * import { buildCoinbase, fromHex } from "@blvm/node";
 * const cb = buildCoinbase(1, 5_000_000_000, fromHex("51"), 0);
 * console.log(cb.coinbase, cb.inputs[0].script_sig[0] === 0x51); // true true
 * ```
 */
export function buildCoinbase(
  height: number,
  valueSats: number,
  script: Uint8Array,
  extraNonce: number,
  commitment?: Uint8Array,
): Tx {
  const tag = new TextEncoder().encode("/blvm-dev/");
  const nonce = new Uint8Array(4);
  new DataView(nonce.buffer).setUint32(0, extraNonce >>> 0, true);
  const outputs = [{ amount: BigInt(valueSats), script }];
  if (commitment) {
    const s = new Uint8Array(38);
    s.set(WITNESS_COMMITMENT_PREFIX);
    s.set(commitment, 6);
    outputs.push({ amount: 0n, script: s });
  }
  const raw: RawTx = {
    version: 2,
    segwitFlag: commitment !== undefined,
    inputs: [{
      txid: new Uint8Array(32),
      index: 0xffffffff,
      finalScriptSig: btc.Script.encode([height, nonce, tag]),
      sequence: 0xffffffff,
    }],
    outputs,
    witnesses: commitment ? [[new Uint8Array(32)]] : undefined,
    lockTime: 0,
  };
  return txFromRaw(raw);
}

/**
 * The script `CScript() << height` produces, which BIP34 requires at the start of a coinbase's
 * input script.
 *
 * @param height Block height.
 * @returns The script bytes.
 *
 * @example
 * ```ts
 * import { bip34Prefix, toHex } from "@blvm/node";
 * console.log(toHex(bip34Prefix(5)), toHex(bip34Prefix(200))); // "55" "02c800"
 * ```
 */
export function bip34Prefix(height: number): Uint8Array {
  return btc.Script.encode([height]);
}
