/**
 * Turning a manifest into what a module runs with: its typed config and its effective permissions.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type Effective, effectivePermissions } from "./grants.ts";
import type { ManagedModule } from "./managed.ts";
import type { LoadedManifest } from "./manifest.ts";
import { buildModuleConfig } from "./module_config.ts";

/** A manifest with the config and permissions it resolves to, not yet applied. */
export interface Prepared {
  /** The manifest. */
  loaded: LoadedManifest;
  /** The merged, typed config. */
  config: Record<string, unknown>;
  /** Requested ∩ granted permissions. */
  effective: Effective;
}

/**
 * Build a module's config and effective permissions from a manifest and the operator's settings,
 * logging every requested permission the operator has not granted.
 *
 * @param m The module record (for its operator settings).
 * @param loaded The manifest.
 * @param log Where ungranted requests are reported.
 * @returns The prepared values.
 * @throws {ConfigFileError} if the config is invalid.
 *
 * @example
 * ```ts ignore
 * applyPrepared(m, await prepareModule(m, await readManifest(m.dir), log));
 * ```
 */
export async function prepareModule(m: ManagedModule, loaded: LoadedManifest, log: Logger): Promise<Prepared> {
  const config = await buildModuleConfig(loaded, m.overrides.config);
  const { permissions, capabilities } = loaded.manifest;
  const effective = effectivePermissions({ ...permissions, capabilities }, m.overrides.grants);
  for (const u of effective.ungranted) {
    log.warn("Module {module} asks for {permission}, which is not granted in [modules.{module}.grants]", {
      module: m.name,
      permission: u,
    });
  }
  for (const name of Object.keys(m.overrides.env)) {
    if (!effective.grants.env.includes(name)) {
      log.warn(
        "[modules.{module}.env] sets {name}, but the manifest does not request it in [permissions].env; not passed",
        {
          module: m.name,
          name,
        },
      );
    }
  }
  if (m.overrides.lazy === true && !loaded.manifest.activation) {
    log.warn("[modules.{module}].lazy = true has no effect: its manifest declares no [activation] triggers", {
      module: m.name,
    });
  }
  return { loaded, config, effective };
}

/**
 * Make prepared values the module's own: manifest, config, permissions and laziness.
 *
 * @param m The module record.
 * @param p The prepared values.
 *
 * @example
 * ```ts ignore
 * applyPrepared(m, prepared);
 * ```
 */
export function applyPrepared(m: ManagedModule, p: Prepared): void {
  m.loaded = p.loaded;
  m.config = p.config;
  m.effective = p.effective;
  m.lazy = p.loaded.manifest.activation !== undefined && m.overrides.lazy !== false;
  m.pendingApproval = undefined;
}
