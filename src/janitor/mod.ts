/**
 * The janitorial layer above the module manager: lifecycle, storage flushes, maintenance, data
 * cleanup, health checks, and the disk and resource monitors. See `docs/JANITORIAL.md`.
 *
 * @module
 */
export * from "./janitor.ts";
export * from "./context.ts";
export * from "./flush.ts";
export * from "./health.ts";
export * from "./data_cleanup.ts";
export * from "./maintenance.ts";
export * from "./backup.ts";
export * from "./file_cleanup.ts";
export * from "./disk_monitor.ts";
export * from "./resource_monitor.ts";
export * from "./throttle.ts";
export * from "./shutdown.ts";
export * from "./proc.ts";
