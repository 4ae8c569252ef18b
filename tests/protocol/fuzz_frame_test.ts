// Property-based fuzzing of FrameReader: any byte stream, cut into reads at any points, gives the same
// frames as a one-shot reference parser; a length prefix over the maximum is a ProtocolError with
// FRAME_TOO_LARGE and nothing else; the read buffer never grows past what the largest allowed frame
// needs; bodies stay valid until the next writable(). Seed and run counts: see _fuzz.ts.
import { deepEqual, equal, fail, ok } from "node:assert/strict";
import fc from "fast-check";
import { ErrorCode, ProtocolError } from "../../src/protocol/errors.ts";
import { FrameReader } from "../../src/protocol/frame.ts";
import { chunking, concat, fuzz, lengthPrefix, rawFrame, split } from "./_fuzz.ts";

interface Outcome {
  bodies: Uint8Array[];
  /** Whether the stream ended with a FRAME_TOO_LARGE. */
  tooLarge: boolean;
  /** Bytes left over: an incomplete frame at the end, or everything from the oversized prefix on. */
  rest: number;
}

/** The frames of a whole stream, parsed in one go. */
function reference(stream: Uint8Array, max: number): Outcome {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const bodies: Uint8Array[] = [];
  let pos = 0;
  while (stream.length - pos >= 4) {
    const len = view.getUint32(pos);
    if (len > max) return { bodies, tooLarge: true, rest: stream.length - pos };
    if (stream.length - pos - 4 < len) break;
    bodies.push(stream.subarray(pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  return { bodies, tooLarge: false, rest: stream.length - pos };
}

interface ReaderOptions {
  maxFrameBytes: number;
  bufferBytes: number;
}

/**
 * Feeds `chunks` through a FrameReader the way the connection does (read into writable(), commit, then
 * next() until null) and checks, at every step, the buffer size bound and that every body handed out
 * since the last writable() still holds its bytes.
 */
function run(chunks: Uint8Array[], o: ReaderOptions): Outcome {
  const reader = new FrameReader(o);
  // The read buffer may grow to hold one whole frame, never more.
  const bound = Math.max(o.bufferBytes, 4 + o.maxFrameBytes);
  const bodies: Uint8Array[] = [];
  let fed = 0;
  try {
    for (const chunk of chunks) {
      for (let pos = 0; pos < chunk.length;) {
        const w = reader.writable();
        if (w.length === 0) fail("writable() returned an empty region");
        if (w.buffer.byteLength > bound) fail(`read buffer of ${w.buffer.byteLength} bytes; bound ${bound}`);
        const n = Math.min(w.length, chunk.length - pos);
        w.set(chunk.subarray(pos, pos + n));
        reader.commit(n);
        pos += n;
        fed += n;
        const views: [Uint8Array, Uint8Array][] = [];
        try {
          for (let body = reader.next(); body !== null; body = reader.next()) {
            views.push([body, body.slice()]);
            bodies.push(body.slice());
          }
        } finally {
          // Reused-buffer views: all bodies returned since writable() are still intact.
          for (const [view, copy] of views) deepEqual(view, copy);
        }
      }
    }
  } catch (e) {
    if (!(e instanceof ProtocolError)) fail(`FrameReader threw ${e}`);
    equal(e.code, ErrorCode.FrameTooLarge);
    // The reader stays failed: asking again gives the same error, and nothing was consumed.
    try {
      reader.next();
      fail("next() after FRAME_TOO_LARGE returned");
    } catch (again) {
      ok(again instanceof ProtocolError && again.code === ErrorCode.FrameTooLarge);
    }
    const total = chunks.reduce((n, c) => n + c.length, 0);
    return { bodies, tooLarge: true, rest: reader.buffered + total - fed };
  }
  return { bodies, tooLarge: false, rest: reader.buffered };
}

const options = fc.record({
  maxFrameBytes: fc.oneof(
    fc.integer({ min: 1, max: 64 }),
    fc.integer({ min: 1, max: 10_000 }),
    fc.constantFrom(4 * 1024 * 1024, 0xffff_ffff),
  ),
  bufferBytes: fc.oneof(fc.integer({ min: 16, max: 64 }), fc.integer({ min: 16, max: 4096 })),
});

/** A length prefix: small, around the maximum, or huge. */
function prefix(max: number) {
  return fc.oneof(
    fc.integer({ min: 0, max: 64 }),
    fc.constantFrom(0, max, max + 1, 0xffff_ffff, 0x8000_0000, 4 * 1024 * 1024 + 1),
    fc.integer({ min: 0, max: 0xffff_ffff }),
  ).map((n) => lengthPrefix(Math.min(n, 0xffff_ffff)));
}

/** A stream of well-formed frames, bare length prefixes and random bytes, in any order. */
function stream(max: number) {
  return fc.array(
    fc.oneof(
      { arbitrary: fc.uint8Array({ maxLength: 300 }).map(rawFrame), weight: 4 },
      { arbitrary: fc.uint8Array({ maxLength: 5000 }).map(rawFrame), weight: 1 },
      { arbitrary: prefix(max), weight: 2 },
      { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }), weight: 1 },
    ),
    { maxLength: 8 },
  ).map(concat);
}

Deno.test("fuzz: FrameReader yields the same frames for any stream however it is cut into reads", () => {
  fc.assert(
    fc.property(options.chain((o) => fc.tuple(fc.constant(o), stream(o.maxFrameBytes), chunking)), ([o, s, how]) => {
      deepEqual(run(split(s, how), o), reference(s, o.maxFrameBytes));
    }),
    fuzz(8_000),
  );
});

Deno.test("fuzz: FrameReader returns well-formed frame sequences intact, with nothing left over", () => {
  const arb = fc.tuple(
    fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 12 }),
    fc.integer({ min: 16, max: 512 }),
    chunking,
  );
  fc.assert(
    fc.property(arb, ([bodies, bufferBytes, how]) => {
      const got = run(split(concat(bodies.map(rawFrame)), how), { maxFrameBytes: 2000, bufferBytes });
      deepEqual(got, { bodies, tooLarge: false, rest: 0 });
    }),
    fuzz(5_000),
  );
});

