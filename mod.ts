/**
 * `@blvm/node`: a Deno-native module host for a Bitcoin node.
 *
 * The host starts each module as its own Deno process under narrow permissions and talks to it over
 * a private Unix socket with length-prefixed MessagePack frames. Modules use the SDK at
 * `@blvm/node/module`; the wire protocol lives at `@blvm/node/protocol`.
 *
 * @example Run one module against the embedded regtest dev node
 * ```ts ignore
 * import { Host, DevNode, setupLogging } from "@blvm/node";
 * await setupLogging();
 * const node = DevNode.open();
 * const host = await Host.create({ backend: node, dataDir: "./data/modules" });
 * await host.startModule({ name: "hello", entry: "./modules/hello/main.ts" });
 * node.dev.generate(1); // publishes NewBlock to subscribers
 * await host.shutdown();
 * ```
 *
 * @module
 */
export * from "./src/admin/mod.ts";
export * from "./src/config/mod.ts";
export * from "./src/host/mod.ts";
export * from "./src/janitor/mod.ts";
export * from "./src/manager/mod.ts";
export * from "./src/node/mod.ts";
export * from "./src/signing/mod.ts";
export * from "./src/transport/mod.ts";
export { ErrorCode, ProtocolError, RemoteError } from "./src/protocol/errors.ts";
