/**
 * The dev node's signature cache: which transactions' signatures verified against which spent
 * outputs, so that a transaction is not verified again (about a millisecond per input) when a reorg
 * returns it to the mempool, or when a block confirms one verified before, in the mempool or in a
 * block since disconnected. Bounded: past {@link SIG_CACHE_ENTRIES} entries the oldest goes.
 *
 * Why a hit is safe: {@link verifySignatures} is a function of the transaction's serialization
 * (witnesses included) and of the spent outputs' amounts and scripts, and of nothing else: the
 * sighashes it checks (BIP143, BIP341) commit to those, and no rule it applies depends on the height,
 * the time or the UTXO set. The key holds all of it: the wtxid, the double SHA-256 of the whole
 * serialization (the same wtxid means the same inputs, outputs, script_sigs and witnesses), hashed
 * together with every spent output's amount and script in input order. (An outpoint's output is fixed
 * by its txid anyway; with them in the key, a hit does not rest on that.) What does depend on the
 * context (maturity, amounts, finality, conflicts) is checked every time, outside the cache. Only
 * successes are kept: a transaction whose witness was tampered with has another wtxid, misses, and is
 * verified (and refused) again. Keys trust `Tx.wtxid` to be the digest of `Tx.bytes`, as it is for
 * every transaction the codecs make.
 *
 * @module
 */
import { fromHex, toHex } from "../header.ts";
import { sha256 } from "../sha256.ts";
import { type Coin, verifySignatures } from "./rules.ts";
import type { Tx } from "./tx_codec.ts";

/**
 * Entries a {@link SigCache} keeps by default.
 *
 * @example
 * ```ts
 * import { SIG_CACHE_ENTRIES } from "@blvm/node";
 * console.log(SIG_CACHE_ENTRIES); // 50000
 * ```
 */
export const SIG_CACHE_ENTRIES = 50_000;

/**
 * Transactions whose signatures verified, keyed by wtxid and spent outputs; the oldest entry goes
 * first once the cache is full.
 *
 * @example
 * ```ts
 * import { SigCache } from "@blvm/node";
 * const sigs = new SigCache(1_000);
 * console.log(sigs.size, sigs.max); // 0 1000
 * ```
 */
export class SigCache {
  readonly #max: number;
  /** Keys in the order they were added, oldest first. */
  readonly #keys = new Set<string>();

  /**
   * An empty cache.
   *
   * @param max Entries kept at most; 0 keeps none.
   */
  constructor(max: number = SIG_CACHE_ENTRIES) {
    this.#max = max;
  }

  /** Entries kept at most. */
  get max(): number {
    return this.#max;
  }

  /** Entries now. */
  get size(): number {
    return this.#keys.size;
  }

  /**
   * Whether `tx`'s signatures verified against exactly these spent outputs.
   *
   * @param tx The transaction.
   * @param coins The outputs it spends, in input order.
   * @returns True on a hit.
   */
  has(tx: Tx, coins: readonly Coin[]): boolean {
    return this.#keys.has(keyOf(tx, coins));
  }

  /**
   * Verify `tx`'s signatures against the outputs it spends, unless they verified before; remember
   * that they did.
   *
   * @param tx The transaction.
   * @param coins The outputs it spends, in input order.
   * @returns Whether they were verified now (false: a hit, nothing done).
   * @throws {TxRejectedError} `bad-signature` or `unsupported-script`, as {@link verifySignatures}.
   *
   * @example
   * ```ts ignore
   * if (sigs.verify(tx, coins)) yield; // a signature check takes about a millisecond
   * ```
   */
  verify(tx: Tx, coins: readonly Coin[]): boolean {
    const key = keyOf(tx, coins);
    if (this.#keys.has(key)) return false;
    verifySignatures(tx, coins);
    if (this.#max > 0) {
      this.#keys.add(key);
      if (this.#keys.size > this.#max) this.#keys.delete(this.#keys.values().next().value!);
    }
    return true;
  }
}

/** SHA-256 of the wtxid and of each spent output's amount (8 bytes), script length (4) and script. */
function keyOf(tx: Tx, coins: readonly Coin[]): string {
  let n = 32;
  for (const c of coins) n += 12 + c.script.length;
  const buf = new Uint8Array(n);
  const view = new DataView(buf.buffer);
  buf.set(fromHex(tx.wtxid));
  let at = 32;
  for (const c of coins) {
    view.setBigUint64(at, BigInt(c.value), true);
    view.setUint32(at + 8, c.script.length, true);
    buf.set(c.script, at + 12);
    at += 12 + c.script.length;
  }
  return toHex(sha256(buf));
}
