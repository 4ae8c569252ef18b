import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { concat } from "./_fuzz.ts";
import { FrameReader } from "../../src/protocol/frame.ts";
import { encodeFrame } from "../../src/protocol/encoder.ts";
import { ErrorCode, ProtocolError } from "../../src/protocol/errors.ts";

/** A raw frame: 4-byte big-endian length, then `body`. */
function rawFrame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/**
 * Feed `chunk` into the reader, copying in a loop because `writable()` may be smaller than the chunk,
 * and append a copy of every complete body to `out` (bodies are only valid until the next writable()).
 */
function feed(reader: FrameReader, chunk: Uint8Array, out: Uint8Array[]): void {
  let pos = 0;
  while (pos < chunk.length) {
    const w = reader.writable();
    ok(w.length > 0, "writable() must return a non-empty region");
    const n = Math.min(w.length, chunk.length - pos);
    w.set(chunk.subarray(pos, pos + n));
    reader.commit(n);
    pos += n;
    for (let body = reader.next(); body !== null; body = reader.next()) out.push(body.slice());
  }
}

const BODIES = [
  Uint8Array.of(0x01),
  new Uint8Array(0),
  pattern(1000, 7),
  Uint8Array.of(0xa2, 0x68, 0x69),
  pattern(63, 3),
  new Uint8Array(0),
  pattern(200, 11),
];
const STREAM = concat(BODIES.map(rawFrame));

Deno.test("FrameReader.next() yields the same bodies for a stream split at every byte boundary", () => {
  for (let i = 0; i <= STREAM.length; i++) {
    const reader = new FrameReader({ bufferBytes: 64 });
    const out: Uint8Array[] = [];
    feed(reader, STREAM.subarray(0, i), out);
    feed(reader, STREAM.subarray(i), out);
    deepEqual(out, BODIES, `split at ${i}`);
    equal(reader.buffered, 0, `split at ${i}`);
  }
});

Deno.test("FrameReader.next() yields the same bodies when fed one byte at a time", () => {
  const reader = new FrameReader({ bufferBytes: 64 });
  const out: Uint8Array[] = [];
  for (let i = 0; i < STREAM.length; i++) feed(reader, STREAM.subarray(i, i + 1), out);
  deepEqual(out, BODIES);
  equal(reader.buffered, 0);
});

Deno.test("FrameReader.next() yields the same bodies when fed the whole stream at once", () => {
  const reader = new FrameReader({ bufferBytes: 64 });
  const out: Uint8Array[] = [];
  feed(reader, STREAM, out);
  deepEqual(out, BODIES);
});

Deno.test("FrameReader.next() yields the same bodies for chunks of every size from 1 to 70", () => {
  for (let size = 1; size <= 70; size++) {
    const reader = new FrameReader({ bufferBytes: 16 });
    const out: Uint8Array[] = [];
    for (let i = 0; i < STREAM.length; i += size) feed(reader, STREAM.subarray(i, i + size), out);
    deepEqual(out, BODIES, `chunk size ${size}`);
  }
});

Deno.test("FrameReader handles two consecutive frames larger than the buffer", () => {
  const bodies = [pattern(500, 1), pattern(700, 2), Uint8Array.of(9)];
  const stream = concat(bodies.map(rawFrame));
  const reader = new FrameReader({ bufferBytes: 16 });
  const out: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += 13) feed(reader, stream.subarray(i, i + 13), out);
  deepEqual(out, bodies);
});

Deno.test("FrameReader.next() returns null until a whole frame has arrived", () => {
  const reader = new FrameReader({ bufferBytes: 64 });
  const frame = rawFrame(Uint8Array.of(1, 2, 3));
  for (let i = 0; i < frame.length - 1; i++) {
    reader.writable()[0] = frame[i];
    reader.commit(1);
    equal(reader.next(), null, `after ${i + 1} bytes`);
  }
  reader.writable()[0] = frame[frame.length - 1];
  reader.commit(1);
  deepEqual(reader.next(), Uint8Array.of(1, 2, 3));
  equal(reader.next(), null);
});

Deno.test("FrameReader.buffered counts bytes not yet returned as a frame", () => {
  const reader = new FrameReader({ bufferBytes: 64 });
  const frame = rawFrame(Uint8Array.of(1, 2, 3));
  reader.writable().set(frame.subarray(0, 5));
  reader.commit(5);
  equal(reader.buffered, 5);
  equal(reader.next(), null);
  reader.writable().set(frame.subarray(5));
  reader.commit(frame.length - 5);
  ok(reader.next() !== null);
  equal(reader.buffered, 0);
});

