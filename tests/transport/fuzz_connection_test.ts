// Property-based fuzzing of the Connection read loop over an in-memory socket: valid messages, then
// garbage of every kind, cut into reads at random points, ending in EOF, a socket error or silence.
// Whatever arrives, `closed` resolves with a coded reason, nothing escapes as an exception or an
// unhandled rejection, and the messages before the garbage are delivered in order. An exact model
// (below) says which messages, which answers and which close reason each stream must produce.
//
// What a throwing onMessage/onInvalid does (decided here, documented on ConnectionOptions): it is a bug
// in the receiver, not the peer's fault; the connection closes with INTERNAL (local), the peer is told,
// and nothing after that message is delivered.
import { deepEqual, equal, fail, ok } from "node:assert/strict";
import fc from "fast-check";
import { ModuleClient } from "../../src/module/client.ts";
import { decode } from "../../src/protocol/decoder.ts";
import { encodeFrame } from "../../src/protocol/encoder.ts";
import { ErrorCode, ProtocolError } from "../../src/protocol/errors.ts";
import { type Message, parseMessage } from "../../src/protocol/messages.ts";
import { DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION } from "../../src/protocol/version.ts";
import { type CloseInfo, Connection } from "../../src/transport/connection.ts";
import { HandshakeGate } from "../../src/transport/gate.ts";
import { chunking, concat, fuzz, lengthPrefix, rawFrame, smallValue, split, wireString } from "../protocol/_fuzz.ts";
import { HOST_TO_MODULE, MODULE_TO_HOST, mutatedMessage, VALID, validMessage } from "../protocol/_messages.ts";
import { assertAsync, type End, FakeConn, noUnhandled, settle } from "./_fake_conn.ts";

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

// ---------------------------------------------------------------------------------------------------
// Streams.

/** One piece of garbage (or not): frames of every sort of body, bare length prefixes, raw bytes. */
const segment: fc.Arbitrary<Uint8Array> = fc.oneof(
  { arbitrary: validMessage().map(frameOf), weight: 3 },
  { arbitrary: mutatedMessage.map(frameOf), weight: 4 },
  { arbitrary: smallValue.map(frameOf), weight: 2 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }).map(rawFrame), weight: 2 },
  { arbitrary: VALID.close.map(frameOf), weight: 1 },
  {
    arbitrary: fc.oneof(
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.constantFrom(0, 0xffff_ffff, DEFAULT_MAX_FRAME_BYTES + 1, 5000),
    ).map(lengthPrefix),
    weight: 1,
  },
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 16 }), weight: 1 },
  { arbitrary: fc.constantFrom(...nastyFrames()), weight: 1 },
);

/** A frame holding `v`, or a malformed frame where the encoder cannot carry `v`. */
function frameOf(v: unknown): Uint8Array {
  try {
    return encodeFrame(v);
  } catch {
    return rawFrame(Uint8Array.of(0xc1));
  }
}

