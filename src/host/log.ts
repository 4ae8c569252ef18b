/**
 * Structured logging for the host through LogTape. Every line a module causes (its log messages and
 * its stdout/stderr) carries the module id as a property.
 *
 * @module
 */
import {
  configure,
  getConsoleSink,
  getJsonLinesFormatter,
  getLogfmtFormatter,
  getLogger,
  type Logger as TapeLogger,
  type LogLevel as TapeLevel,
} from "@logtape/logtape";
import type { LogLevel } from "../protocol/messages.ts";

// `@internal` keeps `deno doc --lint` from walking LogTape's own types, some of which LogTape does not export.
/**
 * LogTape's `Logger` (from `@logtape/logtape`), as returned by {@link hostLogger} and {@link moduleLogger}.
 *
 * @internal
 */
export type Logger = TapeLogger;

/**
 * A LogTape log level, for the host's log output. Note `warning` where the wire level has `warn`.
 *
 * @example
 * ```ts
 * import type { HostLogLevel } from "@blvm/node";
 * const level: HostLogLevel = "warning";
 * console.log(level);
 * ```
 */
export type HostLogLevel = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

/** Options for {@link setupLogging}. */
export interface LoggingOptions {
  /** Lowest level written. Default `info`. */
  level?: HostLogLevel;
  /** `logfmt` (default) for people, `json` for log shippers. */
  format?: "logfmt" | "json";
}

/**
 * Configure LogTape to write host and module logs to the console.
 *
 * @param options Level and format.
 *
 * @example
 * ```ts ignore
 * import { setupLogging } from "@blvm/node";
 * await setupLogging({ level: "debug", format: "json" });
 * ```
 */
export async function setupLogging(options: LoggingOptions = {}): Promise<void> {
  const { level = "info", format = "logfmt" } = options;
  const formatter = format === "json" ? getJsonLinesFormatter() : getLogfmtFormatter();
  await configure({
    reset: true,
    sinks: { console: getConsoleSink({ formatter }) },
    loggers: [
      { category: ["blvm"], lowestLevel: level, sinks: ["console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
}

/**
 * The host's own logger.
 *
 * @returns A LogTape logger in category `blvm.host`.
 *
 * @example
 * ```ts
 * import { hostLogger } from "@blvm/node";
 * hostLogger().info("Host ready");
 * ```
 */
export function hostLogger(): Logger {
  return getLogger(["blvm", "host"]);
}

/**
 * A logger for one module: category `blvm.module`, with `module` set on every record.
 *
 * @param moduleId The module id.
 * @returns The logger.
 *
 * @example
 * ```ts
 * import { moduleLogger } from "@blvm/node";
 * moduleLogger("hello").warn("Slow handler", { ms: 250 });
 * ```
 */
export function moduleLogger(moduleId: string): Logger {
  return getLogger(["blvm", "module"]).with({ module: moduleId });
}

/** A log line from a module, whichever way it arrived. */
export interface ModuleLogRecord {
  /** The module id. */
  module: string;
  /** Wire level; `info` for stdout lines, `warn` for stderr lines. */
  level: LogLevel;
  /** The log line, taken literally (braces are not placeholders). */
  message: string;
  /** Structured properties from an SDK log message; absent for stdout/stderr lines. */
  fields?: Record<string, unknown>;
  /** `ipc` for SDK log messages, `stdout`/`stderr` for captured output. */
  source: "ipc" | "stdout" | "stderr";
}

/**
 * Write a module's log record through a logger, keeping its fields as structured properties. The
 * message is taken literally (braces in it are not placeholders).
 *
 * @param logger Normally {@link moduleLogger}.
 * @param record The record.
 *
 * @example
 * ```ts
 * import { moduleLogger, writeModuleLog } from "@blvm/node";
 * writeModuleLog(moduleLogger("hello"), { module: "hello", level: "info", message: "tip {x}", source: "stdout" });
 * ```
 */
export function writeModuleLog(logger: Logger, record: ModuleLogRecord): void {
  const level = LEVELS[record.level];
  const message = record.message.replaceAll("{", "{{").replaceAll("}", "}}");
  // The module's own fields first: it cannot pass itself off as another module or source.
  const props = { ...record.fields, source: record.source, module: record.module };
  if (level === "warning") logger.warn(message, props);
  else logger[level](message, props);
}

const LEVELS: Record<LogLevel, TapeLevel> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
};

/**
 * Map a wire log level to LogTape's.
 *
 * @param level The wire level.
 * @returns LogTape's level.
 *
 * @example
 * ```ts
 * import { tapeLevel } from "@blvm/node";
 * console.log(tapeLevel("warn")); // "warning"
 * ```
 */
export function tapeLevel(level: LogLevel): HostLogLevel {
  return LEVELS[level];
}
