/**
 * The wire protocol shared by the host and modules: length-prefixed MessagePack frames, the message
 * kinds, error codes and NodeAPI types. No I/O lives here.
 *
 * @example Encode a request frame and parse it back
 * ```ts
 * import { decode, encodeFrame, parseMessage } from "@blvm/node/protocol";
 * const frame = encodeFrame({ kind: "request", id: 1, method: "get_block_height", params: {} });
 * const msg = parseMessage(decode(frame.subarray(4)));
 * console.log(msg.kind); // "request"
 * ```
 *
 * @module
 */
export * from "./api.ts";
export * from "./catalog.ts";
export * from "./events/mod.ts";
export * from "./decoder.ts";
export * from "./encoder.ts";
export * from "./env.ts";
export * from "./errors.ts";
export * from "./frame.ts";
export * from "./messages.ts";
export * from "./version.ts";