Deno.test("fuzz: FrameReader gives FRAME_TOO_LARGE for a length over the maximum, whatever follows", () => {
  const arb = options.filter((o) => o.maxFrameBytes < 0xffff_ffff).chain((o) =>
    fc.tuple(
      fc.constant(o),
      fc.integer({ min: o.maxFrameBytes + 1, max: 0xffff_ffff }),
      fc.uint8Array({ maxLength: 64 }),
      chunking,
    )
  );
  fc.assert(
    fc.property(arb, ([o, len, tail, how]) => {
      const got = run(split(concat([rawFrame(Uint8Array.of(1)), lengthPrefix(len), tail]), how), o);
      deepEqual(got, { bodies: [Uint8Array.of(1)], tooLarge: true, rest: 4 + tail.length });
    }),
    fuzz(5_000),
  );
});

Deno.test("fuzz: FrameReader applies a changed maxFrameBytes from the next length prefix, keeping buffered bytes", () => {
  const arb = fc.tuple(
    fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 6 }),
    fc.integer({ min: 1, max: 400 }),
    fc.integer({ min: 16, max: 256 }),
  );
  fc.assert(
    fc.property(arb, ([bodies, newMax, bufferBytes]) => {
      // Everything arrives in one read; the limit changes after the first frame is returned.
      const s = concat(bodies.map(rawFrame));
      const reader = new FrameReader({ maxFrameBytes: 1000, bufferBytes });
      let pos = 0;
      const got: Uint8Array[] = [];
      let tooLarge = false;
      try {
        do {
          if (pos < s.length) {
            const w = reader.writable();
            const n = Math.min(w.length, s.length - pos);
            w.set(s.subarray(pos, pos + n));
            reader.commit(n);
            pos += n;
          }
          for (let body = reader.next(); body !== null; body = reader.next()) {
            got.push(body.slice());
            if (got.length === 1) reader.maxFrameBytes = newMax;
          }
        } while (pos < s.length);
      } catch (e) {
        ok(e instanceof ProtocolError && e.code === ErrorCode.FrameTooLarge, String(e));
        tooLarge = true;
      }
      const firstTooBig = bodies.findIndex((b, i) => i > 0 && b.length > newMax);
      const expected = firstTooBig === -1 ? bodies : bodies.slice(0, firstTooBig);
      deepEqual({ got, tooLarge }, { got: expected, tooLarge: firstTooBig !== -1 });
    }),
    fuzz(3_000),
  );
});

Deno.test("FrameReader.maxFrameBytes refuses what the constructor refuses", () => {
  const reader = new FrameReader();
  for (const bad of [0, -1, 1.5, NaN, 2 ** 32, Infinity]) {
    try {
      reader.maxFrameBytes = bad;
      fail(`accepted ${bad}`);
    } catch (e) {
      ok(e instanceof RangeError && /maxFrameBytes/.test(e.message));
    }
  }
  equal(reader.maxFrameBytes, 4 * 1024 * 1024);
});
