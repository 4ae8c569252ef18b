// The module lifecycle state machine.
import { deepEqual, equal, ok } from "node:assert/strict";
import { canTransition, healthOf, MODULE_STATES, type ModuleState } from "../../src/manager/state.ts";

// Every allowed move, as documented in src/manager/state.ts (diagram plus the operator's moves:
// reload of a failed or quarantined module, unload while starting or crashed, failure updates, and a
// deleted folder, which leaves a module `missing` for good: it comes back only as a new record).
const ALLOWED: Record<ModuleState, ModuleState[]> = {
  discovered: ["starting", "failed", "missing"],
  starting: ["running", "crashed", "failed", "stopping", "stopped"],
  running: ["stopping", "crashed", "stopped", "missing"],
  stopping: ["stopped", "crashed"],
  stopped: ["starting", "failed", "missing"],
  crashed: ["starting", "quarantined", "stopped", "failed", "stopping", "missing"],
  quarantined: ["starting", "stopped", "failed", "missing"],
  failed: ["starting", "stopped", "failed", "missing"],
  missing: [],
};

Deno.test("MODULE_STATES lists the nine states", () => {
  deepEqual([...MODULE_STATES].sort(), [
    "crashed",
    "discovered",
    "failed",
    "missing",
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
    ["missing", "starting"],
    ["missing", "stopped"],
    ["starting", "missing"],
    ["stopping", "missing"],
  ];
  for (const [from, to] of forbidden) equal(canTransition(from, to), false, `${from} → ${to}`);
  for (const from of MODULE_STATES) equal(canTransition(from, "discovered"), false, `${from} → discovered`);
});

Deno.test("healthOf: running is healthy; crashed, quarantined, failed and missing are unhealthy; the rest unknown", () => {
  const expected: Record<ModuleState, string> = {
    discovered: "unknown",
    starting: "unknown",
    running: "healthy",
    stopping: "unknown",
    stopped: "unknown",
    crashed: "unhealthy",
    quarantined: "unhealthy",
    failed: "unhealthy",
    missing: "unhealthy",
  };
  for (const s of MODULE_STATES) equal(healthOf(s), expected[s], s);
});
