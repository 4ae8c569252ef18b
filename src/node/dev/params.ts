/**
 * Regtest consensus and policy constants, as Bitcoin Core sets them for `-regtest`.
 *
 * @module
 */
import type { HeaderFields } from "../header.ts";

/**
 * The regtest network's address prefixes, in the shape `@scure/btc-signer` takes.
 *
 * @example
 * ```ts
 * import { REGTEST } from "@blvm/node";
 * console.log(REGTEST.bech32); // "bcrt"
 * ```
 */
export const REGTEST: Readonly<{ bech32: string; pubKeyHash: number; scriptHash: number; wif: number }> = Object
  .freeze({ bech32: "bcrt", pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef });

/**
 * Regtest compact target (`powLimit`, the easiest allowed). Regtest never retargets, so every block
 * uses it.
 *
 * @example
 * ```ts
 * import { REGTEST_BITS } from "@blvm/node";
 * console.log(REGTEST_BITS.toString(16)); // "207fffff"
 * ```
 */
export const REGTEST_BITS = 0x207fffff;

/**
 * The regtest genesis header. Its hash is
 * `0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206`.
 *
 * @example
 * ```ts
 * import { headerHash, REGTEST_GENESIS } from "@blvm/node";
 * console.log(headerHash(REGTEST_GENESIS).startsWith("0f9188f1")); // true
 * ```
 */
export const REGTEST_GENESIS: Readonly<HeaderFields> = Object.freeze({
  version: 1,
  prev_hash: "00".repeat(32),
  merkle_root: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
  time: 1296688602,
  bits: REGTEST_BITS,
  nonce: 2,
});

/**
 * The genesis coinbase ("The Times 03/Jan/2009 Chancellor on brink of second bailout for banks"),
 * shared by mainnet and regtest. Its output is unspendable by consensus.
 *
 * @example
 * ```ts
 * import { GENESIS_COINBASE_HEX } from "@blvm/node";
 * console.log(GENESIS_COINBASE_HEX.length / 2); // 204
 * ```
 */
export const GENESIS_COINBASE_HEX: string =
  "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04" +
  "ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365" +
  "636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b710" +
  "5cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000";

/** Consensus limits and schedule. */
export const CONSENSUS: Readonly<{
  maxBlockWeight: number;
  coinbaseMaturity: number;
  halvingInterval: number;
  maxMoney: number;
  medianTimeSpan: number;
  maxFutureSeconds: number;
  lockTimeThreshold: number;
}> = Object.freeze({
  /** BIP141 block weight limit. */
  maxBlockWeight: 4_000_000,
  /** Confirmations before a coinbase output may be spent. */
  coinbaseMaturity: 100,
  /** Regtest subsidy halving interval. */
  halvingInterval: 150,
  /** 21 million BTC in satoshis. */
  maxMoney: 2_100_000_000_000_000,
  /** Blocks whose times give the median time past. */
  medianTimeSpan: 11,
  /** A block may be at most this many seconds ahead of the node's clock. */
  maxFutureSeconds: 2 * 60 * 60,
  /** Below this, `nLockTime` is a height; at or above, a time. */
  lockTimeThreshold: 500_000_000,
});

/** Relay policy: what the mempool takes, as Bitcoin Core's defaults. */
export const POLICY: Readonly<{ maxTxWeight: number; minFeeRate: number }> = Object.freeze({
  /** Largest standard transaction weight. */
  maxTxWeight: 400_000,
  /** Default minimum relay fee rate, sat/vB. */
  minFeeRate: 1,
});

/**
 * The block subsidy at `height` on regtest: 50 BTC halving every 150 blocks.
 *
 * @param height Block height.
 * @returns Satoshis.
 *
 * @example
 * ```ts
 * import { blockSubsidy } from "@blvm/node";
 * console.log(blockSubsidy(1), blockSubsidy(150)); // 5000000000 2500000000
 * ```
 */
export function blockSubsidy(height: number): number {
  const halvings = Math.floor(height / CONSENSUS.halvingInterval);
  return halvings >= 64 ? 0 : Number(5_000_000_000n >> BigInt(halvings));
}
