/**
 * Delivery events: what the host tells a module about its own event stream.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

/**
 * The delivery category. Its events go only to the module concerned, never to every subscriber, and
 * every module gets them without subscribing.
 *
 * @example
 * ```ts
 * import { DELIVERY_EVENTS } from "@blvm/node/protocol";
 * console.log(Object.keys(DELIVERY_EVENTS)); // ["EventsDropped"]
 * ```
 */
export const DELIVERY_EVENTS = {
  EventsDropped: {
    category: "delivery",
    owner: "node",
    delivery: "lossless",
    doc: "The module's event queue was full, so the host dropped its oldest lossy events. " +
      "`dropped` counts them per event type since the previous EventsDropped; `total` is their sum; " +
      "`queue_limit` is the queue bound.",
    fields: { dropped: "map", total: "uint", queue_limit: "uint" },
  },
} as const satisfies Record<string, EventSpec>;
