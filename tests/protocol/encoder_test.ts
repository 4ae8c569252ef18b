import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { encode, EncodeBuffer, encodeFrame } from "../../src/protocol/encoder.ts";
import { decode } from "../../src/protocol/decoder.ts";

/** Lowercase hex of bytes, for byte-exact comparisons with the MessagePack spec. */
function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `encode(value)` as hex. */
function enc(value: unknown): string {
  return hex(encode(value));
}

const utf8 = new TextEncoder();

// ---- nil and booleans ----

Deno.test("encode() writes nil 0xc0 for null", () => {
  equal(enc(null), "c0");
});

Deno.test("encode() writes nil 0xc0 for undefined", () => {
  equal(enc(undefined), "c0");
});

Deno.test("encode() writes 0xc2 for false and 0xc3 for true", () => {
  equal(enc(false), "c2");
  equal(enc(true), "c3");
});

// ---- integers ----

Deno.test("encode() writes positive fixint for 0, 1 and 127", () => {
  equal(enc(0), "00");
  equal(enc(1), "01");
  equal(enc(127), "7f");
});

Deno.test("encode() writes negative fixint for -1 and -32", () => {
  equal(enc(-1), "ff");
  equal(enc(-32), "e0");
});

Deno.test("encode() writes uint8 0xcc for 128 and 255", () => {
  equal(enc(128), "cc80");
  equal(enc(255), "ccff");
});

Deno.test("encode() writes uint16 0xcd for 256 and 65535", () => {
  equal(enc(256), "cd0100");
  equal(enc(65535), "cdffff");
});

Deno.test("encode() writes uint32 0xce for 65536 and 2^32-1", () => {
  equal(enc(65536), "ce00010000");
  equal(enc(0xffff_ffff), "ceffffffff");
});

Deno.test("encode() writes uint64 0xcf for 2^32", () => {
  equal(enc(2 ** 32), "cf0000000100000000");
});

Deno.test("EncodeBuffer.frame() writes uint64 for 2^40", () => {
  const buf = new EncodeBuffer();
  const size = buf.frame(2 ** 40);
  equal(size, 13);
  equal(hex(buf.bytes()), "00000009" + "cf0000010000000000");
});

Deno.test("encode() writes uint64 for Number.MAX_SAFE_INTEGER", () => {
  equal(enc(Number.MAX_SAFE_INTEGER), "cf001fffffffffffff");
});

Deno.test("encode() writes uint64 for integral numbers between 2^63 and 2^64", () => {
  equal(enc(2 ** 63), "cf8000000000000000");
});

Deno.test("encode() writes int8 0xd0 for -33 and -128", () => {
  equal(enc(-33), "d0df");
  equal(enc(-128), "d080");
});

Deno.test("encode() writes int16 0xd1 for -129 and -32768", () => {
  equal(enc(-129), "d1ff7f");
  equal(enc(-32768), "d18000");
});

Deno.test("encode() writes int32 0xd2 for -32769 and -2^31", () => {
  equal(enc(-32769), "d2ffff7fff");
  equal(enc(-(2 ** 31)), "d280000000");
});

Deno.test("encode() writes int64 0xd3 for -2^31-1 and -2^40", () => {
  equal(enc(-(2 ** 31) - 1), "d3ffffffff7fffffff");
  equal(enc(-(2 ** 40)), "d3ffffff0000000000");
});

Deno.test("encode() writes int64 0xd3 for -2^63", () => {
  equal(enc(-(2 ** 63)), "d38000000000000000");
});

// ---- floats ----

Deno.test("encode() writes float64 0xcb for non-integers", () => {
  equal(enc(1.5), "cb3ff8000000000000");
  equal(enc(-0.1), "cbbfb999999999999a");
});

Deno.test("encode() writes float64 for NaN and the infinities", () => {
  equal(enc(NaN), "cb7ff8000000000000");
  equal(enc(Infinity), "cb7ff0000000000000");
  equal(enc(-Infinity), "cbfff0000000000000");
});

