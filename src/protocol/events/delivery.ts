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
 * console.log(Object.keys(DELIVERY_EVENTS)); // ["EventsDropped", "EventsLost"]
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
  EventsLost: {
    category: "delivery",
    owner: "node",
    delivery: "lossless",
    doc: "Sent when the module resumes (connects again after a crash, restart or host restart): journaled " +
      "events it had not reported processed and that the journal no longer holds (its size or age limit " +
      "passed). `lost` lists, per event type, the sequence numbers `from_seq`..`to_seq` and how many events " +
      "of that type were lost (`count`); `total` is their sum. Everything after them is resent.",
    fields: { lost: "any", total: "uint" },
  },
} as const satisfies Record<string, EventSpec>;
