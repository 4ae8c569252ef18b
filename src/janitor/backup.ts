/**
 * The `backup` maintenance: a snapshot of the node's storage (the backend's own consistent copy) and
 * of every known module's data folder, written under a temporary name and renamed when complete, so a
 * half-written backup never looks like a good one. Only the newest `backup_keep` are kept.
 *
 * @module
 */
import { HOST_FOLDER } from "../host/runtime_dir.ts";
import type { JanitorContext } from "./context.ts";

/** What a backup wrote. */
export interface BackupStats extends Record<string, unknown> {
  /** The backup folder. */
  path: string;
  /** Files written. */
  files: number;
  /** Bytes written. */
  bytes: number;
  /** Bytes of the node's snapshot. */
  node_bytes: number;
  /** Module data folders copied. */
  modules: number;
  /** Symbolic links not followed (a module's data folder may not point outside itself). */
  skipped_links: number;
  /** Sparse files not copied: a copy would take their whole size (a module could fill the disk that way). */
  skipped_sparse: number;
  /** Older backups removed by retention. */
  removed: number;
}

/** Backup folder names: `backup-<UTC time>`, which sort by age. */
export const BACKUP_PREFIX = "backup-";

/**
 * Take a backup now.
 *
 * @param ctx The janitor context.
 * @returns Its numbers.
 *
 * @example
 * ```ts ignore
 * const stats = await takeBackup(ctx);
 * console.log(stats.path, stats.bytes);
 * ```
 */
export async function takeBackup(ctx: JanitorContext): Promise<BackupStats> {
  const cfg = ctx.config().maintenance;
  const name = `${BACKUP_PREFIX}${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const tmp = `${cfg.backup_dir}/.${name}.tmp`;
  const final = `${cfg.backup_dir}/${name}`;
  await Deno.mkdir(`${tmp}/node`, { recursive: true, mode: 0o700 });
  const stats: BackupStats = {
    path: final,
    files: 0,
    bytes: 0,
    node_bytes: 0,
    modules: 0,
    skipped_links: 0,
    skipped_sparse: 0,
    removed: 0,
  };
  try {
    const node = await ctx.backend.backup(`${tmp}/node`);
    stats.files += node.files;
    stats.bytes += node.bytes;
    stats.node_bytes = node.bytes;
    // Only the modules' own folders: the backup or log folder may live inside data_dir too.
    const dataDir = ctx.manager.config.modules.data_dir;
    for (const { name } of ctx.manager.list()) {
      const st = await Deno.lstat(`${dataDir}/${name}`).catch(() => undefined);
      if (!st?.isDirectory) continue;
      // Not the host's folder in it (its socket and Deno cache): nothing there is the module's data.
      await copyTree(`${dataDir}/${name}`, `${tmp}/modules/${name}`, stats, HOST_FOLDER);
      stats.modules++;
    }
    await Deno.writeTextFile(
      `${tmp}/backup.json`,
      JSON.stringify({ created_at: new Date().toISOString(), ...stats }, null, 2),
    );
    await Deno.rename(tmp, final);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  const all = (await Array.fromAsync(Deno.readDir(cfg.backup_dir)))
    .filter((e) => e.isDirectory && e.name.startsWith(BACKUP_PREFIX)).map((e) => e.name).sort();
  for (const old of all.slice(0, Math.max(0, all.length - cfg.backup_keep))) {
    await Deno.remove(`${cfg.backup_dir}/${old}`, { recursive: true });
    stats.removed++;
  }
  return stats;
}

/** A file bigger than this that takes less than half its size on disk is sparse. */
const SPARSE_MIN = 1024 * 1024;

async function copyTree(from: string, to: string, stats: BackupStats, skip?: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true, mode: 0o700 });
  for await (const e of Deno.readDir(from)) {
    if (e.name === skip) continue;
    const src = `${from}/${e.name}`;
    if (e.isSymlink) stats.skipped_links++;
    else if (e.isDirectory) await copyTree(src, `${to}/${e.name}`, stats);
    else if (e.isFile) {
      const st = await Deno.lstat(src);
      if (st.size > SPARSE_MIN && st.size > 2 * (st.blocks ?? 0) * 512) {
        stats.skipped_sparse++;
        continue;
      }
      await Deno.copyFile(src, `${to}/${e.name}`);
      stats.files++;
      stats.bytes += st.size;
    }
  }
}