/** Frames that broke decoders or validators before (see the regression tests). */
function nastyFrames(): Uint8Array[] {
  return [
    rawFrame(Uint8Array.of(0x81, 0xa4, 0x6b, 0x69, 0x6e, 0x64, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
    encodeFrame({ kind: "\x01".repeat(3000) }),
    rawFrame(new Uint8Array(500).fill(0x91)),
    rawFrame(Uint8Array.of(0xd6, 0x69, 0, 0, 0, 1, 0x91, 0xd6, 0x70, 0, 0, 0, 1)),
    encodeFrame({ kind: "request", id: 7, method: "m", params: {}, deadline_ms: "soon" }),
    encodeFrame({ kind: "request", id: 2 ** 53, method: "m", params: {} }),
    encodeFrame({ kind: "log", level: "info", message: "m", id: -1 }),
  ];
}

const end = fc.constantFrom<End>("eof", "error", "hang");
const max = fc.oneof(
  { arbitrary: fc.integer({ min: 512, max: 4096 }), weight: 3 },
  { arbitrary: fc.integer({ min: 1, max: 511 }), weight: 1 },
  { arbitrary: fc.constant(DEFAULT_MAX_FRAME_BYTES), weight: 2 },
);
/** Whether and how onMessage throws: at the n-th message, with an Error, a ProtocolError or a string. */
const thrower = fc.option(
  fc.record({
    at: fc.nat(6),
    what: fc.constantFrom<unknown>(
      new Error("handler bug"),
      new ProtocolError(ErrorCode.InvalidParams, "thrown by a handler"),
      "a string",
      new Error("x".repeat(10_000)),
    ),
  }),
  { nil: undefined },
);

// ---------------------------------------------------------------------------------------------------
// The model.

interface Expected {
  delivered: Message[];
  /** Ids of invalid requests the host answers with INVALID_REQUEST. */
  answered: number[];
  code: string;
  initiator: "local" | "remote";
}

interface ModelOptions {
  side: "host" | "module";
  max: number;
  end: End;
  throwAt?: number;
  /** Module side: the limit from the first frame (the handshake ack) on. */
  maxAfterFirst?: number;
}

/** What a Connection must do with `stream`, worked out frame by frame from the whole stream. */
function model(stream: Uint8Array, o: ModelOptions): Expected {
  const delivered: Message[] = [];
  const answered: number[] = [];
  const done = (code: string, initiator: "local" | "remote") => ({ delivered, answered, code, initiator });
  const ended = () => done(ErrorCode.ConnectionClosed, o.end === "hang" ? "local" : "remote");
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  let max = o.max;
  let frames = 0;
  for (let pos = 0;;) {
    if (stream.length - pos < 4) return ended();
    const len = view.getUint32(pos);
    if (len > max) return done(ErrorCode.FrameTooLarge, "local");
    if (stream.length - pos - 4 < len) return ended();
    const body = stream.subarray(pos + 4, pos + 4 + len);
    pos += 4 + len;
    let value: unknown;
    try {
      value = decode(body);
    } catch {
      return done(ErrorCode.MalformedFrame, "local");
    }
    let m: Message;
    try {
      m = parseMessage(value);
    } catch (e) {
      const id = ((e as ProtocolError).cause as { id?: number } | undefined)?.id;
      if (o.side !== "host" || id === undefined) return done(ErrorCode.InvalidMessage, "local");
      // The answer must fit in a frame; if it does not, onInvalid fails, which is a handler failure.
      if (encodeFrame(answer(id, e as ProtocolError)).length - 4 > o.max) return done(ErrorCode.Internal, "local");
      answered.push(id);
      continue;
    }
    if (m.kind === "close") return done(m.code, "remote");
    if (delivered.length === o.throwAt) return done(ErrorCode.Internal, "local");
    delivered.push(m);
    if (++frames === 1 && o.maxAfterFirst !== undefined) max = o.maxAfterFirst;
  }
}

/** The host's answer to an invalid request, as session.ts sends it. */
function answer(id: number, e: ProtocolError): Message {
  return { kind: "response", id, ok: false, error: { code: ErrorCode.InvalidRequest, message: e.message } };
}

/**
 * The frames in what the connection wrote, decoded, and whether the last one was cut off (a connection
 * the peer closed drops what it had not written yet).
 */
function written(fake: FakeConn): { messages: Message[]; cut: boolean } {
  const bytes = concat(fake.written);
  const view = new DataView(bytes.buffer);
  const messages: Message[] = [];
  for (let pos = 0; pos < bytes.length;) {
    if (bytes.length - pos < 4 || bytes.length - pos - 4 < view.getUint32(pos)) return { messages, cut: true };
    const len = view.getUint32(pos);
    messages.push(parseMessage(decode(bytes.subarray(pos + 4, pos + 4 + len))));
    pos += 4 + len;
  }
  return { messages, cut: false };
}

function writtenMessages(fake: FakeConn): Message[] {
  return written(fake).messages;
}

/**
 * Checks the outcome of one run against the model: the close reason, what was delivered, and what was
 * written (answers, then, for a close this side made with a code, a `close` frame saying why).
 */
function check(info: CloseInfo, got: Message[], fake: FakeConn, expected: Expected, max: number, before = 0) {
  ok(
    KNOWN_CODES.has(info.code) || info.initiator === "remote",
    `closed with an unknown code ${info.code} (${info.message})`,
  );
  deepEqual({ code: info.code, initiator: info.initiator }, { code: expected.code, initiator: expected.initiator });
  deepEqual(got, expected.delivered);
  ok(fake.closed, "the socket was not closed");
  const out = written(fake);
  // Only a connection the peer ended may leave a frame half-written; this side flushes before it closes.
  ok(!out.cut || info.initiator === "remote", "a frame was left half-written on a local close");
  const sent = out.messages.slice(before);
  const answers = sent.filter((m) => m.kind === "response");
  const ids = answers.map((m) => m.id);
  deepEqual(ids, info.initiator === "remote" ? expected.answered.slice(0, ids.length) : expected.answered);
  for (const a of answers) equal(a.kind === "response" && !a.ok && a.error.code, ErrorCode.InvalidRequest);
  const closes = sent.filter((m) => m.kind === "close");
  const told = info.initiator === "local" && info.code !== ErrorCode.ConnectionClosed;
  if (told && closes.length === 0) {
    // Only a tiny frame limit leaves no room for the reason (it is cut to 1024 characters).
    ok(max < 3200, `no close frame was sent for ${info.code} with a ${max}-byte limit`);
  } else {
    equal(closes.length, told ? 1 : 0, `close frames: ${JSON.stringify(closes)}`);
  }
  if (closes.length === 1) {
    equal(sent.at(-1), closes[0], "the close frame is the last frame");
    const c = closes[0] as Extract<Message, { kind: "close" }>;
    equal(c.code, info.code);
    ok(info.message.startsWith(c.message.replace(/\.\.\.$/, "")), c.message);
  }
}

// ---------------------------------------------------------------------------------------------------
// Host side: the options session.ts sets (a frame limit, onInvalid answering requests that have an id).

interface HostCase {
  prefix: Record<string, unknown>[];
  garbage: Uint8Array[];
  max: number;
  end: End;
  how: number[] | "bytes" | "whole";
  maxWrite: number;
  throwAt?: { at: number; what: unknown };
}

const hostCase: fc.Arbitrary<HostCase> = fc.record({
  prefix: fc.array(validMessage(MODULE_TO_HOST), { maxLength: 5 }),
  garbage: fc.array(segment, { maxLength: 5 }),
  max,
  end,
  how: chunking,
  maxWrite: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 64 })),
  throwAt: thrower,
});

