/**
 * Transactions and blocks as bytes: decoding with `@scure/btc-signer`'s consensus coders, the ids and
 * sizes BIP141 defines, and the dev node's coinbase (BIP34 height, BIP141 witness commitment).
 *
 * @module
 */
import * as btc from "@scure/btc-signer";
import * as P from "micro-packed";
import { type HeaderFields, parseHeader, serializeHeader, sha256d, toHex } from "../header.ts";
import { merkleOfIds } from "../sha256.ts";
import { runSteps, type Steps } from "./steps.ts";

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

/** A decoded block. */
export interface DecodedBlock {
  /** Header fields. */
  header: HeaderFields;
  /** Block hash, display order. */
  hash: string;
  /** Transactions in order. */
  txs: Tx[];
  /** Serialized size. */
  size: number;
  /** BIP141 weight. */
  weight: number;
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

type RawTx = P.UnwrapCoder<typeof btc.RawTx>;

const NULL_TXID = "00".repeat(32);

/** A block's header and transaction count, and where its first transaction starts. */
const BlockHead = P.wrap({
  encodeStream: () => {
    throw new Error("decode only");
  },
  decodeStream: (r: P.Reader) => {
    const header = r.bytes(80);
    const count = btc.CompactSize.decodeStream(r);
    return { header, count, end: r.pos };
  },
});

/** Up to `count` consecutive transactions, each with where it starts and ends. */
const txRun = (count: number) =>
  P.wrap({
    encodeStream: () => {
      throw new Error("decode only");
    },
    decodeStream: (r: P.Reader) => {
      const out: { raw: RawTx; start: number; end: number }[] = [];
      for (let i = 0; i < count; i++) {
        const start = r.pos;
        const raw = btc.RawTx.decodeStream(r);
        out.push({ raw, start, end: r.pos });
      }
      return out;
    },
  });

/** Transactions decoded between two yields of {@link decodeBlockSteps}. */
const DECODE_CHUNK = 64;

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
  return fromRaw(raw, bytes);
}

/**
 * Decode a block: the 80-byte header, then a CompactSize count of transactions.
 *
 * @param bytes The serialized block.
 * @returns The block.
 * @throws {MalformedDataError} naming what failed to decode.
 *
 * @example
 * ```ts
 * import { decodeBlock, encodeBlock, REGTEST_GENESIS, decodeTx, fromHex, GENESIS_COINBASE_HEX } from "@blvm/node";
 * const block = decodeBlock(encodeBlock(REGTEST_GENESIS, [decodeTx(fromHex(GENESIS_COINBASE_HEX))]));
 * console.log(block.hash.slice(0, 8)); // 0f9188f1
 * ```
 */
export function decodeBlock(bytes: Uint8Array): DecodedBlock {
  return runSteps(decodeBlockSteps(bytes));
}

/**
 * {@link decodeBlock} in steps, yielding after every few transactions.
 *
 * @param bytes The serialized block.
 * @returns Steps returning the block.
 * @throws {MalformedDataError} naming what failed to decode.
 *
 * @example
 * ```ts ignore
 * const block = yield* decodeBlockSteps(bytes);
 * ```
 */
export function* decodeBlockSteps(bytes: Uint8Array): Steps<DecodedBlock> {
  if (bytes.length < 80) throw new MalformedDataError(`the block is ${bytes.length} bytes, shorter than its header`);
  const malformed = (e: unknown) => new MalformedDataError(`the block does not decode: ${brief(e)}`, { cause: e });
  let head: { header: Uint8Array; count: bigint; end: number };
  try {
    head = BlockHead.decode(bytes, { allowUnreadBytes: true });
  } catch (e) {
    throw malformed(e);
  }
  const count = Number(head.count);
  const txs: Tx[] = [];
  let at = head.end;
  while (txs.length < count) {
    at = decodeRun(bytes, at, Math.min(DECODE_CHUNK, count - txs.length), txs);
    yield;
  }
  if (at !== bytes.length) throw malformed(new Error(`${bytes.length - at} bytes after the last transaction`));
  const stripped = head.end + txs.reduce((n, t) => n + (t.weight - t.size) / 3, 0);
  return {
    header: parseHeader(head.header),
    hash: toHex(sha256d(head.header).reverse()),
    txs,
    size: bytes.length,
    weight: 3 * stripped + bytes.length,
  };
}

/**
 * Decode `count` transactions of a block starting at `at` into `txs`; where the next one starts. (Out
 * of the generator, so that the engine optimizes it like any function.)
 */
function decodeRun(bytes: Uint8Array, at: number, count: number, txs: Tx[]): number {
  let run: { raw: RawTx; start: number; end: number }[];
  try {
    run = txRun(count).decode(bytes.subarray(at), { allowUnreadBytes: true });
  } catch (e) {
    throw new MalformedDataError(`the block does not decode: ${brief(e)}`, { cause: e });
  }
  // Each transaction's bytes are sliced out of the block rather than encoded again.
  for (const { raw, start, end } of run) txs.push(fromRaw(raw, bytes.subarray(at + start, at + end)));
  return at + run[run.length - 1].end;
}

/**
 * A block's {@link DecodedBlock} from its parts, without decoding its bytes: for a block just built
 * from transactions already decoded.
 *
 * @param header Header fields.
 * @param hash The header's hash.
 * @param txs Its transactions, coinbase first.
 * @param size Its serialized size.
 * @returns The block.
 *
 * @example
 * ```ts ignore
 * const block = blockOf(mined.header, mined.hash, mined.txs, mined.bytes.length);
 * ```
 */
export function blockOf(header: HeaderFields, hash: string, txs: Tx[], size: number): DecodedBlock {
  // weight = 3 × stripped size + size = 4 × (header and count) + the sum of the transactions' weights.
  return {
    header,
    hash,
    txs,
    size,
    weight: 4 * (80 + compactSize(txs.length)) + txs.reduce((n, t) => n + t.weight, 0),
  };
}

/**
 * Serialize a block.
 *
 * @param header Header fields.
 * @param txs Transactions in block order.
 * @returns The block's bytes.
 *
 * @example
 * ```ts
 * import { decodeTx, encodeBlock, fromHex, GENESIS_COINBASE_HEX, REGTEST_GENESIS } from "@blvm/node";
 * console.log(encodeBlock(REGTEST_GENESIS, [decodeTx(fromHex(GENESIS_COINBASE_HEX))]).length); // 285
 * ```
 */
export function encodeBlock(header: HeaderFields, txs: readonly Tx[]): Uint8Array {
  const count = btc.CompactSize.encode(BigInt(txs.length));
  const out = new Uint8Array(80 + count.length + txs.reduce((n, t) => n + t.size, 0));
  out.set(serializeHeader(header));
  out.set(count, 80);
  let at = 80 + count.length;
  for (const t of txs) {
    out.set(t.bytes, at);
    at += t.size;
  }
  return out;
}

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
  return fromRaw(raw);
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

/** A decoder's message, cut short: some quote every leftover byte. */
function brief(e: unknown): string {
  const m = String((e as Error)?.message ?? e);
  return m.length > 200 ? `${m.slice(0, 200)}...` : m;
}

/** Bytes of a CompactSize encoding `n`. */
function compactSize(n: number): number {
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

function fromRaw(raw: RawTx, given?: Uint8Array): Tx {
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
