// Shared settings and generators for the property-based (fast-check) fuzz tests of the wire protocol.
//
// Every property runs with a fixed seed, so CI is deterministic; fast-check prints the seed and the path
// of a failing case. Environment overrides for local runs:
//   FUZZ_SEED=<int>   use another seed (for example the one a failure printed, or a random one)
//   FUZZ_RUNS=<int>   run every property this many times instead of its default count
// e.g. `FUZZ_SEED=$RANDOM FUZZ_RUNS=200000 deno test -A tests/protocol/fuzz_decode_test.ts`
import fc from "fast-check";

function envInt(name: string): number | undefined {
  let text: string | undefined;
  try {
    text = Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: defaults
  }
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(text)}`);
  return n;
}

/** The seed of every property; FUZZ_SEED overrides it. */
export const FUZZ_SEED = envInt("FUZZ_SEED") ?? 0x5eed_b1;
const FUZZ_RUNS = envInt("FUZZ_RUNS");

/** fast-check parameters: the fixed seed, and `runs` cases unless FUZZ_RUNS says otherwise. */
export function fuzz<T>(runs: number): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: FUZZ_RUNS ?? runs };
}

// ---------------------------------------------------------------------------------------------------
// Values the protocol carries: nil, booleans, integers up to 64 bits, floats, strings, bin, arrays and
// maps with string keys.

/** Integers around every boundary of the MessagePack integer forms, and of the safe-integer range. */
export const INT_EDGES = [
  0,
  1,
  -1,
  31,
  32,
  -32,
  -33,
  127,
  128,
  -128,
  -129,
  255,
  256,
  0x7fff,
  0x8000,
  -0x8000,
  -0x8001,
  0xffff,
  0x1_0000,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 1,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53) + 1,
  -(2 ** 53),
  -(2 ** 53) - 2,
  2 ** 63,
  2 ** 64 - 2048, // the largest double below 2^64
  -(2 ** 63),
  2 ** 64, // not a 64-bit integer: sent as a float
  -(2 ** 63) - 4096,
];

/** Bigints at the edges of the int64/uint64 range and of the safe-integer range. */
export const BIGINT_EDGES = [
  0n,
  -1n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  -(2n ** 53n),
  -(2n ** 53n) - 1n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
  -(2n ** 63n),
];

const integer = fc.oneof(
  fc.integer({ min: -40, max: 300 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(...INT_EDGES),
  fc.double({ min: -(2 ** 63), max: 2 ** 64, noNaN: true }).map(Math.trunc),
);
const bigint = fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), fc.constantFrom(...BIGINT_EDGES));
const float = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0.5, -1.5, 1e300, 5e-324, Number.EPSILON),
);

/** Strings of every size class (fixstr, str8, str16, rarely str32) and every kind of text. */
export const wireString = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 40 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }), weight: 20 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 40 }), weight: 20 }, // lone surrogates too
  { arbitrary: fc.string({ unit: "grapheme", minLength: 20, maxLength: 300 }), weight: 10 },
  {
    arbitrary: fc.constantFrom(
      "",
      "\uFEFF", // a leading BOM is data
      "\uFEFF" + "long enough for the TextDecoder path ".repeat(3),
      "\uD800",
      "a\uDFFFb",
      "\u0000",
      "__proto__",
      "constructor",
      "é".repeat(40),
      "x".repeat(255),
      "x".repeat(256),
    ),
    weight: 10,
  },
  { arbitrary: fc.constant("y".repeat(0x1_0000)), weight: 1 },
);

const bytes = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 40 }), weight: 50 },
  { arbitrary: fc.constantFrom(new Uint8Array(255), new Uint8Array(256)), weight: 5 },
  { arbitrary: fc.constant(new Uint8Array(0x1_0000)), weight: 1 },
);

/** A map key: any string, often one of the protocol's own field names or a prototype name. */
export const wireKey = fc.oneof(
  { arbitrary: fc.string({ maxLength: 12 }), weight: 4 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 12 }), weight: 1 },
  {
    arbitrary: fc.constantFrom(
      "kind",
      "id",
      "params",
      "__proto__",
      "__proto_",
      "constructor",
      "toString",
      "hasOwnProperty",
      "valueOf",
      "prototype",
    ),
    weight: 1,
  },
);

/** A scalar the protocol can carry. */
export const wireScalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  integer,
  bigint,
  float,
  wireString,
  bytes,
);

/** Any value the protocol can carry, nested a few levels deep. */
export const wireValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; array: unknown[]; map: unknown }>((
  tie,
) => ({
  value: fc.oneof({ maxDepth: 4, depthIdentifier: "wire" }, wireScalar, tie("array"), tie("map")),
  array: fc.array(tie("value"), { maxLength: 18, depthIdentifier: "wire" }),
  map: fc.dictionary(wireKey, tie("value"), { maxKeys: 18, depthIdentifier: "wire" }),
})).value;

/** A smaller, faster to generate value, for message fields that may hold anything. */
export const smallValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; array: unknown[]; map: unknown }>((
  tie,
) => ({
  value: fc.oneof({ maxDepth: 2, depthIdentifier: "small" }, wireScalar, tie("array"), tie("map")),
  array: fc.array(tie("value"), { maxLength: 4, depthIdentifier: "small" }),
  map: fc.dictionary(wireKey, tie("value"), { maxKeys: 4, depthIdentifier: "small" }),
})).value;

/** Containers with 16 or more entries (array16/map16). */
export const bigContainer = fc.oneof(
  fc.array(wireScalar, { minLength: 16, maxLength: 40 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), wireScalar, { minKeys: 16, maxKeys: 40 }),
);

/**
 * What `decode(encode(v))` must give for `v`: integers beyond ±2^53 as bigints and bigints within it as
 * numbers, -0 as 0, strings well-formed (a lone surrogate is sent as U+FFFD), absent (`undefined`) map
 * values left out and array items as nil, every map a plain object, and a `__proto__` key as `__proto_`.
 */
export function normalize(v: unknown): unknown {
  switch (typeof v) {
    case "number":
      if (!Number.isInteger(v)) return v;
      if (v === 0) return 0;
      if (Math.abs(v) > 2 ** 53 && v < 2 ** 64 && v >= -(2 ** 63)) return BigInt(v);
      return v;
    case "bigint":
      return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v;
    case "string":
      return v.toWellFormed();
    case "undefined":
      return null;
    case "object": {
      if (v === null) return null;
      if (v instanceof Uint8Array) return new Uint8Array(v);
      if (Array.isArray(v)) return Array.from(v, normalize);
      const out: Record<string, unknown> = {};
      for (const key in v) {
        const item = (v as Record<string, unknown>)[key];
        if (item === undefined) continue;
        const k = key.toWellFormed();
        out[k === "__proto__" ? "__proto_" : k] = normalize(item);
      }
      return out;
    }
    default:
      return v;
  }
}

/** The values `decode` may return: nothing else (no Date, Set, Map, class instance or cycle). */
export function isWireValue(v: unknown, depth = 0): boolean {
  switch (typeof v) {
    case "number":
    case "bigint":
    case "string":
    case "boolean":
      return true;
    case "object": {
      if (v === null || v instanceof Uint8Array) return v === null || v.constructor === Uint8Array;
      if (depth >= 64) return false;
      if (Array.isArray(v)) return v.every((x) => isWireValue(x, depth + 1));
      if (Object.getPrototypeOf(v) !== Object.prototype) return false;
      return Object.keys(v).every((k) =>
        k !== "__proto__" && isWireValue((v as Record<string, unknown>)[k], depth + 1)
      );
    }
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Byte helpers.

/** `parts` joined into one array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** A frame with any body: 4-byte big-endian length, then the body. */
export function rawFrame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** A bare 4-byte length prefix. */
export function lengthPrefix(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/**
 * How to cut a byte stream into reads: one byte at a time, all at once, or random chunk sizes (small,
 * or up to a few KiB).
 */
export const chunking: fc.Arbitrary<number[] | "bytes" | "whole"> = fc.oneof(
  { arbitrary: fc.constant("bytes" as const), weight: 1 },
  { arbitrary: fc.constant("whole" as const), weight: 1 },
  { arbitrary: fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 30 }), weight: 3 },
  { arbitrary: fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 10 }), weight: 2 },
);

/** `stream` cut as `how` says; random sizes repeat cyclically until the stream is used up. */
export function split(stream: Uint8Array, how: number[] | "bytes" | "whole"): Uint8Array[] {
  if (how === "whole") return stream.length ? [stream] : [];
  const out: Uint8Array[] = [];
  for (let pos = 0, i = 0; pos < stream.length; i++) {
    const size = how === "bytes" ? 1 : how[i % how.length];
    out.push(stream.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}
