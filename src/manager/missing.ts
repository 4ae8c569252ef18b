/**
 * A module whose folder was deleted while the host runs. The deletion is noticed by the watcher (folder
 * events and a periodic look at `modules_dir`) and by a check at every supervised step (exit, restart,
 * start, reload, load, call, list, inspect), so a missed file event cannot hide it. Once noticed the
 * module is stopped like an unload (its dependents first, left `failed` until it is back), and it stays
 * listed in state `missing` until its folder is loaded again.
 *
 * @module
 */
import { ManagerError } from "./errors.ts";
import { folderGone } from "./folder.ts";
import { type ManagedModule, markUnloaded } from "./managed.ts";
import { serial, setState, stop, stopDependents, type SupervisorContext } from "./supervisor.ts";

/**
 * Whether the deletion of a module's folder has been handled: state `missing`, no process, unloaded.
 *
 * @param m The record.
 * @returns `true` once {@link markMissing} has run to the end.
 *
 * @example
 * ```ts ignore
 * if (!isMissing(m)) await markMissing(ctx, m, "its folder /srv/modules/hello was deleted");
 * ```
 */
export function isMissing(m: ManagedModule): boolean {
  return m.state === "missing" && !m.isLoaded && !m.handle;
}

/**
 * Handle the deletion of a module's folder, once: stop the loaded modules that depend on it (dependents
 * first; they become `failed`, blocked by it, and come back when it is loaded again), stop its process
 * gracefully (stop message, then the deadlines), disarm its triggers, publish `ModuleUnloaded` with the
 * reason, and move it to `missing` (logged once, as a warning). Does nothing if it is already handled,
 * or if the folder is back and the module was not marked missing yet.
 *
 * Run it under the manager's per-module lock.
 *
 * @param ctx The manager context.
 * @param m The module.
 * @param why Why, as {@link folderGone} says it.
 *
 * @example
 * ```ts ignore
 * const why = folderGone(m.dir);
 * if (why) await markMissing(ctx, m, why);
 * ```
 */
export async function markMissing(ctx: SupervisorContext, m: ManagedModule, why: string): Promise<void> {
  if (isMissing(m) || (m.state !== "missing" && !folderGone(m.dir))) return;
  await stopDependents(ctx, ctx.modules(), m.name, `dependency '${m.name}' is missing: ${why}`, "failed");
  await serial(m, () => stop(ctx, m, why));
  m.unwatch?.();
  m.unwatch = undefined;
  m.pending = [];
  m.pendingApproval = undefined;
  if (m.isLoaded) markUnloaded(ctx.host, m, m.loaded?.manifest.version ?? "", why);
  if (m.state !== "missing") setState(ctx, m, "missing", why);
}

/**
 * Start handling a deleted folder without waiting: {@link markMissing} under the module's lock, at most
 * one at a time per module, and not once the record was replaced or the host is shutting down.
 *
 * @param ctx The manager context.
 * @param m The module.
 * @param why Why, as {@link folderGone} says it.
 * @param exclusive Runs an operation under the module's lock (rejects once shutdown has begun).
 * @param current Whether `m` is still the manager's record for its name.
 *
 * @example
 * ```ts ignore
 * noticeMissing(ctx, m, why, (fn) => exclusive(m.name, fn), () => modules.get(m.name) === m);
 * ```
 */
export function noticeMissing(
  ctx: SupervisorContext,
  m: ManagedModule,
  why: string,
  exclusive: (fn: () => Promise<void>) => Promise<void>,
  current: () => boolean,
): void {
  if (m.goneNoticed || isMissing(m) || ctx.closing) return;
  m.goneNoticed = true;
  exclusive(async () => {
    if (current()) await markMissing(ctx, m, why);
  }).catch((e) => {
    if (!ctx.closing) ctx.log.error("Could not stop {module}: {error}", { module: m.name, error: String(e) });
  }).finally(() => m.goneNoticed = false);
}

/**
 * The check made at every supervised step: whether the module's folder is gone. A gone folder of a module
 * not yet `missing` starts {@link markMissing} (through `ctx.folderDeleted`) without waiting.
 *
 * @param ctx The manager context.
 * @param m The module.
 * @returns Why it is missing, or `undefined` while its folder is there and it is not `missing`.
 *
 * @example
 * ```ts ignore
 * const gone = checkFolder(ctx, m);
 * if (gone) throw missingError(m, gone);
 * ```
 */
export function checkFolder(ctx: SupervisorContext, m: ManagedModule): string | undefined {
  if (m.state === "missing") return m.reason;
  const gone = folderGone(m.dir);
  if (gone) ctx.folderDeleted(m, gone);
  return gone;
}

/**
 * The error for an operation on a module whose folder is gone: `NOT_FOUND`, as for a folder that never
 * existed, with what to do.
 *
 * @param m The module.
 * @param why Why it is missing.
 * @returns The error.
 *
 * @example
 * ```ts ignore
 * throw missingError(m, "its folder /srv/modules/hello was deleted");
 * // NOT_FOUND: Module 'hello' is missing: its folder /srv/modules/hello was deleted. Restore the folder …
 * ```
 */
export function missingError(m: ManagedModule, why: string): ManagerError {
  return new ManagerError(
    "NOT_FOUND",
    m.name,
    `Module '${m.name}' is missing: ${why}. Restore the folder to load it again (deno task ctl load ${m.name}), ` +
      `or forget it with: deno task ctl unload ${m.name}`,
  );
}
