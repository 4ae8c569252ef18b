/**
 * Crash restart policy: exponential backoff, reset after stable uptime, and quarantine of crash loops.
 *
 * Pure: the caller passes the time in and keeps the returned state.
 *
 * @module
 */

/** How the host restarts a module whose process exited (the same shape as the node configuration's). */
export interface RestartPolicy {
  /** `on-failure`: restart unless it exited cleanly; `always`: restart after any exit; `never`: do not restart. */
  policy: "on-failure" | "always" | "never";
  /** Delay before the first restart. */
  initial_delay_ms: number;
  /** Upper bound of the delay. */
  max_delay_ms: number;
  /** Factor the delay grows by with each consecutive restart. */
  multiplier: number;
  /** An uptime at least this long counts as stable and resets the backoff. */
  reset_after_ms: number;
  /** This many crashes within `window_ms` quarantine the module; 0 or less never quarantines. */
  max_crashes: number;
  /** Length of the crash-loop window. */
  window_ms: number;
}

/** What the policy remembers about one module between exits. */
export interface RestartState {
  /** Consecutive restarts since the last stable run; the exponent of the backoff. */
  attempt: number;
  /** Timestamps (ms) of the crashes within the window, oldest first. */
  crashes: number[];
}

/** What to do after a module's process exited. */
export type RestartDecision =
  /** Start it again after `delayMs`; `attempt` is the 1-based number of this restart since the last stable run. */
  | { action: "restart"; delayMs: number; attempt: number }
  /** Crash loop: do not restart until the operator intervenes. */
  | { action: "quarantine"; reason: string }
  /** The policy says not to restart (requested stop, `never`, or a clean exit under `on-failure`). */
  | { action: "none"; reason: string };

/** How a module's process ended. */
export interface ExitInfo {
  /** Exit code (meaningless when `signal` is set); `null` when no process exit is known (a spawn error, a handshake timeout). */
  code: number | null;
  /** Name of the signal that killed the process, or null. */
  signal: string | null;
  /** How long the process ran. */
  uptimeMs: number;
  /** Current time (ms), in the same clock as {@link RestartState.crashes}. */
  now: number;
  /** Whether the host itself stopped the module. */
  requested: boolean;
  /**
   * What ended the run when the exit status alone does not say it: a failed start (`exit code 3 before the
   * handshake`) or the host's restart over a resource limit. It names the crash in a quarantine reason, and
   * such an exit always counts as a crash, even with code 0.
   */
  cause?: string;
}

/**
 * The state of a module that has not crashed yet.
 *
 * @example
 * ```ts
 * import { initialRestartState } from "./restart.ts";
 * console.log(initialRestartState()); // { attempt: 0, crashes: [] }
 * ```
 */
export function initialRestartState(): RestartState {
  return { attempt: 0, crashes: [] };
}

/**
 * Describe how a process ended.
 *
 * @param code Exit code, or `null` when no exit is known.
 * @param signal Signal name, or null.
 * @returns `signal SIGKILL` when a signal is set, otherwise `exit code 3` (`no exit status` without either).
 *
 * @example
 * ```ts
 * import { describeExit } from "./restart.ts";
 * console.log(describeExit(3, null)); // "exit code 3"
 * console.log(describeExit(137, "SIGKILL")); // "signal SIGKILL"
 * console.log(describeExit(null, null)); // "no exit status"
 * ```
 */
export function describeExit(code: number | null, signal: string | null): string {
  return signal !== null ? `signal ${signal}` : code !== null ? `exit code ${code}` : "no exit status";
}

/**
 * The exit status a failed start reports, read from the host's `ModuleStartError` detail
 * (`Process exited before the handshake (code 3)`, `(code 137, SIGKILL)`). A start that failed
 * without the process exiting on its own (spawn error, handshake timeout, refused handshake) has none.
 *
 * @param detail The start error's detail.
 * @returns The code and signal, both `null` when the detail names no exit.
 *
 * @example
 * ```ts
 * import { startFailureExit } from "./restart.ts";
 * console.log(startFailureExit("Process exited before the handshake (code 3); last stderr: boom"));
 * // { code: 3, signal: null }
 * console.log(startFailureExit("No handshake within 10000 ms")); // { code: null, signal: null }
 * ```
 */
export function startFailureExit(detail: string): { code: number | null; signal: string | null } {
  const m = /exited before the handshake \(code (-?\d+)(?:, (SIG[A-Z0-9]+))?\)/.exec(detail);
  return m ? { code: Number(m[1]), signal: m[2] ?? null } : { code: null, signal: null };
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * Apply the restart policy to one exit of a module's process.
 *
 * A stop the host requested, policy `never`, and a clean exit (code 0, no signal, no `cause`) under `on-failure`
 * are not restarted. Anything else counts as a crash (so does any exit under `always`): an uptime of at least
 * `reset_after_ms` first resets the backoff; crashes older than `window_ms` are forgotten; reaching `max_crashes`
 * within the window quarantines the module; otherwise it restarts after
 * `min(max_delay_ms, initial_delay_ms * multiplier ** attempt)`.
 *
 * @param state The module's state from the previous call (or {@link initialRestartState}).
 * @param policy The restart policy.
 * @param exit How the process ended, and the current time.
 * @returns The state to keep and the decision.
 *
 * @example
 * ```ts
 * import { initialRestartState, onExit, type RestartPolicy } from "./restart.ts";
 * const policy: RestartPolicy = {
 *   policy: "on-failure",
 *   initial_delay_ms: 1000,
 *   max_delay_ms: 60_000,
 *   multiplier: 2,
 *   reset_after_ms: 300_000,
 *   max_crashes: 5,
 *   window_ms: 60_000,
 * };
 * let state = initialRestartState();
 * const exit = { code: 1, signal: null, uptimeMs: 200, now: 10_000, requested: false };
 * const first = onExit(state, policy, exit);
 * state = first.state;
 * console.log(first.decision); // { action: "restart", delayMs: 1000, attempt: 1 }
 * console.log(onExit(state, policy, { ...exit, now: 12_000 }).decision); // { action: "restart", delayMs: 2000, attempt: 2 }
 * ```
 */
export function onExit(
  state: RestartState,
  policy: RestartPolicy,
  exit: ExitInfo,
): { state: RestartState; decision: RestartDecision } {
  if (exit.requested) return { state, decision: { action: "none", reason: "stop was requested" } };
  if (policy.policy === "never") return { state, decision: { action: "none", reason: "restart policy is 'never'" } };
  if (policy.policy === "on-failure" && exit.code === 0 && exit.signal === null && exit.cause === undefined) {
    return { state, decision: { action: "none", reason: "exited cleanly" } };
  }

  const attempt = exit.uptimeMs >= policy.reset_after_ms ? 0 : state.attempt;
  const crashes = [...state.crashes.filter((t) => t >= exit.now - policy.window_ms), exit.now];
  if (policy.max_crashes > 0 && crashes.length >= policy.max_crashes) {
    const last = exit.cause ?? describeExit(exit.code, exit.signal);
    const reason = `crashed ${crashes.length} times within ${seconds(policy.window_ms)} (last: ${last})`;
    return { state: { attempt, crashes }, decision: { action: "quarantine", reason } };
  }
  const delayMs = Math.max(0, Math.min(policy.max_delay_ms, policy.initial_delay_ms * policy.multiplier ** attempt));
  return {
    state: { attempt: attempt + 1, crashes },
    decision: { action: "restart", delayMs, attempt: attempt + 1 },
  };
}
