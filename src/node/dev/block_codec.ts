/**
 * Blocks as bytes: decoding (at once or in steps) with `@scure/btc-signer`'s consensus coders,
 * serializing, and a decoded block from parts already decoded.
 *
 * @module
 */
import * as btc from "@scure/btc-signer";
import * as P from "micro-packed";
import { type HeaderFields, parseHeader, serializeHeader, sha256d, toHex } from "../header.ts";
import { brief, compactSize, type RawTx, txFromRaw } from "./raw_tx.ts";
import { runSteps, type Steps } from "./steps.ts";
import { MalformedDataError, type Tx } from "./tx_codec.ts";

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
  for (const { raw, start, end } of run) txs.push(txFromRaw(raw, bytes.subarray(at + start, at + end)));
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