Deno.test("encode() writes float64 for integral numbers of 2^64 and beyond", () => {
  equal(enc(2 ** 64), "cb43f0000000000000");
});

// ---- bigint ----

Deno.test("encode() writes small bigints in the smallest integer form", () => {
  equal(enc(5n), "05");
  equal(enc(-5n), "fb");
  equal(enc(300n), "cd012c");
  equal(enc(-(2n ** 31n)), "d280000000");
  equal(enc(0xffff_ffffn), "ceffffffff");
});

Deno.test("encode() writes bigints from 2^32 up to 2^64-1 as uint64", () => {
  equal(enc(2n ** 32n), "cf0000000100000000");
  equal(enc(2n ** 53n + 1n), "cf0020000000000001");
  equal(enc(2n ** 64n - 1n), "cfffffffffffffffff");
});

Deno.test("encode() writes negative bigints below -2^31 down to -2^63 as int64", () => {
  equal(enc(-(2n ** 31n) - 1n), "d3ffffffff7fffffff");
  equal(enc(-(2n ** 63n)), "d38000000000000000");
});

Deno.test("encode() throws RangeError for a bigint of 2^64", () => {
  throws(() => encode(2n ** 64n), RangeError);
});

Deno.test("encode() throws RangeError for a bigint below -2^63", () => {
  throws(() => encode(-(2n ** 63n) - 1n), RangeError);
});

Deno.test("encode() names the path of a bigint that does not fit in 64 bits", () => {
  throws(() => encode({ a: { big: 2n ** 70n } }), (e: unknown) => {
    ok(e instanceof RangeError);
    match(e.message, /a\.big/);
    return true;
  });
});

// ---- strings ----

Deno.test("encode() writes fixstr for the empty string", () => {
  equal(enc(""), "a0");
});

Deno.test("encode() writes fixstr for a short ASCII string", () => {
  equal(enc("hi"), "a26869");
});

Deno.test("encode() writes fixstr for a 31-byte ASCII string", () => {
  const s = "a".repeat(31);
  equal(enc(s), "bf" + "61".repeat(31));
});

Deno.test("encode() writes str8 0xd9 for a 32-byte ASCII string", () => {
  const s = "a".repeat(32);
  equal(enc(s), "d920" + "61".repeat(32));
});

Deno.test("encode() writes str8 for a 255-byte string", () => {
  const s = "b".repeat(255);
  equal(enc(s), "d9ff" + "62".repeat(255));
});

Deno.test("encode() writes str16 0xda for a 256-byte string", () => {
  const s = "c".repeat(256);
  equal(enc(s), "da0100" + "63".repeat(256));
});

Deno.test("encode() writes str32 0xdb for a 65536-byte string", () => {
  const s = "d".repeat(65536);
  const out = encode(s);
  equal(out.length, 5 + 65536);
  equal(hex(out.subarray(0, 5)), "db00010000");
  equal(new TextDecoder().decode(out.subarray(5)), s);
});

Deno.test("encode() writes fixstr with UTF-8 bytes for a short non-ASCII string", () => {
  // "é" is one UTF-16 unit but two UTF-8 bytes; the header counts bytes.
  equal(enc("é"), "a2c3a9");
  equal(enc("€"), "a3e282ac");
  // A surrogate pair: 4 UTF-8 bytes.
  equal(enc("😀"), "a4f09f9880");
});

Deno.test("encode() counts UTF-8 bytes, not characters, when choosing fixstr vs str8", () => {
  // 16 characters, 32 bytes: must be str8, not fixstr.
  const s = "é".repeat(16);
  equal(enc(s), "d920" + "c3a9".repeat(16));
});

Deno.test("encode() shrinks the general-path header to fixstr for a 20-byte non-ASCII string", () => {
  // Non-ASCII forces the general path (5-byte header slot); 10 x "é" = 20 bytes -> 1-byte fixstr header.
  const s = "é".repeat(10);
  equal(enc(s), "b4" + "c3a9".repeat(10));
});

