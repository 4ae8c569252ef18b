import { deepEqual, equal } from "node:assert/strict";
import {
  describeExit,
  type ExitInfo,
  initialRestartState,
  onExit,
  type RestartDecision,
  type RestartPolicy,
  type RestartState,
  startFailureExit,
} from "../../src/manager/restart.ts";

const POLICY: RestartPolicy = {
  policy: "on-failure",
  initial_delay_ms: 1000,
  max_delay_ms: 30_000,
  multiplier: 2,
  reset_after_ms: 60_000,
  max_crashes: 5,
  window_ms: 60_000,
};

const CRASH: ExitInfo = { code: 1, signal: null, uptimeMs: 100, now: 0, requested: false };

/** Feed exits one after another, returning every decision and the final state. */
function run(
  policy: RestartPolicy,
  exits: Partial<ExitInfo>[],
  state: RestartState = initialRestartState(),
): { decisions: RestartDecision[]; state: RestartState } {
  const decisions: RestartDecision[] = [];
  for (const e of exits) {
    const out = onExit(state, policy, { ...CRASH, ...e });
    state = out.state;
    decisions.push(out.decision);
  }
  return { decisions, state };
}

function delays(decisions: RestartDecision[]): (number | string)[] {
  return decisions.map((d) => (d.action === "restart" ? d.delayMs : d.action));
}

Deno.test("initialRestartState() starts with no attempts and no crashes, fresh each time", () => {
  const a: RestartState = initialRestartState();
  a.crashes.push(1);
  a.attempt = 4;
  deepEqual(initialRestartState(), { attempt: 0, crashes: [] });
});

Deno.test("describeExit() names the signal if there is one, else the exit code", () => {
  equal(describeExit(1, null), "exit code 1");
  equal(describeExit(0, null), "exit code 0");
  equal(describeExit(137, "SIGKILL"), "signal SIGKILL");
  equal(describeExit(0, "SIGTERM"), "signal SIGTERM");
  equal(describeExit(3, null), "exit code 3");
  equal(describeExit(null, null), "no exit status");
  equal(describeExit(null, "SIGKILL"), "signal SIGKILL");
});

Deno.test("startFailureExit() reads the real exit status of a start that failed, and none where there is none", () => {
  deepEqual(startFailureExit("Process exited before the handshake (code 3)"), { code: 3, signal: null });
  deepEqual(startFailureExit("Process exited before the handshake (code 3); last stderr: boom (code 9)"), {
    code: 3,
    signal: null,
  });
  deepEqual(startFailureExit("Process exited before the handshake (code 137, SIGKILL)"), {
    code: 137,
    signal: "SIGKILL",
  });
  deepEqual(startFailureExit("Process exited before the handshake (code 0)"), { code: 0, signal: null });
  for (const other of ["No handshake within 10000 ms", "spawn failed: (code 3)", "it exited (code 3)"]) {
    deepEqual(startFailureExit(other), { code: null, signal: null }, other);
  }
});

Deno.test("onExit() names the cause instead of the exit status, and a cause makes even code 0 a crash", () => {
  const policy = { ...POLICY, max_crashes: 2 };
  const cause = "exit code 0 before the handshake";
  const { decisions } = run(policy, [{ code: 0, now: 0, cause }, { code: 0, now: 1, cause: "resident memory 9 MiB" }]);
  deepEqual(decisions, [
    { action: "restart", delayMs: 1000, attempt: 1 },
    { action: "quarantine", reason: "crashed 2 times within 60 s (last: resident memory 9 MiB)" },
  ]);
  const none = run(policy, [{ code: null, now: 0, cause: "failed to start: No handshake within 10 ms" }, {
    code: null,
    now: 1,
    cause: "failed to start: No handshake within 10 ms",
  }]);
  equal(
    none.decisions[1].action === "quarantine" && none.decisions[1].reason,
    "crashed 2 times within 60 s (last: failed to start: No handshake within 10 ms)",
  );
});

