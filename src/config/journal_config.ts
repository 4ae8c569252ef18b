/**
 * The `[journal]` section of `blvm.toml`: the delivery journal that lets a module resume, after a crash,
 * a restart or a host restart, from the last event it reported processed.
 *
 * @example
 * ```toml
 * [journal]
 * enabled = true
 * max_events = 100000
 * max_mib = 64
 * max_age_hours = 24
 * # dir = "./data/modules/.journal"   (default: `.journal` in [modules].data_dir)
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { z } from "zod";
import { ConfigFileError, describeValue, issuesFromZod, isTable } from "../manager/config_error.ts";

/** The validated `[journal]` section. See `docs/MODULES.md` ("Durable delivery"). */
export interface JournalConfig {
  /** Whether lossless events are journaled for modules to resume from. */
  enabled: boolean;
  /** Most events kept; past it the oldest go and modules that missed them are told. */
  max_events: number;
  /** Most MiB of events kept. */
  max_mib: number;
  /** Oldest event kept, in hours. */
  max_age_hours: number;
  /** The journal's folder, absolute; `undefined`: `.journal` in the modules' data dir. */
  dir?: string;
}

const schema = z.strictObject({
  enabled: z.boolean().default(true),
  max_events: z.int().min(100).max(100_000_000).default(100_000),
  max_mib: z.number().min(1).max(1_048_576).default(64),
  max_age_hours: z.number().gt(0).max(87_600).default(24),
  dir: z.string().min(1).optional(),
});

/**
 * Check the `[journal]` table of a parsed `blvm.toml`.
 *
 * @param section The table (`undefined` when absent: every default applies).
 * @param file The file, for error messages.
 * @param baseDir What a relative `dir` is resolved against.
 * @returns The section with defaults applied.
 * @throws {ConfigFileError} naming every bad field.
 *
 * @example
 * ```ts
 * import { parseJournalConfig } from "./journal_config.ts";
 * const c = parseJournalConfig({ max_events: 5000 }, "blvm.toml", "/srv");
 * console.log(c.enabled, c.max_events, c.max_mib); // true 5000 64
 * ```
 */
export function parseJournalConfig(section: unknown, file: string, baseDir: string): JournalConfig {
  if (section !== undefined && !isTable(section)) {
    throw new ConfigFileError(file, [{
      file,
      field: "journal",
      message: `expected a [journal] table, got ${describeValue(section)}`,
    }]);
  }
  const r = schema.safeParse(section ?? {}, { reportInput: true });
  if (!r.success) throw new ConfigFileError(file, issuesFromZod(file, r.error, "journal"));
  const c: JournalConfig = r.data;
  if (c.dir !== undefined) c.dir = resolve(baseDir, c.dir);
  return c;
}

/**
 * The host option for a `[journal]` section.
 *
 * @param c The section.
 * @returns `false` when disabled, else the limits and folder.
 *
 * @example
 * ```ts
 * import { journalOption, parseJournalConfig } from "./journal_config.ts";
 * console.log(journalOption(parseJournalConfig({ enabled: false }, "blvm.toml", "/srv"))); // false
 * ```
 */
export function journalOption(
  c: JournalConfig,
): false | { maxEvents: number; maxBytes: number; maxAgeMs: number; path?: string } {
  if (!c.enabled) return false;
  return {
    maxEvents: c.max_events,
    maxBytes: Math.round(c.max_mib * 1024 * 1024),
    maxAgeMs: Math.round(c.max_age_hours * 3600_000),
    ...(c.dir === undefined ? {} : { path: c.dir }),
  };
}
