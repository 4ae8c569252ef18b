/**
 * Applying an edited `[modules.<name>]` table to a loaded module while the host runs: a change to its
 * `config` only is handed to the running module (a `config` message); a change to anything that is
 * part of its command line or supervision (grants, env, limits, restart policy) restarts it with the
 * new flags, and the log says why.
 *
 * @module
 */
import { stable } from "../config/redact.ts";
import { describePermissions } from "./grants.ts";
import type { ManagedModule } from "./managed.ts";
import type { ModuleOverrides } from "./node_config.ts";
import { applyPrepared, prepareModule } from "./prepare.ts";
import { serial, spawn, stop, type SupervisorContext } from "./supervisor.ts";

/** What {@link reconfigure} did. */
export type ReconfigureAction = "none" | "config" | "restarted" | "updated";

/**
 * Give a loaded module its operator settings from an edited `blvm.toml`.
 *
 * @param ctx The manager context.
 * @param m The module.
 * @param next Its new `[modules.<name>]` settings.
 * @returns `none` (nothing changed), `config` (sent to the running module), `restarted` (new flags), or
 * `updated` (not running: used at its next start).
 * @throws {ConfigFileError} if its configuration no longer validates; nothing is changed then.
 *
 * @example
 * ```ts ignore
 * const action = await reconfigure(ctx, m, moduleOverrides(next.modules, m.name));
 * ```
 */
export async function reconfigure(
  ctx: SupervisorContext,
  m: ManagedModule,
  next: ModuleOverrides,
): Promise<ReconfigureAction> {
  // A missing module (its folder is gone) gets the settings in force when it is loaded again.
  if (!m.loaded || m.state === "missing" || stable(next) === stable(m.overrides)) return "none";
  const before = { overrides: m.overrides, effective: m.effective ? describePermissions(m.effective) : [] };
  const old = m.overrides;
  m.overrides = next;
  let prepared;
  try {
    prepared = await prepareModule(m, m.loaded, ctx.log);
  } catch (e) {
    m.overrides = old;
    throw e;
  }
  // What the module is shown (config_sections) and how it is verified (signing, just checked again by
  // prepareModule) need no new process.
  const { config: _a, config_sections: _c, signing: _s, ...restBefore } = before.overrides;
  const { config: _b, config_sections: _d, signing: _t, ...restAfter } = next;
  const flags = stable(restBefore) !== stable(restAfter) ||
    stable(before.effective) !== stable(describePermissions(prepared.effective));
  const configChanged = stable(m.config) !== stable(prepared.config);
  applyPrepared(m, prepared);
  if (!m.handle) return "updated";
  if (!flags) {
    if (!configChanged) return "none";
    ctx.host.sendConfig(m.name, m.config);
    ctx.log.info("Module {module}: new configuration sent", { module: m.name });
    return "config";
  }
  const changed = Object.keys({ ...restBefore, ...restAfter })
    .filter((k) =>
      stable((restBefore as Record<string, unknown>)[k]) !== stable((restAfter as Record<string, unknown>)[k])
    );
  const why = `its ${changed.join(", ")} changed in the node configuration`;
  ctx.log.warn("Restarting module {module} with new flags: {why}", { module: m.name, why });
  await serial(m, async () => {
    await stop(ctx, m, `restart: ${why}`);
    await spawn(ctx, m, false);
  });
  return "restarted";
}
