/**
 * Restarts the resource monitor asks for. Over a memory or CPU limit the module is stopped and its exit
 * counts as a crash named by the limit: the restart policy's back-off delays the next start, and
 * `max_crashes` such restarts within `window_ms` quarantine it, exactly as for any other crash. Over or back
 * under its disk quota the module is restarted at once with its data folder read-only or writable again: a
 * change of its flags, not a crash.
 *
 * @module
 */
import { type ManagedModule, type ModuleStatus, statusOf } from "./managed.ts";
import { serial, spawn, stop, type SupervisorContext } from "./supervisor.ts";

/**
 * Restart a running module for a resource limit.
 *
 * Without `readOnly` (memory, CPU) the process is stopped (stop message, then the deadlines) and the exit
 * goes through the restart policy as a crash with `reason` as its cause, whatever the policy's name says
 * (the limit's action is to restart): `ModuleCrashed` with `action` and `restart_in_ms`, state `crashed`
 * until the back-off has passed, or `quarantined` at the end of a crash loop, its reason naming the limit.
 *
 * With `readOnly` (a reason: read-only data folder; `null`: writable again) it is stopped and started again
 * at once with the new flags; that counts as a restart, not a crash.
 *
 * @param ctx The manager context.
 * @param m The module.
 * @param reason Why, sent to the module and shown to the operator.
 * @param readOnly The data folder's new mode, or `undefined` for a restart over a memory or CPU limit.
 * @returns The module's status afterwards (`restart_in_ms` shows a scheduled restart).
 *
 * @example
 * ```ts ignore
 * const s = await restartOverLimit(ctx, m, "resident memory 160 MiB over its limit 150 MiB");
 * console.log(s.state, s.restart_in_ms); // "crashed" 1000
 * ```
 */
export function restartOverLimit(
  ctx: SupervisorContext,
  m: ManagedModule,
  reason: string,
  readOnly?: string | null,
): Promise<ModuleStatus> {
  return serial(m, async () => {
    // The mode holds for its next start even if it is not running now.
    if (readOnly !== undefined) m.readOnly = readOnly ?? undefined;
    if (m.handle) {
      if (readOnly !== undefined) {
        await stop(ctx, m, reason);
        m.restarts++;
        await spawn(ctx, m, false);
      } else {
        // Its exit is a crash caused by the limit (see the supervisor's exit handling).
        m.limitStop = reason;
        await stop(ctx, m, reason);
      }
    }
    return statusOf(m, Date.now());
  });
}