Deno.test("encode() shrinks the general-path header to str8 for a 40-character ASCII string", () => {
  // >= 32 characters always takes the general path with a 5-byte header slot, shrunk to 2 bytes.
  const s = "x".repeat(40);
  const out = encode(s);
  equal(out.length, 2 + 40);
  equal(hex(out), "d928" + "78".repeat(40));
});

Deno.test("encode() shrinks the general-path header to str16 for a 1000-byte non-ASCII string", () => {
  const s = "€".repeat(333) + "a"; // 999 + 1 = 1000 bytes
  const out = encode(s);
  equal(out.length, 3 + 1000);
  equal(hex(out.subarray(0, 3)), "da03e8");
  deepEqual(out.subarray(3), utf8.encode(s));
});

Deno.test("encode() writes correct bytes for a non-ASCII string that follows other values", () => {
  // Exercises the header shrink (copyWithin) at a non-zero position.
  const s = "ü".repeat(40); // 80 bytes -> str8
  equal(enc([1, s, 2]), "93" + "01" + "d950" + "c3bc".repeat(40) + "02");
});

Deno.test("encode() writes a non-ASCII map key with its UTF-8 length", () => {
  equal(enc({ "ñ": 1 }), "81" + "a2c3b1" + "01");
});

// ---- binary ----

Deno.test("encode() writes bin8 0xc4 for an empty Uint8Array", () => {
  equal(enc(new Uint8Array()), "c400");
});

Deno.test("encode() writes bin8 0xc4 for a 3-byte Uint8Array", () => {
  equal(enc(Uint8Array.of(1, 2, 255)), "c403" + "0102ff");
});

Deno.test("encode() writes bin8 for 255 bytes and bin16 0xc5 for 256 bytes", () => {
  const a = new Uint8Array(255).fill(7);
  equal(enc(a), "c4ff" + "07".repeat(255));
  const b = new Uint8Array(256).fill(9);
  equal(enc(b), "c50100" + "09".repeat(256));
});

Deno.test("encode() writes bin32 0xc6 for 65536 bytes", () => {
  const a = new Uint8Array(65536).fill(1);
  const out = encode(a);
  equal(out.length, 5 + 65536);
  equal(hex(out.subarray(0, 5)), "c600010000");
});

Deno.test("encode() writes only the viewed bytes of a Uint8Array subarray", () => {
  const backing = Uint8Array.of(9, 9, 1, 2, 3, 9);
  equal(enc(backing.subarray(2, 5)), "c403010203");
});

// ---- arrays ----

Deno.test("encode() writes fixarray for empty and 15-element arrays", () => {
  equal(enc([]), "90");
  equal(
    enc(Array.from({ length: 15 }, (_, i) => i)),
    "9f" + Array.from({ length: 15 }, (_, i) => hex(Uint8Array.of(i))).join(""),
  );
});

Deno.test("encode() writes array16 0xdc for a 16-element array", () => {
  const a = new Array(16).fill(0);
  equal(enc(a), "dc0010" + "00".repeat(16));
});

Deno.test("encode() writes array32 0xdd for a 65536-element array", () => {
  const a = new Array(65536).fill(true);
  const out = encode(a);
  equal(hex(out.subarray(0, 5)), "dd00010000");
  equal(out.length, 5 + 65536);
});

Deno.test("encode() writes nil for holes and undefined elements in arrays", () => {
  // deno-lint-ignore no-sparse-arrays
  equal(enc([1, , undefined, 2]), "9401c0c002");
});

// ---- maps ----

Deno.test("encode() writes fixmap for an empty object", () => {
  equal(enc({}), "80");
});

Deno.test("encode() writes fixmap with keys in insertion order", () => {
  equal(enc({ a: 1, b: true }), "82" + "a161" + "01" + "a162" + "c3");
});

