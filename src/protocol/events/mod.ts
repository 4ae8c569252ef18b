/**
 * The event catalog: every event type the node or a module can publish, grouped into categories, with
 * each payload's fields typed. One run-time table ({@link EVENT_CATALOG}) is the single source: the
 * TypeScript payload types ({@link NodeEvents}) are derived from it, and the host validates
 * module-published payloads against it.
 *
 * @module
 */
import type { EventSpec, PayloadOf } from "../catalog.ts";
import { BLOCKCHAIN_EVENTS } from "./blockchain.ts";
import { CONFIG_EVENTS } from "./config.ts";
import { CONSENSUS_EVENTS } from "./consensus.ts";
import { DELIVERY_EVENTS } from "./delivery.ts";
import { GOVERNANCE_EVENTS } from "./governance.ts";
import { JANITORIAL_EVENTS } from "./janitorial.ts";
import { MEMPOOL_EVENTS } from "./mempool.ts";
import { MINING_EVENTS } from "./mining.ts";
import { MODULE_EVENTS } from "./modules.ts";
import { NETWORK_EVENTS } from "./network.ts";
import { P2P_EVENTS } from "./p2p.ts";
import { PAYMENT_EVENTS } from "./payment.ts";
import { STORAGE_EVENTS } from "./storage.ts";
import { SYNC_EVENTS } from "./sync.ts";

export {
  BLOCKCHAIN_EVENTS,
  CONFIG_EVENTS,
  CONSENSUS_EVENTS,
  DELIVERY_EVENTS,
  GOVERNANCE_EVENTS,
  JANITORIAL_EVENTS,
  MEMPOOL_EVENTS,
  MINING_EVENTS,
  MODULE_EVENTS,
  NETWORK_EVENTS,
  P2P_EVENTS,
  PAYMENT_EVENTS,
  STORAGE_EVENTS,
  SYNC_EVENTS,
};

/**
 * Every event type in the catalog, by name.
 *
 * @example
 * ```ts
 * import { EVENT_CATALOG } from "@blvm/node/protocol";
 * console.log(EVENT_CATALOG.NewBlock.category, EVENT_CATALOG.MempoolTransactionAdded.delivery); // blockchain lossy
 * ```
 */
export const EVENT_CATALOG = {
  ...BLOCKCHAIN_EVENTS,
  ...MEMPOOL_EVENTS,
  ...NETWORK_EVENTS,
  ...P2P_EVENTS,
  ...MINING_EVENTS,
  ...CONSENSUS_EVENTS,
  ...SYNC_EVENTS,
  ...STORAGE_EVENTS,
  ...MODULE_EVENTS,
  ...CONFIG_EVENTS,
  ...JANITORIAL_EVENTS,
  ...GOVERNANCE_EVENTS,
  ...PAYMENT_EVENTS,
  ...DELIVERY_EVENTS,
} as const satisfies Record<string, EventSpec>;

/**
 * A catalog event type name.
 *
 * @example
 * ```ts
 * import type { EventType } from "@blvm/node/protocol";
 * const t: EventType = "ChainReorg";
 * console.log(t);
 * ```
 */
export type EventType = keyof typeof EVENT_CATALOG;

/**
 * A category name.
 *
 * @example
 * ```ts
 * import type { EventCategory } from "@blvm/node/protocol";
 * const c: EventCategory = "mempool";
 * console.log(c);
 * ```
 */
export type EventCategory = typeof EVENT_CATALOG[EventType]["category"];

/**
 * Event type → payload type, derived from {@link EVENT_CATALOG}.
 *
 * @example
 * ```ts
 * import type { NodeEvents } from "@blvm/node/protocol";
 * const p: NodeEvents["NewBlock"] = { hash: "00".repeat(32), height: 1, prev_hash: "00".repeat(32), time: 0 };
 * console.log(p.height);
 * ```
 */
export type NodeEvents = { [K in EventType]: PayloadOf<typeof EVENT_CATALOG[K]["fields"]> };

/**
 * Any catalog event as a module receives it: a union discriminated by `type`.
 *
 * @example Narrowing on the type
 * ```ts
 * import type { NodeEvent } from "@blvm/node/protocol";
 * function height(e: NodeEvent): number | undefined {
 *   return e.type === "NewBlock" ? e.payload.height : undefined;
 * }
 * console.log(height({ type: "NewBlock", seq: 1, payload: { hash: "", height: 7, prev_hash: "", time: 0 } }));
 * ```
 */
export type NodeEvent = { [K in EventType]: { type: K; seq: number; payload: NodeEvents[K] } }[EventType];

/**
 * Every category with its event types, in catalog order.
 *
 * @example
 * ```ts
 * import { EVENT_CATEGORIES } from "@blvm/node/protocol";
 * console.log(EVENT_CATEGORIES.blockchain.includes("NewBlock")); // true
 * ```
 */
export const EVENT_CATEGORIES: Readonly<Record<EventCategory, readonly EventType[]>> = (() => {
  const out: Record<string, EventType[]> = {};
  for (const [type, spec] of Object.entries(EVENT_CATALOG)) (out[spec.category] ??= []).push(type as EventType);
  return out as Record<EventCategory, EventType[]>;
})();

/**
 * The capability a module needs, besides `subscribe_events`, to receive a category's events. The same
 * capability gates the matching NodeAPI reads.
 *
 * @example
 * ```ts
 * import { CATEGORY_CAPABILITY } from "@blvm/node/protocol";
 * console.log(CATEGORY_CAPABILITY.mempool); // "read_mempool"
 * ```
 */
export const CATEGORY_CAPABILITY: Readonly<Partial<Record<EventCategory, string>>> = {
  mempool: "read_mempool",
  network: "read_network",
  p2p: "read_network",
  payment: "read_payment",
};

/**
 * A module-defined event type: `<module name>.<PascalCase name>`, for example `mesh.RouteChanged`. Only
 * the module of that name may publish it, and only if its manifest lists it in `publishes`.
 *
 * @example
 * ```ts
 * import { CUSTOM_EVENT_RE } from "@blvm/node/protocol";
 * console.log(CUSTOM_EVENT_RE.test("mesh.RouteChanged"), CUSTOM_EVENT_RE.test("NewBlock")); // true false
 * ```
 */
export const CUSTOM_EVENT_RE: RegExp = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.[A-Z][A-Za-z0-9]{0,63}$/;

/**
 * The catalog entry of an event type.
 *
 * @param type An event type name.
 * @returns Its entry, or `undefined` for a custom or unknown type.
 *
 * @example
 * ```ts
 * import { eventSpec } from "@blvm/node/protocol";
 * console.log(eventSpec("NewBlock")?.owner, eventSpec("mesh.RouteChanged")); // node undefined
 * ```
 */
export function eventSpec(type: string): EventSpec | undefined {
  return Object.hasOwn(EVENT_CATALOG, type) ? EVENT_CATALOG[type as EventType] : undefined;
}
