/**
 * Janitorial events: node startup and shutdown, storage flushes, maintenance windows, cleanup
 * opportunities, health checks and resource warnings. They let modules keep their own data and
 * resources in step with the node. All are node-owned and lossless; `NodeStartupCompleted` is sticky.
 * The requests among them (`acknowledge: true`) carry `deadline_ms`: each subscribed module answers
 * with an `event_ack` before it passes, and the host records who answered and how fast.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const base = { category: "janitorial", owner: "node", delivery: "lossless" } as const;
const request = { ...base, acknowledge: true } as const;
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
    ...request,
    doc: "The node is shutting down, published before any component stops. Modules should save state and " +
      "acknowledge within `timeout_seconds` (`deadline_ms`); a module that does not is killed at the deadline. " +
      "`reason` is `signal`, `admin`, `error` or `run-for`, followed by detail after a colon.",
    fields: { reason: "string", timeout_seconds: "uint", deadline_ms: "uint" },
  },
  NodeShutdownCompleted: {
    ...base,
    doc: "The node finished its own shutdown work (storage flushed, modules that ignored `NodeShutdown` " +
      "killed). Sent to the modules still connected, just before they are stopped.",
    fields: { duration_ms: "uint" },
  },
  StorageFlush: {
    ...request,
    doc: "The node is flushing its storage. Modules should flush their own pending writes and acknowledge " +
      "within `deadline_ms`.",
    fields: { reason: ["shutdown", "periodic", "manual"], deadline_ms: "uint" },
  },
  StorageFlushCompleted: {
    ...base,
    doc: "The storage flush finished: `success` is false if the node's own flush failed or a subscribed " +
      "module did not acknowledge in time (or reported a failure).",
    fields: { success: "bool", duration_ms: "uint" },
  },
  MaintenanceStarted: {
    ...request,
    doc: "A maintenance operation is about to begin; modules should pause non-critical work (and, for a " +
      "`backup`, flush their data) and acknowledge within `deadline_ms`. Work starts after the acknowledgements " +
      "or the deadline, and lasts until `MaintenanceCompleted`.",
    fields: { maintenance_type: maintenanceType, estimated_duration_seconds: "uint?", deadline_ms: "uint" },
  },
  MaintenanceCompleted: {
    ...base,
    doc: "A maintenance operation finished; `results` holds its real numbers (files, bytes, blocks) or the error.",
    fields: { maintenance_type: maintenanceType, success: "bool", duration_ms: "uint", results: "map" },
  },
  DataCleanup: {
    ...request,
    doc: "A chance for modules to delete or archive their data older than `target_age_days`; `low_disk` follows " +
      "a `DiskSpaceLow`. Acknowledge within `deadline_ms`.",
    fields: { cleanup_type: ["periodic", "manual", "low_disk"], target_age_days: "uint", deadline_ms: "uint" },
  },
  HealthCheck: {
    ...request,
    doc: "The node checked its health (`health_report` holds the details). Each subscribed module answers with " +
      "its own health in its acknowledgement within `deadline_ms`, or is marked degraded.",
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
