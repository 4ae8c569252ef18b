// Property-based fuzzing of decode(): on any bytes it returns a value the protocol can carry or throws a
// ProtocolError with MALFORMED_FRAME, never anything else (no TypeError, RangeError or stack overflow);
// encode() → decode() round-trips every value the protocol carries. Seed and run counts: see _fuzz.ts.
import { deepEqual, equal, fail, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { decode } from "../../src/protocol/decoder.ts";
import { encode } from "../../src/protocol/encoder.ts";
import { ErrorCode, ProtocolError } from "../../src/protocol/errors.ts";
import { bigContainer, concat, fuzz, isWireValue, normalize, wireValue } from "./_fuzz.ts";

/** decode(bytes): a wire value that re-encodes to a canonical form, or MALFORMED_FRAME. */
function checkDecode(bytes: Uint8Array): { value?: unknown; error?: ProtocolError } {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (e) {
    if (!(e instanceof ProtocolError)) fail(`decode() threw ${e} for ${hex(bytes)}`);
    equal(e.code, ErrorCode.MalformedFrame);
    return { error: e };
  }
  if (!isWireValue(value)) fail(`decode() returned a value the protocol cannot carry for ${hex(bytes)}`);
  // Whatever was decoded can be sent on (the host forwards params, results and payloads), and sending
  // it is stable: the canonical encoding decodes to the same value.
  deepEqual(decode(encode(value)), value);
  return { value };
}

function hex(b: Uint8Array): string {
  const h = Array.from(b.subarray(0, 64), (x) => x.toString(16).padStart(2, "0")).join("");
  return b.length > 64 ? `${h}... (${b.length} bytes)` : h;
}

function throwsMalformed(bytes: Uint8Array, why: RegExp): void {
  throws(() => decode(bytes), (e: unknown) => {
    ok(e instanceof ProtocolError, `expected ProtocolError, got ${e}`);
    equal(e.code, ErrorCode.MalformedFrame);
    ok(why.test(e.message), e.message);
    return true;
  });
}

/** Type bytes where decoders go wrong: 0xc1, extensions, 32-bit lengths, containers, float32, int64. */
const TRICKY = [
  0xc1,
  0xc7,
  0xc8,
  0xc9,
  0xd4,
  0xd5,
  0xd6,
  0xd7,
  0xd8,
  0xc6,
  0xdb,
  0xdd,
  0xdf,
  0xdc,
  0xde,
  0xc4,
  0xd9,
  0xca,
  0xcb,
  0xcf,
  0xd3,
  0x80,
  0x8f,
  0x90,
  0x9f,
  0xa0,
  0xbf,
  0x00,
  0xff,
  0x69, // 'i' and 'p': the structured-clone extension ids
  0x70,
  0x72, // 'r': the record extension id
  0x40,
];
const byte = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 255 }), weight: 3 }, {
  arbitrary: fc.constantFrom(...TRICKY),
  weight: 1,
});

Deno.test("fuzz: decode() of random bytes returns a wire value or throws MALFORMED_FRAME", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void checkDecode(b)), fuzz(15_000));
});

Deno.test("fuzz: decode() of bytes biased to tricky type bytes returns a wire value or throws MALFORMED_FRAME", () => {
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 120 }), (b) => void checkDecode(Uint8Array.from(b))),
    fuzz(15_000),
  );
});

Deno.test("fuzz: encode() then decode() round-trips every value the protocol carries", () => {
  fc.assert(
    fc.property(wireValue, (v) => {
      const bytes = encode(v);
      deepEqual(decode(bytes), normalize(v));
      // Decoding then encoding again is stable.
      deepEqual(encode(decode(bytes)), encode(normalize(v)));
    }),
    fuzz(10_000),
  );
});

Deno.test("fuzz: encode() then decode() round-trips arrays and maps of 16 entries and more", () => {
  fc.assert(fc.property(bigContainer, (v) => void deepEqual(decode(encode(v)), normalize(v))), fuzz(500));
});

