import { deepEqual, equal, ok } from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { LOG_LIMIT, LogGate, MAX_LOG_CHARS } from "../../src/host/log_gate.ts";

Deno.test("LogGate cuts long messages and replaces oversized fields, bigints included", () => {
  const gate = new LogGate(getLogger(["test", "gate"]));
  const kept = gate.admit("x".repeat(MAX_LOG_CHARS + 10), { n: 1n, ok: true });
  equal(kept?.message.length, MAX_LOG_CHARS + 3);
  deepEqual(kept?.fields, { n: 1n, ok: true });
  deepEqual(gate.admit("m", { big: "y".repeat(MAX_LOG_CHARS) })?.fields, { fields_dropped: "too large" });
});

Deno.test("LogGate drops messages past its burst and counts them", () => {
  const gate = new LogGate(getLogger(["test", "gate"]));
  let kept = 0;
  const total = LOG_LIMIT.burst + 20_000;
  for (let i = 0; i < total; i++) if (gate.admit(`m${i}`)) kept++;
  // The bucket refills while the loop runs (500 a second), so a few more than the burst may pass.
  ok(kept >= LOG_LIMIT.burst && kept < total, `${kept} kept`);
  equal(gate.dropped, total - kept);
});
