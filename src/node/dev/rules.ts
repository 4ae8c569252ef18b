/**
 * Transaction validity as the dev node checks it, for the mempool and for blocks: structure, finality,
 * inputs against a coin view, amounts, and signatures. Every failure is a {@link TxRejectedError}
 * whose `code` says which rule failed.
 *
 * Signatures are verified for P2WPKH and P2TR key-path spends (BIP143 and BIP341 sighashes from
 * `@scure/btc-signer`, ECDSA and Schnorr from `@noble/curves`). Spends of any other output type are
 * refused with `unsupported-script`: the dev node accepts nothing it cannot verify.
 *
 * @module
 */
import * as btc from "@scure/btc-signer";
import { schnorr, secp256k1 } from "@noble/curves/secp256k1.js";
import { ripemd160 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { Tx } from "./tx_codec.ts";
import { CONSENSUS, POLICY } from "./params.ts";

/**
 * Why a transaction was refused.
 *
 * - `malformed`: the bytes do not decode.
 * - `coinbase`: a coinbase outside a block's first position.
 * - `empty`: no inputs or no outputs.
 * - `duplicate-inputs`: an outpoint spent twice in one transaction.
 * - `value-out-of-range`: an output or the total above 21 million BTC.
 * - `too-large`: heavier than the standard 400,000 weight.
 * - `non-final`: its lock time is in the future.
 * - `already-known`: already in the mempool.
 * - `already-mined`: already in a main-chain block.
 * - `missing-inputs`: spends an output that never existed.
 * - `spent-inputs`: spends an output already spent in the chain.
 * - `mempool-conflict`: spends an output a mempool transaction already spends.
 * - `premature-coinbase-spend`: spends a coinbase output with fewer than 100 confirmations.
 * - `insufficient-input`: outputs worth more than inputs.
 * - `fee-too-low`: fee rate below the mempool minimum.
 * - `mempool-full`: the mempool is full of transactions paying at least as much.
 * - `bad-signature`: a signature or witness that does not verify.
 * - `unsupported-script`: spends an output type the dev node cannot verify.
 */
export type RejectCode =
  | "malformed"
  | "coinbase"
  | "empty"
  | "duplicate-inputs"
  | "value-out-of-range"
  | "too-large"
  | "non-final"
  | "already-known"
  | "already-mined"
  | "missing-inputs"
  | "spent-inputs"
  | "mempool-conflict"
  | "premature-coinbase-spend"
  | "insufficient-input"
  | "fee-too-low"
  | "mempool-full"
  | "bad-signature"
  | "unsupported-script";

/**
 * A transaction the dev node refuses, with the rule it broke.
 *
 * @example
 * ```ts
 * import { TxRejectedError } from "@blvm/node";
 * const e = new TxRejectedError("fee-too-low", "ab".repeat(32), "fee rate 0.5 sat/vB is below 1 sat/vB");
 * console.log(e.code, e.message.includes("0.5")); // fee-too-low true
 * ```
 */
export class TxRejectedError extends Error {
  /** The rule broken. */
  readonly code: RejectCode;
  /** The transaction's id, when it decoded. */
  readonly txid: string | null;

  /**
   * Create the error.
   *
   * @param code The rule broken.
   * @param txid The transaction's id, or `null` if it did not decode.
   * @param reason What exactly was wrong.
   */
  constructor(code: RejectCode, txid: string | null, reason: string) {
    super(`${code}: ${reason}`);
    this.name = "TxRejectedError";
    this.code = code;
    this.txid = txid;
  }
}

/** An unspent output as the validator needs it. */
export interface Coin {
  /** Amount, satoshis. */
  value: number;
  /** Output script. */
  script: Uint8Array;
  /** Height of the block that created it; for a mempool output, the next block's height. */
  height: number;
  /** Whether a coinbase created it. */
  coinbase: boolean;
}

/**
 * Context-free checks: inputs and outputs present, no duplicate inputs, amounts in range, not a
 * coinbase, and (as relay policy) not heavier than the standard limit.
 *
 * @param tx The transaction.
 * @param policy Also apply relay policy (the weight limit).
 * @throws {TxRejectedError} for the first rule broken.
 *
 * @example
 * ```ts
 * import { checkTxStructure, decodeTx, fromHex, GENESIS_COINBASE_HEX } from "@blvm/node";
 * try {
 *   checkTxStructure(decodeTx(fromHex(GENESIS_COINBASE_HEX)), true);
 * } catch (e) {
 *   console.log((e as Error).message.startsWith("coinbase")); // true
 * }
 * ```
 */
export function checkTxStructure(tx: Tx, policy: boolean): void {
  const reject = (code: RejectCode, why: string): never => {
    throw new TxRejectedError(code, tx.txid, `transaction ${tx.txid} ${why}`);
  };
  if (tx.inputs.length === 0) reject("empty", "has no inputs");
  if (tx.outputs.length === 0) reject("empty", "has no outputs");
  if (tx.coinbase) reject("coinbase", "is a coinbase, which only a block's first transaction may be");
  const seen = new Set<string>();
  for (const [i, input] of tx.inputs.entries()) {
    const key = `${input.txid}:${input.vout}`;
    if (seen.has(key)) reject("duplicate-inputs", `spends ${key} twice (input ${i})`);
    seen.add(key);
  }
  let total = 0;
  for (const [i, out] of tx.outputs.entries()) {
    if (out.value > CONSENSUS.maxMoney) reject("value-out-of-range", `output ${i} pays ${out.value} sats`);
    total += out.value;
  }
  if (total > CONSENSUS.maxMoney) reject("value-out-of-range", `pays ${total} sats in total`);
  if (policy && tx.weight > POLICY.maxTxWeight) {
    reject("too-large", `weighs ${tx.weight}, above the standard limit ${POLICY.maxTxWeight}`);
  }
}

/**
 * Whether a transaction's lock time lets it into a block at `height` with median time past `mtp`.
 *
 * @param tx The transaction.
 * @param height The height of the block it would enter.
 * @param mtp The median time past of that block's parent.
 * @throws {TxRejectedError} `non-final` if the lock time is not yet reached.
 *
 * @example
 * ```ts
 * import { checkFinal, decodeTx, fromHex, GENESIS_COINBASE_HEX } from "@blvm/node";
 * checkFinal(decodeTx(fromHex(GENESIS_COINBASE_HEX)), 1, 0); // lock time 0 is always final
 * ```
 */
export function checkFinal(tx: Tx, height: number, mtp: number): void {
  if (tx.lock_time === 0) return;
  const byHeight = tx.lock_time < CONSENSUS.lockTimeThreshold;
  if (tx.lock_time < (byHeight ? height : mtp)) return;
  if (tx.inputs.every((i) => i.sequence === 0xffffffff)) return;
  throw new TxRejectedError(
    "non-final",
    tx.txid,
    `transaction ${tx.txid} is locked until ${byHeight ? "height" : "time"} ${tx.lock_time}; the next block is ` +
      (byHeight ? `at height ${height}` : `after median time ${mtp}`),
  );
}

/**
 * Check a transaction's inputs against the coins it spends: maturity of coinbase outputs, amounts,
 * and every signature.
 *
 * @param tx The transaction (already structure-checked).
 * @param coins The spent coins, one per input, in input order.
 * @param spendHeight The height of the block it would enter.
 * @param verifyScripts Whether to verify signatures (skipped for transactions verified before).
 * @returns The fee, satoshis.
 * @throws {TxRejectedError} for the first rule broken.
 *
 * @example
 * ```ts ignore
 * const fee = checkInputs(tx, coins, tipHeight + 1, true);
 * ```
 */
export function checkInputs(tx: Tx, coins: readonly Coin[], spendHeight: number, verifyScripts: boolean): number {
  let total = 0;
  for (const [i, coin] of coins.entries()) {
    if (coin.coinbase && spendHeight - coin.height < CONSENSUS.coinbaseMaturity) {
      throw new TxRejectedError(
        "premature-coinbase-spend",
        tx.txid,
        `input ${i} spends the coinbase output ${tx.inputs[i].txid}:${tx.inputs[i].vout} from height ${coin.height}, ` +
          `which needs ${CONSENSUS.coinbaseMaturity} confirmations (it would have ${spendHeight - coin.height})`,
      );
    }
    total += coin.value;
  }
  const out = tx.outputs.reduce((n, o) => n + o.value, 0);
  if (out > total) {
    throw new TxRejectedError(
      "insufficient-input",
      tx.txid,
      `transaction ${tx.txid} spends ${total} sats but pays out ${out}`,
    );
  }
  if (verifyScripts) verifySignatures(tx, coins);
  return total - out;
}

/**
 * Verify every input's signature against the coin it spends.
 *
 * @param tx The transaction.
 * @param coins The spent coins, in input order.
 * @throws {TxRejectedError} `bad-signature` or `unsupported-script`.
 *
 * @example
 * ```ts ignore
 * verifySignatures(tx, coins);
 * ```
 */
export function verifySignatures(tx: Tx, coins: readonly Coin[]): void {
  const parsed = btc.Transaction.fromRaw(tx.bytes, {
    allowUnknownOutputs: true,
    allowUnknownInputs: true,
    disableScriptCheck: true,
    allowLegacyWitnessUtxo: true,
  });
  const bad = (i: number, why: string): never => {
    throw new TxRejectedError("bad-signature", tx.txid, `input ${i} of ${tx.txid}: ${why}`);
  };
  for (const [i, coin] of coins.entries()) {
    const s = coin.script;
    const input = tx.inputs[i];
    if (s.length === 22 && s[0] === 0x00 && s[1] === 0x14) {
      if (input.script_sig.length !== 0) bad(i, "a P2WPKH spend must have an empty input script");
      if (input.witness.length !== 2) bad(i, `a P2WPKH witness has 2 items, this one ${input.witness.length}`);
      const [sig, pub] = input.witness;
      if (pub.length !== 33) bad(i, "the public key is not a 33-byte compressed key");
      if (!equal(ripemd160(sha256(pub)), s.subarray(2))) {
        bad(i, "the public key does not hash to the output's key hash");
      }
      if (sig.length < 9) bad(i, "the signature is too short");
      const hashType = sig[sig.length - 1];
      if (![1, 2, 3, 0x81, 0x82, 0x83].includes(hashType)) bad(i, `sighash type 0x${hashType.toString(16)} is invalid`);
      const scriptCode = btc.OutScript.encode({ type: "pkh", hash: s.subarray(2) });
      const msg = parsed.preimageWitnessV0(i, scriptCode, hashType, BigInt(coin.value));
      let ok = false;
      try {
        ok = secp256k1.verify(sig.subarray(0, -1), msg, pub, { prehash: false, format: "der", lowS: true });
      } catch { /* not DER */ }
      if (!ok) bad(i, "the ECDSA signature does not verify (strict DER, low S)");
    } else if (s.length === 34 && s[0] === 0x51 && s[1] === 0x20) {
      if (input.script_sig.length !== 0) bad(i, "a P2TR spend must have an empty input script");
      if (input.witness.length !== 1) {
        throw new TxRejectedError(
          "unsupported-script",
          tx.txid,
          `input ${i} of ${tx.txid} is a P2TR script-path spend (or carries an annex); the dev node verifies key-path spends only`,
        );
      }
      const sig = input.witness[0];
      if (sig.length !== 64 && sig.length !== 65) bad(i, `a Schnorr signature is 64 or 65 bytes, not ${sig.length}`);
      const hashType = sig.length === 65 ? sig[64] : 0;
      if (sig.length === 65 && hashType === 0) bad(i, "a 65-byte signature cannot use sighash type 0");
      let msg: Uint8Array;
      try {
        msg = parsed.preimageWitnessV1(i, coins.map((c) => c.script), hashType, coins.map((c) => BigInt(c.value)));
      } catch (e) {
        bad(i, `sighash: ${(e as Error).message}`);
      }
      if (!schnorr.verify(sig.subarray(0, 64), msg!, s.subarray(2))) bad(i, "the Schnorr signature does not verify");
    } else {
      throw new TxRejectedError(
        "unsupported-script",
        tx.txid,
        `input ${i} of ${tx.txid} spends ${input.txid}:${input.vout}, an output type the dev node cannot verify ` +
          "(it verifies P2WPKH and P2TR key-path spends)",
      );
    }
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
