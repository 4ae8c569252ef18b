/**
 * The shape of the event catalog: how each event type is described once, at run time, and how the
 * TypeScript payload types are derived from that description. The catalog itself lives in
 * `./events/`, one file per category.
 *
 * A field is described by a {@link FieldSpec}: a kind name such as `"hash"` or `"uint"`, the same with a
 * `?` suffix when it may be absent or nil, or a tuple of allowed strings.
 *
 * @module
 */

/** The kinds a payload field can have. Hashes are 64 lowercase hex digits in display (RPC) order. */
export type FieldKind =
  | "string"
  | "hash"
  | "hex"
  | "uint"
  | "int"
  | "number"
  | "bool"
  | "bytes"
  | "string[]"
  | "hash[]"
  | "map"
  | "any";

/**
 * How one payload field is described: a {@link FieldKind}, the kind with a `?` suffix for a field that
 * may be absent or nil, or a tuple of the strings it may hold.
 *
 * @example
 * ```ts
 * import type { FieldSpec } from "@blvm/node/protocol";
 * const specs: FieldSpec[] = ["hash", "uint?", ["restart", "quarantine"]];
 * console.log(specs.length); // 3
 * ```
 */
export type FieldSpec = FieldKind | `${FieldKind}?` | readonly string[];

/**
 * Who may publish an event type: the node only, or modules that declare it in their manifest's
 * `publishes` list.
 */
export type EventOwner = "node" | "module";

/**
 * What the host does when a module's event queue is full: `lossless` events are never dropped (a
 * module that falls too far behind is disconnected with `SLOW_CONSUMER` instead); `lossy` events drop
 * the oldest first, and the module is told how many it lost with `EventsDropped`.
 */
export type DeliveryClass = "lossless" | "lossy";

/**
 * One event type in the catalog.
 *
 * @example
 * ```ts
 * import type { EventSpec } from "@blvm/node/protocol";
 * const spec: EventSpec = {
 *   category: "blockchain",
 *   owner: "node",
 *   delivery: "lossless",
 *   doc: "A block was connected to the main chain.",
 *   fields: { hash: "hash", height: "uint" },
 * };
 * console.log(spec.category);
 * ```
 */
export interface EventSpec {
  /** The category the event belongs to; modules can subscribe to a whole category. */
  readonly category: string;
  /** Who may publish it. */
  readonly owner: EventOwner;
  /** What happens when a subscriber falls behind. */
  readonly delivery: DeliveryClass;
  /** Whether a late subscriber gets the latest one(s) replayed when it subscribes. */
  readonly sticky?: boolean;
  /**
   * Whether each module gets its own payload, and only when it concerns that module: the sequence number
   * counts every publish, so a module skips the numbers of the ones not sent to it (not a loss, no gap).
   */
  readonly perModule?: boolean;
  /**
   * Whether subscribers are asked to acknowledge it: the payload carries `deadline_ms`, and each module
   * subscribed answers with an `event_ack` message (the SDK sends it when the type's handlers finish).
   */
  readonly acknowledge?: boolean;
  /** What the event means, for documentation. */
  readonly doc: string;
  /** The payload's fields. */
  readonly fields: Readonly<Record<string, FieldSpec>>;
}

type Base<S> = S extends "string" | "hash" | "hex" ? string
  : S extends "uint" | "int" | "number" ? number
  : S extends "bool" ? boolean
  : S extends "bytes" ? Uint8Array
  : S extends "string[]" | "hash[]" ? string[]
  : S extends "map" ? Record<string, unknown>
  : S extends readonly (infer E)[] ? E
  : unknown;

type Strip<S> = S extends `${infer K}?` ? K : S;
type IsOptional<S> = S extends `${string}?` ? true : false;
type Simplify<T> = { [K in keyof T]: T[K] } & unknown;

/**
 * The payload type described by a field map: required fields as their kind's type, `?` fields
 * optional and nullable.
 *
 * @example
 * ```ts
 * import type { PayloadOf } from "@blvm/node/protocol";
 * const p: PayloadOf<{ hash: "hash"; height: "uint"; miner: "string?" }> = { hash: "00", height: 1 };
 * console.log(p.height);
 * ```
 */
export type PayloadOf<F> = Simplify<
  & { -readonly [K in keyof F as IsOptional<F[K]> extends true ? never : K]: Base<F[K]> }
  & { -readonly [K in keyof F as IsOptional<F[K]> extends true ? K : never]?: Base<Strip<F[K]>> | null }
>;

