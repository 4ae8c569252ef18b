/**
 * Errors the host raises to its caller.
 *
 * @module
 */

/**
 * A module could not be started: it failed the handshake, timed out, exited early, or its spawn
 * inputs were invalid. `code` is an `ErrorCode` value or `EXITED`/`SPAWN_FAILED`.
 *
 * @example
 * ```ts
 * import { ModuleStartError } from "@blvm/node";
 * const e = new ModuleStartError("hello", "HANDSHAKE_TIMEOUT", "No handshake within 10000 ms");
 * console.log(e.message); // "Module 'hello' failed to start: No handshake within 10000 ms"
 * ```
 */
export class ModuleStartError extends Error {
  /** Why it failed. */
  readonly code: string;
  /** The module's name. */
  readonly module: string;
  /** What happened, without the "Module '…' failed to start" prefix. */
  readonly detail: string;

  /**
   * Create the error; its message is `Module '<module>' failed to start: <detail>`.
   *
   * @param module The module's name.
   * @param code The failure code.
   * @param detail What happened.
   * @param options Standard error options (`cause`).
   */
  constructor(module: string, code: string, detail: string, options?: ErrorOptions) {
    super(`Module '${module}' failed to start: ${detail}`, options);
    this.name = "ModuleStartError";
    this.code = code;
    this.module = module;
    this.detail = detail;
  }
}
