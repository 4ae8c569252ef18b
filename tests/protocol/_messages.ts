// Message generators for the fuzz tests, and an independent model of which decoded values are valid
// messages, written from docs/PROTOCOL.md and the `Message` types rather than from parseMessage().
import fc from "fast-check";
import type { Message } from "../../src/protocol/messages.ts";
import { smallValue as wireValue, wireKey, wireString } from "./_fuzz.ts";

type Rec = Record<string, unknown>;

const isMap = (v: unknown): v is Rec =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isId = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const LEVELS = ["trace", "debug", "info", "warn", "error"];

type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === "string";
/** A number field: NaN is refused (a NaN deadline_ms made the host's deadline never fire). */
const num: Check = (v) => typeof v === "number" && !Number.isNaN(v);
const bool: Check = (v) => typeof v === "boolean";
const id: Check = isId;
/** A field whose value is a map with these fields. */
const mapOf = (fields: Record<string, Check>): Check => (v) => isMap(v) && conforms(v, fields);
const level: Check = (v) => LEVELS.includes(v as string);
/** `?` suffix: optional; nil counts as absent. */
type Spec = Record<string, Check>;

/** Every message kind's fields as the protocol document states them ("any" fields are never wrong). */
const SPEC: Record<Message["kind"], Spec> = {
  handshake: { protocol: num, module_id: str, token: str, sdk_version: str },
  handshake_ack: {
    protocol: num,
    node_version: str,
    context: mapOf({ module_id: str, config: isMap, data_dir: str }),
    limits: mapOf({ call_timeout_ms: num, stop_timeout_ms: num, max_frame_bytes: num }),
  },
  handshake_reject: { protocol: num, code: str, message: str },
  request: { id, method: str, "deadline_ms?": num },
  response: { id, ok: bool },
  event: { type: str, seq: num, "source?": str, "replay?": bool, "pos?": num, "redelivered?": bool },
  log: { level, message: str, "fields?": isMap },
  invocation: { id, method: str, "caller?": str, "deadline_ms?": num },
  invocation_result: { id, ok: bool },
  cancel: { id },
  stop: { reason: str, deadline_ms: num },
  ack: { of: str },
  event_ack: { type: str, seq: id, ok: bool, "message?": str },
  processed: { pos: id },
  config: { config: isMap },
  close: { code: str, message: str },
};

function conforms(m: Rec, spec: Spec): boolean {
  for (const [name, check] of Object.entries(spec)) {
    const optional = name.endsWith("?");
    const v = m[optional ? name.slice(0, -1) : name];
    if (v === undefined || v === null) {
      if (!optional) return false;
    } else if (!check(v)) return false;
  }
  return true;
}

/** The model's verdict: is `v` a valid message? Unknown fields are ignored, whatever their value. */
export function isValidMessage(v: unknown): boolean {
  if (!isMap(v)) return false;
  const kind = v.kind;
  if (typeof kind !== "string" || !Object.hasOwn(SPEC, kind)) return false;
  if (!conforms(v, SPEC[kind as Message["kind"]])) return false;
  if ((kind === "response" || kind === "invocation_result") && v.ok === false) {
    return isMap(v.error) && str(v.error.code) && str(v.error.message);
  }
  return true;
}

/** What parseMessage() must attach as `cause` when it rejects `v`: `{ id }` for a request with a usable id. */
export function answerableId(v: unknown): number | undefined {
  return isMap(v) && v.kind === "request" && isId(v.id) ? v.id as number : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Valid messages.

const anyId = fc.oneof(fc.nat(1000), fc.maxSafeNat(), fc.constantFrom(0, 2 ** 32, 2 ** 53 - 1));
// Durations are uints too, but past 2^31-1 ms the SDK's setTimeout overflows and warns (reported); ids
// cover the 64-bit forms.
const uint = fc.oneof(fc.nat(100_000), fc.constantFrom(0, 4_194_304, 2 ** 31 - 1));
const map = fc.dictionary(wireKey, wireValue, { maxKeys: 5 });
/** An optional field: absent, nil (which counts as absent), or a value. */
const opt = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: fc.constant(null), weight: 1 }, {
    arbitrary: arb,
    weight: 3,
  });
