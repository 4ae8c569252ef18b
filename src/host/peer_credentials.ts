/**
 * Who is on the other end of an accepted Unix socket connection. The one-time token a module gets in its
 * environment can be read from `/proc/<pid>/environ` by any process of the same OS user, so the token
 * alone does not prove the connection comes from the spawned module: the host also asks the kernel
 * (`SO_PEERCRED`) which process connected and accepts only the module's own process (or, under the OS
 * sandbox, a descendant of the sandbox it spawned).
 *
 * Deno does not expose a connection's descriptor, so the host looks through its own descriptors
 * (`/proc/self/fd`) for sockets bound to the module's socket path that are not listening, and reads each
 * one's peer with `getsockopt` through FFI (the host runs with full permissions).
 *
 * @module
 */

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_ACCEPTCONN = 30;
const AF_UNIX = 1;

type Libc = {
  symbols: {
    getsockopt: (fd: number, level: number, name: number, value: Uint8Array, len: Uint8Array) => number;
    getsockname: (fd: number, addr: Uint8Array, len: Uint8Array) => number;
  };
};
let libc: Libc | undefined;
let unavailable: string | undefined;

/** The process on the other end of a connection. */
export interface PeerCredentials {
  /** Its process id, as the host sees it. */
  pid: number;
  /** Its user id. */
  uid: number;
  /** Its group id. */
  gid: number;
}

/**
 * The peers of the connections this process has accepted on `socketPath` and still holds open: the
 * descriptors whose socket name is that path and that are not listening.
 *
 * @param socketPath The listening socket's path.
 * @returns The peers, or a string saying why they cannot be known.
 *
 * @example
 * ```ts ignore
 * const conn = await listener.accept();
 * const peers = acceptedPeers(socketPath);
 * if (typeof peers === "string") console.warn(peers);
 * ```
 */
export function acceptedPeers(socketPath: string): PeerCredentials[] | string {
  const lib = openLibc();
  if (typeof lib === "string") return lib;
  const out: PeerCredentials[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    const fd = Number(e.name);
    try {
      if (!Deno.readLinkSync(`/proc/self/fd/${e.name}`).startsWith("socket:")) continue;
    } catch {
      continue; // closed meanwhile
    }
    if (socketName(lib, fd) !== socketPath || intOption(lib, fd, SO_ACCEPTCONN) !== 0) continue;
    const cred = new Uint8Array(12);
    if (lib.symbols.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, length(12)) !== 0) continue;
    const v = new DataView(cred.buffer);
    out.push({ pid: v.getInt32(0, true), uid: v.getUint32(4, true), gid: v.getUint32(8, true) });
  }
  return out;
}

function length(n: number): Uint8Array {
  return new Uint8Array(new Uint32Array([n]).buffer);
}

/** The path a Unix socket descriptor is bound to, or `undefined`. */
function socketName(lib: Libc, fd: number): string | undefined {
  const addr = new Uint8Array(112);
  const len = length(addr.length);
  if (lib.symbols.getsockname(fd, addr, len) !== 0) return undefined;
  if ((addr[0] | (addr[1] << 8)) !== AF_UNIX) return undefined;
  const end = Math.min(new Uint32Array(len.buffer)[0], addr.length);
  const nul = addr.indexOf(0, 2);
  return new TextDecoder().decode(addr.subarray(2, nul > 0 && nul < end ? nul : end));
}

function intOption(lib: Libc, fd: number, name: number): number | undefined {
  const v = new Uint8Array(4);
  if (lib.symbols.getsockopt(fd, SOL_SOCKET, name, v, length(4)) !== 0) return undefined;
  return new DataView(v.buffer).getInt32(0, true);
}

/**
 * Whether `pid` is `ancestor` or one of its descendants.
 *
 * @param pid A process id.
 * @param ancestor The process that should be it or above it.
 * @returns `true` if so.
 *
 * @example
 * ```ts
 * import { descendsFrom } from "@blvm/node";
 * console.log(descendsFrom(Deno.pid, Deno.pid), descendsFrom(1, Deno.pid)); // true false
 * ```
 */
export function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    if (p === ancestor) return true;
    try {
      const stat = Deno.readTextFileSync(`/proc/${p}/stat`);
      p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      return false;
    }
  }
  return pid === ancestor;
}

function openLibc(): Libc | string {
  if (libc) return libc;
  if (unavailable) return unavailable;
  try {
    libc = Deno.dlopen("libc.so.6", {
      getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
      getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
    }) as unknown as Libc;
    return libc;
  } catch (e) {
    return unavailable = `peer credentials cannot be read (FFI to libc failed: ${(e as Error).message})`;
  }
}
