/**
 * Rules across the `[modules]` settings (and the node's data folder) that no single key's schema can check.
 *
 * @module
 */
import { resolve } from "node:path";
import type { ConfigIssue } from "./config_error.ts";

/** The `[modules]` settings the layout rules look at. */
export interface ModulesLayout {
  /** Folder of the modules' data folders. */
  data_dir: string;
  /** Folder of the admin socket. */
  runtime_dir: string;
  /** Folder of the module folders. */
  modules_dir: string;
  /** `auto` or `off`. */
  os_sandbox: "auto" | "off";
  /** Refuse modules without the OS layer. */
  require_os_sandbox: boolean;
}

/**
 * Settings that are valid alone but not together: the OS sandbox required and turned off, or a host
 * folder inside the modules' data folder (a module named like that folder would own it).
 *
 * @param file The configuration file, for the issues.
 * @param s The `[modules]` settings, paths as written.
 * @param nodeDataDir The node's data folder (absolute), if known.
 * @param baseDir What relative paths are resolved against.
 * @returns The issues; empty when the layout is sound.
 *
 * @example
 * ```ts
 * import { layoutIssues } from "./layout_rules.ts";
 * const s = { data_dir: "data", runtime_dir: "data/run", modules_dir: "modules", os_sandbox: "auto" as const, require_os_sandbox: false };
 * console.log(layoutIssues("blvm.toml", s, undefined, "/srv")[0].field); // "modules.data_dir"
 * ```
 */
export function layoutIssues(
  file: string,
  s: ModulesLayout,
  nodeDataDir: string | undefined,
  baseDir: string,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  if (s.require_os_sandbox && s.os_sandbox === "off") {
    out.push({
      file,
      field: "modules.require_os_sandbox",
      message: 'cannot be true while modules.os_sandbox is "off": no module could start',
    });
  }
  const data = resolve(baseDir, s.data_dir);
  const host: [string, string | undefined][] = [
    ["modules.runtime_dir", resolve(baseDir, s.runtime_dir)],
    ["node.data_dir", nodeDataDir],
    ["modules.modules_dir", resolve(baseDir, s.modules_dir)],
  ];
  for (const [key, dir] of host) {
    if (dir !== undefined && (dir === data || dir.startsWith(`${data}/`))) {
      out.push({
        file,
        field: "modules.data_dir",
        message:
          `'${data}' contains ${key} '${dir}': a module named like a folder in it would own that folder; give module data a folder of its own`,
      });
    }
  }
  return out;
}
