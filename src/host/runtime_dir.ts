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
 * Names a module may not have: they name the operator or parts of the host in messages, logs and
 * module-to-module calls (`operator` is the caller name of operator calls).
 */
export const RESERVED_MODULE_NAMES: readonly string[] = Object.freeze(["admin", "blvm", "host", "node", "operator"]);

/** The folder inside a module's data directory that belongs to the host (its socket and Deno cache). */
export const HOST_FOLDER = ".blvm";

/**
 * Where a module's socket lives: inside its own data directory, so no module name can ever reach a file
 * of the host (the admin socket lives in the runtime directory), and whatever the module makes of the
 * path counts against its own disk quota.
 *
 * @param dataDir The module's data directory (absolute, real).
 * @returns An absolute path, checked against the kernel's length limit.
 * @throws {RangeError} when the path would be too long for a Unix socket.
 *
 * @example
 * ```ts
 * import { moduleSocketPath } from "@blvm/node";
 * console.log(moduleSocketPath("/var/lib/blvm/hello")); // "/var/lib/blvm/hello/.blvm/run/sock"
 * ```
 */
export function moduleSocketPath(dataDir: string): string {
  const path = `${dataDir}/${HOST_FOLDER}/run/sock`;
  const bytes = new TextEncoder().encode(path).length;
  if (bytes > MAX_SOCKET_PATH) {
    throw new RangeError(
      `Cannot create the socket '${path}': it is ${bytes} bytes, over the ${MAX_SOCKET_PATH}-byte limit of Unix sockets; choose a shorter data dir`,
    );
  }
  return path;
}

/**
 * Make the socket's folder ready for a new listener: whatever an earlier run left at the path (even a
 * folder the module made there) is removed.
 *
 * @param socketPath From {@link moduleSocketPath}.
 *
 * @example
 * ```ts ignore
 * await clearSocketPath(socketPath);
 * const listener = Deno.listen({ transport: "unix", path: socketPath });
 * ```
 */
export async function clearSocketPath(socketPath: string): Promise<void> {
  const folder = socketPath.slice(0, socketPath.lastIndexOf("/"));
  await Deno.remove(folder, { recursive: true }).catch(() => {});
  await Deno.mkdir(folder, { recursive: true, mode: 0o700 });
}

/**
 * After the handshake: remove the socket and put a plain file where its folder was. The module's grant
 * on the socket path stays, but the path can no longer become a folder it writes into, even when its
 * data directory is read-only (its grant does not cover the file that blocks it).
 *
 * @param socketPath From {@link moduleSocketPath}.
 *
 * @example
 * ```ts ignore
 * sealSocketPath(socketPath); // synchronous: nothing from the module is handled in between
 * ```
 */
export function sealSocketPath(socketPath: string): void {
  const folder = socketPath.slice(0, socketPath.lastIndexOf("/"));
  try {
    Deno.removeSync(folder, { recursive: true });
  } catch { /* already gone */ }
  try {
    Deno.writeFileSync(folder, new Uint8Array(0), { createNew: true, mode: 0o400 });
  } catch { /* something is there again: the next start clears it */ }
}

/**
 * Create (if needed) a module's data directory, mode 0700, and return its real path. Refuses a data
 * directory that is, or contains, a symbolic link or a hard link: Deno checks grants by path, so a link
 * inside the granted directory would open everything it points to. Clears set-user-id, set-group-id and
 * world-write bits the module may have set on its files (they are the host's user's files).
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
  await refuseLinks(real, name);
  return real;
}

async function refuseLinks(dir: string, name: string): Promise<void> {
  const stack = [dir];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    for await (const entry of Deno.readDir(next)) {
      const path = `${next}/${entry.name}`;
      if (entry.isSymlink) {
        throw new Error(
          `Refusing data dir for module '${name}': '${path}' is a symbolic link, which would escape the sandbox`,
        );
      }
      const st = await Deno.lstat(path);
      if (entry.isFile && (st.nlink ?? 1) > 1) {
        throw new Error(
          `Refusing data dir for module '${name}': '${path}' is a hard link (one of several names of one file), which could be a file outside the data dir`,
        );
      }
      // No set-user/group-id or world-writable file or folder: the module made them (as the host's user).
      const mode = st.mode ?? 0;
      if (mode & 0o6002) await Deno.chmod(path, mode & 0o7777 & ~0o6002);
      if (entry.isDirectory) stack.push(path);
    }
  }
}
