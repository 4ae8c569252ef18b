/**
 * The host's private runtime directory (sockets) and each module's data directory.
 *
 * @module
 */

/** Longest Unix socket path the kernel accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * Create a private runtime directory (mode 0700) and return its canonical path.
 *
 * @param path Where to create it. Default: a fresh temporary directory.
 * @returns The real path of the directory.
 *
 * @example
 * ```ts
 * import { createRuntimeDir } from "@blvm/node";
 * const dir = await createRuntimeDir();
 * console.log((await Deno.stat(dir)).mode! & 0o777); // 448 (0o700)
 * await Deno.remove(dir);
 * ```
 */
export async function createRuntimeDir(path?: string): Promise<string> {
  if (path) await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  const dir = path ?? await Deno.makeTempDir({ prefix: "blvm-" });
  await Deno.chmod(dir, 0o700);
  return await Deno.realPath(dir);
}

/**
 * The socket path for a module, checked against the kernel's length limit.
 *
 * @param runtimeDir The runtime directory.
 * @param name The module name.
 * @returns An absolute path.
 * @throws {RangeError} when the path would be too long for a Unix socket.
 *
 * @example
 * ```ts
 * import { socketPathFor } from "@blvm/node";
 * console.log(socketPathFor("/run/blvm", "hello")); // "/run/blvm/hello.sock"
 * ```
 */
export function socketPathFor(runtimeDir: string, name: string): string {
  const path = `${runtimeDir}/${name}.sock`;
  const bytes = new TextEncoder().encode(path).length;
  if (bytes > MAX_SOCKET_PATH) {
    throw new RangeError(
      `Cannot create socket for module '${name}': path '${path}' is ${bytes} bytes, over the ${MAX_SOCKET_PATH}-byte limit; choose a shorter runtime dir`,
    );
  }
  return path;
}

/**
 * Create (if needed) a module's data directory, mode 0700, and return its real path. Refuses a data
 * directory that is, or contains, a symbolic link: Deno checks grants by path, so a link inside the
 * granted directory would open everything it points to.
 *
 * @param base The base data directory.
 * @param name The module name.
 * @returns The real path.
 * @throws {Deno.errors.PermissionDenied|Error} naming the offending link.
 *
 * @example
 * ```ts
 * import { prepareDataDir } from "@blvm/node";
 * const base = await Deno.makeTempDir();
 * console.log(await prepareDataDir(base, "hello"));
 * ```
 */
export async function prepareDataDir(base: string, name: string): Promise<string> {
  const dir = `${base}/${name}`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await Deno.lstat(dir);
  if (info.isSymlink) throw new Error(`Refusing data dir '${dir}' for module '${name}': it is a symbolic link`);
  await Deno.chmod(dir, 0o700);
  const real = await Deno.realPath(dir);
  await refuseLinks(real, name, 0);
  return real;
}

async function refuseLinks(dir: string, name: string, depth: number): Promise<void> {
  if (depth > 32) return;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isSymlink) {
      throw new Error(
        `Refusing data dir for module '${name}': '${path}' is a symbolic link, which would escape the sandbox`,
      );
    }
    if (entry.isDirectory) await refuseLinks(path, name, depth + 1);
  }
}
