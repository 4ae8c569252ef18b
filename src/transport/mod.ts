/**
 * Message connections over stream sockets, shared by the host and the SDK.
 *
 * @example
 * ```ts
 * import { PendingCalls } from "@blvm/node";
 * console.log(new PendingCalls().size); // 0
 * ```
 *
 * @module
 */
export * from "./connection.ts";
export * from "./gate.ts";
export * from "./pending.ts";
