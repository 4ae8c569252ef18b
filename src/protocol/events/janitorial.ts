/**
 * Janitorial events: node startup and shutdown, storage flushes, maintenance windows, cleanup
 * opportunities, health checks and resource warnings. They let modules keep their own data and
 * resources in step with the node. All are node-owned and lossless; `NodeStartupCompleted` is sticky.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const base = { category: "janitorial", owner: "node", delivery: "lossless" } as const;
const maintenanceType = ["backup", "cleanup", "prune"] as const;

/**
 * The janitorial category.
 *
 * @example
 * ```ts
 * import { JANITORIAL_EVENTS } from "@blvm/node/protocol";
 * console.log(JANITORIAL_EVENTS.StorageFlush.fields.reason); // ["shutdown", "periodic", "manual"]
 * ```
 */
export const JANITORIAL_EVENTS = {
  NodeStartupCompleted: {
    ...base,
    sticky: true,
    doc: "The node finished starting up and is fully operational; `components` lists what was initialized. " +
      "Replayed to late subscribers.",
    fields: { duration_ms: "uint", components: "string[]" },
  },
  NodeShutdown: {
    ...base,
    doc: "The node is shutting down, published before any component stops. Modules should save state and " +
      "release resources within `timeout_seconds`.",
    fields: { reason: "string", timeout_seconds: "uint" },
  },
  NodeShutdownCompleted: {
    ...base,
    doc: "The node finished shutting down.",
    fields: { duration_ms: "uint" },
  },
  StorageFlush: {
    ...base,
    doc: "The node is about to flush its storage. Modules should flush their own pending writes within " +
      "`deadline_ms`.",
    fields: { reason: ["shutdown", "periodic", "manual"], deadline_ms: "uint" },
  },
  StorageFlushCompleted: {
    ...base,
    doc: "The node's storage flush finished.",
    fields: { success: "bool", duration_ms: "uint" },
  },
  MaintenanceStarted: {
    ...base,
    doc: "A maintenance operation began; modules should pause non-critical work until `MaintenanceCompleted`.",
    fields: { maintenance_type: maintenanceType, estimated_duration_seconds: "uint?" },
  },
  MaintenanceCompleted: {
    ...base,
    doc: "A maintenance operation finished; `results` holds its statistics.",
    fields: { maintenance_type: maintenanceType, success: "bool", duration_ms: "uint", results: "map" },
  },
  DataCleanup: {
    ...base,
    doc: "A chance for modules to delete or archive their data older than `target_age_days`.",
    fields: { cleanup_type: ["periodic", "manual", "low_disk"], target_age_days: "uint" },
  },
  HealthCheck: {
    ...base,
    doc: "The node checked its health (`health_report` holds the details). Modules may report their own health " +
      "within `deadline_ms`.",
    fields: {
      check_type: ["periodic", "manual", "startup"],
      node_healthy: "bool",
      health_report: "map",
      deadline_ms: "uint",
    },
  },
  DiskSpaceLow: {
    ...base,
    doc: "Free space on the disk holding `disk_path` fell below the node's threshold; modules should free space.",
    fields: { available_bytes: "uint", total_bytes: "uint", percent_free: "number", disk_path: "string" },
  },
  ResourceLimitWarning: {
    ...base,
    doc: "The module named by `module` passed `threshold_percent` of its limit for `resource_type`; it should " +
      "reduce its usage. `current_usage` and `limit` are in the resource's own unit.",
    fields: {
      module: "string",
      resource_type: ["memory", "cpu", "disk", "network"],
      usage_percent: "number",
      current_usage: "number",
      limit: "number",
      threshold_percent: "number",
    },
  },
} as const satisfies Record<string, EventSpec>;
