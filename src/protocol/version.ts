/**
 * Version constants for the wire protocol and the package.
 *
 * @module
 */

/**
 * The wire protocol version this code speaks. Both sides send it in the handshake; any difference is
 * rejected with `VERSION_MISMATCH`.
 *
 * Version 2 carries serialized blocks and transactions as bytes (MessagePack `bin`, field `raw`)
 * instead of hex (`hex`) in `get_block`, `get_transaction`, `get_block_template`, `submit_block` and
 * `submit_transaction`: half the bytes, no hex on either side, and a full 4 MB block fits in one frame.
 *
 * @example
 * ```ts
 * import { PROTOCOL_VERSION } from "@blvm/node/protocol";
 * console.log(PROTOCOL_VERSION); // 2
 * ```
 */
export const PROTOCOL_VERSION = 2;

/**
 * The version of this package, reported by the host as `node_version` and by the SDK as `sdk_version`.
 *
 * @example
 * ```ts
 * import { PACKAGE_VERSION } from "@blvm/node/protocol";
 * console.log(PACKAGE_VERSION);
 * ```
 */
export const PACKAGE_VERSION = "0.1.0";

/**
 * Default maximum frame body size in bytes (4 MiB). Both sides reject a larger length prefix before
 * allocating anything for it.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_FRAME_BYTES } from "@blvm/node/protocol";
 * console.log(DEFAULT_MAX_FRAME_BYTES); // 4194304
 * ```
 */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