const wireError = fc.record({ code: wireString, message: wireString, data: opt(wireValue) });

/** A valid message of each kind; `extra` adds unknown fields, which receivers must ignore. */
export const VALID: { [K in Message["kind"]]: fc.Arbitrary<Rec> } = {
  handshake: fc.record({
    kind: fc.constant("handshake"),
    protocol: uint,
    module_id: wireString,
    token: wireString,
    sdk_version: wireString,
  }),
  handshake_ack: fc.record({
    kind: fc.constant("handshake_ack"),
    protocol: uint,
    node_version: wireString,
    context: fc.record({ module_id: wireString, config: map, data_dir: wireString }),
    limits: fc.record({ call_timeout_ms: uint, stop_timeout_ms: uint, max_frame_bytes: uint }),
  }),
  handshake_reject: fc.record({
    kind: fc.constant("handshake_reject"),
    protocol: uint,
    code: wireString,
    message: wireString,
  }),
  request: fc.record({
    kind: fc.constant("request"),
    id: anyId,
    method: wireString,
    params: wireValue,
    deadline_ms: opt(uint),
  }),
  response: fc.oneof(
    fc.record({ kind: fc.constant("response"), id: anyId, ok: fc.constant(true), result: wireValue }),
    fc.record({ kind: fc.constant("response"), id: anyId, ok: fc.constant(false), error: wireError }),
  ),
  event: fc.record({
    kind: fc.constant("event"),
    type: wireString,
    seq: uint,
    payload: wireValue,
    source: opt(wireString),
    replay: opt(fc.boolean()),
    pos: opt(uint),
    redelivered: opt(fc.boolean()),
  }),
  log: fc.record({
    kind: fc.constant("log"),
    level: fc.constantFrom(...LEVELS),
    message: wireString,
    fields: opt(map),
  }),
  invocation: fc.record({
    kind: fc.constant("invocation"),
    id: anyId,
    method: wireString,
    params: wireValue,
    caller: opt(wireString),
    deadline_ms: opt(fc.oneof(uint, fc.double({ min: 1, max: 1e6, noNaN: true }))),
  }),
  invocation_result: fc.oneof(
    fc.record({ kind: fc.constant("invocation_result"), id: anyId, ok: fc.constant(true), result: wireValue }),
    fc.record({ kind: fc.constant("invocation_result"), id: anyId, ok: fc.constant(false), error: wireError }),
  ),
  cancel: fc.record({ kind: fc.constant("cancel"), id: anyId }),
  stop: fc.record({ kind: fc.constant("stop"), reason: wireString, deadline_ms: uint }),
  ack: fc.record({ kind: fc.constant("ack"), of: fc.oneof(fc.constant("stop"), wireString) }),
  event_ack: fc.record({
    kind: fc.constant("event_ack"),
    type: wireString,
    seq: anyId,
    ok: fc.boolean(),
    message: opt(wireString),
    data: opt(wireValue),
  }),
  processed: fc.record({ kind: fc.constant("processed"), pos: anyId }),
  config: fc.record({ kind: fc.constant("config"), config: map }),
  close: fc.record({ kind: fc.constant("close"), code: wireString, message: wireString }),
};

/** Kinds a module sends to the host, and kinds the host sends to a module. */
export const MODULE_TO_HOST = [
  "handshake",
  "request",
  "log",
  "invocation_result",
  "cancel",
  "ack",
  "event_ack",
  "processed",
] as const;
export const HOST_TO_MODULE = [
  "handshake_ack",
  "handshake_reject",
  "response",
  "event",
  "invocation",
  "cancel",
  "stop",
  "config",
] as const;

