/**
 * Storage events: timings of reads, writes and queries, and database backups. All are node-owned; the
 * per-operation timings are lossy, the backup events lossless.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const lossy = { category: "storage", owner: "node", delivery: "lossy" } as const;
const lossless = { category: "storage", owner: "node", delivery: "lossless" } as const;

/**
 * The storage category.
 *
 * @example
 * ```ts
 * import { STORAGE_EVENTS } from "@blvm/node/protocol";
 * console.log(STORAGE_EVENTS.StorageWrite.delivery, STORAGE_EVENTS.DatabaseBackupCompleted.delivery); // lossy lossless
 * ```
 */
export const STORAGE_EVENTS = {
  StorageRead: {
    ...lossy,
    doc: "A storage read `operation` completed in `duration_ms`.",
    fields: { operation: "string", duration_ms: "uint" },
  },
  StorageWrite: {
    ...lossy,
    doc: "A storage write `operation` completed in `duration_ms`, writing `bytes_written` bytes.",
    fields: { operation: "string", duration_ms: "uint", bytes_written: "uint" },
  },
  StorageQuery: {
    ...lossy,
    doc: "A storage query of kind `query_type` completed in `duration_ms`.",
    fields: { query_type: "string", duration_ms: "uint" },
  },
  DatabaseBackupStarted: {
    ...lossless,
    doc: "A database backup to `backup_path` began.",
    fields: { backup_path: "string" },
  },
  DatabaseBackupCompleted: {
    ...lossless,
    doc: "A database backup to `backup_path` finished; `size_bytes` is the backup's size.",
    fields: { backup_path: "string", success: "bool", size_bytes: "uint", duration_seconds: "uint" },
  },
} as const satisfies Record<string, EventSpec>;
