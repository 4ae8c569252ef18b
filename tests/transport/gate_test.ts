import { deepEqual, equal, rejects } from "node:assert/strict";
import { HandshakeGate } from "../../mod.ts";
import type { Message } from "../../src/protocol/mod.ts";

const cancel = (id: number): Message => ({ kind: "cancel", id });

Deno.test("HandshakeGate settles first with the first message and holds the rest until open()", async () => {
  const gate = new HandshakeGate();
  gate.push(cancel(1));
  gate.push(cancel(2));
  gate.push(cancel(3));
  deepEqual(await gate.first, cancel(1));
  const seen: Message[] = [];
  gate.open((m) => seen.push(m));
  deepEqual(seen, [cancel(2), cancel(3)]);
  gate.push(cancel(4));
  deepEqual(seen, [cancel(2), cancel(3), cancel(4)]);
  equal(gate.isOpen, true);
});

Deno.test("HandshakeGate.open(…, true) delivers held messages on a later task", async () => {
  const gate = new HandshakeGate();
  gate.push(cancel(1));
  gate.push(cancel(2));
  const seen: Message[] = [];
  gate.open((m) => seen.push(m), true);
  deepEqual(seen, []);
  await new Promise((r) => setTimeout(r, 5));
  deepEqual(seen, [cancel(2)]);
});

Deno.test("HandshakeGate.fail() rejects first only before the first message", async () => {
  const failed = new HandshakeGate();
  failed.fail(new Error("closed"));
  await rejects(failed.first, /closed/);
  const ok = new HandshakeGate();
  ok.push(cancel(9));
  ok.fail(new Error("late"));
  deepEqual(await ok.first, cancel(9));
});
