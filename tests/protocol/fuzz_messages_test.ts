// Property-based fuzzing of parseMessage(): whatever it is given, it returns a valid message or throws a
// ProtocolError with INVALID_MESSAGE, never anything else, and it agrees with an independent model of
// the protocol document (tests/protocol/_messages.ts). Seed and run counts: see _fuzz.ts.
import { deepEqual, equal, fail, ok } from "node:assert/strict";
import fc from "fast-check";
import { decode } from "../../src/protocol/decoder.ts";
import { encode } from "../../src/protocol/encoder.ts";
import { ErrorCode, ProtocolError } from "../../src/protocol/errors.ts";
import { type Message, parseMessage } from "../../src/protocol/messages.ts";
import { fuzz, normalize } from "./_fuzz.ts";
import { answerableId, isValidMessage, mutatedMessage, VALID, validMessage } from "./_messages.ts";

/**
 * Runs parseMessage(v) and checks the outcome against the model: accepted exactly when the model says
 * the value is a valid message (returned unchanged), otherwise a ProtocolError INVALID_MESSAGE whose
 * `cause` carries the id of a request that can be answered, and nothing else.
 */
function checkParse(v: unknown): void {
  let result: Message | undefined;
  let error: unknown;
  try {
    result = parseMessage(v);
  } catch (e) {
    error = e;
  }
  if (error === undefined) {
    if (!isValidMessage(v)) fail(`parseMessage() accepted what the protocol calls invalid: ${show(v)}`);
    equal(result, v);
    return;
  }
  if (!(error instanceof ProtocolError)) fail(`parseMessage() threw ${error} for ${show(v)}`);
  equal(error.code, ErrorCode.InvalidMessage);
  if (isValidMessage(v)) fail(`parseMessage() rejected a valid message (${error.message}): ${show(v)}`);
  ok(error.message.length < 300, `error message of ${error.message.length} chars`);
  const id = answerableId(v);
  deepEqual(error.cause, id === undefined ? undefined : { id });
}

function show(v: unknown): string {
  try {
    return Deno.inspect(v, { depth: 4, strAbbreviateSize: 80, iterableLimit: 10 });
  } catch {
    return String(v);
  }
}

/** fc.anything() with every option on: class instances, boxed values, null prototypes, sparse arrays... */
const anything = fc.anything({
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
});

Deno.test("fuzz: parseMessage() of anything returns a valid message or throws INVALID_MESSAGE", () => {
  fc.assert(fc.property(anything, checkParse), fuzz(10_000));
});

Deno.test("fuzz: parseMessage() of a map with a known kind and arbitrary fields agrees with the protocol", () => {
  const kinds = Object.keys(VALID);
  const arb = fc.tuple(fc.constantFrom(...kinds), fc.dictionary(fc.string({ maxLength: 12 }), anything)).map((
    [kind, rest],
  ) => ({ ...rest, kind }));
  fc.assert(fc.property(arb, checkParse), fuzz(5_000));
});

Deno.test("fuzz: parseMessage() of mutated valid messages agrees with the protocol, also after a round trip", () => {
  fc.assert(
    fc.property(mutatedMessage, (m) => {
      checkParse(m);
      // Through the wire, where the encoder can carry it (a bigint beyond 64 bits cannot be sent).
      let bytes: Uint8Array;
      try {
        bytes = encode(m);
      } catch (e) {
        ok(e instanceof TypeError || e instanceof RangeError, `encode() threw ${e}`);
        return;
      }
      checkParse(decode(bytes));
    }),
    fuzz(20_000),
  );
});

Deno.test("fuzz: every valid message of every kind is accepted, unchanged by a round trip", () => {
  fc.assert(
    fc.property(validMessage(), (m) => {
      equal(parseMessage(m), m);
      deepEqual(parseMessage(decode(encode(m))), normalize(m));
    }),
    fuzz(10_000),
  );
});

Deno.test("fuzz: every kind is generated valid and round-trips (each kind on its own)", () => {
  for (const [kind, arb] of Object.entries(VALID)) {
    fc.assert(
      fc.property(arb, (m) => {
        equal(m.kind, kind);
        equal(parseMessage(decode(encode(m))).kind, kind);
      }),
      fuzz(300),
    );
  }
});

// Regressions found by the properties above.

Deno.test("parseMessage() of a bigint kind throws INVALID_MESSAGE, not a TypeError from JSON.stringify", () => {
  checkParse({ kind: 2n ** 64n - 1n });
  checkParse({ kind: [1n] });
  checkParse(
    decode(Uint8Array.of(0x81, 0xa4, 0x6b, 0x69, 0x6e, 0x64, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
  );
});

Deno.test("parseMessage() keeps its error message short for a huge unknown kind", () => {
  for (const kind of ["\x01".repeat(1_000_000), "k".repeat(5_000_000)]) {
    checkParse({ kind });
  }
});

Deno.test("parseMessage() ignores an unknown 'id' field on a kind that has none, as the protocol says", () => {
  for (const id of [-1, "x", null, 1.5, 2n ** 64n - 1n]) {
    equal(parseMessage({ kind: "log", level: "info", message: "m", id }).kind, "log");
  }
});

Deno.test("parseMessage() refuses NaN in a number field (a NaN deadline_ms disabled the host's deadline)", () => {
  const e = (() => {
    try {
      parseMessage({ kind: "request", id: 4, method: "get_block", params: {}, deadline_ms: NaN });
    } catch (e) {
      return e;
    }
  })();
  ok(e instanceof ProtocolError && e.code === ErrorCode.InvalidMessage);
  deepEqual(e.cause, { id: 4 }); // answered with INVALID_REQUEST, the connection stays open
  checkParse({ kind: "stop", reason: "r", deadline_ms: NaN });
  // Infinity is a number: the host caps a request's deadline at its call timeout.
  equal(parseMessage({ kind: "request", id: 4, method: "m", params: {}, deadline_ms: Infinity }).kind, "request");
});

Deno.test("parseMessage() refuses binary where a map is required", () => {
  checkParse({ kind: "config", config: new Uint8Array(2) });
  checkParse({ kind: "log", level: "info", message: "m", fields: new Uint8Array(0) });
});

Deno.test("parseMessage() checks the maps inside a handshake_ack", () => {
  const ack = {
    kind: "handshake_ack",
    protocol: 1,
    node_version: "0.1.0",
    context: { module_id: "m", config: {}, data_dir: "/d" },
    limits: { call_timeout_ms: 1, stop_timeout_ms: 1, max_frame_bytes: 1 },
  };
  equal(parseMessage(ack), ack);
  checkParse({ ...ack, context: { ...ack.context, config: "x" } });
  checkParse({ ...ack, context: { module_id: "m", data_dir: "/d" } });
  checkParse({ ...ack, limits: { ...ack.limits, call_timeout_ms: "30000" } });
  checkParse({ ...ack, limits: {} });
});
