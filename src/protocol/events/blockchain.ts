/**
 * Blockchain events: blocks connected to and disconnected from the main chain, and reorgs. All are
 * node-owned and lossless.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

/**
 * The blockchain category.
 *
 * @example
 * ```ts
 * import { BLOCKCHAIN_EVENTS } from "@blvm/node/protocol";
 * console.log(BLOCKCHAIN_EVENTS.NewBlock.delivery); // "lossless"
 * ```
 */
export const BLOCKCHAIN_EVENTS = {
  NewBlock: {
    category: "blockchain",
    owner: "node",
    delivery: "lossless",
    doc: "A block was connected to the main chain.",
    fields: { hash: "hash", height: "uint", prev_hash: "hash", time: "uint" },
  },
  BlockDisconnected: {
    category: "blockchain",
    owner: "node",
    delivery: "lossless",
    doc: "A block was disconnected from the main chain during a reorg; its transactions return to the mempool.",
    fields: { hash: "hash", height: "uint" },
  },
  ChainReorg: {
    category: "blockchain",
    owner: "node",
    delivery: "lossless",
    doc: "The main chain switched branches: `old_tip` was replaced by `new_tip` above the common `fork_height`.",
    fields: { old_tip: "hash", new_tip: "hash", fork_height: "uint", disconnected: "uint", connected: "uint" },
  },
} as const satisfies Record<string, EventSpec>;
