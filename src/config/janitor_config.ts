/**
 * The `[janitor]` section of `blvm.toml`: deadlines and schedules of the janitorial events, the
 * maintenance operations and the disk and resource monitors. Every interval may be `0` (never; the
 * operation still runs on command). Fractions of a second are allowed, so tests can run fast.
 *
 * @example
 * ```toml
 * [janitor]
 * shutdown_timeout_seconds = 30
 * [janitor.flush]
 * interval_seconds = 300
 * [janitor.disk]
 * threshold_percent = 10
 * [janitor.maintenance]
 * backup_interval_hours = 24
 * backup_keep = 7
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { z } from "zod";
import { ConfigFileError, describeValue, issuesFromZod, isTable } from "../manager/config_error.ts";

/** The validated `[janitor]` section, paths absolute. See `docs/JANITORIAL.md` for each key. */
export interface JanitorConfig {
  /** `NodeShutdown.timeout_seconds`: how long modules have to acknowledge. */
  shutdown_timeout_seconds: number;
  /** Periodic `StorageFlush`. */
  flush: { interval_seconds: number; deadline_ms: number };
  /** Periodic `HealthCheck`. */
  health: { interval_seconds: number; deadline_ms: number };
  /** Periodic `DataCleanup`. */
  cleanup: { interval_hours: number; target_age_days: number; deadline_ms: number };
  /** Backup, file cleanup and prune. */
  maintenance: {
    deadline_ms: number;
    backup_interval_hours: number;
    backup_dir: string;
    backup_keep: number;
    cleanup_interval_hours: number;
    log_dir: string;
    log_retention_days: number;
    prune_interval_hours: number;
    prune_keep_blocks: number;
  };
  /** The free-space monitor. */
  disk: {
    interval_seconds: number;
    threshold_percent: number;
    hysteresis_percent: number;
    repeat_seconds: number;
    paths: string[];
  };
  /** The module resource monitor. */
  resources: { interval_seconds: number; warn_percent: number; repeat_seconds: number };
}

const secs: z.ZodNumber = z.number().min(0).max(31_536_000);
const hours: z.ZodNumber = z.number().min(0).max(87_600);
const deadline: z.ZodNumber = z.int().min(1).max(3_600_000);
const percent: z.ZodNumber = z.number().gt(0).max(100);

const schema: z.ZodType<JanitorConfig> = z.strictObject({
  shutdown_timeout_seconds: z.number().min(0).max(3600).default(30),
  flush: z.strictObject({
    interval_seconds: secs.default(300),
    deadline_ms: deadline.default(5000),
  }).default(() => ({ interval_seconds: 300, deadline_ms: 5000 })),
  health: z.strictObject({
    interval_seconds: secs.default(60),
    deadline_ms: deadline.default(2000),
  }).default(() => ({ interval_seconds: 60, deadline_ms: 2000 })),
  cleanup: z.strictObject({
    interval_hours: hours.default(24),
    target_age_days: z.int().min(0).max(36_500).default(30),
    deadline_ms: deadline.default(10_000),
  }).default(() => ({ interval_hours: 24, target_age_days: 30, deadline_ms: 10_000 })),
  maintenance: z.strictObject({
    deadline_ms: deadline.default(5000),
    backup_interval_hours: hours.default(0),
    backup_dir: z.string().min(1).default("./data/backups"),
    backup_keep: z.int().min(1).max(1000).default(3),
    cleanup_interval_hours: hours.default(24),
    log_dir: z.string().min(1).default("./data/logs"),
    log_retention_days: z.number().min(0).max(36_500).default(14),
    prune_interval_hours: hours.default(0),
    prune_keep_blocks: z.int().min(288).max(100_000_000).default(288),
  }).default(() => ({
    deadline_ms: 5000,
    backup_interval_hours: 0,
    backup_dir: "./data/backups",
    backup_keep: 3,
    cleanup_interval_hours: 24,
    log_dir: "./data/logs",
    log_retention_days: 14,
    prune_interval_hours: 0,
    prune_keep_blocks: 288,
  })),
  disk: z.strictObject({
    interval_seconds: secs.default(30),
    threshold_percent: percent.default(10),
    hysteresis_percent: z.number().min(0).max(50).default(2),
    repeat_seconds: secs.default(600),
    paths: z.array(z.string().min(1)).default(() => []),
  }).default(() => ({
    interval_seconds: 30,
    threshold_percent: 10,
    hysteresis_percent: 2,
    repeat_seconds: 600,
    paths: [],
  })),
  resources: z.strictObject({
    interval_seconds: secs.default(5),
    warn_percent: percent.default(80),
    repeat_seconds: secs.default(300),
  }).default(() => ({ interval_seconds: 5, warn_percent: 80, repeat_seconds: 300 })),
});

/**
 * Check the `[janitor]` table of a parsed `blvm.toml`.
 *
 * @param section The table (`undefined` when absent: every default applies).
 * @param file The file, for error messages.
 * @param baseDir What relative paths are resolved against.
 * @returns The section with defaults applied.
 * @throws {ConfigFileError} naming every bad field.
 *
 * @example
 * ```ts
 * import { parseJanitorConfig } from "./janitor_config.ts";
 * const c = parseJanitorConfig({ flush: { interval_seconds: 60 } }, "blvm.toml", "/srv");
 * console.log(c.flush.interval_seconds, c.flush.deadline_ms, c.maintenance.backup_dir); // 60 5000 /srv/data/backups
 * ```
 */
export function parseJanitorConfig(section: unknown, file: string, baseDir: string): JanitorConfig {
  if (section !== undefined && !isTable(section)) {
    throw new ConfigFileError(file, [{
      file,
      field: "janitor",
      message: `expected a [janitor] table, got ${describeValue(section)}`,
    }]);
  }
  const r = schema.safeParse(section ?? {}, { reportInput: true });
  if (!r.success) throw new ConfigFileError(file, issuesFromZod(file, r.error, "janitor"));
  const c = r.data;
  c.maintenance.backup_dir = resolve(baseDir, c.maintenance.backup_dir);
  c.maintenance.log_dir = resolve(baseDir, c.maintenance.log_dir);
  c.disk.paths = c.disk.paths.map((p) => resolve(baseDir, p));
  return c;
}
