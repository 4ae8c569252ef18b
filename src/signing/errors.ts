/**
 * Why signing or verifying a module failed, as a typed error with a stable code and structured details.
 *
 * @module
 */

/**
 * What went wrong when signing or verifying a module, as a stable code scripts can act on.
 *
 * @example
 * ```ts
 * import { SignatureErrorCode } from "@blvm/node";
 * console.log(SignatureErrorCode.ContentChanged); // "CONTENT_CHANGED"
 * ```
 */
export const SignatureErrorCode = {
  /** The folder has no `module.sig.json`, or the file holds no signatures. */
  Unsigned: "UNSIGNED",
  /** `module.sig.json` is not valid JSON or a field is wrong; the message names the field. */
  Malformed: "MALFORMED",
  /** A symbolic link, socket, FIFO or device is in the folder; the message names its path. */
  LinkInFolder: "LINK_IN_FOLDER",
  /** A path in the folder cannot be signed (it contains a newline, or is not valid UTF-8). */
  BadPath: "BAD_PATH",
  /** Files changed, were added or are missing since signing; `details.changes` lists them. */
  ContentChanged: "CONTENT_CHANGED",
  /** The signature file is for another module name or version than `module.toml` says. */
  NameMismatch: "NAME_MISMATCH",
  /** A signature from a trusted key does not verify (the signature file was altered). */
  BadSignature: "BAD_SIGNATURE",
  /** No signature is from a trusted key. */
  Untrusted: "UNTRUSTED",
  /** Fewer distinct trusted keys signed than the threshold asks for. */
  ThresholdNotMet: "THRESHOLD_NOT_MET",
  /** A key is not a valid `ed25519:<64 hex>` public key or Ed25519 private key. */
  BadKey: "BAD_KEY",
} as const;

/** One of {@link SignatureErrorCode}. */
export type SignatureErrorCode = typeof SignatureErrorCode[keyof typeof SignatureErrorCode];

/** How a file differs from the listing that was signed. */
export interface ContentChange {
  /** The path, relative to the module folder, `/`-separated. */
  path: string;
  /** `changed`: other bytes; `added`: not in the signed listing; `missing`: signed but gone. */
  change: "changed" | "added" | "missing";
}

/** Structured details of a {@link SignatureError}. Every field is optional. */
export interface SignatureErrorDetails {
  /** The file concerned (a link, a bad path, or the malformed signature file). */
  path?: string;
  /** The field of `module.sig.json` at fault, such as `signatures[0].key`. */
  field?: string;
  /** Files that differ from the signed listing. */
  changes?: ContentChange[];
  /** Every problem found, one sentence each. */
  problems?: string[];
}

/**
 * Signing or verification failed. The message names every problem; `code` is the main one.
 *
 * @example
 * ```ts
 * import { SignatureError } from "@blvm/node";
 * const e = new SignatureError("CONTENT_CHANGED", "main.ts changed after signing", {
 *   changes: [{ path: "main.ts", change: "changed" }],
 * });
 * console.log(e.code, e.details.changes?.[0].path); // CONTENT_CHANGED main.ts
 * ```
 */
export class SignatureError extends Error {
  /** The main reason. */
  readonly code: SignatureErrorCode;
  /** Paths, fields, changed files and every problem found. */
  readonly details: SignatureErrorDetails;

  /**
   * Create the error.
   *
   * @param code The main reason.
   * @param message Every problem, in words.
   * @param details Structured details.
   * @param options The underlying error, if any.
   */
  constructor(code: SignatureErrorCode, message: string, details: SignatureErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = "SignatureError";
    this.code = code;
    this.details = details;
  }
}
