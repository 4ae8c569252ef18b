/**
 * Sync events: header and block download during initial block download (IBD), sync state changes, and
 * selective sync. All are node-owned; the progress reports are lossy, the rest lossless.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const lossy = { category: "sync", owner: "node", delivery: "lossy" } as const;
const lossless = { category: "sync", owner: "node", delivery: "lossless" } as const;

/**
 * The sync category.
 *
 * @example
 * ```ts
 * import { SYNC_EVENTS } from "@blvm/node/protocol";
 * console.log(Object.keys(SYNC_EVENTS.BlockSyncProgress.fields).length); // 4
 * ```
 */
export const SYNC_EVENTS = {
  HeadersSyncStarted: {
    ...lossless,
    doc: "Header download began at `start_height`.",
    fields: { start_height: "uint" },
  },
  HeadersSyncProgress: {
    ...lossy,
    doc: "Header download progress: headers are known up to `current_height` out of `target_height`.",
    fields: { current_height: "uint", target_height: "uint", progress_percent: "number" },
  },
  HeadersSyncCompleted: {
    ...lossless,
    doc: "Header download finished at `final_height`.",
    fields: { final_height: "uint", duration_seconds: "uint" },
  },
  BlockSyncStarted: {
    ...lossless,
    doc: "Block download began, from `start_height` towards `target_height`.",
    fields: { start_height: "uint", target_height: "uint" },
  },
  BlockSyncProgress: {
    ...lossy,
    doc: "Block download progress: blocks are connected up to `current_height` out of `target_height`.",
    fields: { current_height: "uint", target_height: "uint", progress_percent: "number", blocks_per_second: "number" },
  },
  BlockSyncCompleted: {
    ...lossless,
    doc: "Block download finished at `final_height`.",
    fields: { final_height: "uint", duration_seconds: "uint" },
  },
  SyncStateChanged: {
    ...lossless,
    doc: "The sync state machine moved from `old_state` to `new_state`.",
    fields: { old_state: "string", new_state: "string" },
  },
  SelectiveSyncPolicyApplied: {
    ...lossless,
    doc: "A selective-sync policy from `policy_source` took effect; `registry_count` counts the registries it uses.",
    fields: { policy_source: "string", registry_count: "uint" },
  },
  IBDBlockFiltered: {
    ...lossless,
    doc: "A block was filtered out during initial block download, for example by selective sync or pruning.",
    fields: { block_hash: "hash", height: "uint", reason: "string" },
  },
} as const satisfies Record<string, EventSpec>;