Deno.test("encode() then decode() round-trips arrays and maps of 65536 entries (array32, map32)", () => {
  const array = Array.from({ length: 0x1_0000 }, (_, i) => i);
  const map = Object.fromEntries(array.map((i) => [`k${i}`, i]));
  equal(encode(array)[0], 0xdd);
  equal(encode(map)[0], 0xdf);
  deepEqual(decode(encode(array)), array);
  deepEqual(decode(encode(map)), map);
});

Deno.test("fuzz: decode() throws MALFORMED_FRAME for trailing bytes after a value", () => {
  fc.assert(
    fc.property(wireValue, fc.uint8Array({ minLength: 1, maxLength: 16 }), (v, extra) => {
      throwsMalformed(concat([encode(v), extra]), new RegExp(`: ${extra.length} trailing bytes after the value$`));
    }),
    fuzz(5_000),
  );
});

Deno.test("fuzz: decode() throws MALFORMED_FRAME for every truncation of a valid body", () => {
  fc.assert(
    fc.property(wireValue, fc.nat(), (v, cut) => {
      const bytes = encode(v);
      // MessagePack is self-delimiting: no proper prefix of one value is a whole value.
      throwsMalformed(bytes.subarray(0, cut % bytes.length), /truncated|longer than the body/);
    }),
    fuzz(5_000),
  );
});

Deno.test("fuzz: decode() of a valid body with bytes overwritten returns a wire value or MALFORMED_FRAME", () => {
  fc.assert(
    fc.property(wireValue, fc.array(fc.tuple(fc.nat(), byte), { minLength: 1, maxLength: 6 }), (v, edits) => {
      const bytes = encode(v);
      for (const [at, b] of edits) bytes[at % bytes.length] = b;
      checkDecode(bytes);
    }),
    fuzz(10_000),
  );
});

Deno.test("fuzz: decode() accepts nesting exactly as deep as encode() can write, and no deeper", () => {
  const OPEN = [[0x91], [0x81, 0xa1, 0x6b], [0xdc, 0x00, 0x01], [0xde, 0x00, 0x01, 0xa0]];
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }),
      fc.array(fc.nat(3), { minLength: 1, maxLength: 8 }),
      (depth, kinds) => {
        const parts: number[] = [];
        for (let i = 0; i < depth; i++) parts.push(...OPEN[kinds[i % kinds.length]]);
        parts.push(0x90); // the innermost container: an empty array
        const bytes = Uint8Array.from(parts);
        const { value, error } = checkDecode(bytes);
        // depth wrappers around [] are depth + 1 nested containers; the encoder writes at most 64.
        if (depth + 1 <= 64) ok(error === undefined, error?.message);
        else ok(value === undefined && /nested deeper than 64/.test(error!.message), error?.message);
        let encodable = true;
        try {
          encode(value ?? nest(depth + 1));
        } catch (e) {
          ok(e instanceof RangeError);
          encodable = false;
        }
        equal(encodable, depth + 1 <= 64);
      },
    ),
    fuzz(1_000),
  );
});

function nest(levels: number): unknown {
  let v: unknown = [];
  for (let i = 1; i < levels; i++) v = [v];
  return v;
}

// Regressions: what msgpackr (the decoder used before) let through or got wrong.

Deno.test("decode() refuses nesting far past the limit without a stack overflow", () => {
  for (const open of [0x91, 0x81]) {
    const bytes = new Uint8Array(4 * 1024 * 1024).fill(open);
    throwsMalformed(bytes, /nested deeper than 64/);
  }
});

Deno.test("decode() refuses every extension type: no Date, Set, RegExp, typed array, undefined or record", () => {
  const cases = [
    [0xd6, 0xff, 0, 0, 0, 1], // timestamp → Date
    [0xd4, 0x00, 0x00], // ext 0 → undefined
    [0xd4, 0x73, 0x00, 0x91, 0x01], // Set
    [0xc7, 5, 0x74, 5, 1, 0, 0, 0], // Int32Array
    [0xd4, 0x78, 0x00, 0x92, 0xa1, 0x61, 0xa1, 0x67], // RegExp
    [0x92, 0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61, 0x05, 0x40, 0x07], // record: 0x40 would decode as {a: 5}
    [0xd5, 0x01, 0x00, 0x00],
    [0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0],
    [0xd8, 0x01, ...new Array(16).fill(0)],
    [0xc8, 0x00, 0x01, 0x01, 0x00],
    [0xc9, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00],
  ];
  for (const c of cases) throwsMalformed(Uint8Array.from(c), /extension type/);
});

