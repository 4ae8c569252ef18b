import { deepEqual, equal, ok } from "node:assert/strict";
import { Connection } from "../../mod.ts";
import type { Message } from "../../src/protocol/mod.ts";

async function socketPair(): Promise<[Deno.Conn, Deno.Conn, () => Promise<void>]> {
  const dir = await Deno.makeTempDir();
  const listener = Deno.listen({ transport: "unix", path: `${dir}/s` });
  const [a, b] = await Promise.all([Deno.connect({ transport: "unix", path: `${dir}/s` }), listener.accept()]);
  listener.close();
  return [a, b, () => Deno.remove(dir, { recursive: true })];
}

/** Wraps a conn to count write() calls. */
function counting(conn: Deno.Conn): { conn: Deno.Conn; writes: () => number } {
  let writes = 0;
  const wrapped = Object.create(conn, {
    write: { value: (b: Uint8Array) => (writes++, conn.write(b)) },
    read: { value: (b: Uint8Array) => conn.read(b) },
    close: { value: () => conn.close() },
  });
  return { conn: wrapped, writes: () => writes };
}

Deno.test("Connection coalesces messages sent in one tick into few writes, in order", async () => {
  const [a, b, cleanup] = await socketPair();
  const { conn, writes } = counting(a);
  const got: number[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => done = r);
  const rx = new Connection(b, {
    onMessage: (m) => {
      if (m.kind === "cancel") got.push(m.id);
      if (got.length === 5000) done();
    },
  });
  rx.start();
  const tx = new Connection(conn, { onMessage: () => {} });
  tx.start();
  for (let i = 0; i < 5000; i++) tx.send({ kind: "cancel", id: i });
  await all;
  deepEqual(got, [...Array(5000).keys()]);
  ok(writes() <= 3, `expected at most 3 writes for 5000 messages, saw ${writes()}`);
  await tx.close();
  await rx.closed;
  await cleanup();
});

Deno.test("Connection writes everything a read batch produces, even from async handlers, in one write", async () => {
  const [a, b, cleanup] = await socketPair();
  const { conn, writes } = counting(b);
  // The answering side replies from an async handler, a few awaits deep, as the host's NodeAPI does.
  const rx: Connection = new Connection(conn, {
    onMessage: async (m) => {
      if (m.kind !== "request") return;
      await Promise.resolve();
      await null;
      rx.send({ kind: "response", id: m.id, ok: true, result: m.id });
    },
  });
  rx.start();
  const got: number[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => done = r);
  const tx = new Connection(a, {
    onMessage: (m) => {
      if (m.kind === "response") got.push(m.id);
      if (got.length === 16) done();
    },
  });
  tx.start();
  // 16 requests in one write: they arrive in one read and are answered in one write, not 1 + 15.
  for (let i = 0; i < 16; i++) tx.send({ kind: "request", id: i, method: "get_block_height", params: {} });
  await all;
  deepEqual(got, [...Array(16).keys()]);
  equal(writes(), 1);
  await tx.close();
  await rx.closed;
  await cleanup();
});

Deno.test("Connection.close() with a code tells the peer why", async () => {
  const [a, b, cleanup] = await socketPair();
  const rx = new Connection(b, { onMessage: () => {} });
  rx.start();
  const tx = new Connection(a, { onMessage: () => {} });
  tx.start();
  await tx.close("UNAVAILABLE", "going away");
  const info = await rx.closed;
  deepEqual(info, { code: "UNAVAILABLE", message: "Peer closed: going away", initiator: "remote" });
  equal(tx.send({ kind: "cancel", id: 1 }), false);
  await cleanup();
});

Deno.test("Connection reports a peer that vanishes as a remote close", async () => {
  const [a, b, cleanup] = await socketPair();
  const rx = new Connection(b, { onMessage: () => {} });
  rx.start();
  a.close();
  const info = await rx.closed;
  equal(info.initiator, "remote");
  equal(info.code, "CONNECTION_CLOSED");
  await cleanup();
});

Deno.test("Connection lets onInvalid answer a bad message and keep the connection", async () => {
  const [a, b, cleanup] = await socketPair();
  const seen: Message[] = [];
  let invalid = 0;
  const rx = new Connection(b, {
    onMessage: (m) => seen.push(m),
    onInvalid: () => ++invalid > 0,
  });
  rx.start();
  const tx = new Connection(a, { onMessage: () => {} });
  tx.start();
  tx.send({ kind: "request", id: 1, method: 5 } as unknown as Message);
  tx.send({ kind: "cancel", id: 2 });
  await tx.drained();
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  equal(invalid, 1);
  deepEqual(seen, [{ kind: "cancel", id: 2 }]);
  ok(!rx.isClosed);
  await tx.close();
  await rx.closed;
  await cleanup();
});

Deno.test("Connection.send() refuses a frame over the limit the peer enforces, and stays usable", async () => {
  const [a, b, cleanup] = await socketPair();
  const got: string[] = [];
  const rx = new Connection(b, { onMessage: (m) => m.kind === "log" && got.push(m.message), maxFrameBytes: 100 });
  rx.start();
  const tx = new Connection(a, { onMessage: () => {}, maxFrameBytes: 100 });
  tx.start();
  let err: unknown;
  try {
    tx.send({ kind: "log", level: "info", message: "x".repeat(200) });
  } catch (e) {
    err = e;
  }
  ok(err instanceof RangeError && /exceeds the 100-byte maximum/.test(err.message), String(err));
  tx.send({ kind: "log", level: "info", message: "small" });
  await tx.drained();
  while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
  deepEqual(got, ["small"]);
  ok(!rx.isClosed);
  await tx.close();
  await rx.closed;
  await cleanup();
});
