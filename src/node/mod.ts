/**
 * Node backends: the interface the host serves the NodeAPI from, and its implementations.
 *
 * @example
 * ```ts
 * import { DevNode } from "@blvm/node";
 * console.log(DevNode.open().network); // "regtest"
 * ```
 *
 * @module
 */
export * from "./backend.ts";
export * from "./header.ts";
export * from "./dev/mod.ts";
