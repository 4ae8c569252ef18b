/**
 * The consensus coder's raw transactions made into {@link Tx}: ids, sizes and weight computed once.
 * Internal to the codecs (`tx_codec.ts`, `block_codec.ts`, `coinbase.ts`).
 *
 * @module
 */
import * as btc from "@scure/btc-signer";
import type * as P from "micro-packed";
import { sha256d, toHex } from "../header.ts";
import type { Tx } from "./tx_codec.ts";

/** A transaction as `@scure/btc-signer`'s consensus coder reads and writes it. */
export type RawTx = P.UnwrapCoder<typeof btc.RawTx>;

/** The null outpoint's txid, which a coinbase's input spends. */
export const NULL_TXID: string = "00".repeat(32);

/**
 * A decoder's message, cut short: some quote every leftover byte.
 *
 * @param e What the decoder threw.
 * @returns At most 200 characters and an ellipsis.
 */
export function brief(e: unknown): string {
  const m = String((e as Error)?.message ?? e);
  return m.length > 200 ? `${m.slice(0, 200)}...` : m;
}

/**
 * Bytes of a CompactSize encoding `n`.
 *
 * @param n The number encoded.
 * @returns 1, 3, 5 or 9.
 */
export function compactSize(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

/** The serialized size of a decoded transaction, and of its witness section (marker and flag excluded). */
function sizes(raw: RawTx): { total: number; witness: number } {
  let n = 4 + compactSize(raw.inputs.length) + compactSize(raw.outputs.length) + 4;
  for (const i of raw.inputs) n += 40 + compactSize(i.finalScriptSig.length) + i.finalScriptSig.length;
  for (const o of raw.outputs) n += 8 + compactSize(o.script.length) + o.script.length;
  let witness = 0;
  if (raw.segwitFlag) {
    for (const stack of raw.witnesses ?? []) {
      witness += compactSize(stack.length);
      for (const item of stack) witness += compactSize(item.length) + item.length;
    }
    n += 2 + witness;
  }
  return { total: n, witness };
}

/**
 * A {@link Tx} from a raw transaction.
 *
 * @param raw The decoded transaction.
 * @param given Its serialization, if the caller has it (sliced out of a block, say); otherwise it is encoded.
 * @returns The transaction, with its ids and sizes.
 */
export function txFromRaw(raw: RawTx, given?: Uint8Array): Tx {
  const bytes = given ?? btc.RawTx.encode(raw);
  const hasWitness = raw.segwitFlag;
  let stripped = bytes;
  if (hasWitness) {
    // version | marker, flag | inputs, outputs | witnesses | lock time: drop marker, flag and witnesses.
    const { witness } = sizes(raw);
    const end = bytes.length - 4 - witness;
    stripped = new Uint8Array(end - 2 + 4);
    stripped.set(bytes.subarray(0, 4));
    stripped.set(bytes.subarray(6, end), 4);
    stripped.set(bytes.subarray(bytes.length - 4), end - 2);
  }
  const txid = toHex(sha256d(stripped).reverse());
  const weight = 3 * stripped.length + bytes.length;
  const inputs = raw.inputs.map((i, n) => ({
    txid: toHex(i.txid),
    vout: i.index,
    script_sig: i.finalScriptSig,
    sequence: i.sequence,
    witness: raw.witnesses?.[n] ?? [],
  }));
  return {
    txid,
    wtxid: hasWitness ? toHex(sha256d(bytes).reverse()) : txid,
    bytes,
    size: bytes.length,
    weight,
    vsize: Math.ceil(weight / 4),
    version: raw.version,
    lock_time: raw.lockTime,
    inputs,
    outputs: raw.outputs.map((o) => ({ value: Number(o.amount), script: o.script })),
    coinbase: inputs.length === 1 && inputs[0].txid === NULL_TXID && inputs[0].vout === 0xffffffff,
  };
}
