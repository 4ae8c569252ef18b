/**
 * The embedded regtest dev node and its parts.
 *
 * @example
 * ```ts
 * import { DevNode } from "@blvm/node";
 * const node = DevNode.open();
 * console.log((await node.getTip()).height); // 0
 * await node.close();
 * ```
 *
 * @module
 */
export * from "./block_codec.ts";
export * from "./block_rules.ts";
export * from "./chainstate.ts";
export * from "./coinbase.ts";
export * from "./controls.ts";
export * from "./fees.ts";
export * from "./mempool.ts";
export * from "./miner.ts";
export * from "./node.ts";
export * from "./params.ts";
export * from "./rules.ts";
export * from "./sig_cache.ts";
export * from "./steps.ts";
export * from "./store.ts";
export * from "./store_errors.ts";
export * from "./traffic.ts";
export * from "./tx_codec.ts";
export * from "./wallet.ts";
