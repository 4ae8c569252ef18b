import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { parseMessage } from "../../src/protocol/messages.ts";
import { ErrorCode, ProtocolError } from "../../src/protocol/errors.ts";
import { decode } from "../../src/protocol/decoder.ts";
import { encode } from "../../src/protocol/encoder.ts";

/** One valid example of every message kind. */
const VALID: Record<string, Record<string, unknown>> = {
  handshake: { kind: "handshake", protocol: 1, module_id: "hello", token: "t0k3n", sdk_version: "0.1.0" },
  handshake_ack: {
    kind: "handshake_ack",
    protocol: 1,
    node_version: "0.1.0",
    context: { module_id: "hello", config: {}, data_dir: "/var/lib/blvm/hello" },
    limits: { call_timeout_ms: 5000, stop_timeout_ms: 3000, max_frame_bytes: 4194304 },
  },
  handshake_reject: { kind: "handshake_reject", protocol: 1, code: "VERSION_MISMATCH", message: "want 1" },
  request: { kind: "request", id: 1, method: "get_block_height", params: {} },
  response: { kind: "response", id: 1, ok: true, result: 5 },
  event: { kind: "event", type: "NewBlock", seq: 1, payload: { height: 1 } },
  log: { kind: "log", level: "info", message: "hi" },
  invocation: { kind: "invocation", id: 2, method: "echo", params: [1], caller: "other" },
  invocation_result: { kind: "invocation_result", id: 2, ok: true, result: null },
  cancel: { kind: "cancel", id: 3 },
  stop: { kind: "stop", reason: "shutdown", deadline_ms: 3000 },
  ack: { kind: "ack", of: "stop" },
  close: { kind: "close", code: "INTERNAL", message: "bye" },
};

/** Asserts parseMessage(value) throws ProtocolError INVALID_MESSAGE; returns it for more checks. */
function invalid(value: unknown): ProtocolError {
  let caught: unknown;
  throws(() => parseMessage(value), (e: unknown) => {
    caught = e;
    return true;
  });
  ok(caught instanceof ProtocolError, `expected ProtocolError, got ${caught}`);
  equal(caught.code, ErrorCode.InvalidMessage);
  equal(caught.code, "INVALID_MESSAGE");
  return caught;
}

for (const [kind, message] of Object.entries(VALID)) {
  Deno.test(`parseMessage() accepts a valid '${kind}' message and returns it unchanged`, () => {
    equal(parseMessage(message), message);
  });
}

Deno.test("parseMessage() accepts one valid example of every kind after a MessagePack round trip", () => {
  for (const message of Object.values(VALID)) deepEqual(parseMessage(decode(encode(message))), message);
});

Deno.test("parseMessage() covers all 13 message kinds", () => {
  equal(Object.keys(VALID).length, 13);
});

Deno.test("parseMessage() accepts a response with ok=false and a well-formed error", () => {
  const m = { kind: "response", id: 1, ok: false, error: { code: "NOT_FOUND", message: "no block", data: { h: 1 } } };
  equal(parseMessage(m), m);
});

Deno.test("parseMessage() accepts optional fields when present with the right type", () => {
  const r = { kind: "request", id: 1, method: "m", params: null, deadline_ms: 100 };
  equal(parseMessage(r), r);
  const l = { kind: "log", level: "warn", message: "x", fields: { a: 1 } };
  equal(parseMessage(l), l);
});

Deno.test("parseMessage() accepts every log level", () => {
  for (const level of ["trace", "debug", "info", "warn", "error"]) {
    ok(parseMessage({ kind: "log", level, message: "m" }));
  }
});

Deno.test("parseMessage() treats a nil optional field as absent", () => {
  ok(parseMessage({ kind: "invocation", id: 1, method: "m", params: {}, caller: null }));
});

Deno.test("parseMessage() rejects non-map values", () => {
  for (const v of [null, undefined, 1, "request", true, [], [{ kind: "cancel", id: 1 }]]) {
    const e = invalid(v);
    match(e.message, /must be a map/);
  }
});

Deno.test("parseMessage() rejects a binary (Uint8Array) frame body", () => {
  // A top-level bin passes the "is an object" check, so it is rejected for having no kind.
  invalid(Uint8Array.of(1, 2));
});

Deno.test("parseMessage() rejects an unknown kind", () => {
  match(invalid({ kind: "bogus" }).message, /unknown kind "bogus"/);
});

Deno.test("parseMessage() rejects a missing kind", () => {
  match(invalid({ id: 1 }).message, /unknown kind/);
});

Deno.test("parseMessage() rejects a kind naming an Object.prototype property", () => {
  invalid({ kind: "toString" });
  invalid({ kind: "__proto__" });
  invalid({ kind: "constructor" });
});