Deno.test("encode() writes fixmap for 15 keys and map16 0xde for 16 keys", () => {
  const o15: Record<string, number> = {};
  for (let i = 0; i < 15; i++) o15[`k${i.toString(16)}`] = 0;
  equal(enc(o15).slice(0, 2), "8f");
  const o16: Record<string, number> = {};
  for (let i = 0; i < 16; i++) o16[`k${i.toString(16)}`] = 0;
  const out = enc(o16);
  equal(out.slice(0, 6), "de0010");
  // 16 entries of (fixstr "kX" = 3 bytes + value 1 byte).
  equal(out.length, (3 + 16 * 4) * 2);
});

Deno.test("encode() omits properties whose value is undefined", () => {
  equal(enc({ a: 1, b: undefined, c: 2 }), "82" + "a161" + "01" + "a163" + "02");
  equal(enc({ x: undefined }), "80");
});

Deno.test("encode() keeps properties whose value is null", () => {
  equal(enc({ a: null }), "81a161c0");
});

Deno.test("encode() encodes an object with a null prototype as a map", () => {
  const o = Object.create(null) as Record<string, unknown>;
  o.k = 1;
  equal(enc(o), "81a16b01");
});

Deno.test("encode() writes a Map as a MessagePack map, with non-string keys", () => {
  equal(enc(new Map<unknown, unknown>([["a", 1], [2, "b"]])), "82" + "a161" + "01" + "02" + "a162");
});

Deno.test("encode() writes an empty Map as 0x80 and a 16-entry Map as map16", () => {
  equal(enc(new Map()), "80");
  const m = new Map<number, number>();
  for (let i = 0; i < 16; i++) m.set(i, i);
  equal(enc(m).slice(0, 6), "de0010");
});

Deno.test("encode() writes nil for an undefined value in a Map (Maps keep the entry)", () => {
  equal(enc(new Map([["a", undefined]])), "81a161c0");
});

Deno.test("encode() writes nested containers", () => {
  equal(enc({ a: [1, { b: null }] }), "81" + "a161" + "92" + "01" + "81" + "a162" + "c0");
});

// ---- errors ----

Deno.test("encode() throws TypeError naming the path for a function", () => {
  throws(() => encode({ params: { cb: () => 1 } }), (e: unknown) => {
    ok(e instanceof TypeError);
    match(e.message, /params\.cb/);
    match(e.message, /function/);
    return true;
  });
});

Deno.test("encode() throws TypeError naming the path for a Date", () => {
  throws(() => encode({ list: [1, new Date(0)] }), (e: unknown) => {
    ok(e instanceof TypeError);
    match(e.message, /list\[1\]/);
    match(e.message, /Date/);
    return true;
  });
});

Deno.test("encode() throws TypeError naming the path and class for a class instance", () => {
  class Point {
    x = 1;
  }
  throws(() => encode({ p: new Point() }), (e: unknown) => {
    ok(e instanceof TypeError);
    match(e.message, /\bp\b/);
    match(e.message, /Point/);
    return true;
  });
});

Deno.test("encode() throws TypeError naming the path for a symbol", () => {
  throws(() => encode({ a: [{ s: Symbol("x") }] }), (e: unknown) => {
    ok(e instanceof TypeError);
    match(e.message, /a\[0\]\.s/);
    match(e.message, /symbol/);
    return true;
  });
});

Deno.test("encode() throws TypeError for a top-level unsupported value", () => {
  throws(() => encode(() => 0), (e: unknown) => {
    ok(e instanceof TypeError);
    match(e.message, /Cannot encode value/);
    return true;
  });
});

Deno.test("encode() throws TypeError for typed arrays other than Uint8Array and for ArrayBuffer", () => {
  throws(() => encode(new Uint16Array(2)), TypeError);
  throws(() => encode(new ArrayBuffer(2)), TypeError);
});

Deno.test("encode() throws TypeError naming the path for a function inside a Map", () => {
  throws(() => encode({ m: new Map([["f", () => 0]]) }), (e: unknown) => {
    ok(e instanceof TypeError);
    match(e.message, /m\.f/);
    return true;
  });
});

