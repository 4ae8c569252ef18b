/**
 * What the delivery journal keeps and for whom: which event types are durable, what a module's cursor
 * covers, and how a loss is described.
 *
 * @module
 */
import { eventSpec } from "../protocol/events/mod.ts";

/** The event types a module's cursor covers: named types, and whether every module-defined type. */
export interface Coverage {
  /** Catalog and module-defined types it receives. */
  types: readonly string[];
  /** Whether it receives every module-defined type (`*`). */
  moduleEvents: boolean;
}

/** Events of one type a module lost: sequence numbers `from_seq`..`to_seq`, `count` of them. */
export interface LostRange {
  /** The event type. */
  type: string;
  /** First lost sequence number. */
  from_seq: number;
  /** Last lost sequence number. */
  to_seq: number;
  /** How many were lost (fewer than the range when the module was not sent all of them). */
  count: number;
}

/**
 * Whether events of `type` are journaled: lossless ones, except requests (they have deadlines), per-module
 * ones and the delivery category. Module-defined events are lossless.
 *
 * @param type The event type.
 * @returns `true` if journaled.
 *
 * @example
 * ```ts
 * import { isDurable } from "@blvm/node";
 * console.log(isDurable("NewBlock"), isDurable("MempoolTransactionAdded"), isDurable("HealthCheck")); // true false false
 * ```
 */
export function isDurable(type: string): boolean {
  const spec = eventSpec(type);
  if (!spec) return true;
  return spec.delivery === "lossless" && !spec.acknowledge && !spec.perModule && spec.category !== "delivery";
}

/**
 * Whether a coverage includes `type`.
 *
 * @param c The coverage.
 * @param type The event type.
 * @returns `true` if it does.
 *
 * @example
 * ```ts
 * import { coverageIncludes } from "@blvm/node";
 * console.log(coverageIncludes({ types: [], moduleEvents: true }, "alerts.Hello")); // true
 * ```
 */
export function coverageIncludes(c: Coverage, type: string): boolean {
  return c.types.includes(type) || (c.moduleEvents && eventSpec(type) === undefined);
}
