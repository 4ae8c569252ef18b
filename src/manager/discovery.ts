/**
 * Discovery: find module folders in the modules directory, read their manifests, and apply the
 * operator's enabled and disabled lists and version pins.
 *
 * @module
 */
import semver from "semver";
import { ConfigFileError } from "./config_error.ts";
import { type LoadedManifest, readManifest } from "./manifest.ts";
import type { NodeModulesConfig } from "./node_config.ts";

/** A module folder that could not be accepted, and why. */
export interface BrokenModule {
  /** The folder name (the manifest's name may be unreadable). */
  name: string;
  /** The folder. */
  dir: string;
  /** Every problem found, each naming the file and field. */
  error: string;
}

/** What {@link discoverModules} found. */
export interface Discovery {
  /** Valid manifests, sorted by name. */
  found: LoadedManifest[];
  /** Folders with a broken manifest or a version that misses its pin. */
  broken: BrokenModule[];
  /** Folders left out on purpose (disabled, or not in the enabled list), with the reason. */
  skipped: { name: string; reason: string }[];
}

/**
 * Read one module folder and check it against the operator's pin.
 *
 * @param cfg The `[modules]` settings.
 * @param dir The module folder.
 * @returns The loaded manifest.
 * @throws {ConfigFileError} if the manifest is invalid, its name differs from the folder's, or its
 * version misses the pin.
 *
 * @example
 * ```ts ignore
 * const loaded = await readModuleFolder(config.modules, "./modules/hello");
 * console.log(loaded.manifest.version);
 * ```
 */
export async function readModuleFolder(cfg: NodeModulesConfig, dir: string): Promise<LoadedManifest> {
  const loaded = await readManifest(dir);
  const { name, version } = loaded.manifest;
  const folder = dir.replace(/\/+$/, "").split("/").pop()!;
  const issue = (field: string, message: string) =>
    new ConfigFileError(loaded.file, [{ file: loaded.file, field, message }]);
  if (name !== folder) throw issue("name", `'${name}' must match its folder name '${folder}'`);
  const pin = cfg.modules[name]?.version;
  if (pin && !semver.satisfies(version, pin, { includePrerelease: true })) {
    throw issue("version", `${version} does not satisfy the pin '${pin}' in [modules.${name}].version`);
  }
  return loaded;
}

/**
 * Scan `modules_dir`: every sub-folder holding a `module.toml` is a module. A broken folder never
 * stops the others from being found.
 *
 * @param cfg The `[modules]` settings.
 * @returns Valid, broken and skipped modules.
 *
 * @example
 * ```ts ignore
 * const { found, broken } = await discoverModules(config.modules);
 * for (const b of broken) console.error(b.error);
 * ```
 */
export async function discoverModules(cfg: NodeModulesConfig): Promise<Discovery> {
  const result: Discovery = { found: [], broken: [], skipped: [] };
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(cfg.modules_dir)) {
      if (e.name.startsWith(".")) continue;
      // A symlinked module folder counts: the manifest check resolves the entry inside its real folder.
      const isDir = e.isDirectory ||
        (e.isSymlink && await Deno.stat(`${cfg.modules_dir}/${e.name}`).then((s) => s.isDirectory, () => false));
      if (isDir) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return result;
    throw e;
  }
  names.sort();
  for (const name of names) {
    const dir = `${cfg.modules_dir}/${name}`;
    const hasManifest = await Deno.stat(`${dir}/module.toml`).then(() => true, () => false);
    if (!hasManifest) continue;
    if (cfg.disabled.includes(name)) {
      result.skipped.push({ name, reason: "listed in [modules].disabled" });
      continue;
    }
    if (cfg.enabled && !cfg.enabled.includes(name)) {
      result.skipped.push({ name, reason: "not in [modules].enabled" });
      continue;
    }
    try {
      result.found.push(await readModuleFolder(cfg, dir));
    } catch (e) {
      const error = e instanceof ConfigFileError ? e.message : `${dir}: ${(e as Error).message}`;
      result.broken.push({ name, dir, error });
    }
  }
  return result;
}
