/**
 * Hot reload: watch the modules directory with `Deno.watchFs` and report which module folders
 * changed, debounced so an editor's or `git checkout`'s burst of writes becomes one reload. A folder
 * deleted, moved away or moved in is reported too, from its own event and from a periodic look at
 * which folders exist (which also covers events the kernel dropped).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { folderGone } from "./folder.ts";
import type { ModuleManager } from "./manager.ts";

/**
 * How often {@link watchModules} looks at which module folders exist, besides its file events.
 *
 * @example
 * ```ts
 * import { FOLDER_POLL_MS } from "./watcher.ts";
 * console.log(FOLDER_POLL_MS); // 2000
 * ```
 */
export const FOLDER_POLL_MS = 2000;

/** Editor swap files, backups and hidden files, which never trigger a reload. */
const IGNORED = /(^\.|~$|\.swp$|\.swx$|\.tmp$|^#.*#$|^4913$)/;

/**
 * Which module folder a changed path belongs to.
 *
 * @param root The modules directory (absolute, no trailing slash).
 * @param path A changed path.
 * @returns The folder name, or `undefined` for paths outside a module folder or ignored files.
 *
 * @example
 * ```ts
 * import { moduleOfPath } from "@blvm/node";
 * console.log(moduleOfPath("/srv/modules", "/srv/modules/hello/main.ts")); // "hello"
 * console.log(moduleOfPath("/srv/modules", "/srv/modules/hello/.main.ts.swp")); // undefined
 * ```
 */
export function moduleOfPath(root: string, path: string): string | undefined {
  if (!path.startsWith(root + "/")) return undefined;
  const parts = path.slice(root.length + 1).split("/");
  if (parts.length < 2 || parts.some((p) => IGNORED.test(p))) return undefined;
  return parts[0];
}

/**
 * Watch `root` recursively; after `debounceMs` without further changes, call `onChange` with the
 * names of the module folders that changed: a file inside changed, or the folder itself was created,
 * deleted or renamed. Every `pollMs` (and when the kernel reports dropped events) the folders that
 * exist are compared with the previous look, and a folder that appeared or disappeared is reported
 * the same way, so a deletion is never missed.
 *
 * @param root The modules directory.
 * @param debounceMs Quiet time before reporting.
 * @param onChange Receives the changed module names.
 * @param ignore Directories whose changes never count (the data and runtime directories, in case
 * they lie inside `root`: a module writing its data must not reload itself).
 * @param pollMs How often to compare the folders that exist; 0 turns that off.
 * @returns A handle whose `close()` stops watching.
 *
 * @example
 * ```ts ignore
 * const w = watchModules("/srv/modules", 300, (names) => console.log([...names]));
 * w.close();
 * ```
 */
export function watchModules(
  root: string,
  debounceMs: number,
  onChange: (names: Set<string>) => void,
  ignore: string[] = [],
  pollMs: number = FOLDER_POLL_MS,
): { close(): void } {
  let watcher: Deno.FsWatcher;
  try {
    root = Deno.realPathSync(root);
    ignore = ignore.flatMap((d) => {
      try {
        return [Deno.realPathSync(d) + "/"];
      } catch {
        return [];
      }
    });
    watcher = Deno.watchFs(root, { recursive: true });
  } catch {
    return { close() {} };
  }
  let changed = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const schedule = () => {
    if (!changed.size) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (closed) return;
      const names = changed;
      changed = new Set();
      onChange(names);
    }, debounceMs);
  };
  const ignored = (p: string) => ignore.some((d) => (p + "/").startsWith(d));
  let folders = foldersIn(root, ignored);
  const look = () => {
    const now = foldersIn(root, ignored);
    for (const n of now) if (!folders.has(n)) changed.add(n);
    for (const n of folders) if (!now.has(n)) changed.add(n);
    folders = now;
    schedule();
  };
  const poll = pollMs > 0 ? setInterval(look, pollMs) : undefined;
  (async () => {
    for await (const event of watcher) {
      if (closed) break;
      if (event.flag === "rescan") look();
      if (event.kind === "access" || event.kind === "other") continue;
      for (const p of event.paths) {
        if (ignored(p)) continue;
        const inside = moduleOfPath(root, p);
        if (inside) changed.add(inside);
        // The folder itself: created, deleted or moved (files directly in root never count).
        const entry = inside ? undefined : entryOfPath(root, p);
        if (!entry) continue;
        const isFolder = !folderGone(p);
        if (isFolder || folders.has(entry)) changed.add(entry);
        if (isFolder) folders.add(entry);
        else folders.delete(entry);
      }
      schedule();
    }
  })().catch(() => {});
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      try {
        watcher.close();
      } catch { /* already closed */ }
    },
  };
}

/** The entry of `root` that `path` is itself (a module folder created, deleted or renamed), if not ignored. */
function entryOfPath(root: string, path: string): string | undefined {
  const name = path.startsWith(root + "/") ? path.slice(root.length + 1) : "";
  return name && !name.includes("/") && !IGNORED.test(name) ? name : undefined;
}

/** The names of the folders (or links to folders) in `root`, but hidden and ignored ones. */
function foldersIn(root: string, ignored: (path: string) => boolean): Set<string> {
  const out = new Set<string>();
  try {
    for (const e of Deno.readDirSync(root)) {
      if (IGNORED.test(e.name) || ignored(`${root}/${e.name}`)) continue;
      if (e.isDirectory || (e.isSymlink && !folderGone(`${root}/${e.name}`))) out.add(e.name);
    }
  } catch { /* the modules directory itself is gone: every folder is */ }
  return out;
}

/**
 * Reload each changed module through the manager (so the widening check applies), logging the
 * outcome. A known module whose folder is gone becomes `missing` (the reload says so; the state
 * change is the log line); one that is `missing` and whose folder is back is loaded again. Folders
 * of modules the manager does not know are only reported, if they hold a `module.toml`.
 *
 * @param manager The module manager.
 * @param names Changed module folders.
 * @param log Where outcomes are logged.
 * @param closing Returns `true` once the host is shutting down, to stop early.
 *
 * @example
 * ```ts ignore
 * watchModules(dir, 300, (names) => reloadChanged(manager, names, log, () => false));
 * ```
 */
export async function reloadChanged(
  manager: ModuleManager,
  names: Set<string>,
  log: Logger,
  closing: () => boolean,
): Promise<void> {
  for (const name of names) {
    if (closing()) return;
    const m = manager.get(name);
    if (!m) {
      if (hasManifest(`${manager.config.modules.modules_dir}/${name}`)) {
        log.info("Files of unknown module {module} changed; load it with: deno task ctl load {module}", {
          module: name,
        });
      }
      continue;
    }
    // Still gone: nothing new to say.
    if (m.state === "missing" && folderGone(m.dir)) continue;
    try {
      const r = await manager.reload(name, { reason: "files changed" });
      if (r.old_version === null) {
        log.info("Hot reload of {module}: loaded {new}", { module: name, new: r.new_version });
      } else {log.info("Hot reload of {module}: {old} → {new}", {
          module: name,
          old: r.old_version,
          new: r.new_version,
        });}
    } catch (e) {
      // Gone: the state change to `missing` was the log line.
      if ((e as { code?: string }).code === "NOT_FOUND" && manager.get(name)?.state === "missing") continue;
      log.warn("Hot reload of {module} not applied: {error}", { module: name, error: (e as Error).message });
    }
  }
}

function hasManifest(dir: string): boolean {
  try {
    return Deno.statSync(`${dir}/module.toml`).isFile;
  } catch {
    return false;
  }
}
