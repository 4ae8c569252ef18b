import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { acceptSession, createNodeApiHandlers, DevNode, ModuleStartError } from "../../mod.ts";
import { decode, DEFAULT_CAPABILITIES, encodeFrame, FrameReader, PROTOCOL_VERSION } from "../../src/protocol/mod.ts";

/** A session accepted on a temp socket, and a raw client socket to drive it byte by byte. */
async function rawSession() {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/s.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const accepted = acceptSession(
    listener,
    {
      moduleId: "raw",
      token: "secret",
      context: { module_id: "raw", config: {}, data_dir: dir },
      limits: { call_timeout_ms: 1000, stop_timeout_ms: 1000, max_frame_bytes: 1 << 16 },
      handlers: createNodeApiHandlers(DevNode.open()),
      capabilities: new Set(DEFAULT_CAPABILITIES),
      rateLimit: null,
      logger: getLogger(["test"]),
    },
    2_000,
    new Promise(() => {}),
  );
  accepted.catch(() => {}); // tests that expect a rejection assert on `accepted` themselves
  const conn = await Deno.connect({ transport: "unix", path });
  const reader = new FrameReader();
  const next = async (): Promise<Record<string, unknown> | null> => {
    while (true) {
      const body = reader.next();
      if (body) return decode(body) as Record<string, unknown>;
      const n = await conn.read(reader.writable());
      if (n === null) return null;
      reader.commit(n);
    }
  };
  const handshake = {
    kind: "handshake",
    protocol: PROTOCOL_VERSION,
    module_id: "raw",
    token: "secret",
    sdk_version: "raw",
  };
  return {
    conn,
    next,
    handshake,
    accepted,
    async [Symbol.asyncDispose]() {
      listener.close();
      try {
        conn.close();
      } catch { /* already closed */ }
      await accepted.then((s) => s.closed, () => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("acceptSession() answers a request pipelined in the same write as the handshake", async () => {
  await using r = await rawSession();
  const hs = encodeFrame(r.handshake);
  const req = encodeFrame({ kind: "request", id: 1, method: "get_block_height", params: {} });
  const both = new Uint8Array(hs.length + req.length);
  both.set(hs);
  both.set(req, hs.length);
  await r.conn.write(both);
  equal((await r.next())?.kind, "handshake_ack");
  deepEqual(await r.next(), { kind: "response", id: 1, ok: true, result: 0 });
});

Deno.test("ModuleSession answers Object.prototype names with METHOD_NOT_FOUND", async () => {
  await using r = await rawSession();
  await r.conn.write(encodeFrame(r.handshake));
  await r.next();
  for (const [i, method] of ["constructor", "toString", "__proto__", "hasOwnProperty"].entries()) {
    await r.conn.write(encodeFrame({ kind: "request", id: i, method, params: [] }));
    const res = await r.next() as { ok: boolean; error: { code: string } };
    equal(res.ok, false, method);
    equal(res.error.code, "METHOD_NOT_FOUND", method);
  }
});

Deno.test("ModuleSession answers a malformed request with INVALID_REQUEST and keeps serving", async () => {
  await using r = await rawSession();
  await r.conn.write(encodeFrame(r.handshake));
  await r.next();
  await r.conn.write(encodeFrame({ kind: "request", id: 7, method: 42, params: {} }));
  const res = await r.next() as { id: number; error: { code: string; message: string } };
  equal(res.id, 7);
  equal(res.error.code, "INVALID_REQUEST");
  ok(res.error.message.includes("'method'"), res.error.message);
  await r.conn.write(encodeFrame({ kind: "request", id: 8, method: "get_block_height", params: {} }));
  equal((await r.next())?.result, 0);
});

Deno.test("ModuleSession closes with INVALID_MESSAGE for an invalid non-request, even with an id", async () => {
  await using r = await rawSession();
  await r.conn.write(encodeFrame(r.handshake));
  await r.next();
  await r.conn.write(encodeFrame({ kind: "bogus", id: 3 }));
  const close = await r.next();
  equal(close?.kind, "close");
  equal(close?.code, "INVALID_MESSAGE");
  equal(await r.next(), null);
  const info = await (await r.accepted).closed;
  equal(info.code, "INVALID_MESSAGE");
});

Deno.test("acceptSession() rejects a first message that is not a handshake", async () => {
  await using r = await rawSession();
  await r.conn.write(encodeFrame({ kind: "request", id: 1, method: "get_block_height", params: {} }));
  const reject = await r.next();
  equal(reject?.kind, "handshake_reject");
  equal(reject?.code, "INVALID_MESSAGE");
  await rejects(r.accepted, (e: unknown) => e instanceof ModuleStartError && e.code === "INVALID_MESSAGE");
});

Deno.test("acceptSession() refuses a protocol 1 module (hex blocks) with VERSION_MISMATCH naming both versions", async () => {
  await using r = await rawSession();
  await r.conn.write(encodeFrame({ ...r.handshake, protocol: 1 }));
  const reject = await r.next() as { kind: string; code: string; message: string; protocol: number };
  equal(reject.kind, "handshake_reject");
  equal(reject.code, "VERSION_MISMATCH");
  equal(reject.protocol, 2);
  ok(reject.message.includes("protocol 1; this host speaks 2"), reject.message);
  await rejects(r.accepted, (e: unknown) => e instanceof ModuleStartError && e.code === "VERSION_MISMATCH");
});

Deno.test("acceptSession() enforces the frame limit it announces", async () => {
  await using r = await rawSession();
  await r.conn.write(encodeFrame(r.handshake));
  const ack = await r.next() as { limits: { max_frame_bytes: number } };
  equal(ack.limits.max_frame_bytes, 1 << 16);
  await r.conn.write(encodeFrame({ kind: "log", level: "info", message: "x".repeat(1 << 16) }));
  const close = await r.next();
  equal(close?.code, "FRAME_TOO_LARGE");
});
