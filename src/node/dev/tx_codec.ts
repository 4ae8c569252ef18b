/**
 * Transactions as bytes: decoding with `@scure/btc-signer`'s consensus coder, and the ids and sizes
 * BIP141 defines.
 *
 * @module
 */
import * as btc from "@scure/btc-signer";
import { brief, type RawTx, txFromRaw } from "./raw_tx.ts";

/** One input of a decoded transaction. */
export interface TxIn {
  /** The spent output's transaction id, display order. */
  txid: string;
  /** The spent output's index. */
  vout: number;
  /** The input script. */
  script_sig: Uint8Array;
  /** `nSequence`. */
  sequence: number;
  /** The witness stack; empty without witness data. */
  witness: Uint8Array[];
}

/** One output of a decoded transaction. */
export interface TxOut {
  /** Amount, satoshis. */
  value: number;
  /** The output script. */
  script: Uint8Array;
}

/** A transaction decoded from its consensus bytes, with its ids and sizes. */
export interface Tx {
  /** Transaction id (no witness), display-order hex. */
  txid: string;
  /** Witness transaction id, display-order hex. */
  wtxid: string;
  /** The serialization, witness included. */
  bytes: Uint8Array;
  /** `bytes.length`. */
  size: number;
  /** BIP141 weight: 3 × stripped size + total size. */
  weight: number;
  /** `ceil(weight / 4)`. */
  vsize: number;
  /** Transaction version. */
  version: number;
  /** `nLockTime`. */
  lock_time: number;
  /** Inputs. */
  inputs: TxIn[];
  /** Outputs. */
  outputs: TxOut[];
  /** Whether this is a coinbase: one input spending the null outpoint. */
  coinbase: boolean;
}

/**
 * Bytes that do not decode as a transaction or block.
 *
 * @example
 * ```ts
 * import { decodeTx, MalformedDataError } from "@blvm/node";
 * try {
 *   decodeTx(new Uint8Array([1, 2, 3]));
 * } catch (e) {
 *   console.log(e instanceof MalformedDataError); // true
 * }
 * ```
 */
export class MalformedDataError extends Error {
  /**
   * Create the error.
   *
   * @param message What could not be decoded, and why.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MalformedDataError";
  }
}

/**
 * Decode one transaction. Every byte must belong to it.
 *
 * @param bytes The serialization, with or without witness data.
 * @returns The transaction.
 * @throws {MalformedDataError} naming what failed to decode.
 *
 * @example
 * ```ts
 * import { decodeTx, fromHex, GENESIS_COINBASE_HEX } from "@blvm/node";
 * const tx = decodeTx(fromHex(GENESIS_COINBASE_HEX));
 * console.log(tx.coinbase, tx.txid.slice(0, 8)); // true 4a5e1e4b
 * ```
 */
export function decodeTx(bytes: Uint8Array): Tx {
  let raw: RawTx;
  try {
    raw = btc.RawTx.decode(bytes);
  } catch (e) {
    throw new MalformedDataError(`the transaction does not decode: ${brief(e)}`, { cause: e });
  }
  return txFromRaw(raw, bytes);
}
