/**
 * Names of the environment variables the host sets for a module process. A module process sees only
 * these (plus `DENO_DIR`, `NO_COLOR` and `PATH`), and is granted env access to exactly these names.
 *
 * @module
 */

/**
 * The environment variable names that carry a module's bootstrap context.
 *
 * @example
 * ```ts
 * import { MODULE_ENV } from "@blvm/node/protocol";
 * console.log(MODULE_ENV.socket); // "BLVM_SOCKET"
 * ```
 */
export const MODULE_ENV = {
  /** The module id the host assigned; sent back in the handshake. */
  moduleId: "BLVM_MODULE_ID",
  /** Absolute path of the module's own Unix socket. */
  socket: "BLVM_SOCKET",
  /** The one-time token to present in the handshake. */
  token: "BLVM_TOKEN",
} as const;
