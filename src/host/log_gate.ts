/**
 * What the host keeps of a module's log messages: at most 500 a second (bursts of 2000; the rest are
 * dropped, counted and reported), each message cut to 16 KiB, and fields whose JSON is longer replaced,
 * so that a module cannot fill the host's memory, log or disk with its logging.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { TokenBucket } from "./limits.ts";

/** How fast a module may log through the protocol. */
export const LOG_LIMIT: Readonly<{ per_second: number; burst: number }> = Object.freeze({
  per_second: 500,
  burst: 2000,
});
/** Longest log message, and longest fields (as JSON), the host keeps: like a stdout line. */
export const MAX_LOG_CHARS = 16_384;

/**
 * Admits, cuts or drops one module's log messages.
 *
 * @example
 * ```ts ignore
 * const gate = new LogGate(logger);
 * const kept = gate.admit(message, fields);
 * if (kept) writeModuleLog(logger, { module, level, ...kept, source: "ipc" });
 * ```
 */
export class LogGate {
  readonly #bucket = new TokenBucket(LOG_LIMIT);
  readonly #logger: Logger;
  #dropped = 0;
  #reported = 0;

  /**
   * Create a gate; drops are reported to `logger`.
   *
   * @param logger The module's logger on the host.
   */
  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Messages dropped so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Take one message.
   *
   * @param message Its text.
   * @param fields Its fields.
   * @returns What to log, or `undefined` when it is dropped.
   */
  admit(
    message: string,
    fields?: Record<string, unknown>,
  ): { message: string; fields?: Record<string, unknown> } | undefined {
    if (this.#bucket.take() > 0) {
      if (this.#dropped++ === this.#reported) {
        this.#logger.warn("Dropping log messages over {rate}/s (the module logs too much)", {
          rate: LOG_LIMIT.per_second,
        });
      }
      return undefined;
    }
    if (this.#dropped > this.#reported) {
      this.#logger.warn("Dropped {count} log messages", { count: this.#dropped - this.#reported });
      this.#reported = this.#dropped;
    }
    const text = message.length > MAX_LOG_CHARS ? `${message.slice(0, MAX_LOG_CHARS)}...` : message;
    const size = fields ? JSON.stringify(fields, (_k, v) => typeof v === "bigint" ? String(v) : v).length : 0;
    return { message: text, fields: size > MAX_LOG_CHARS ? { fields_dropped: "too large" } : fields };
  }
}