Deno.test("parseMessage() rejects a message missing a required field and names it", () => {
  const e = invalid({ kind: "handshake", protocol: 1, module_id: "m", token: "t" });
  match(e.message, /'handshake'/);
  match(e.message, /missing field 'sdk_version'/);
});

Deno.test("parseMessage() rejects a required field set to nil", () => {
  match(invalid({ kind: "cancel", id: null }).message, /missing field 'id'/);
});

Deno.test("parseMessage() rejects a field of the wrong type and names the field", () => {
  const e = invalid({ kind: "stop", reason: "x", deadline_ms: "100" });
  match(e.message, /field 'deadline_ms' must be a number/);
});

Deno.test("parseMessage() rejects an array where a map is required", () => {
  const e = invalid({ ...VALID.handshake_ack, context: [] });
  match(e.message, /field 'context' must be a map/);
});

Deno.test("parseMessage() rejects an optional field of the wrong type", () => {
  match(invalid({ kind: "request", id: 1, method: "m", params: {}, deadline_ms: "soon" }).message, /deadline_ms/);
  match(invalid({ kind: "log", level: "info", message: "m", fields: [1] }).message, /fields/);
});

Deno.test("parseMessage() rejects a bigint id as not a number", () => {
  match(invalid({ kind: "cancel", id: 2n ** 60n }).message, /field 'id' must be a number/);
});

Deno.test("parseMessage() rejects a bad log level", () => {
  const e = invalid({ kind: "log", level: "fatal", message: "m" });
  match(e.message, /level/);
  match(e.message, /fatal/);
});

Deno.test("parseMessage() rejects a response with ok=false but no error", () => {
  match(invalid({ kind: "response", id: 1, ok: false }).message, /ok=false needs 'error'/);
});

Deno.test("parseMessage() rejects a response with ok=false and an error lacking a string code", () => {
  invalid({ kind: "response", id: 1, ok: false, error: { message: "m" } });
  invalid({ kind: "response", id: 1, ok: false, error: { code: 1, message: "m" } });
  invalid({ kind: "response", id: 1, ok: false, error: "oops" });
});

Deno.test("parseMessage() rejects an invocation_result with ok=false but no error", () => {
  match(invalid({ kind: "invocation_result", id: 1, ok: false }).message, /'invocation_result'/);
});

Deno.test("parseMessage() rejects a response whose ok is not a boolean", () => {
  match(invalid({ kind: "response", id: 1, ok: 1 }).message, /field 'ok' must be a boolean/);
});

Deno.test("parseMessage() sets cause {id} for a request with numeric id and bad method", () => {
  const e = invalid({ kind: "request", id: 7, method: 5, params: {} });
  match(e.message, /method/);
  deepEqual(e.cause, { id: 7 });
});

Deno.test("parseMessage() sets cause {id} for a request with a valid id and a missing field", () => {
  deepEqual(invalid({ kind: "request", id: 0, params: {} }).cause, { id: 0 });
  deepEqual(invalid({ kind: "request", id: 3, method: "m", params: {}, deadline_ms: "x" }).cause, { id: 3 });
});

Deno.test("parseMessage() leaves cause undefined for kinds other than request", () => {
  equal(invalid({ kind: "nope", id: 9 }).cause, undefined);
  equal(invalid({ kind: "response", id: 1, ok: false }).cause, undefined);
  equal(invalid({ kind: "invocation", id: 4, method: 5, params: {} }).cause, undefined);
});

Deno.test("parseMessage() leaves cause undefined when the request id is not a usable id", () => {
  equal(invalid({ kind: "request", id: "7", method: "m", params: {} }).cause, undefined);
  equal(invalid({ kind: "request", method: "m", params: {} }).cause, undefined);
  equal(invalid({ kind: "request", id: -1, method: 5, params: {} }).cause, undefined);
  equal(invalid({ kind: "request", id: 1.5, method: 5, params: {} }).cause, undefined);
});

Deno.test("parseMessage() rejects an id that is not a non-negative safe integer", () => {
  for (const id of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    match(invalid({ kind: "cancel", id }).message, /field 'id' must be a non-negative integer/, String(id));
  }
  const e = invalid({ kind: "request", id: -3, method: "m", params: {} });
  match(e.message, /'id'/);
  equal(e.cause, undefined);
});

Deno.test("parseMessage() accepts id 0 and the largest safe integer", () => {
  ok(parseMessage({ kind: "cancel", id: 0 }));
  ok(parseMessage({ kind: "cancel", id: Number.MAX_SAFE_INTEGER }));
});