/** A valid message of one of `kinds`, with unknown extra fields now and then. */
export function validMessage(kinds: readonly Message["kind"][] = Object.keys(VALID) as Message["kind"][]) {
  return fc.tuple(
    fc.oneof(...kinds.map((k) => VALID[k])),
    fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).map((k) => `x_${k}`), wireValue, { maxKeys: 3 })),
  ).map(([m, extra]) => extra ? { ...m, ...extra } : m);
}

// ---------------------------------------------------------------------------------------------------
// Mutations of valid messages.

/** Every field name of every kind, plus names that exist on Object.prototype. */
const FIELD_NAMES = [
  ...new Set(Object.values(SPEC).flatMap((s) => Object.keys(s).map((k) => k.replace("?", "")))),
  "kind",
  "id",
  "params",
  "payload",
  "result",
  "error",
  "data",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "prototype",
];

/** Wrong (and right) values for fields: wrong types, bad numbers, huge ids, maps where strings go. */
const NASTY = fc.oneof(
  fc.constantFrom<unknown>(
    undefined,
    null,
    true,
    false,
    0,
    -1,
    1.5,
    NaN,
    Infinity,
    -Infinity,
    -0,
    2 ** 53,
    2 ** 53 - 1,
    2 ** 64,
    -(2 ** 63),
    2n ** 64n - 1n,
    2n ** 53n + 1n,
    -5n,
    "",
    "x",
    "info",
    "request",
    "__proto__",
    {},
    [],
    [1, 2],
    new Uint8Array([1, 2]),
    { code: "INTERNAL", message: "m" },
    { code: 1, message: "m" },
    { module_id: "m", config: {}, data_dir: "/d" },
    { call_timeout_ms: 1, stop_timeout_ms: 1, max_frame_bytes: 1 },
  ),
  wireValue,
);

type Mutation =
  | { op: "set"; field: string; value: unknown }
  | { op: "delete"; field: string }
  | { op: "kind"; value: unknown }
  | { op: "nested"; field: "context" | "limits" | "error"; inner: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), field: fc.constantFrom(...FIELD_NAMES), value: NASTY }),
  fc.record({ op: fc.constant("delete" as const), field: fc.constantFrom(...FIELD_NAMES) }),
  fc.record({
    op: fc.constant("kind" as const),
    value: fc.oneof(fc.constantFrom(...Object.keys(SPEC), "bogus", "Request", "constructor", "__proto__"), NASTY),
  }),
  fc.record({
    op: fc.constant("nested" as const),
    field: fc.constantFrom("context" as const, "limits" as const, "error" as const),
    inner: fc.constantFrom(
      "module_id",
      "config",
      "data_dir",
      "call_timeout_ms",
      "stop_timeout_ms",
      "max_frame_bytes",
      "code",
      "message",
      "data",
      "__proto__",
    ),
    value: NASTY,
  }),
);

/** Sets an own property, even `__proto__` (as a decoded map can have it, unlike `o.__proto__ = v`). */
function setOwn(o: Rec, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function apply(m: Rec, mu: Mutation): Rec {
  const out: Rec = {};
  for (const k of Object.keys(m)) setOwn(out, k, m[k]);
  switch (mu.op) {
    case "set":
      setOwn(out, mu.field, mu.value);
      break;
    case "delete":
      delete out[mu.field];
      break;
    case "kind":
      out.kind = mu.value;
      break;
    case "nested": {
      const inner: Rec = {};
      const old = out[mu.field];
      if (isMap(old)) { for (const k of Object.keys(old)) setOwn(inner, k, old[k]); }
      setOwn(inner, mu.inner, mu.value);
      out[mu.field] = inner;
      break;
    }
  }
  return out;
}

/** A valid message of any kind with one to four mutations applied; often still valid, often not. */
export const mutatedMessage: fc.Arbitrary<Rec> = fc.tuple(
  validMessage(),
  fc.array(mutation, {
    minLength: 1,
    maxLength: 4,
  }),
).map(([m, ops]) => ops.reduce(apply, m));
