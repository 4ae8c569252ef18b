import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { decode } from "../../src/protocol/decoder.ts";
import { encode } from "../../src/protocol/encoder.ts";
import { ErrorCode, ProtocolError } from "../../src/protocol/errors.ts";

function bytes(...b: number[]): Uint8Array {
  return Uint8Array.from(b);
}

/** Asserts `fn` throws a ProtocolError with code MALFORMED_FRAME. */
function throwsMalformed(fn: () => unknown): void {
  throws(fn, (e: unknown) => {
    ok(e instanceof ProtocolError, `expected ProtocolError, got ${e}`);
    equal(e.code, ErrorCode.MalformedFrame);
    equal(e.code, "MALFORMED_FRAME");
    return true;
  });
}

Deno.test("decode() returns a bigint for uint64 beyond 2^53", () => {
  const v = decode(bytes(0xcf, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01));
  equal(typeof v, "bigint");
  equal(v, 2n ** 53n + 1n);
});

Deno.test("decode() returns a bigint for uint64 2^64-1", () => {
  equal(decode(bytes(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), 2n ** 64n - 1n);
});

Deno.test("decode() returns a number for uint64 within 2^53", () => {
  const v = decode(bytes(0xcf, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
  equal(typeof v, "number");
  equal(v, Number.MAX_SAFE_INTEGER);
  equal(decode(bytes(0xcf, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00)), 2 ** 40);
});

Deno.test("decode() returns a bigint for int64 below -2^53 and a number within", () => {
  const big = decode(bytes(0xd3, 0xff, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00));
  equal(big, -(2n ** 54n));
  equal(decode(bytes(0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff)), -(2 ** 31) - 1);
});

Deno.test("decode() reads back what encode() writes for 2^40 as a number", () => {
  equal(decode(encode(2 ** 40)), 2 ** 40);
});

Deno.test("decode() decodes maps as plain objects", () => {
  const v = decode(bytes(0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0x92, 0xc3, 0xc0));
  deepEqual(v, { a: 1, b: [true, null] });
  equal(Object.getPrototypeOf(v), Object.prototype);
});

Deno.test("decode() decodes str8 and float64", () => {
  equal(decode(bytes(0xd9, 0x02, 0x68, 0x69)), "hi");
  equal(decode(bytes(0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0)), 1.5);
});

Deno.test("decode() throws MALFORMED_FRAME for trailing bytes", () => {
  throwsMalformed(() => decode(bytes(0x01, 0x02)));
  throwsMalformed(() => decode(bytes(0x80, 0xc0)));
});

Deno.test("decode() throws MALFORMED_FRAME for truncated input", () => {
  throwsMalformed(() => decode(bytes(0xcd, 0x01))); // uint16 missing a byte
  throwsMalformed(() => decode(bytes(0xa5, 0x61))); // fixstr of 5, 1 byte present
  throwsMalformed(() => decode(bytes(0x92, 0x01))); // array of 2, 1 element present
  throwsMalformed(() => decode(bytes(0x81, 0xa1, 0x61))); // map missing its value
  throwsMalformed(() => decode(bytes(0xc4, 0x04, 0x01))); // bin8 of 4, 1 byte present
});

Deno.test("decode() throws MALFORMED_FRAME for empty input", () => {
  throwsMalformed(() => decode(new Uint8Array()));
});

Deno.test("decode() ProtocolError names the body size and keeps the cause", () => {
  throws(() => decode(bytes(0x01, 0x02)), (e: unknown) => {
    ok(e instanceof ProtocolError);
    ok(e.message.includes("2 bytes"), e.message);
    ok(e.cause instanceof Error);
    return true;
  });
});

// The never-used byte 0xc1 is MALFORMED_FRAME wherever it appears as a type byte (a general-purpose
// decoder such as msgpackr returns a marker object for it instead of failing).
Deno.test("decode() throws MALFORMED_FRAME for the never-used byte 0xc1", () => {
  throwsMalformed(() => decode(bytes(0xc1)));
});

Deno.test("decode() throws MALFORMED_FRAME for 0xc1 nested in an array or map value", () => {
  throwsMalformed(() => decode(bytes(0x91, 0xc1)));
  throwsMalformed(() => decode(bytes(0x81, 0xa1, 0x61, 0x92, 0x01, 0xc1)));
});

Deno.test("decode() accepts 0xc1 as a data byte inside a uint8, a bin or a float", () => {
  equal(decode(bytes(0xcc, 0xc1)), 0xc1);
  deepEqual(decode(bytes(0xc4, 0x02, 0xc1, 0xc1)), bytes(0xc1, 0xc1));
  deepEqual(decode(bytes(0x81, 0xa1, 0x62, 0xcd, 0xc1, 0xc1)), { b: 0xc1c1 });
});

Deno.test("decode() throws MALFORMED_FRAME for 0xc1 used as a map key", () => {
  throwsMalformed(() => decode(bytes(0x81, 0xc1, 0x01)));
});

Deno.test("decode() throws MALFORMED_FRAME for an unknown extension type", () => {
  throwsMalformed(() => decode(bytes(0xd4, 0x01, 0x00)));
});

Deno.test("decode() returns a Uint8Array for bin that does not alias the input", () => {
  const input = bytes(0xc4, 0x03, 0x0a, 0x0b, 0x0c);
  const v = decode(input);
  ok(v instanceof Uint8Array);
  deepEqual(v, bytes(0x0a, 0x0b, 0x0c));
  input.fill(0xee);
  deepEqual(v, bytes(0x0a, 0x0b, 0x0c));
});

Deno.test("decode() returns nested bin values that do not alias a larger shared buffer", () => {
  // Frames are views into a reused read buffer: decode a subarray, then overwrite the whole buffer.
  const body = encode({ data: bytes(1, 2, 3, 4) });
  const shared = new Uint8Array(body.length + 10);
  shared.set(body, 5);
  const v = decode(shared.subarray(5, 5 + body.length)) as { data: Uint8Array };
  shared.fill(0);
  deepEqual(v.data, bytes(1, 2, 3, 4));
  ok(v.data.buffer !== shared.buffer);
});

Deno.test("decode() caps the map entries of one body when asked, counting every map", async () => {
  const { encode, ProtocolError } = await import("../../src/protocol/mod.ts");
  const body = encode({ a: { b: 1, c: 2 }, d: [{ e: 3 }] }); // 2 + 2 + 1 = 5 entries
  deepEqual(decode(body, 5), { a: { b: 1, c: 2 }, d: [{ e: 3 }] });
  throws(() => decode(body, 4), (e: unknown) => e instanceof ProtocolError && e.code === "MALFORMED_FRAME");
  // No cap by default, and the cap is per body.
  decode(body);
  decode(body, 5);
});
