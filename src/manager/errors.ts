/**
 * Errors the module manager returns to the operator.
 *
 * @module
 */

/** What went wrong, as a stable code the admin CLI and scripts can act on. */
export const ManagerErrorCode = {
  /** No module of that name is known (or no folder of that name exists). */
  NotFound: "NOT_FOUND",
  /** The request makes no sense in the module's current state (for example, loading a running module). */
  Conflict: "CONFLICT",
  /** The manifest or configuration is invalid; the message names the file and field. */
  InvalidManifest: "INVALID_MANIFEST",
  /** A dependency is missing, of the wrong version, failed, or part of a cycle. */
  DependencyFailed: "DEPENDENCY_FAILED",
  /** The reload would widen the module's permissions; repeat it with approval. */
  ApprovalRequired: "APPROVAL_REQUIRED",
  /** The module could not be started, or is not running. */
  Unavailable: "UNAVAILABLE",
  /** A module marked `required` could not start, or failed for good. */
  RequiredModuleFailed: "REQUIRED_MODULE_FAILED",
  /**
   * The module's signature is not verified and its signing policy is `require` (the message names the
   * changed files, or the missing or untrusted signatures; see docs/SIGNING.md).
   */
  SignatureInvalid: "SIGNATURE_INVALID",
} as const;

/** One of {@link ManagerErrorCode}. */
export type ManagerErrorCode = typeof ManagerErrorCode[keyof typeof ManagerErrorCode];

/**
 * A manager operation that failed, with a code and a message naming the module and the cause.
 *
 * @example
 * ```ts
 * import { ManagerError } from "@blvm/node";
 * const e = new ManagerError("NOT_FOUND", "hello", "no module named 'hello'");
 * console.log(e.code, e.module); // NOT_FOUND hello
 * ```
 */
export class ManagerError extends Error {
  /** Why it failed. */
  readonly code: ManagerErrorCode;
  /** The module concerned. */
  readonly module: string;

  /**
   * Describe a failure.
   *
   * @param code Why it failed.
   * @param module The module concerned.
   * @param message What happened.
   * @param options The underlying error, if any.
   */
  constructor(code: ManagerErrorCode, module: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ManagerError";
    this.code = code;
    this.module = module;
  }
}
