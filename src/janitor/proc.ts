/**
 * Readings the monitors take from the system: CPU time of a process from Linux `/proc` (the host needs
 * `-A`, see `deno-sandbox-facts.md`), the size of a folder, and free space from `node:fs` statfs.
 *
 * @module
 */
import { statfsSync } from "node:fs";

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux). */
export const CLOCK_TICKS = 100;

/**
 * CPU time a process has used (user + system), in milliseconds, from `/proc/<pid>/stat`.
 *
 * @param pid Process id.
 * @returns Milliseconds, or `null` where `/proc` is unavailable or the process is gone.
 *
 * @example
 * ```ts
 * import { cpuTimeMs } from "./proc.ts";
 * const ms = cpuTimeMs(Deno.pid);
 * console.log(ms === null || ms >= 0); // true
 * ```
 */
export function cpuTimeMs(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 1000 / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * Disk space a folder counts against a quota, not following symbolic links: each regular file its size
 * or its allocated blocks, whichever is larger (a sparse file counts what a copy of it takes), and each
 * folder its allocated blocks (so masses of empty files and folders count too). Files deleted while
 * still open are not seen.
 *
 * @param dir The folder.
 * @returns Bytes; 0 if it does not exist.
 *
 * @example
 * ```ts
 * import { diskUsage } from "./proc.ts";
 * const dir = await Deno.makeTempDir();
 * const f = await Deno.open(`${dir}/sparse`, { write: true, create: true });
 * await f.truncate(1 << 30); // 1 GiB, almost nothing allocated
 * f.close();
 * console.log(await diskUsage(dir) >= 1 << 30); // true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory && !e.isFile) continue;
      const st = await Deno.lstat(`${d}/${e.name}`).catch(() => undefined);
      if (!st) continue;
      const allocated = (st.blocks ?? 0) * 512;
      total += e.isFile ? Math.max(st.size, allocated) : allocated;
      if (e.isDirectory) await walk(`${d}/${e.name}`);
    }
  };
  await walk(dir);
  return total;
}

/** Free and total space of the filesystem holding a path. */
export interface DiskSpace {
  /** The path asked about. */
  path: string;
  /** Bytes available to unprivileged users. */
  available_bytes: number;
  /** Size of the filesystem. */
  total_bytes: number;
  /** `available_bytes` as a percentage of `total_bytes`. */
  percent_free: number;
  /** The filesystem's device number, to tell paths on the same disk apart. */
  device: number;
}

/**
 * Free space of the filesystem holding `path` (the nearest existing parent if `path` does not exist).
 *
 * @param path A path.
 * @returns The reading.
 * @throws {Error} if no parent of the path can be read.
 *
 * @example
 * ```ts
 * import { diskSpace } from "./proc.ts";
 * const d = diskSpace(Deno.cwd());
 * console.log(d.total_bytes > 0, d.percent_free <= 100); // true true
 * ```
 */
export function diskSpace(path: string): DiskSpace {
  let p = path;
  for (;;) {
    try {
      const s = statfsSync(p);
      const device = Deno.statSync(p).dev;
      const total = s.blocks * s.bsize;
      const available = s.bavail * s.bsize;
      return {
        path,
        available_bytes: available,
        total_bytes: total,
        percent_free: total ? Math.round(available / total * 10_000) / 100 : 0,
        device,
      };
    } catch (e) {
      const parent = p.replace(/\/[^/]*\/?$/, "") || "/";
      const missing = e instanceof Deno.errors.NotFound || (e as { code?: string }).code === "ENOENT";
      if (parent === p || !missing) throw e;
      p = parent;
    }
  }
}
