/**
 * The node configuration while the host runs: `ConfigLoaded` at start-up, then the file is watched.
 * After an edit (debounced), the file is read and validated again with the same environment and
 * command-line overrides. A file that fails to parse or validate is rejected with a logged error that
 * names the key; the old configuration stays in force and no event is sent. A valid edit is applied
 * (module settings, janitor schedules) and published as `ConfigLoaded`, per module: each module gets
 * only its own view (see `module_view.ts`), and only if that view changed, with the sections of it that
 * changed. Secrets are redacted in `config_json`.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { dirname } from "node:path";
import type { Janitor } from "../janitor/janitor.ts";
import type { ModuleManager } from "../manager/manager.ts";
import { loadNodeConfig, type NodeConfig } from "../manager/node_config.ts";
import type { Override } from "./overrides.ts";
import { configLoadedFor } from "./module_view.ts";
import { changedSections, redactConfig } from "./redact.ts";

/** Where the configuration comes from. */
export interface ConfigSource {
  /** The file given with `--config`, if any. */
  path?: string;
  /** The working directory. */
  cwd: string;
  /** Environment and command-line overrides, applied after every read. */
  overrides: readonly Override[];
}

/** What a reload did. */
export interface ReloadOutcome {
  /** Whether a new configuration is in force. */
  applied: boolean;
  /** The top-level sections that changed (empty if nothing did). */
  changed_sections: string[];
  /** Why it was rejected. */
  error?: string;
  /** What happened to each module whose settings changed. */
  modules?: Record<string, string>;
  /** The running modules sent `ConfigLoaded`, with the sections of their view that changed. */
  notified?: Record<string, string[]>;
}

/**
 * The configuration as the node shows it: effective values for the sections it knows (defaults
 * filled, paths absolute), the file's own tables for the others.
 *
 * @param c A loaded configuration.
 * @returns A plain object.
 *
 * @example
 * ```ts ignore
 * console.log(Object.keys(effectiveConfig(config))); // ["modules", "node", "janitor", ...]
 * ```
 */
export function effectiveConfig(c: NodeConfig): Record<string, unknown> {
  return { ...c.raw, modules: c.modules, node: c.node, janitor: c.janitor };
}

/**
 * Dotted paths that are secret: the file's `secret_keys` plus module config keys declared
 * `secret = true` in a manifest's `[config_schema]`.
 *
 * @param c The configuration.
 * @param manager The manager, for the manifests.
 * @returns The paths.
 */
export function secretPaths(c: NodeConfig, manager?: ModuleManager): string[] {
  const out = [...c.secret_keys];
  for (const s of manager?.list() ?? []) {
    const schema = manager!.get(s.name)?.loaded?.manifest.config_schema ?? {};
    for (const [key, field] of Object.entries(schema)) {
      if (field.secret) out.push(`modules.modules.${s.name}.config.${key}`, `modules.${s.name}.config.${key}`);
    }
  }
  return out;
}

/**
 * Publishes `ConfigLoaded` and applies edits of the configuration file.
 *
 * @example
 * ```ts ignore
 * const live = new LiveConfig(manager, janitor, { path: "blvm.toml", cwd: Deno.cwd(), overrides: [] });
 * live.publish();           // at start-up, before the modules start
 * live.watch(300);          // then follow edits
 * ```
 */
export class LiveConfig {
  readonly #manager: ModuleManager;
  readonly #janitor?: Janitor;
  readonly #source: ConfigSource;
  readonly #log: Logger = getLogger(["blvm", "config"]);
  #watcher?: Deno.FsWatcher;
  #timer?: ReturnType<typeof setTimeout>;
  #reloading: Promise<unknown> = Promise.resolve();

  /**
   * Follow the configuration of a manager.
   *
   * @param manager The manager, whose configuration is in force.
   * @param janitor The janitor, told about `[janitor]` changes.
   * @param source Where the configuration comes from.
   */
  constructor(manager: ModuleManager, janitor: Janitor | undefined, source: ConfigSource) {
    this.#manager = manager;
    this.#janitor = janitor;
    this.#source = source;
  }

  /** The configuration in force. */
  get current(): NodeConfig {
    return this.#manager.config;
  }

  /**
   * Publish `ConfigLoaded` for the configuration in force: each subscribed module gets its own view
   * with every section of it listed as changed. It is sticky: a module that subscribes later gets its
   * own view of the configuration in force then.
   *
   * @returns The modules it was sent to, with their sections.
   */
  publish(): Record<string, string[]> {
    return this.#publish();
  }

