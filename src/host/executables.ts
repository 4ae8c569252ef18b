/**
 * Finding the helper programs the host runs around modules (`bwrap`, `setpriv`).
 *
 * @module
 */

/**
 * The first file named `name` in a `PATH` folder.
 *
 * @param name The program.
 * @returns Its path, or `undefined` when no `PATH` folder holds it.
 *
 * @example
 * ```ts
 * import { findInPath } from "./executables.ts";
 * console.log(findInPath("sh") !== undefined); // true on any Linux
 * ```
 */
export function findInPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return undefined;
}
