/**
 * What the dev node reports when its SQLite store cannot be used (another schema version) or cannot
 * be written: a full disk, an I/O error, a locked or read-only file. The SQLite error that made a transaction fail is the one reported, even
 * when SQLite already rolled the transaction back itself (as it does for `SQLITE_FULL`) or the
 * rollback fails too.
 *
 * @module
 */
import { BackendUnavailableError } from "../backend.ts";

/** SQLite's primary result codes a store write can meet: number, name, and SQLite's text for it. */
const SQLITE_CODES: [number, string, string][] = [
  [1, "SQLITE_ERROR", "SQL logic error"],
  [3, "SQLITE_PERM", "access permission denied"],
  [4, "SQLITE_ABORT", "query aborted"],
  [5, "SQLITE_BUSY", "database is locked"],
  [6, "SQLITE_LOCKED", "database table is locked"],
  [7, "SQLITE_NOMEM", "out of memory"],
  [8, "SQLITE_READONLY", "attempt to write a readonly database"],
  [10, "SQLITE_IOERR", "disk I/O error"],
  [11, "SQLITE_CORRUPT", "database disk image is malformed"],
  [13, "SQLITE_FULL", "database or disk is full"],
  [14, "SQLITE_CANTOPEN", "unable to open database file"],
  [26, "SQLITE_NOTADB", "file is not a database"],
];

/**
 * Whether `e` is an error thrown by `node:sqlite`: it carries SQLite's numeric `errcode`, or (as
 * `exec("COMMIT")` throws it) only the code `ERR_SQLITE_ERROR`.
 *
 * @param e Anything thrown.
 * @returns True for a SQLite error.
 *
 * @example
 * ```ts
 * import { isSqliteError } from "@blvm/node";
 * console.log(isSqliteError(new Error("x"))); // false
 * ```
 */
export function isSqliteError(e: unknown): e is Error & { errcode?: number; errstr?: string } {
  if (!(e instanceof Error)) return false;
  const { errcode, code } = e as { errcode?: unknown; code?: unknown };
  return typeof errcode === "number" || code === "ERR_SQLITE_ERROR";
}

/**
 * Thrown when the store file cannot be used: another schema version, or another network.
 *
 * @example
 * ```ts
 * import { StoreError } from "@blvm/node";
 * console.log(new StoreError("/tmp/node.sqlite", "schema 9").message);
 * ```
 */
export class StoreError extends Error {
  /**
   * Create the error.
   *
   * @param path The store file.
   * @param reason What is wrong with it.
   */
  constructor(path: string, reason: string) {
    super(`Cannot use the dev node store ${path}: ${reason}`);
    this.name = "StoreError";
  }
}

/**
 * Thrown when the dev node's store cannot be written. The message names SQLite's reason (for a full
 * disk: `database or disk is full (SQLITE_FULL)`); `cause` is the SQLite error itself. Nothing of the
 * failed change was kept: the transaction was rolled back, and the node's chain and mempool still
 * match the file. The NodeAPI answers it with `UNAVAILABLE`, as does the admin socket.
 *
 * @example
 * ```ts
 * import { StoreWriteError } from "@blvm/node";
 * const full = Object.assign(new Error("database or disk is full"), { errcode: 13 });
 * const e = new StoreWriteError("/data/node/node.sqlite", full);
 * console.log(e.sqliteCode, e.message);
 * // SQLITE_FULL Cannot write the dev node store /data/node/node.sqlite: database or disk is full (SQLITE_FULL)
 * ```
 */
export class StoreWriteError extends BackendUnavailableError {
  /** SQLite's primary result code name, e.g. `SQLITE_FULL`, or `SQLITE_<n>` for one not named here. */
  readonly sqliteCode: string;
  /** The error of a `ROLLBACK` that failed after the write failed, if it did. */
  readonly rollbackError: unknown;

  /**
   * Create the error.
   *
   * @param path The store file (`:memory:` for an in-memory store).
   * @param cause The error that made the write fail: SQLite's, or (when the rollback failed too) any.
   * @param rollbackError The error of a `ROLLBACK` that failed afterwards, if any.
   */
  constructor(path: string, cause: unknown, rollbackError?: unknown) {
    const sqlite = isSqliteError(cause) ? cause : isSqliteError(rollbackError) ? rollbackError : undefined;
    const code = sqlite ? sqliteCodeOf(sqlite) : "SQLITE_ERROR";
    const why = `${messageOf(cause)}${isSqliteError(cause) ? ` (${code})` : ""}`;
    super("Writing the dev node store", why);
    this.name = "StoreWriteError";
    this.message = `Cannot write the dev node store ${path}: ${why}` +
      (rollbackError === undefined ? "" : `; rolling back also failed: ${messageOf(rollbackError)}`);
    this.cause = cause;
    this.sqliteCode = code;
    this.rollbackError = rollbackError;
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The name of a SQLite error's result code (an extended code is reduced to its primary code). An
 * error without a numeric `errcode` is named by SQLite's text for the code, which its message holds.
 *
 * @param e A `node:sqlite` error.
 * @returns E.g. `SQLITE_FULL` for code 13 or the message `database or disk is full`; `SQLITE_ERROR` if unknown.
 *
 * @example
 * ```ts
 * import { sqliteCodeOf } from "@blvm/node";
 * console.log(sqliteCodeOf(Object.assign(new Error("database or disk is full"), { errcode: 13 }))); // SQLITE_FULL
 * console.log(sqliteCodeOf(new Error("disk I/O error"))); // SQLITE_IOERR
 * ```
 */
export function sqliteCodeOf(e: Error & { errcode?: number }): string {
  if (typeof e.errcode === "number") {
    return SQLITE_CODES.find(([n]) => n === (e.errcode! & 0xff))?.[1] ?? `SQLITE_${e.errcode}`;
  }
  return SQLITE_CODES.find(([, , text]) => e.message.includes(text))?.[1] ?? "SQLITE_ERROR";
}
