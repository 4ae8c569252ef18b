/**
 * Mempool events: transactions entering and leaving the mempool, fee-rate changes and size alarms. All
 * are node-owned. The per-transaction events are lossy; the threshold and clear events are lossless.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const lossy = { category: "mempool", owner: "node", delivery: "lossy" } as const;
const lossless = { category: "mempool", owner: "node", delivery: "lossless" } as const;

/**
 * The mempool category.
 *
 * @example
 * ```ts
 * import { MEMPOOL_EVENTS } from "@blvm/node/protocol";
 * console.log(MEMPOOL_EVENTS.MempoolTransactionRemoved.fields.reason.includes("mined")); // true
 * ```
 */
export const MEMPOOL_EVENTS = {
  MempoolTransactionAdded: {
    ...lossy,
    doc: "A transaction was accepted into the mempool. `fee_rate` is in sat/vB; `mempool_size` counts the " +
      "transactions in the mempool after it was added.",
    fields: { tx_hash: "hash", fee_rate: "number", vsize: "uint", fee_sats: "uint", mempool_size: "uint" },
  },
  MempoolTransactionRemoved: {
    ...lossy,
    doc: "A transaction left the mempool for the given `reason`; `mempool_size` counts the transactions left.",
    fields: {
      tx_hash: "hash",
      reason: ["mined", "conflict", "expired", "replaced", "evicted", "reorg", "manual"],
      mempool_size: "uint",
    },
  },
  MempoolThresholdExceeded: {
    ...lossless,
    doc: "The mempool holds more transactions (`current_size`) than the policy limit (`threshold`).",
    fields: { current_size: "uint", threshold: "uint" },
  },
  FeeRateChanged: {
    ...lossy,
    doc: "A fee rate moved, both in sat/vB: with `target_blocks`, the node's fee estimate for confirmation " +
      "within that many blocks; without it, the mempool's minimum fee rate for acceptance.",
    fields: { old_fee_rate: "number", new_fee_rate: "number", mempool_size: "uint", target_blocks: "uint?" },
  },
  MempoolCleared: {
    ...lossless,
    doc: "The whole mempool was emptied; `cleared_count` transactions were removed.",
    fields: { cleared_count: "uint" },
  },
  NewTransaction: {
    ...lossy,
    doc: "A new transaction was seen and accepted into the mempool.",
    fields: { tx_hash: "hash" },
  },
} as const satisfies Record<string, EventSpec>;
