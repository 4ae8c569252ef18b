import { equal, ok } from "node:assert/strict";
import { InFlightCall } from "../../src/host/inflight.ts";

Deno.test("InFlightCall: a signal taken before the abort is aborted with the reason", () => {
  const call = new InFlightCall("get_block", 1000);
  const signal = call.signal;
  equal(signal.aborted, false);
  const why = new Error("deadline");
  call.abort(why);
  ok(call.aborted);
  ok(signal.aborted);
  equal(signal.reason, why);
  call.abort(new Error("again")); // once only
  equal(signal.reason, why);
});

Deno.test("InFlightCall: a signal first asked for after the abort is already aborted", () => {
  const call = new InFlightCall("get_block", 1000);
  call.abort();
  const signal = call.signal;
  ok(signal.aborted);
  equal((signal.reason as DOMException).name, "AbortError");
  equal(call.signal, signal, "the same signal each time");
});
