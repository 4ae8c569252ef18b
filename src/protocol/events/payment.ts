/**
 * Payment events: payment requests, settlement and routing, Lightning channels, and module purchases.
 * All are module-owned (published by a payment module that lists them in its manifest's `publishes`)
 * and lossless.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const base = { category: "payment", owner: "module", delivery: "lossless" } as const;

/**
 * The payment category.
 *
 * @example
 * ```ts
 * import { PAYMENT_EVENTS } from "@blvm/node/protocol";
 * console.log(PAYMENT_EVENTS.PaymentRequestCreated.fields.invoice); // "string?"
 * ```
 */
export const PAYMENT_EVENTS = {
  PaymentRequestCreated: {
    ...base,
    doc: "A payment request for `amount_sats` was created, with a Lightning `invoice` when there is one.",
    fields: { payment_id: "string", amount_sats: "uint", invoice: "string?" },
  },
  PaymentSettled: {
    ...base,
    doc: "An on-chain payment was settled by transaction `tx_hash`, now with `confirmations` confirmations.",
    fields: { payment_id: "string", tx_hash: "hash", confirmations: "uint" },
  },
  PaymentFailed: {
    ...base,
    doc: "A payment failed.",
    fields: { payment_id: "string", reason: "string" },
  },
  PaymentVerified: {
    ...base,
    doc: "A Lightning payment of `amount_msats` against `invoice` was verified.",
    fields: { payment_id: "string", amount_msats: "uint", invoice: "string" },
  },
  PaymentRouteFound: {
    ...base,
    doc: "A Lightning route for a payment was found, `route_hops` hops long and costing `route_cost_msats` in fees.",
    fields: { payment_id: "string", route_hops: "uint", route_cost_msats: "uint" },
  },
  PaymentRouteFailed: {
    ...base,
    doc: "No Lightning route could be found for a payment.",
    fields: { payment_id: "string", reason: "string" },
  },
  ChannelOpened: {
    ...base,
    doc: "A Lightning channel of `capacity_sats` was opened with the peer whose public key is `peer_pubkey`.",
    fields: { channel_id: "string", peer_pubkey: "bytes", capacity_sats: "uint" },
  },
  ChannelClosed: {
    ...base,
    doc: "A Lightning channel was closed.",
    fields: { channel_id: "string", reason: "string" },
  },
  ModulePurchaseCompleted: {
    ...base,
    doc: "Payment `payment_id` of `amount_sats` for the paid module `module_id` completed.",
    fields: { module_id: "string", payment_id: "string", amount_sats: "uint" },
  },
} as const satisfies Record<string, EventSpec>;
