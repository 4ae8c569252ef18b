// No journaled event reaches a module's socket before it is on disk, even when the connection had a write
// due earlier in the same turn (a response), which would otherwise run before the journal's own write.
import { ok } from "node:assert/strict";
import { EventBus } from "../../src/host/events.ts";
import { EventJournal } from "../../src/host/journal.ts";
import { Connection } from "../../src/transport/connection.ts";

Deno.test("a module connection writes journaled events only after the journal has written them", async () => {
  const dir = await Deno.makeTempDir();
  const journal = EventJournal.open(dir);
  journal.track("m", { types: ["NewBlock"], moduleEvents: false });
  const bus = new EventBus({}, { journal });
  const onDisk = () =>
    [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("seg-"))
      .reduce((n, e) => n + Deno.statSync(`${dir}/${e.name}`).size, 0);
  const writes: { bytes: number; journal: number }[] = [];
  const socket = {
    read: () => new Promise<number | null>(() => {}),
    write: (b: Uint8Array) => {
      writes.push({ bytes: b.length, journal: onDisk() });
      return new Promise<number>((r) => setTimeout(() => r(b.length), 0));
    },
    close() {},
  } as unknown as Deno.Conn;
  const conn = new Connection(socket, { onMessage: () => {} });
  conn.beforeWrite = () => bus.writeJournal(); // as the host sets it for every module
  bus.subscribe(conn, { types: ["NewBlock"] });
  const before = onDisk();
  const hash = "ab".repeat(32);
  // One turn: a response first (its write is due at the end of the turn), then two journaled events.
  conn.send({ kind: "response", id: 1, ok: true, result: 5 });
  bus.publish("NewBlock", { hash, height: 1, prev_hash: hash, time: 1 });
  bus.publish("NewBlock", { hash, height: 2, prev_hash: hash, time: 2 });
  await new Promise((r) => setTimeout(r, 50));
  ok(writes.length > 0);
  const both = onDisk() - before;
  ok(both > 0, "the events were journaled");
  // The write that carried them saw both of them on disk already.
  ok(writes[0].journal - before >= both, JSON.stringify({ writes, before, both }));
  journal.close();
  await Deno.remove(dir, { recursive: true });
});