Deno.test("onExit() backs off exponentially, numbers attempts from 1, and caps the delay", () => {
  const policy = { ...POLICY, max_crashes: 0 };
  const { decisions, state } = run(policy, Array.from({ length: 8 }, (_, i) => ({ now: i * 1000 })));
  deepEqual(delays(decisions), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  deepEqual(
    decisions.map((d) => (d.action === "restart" ? d.attempt : 0)),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  equal(state.attempt, 8);
});

Deno.test("onExit() honours a fractional multiplier and a zero initial delay", () => {
  const frac = run({ ...POLICY, multiplier: 1.5, max_crashes: 0 }, [{ now: 0 }, { now: 1 }, { now: 2 }]);
  deepEqual(delays(frac.decisions), [1000, 1500, 2250]);
  const zero = run({ ...POLICY, initial_delay_ms: 0, max_crashes: 0 }, [{ now: 0 }, { now: 1 }]);
  deepEqual(delays(zero.decisions), [0, 0]);
});

Deno.test("onExit() never produces an infinite delay for a long crash history", () => {
  const out = onExit({ attempt: 5000, crashes: [] }, { ...POLICY, max_crashes: 0 }, CRASH);
  deepEqual(out.decision, { action: "restart", delayMs: 30_000, attempt: 5001 });
});

Deno.test("onExit() resets the backoff after a stable uptime, and not before", () => {
  const policy = { ...POLICY, max_crashes: 0 };
  const before = run(policy, [{ now: 0 }, { now: 1 }, { now: 2 }]).state;
  equal(before.attempt, 3);

  const justShort = onExit(before, policy, { ...CRASH, now: 100_000, uptimeMs: 59_999 });
  deepEqual(justShort.decision, { action: "restart", delayMs: 8000, attempt: 4 });

  const stable = onExit(before, policy, { ...CRASH, now: 100_000, uptimeMs: 60_000 });
  deepEqual(stable.decision, { action: "restart", delayMs: 1000, attempt: 1 });
  equal(stable.state.attempt, 1);
});

Deno.test("onExit() quarantines at max_crashes within the window, naming count, window and last exit", () => {
  const { decisions, state } = run(POLICY, [
    { now: 0 },
    { now: 10_000 },
    { now: 20_000 },
    { now: 30_000 },
    { now: 40_000, code: 0, signal: "SIGSEGV" },
  ]);
  deepEqual(delays(decisions), [1000, 2000, 4000, 8000, "quarantine"]);
  deepEqual(decisions[4], { action: "quarantine", reason: "crashed 5 times within 60 s (last: signal SIGSEGV)" });
  deepEqual(state.crashes, [0, 10_000, 20_000, 30_000, 40_000]);
});

Deno.test("onExit() quarantine reason shows the exit code and a fractional window", () => {
  const policy = { ...POLICY, max_crashes: 2, window_ms: 1500 };
  const { decisions } = run(policy, [{ now: 0 }, { now: 1000, code: 3 }]);
  deepEqual(decisions[1], { action: "quarantine", reason: "crashed 2 times within 1.5 s (last: exit code 3)" });
});

Deno.test("onExit() does not quarantine crashes spread beyond the window, and forgets old ones", () => {
  // Five crashes, but never five within any 60 s window.
  const { decisions, state } = run(POLICY, [
    { now: 0 },
    { now: 20_000 },
    { now: 40_000 },
    { now: 60_001 },
    { now: 80_000 },
    { now: 100_000 },
  ]);
  equal(decisions.every((d) => d.action === "restart"), true, JSON.stringify(decisions));
  deepEqual(state.crashes, [40_000, 60_001, 80_000, 100_000]);
});

Deno.test("onExit() keeps a crash exactly window_ms old in the window", () => {
  const policy = { ...POLICY, max_crashes: 2, window_ms: 1000 };
  equal(run(policy, [{ now: 0 }, { now: 1000 }]).decisions[1].action, "quarantine");
  equal(run(policy, [{ now: 0 }, { now: 1001 }]).decisions[1].action, "restart");
});

Deno.test("onExit() with max_crashes 0 never quarantines", () => {
  const { decisions } = run({ ...POLICY, max_crashes: 0 }, Array.from({ length: 50 }, (_, i) => ({ now: i })));
  equal(decisions.every((d) => d.action === "restart"), true);
});

Deno.test("onExit() does not restart a requested stop, under any policy, and leaves the state alone", () => {
  const state: RestartState = { attempt: 2, crashes: [5] };
  for (const policy of ["on-failure", "always", "never"] as const) {
    const out = onExit(state, { ...POLICY, policy }, { ...CRASH, requested: true, signal: "SIGTERM" });
    deepEqual(out.decision, { action: "none", reason: "stop was requested" });
    deepEqual(out.state, { attempt: 2, crashes: [5] });
  }
});

Deno.test("onExit() under 'never' does not restart even a crash", () => {
  const out = onExit(initialRestartState(), { ...POLICY, policy: "never" }, { ...CRASH, signal: "SIGKILL" });
  deepEqual(out.decision, { action: "none", reason: "restart policy is 'never'" });
});

Deno.test("onExit() under 'on-failure' does not restart a clean exit, but does restart a signal with code 0", () => {
  const clean = onExit({ attempt: 3, crashes: [1] }, POLICY, { ...CRASH, code: 0 });
  deepEqual(clean.decision, { action: "none", reason: "exited cleanly" });
  deepEqual(clean.state, { attempt: 3, crashes: [1] });

  const killed = onExit(initialRestartState(), POLICY, { ...CRASH, code: 0, signal: "SIGKILL" });
  equal(killed.decision.action, "restart");
});

Deno.test("onExit() under 'always' restarts a clean exit and counts it towards a crash loop", () => {
  const policy = { ...POLICY, policy: "always" as const, max_crashes: 3 };
  const { decisions } = run(policy, [{ code: 0, now: 0 }, { code: 0, now: 1 }, { code: 0, now: 2 }]);
  deepEqual(decisions.slice(0, 2), [
    { action: "restart", delayMs: 1000, attempt: 1 },
    { action: "restart", delayMs: 2000, attempt: 2 },
  ]);
  deepEqual(decisions[2], { action: "quarantine", reason: "crashed 3 times within 60 s (last: exit code 0)" });
});

Deno.test("onExit() does not mutate the state it is given", () => {
  const state: RestartState = { attempt: 1, crashes: [0] };
  onExit(state, POLICY, { ...CRASH, now: 10 });
  deepEqual(state, { attempt: 1, crashes: [0] });
});