async function runHost(c: HostCase): Promise<void> {
  const stream = concat([...c.prefix.map(frameOf), ...c.garbage]);
  const fake = new FakeConn(split(stream, c.how), c.end, { maxWrite: c.maxWrite });
  const got: Message[] = [];
  const conn: Connection = new Connection(fake.conn, {
    maxFrameBytes: c.max,
    onMessage: (m) => {
      if (got.length === c.throwAt?.at) throw c.throwAt.what;
      got.push(m);
    },
    onInvalid: (e) => {
      const id = (e.cause as { id?: number } | undefined)?.id;
      if (id === undefined) return false;
      conn.send(answer(id, e));
      return true;
    },
  });
  conn.start();
  const info = await settle(fake, conn);
  const expected = model(stream, { side: "host", max: c.max, end: c.end, throwAt: c.throwAt?.at });
  check(info, got, fake, expected, c.max);
  equal(conn.isClosed, true);
  equal(conn.send({ kind: "cancel", id: 1 }), false);
}

Deno.test("fuzz: host-side Connection survives any input and closes with the reason the model predicts", async () => {
  await assertAsync(hostCase, runHost, fuzz(3_000));
});

// ---------------------------------------------------------------------------------------------------
// Module side: the options connect.ts sets (no onInvalid, a handshake gate, and the frame limit the
// host announced set once the ack has arrived).

interface ModuleCase {
  ack: Record<string, unknown>;
  announced: number;
  prefix: Record<string, unknown>[];
  garbage: Uint8Array[];
  end: End;
  how: number[] | "bytes" | "whole";
}

const moduleCase: fc.Arbitrary<ModuleCase> = fc.record({
  ack: VALID.handshake_ack.map((a) => ({ ...a, protocol: PROTOCOL_VERSION })),
  announced: fc.oneof(
    fc.integer({ min: 64, max: 4096 }),
    fc.constantFrom(DEFAULT_MAX_FRAME_BYTES, 16 * 1024 * 1024, 2 ** 32, 2 ** 40, 0, -1),
  ),
  prefix: fc.array(validMessage(HOST_TO_MODULE), { maxLength: 5 }),
  garbage: fc.array(segment, { maxLength: 5 }),
  end,
  how: chunking,
});

/** connect.ts: an announced limit is used when it is a positive integer. */
function readLimit(announced: number): number {
  return Number.isInteger(announced) && announced > 0 ? Math.min(announced, 0xffff_ffff) : DEFAULT_MAX_FRAME_BYTES;
}