const KINDS = new Set<string>([
  "string",
  "hash",
  "hex",
  "uint",
  "int",
  "number",
  "bool",
  "bytes",
  "string[]",
  "hash[]",
  "map",
  "any",
]);
const HASH = /^[0-9a-f]{64}$/;
const HEX = /^(?:[0-9a-f]{2})*$/;

function checkKind(kind: string, v: unknown): string | undefined {
  switch (kind) {
    case "string":
      return typeof v === "string" ? undefined : "a string";
    case "hash":
      return typeof v === "string" && HASH.test(v) ? undefined : "a 64-digit lowercase hex hash";
    case "hex":
      return typeof v === "string" && HEX.test(v) ? undefined : "lowercase hex with an even number of digits";
    case "uint":
      return Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : "a non-negative integer";
    case "int":
      return Number.isSafeInteger(v) ? undefined : "an integer";
    case "number":
      return typeof v === "number" && Number.isFinite(v) ? undefined : "a finite number";
    case "bool":
      return typeof v === "boolean" ? undefined : "a boolean";
    case "bytes":
      return v instanceof Uint8Array ? undefined : "binary";
    case "string[]":
      return Array.isArray(v) && v.every((s) => typeof s === "string") ? undefined : "a list of strings";
    case "hash[]":
      return Array.isArray(v) && v.every((s) => typeof s === "string" && HASH.test(s)) ? undefined : "a list of hashes";
    case "map":
      return isMap(v) ? undefined : "a map";
    default:
      return undefined;
  }
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * Check a payload against a field map.
 *
 * @param fields The field map of an {@link EventSpec}.
 * @param payload The payload to check.
 * @returns `undefined` when it matches, otherwise a message naming the first wrong field.
 *
 * @example
 * ```ts
 * import { checkPayload } from "@blvm/node/protocol";
 * console.log(checkPayload({ height: "uint" }, { height: -1 })); // "field 'height' must be a non-negative integer, got -1"
 * ```
 */
export function checkPayload(fields: Readonly<Record<string, FieldSpec>>, payload: unknown): string | undefined {
  if (!isMap(payload)) return `the payload must be a map, got ${show(payload)}`;
  for (const [name, spec] of Object.entries(fields)) {
    const v = payload[name];
    if (typeof spec !== "string") {
      if (typeof v !== "string" || !spec.includes(v)) {
        return `field '${name}' must be one of ${spec.map((s) => JSON.stringify(s)).join(", ")}, got ${show(v)}`;
      }
      continue;
    }
    const optional = spec.endsWith("?");
    if (v === undefined || v === null) {
      if (optional) continue;
      return `field '${name}' is missing`;
    }
    const want = checkKind(optional ? spec.slice(0, -1) : spec, v);
    if (want) return `field '${name}' must be ${want}, got ${show(v)}`;
  }
  for (const name of Object.keys(payload)) {
    if (!Object.hasOwn(fields, name)) return `field '${name}' is not part of this event`;
  }
  return undefined;
}

/**
 * Check that a catalog entry is well formed (used by the catalog's own tests).
 *
 * @param type The event type name.
 * @param spec Its description.
 * @returns Problems found; empty when it is well formed.
 *
 * @example
 * ```ts
 * import { checkSpec, type EventSpec } from "@blvm/node/protocol";
 * const typo = { category: "c", owner: "node", delivery: "lossless", doc: "x", fields: { a: "strng" } };
 * console.log(checkSpec("X", typo as unknown as EventSpec)); // ["X.a: unknown kind 'strng'"]
 * ```
 */
export function checkSpec(type: string, spec: EventSpec): string[] {
  const out: string[] = [];
  if (!/^[A-Z][A-Za-z0-9]{0,63}$/.test(type)) out.push(`${type}: the type name must be PascalCase`);
  if (!spec.doc) out.push(`${type}: doc is empty`);
  for (const [name, f] of Object.entries(spec.fields)) {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) out.push(`${type}.${name}: field names are snake_case`);
    if (typeof f === "string" && !KINDS.has(f.replace(/\?$/, ""))) out.push(`${type}.${name}: unknown kind '${f}'`);
    if (typeof f !== "string" && (f.length === 0 || f.some((s) => typeof s !== "string"))) {
      out.push(`${type}.${name}: an enum needs at least one string`);
    }
  }
  return out;
}

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "nil";
  if (v instanceof Uint8Array) return "binary";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  if (typeof v === "bigint") return `${v}`;
  return JSON.stringify(v)?.slice(0, 60) ?? String(v);
}
