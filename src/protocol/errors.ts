/**
 * Error codes and error classes shared by the host and the module SDK.
 *
 * Every failure that crosses the wire carries one of {@link ErrorCode}'s codes, so a caller can act on
 * it without parsing the message text.
 *
 * @module
 */

/**
 * The machine-readable codes used in error responses, handshake rejections and connection closes.
 *
 * @example Branch on a code
 * ```ts
 * import { ErrorCode, RemoteError } from "@blvm/node/protocol";
 * const err = new RemoteError(ErrorCode.NotFound, "No block with hash 00ff");
 * if (err.code === ErrorCode.NotFound) console.log("missing");
 * ```
 */
export const ErrorCode = {
  /** The request was not a well-formed message (missing or mistyped field). */
  InvalidRequest: "INVALID_REQUEST",
  /** The method name is not known to the receiver. */
  MethodNotFound: "METHOD_NOT_FOUND",
  /** The method exists but its params are wrong; `message` names the field. */
  InvalidParams: "INVALID_PARAMS",
  /** The caller lacks the capability the method needs; `data.capability` names it. */
  PermissionDenied: "PERMISSION_DENIED",
  /** The thing asked for does not exist. */
  NotFound: "NOT_FOUND",
  /** The caller exceeded its request rate. */
  RateLimited: "RATE_LIMITED",
  /** The call did not finish before its deadline. */
  DeadlineExceeded: "DEADLINE_EXCEEDED",
  /** The service behind the method is not available right now. */
  Unavailable: "UNAVAILABLE",
  /** The request is ambiguous or clashes with existing state; `data` names the candidates. */
  Conflict: "CONFLICT",
  /**
   * The peer fell so far behind that it was cut off: events that may not be dropped piled up, or it
   * stopped reading and its unwritten replies passed the connection's byte budget.
   */
  SlowConsumer: "SLOW_CONSUMER",
  /** The receiver failed while handling the call; a bug, not bad input. */
  Internal: "INTERNAL",
  /** Handshake: the two sides speak different protocol versions. */
  VersionMismatch: "VERSION_MISMATCH",
  /** Handshake: the one-time token or module id did not match what the host issued. */
  Unauthorized: "UNAUTHORIZED",
  /** Handshake: it did not complete within its deadline. */
  HandshakeTimeout: "HANDSHAKE_TIMEOUT",
  /**
   * A frame's length prefix exceeded the configured maximum; also the answer to a `publish_event` whose
   * event would not fit in one frame.
   */
  FrameTooLarge: "FRAME_TOO_LARGE",
  /** A frame body was not exactly one valid MessagePack value. */
  MalformedFrame: "MALFORMED_FRAME",
  /** A decoded frame was not a valid message: unknown `kind` or a missing or mistyped field. */
  InvalidMessage: "INVALID_MESSAGE",
  /** The connection closed before the reply arrived. */
  ConnectionClosed: "CONNECTION_CLOSED",
} as const;

/**
 * One of the string values of {@link ErrorCode}. Receivers must accept codes they do not know.
 *
 * @example
 * ```ts
 * import type { ErrorCodeValue } from "@blvm/node/protocol";
 * const code: ErrorCodeValue = "NOT_FOUND";
 * ```
 */
export type ErrorCodeValue = typeof ErrorCode[keyof typeof ErrorCode];

/**
 * A local protocol violation: a frame that is too large, undecodable or not a valid message. The
 * connection that produced it is closed with this error as the reason.
 *
 * @example
 * ```ts
 * import { ErrorCode, ProtocolError } from "@blvm/node/protocol";
 * const e = new ProtocolError(ErrorCode.FrameTooLarge, "Frame length 9999999 exceeds the maximum 4194304");
 * console.log(e.code);
 * ```
 */
export class ProtocolError extends Error {
  /** The {@link ErrorCode} that names the violation. */
  readonly code: string;

  /**
   * Create the error.
   *
   * @param code An {@link ErrorCode} value.
   * @param message A human-readable description, naming what was wrong.
   * @param options Standard error options (`cause`).
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}

/**
 * An error reported by the other side of the connection: a failed request, invocation or handshake.
 * Carries the remote `code`, `message` and optional `data`.
 *
 * @example
 * ```ts
 * import { RemoteError } from "@blvm/node/protocol";
 * try {
 *   throw new RemoteError("PERMISSION_DENIED", "Missing capability", { capability: "read_mempool" });
 * } catch (e) {
 *   if (e instanceof RemoteError) console.log(e.code, e.data);
 * }
 * ```
 */
export class RemoteError extends Error {
  /** The {@link ErrorCode} the remote side sent (or another string it chose). */
  readonly code: string;
  /** Optional structured detail sent by the remote side. */
  readonly data?: unknown;

  /**
   * Create the error; `data` is set only when given.
   *
   * @param code The error code.
   * @param message The error message.
   * @param data Optional structured detail.
   */
  constructor(code: string, message: string, data?: unknown) {
    super(message);
    this.name = "RemoteError";
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

/**
 * Quote an untrusted value in an error message, cut to `max` characters, so a huge method name or event
 * type cannot make the error (and the frame carrying it) huge.
 *
 * @param text The value.
 * @param max Characters kept. Default 40.
 * @returns The value as a JSON string, cut with `...` when longer.
 *
 * @example
 * ```ts
 * import { quoted } from "@blvm/node/protocol";
 * console.log(quoted("x".repeat(100), 3)); // "\"xxx...\""
 * ```
 */
export function quoted(text: string, max = 40): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}...` : text);
}