async function runModule(c: ModuleCase): Promise<void> {
  const ack = { ...c.ack, limits: { ...(c.ack.limits as object), max_frame_bytes: c.announced } };
  const ackFrame = encodeFrame(ack);
  const rest = concat([...c.prefix.map(frameOf), ...c.garbage]);
  // The ack is one read; the rest waits until the module has applied the announced limit, as a host
  // that answers the handshake and only then sends more would make it.
  const fake = new FakeConn([ackFrame, ...split(rest, c.how)], c.end, { holdAfter: 1 });
  const gate = new HandshakeGate();
  const conn = new Connection(fake.conn, {
    onMessage: (m) => gate.push(m),
    onClose: (info) => gate.fail(new Error(info.message)),
  });
  conn.start();
  conn.send({ kind: "handshake", protocol: PROTOCOL_VERSION, module_id: "m", token: "t", sdk_version: "fuzz" });
  const first = await gate.first;
  const max = first.kind === "handshake_ack" ? first.limits?.max_frame_bytes : undefined;
  if (Number.isInteger(max) && max! > 0) conn.maxFrameBytes = max!;
  const got: Message[] = [first];
  gate.open((m) => got.push(m));
  fake.release();
  const info = await settle(fake, conn);
  const expected = model(concat([ackFrame, rest]), {
    side: "module",
    max: DEFAULT_MAX_FRAME_BYTES,
    maxAfterFirst: readLimit(c.announced),
    end: c.end,
  });
  check(info, got, fake, expected, readLimit(c.announced), 1);
  equal(conn.maxFrameBytes, Number.isInteger(c.announced) && c.announced > 0 ? c.announced : DEFAULT_MAX_FRAME_BYTES);
}

Deno.test("fuzz: module-side Connection survives any input and enforces the limit the host announced", async () => {
  await assertAsync(moduleCase, runModule, fuzz(3_000));
});

// ---------------------------------------------------------------------------------------------------
// Module side with the real SDK dispatch (ModuleClient) behind the gate: whatever the host sends, the
// SDK's handlers never throw into the read loop and nothing is left unhandled.

const sdkCase = fc.record({
  prefix: fc.array(validMessage([...HOST_TO_MODULE, "close"]), { maxLength: 6 }),
  events: fc.array(
    fc.record({
      kind: fc.constant("event"),
      type: fc.constantFrom("HealthCheck", "StorageFlush", "NodeShutdown", "NewBlock", "x.Y", "constructor"),
      seq: fc.oneof(fc.nat(5), fc.constantFrom(-1, 1.5, NaN, 2 ** 53)),
      payload: smallValue,
      replay: fc.option(fc.boolean(), { nil: undefined }),
    }),
    { maxLength: 3 },
  ),
  invocations: fc.array(
    fc.record({ kind: fc.constant("invocation"), id: fc.nat(9), method: wireString, params: smallValue }),
    { maxLength: 2 },
  ),
  garbage: fc.array(segment, { maxLength: 3 }),
  end,
  how: chunking,
});

Deno.test("fuzz: the SDK's dispatch never throws into the module's read loop", async () => {
  const quiet = console.error;
  console.error = () => {}; // the SDK reports a lost host on stderr
  try {
    await assertAsync(
      sdkCase,
      async (c) => {
        const limits = { call_timeout_ms: 1000, stop_timeout_ms: 200, max_frame_bytes: 1 << 20 };
        const stream = [...c.prefix, ...c.events, ...c.invocations].map(frameOf);
        const fake = new FakeConn(split(concat([...stream, ...c.garbage]), c.how), c.end);
        const gate = new HandshakeGate();
        const conn = new Connection(fake.conn, { onMessage: (m) => gate.push(m) });
        conn.start();
        const client = new ModuleClient(conn, {
          moduleId: "m",
          config: {},
          dataDir: "/nonexistent",
          socketPath: "/nonexistent",
          nodeVersion: "0",
          limits,
        }, { exitOnDisconnect: false, exitOnStop: false });
        gate.open((m) => client.dispatch(m)); // as after the handshake: everything goes to the client
        const info = await settle(fake, conn);
        ok(KNOWN_CODES.has(info.code) || info.initiator === "remote", info.code);
        ok(info.code !== ErrorCode.Internal, `the SDK's dispatch threw: ${info.message}`);
      },
      fuzz(1_500),
    );
  } finally {
    console.error = quiet;
  }
});

