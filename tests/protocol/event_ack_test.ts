// The event_ack (module → host) and config (host → module) messages: parseMessage accepts them, and
// rejects malformed ones with INVALID_MESSAGE naming the kind and the field.
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { decode } from "../../src/protocol/decoder.ts";
import { encode } from "../../src/protocol/encoder.ts";
import { ErrorCode, ProtocolError } from "../../src/protocol/errors.ts";
import { parseMessage } from "../../src/protocol/messages.ts";

/** The ProtocolError parseMessage(value) throws, which must be INVALID_MESSAGE. */
function invalid(value: unknown): ProtocolError {
  let caught: unknown;
  throws(() => parseMessage(value), (e: unknown) => {
    caught = e;
    return true;
  });
  ok(caught instanceof ProtocolError, `expected ProtocolError, got ${caught}`);
  equal(caught.code, ErrorCode.InvalidMessage);
  // Only a request's id is kept for an answer; these kinds close the connection instead.
  equal(caught.cause, undefined);
  return caught;
}

const ACK = { kind: "event_ack", type: "StorageFlush", seq: 7, ok: true };

Deno.test("parseMessage() accepts a minimal event_ack and returns it unchanged", () => {
  equal(parseMessage(ACK), ACK);
  deepEqual(parseMessage(decode(encode(ACK))), ACK);
});

Deno.test("parseMessage() accepts an event_ack with a message and any data, or with them nil", () => {
  const failed = { kind: "event_ack", type: "DataCleanup", seq: 1, ok: false, message: "disk full" };
  equal(parseMessage(failed), failed);
  const health = {
    kind: "event_ack",
    type: "HealthCheck",
    seq: 3,
    ok: true,
    data: { status: "degraded", message: "backlog" },
  };
  deepEqual(parseMessage(decode(encode(health))), health);
  for (const data of [null, 1, "x", [1, 2], true]) {
    const m = { ...ACK, data };
    equal(parseMessage(m), m);
  }
  // nil for the optional message is the same as absent (other languages write nil for a missing field).
  const nil = { ...ACK, message: null };
  equal(parseMessage(nil), nil);
  // seq 0 and module event types are fine.
  equal(parseMessage({ ...ACK, seq: 0, type: "alerts.Ping" }).kind, "event_ack");
});

Deno.test("parseMessage() rejects an event_ack missing a required field, naming it", () => {
  for (const field of ["type", "seq", "ok"]) {
    const m: Record<string, unknown> = { ...ACK };
    delete m[field];
    const e = invalid(m);
    match(e.message, new RegExp(`'event_ack' message is missing field '${field}'`));
    const nil = invalid({ ...ACK, [field]: null });
    match(nil.message, new RegExp(`missing field '${field}'`));
  }
});

Deno.test("parseMessage() rejects an event_ack field of the wrong type, naming the field and what it got", () => {
  const cases: [string, unknown, RegExp][] = [
    ["type", 5, /'event_ack' message field 'type' must be a string, got number/],
    ["type", { t: 1 }, /field 'type' must be a string, got a map/],
    ["seq", "7", /field 'seq' must be a number, got string "7"/],
    ["seq", [7], /field 'seq' must be a number, got an array/],
    ["ok", "true", /field 'ok' must be a boolean, got string/],
    ["ok", 1, /field 'ok' must be a boolean, got number/],
    ["message", 42, /field 'message' must be a string, got number/],
    ["message", ["a"], /field 'message' must be a string, got an array/],
  ];
  for (const [field, value, why] of cases) {
    match(invalid({ ...ACK, [field]: value }).message, why, `${field} = ${JSON.stringify(value)}`);
  }
});

Deno.test("parseMessage() accepts a config message with a map, empty or nested", () => {
  for (const config of [{}, { greeting: "hi", n: 1, nested: { list: [1, 2], on: true } }]) {
    const m = { kind: "config", config };
    equal(parseMessage(m), m);
    deepEqual(parseMessage(decode(encode(m))), m);
  }
});

Deno.test("parseMessage() rejects a config message without a map, naming 'config'", () => {
  match(invalid({ kind: "config" }).message, /'config' message is missing field 'config'/);
  match(invalid({ kind: "config", config: null }).message, /missing field 'config'/);
  match(
    invalid({ kind: "config", config: [1, 2] }).message,
    /'config' message field 'config' must be a map, got an array/,
  );
  match(invalid({ kind: "config", config: "a=1" }).message, /field 'config' must be a map, got string/);
  match(invalid({ kind: "config", config: 3 }).message, /field 'config' must be a map, got number/);
});

Deno.test("parseMessage() still rejects an unknown kind close to the new ones", () => {
  match(invalid({ kind: "event-ack", type: "x", seq: 1, ok: true }).message, /unknown kind "event-ack"/);
  match(invalid({ kind: "configs", config: {} }).message, /unknown kind "configs"/);
});