  /**
   * Publish `ConfigLoaded` to each module whose view differs from its view of `before`.
   *
   * @param before The configuration that was in force. Without it, every module gets its whole view.
   * @returns The modules it was sent to, with the sections that changed.
   */
  #publish(before?: NodeConfig): Record<string, string[]> {
    const peers = this.#manager.host.peers;
    const notified: Record<string, string[]> = {};
    let previous = before && { config: before, marked: secretPaths(before, this.#manager) };
    let marked: string[] | undefined = secretPaths(this.current, this.#manager);
    try {
      this.#manager.host.bus.publishEach("ConfigLoaded", (sub, replay) => {
        const name = peers.nameOf(sub);
        if (name === undefined) return undefined;
        if (replay) {
          // A late subscriber gets its view of the configuration in force then, never an old one.
          return configLoadedFor(this.current, name, secretPaths(this.current, this.#manager));
        }
        const payload = configLoadedFor(this.current, name, marked!, previous);
        if (payload) notified[name] = payload.changed_sections;
        return payload;
      }, { sticky: "" });
    } finally {
      // The function is kept for late subscribers, which need neither the old configuration nor these paths.
      previous = undefined;
      marked = undefined;
    }
    return notified;
  }

  /**
   * The view of the configuration one module is shown in `ConfigLoaded`, secrets redacted.
   *
   * @param name The module name.
   * @returns Its `modules.<name>`, `node`, `janitor` and `config_sections`.
   */
  viewOf(name: string): Record<string, unknown> {
    return JSON.parse(configLoadedFor(this.current, name, secretPaths(this.current, this.#manager))!.config_json);
  }

  /** The whole configuration in force as the node shows the operator (`ctl config`), secrets redacted. */
  redacted(): Record<string, unknown> {
    return redactConfig(effectiveConfig(this.current), secretPaths(this.current, this.#manager)) as Record<
      string,
      unknown
    >;
  }

  /**
   * Read the file again and apply it if it is valid and different. Reloads run one at a time.
   *
   * @returns What happened.
   */
  reload(): Promise<ReloadOutcome> {
    const run = this.#reloading.then(() => this.#reload());
    this.#reloading = run.catch(() => {});
    return run;
  }

  async #reload(): Promise<ReloadOutcome> {
    const before = this.current;
    let next: NodeConfig;
    try {
      next = await loadNodeConfig(this.#source.path ?? before.file, this.#source.cwd, this.#source.overrides);
    } catch (e) {
      const error = (e as Error).message;
      this.#log.error("Configuration edit rejected; the configuration in force is kept. {error}", { error });
      return { applied: false, changed_sections: [], error };
    }
    const changed = changedSections(effectiveConfig(before), effectiveConfig(next));
    if (!changed.length) return { applied: false, changed_sections: [] };
    const modules = await this.#manager.applyConfig(next);
    if (changed.includes("janitor")) this.#janitor?.reconfigure(next.janitor);
    for (const section of ["node", "journal"]) {
      if (changed.includes(section)) {
        this.#log.warn("[{section}] changed; its settings take effect when the host restarts", { section });
      }
    }
    let notified: Record<string, string[]> = {};
    try {
      notified = this.#publish(before);
    } catch (e) {
      // Applied all the same; only the event could not be sent (a module's view too big for one frame).
      this.#log.error("ConfigLoaded could not be sent: {error}", { error: (e as Error).message });
    }
    this.#log.info("Configuration reloaded: {sections} changed; ConfigLoaded sent to {notified}", {
      sections: changed.join(", "),
      notified: Object.keys(notified).sort().join(", ") || "no module",
    });
    return { applied: true, changed_sections: changed, modules, notified };
  }

  /**
   * Watch the configuration file (its folder, so an editor's rename-over is seen too) and reload
   * `debounceMs` after the last change. Without a file there is nothing to watch.
   *
   * @param debounceMs Quiet time after a change.
   */
  watch(debounceMs: number): void {
    const file = this.current.file;
    if (!file || this.#watcher) return;
    try {
      this.#watcher = Deno.watchFs(dirname(file), { recursive: false });
    } catch (e) {
      this.#log.warn("Cannot watch {file}: {error}", { file, error: (e as Error).message });
      return;
    }
    (async () => {
      for await (const ev of this.#watcher!) {
        if (ev.kind === "access" || !ev.paths.includes(file)) continue;
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => void this.reload(), debounceMs);
      }
    })().catch(() => {});
  }

  /** Stop watching. */
  close(): void {
    clearTimeout(this.#timer);
    try {
      this.#watcher?.close();
    } catch { /* closed */ }
    this.#watcher = undefined;
  }
}