// ---------------------------------------------------------------------------------------------------
// Regressions found by the properties above.

Deno.test("Connection: a frame whose close reason would not fit in a frame no longer crashes the process", async () => {
  // parseMessage() quoted the whole unknown kind; the close frame then exceeded the limit, send() threw
  // inside close(), and the unhandled rejection killed the host.
  const frame = encodeFrame({ kind: "\x01".repeat(1_000_000) });
  const fake = new FakeConn([frame], "hang");
  const conn = new Connection(fake.conn, { onMessage: () => fail("delivered") });
  conn.start();
  const info = await settle(fake, conn);
  equal(info.code, ErrorCode.InvalidMessage);
  equal(info.initiator, "local");
  ok(info.message.length < 300, info.message);
  equal(writtenMessages(fake).at(-1)?.kind, "close");
  await noUnhandled();
});

Deno.test("Connection.close() with a reason too long for a frame still closes, telling the peer a cut reason", async () => {
  for (const max of [1, 64, 4096]) {
    const fake = new FakeConn([], "hang");
    const conn = new Connection(fake.conn, { onMessage: () => {}, maxFrameBytes: max });
    conn.start();
    const info = await conn.close(ErrorCode.Unavailable, "y".repeat(100_000));
    deepEqual({ code: info.code, initiator: info.initiator }, { code: ErrorCode.Unavailable, initiator: "local" });
    equal(info.message.length, 100_000);
    ok(fake.closed);
    const written = writtenMessages(fake);
    if (max === 4096) {
      equal(written.length, 1);
      const c = written[0] as Extract<Message, { kind: "close" }>;
      equal(c.code, ErrorCode.Unavailable);
      ok(c.message.length < 1100 && c.message.startsWith("yyy"), `${c.message.length} chars`);
    } else {
      equal(written.length, 0);
    }
    await noUnhandled();
  }
});

Deno.test("Connection: a throwing onMessage closes with INTERNAL and tells the peer, instead of a 'Read failed'", async () => {
  const frames = [1, 2, 3].map((id) => encodeFrame({ kind: "cancel", id }));
  const fake = new FakeConn([concat(frames)], "hang");
  const got: number[] = [];
  const conn = new Connection(fake.conn, {
    onMessage: (m) => {
      if (m.kind === "cancel" && m.id === 2) throw new TypeError("handler bug");
      if (m.kind === "cancel") got.push(m.id);
    },
  });
  conn.start();
  const info = await settle(fake, conn);
  deepEqual({ code: info.code, initiator: info.initiator }, { code: ErrorCode.Internal, initiator: "local" });
  ok(info.message.includes("handler bug"), info.message);
  deepEqual(got, [1]);
  deepEqual(writtenMessages(fake).map((m) => m.kind === "close" && m.code), [ErrorCode.Internal]);
  await noUnhandled();
});

Deno.test("Connection.maxFrameBytes set after start() applies to the frames read from then on", async () => {
  // connect.ts sets the limit the host announced after the handshake; the read loop kept the reader it
  // started with, so the module enforced 4 MiB whatever the host said (and rejected bigger frames from
  // a host configured above 4 MiB).
  for (const [limit, size, code] of [[1000, 2000, ErrorCode.FrameTooLarge], [8 << 20, 5 << 20, "ok"]] as const) {
    const big = encodeFrame({ kind: "cancel", id: 1, pad: "z".repeat(size) });
    const fake = new FakeConn([encodeFrame({ kind: "cancel", id: 0 }), big], "eof", { holdAfter: 1 });
    const got: Message[] = [];
    const conn = new Connection(fake.conn, { onMessage: (m) => got.push(m) });
    conn.start();
    while (got.length === 0) await new Promise((r) => setTimeout(r, 1));
    conn.maxFrameBytes = limit;
    fake.release();
    const info = await settle(fake, conn);
    if (code === "ok") {
      equal(got.length, 2);
      equal(info.code, ErrorCode.ConnectionClosed);
    } else {
      equal(got.length, 1);
      equal(info.code, code);
    }
  }
  await noUnhandled();
});

Deno.test("Connection.maxFrameBytes accepts an announced limit beyond 2^32-1 (a length prefix cannot exceed it)", () => {
  const conn = new Connection(new FakeConn([], "hang").conn, { onMessage: () => {} });
  conn.maxFrameBytes = 2 ** 40;
  equal(conn.maxFrameBytes, 2 ** 40);
});
