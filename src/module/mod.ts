/**
 * The module SDK: everything a module process needs to talk to the host.
 *
 * @example A complete module
 * ```ts ignore
 * import { connect } from "@blvm/node/module";
 * const mod = await connect();
 * mod.on("NewBlock", (e) => mod.log.info("block", { height: e.payload.height }));
 * await mod.subscribe(["NewBlock"]);
 * ```
 *
 * @module
 */
export * from "./client.ts";
export { EventRouter } from "./event_router.ts";
export { ProcessedTracker } from "./processed.ts";
export type { ProcessedOptions } from "./processed.ts";
export * from "./connect.ts";
export * from "./node_api.ts";
export { ErrorCode, RemoteError } from "../protocol/errors.ts";
export type { NodeApiMethods } from "../protocol/api.ts";
export type { EventCategory, EventType, NodeEvent, NodeEvents } from "../protocol/events/mod.ts";
export type { EventMessage } from "../protocol/messages.ts";
