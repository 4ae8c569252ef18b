/**
 * Whether a module's folder is still there: the check the manager makes at every supervised step
 * (exit, restart, start, reload, load, call, list, inspect) and the watcher makes on folder events.
 *
 * @module
 */

/**
 * Why a module folder can no longer be used, if it cannot. The folder (or the folder a symlink
 * points to) must exist and be a folder; anything else that prevents reading it (a permission
 * error) is not a deletion and is left to the manifest checks.
 *
 * @param dir The module folder.
 * @returns `its folder <dir> was deleted`, `<dir> is no longer a folder`, or `undefined` while it is there.
 *
 * @example
 * ```ts
 * import { folderGone } from "./folder.ts";
 * console.log(folderGone(Deno.cwd())); // undefined
 * console.log(folderGone("/nonexistent/blvm/modules/hello")); // "its folder /nonexistent/blvm/modules/hello was deleted"
 * ```
 */
export function folderGone(dir: string): string | undefined {
  try {
    return Deno.statSync(dir).isDirectory ? undefined : `${dir} is no longer a folder`;
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? `its folder ${dir} was deleted` : undefined;
  }
}