Deno.test("encode() throws RangeError for a cyclic object", () => {
  const a: Record<string, unknown> = { name: "a" };
  a.self = a;
  throws(() => encode(a), (e: unknown) => {
    ok(e instanceof RangeError);
    match(e.message, /cyclic/);
    return true;
  });
});

Deno.test("encode() throws RangeError for a cyclic array", () => {
  const a: unknown[] = [];
  a.push(a);
  throws(() => encode(a), RangeError);
});

Deno.test("encode() accepts nesting up to 64 levels and rejects 65", () => {
  const nest = (n: number): unknown => {
    let v: unknown = 0;
    for (let i = 0; i < n; i++) v = [v];
    return v;
  };
  equal(encode(nest(64)).length, 65);
  throws(() => encode(nest(65)), RangeError);
});

Deno.test("EncodeBuffer.frame() leaves the buffer length unchanged after a TypeError", () => {
  const buf = new EncodeBuffer(64);
  buf.frame({ kind: "ok" });
  const before = hex(buf.bytes());
  const len = buf.length;
  throws(() => buf.frame({ kind: "bad", big: "x".repeat(200), f: () => 0 }), TypeError);
  equal(buf.length, len);
  equal(hex(buf.bytes()), before);
});

Deno.test("EncodeBuffer.frame() leaves the buffer length unchanged after a RangeError", () => {
  const buf = new EncodeBuffer(16);
  const a: Record<string, unknown> = {};
  a.a = a;
  throws(() => buf.frame(a), RangeError);
  equal(buf.length, 0);
  // And the buffer is still usable afterwards.
  equal(buf.frame(1), 5);
  equal(hex(buf.bytes()), "0000000101");
});

Deno.test("EncodeBuffer.value() leaves the buffer length unchanged after a TypeError", () => {
  const buf = new EncodeBuffer(16);
  buf.value(1);
  throws(() => buf.value([1, 2, Symbol("s")]), TypeError);
  equal(buf.length, 1);
  equal(hex(buf.bytes()), "01");
});

// ---- frames and buffers ----

Deno.test("encodeFrame() length prefix equals the body length", () => {
  const value = { kind: "event", type: "NewBlock", seq: 1, payload: { height: 1, hash: "ab".repeat(32) } };
  const frame = encodeFrame(value);
  const len = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
  equal(len, frame.length - 4);
  deepEqual(frame.subarray(4), encode(value));
});

Deno.test("encodeFrame() returns a fresh copy not affected by later calls", () => {
  const a = encodeFrame({ n: 1 });
  const snapshot = hex(a);
  encodeFrame({ n: 2, more: "x".repeat(100) });
  equal(hex(a), snapshot);
});

Deno.test("encode() returns a fresh copy not affected by later calls", () => {
  const a = encode("first");
  encode("second!");
  equal(hex(a), "a5" + hex(utf8.encode("first")));
});

Deno.test("EncodeBuffer.frame() returns the frame size and appends consecutive frames", () => {
  const buf = new EncodeBuffer();
  equal(buf.frame(1), 5);
  equal(buf.frame("ab"), 7);
  equal(buf.length, 12);
  equal(hex(buf.bytes()), "00000001" + "01" + "00000003" + "a26162");
});

Deno.test("EncodeBuffer.reset() forgets written bytes", () => {
  const buf = new EncodeBuffer();
  buf.frame({ a: 1 });
  buf.reset();
  equal(buf.length, 0);
  equal(buf.bytes().length, 0);
});

Deno.test("EncodeBuffer.truncate() drops bytes written after the given length", () => {
  const buf = new EncodeBuffer(16);
  buf.frame(1);
  buf.frame("abc");
  buf.truncate(5);
  equal(buf.length, 5);
  equal(hex(buf.bytes()), "0000000101");
  buf.frame(2);
  equal(hex(buf.bytes()), "0000000101" + "0000000102");
});

