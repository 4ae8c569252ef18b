/**
 * The host side: spawn sandboxed modules, serve the NodeAPI, publish events.
 *
 * @example
 * ```ts ignore
 * import { Host, DevNode } from "@blvm/node";
 * const host = await Host.create({ backend: DevNode.open(), dataDir: "./data" });
 * ```
 *
 * @module
 */
export * from "./api_registry.ts";
export * from "./data_root.ts";
export * from "./delivery.ts";
export * from "./errors.ts";
export * from "./events.ts";
export * from "./host_lock.ts";
export * from "./host.ts";
export * from "./import_vetting.ts";
export * from "./limits.ts";
export * from "./leftovers.ts";
export * from "./lines.ts";
export * from "./log.ts";
export * from "./module_api.ts";
export * from "./module_runtime.ts";
export * from "./peers.ts";
export * from "./spec.ts";
export * from "./node_api.ts";
export * from "./os_sandbox.ts";
export * from "./parent_death.ts";
export * from "./peer_credentials.ts";
export * from "./permissions.ts";
export * from "./process.ts";
export * from "./requests.ts";
export * from "./runtime_dir.ts";
export * from "./session.ts";
export { DEFAULT_JOURNAL_LIMITS, EventJournal, type JournalEntry, type JournalLimits } from "./journal.ts";
export * from "./journal_scope.ts";
export { DurableDelivery, markRedelivered } from "./durable.ts";
export type { Logger } from "@logtape/logtape";
