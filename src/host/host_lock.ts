/**
 * One host per data root and per socket. A host holds an exclusive lock (`flock`) on
 * `<data_dir>/.blvm/host.lock` for as long as it runs, so two hosts can never run modules on the same
 * data directories: the second refuses with {@link HostRunningError}, naming the first's pid. The kernel
 * drops the lock when its holder dies, however it dies, so a killed host never blocks the next one.
 * Socket paths are claimed the same way: a socket file nobody answers on is a dead host's and is
 * replaced; one that answers belongs to a live host and is never touched.
 *
 * @module
 */

/** The host's folder in the data root (module names cannot start with a dot). */
export const DATA_ROOT_FOLDER = ".blvm";

/**
 * Another host already runs on this data root or answers on this socket.
 *
 * @example
 * ```ts
 * import { HostRunningError } from "@blvm/node";
 * const e = new HostRunningError("data dir /srv/data/modules", 4242);
 * console.log(e.code, e.pid, e.message.includes("pid 4242")); // "HOST_RUNNING" 4242 true
 * ```
 */
export class HostRunningError extends Error {
  /** Always `HOST_RUNNING`. */
  readonly code = "HOST_RUNNING";
  /** The other host's process id, when it could be found. */
  readonly pid?: number;

  /**
   * Create the error; its message is `Another host is already running (pid N): <what> …`.
   *
   * @param what What the other host holds, e.g. `data dir /srv/data/modules`.
   * @param pid The other host's pid, if known.
   */
  constructor(what: string, pid?: number) {
    super(
      `Another host is already running${
        pid ? ` (pid ${pid})` : ""
      }: it holds ${what}; stop it first, or give this host other directories`,
    );
    this.name = "HostRunningError";
    this.pid = pid;
  }
}

/** A held data-root lock. */
export interface DataRootLock {
  /** The lock file. */
  readonly path: string;
  /** Give the lock up (idempotent). */
  release(): void;
}

/**
 * Take the data root's exclusive lock, or refuse.
 *
 * @param root The data root (the modules' base data directory); created if missing.
 * @returns The held lock.
 * @throws {HostRunningError} if another host (in any process, this one included) holds it.
 *
 * @example
 * ```ts
 * import { HostRunningError, lockDataRoot } from "@blvm/node";
 * const root = await Deno.makeTempDir();
 * const lock = lockDataRoot(root);
 * try {
 *   lockDataRoot(root);
 * } catch (e) {
 *   console.log(e instanceof HostRunningError, (e as HostRunningError).pid === Deno.pid); // true true
 * }
 * lock.release();
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export function lockDataRoot(root: string): DataRootLock {
  const dir = `${root}/${DATA_ROOT_FOLDER}`;
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = `${dir}/host.lock`;
  const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  let locked: boolean;
  try {
    locked = file.tryLockSync(true);
  } catch (e) {
    file.close();
    throw e;
  }
  if (!locked) {
    file.close();
    const holder = Number(Deno.readTextFileSync(path).match(/"pid":(\d+)/)?.[1]);
    throw new HostRunningError(`data dir ${root} (lock ${path})`, holder || undefined);
  }
  file.truncateSync(0);
  file.writeSync(new TextEncoder().encode(JSON.stringify({ pid: Deno.pid, since: new Date().toISOString() })));
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      try {
        file.truncateSync(0);
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}

/**
 * Make `path` free for a new listening socket: a socket nobody answers on (a dead host's) or a plain
 * file is removed; a socket that answers is left alone.
 *
 * @param path The socket path.
 * @throws {HostRunningError} if a process answers on it (naming that process when it can be found).
 * @throws {Error} if something else (a folder) is at the path.
 *
 * @example
 * ```ts ignore
 * await claimSocketPath(`${runtimeDir}/admin.sock`);
 * const listener = Deno.listen({ transport: "unix", path: `${runtimeDir}/admin.sock` });
 * ```
 */
export async function claimSocketPath(path: string): Promise<void> {
  const st = await Deno.lstat(path).catch(() => undefined);
  if (!st) return;
  if (st.isSocket) {
    const other = await Deno.connect({ transport: "unix", path }).catch(() => undefined);
    if (other) {
      other.close();
      throw new HostRunningError(`the socket ${path}, which answers`, socketOwner(path));
    }
  } else if (!st.isFile) {
    throw new Error(`Cannot listen on ${path}: something other than a socket or a file is there; remove it`);
  }
  await Deno.remove(path).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
}

/**
 * The process listening on a Unix socket path: its inode from `/proc/net/unix`, then the process holding
 * it among those whose descriptors this user can read.
 *
 * @param path The socket path.
 * @returns The pid, or `undefined` if it cannot be found.
 *
 * @example
 * ```ts
 * import { socketOwner } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * const listener = Deno.listen({ transport: "unix", path: `${dir}/s.sock` });
 * console.log(socketOwner(`${dir}/s.sock`) === Deno.pid); // true
 * listener.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function socketOwner(path: string): number | undefined {
  let inode: string | undefined;
  try {
    for (const line of Deno.readTextFileSync("/proc/net/unix").split("\n").slice(1)) {
      // Num RefCount Protocol Flags Type St Inode Path; flag 0x10000 is a listening socket.
      const f = line.trim().split(/\s+/);
      if (f[7] === path && (parseInt(f[3], 16) & 0x10000)) inode = f[6];
    }
    if (!inode) return undefined;
    const link = (path: string) => {
      try {
        return Deno.readLinkSync(path);
      } catch {
        return undefined; // closed meanwhile
      }
    };
    for (const p of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(p.name)) continue;
      let fds: Deno.DirEntry[];
      try {
        fds = [...Deno.readDirSync(`/proc/${p.name}/fd`)];
      } catch {
        continue; // not ours to read, or gone
      }
      if (fds.some((fd) => link(`/proc/${p.name}/fd/${fd.name}`) === `socket:[${inode}]`)) return Number(p.name);
    }
  } catch { /* no /proc */ }
  return undefined;
}
