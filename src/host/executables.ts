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

/**
 * Run a helper program once to see whether it works here: a clean environment (`PATH=/usr/bin:/bin`), no
 * input, its output collected.
 *
 * @param bin The program.
 * @param args Its arguments.
 * @returns Its exit status and output as text.
 *
 * @example
 * ```ts
 * import { tryRun } from "./executables.ts";
 * console.log((await tryRun("/bin/sh", ["-c", "echo hi"])).stdout); // "hi\n"
 * ```
 */
export async function tryRun(
  bin: string,
  args: string[],
): Promise<{ success: boolean; code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(bin, {
    args,
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { success: out.success, code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