Deno.test("decode() refuses the structured-clone extensions that build cyclic and shared values", () => {
  // [ref#1 → [ptr#1]]: a cycle under msgpackr.
  throwsMalformed(Uint8Array.of(0xd6, 0x69, 0, 0, 0, 1, 0x91, 0xd6, 0x70, 0, 0, 0, 1), /extension type/);
  // 40 levels, each holding its previous level twice, and a 0xc1: under msgpackr the 0xc1 check
  // walked 2^40 paths, so an 800-byte frame hung the host.
  const dag: number[] = [0xdc, 0, 42, 0xd6, 0x69, 0, 0, 0, 0, 0x90];
  for (let i = 1; i <= 40; i++) {
    dag.push(0xd6, 0x69, 0, 0, 0, i, 0x92, 0xd6, 0x70, 0, 0, 0, i - 1, 0xd6, 0x70, 0, 0, 0, i - 1);
  }
  dag.push(0xc1);
  throwsMalformed(Uint8Array.from(dag), /extension type/);
});

Deno.test("decode() refuses 0xc1 at any depth", () => {
  const deep = new Uint8Array(61).fill(0x91);
  deep[60] = 0xc1;
  throwsMalformed(deep, /0xc1/);
});

Deno.test("decode() keeps a string's bytes to the string: a cut-off UTF-8 sequence cannot eat the next value", () => {
  // ["\xe0", "\xd6\x69..."]: msgpackr read two bytes past the 1-byte string and then parsed from there.
  const bytes = Uint8Array.of(0x92, 0xa1, 0xe0, 0xd9, 0x03, 0xc1, 0x41, 0x42);
  deepEqual(decode(bytes), ["\uFFFD", "\uFFFDAB"]);
  deepEqual(decode(Uint8Array.of(0x92, 0xa2, 0xf0, 0x9f, 0x01)), [
    new TextDecoder().decode(Uint8Array.of(0xf0, 0x9f)),
    1,
  ]);
});

Deno.test("decode() keeps a leading U+FEFF of a long string (msgpackr's TextDecoder stripped it)", () => {
  const s = "\uFEFF" + "x".repeat(100);
  equal(decode(encode(s)), s);
  equal(decode(encode("\uFEFF")), "\uFEFF");
});

Deno.test("decode() refuses a count larger than the body before allocating for it", () => {
  throwsMalformed(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff), /longer than the body/);
  throwsMalformed(Uint8Array.of(0xdf, 0xff, 0xff, 0xff, 0xff, 0xa0, 0xc0), /longer than the body/);
  throwsMalformed(Uint8Array.of(0xdb, 0xff, 0xff, 0xff, 0xff, 0x41), /truncated/);
  throwsMalformed(Uint8Array.of(0xc6, 0xff, 0xff, 0xff, 0xff, 0x41), /truncated/);
});

Deno.test("decode() refuses map keys that are maps, arrays or binary, and converts scalar keys to strings", () => {
  throwsMalformed(Uint8Array.of(0x81, 0x90, 0x01), /map key/);
  throwsMalformed(Uint8Array.of(0x81, 0x80, 0x01), /map key/);
  throwsMalformed(Uint8Array.of(0x81, 0xc4, 0x00, 0x01), /map key/);
  deepEqual(decode(Uint8Array.of(0x84, 0x01, 0x02, 0xc0, 0x03, 0xc3, 0x04, 0xff, 0x05)), {
    "1": 2,
    null: 3,
    true: 4,
    "-1": 5,
  });
});

Deno.test("decode() reads a __proto__ key as __proto_, leaving the prototype alone", () => {
  const v = decode(encode(JSON.parse('{"__proto__": {"kind": "x"}, "a": 1}'))) as Record<string, unknown>;
  equal(Object.getPrototypeOf(v), Object.prototype);
  equal(v.kind, undefined);
  deepEqual(v, { __proto_: { kind: "x" }, a: 1 });
});
