/**
 * The `cleanup` maintenance: files the node leaves behind. Stale sockets in the runtime folder (no
 * module is starting on them), temporary folders of interrupted backups, and log files older than
 * `log_retention_days` in `log_dir`.
 *
 * @module
 */
import type { JanitorContext } from "./context.ts";

/** What a cleanup removed. */
export interface FileCleanupStats extends Record<string, unknown> {
  /** Socket files removed from the runtime folder. */
  stale_sockets: number;
  /** Temporary files and folders removed. */
  temp_files: number;
  /** Old log files removed. */
  old_logs: number;
  /** Bytes freed (files only; sockets count 0). */
  freed_bytes: number;
}

/** A socket file younger than this may belong to a module that is starting right now. */
const SOCKET_GRACE_MS = 60_000;

/**
 * Remove stale sockets, temporary files and old logs.
 *
 * @param ctx The janitor context.
 * @returns What was removed.
 *
 * @example
 * ```ts ignore
 * const { stale_sockets, old_logs } = await cleanFiles(ctx);
 * ```
 */
export async function cleanFiles(ctx: JanitorContext): Promise<FileCleanupStats> {
  const cfg = ctx.config().maintenance;
  const stats: FileCleanupStats = { stale_sockets: 0, temp_files: 0, old_logs: 0, freed_bytes: 0 };
  const now = Date.now();
  const host = ctx.manager.host;
  // Module sockets live in their data dirs (and each start clears its own); what is left here is stale.
  for (const e of await entries(host.runtimeDir)) {
    if (!e.name.endsWith(".sock") || e.name === "admin.sock") continue;
    const st = await Deno.lstat(`${host.runtimeDir}/${e.name}`).catch(() => undefined);
    if (!st?.isSocket || now - (st.mtime?.getTime() ?? now) < SOCKET_GRACE_MS) continue;
    if (await remove(`${host.runtimeDir}/${e.name}`)) stats.stale_sockets++;
  }
  for (const dir of [cfg.backup_dir, ctx.nodeDataDir].filter((d): d is string => !!d)) {
    for (const e of await entries(dir)) {
      if (!e.name.endsWith(".tmp")) continue;
      const size = await sizeOf(`${dir}/${e.name}`);
      if (await remove(`${dir}/${e.name}`)) {
        stats.temp_files++;
        stats.freed_bytes += size;
      }
    }
  }
  const maxAge = cfg.log_retention_days * 86_400_000;
  for (const e of await entries(cfg.log_dir)) {
    if (!e.isFile || !/\.log(\.\d+|\.gz)?$/.test(e.name)) continue;
    const st = await Deno.lstat(`${cfg.log_dir}/${e.name}`).catch(() => undefined);
    if (!st || now - (st.mtime?.getTime() ?? now) <= maxAge) continue;
    if (await remove(`${cfg.log_dir}/${e.name}`)) {
      stats.old_logs++;
      stats.freed_bytes += st.size;
    }
  }
  return stats;
}

async function entries(dir: string): Promise<Deno.DirEntry[]> {
  return await Array.fromAsync(Deno.readDir(dir)).catch(() => []);
}

async function remove(path: string): Promise<boolean> {
  return await Deno.remove(path, { recursive: true }).then(() => true, () => false);
}

async function sizeOf(path: string): Promise<number> {
  const st = await Deno.lstat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory) return st.size;
  let total = 0;
  for (const e of await entries(path)) total += await sizeOf(`${path}/${e.name}`);
  return total;
}
