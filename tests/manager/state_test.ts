// The module lifecycle state machine.
import { deepEqual, equal, ok } from "node:assert/strict";
import { canTransition, healthOf, MODULE_STATES, type ModuleState } from "../../src/manager/state.ts";

// Every allowed move, as documented in src/manager/state.ts (diagram plus the operator's moves:
// reload of a failed or quarantined module, unload while starting or crashed, failure updates).
const ALLOWED: Record<ModuleState, ModuleState[]> = {
  discovered: ["starting", "failed"],
  starting: ["running", "crashed", "failed", "stopping", "stopped"],
  running: ["stopping", "crashed", "stopped"],
  stopping: ["stopped", "crashed"],
  stopped: ["starting", "failed"],
  crashed: ["starting", "quarantined", "stopped", "failed", "stopping"],
  quarantined: ["starting", "stopped", "failed"],
  failed: ["starting", "stopped", "failed"],
};

Deno.test("MODULE_STATES lists the eight states", () => {
  deepEqual([...MODULE_STATES].sort(), [
    "crashed",
    "discovered",
    "failed",
    "quarantined",
    "running",
    "starting",
    "stopped",
    "stopping",
  ]);
});

Deno.test("canTransition allows exactly the documented moves", () => {
  const wrong: string[] = [];
  for (const from of MODULE_STATES) {
    for (const to of MODULE_STATES) {
      const expected = ALLOWED[from].includes(to);
      if (canTransition(from, to) !== expected) wrong.push(`${from} → ${to}: expected ${expected}`);
    }
  }
  deepEqual(wrong, []);
});

Deno.test("The diagram's edges are allowed", () => {
  const edges: [ModuleState, ModuleState][] = [
    ["discovered", "starting"],
    ["discovered", "failed"],
    ["starting", "running"],
    ["starting", "crashed"],
    ["running", "stopping"],
    ["running", "crashed"],
    ["stopping", "stopped"],
    ["stopped", "starting"],
    ["crashed", "starting"],
    ["crashed", "quarantined"],
    ["crashed", "stopped"],
  ];
  for (const [from, to] of edges) ok(canTransition(from, to), `${from} → ${to}`);
});

Deno.test("Forbidden moves: nothing runs without starting, nothing goes back to discovered", () => {
  const forbidden: [ModuleState, ModuleState][] = [
    ["stopped", "running"],
    ["discovered", "running"],
    ["quarantined", "running"],
    ["failed", "running"],
    ["crashed", "running"],
    ["stopping", "running"],
    ["running", "starting"],
    ["running", "running"],
    ["running", "failed"],
    ["running", "quarantined"],
    ["stopped", "stopping"],
    ["stopped", "crashed"],
    ["discovered", "stopped"],
    ["stopping", "starting"],
    ["quarantined", "crashed"],
  ];
  for (const [from, to] of forbidden) equal(canTransition(from, to), false, `${from} → ${to}`);
  for (const from of MODULE_STATES) equal(canTransition(from, "discovered"), false, `${from} → discovered`);
});

Deno.test("healthOf: running is healthy; crashed, quarantined and failed are unhealthy; the rest unknown", () => {
  const expected: Record<ModuleState, string> = {
    discovered: "unknown",
    starting: "unknown",
    running: "healthy",
    stopping: "unknown",
    stopped: "unknown",
    crashed: "unhealthy",
    quarantined: "unhealthy",
    failed: "unhealthy",
  };
  for (const s of MODULE_STATES) equal(healthOf(s), expected[s], s);
});
