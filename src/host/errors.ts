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

/**
 * Thrown by `EventBus.publish` for an event whose encoded frame (type, sequence number and source
 * included) would exceed the frame limit. Nothing was delivered and no sequence number was used.
 *
 * @example
 * ```ts
 * import { EventBus, EventTooLargeError } from "@blvm/node";
 * const bus = new EventBus({}, { maxFrameBytes: 64 });
 * try {
 *   bus.publish("alerts.Big", { text: "x".repeat(100) });
 * } catch (e) {
 *   console.log(e instanceof EventTooLargeError, (e as EventTooLargeError).frameBytes > 64); // true true
 * }
 * ```
 */
export class EventTooLargeError extends RangeError {
  /** Size of the frame body the event would have. */
  readonly frameBytes: number;
  /** The limit. */
  readonly maxFrameBytes: number;

  /**
   * Create the error; its message names the type and both sizes.
   *
   * @param type The event type.
   * @param frameBytes Size of the frame body it would have.
   * @param maxFrameBytes The limit.
   */
  constructor(type: string, frameBytes: number, maxFrameBytes: number) {
    super(
      `Event '${type}' would be a frame of ${frameBytes} bytes once the host adds its type, sequence number and source; the limit is ${maxFrameBytes} bytes`,
    );
    this.name = "EventTooLargeError";
    this.frameBytes = frameBytes;
    this.maxFrameBytes = maxFrameBytes;
  }
}
