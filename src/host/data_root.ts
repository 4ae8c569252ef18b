/**
 * What a host does with its data root before it runs anything: take the data root's lock (or refuse, if
 * another host holds it), end every module process a previous host left running, and remove the module
 * sockets a dead host left behind.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { claimSocketPath, DATA_ROOT_FOLDER, type DataRootLock, HostRunningError, lockDataRoot } from "./host_lock.ts";
import { type EndedLeftover, type LeftoverError, RunRecords } from "./leftovers.ts";
import { HOST_FOLDER } from "./runtime_dir.ts";

/** A data root this host now owns. */
export interface DataRootClaim {
  /** The lock, held until {@link DataRootLock.release}. */
  lock: DataRootLock;
  /** The run records of its modules. */
  records: RunRecords;
  /** The processes a previous host left running, now ended. */
  ended: EndedLeftover[];
  /** Processes that would not die: their modules refuse to start while they live. */
  stuck: LeftoverError[];
  /** Stale module socket files removed. */
  staleSockets: number;
}

/**
 * Lock the data root, end a previous host's leftovers and remove stale module sockets.
 *
 * @param root The modules' base data directory (must exist).
 * @param log Where to report what was ended or removed.
 * @returns The claim; release its lock when the host stops.
 * @throws {HostRunningError} if another host runs on this data root.
 *
 * @example
 * ```ts
 * import { claimDataRoot } from "@blvm/node";
 * const root = await Deno.makeTempDir();
 * const claim = await claimDataRoot(root);
 * console.log(claim.ended.length, claim.staleSockets); // 0 0
 * claim.lock.release();
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function claimDataRoot(root: string, log?: Logger): Promise<DataRootClaim> {
  const lock = lockDataRoot(root);
  try {
    const records = new RunRecords(`${root}/${DATA_ROOT_FOLDER}/run`);
    const { ended, stuck } = await records.endAll(log);
    const staleSockets = await removeStaleModuleSockets(root, log);
    return { lock, records, ended, stuck, staleSockets };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * Remove the module sockets (`<root>/<name>/.blvm/run/sock`) nobody listens on any more. Follows no
 * symbolic link; leaves a socket that answers (and says so).
 *
 * @param root The data root.
 * @param log Where to report.
 * @returns How many were removed.
 */
async function removeStaleModuleSockets(root: string, log?: Logger): Promise<number> {
  const lstat = (path: string) => Deno.lstat(path).catch(() => undefined);
  let removed = 0;
  for await (const e of Deno.readDir(root)) {
    if (!e.isDirectory || e.name.startsWith(".")) continue;
    const host = `${root}/${e.name}/${HOST_FOLDER}`, run = `${host}/run`, sock = `${run}/sock`;
    if (!(await lstat(host))?.isDirectory || !(await lstat(run))?.isDirectory || !(await lstat(sock))?.isSocket) {
      continue;
    }
    try {
      await claimSocketPath(sock);
      removed++;
      log?.info("Removed the stale socket {path} of a previous host", { path: sock });
    } catch (err) {
      if (!(err instanceof HostRunningError)) throw err;
      log?.warn("Left {path} alone: {error}", { path: sock, error: err.message });
    }
  }
  return removed;
}
