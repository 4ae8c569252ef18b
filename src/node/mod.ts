/**
 * Node backends: the interface the host serves the NodeAPI from, and its implementations.
 *
 * @example
 * ```ts
 * import { MemoryBackend } from "@blvm/node";
 * console.log(new MemoryBackend().network); // "regtest"
 * ```
 *
 * @module
 */
export * from "./backend.ts";
export * from "./header.ts";
export * from "./memory.ts";
export * from "./dev/mod.ts";
