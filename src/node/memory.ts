/**
 * An in-memory regtest header chain: real header serialization, hashing and proof of work, with
 * blocks mined on demand. It backs the host until the embedded dev node lands.
 *
 * @module
 */
import type { BlockHeader, ChainInfo, ChainTip } from "../protocol/api.ts";
import type { NodeBackend } from "./backend.ts";
import { blockWork, type HeaderFields, headerHash, meetsTarget, sha256d, toHex } from "./header.ts";

/**
 * Regtest compact target (the easiest allowed); every header the {@link MemoryBackend} mines uses it.
 *
 * @example
 * ```ts
 * import { MemoryBackend, REGTEST_BITS } from "@blvm/node";
 * const [h] = new MemoryBackend().mine(1);
 * console.log(h.bits === REGTEST_BITS); // true
 * ```
 */
export const REGTEST_BITS = 0x207fffff;

/** The regtest genesis header fields. */
const GENESIS: HeaderFields = {
  version: 1,
  prev_hash: "00".repeat(32),
  merkle_root: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
  time: 1296688602,
  bits: REGTEST_BITS,
  nonce: 2,
};

/**
 * A regtest chain of headers held in memory.
 *
 * @example Mine and read back
 * ```ts
 * import { MemoryBackend } from "@blvm/node";
 * const node = new MemoryBackend();
 * const [h] = node.mine(1);
 * console.log(h.height, (await node.getTip()).hash === h.hash); // 1 true
 * ```
 */
export class MemoryBackend implements NodeBackend {
  /** Always `regtest`. */
  readonly network = "regtest";
  readonly #chain: BlockHeader[] = [];
  readonly #byHash = new Map<string, BlockHeader>();
  readonly #listeners = new Set<(h: BlockHeader) => void>();
  #work = 0n;

  constructor() {
    this.#append({ ...GENESIS, hash: headerHash(GENESIS), height: 0 });
  }

  /**
   * Mine `count` blocks on the tip and notify block listeners for each.
   *
   * @param count How many blocks. Default 1.
   * @param time Block time in seconds. Default: now, and always after the previous block.
   * @returns The new headers.
   */
  mine(count = 1, time?: number): BlockHeader[] {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`Cannot mine: 'count' must be a positive integer: current value is ${count}`);
    }
    const out: BlockHeader[] = [];
    for (let i = 0; i < count; i++) {
      const prev = this.#chain[this.#chain.length - 1];
      const height = prev.height + 1;
      // A stand-in merkle root that commits to the height; the dev node replaces it with real txs.
      const coinbase = new TextEncoder().encode(`blvm memory coinbase ${height}`);
      const fields: HeaderFields = {
        version: 0x20000000,
        prev_hash: prev.hash,
        merkle_root: toHex(sha256d(coinbase).reverse()),
        time: Math.max(prev.time + 1, time ?? Math.floor(Date.now() / 1000)),
        bits: REGTEST_BITS,
        nonce: 0,
      };
      let hash = headerHash(fields);
      while (!meetsTarget(hash, fields.bits)) {
        fields.nonce++;
        hash = headerHash(fields);
      }
      const header = { ...fields, hash, height };
      this.#append(header);
      out.push(header);
      for (const l of this.#listeners) l(header);
    }
    return out;
  }

  getTip(): Promise<ChainTip> {
    const tip = this.#chain[this.#chain.length - 1];
    return Promise.resolve({ hash: tip.hash, height: tip.height });
  }

  getChainInfo(): Promise<ChainInfo> {
    const tip = this.#chain[this.#chain.length - 1];
    return Promise.resolve({
      network: this.network,
      tip_hash: tip.hash,
      height: tip.height,
      chain_work: this.#work.toString(16).padStart(64, "0"),
    });
  }

  getHeader(hash: string): Promise<BlockHeader | undefined> {
    return Promise.resolve(this.#byHash.get(hash.toLowerCase()));
  }

  getBlockHash(height: number): Promise<string | undefined> {
    return Promise.resolve(this.#chain[height]?.hash);
  }

  onBlock(listener: (header: BlockHeader) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #append(h: BlockHeader): void {
    this.#chain.push(h);
    this.#byHash.set(h.hash, h);
    this.#work += blockWork(h.bits);
  }
}