Deno.test("FrameReader.next() reads frames produced by encodeFrame()", () => {
  const a = encodeFrame({ kind: "cancel", id: 1 });
  const b = encodeFrame({ kind: "ack", of: "stop" });
  const reader = new FrameReader();
  const out: Uint8Array[] = [];
  feed(reader, concat([a, b]), out);
  deepEqual(out, [a.subarray(4), b.subarray(4)]);
});

Deno.test("FrameReader.next() throws FRAME_TOO_LARGE as soon as the 4 header bytes arrive", () => {
  const reader = new FrameReader({ maxFrameBytes: 1024, bufferBytes: 64 });
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, 1025);
  // Three header bytes: not enough to know the length yet.
  reader.writable().set(header.subarray(0, 3));
  reader.commit(3);
  equal(reader.next(), null);
  // Fourth byte: the length is known and must be rejected with no body bytes fed.
  reader.writable()[0] = header[3];
  reader.commit(1);
  throws(() => reader.next(), (e: unknown) => {
    ok(e instanceof ProtocolError);
    equal(e.code, ErrorCode.FrameTooLarge);
    equal(e.code, "FRAME_TOO_LARGE");
    ok(e.message.includes("1025"), e.message);
    return true;
  });
});

Deno.test("FrameReader.next() throws FRAME_TOO_LARGE for a 4 GiB length prefix without allocating it", () => {
  const reader = new FrameReader({ bufferBytes: 16 });
  reader.writable().set([0xff, 0xff, 0xff, 0xff]);
  reader.commit(4);
  throws(() => reader.next(), (e: unknown) => e instanceof ProtocolError && e.code === "FRAME_TOO_LARGE");
  // Nothing was allocated for the body: the free region is still within the original 16-byte buffer.
  ok(reader.writable().length <= 16 - 4);
});

Deno.test("FrameReader.next() accepts a frame of exactly maxFrameBytes", () => {
  const reader = new FrameReader({ maxFrameBytes: 100, bufferBytes: 16 });
  const out: Uint8Array[] = [];
  feed(reader, rawFrame(pattern(100, 5)), out);
  deepEqual(out, [pattern(100, 5)]);
});

Deno.test("FrameReader.next() throws FRAME_TOO_LARGE for a later frame after a good one", () => {
  const reader = new FrameReader({ maxFrameBytes: 10, bufferBytes: 64 });
  const bad = new Uint8Array(4);
  new DataView(bad.buffer).setUint32(0, 11);
  const stream = concat([rawFrame(Uint8Array.of(7)), bad]);
  reader.writable().set(stream);
  reader.commit(stream.length);
  deepEqual(reader.next(), Uint8Array.of(7));
  throws(() => reader.next(), (e: unknown) => e instanceof ProtocolError && e.code === "FRAME_TOO_LARGE");
});

Deno.test("FrameReader bodies returned before the next writable() all stay valid", () => {
  const bodies = [pattern(10, 1), pattern(20, 2), pattern(30, 3)];
  const stream = concat(bodies.map(rawFrame));
  const reader = new FrameReader({ bufferBytes: 128 });
  reader.writable().set(stream);
  reader.commit(stream.length);
  const views: Uint8Array[] = [];
  for (let b = reader.next(); b !== null; b = reader.next()) views.push(b);
  // No copies were taken: every view must still hold its own body after all next() calls.
  deepEqual(views, bodies);
});

Deno.test("FrameReader.next() returns views into the read buffer (no copy)", () => {
  const reader = new FrameReader({ bufferBytes: 64 });
  const frame = rawFrame(Uint8Array.of(5, 6));
  const w = reader.writable();
  w.set(frame);
  reader.commit(frame.length);
  const body = reader.next();
  ok(body !== null);
  equal(body.buffer, w.buffer);
});

Deno.test("new FrameReader() throws RangeError for bad maxFrameBytes", () => {
  for (const maxFrameBytes of [0, -1, 1.5, NaN, 2 ** 32, Infinity]) {
    throws(() => new FrameReader({ maxFrameBytes }), RangeError, `maxFrameBytes ${maxFrameBytes}`);
  }
});

Deno.test("new FrameReader() throws RangeError for bad bufferBytes", () => {
  for (const bufferBytes of [15, 0, -16, 16.5, NaN]) {
    throws(() => new FrameReader({ bufferBytes }), RangeError, `bufferBytes ${bufferBytes}`);
  }
});

Deno.test("new FrameReader() accepts the boundary options", () => {
  ok(new FrameReader({ maxFrameBytes: 1, bufferBytes: 16 }));
  ok(new FrameReader({ maxFrameBytes: 0xffff_ffff }));
});

Deno.test("new FrameReader() names the bad option in its RangeError", () => {
  throws(() => new FrameReader({ bufferBytes: 8 }), /bufferBytes/);
  throws(() => new FrameReader({ maxFrameBytes: 0 }), /maxFrameBytes/);
});