Deno.test("EncodeBuffer.truncate() to the current length or 0 is allowed", () => {
  const buf = new EncodeBuffer(16);
  buf.value([1, 2]);
  buf.truncate(3);
  equal(buf.length, 3);
  buf.truncate(0);
  equal(buf.length, 0);
});

Deno.test("EncodeBuffer.truncate() throws RangeError beyond the written length or below 0", () => {
  const buf = new EncodeBuffer(16);
  buf.value(1);
  throws(() => buf.truncate(2), RangeError);
  throws(() => buf.truncate(-1), RangeError);
  equal(buf.length, 1);
});

Deno.test("EncodeBuffer.raw() appends bytes as they are", () => {
  const buf = new EncodeBuffer(4);
  buf.value(1);
  buf.raw(Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x00));
  equal(hex(buf.bytes()), "01deadbeef00");
});

Deno.test("EncodeBuffer grows past its initial capacity and keeps earlier bytes", () => {
  const buf = new EncodeBuffer(8);
  buf.frame(7);
  const big = new Uint8Array(10_000);
  for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
  const size = buf.frame({ data: big, s: "é".repeat(3000), n: 2 ** 40 });
  equal(buf.length, 5 + size);
  const bytes = buf.bytes();
  equal(hex(bytes.subarray(0, 5)), "0000000107");
  const body = bytes.subarray(9);
  equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(5), body.length);
  deepEqual(decode(body), { data: big, s: "é".repeat(3000), n: 2 ** 40 });
});

Deno.test("EncodeBuffer grows for many small values past the initial capacity", () => {
  const buf = new EncodeBuffer(16);
  const arr = Array.from({ length: 1000 }, (_, i) => i);
  buf.value(arr);
  deepEqual(decode(buf.bytes()), arr);
});

Deno.test({
  name: "EncodeBuffer with initialBytes 0 grows on the first write instead of hanging",
  fn() {
    const buf = new EncodeBuffer(0);
    equal(buf.frame({ a: 1 }), 8);
  },
});

// ---- round trips ----

Deno.test("encode() round trips a varied nested value through decode()", () => {
  const value = {
    kind: "response",
    id: 42,
    ok: true,
    result: {
      ints: [
        0,
        1,
        -1,
        127,
        128,
        -32,
        -33,
        255,
        256,
        65535,
        65536,
        -129,
        -32769,
        2 ** 32 - 1,
        2 ** 32,
        2 ** 40,
        -(2 ** 40),
      ],
      safe: Number.MAX_SAFE_INTEGER,
      floats: [0.5, -1.25, 3.141592653589793],
      big: 2n ** 63n,
      negBig: -(2n ** 62n) - 7n,
      strs: ["", "a", "x".repeat(31), "y".repeat(32), "z".repeat(300), "héllo wörld ✓ 😀", "€".repeat(100)],
      bin: Uint8Array.of(0, 1, 2, 254, 255),
      nil: null,
      flags: [true, false],
      nested: { a: { b: { c: [[], {}, [null]] } } },
    },
  };
  deepEqual(decode(encode(value)), value);
});

Deno.test("encode() round trips a Map as a plain object through decode()", () => {
  deepEqual(decode(encode(new Map<string, unknown>([["a", 1], ["b", [2]]]))), { a: 1, b: [2] });
});

Deno.test("encode() writes ASCII strings of 32 to 255 characters as str8, and others the same as before", () => {
  const hash = "ab".repeat(32);
  const bytes = encode(hash);
  equal(bytes[0], 0xd9);
  equal(bytes[1], 64);
  equal(new TextDecoder().decode(bytes.subarray(2)), hash);
  // A non-ASCII character anywhere falls back to the UTF-8 path, with the byte length in the header.
  const mixed = "x".repeat(40) + "é";
  const m = encode(mixed);
  equal(m[0], 0xd9);
  equal(m[1], 42);
  equal(decode(m), mixed);
  // 255 ASCII characters still fit str8; 256 need str16.
  equal(encode("a".repeat(255))[0], 0xd9);
  equal(encode("a".repeat(256))[0], 0xda);
});
