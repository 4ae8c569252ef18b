/**
 * Hot reload: watch the modules directory with `Deno.watchFs` and report which module folders
 * changed, debounced so an editor's or `git checkout`'s burst of writes becomes one reload.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ModuleManager } from "./manager.ts";

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
 * names of the module folders that changed.
 *
 * @param root The modules directory.
 * @param debounceMs Quiet time before reporting.
 * @param onChange Receives the changed module names.
 * @param ignore Directories whose changes never count (the data and runtime directories, in case
 * they lie inside `root`: a module writing its data must not reload itself).
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
  (async () => {
    for await (const event of watcher) {
      if (closed) break;
      if (event.kind === "access" || event.kind === "other") continue;
      for (const p of event.paths) {
        if (ignore.some((d) => p.startsWith(d))) continue;
        const name = moduleOfPath(root, p);
        if (name) changed.add(name);
      }
      if (!changed.size) continue;
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (closed) return;
        const names = changed;
        changed = new Set();
        onChange(names);
      }, debounceMs);
    }
  })().catch(() => {});
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      try {
        watcher.close();
      } catch { /* already closed */ }
    },
  };
}

/**
 * Reload each changed module through the manager (so the widening check applies), logging the
 * outcome. Folders of modules the manager does not know are only reported.
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
    if (!manager.get(name)) {
      log.info("Files of unknown module {module} changed; load it with: deno task ctl load {module}", { module: name });
      continue;
    }
    try {
      const r = await manager.reload(name, { reason: "files changed" });
      log.info("Hot reload of {module}: {old} → {new}", { module: name, old: r.old_version, new: r.new_version });
    } catch (e) {
      log.warn("Hot reload of {module} not applied: {error}", { module: name, error: (e as Error).message });
    }
  }
}
