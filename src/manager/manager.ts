/**
 * The module manager: discovers modules, resolves their dependencies, starts them in order, keeps
 * them running, and carries out the operator's load, unload and reload commands.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { getLogger } from "@logtape/logtape";
import { Host } from "../host/host.ts";
import { ErrorCode, RemoteError } from "../protocol/errors.ts";
import type { ModuleLogRecord } from "../host/log.ts";
import type { NodeBackend } from "../node/backend.ts";
import { ConfigFileError } from "./config_error.ts";
import { discoverModules, readModuleFolder } from "./discovery.ts";
import { ManagerError } from "./errors.ts";
import { manifestWidening, widening } from "./grants.ts";
import {
  detailOf,
  directoryEntry,
  hardDependencies,
  loadedPayload,
  LOG_LINES,
  type ManagedModule,
  markUnloaded,
  type ModuleDetail,
  type ModuleStatus,
  newManagedModule,
  reportHealth,
  statusOf,
} from "./managed.ts";
import type { LoadedManifest } from "./manifest.ts";
import { moduleOverrides, type NodeConfig } from "./node_config.ts";
import { type Candidate, resolveLoadOrder } from "./resolve.ts";
import { moduleNameSchema } from "./rules.ts";
import { initialRestartState } from "./restart.ts";
import { activate, armActivation, deliverPending } from "./activation.ts";
import { applyPrepared, type Prepared, prepareModule } from "./prepare.ts";
import { dependentsOf, serial, setState, spawn, stop, stopDependents, type SupervisorContext } from "./supervisor.ts";
import { reloadChanged, watchModules } from "./watcher.ts";
import { folderGone } from "./folder.ts";
import { checkFolder, markMissing, missingError, noticeMissing } from "./missing.ts";
import { restartOverLimit } from "./limit_restart.ts";
import { reconfigure, type ReconfigureAction } from "./reconfigure.ts";
import { journalOption } from "../config/journal_config.ts";
import { stable } from "../config/redact.ts";
import { signatureDowngrade } from "../signing/policy.ts";

/** Settings for {@link ModuleManager.create}. */
export interface ManagerOptions {
  /** The node configuration (`blvm.toml`). */
  config: NodeConfig;
  /** The node the NodeAPI reads from. */
  backend: NodeBackend;
  /** The `deno.json` modules run with. Default: this package's own. */
  configPath?: string;
  /** The deno binary for modules. Default: the one running the host. */
  denoPath?: string;
  /** Sees every module log record. */
  onModuleLog?: (record: ModuleLogRecord) => void;
  /** Called when a required module fails for good after start-up; the host should stop. */
  onFatal?: (error: ManagerError) => void;
  /** `performance.now()` when the node began starting, for `NodeStartupCompleted`. Default: when `start()` is called. */
  startedAt?: number;
  /**
   * Called in `start()` once every manifest has been read and before the first module starts (the host
   * publishes `ConfigLoaded` here, so secrets the manifests declare are already known).
   */
  onDiscovered?: () => void;
}

/** The outcome of {@link ModuleManager.reload}. */
export interface ReloadResult {
  /** Version before the reload. */
  old_version: string | null;
  /** Version now loaded. */
  new_version: string;
  /** Whether the module runs (or, if lazy, waits for its trigger) after the reload. */
  success: boolean;
}

/**
 * Runs the modules of a modules directory like a service manager.
 *
 * @example
 * ```ts ignore
 * import { loadNodeConfig, DevNode, ModuleManager } from "@blvm/node";
 * const manager = await ModuleManager.create({ config: await loadNodeConfig(), backend: DevNode.open() });
 * await manager.start(); // throws if a required module cannot start
 * console.table(manager.list());
 * await manager.shutdown("operator");
 * ```
 */
export class ModuleManager {
  /** The host that runs the processes. */
  readonly host: Host;
  /** The node configuration in force (replaced by {@link ModuleManager.applyConfig}). */
  config: NodeConfig;
  readonly #modules: Map<string, ManagedModule>;
  readonly #log: Logger = getLogger(["blvm", "manager"]);
  readonly #ctx: SupervisorContext;
  #started = false;
  #closing = false;
  readonly #locks = new Map<string, Promise<void>>();
  #watcher?: { close(): void };
  readonly #startedAt?: number;
  readonly #onDiscovered?: () => void;

  private constructor(host: Host, opts: ManagerOptions, modules: Map<string, ManagedModule>) {
    this.host = host;
    this.#modules = modules;
    this.config = opts.config;
    this.#startedAt = opts.startedAt;
    this.#onDiscovered = opts.onDiscovered;
    const isStarted = () => this.#started;
    const isClosing = () => this.#closing;
    this.#ctx = {
      host,
      log: this.#log,
      entry: (name) => this.#modules.get(name),
      modules: () => this.#modules.values(),
      folderDeleted: (m, why) =>
        noticeMissing(this.#ctx, m, why, (fn) => this.#exclusive(m.name, fn), () => this.#modules.get(m.name) === m),
      onFatal: (e) => {
        if (!this.#closing) opts.onFatal?.(e);
      },
      get started() {
        return isStarted();
      },
      get closing() {
        return isClosing();
      },
    };
    host.bus.onSubscribe((sub, added) => deliverPending(host, this.#modules.values(), sub, added));
  }

  /**
   * Create the manager and its host (runtime and data directories from `[modules]`).
   *
   * @param opts Configuration, backend and callbacks.
   * @returns The manager; nothing runs until {@link ModuleManager.start}.
   */
  static async create(opts: ManagerOptions): Promise<ModuleManager> {
    const cfg = opts.config.modules;
    const modules = new Map<string, ManagedModule>();
    let manager: ModuleManager | undefined;
    const host = await Host.create({
      backend: opts.backend,
      dataDir: cfg.data_dir,
      runtimeDir: cfg.runtime_dir,
      configPath: opts.configPath,
      denoPath: opts.denoPath,
      handshakeTimeoutMs: cfg.handshake_timeout_ms,
      stopTimeoutMs: cfg.stop_timeout_ms,
      killGraceMs: cfg.kill_grace_ms,
      osSandbox: cfg.require_os_sandbox ? "require" : cfg.os_sandbox,
      journal: journalOption(opts.config.journal),
      onModuleLog: (r) => {
        const m = modules.get(r.module);
        if (m && m.logs.push(`${new Date().toISOString()} ${r.level} [${r.source}] ${r.message}`) > LOG_LINES) {
          m.logs.shift();
        }
        opts.onModuleLog?.(r);
      },
      directory: () => [...modules.values()].map((m) => directoryEntry(host, m)),
      activate: (name, caller) =>
        manager ? manager.#activateOnCall(name, `a call from module '${caller}'`, caller) : Promise.resolve(),
      onHealthReport: (name, status, message) => {
        const m = modules.get(name);
        if (m) reportHealth(host, m, status, message);
      },
    });
    return manager = new ModuleManager(host, opts, modules);
  }

  /**
   * Discover, resolve and start every module. A broken or failing module never stops the others,
   * unless it is marked `required`.
   *
   * @throws {ManagerError} `REQUIRED_MODULE_FAILED` naming every required module that is not running
   * (the caller should then {@link ModuleManager.shutdown}).
   */
  async start(): Promise<void> {
    const startedAt = this.#startedAt ?? performance.now();
    const cfg = this.config.modules;
    const found = await discoverModules(cfg);
    for (const s of found.skipped) this.#log.info("Skipping module {module}: {reason}", { module: s.name, ...s });
    const failed = new Map<string, string>();
    for (const b of found.broken) {
      const m = this.#add(b.name);
      setState(this.#ctx, m, "failed", b.error);
      failed.set(b.name, "its manifest is invalid");
    }
    for (const loaded of found.found) {
      const m = this.#add(loaded.manifest.name);
      this.host.publish("ModuleDiscovered", { name: m.name, version: loaded.manifest.version, path: loaded.dir });
      try {
        applyPrepared(m, await prepareModule(m, loaded, this.#log));
      } catch (e) {
        setState(this.#ctx, m, "failed", (e as Error).message);
        failed.set(m.name, "its configuration is invalid");
      }
    }
    this.#onDiscovered?.();
    const { order, failed: blocked } = this.#resolve(failed);
    for (const [name, reason] of blocked) {
      const m = this.#modules.get(name)!;
      if (failed.has(name)) continue;
      m.blockedBy = hardDependencies(m).find((d) => blocked.has(d) || failed.has(d) || !this.#modules.has(d));
      setState(this.#ctx, m, "failed", reason);
    }
    for (const name of order) {
      const m = this.#modules.get(name)!;
      this.#markLoaded(m);
      if (m.lazy) armActivation(this.#ctx, m);
      else await serial(m, () => spawn(this.#ctx, m, true));
    }
    const problems = [...this.#modules.values()]
      .filter((m) => m.overrides.required && (m.state === "failed" || m.state === "quarantined" || !m.loaded))
      .map((m) => `${m.name}: ${m.reason}`);
    for (const name of Object.keys(cfg.modules)) {
      if (this.#modules.has(name)) continue;
      if (cfg.modules[name].required) problems.push(`${name}: not found in ${cfg.modules_dir}`);
      else this.#log.warn("[modules.{module}] names no module in {dir}", { module: name, dir: cfg.modules_dir });
    }
    this.#started = true;
    await this.#waitForSubscriptions(cfg.startup_wait_ms);
    const running = [...this.#modules.values()].filter((m) => m.handle).map((m) => m.name).sort();
    this.host.publish("NodeStartupCompleted", {
      duration_ms: Math.round(performance.now() - startedAt),
      components: ["node", "modules", ...running.map((n) => `module:${n}`)],
    }, { sticky: "" });
    if (cfg.watch) {
      this.#watcher = watchModules(
        cfg.modules_dir,
        cfg.watch_debounce_ms,
        (names) => reloadChanged(this, names, this.#log, () => this.#closing),
        [cfg.data_dir, cfg.runtime_dir],
      );
    }
    if (problems.length) {
      throw new ManagerError("REQUIRED_MODULE_FAILED", "", `Required modules failed to start: ${problems.join("; ")}`);
    }
  }

  /**
   * Wait until every running module has subscribed to something (so `NodeStartupCompleted` reaches the
   * modules that want it as a live event), at most `ms`.
   */
  async #waitForSubscriptions(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    const waiting = () => [...this.#modules.values()].filter((m) => m.handle && !this.host.hasSubscribed(m.name));
    while (waiting().length && performance.now() < deadline && !this.#closing) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const late = waiting().map((m) => m.name);
    if (late.length) {
      this.#log.info("Start-up complete without a subscription from {modules} (waited {ms} ms)", {
        modules: late.join(", "),
        ms,
      });
    }
  }

  /** Whether {@link ModuleManager.start} has finished. */
  get started(): boolean {
    return this.#started;
  }

  /**
   * A module's record by name.
   *
   * @param name Module name.
   * @returns The record, or `undefined`.
   */
  get(name: string): ManagedModule | undefined {
    return this.#modules.get(name);
  }

  /** Every known module, sorted by name. A module whose folder is gone starts becoming `missing`. */
  list(): ModuleStatus[] {
    const now = Date.now();
    const all = [...this.#modules.values()].sort((a, b) => a.name < b.name ? -1 : 1);
    for (const m of all) checkFolder(this.#ctx, m);
    return all.map((m) => statusOf(m, now));
  }

  /**
   * Everything about one module. A module whose folder is gone starts becoming `missing`.
   *
   * @param name Module name.
   * @throws {ManagerError} `NOT_FOUND`.
   */
  inspect(name: string): ModuleDetail {
    const m = this.#need(name);
    checkFolder(this.#ctx, m);
    return detailOf(m, Date.now(), this.host);
  }

  /**
   * Load a module from its folder and start it (or arm its triggers if it is lazy). A module that
   * failed earlier is read again from disk.
   *
   * @param name The folder name under `modules_dir`.
   * @throws {ManagerError} `CONFLICT` if it is already loaded, `NOT_FOUND`, `INVALID_MANIFEST`,
   * `DEPENDENCY_FAILED`, or `UNAVAILABLE` if it did not start.
   */
  load(name: string): Promise<ModuleStatus> {
    return this.#exclusive(name, () => this.#load(name));
  }

  async #load(name: string): Promise<ModuleStatus> {
    const old = this.#modules.get(name);
    if (old?.state === "missing") await markMissing(this.#ctx, old, old.reason);
    if (old?.isLoaded) {
      throw new ManagerError("CONFLICT", name, `Module '${name}' is already loaded (${old.state}); use reload`);
    }
    const dir = `${this.config.modules.modules_dir}/${name}`;
    if (
      !moduleNameSchema.safeParse(name).success ||
      !(await Deno.stat(`${dir}/module.toml`).then(() => true, () => false))
    ) {
      throw new ManagerError("NOT_FOUND", name, `No module folder with a module.toml at '${dir}'`);
    }
    let loaded: LoadedManifest;
    try {
      loaded = await readModuleFolder(this.config.modules, dir);
    } catch (e) {
      throw asManagerError(name, e);
    }
    if (old) this.#modules.delete(name);
    const m = this.#add(name);
    this.host.publish("ModuleDiscovered", { name, version: loaded.manifest.version, path: loaded.dir });
    try {
      applyPrepared(m, await prepareModule(m, loaded, this.#log));
    } catch (e) {
      setState(this.#ctx, m, "failed", (e as Error).message);
      throw asManagerError(name, e);
    }
    const reason = this.#resolve(new Map(), { name, loaded }).failed.get(name);
    if (reason) {
      // Retried when the dependency that is missing or down is loaded.
      m.blockedBy = hardDependencies(m).find((d) => !this.#modules.get(d)?.isLoaded) ?? hardDependencies(m)[0];
      setState(this.#ctx, m, "failed", reason);
      throw new ManagerError("DEPENDENCY_FAILED", name, `Module '${name}' ${reason}`);
    }
    this.#markLoaded(m);
    if (m.lazy) armActivation(this.#ctx, m);
    else if (!(await serial(m, async () => this.#modules.get(name) === m && await spawn(this.#ctx, m, false)))) {
      throw new ManagerError("UNAVAILABLE", name, `Module '${name}' did not start: ${m.reason}`);
    }
    await this.#retryBlocked(name);
    return statusOf(m, Date.now());
  }

  /**
   * Stop a module and remove it. Running modules that depend on it are stopped first and marked
   * failed; they start again when it is loaded again.
   *
   * @param name Module name.
   * @param reason Why, sent to the module.
   * @throws {ManagerError} `NOT_FOUND`.
   */
  unload(name: string, reason = "operator unload"): Promise<void> {
    return this.#exclusive(name, () => this.#unload(name, reason));
  }

  async #unload(name: string, reason: string): Promise<void> {
    const m = this.#need(name);
    const needs = dependentsOf(this.#modules.values(), name).filter((d) => d.overrides.required).map((d) => d.name);
    if (needs.length) {
      throw new ManagerError(
        "CONFLICT",
        name,
        `Module '${name}' cannot be unloaded: required module(s) ${needs.join(", ")} depend on it`,
      );
    }
    await stopDependents(this.#ctx, this.#modules.values(), name, `dependency '${name}' was unloaded`, "failed");
    await serial(m, () => stop(this.#ctx, m, reason));
    m.unwatch?.();
    if (m.isLoaded) this.#markUnloaded(m, m.loaded?.manifest.version ?? "", reason);
    this.#modules.delete(name);
  }

  /**
   * Read a module's folder again and restart it with the new manifest, code and configuration. A
   * quarantined or failed module gets a fresh start. A reload that would widen the module's
   * permissions is refused unless `approve` is set; the running version is kept meanwhile.
   *
   * @param name Module name.
   * @param opts `approve` to accept wider permissions; `reason` for the log.
   * @throws {ManagerError} `NOT_FOUND`, `INVALID_MANIFEST`, `DEPENDENCY_FAILED` or `APPROVAL_REQUIRED`.
   */
  reload(name: string, opts: { approve?: boolean; reason?: string } = {}): Promise<ReloadResult> {
    return this.#exclusive(name, () => this.#reload(name, opts));
  }

  async #reload(name: string, opts: { approve?: boolean; reason?: string }): Promise<ReloadResult> {
    const m = this.#need(name);
    const gone = folderGone(m.dir);
    if (gone || m.state === "missing") await markMissing(this.#ctx, m, gone ?? m.reason);
    if (gone) throw missingError(m, gone);
    if (!m.isLoaded) {
      const s = await this.#load(name);
      return { old_version: null, new_version: s.version!, success: true };
    }
    const reason = opts.reason ?? "operator reload";
    let next: Prepared;
    try {
      next = await prepareModule(m, await readModuleFolder(this.config.modules, m.dir), this.#log);
    } catch (e) {
      throw asManagerError(name, e);
    }
    // Held for the operator: anything the update widens (permissions, events it publishes, triggers,
    // callers), and a verified module replaced by files that are not verified (policy "warn").
    const widened = [
      ...(m.effective ? widening(m.effective, next.effective) : []),
      ...(m.loaded ? manifestWidening(m.loaded.manifest, next.loaded.manifest) : []),
    ];
    const unverified = signatureDowngrade(m.signature, next.signature);
    if ((widened.length || unverified) && !opts.approve) {
      m.pendingApproval = unverified ? [unverified, ...widened] : widened;
      const wider = widened.length ? `it would widen its permissions (${widened.map((w) => `+${w}`).join(", ")})` : "";
      const sig = unverified
        ? `the running version is verified, but the new files are ${next.signature.status} (${next.signature.detail})`
        : "";
      throw new ManagerError(
        "APPROVAL_REQUIRED",
        name,
        `Reload of '${name}' not applied: ${[sig, wider].filter(Boolean).join(", and ")}. The running version is ` +
          `kept. Approve with: deno task ctl reload ${name} --approve`,
      );
    }
    const why = this.#resolve(new Map(), { name, loaded: next.loaded }).failed.get(name);
    if (why) throw new ManagerError("DEPENDENCY_FAILED", name, `Reload of '${name}' not applied: it ${why}`);
    const oldVersion = m.loaded!.manifest.version;
    const restartDependents = await stopDependents(
      this.#ctx,
      this.#modules.values(),
      name,
      `dependency '${name}' is reloading`,
      "stopped",
    );
    const success = await serial(m, async () => {
      const wasRunning = m.handle !== undefined;
      await stop(this.#ctx, m, reason);
      this.#markUnloaded(m, oldVersion, "reload");
      applyPrepared(m, next);
      m.restart = initialRestartState();
      m.restarts = 0;
      // The old version's triggers and queued events go; a lazy new version arms its own below.
      m.unwatch?.();
      m.unwatch = undefined;
      m.pending = [];
      if (m.state !== "discovered" && m.state !== "stopped") setState(this.#ctx, m, "stopped", "reloading");
      this.#markLoaded(m);
      if (m.lazy) armActivation(this.#ctx, m);
      return m.lazy && !wasRunning ? true : await spawn(this.#ctx, m, false);
    });
    const version = next.loaded.manifest.version;
    this.host.publish("ModuleReloaded", {
      name,
      old_version: oldVersion,
      new_version: version,
      success,
      error: success ? null : m.reason,
    });
    for (const d of restartDependents) await this.#retry(d);
    return { old_version: oldVersion, new_version: version, success };
  }

  /**
   * Call a method a module registered with `handle()`, starting it first if it is lazy and its
   * manifest has `on_call = true`.
   *
   * @param name Module name.
   * @param method Method name.
   * @param params Parameters.
   * @param timeoutMs Deadline.
   * @returns The module's result.
   * @throws {ManagerError} `NOT_FOUND` (also when its folder is gone) or `UNAVAILABLE`; or the module's `RemoteError`.
   */
  async invoke(name: string, method: string, params: unknown, timeoutMs?: number): Promise<unknown> {
    const m = this.#need(name);
    const gone = checkFolder(this.#ctx, m);
    if (gone) throw missingError(m, gone);
    await this.#activateOnCall(name, `first call of '${method}'`);
    if (!m.handle) throw unavailable(m);
    return await m.handle.session.invoke(method, params, timeoutMs, "operator");
  }

  /**
   * Start a lazy module whose manifest says `on_call = true`, if it is not running. A module `caller` must
   * be among the target's `[api] callers`, checked before anything is started.
   */
  async #activateOnCall(name: string, why: string, caller?: string): Promise<void> {
    const m = this.#modules.get(name);
    if (!m || m.handle || !m.lazy || !m.loaded?.manifest.activation?.on_call) return;
    const callers = m.loaded.manifest.api.callers;
    if (caller !== undefined && !callers.includes("*") && !callers.includes(caller)) {
      throw new RemoteError(
        ErrorCode.PermissionDenied,
        `Module '${name}' does not list '${caller}' among the callers in its manifest's [api]`,
        { target: name },
      );
    }
    await activate(this.#ctx, m, why);
  }

  /**
   * Restart a running module over a resource limit (see {@link restartOverLimit}). Over a memory or CPU
   * limit its exit is a crash for the restart policy: restarted after the back-off, quarantined after
   * `max_crashes` within `window_ms`. A change of its data folder's mode (`readOnly`) restarts it at once.
   *
   * @param name Module name.
   * @param reason Why, sent to the module and logged.
   * @param readOnly A reason starts it with a read-only data directory; `null` makes it writable
   * again; `undefined` (memory, CPU) keeps it as it is.
   * @returns Its status afterwards; `restart_in_ms` shows the back-off of a scheduled restart.
   * @throws {ManagerError} `NOT_FOUND`, or `UNAVAILABLE` during shutdown.
   */
  restart(name: string, reason: string, readOnly?: string | null): Promise<ModuleStatus> {
    return this.#exclusive(name, () => {
      this.#log.warn("Restarting module {module}: {reason}", { module: name, reason });
      return restartOverLimit(this.#ctx, this.#need(name), reason, readOnly);
    });
  }

  /**
   * Apply an edited configuration: each loaded module whose `[modules.<name>]` changed gets its new
   * config (or is restarted when its grants, env or limits changed). Settings of `[modules]` itself that
   * cannot change while running (folders, timeouts) are kept, and a warning names them.
   *
   * @param next The new configuration, already validated.
   * @returns What was done per module that changed.
   */
  async applyConfig(next: NodeConfig): Promise<Record<string, ReconfigureAction | string>> {
    const out: Record<string, ReconfigureAction | string> = {};
    // Per-module settings and the signing defaults apply at once; the rest of [modules] needs a restart.
    const { modules: _a, signing: _s, ...fixedBefore } = this.config.modules;
    const { modules: _b, signing: _t, ...fixedAfter } = next.modules;
    const fixed = Object.keys(fixedAfter).filter((k) =>
      stable((fixedBefore as Record<string, unknown>)[k]) !== stable((fixedAfter as Record<string, unknown>)[k])
    );
    if (fixed.length) {
      this.#log.warn("[modules] {keys} changed; this takes effect when the host restarts", { keys: fixed.join(", ") });
    }
    this.config = {
      ...next,
      modules: { ...this.config.modules, modules: next.modules.modules, signing: next.modules.signing },
    };
    for (const m of this.#modules.values()) {
      if (this.#closing) break;
      try {
        const action = await this.#exclusive(
          m.name,
          () => reconfigure(this.#ctx, m, moduleOverrides(next.modules, m.name)),
        );
        if (action !== "none") out[m.name] = action;
      } catch (e) {
        out[m.name] = `rejected: ${(e as Error).message}`;
        this.#log.error("New settings of module {module} rejected, old ones kept: {error}", {
          module: m.name,
          error: (e as Error).message,
        });
      }
    }
    return out;
  }

  /**
   * Stop starting anything: no restarts, no lazy activations, no loads, no file watching. The first
   * step of a shutdown; {@link ModuleManager.shutdown} does it too.
   */
  beginShutdown(): void {
    this.#closing = true;
    this.#watcher?.close();
    // Triggers first, so no event published while stopping starts a lazy module.
    for (const m of this.#modules.values()) m.unwatch?.();
  }

  /**
   * Stop every module, dependents before their dependencies, then the host.
   *
   * @param reason Why, sent to the modules.
   */
  async shutdown(reason = "shutdown"): Promise<void> {
    this.beginShutdown();
    // Every module, so one that is still starting is waited for and stopped too.
    const left = new Set(this.#modules.values());
    while (left.size) {
      const wave = [...left].filter((m) => ![...left].some((o) => o !== m && hardDependencies(o).includes(m.name)));
      const batch = wave.length ? wave : [...left];
      await Promise.all(batch.map((m) => serial(m, () => stop(this.#ctx, m, reason))));
      for (const m of batch) left.delete(m);
    }
    await this.host.shutdown(reason);
  }

  /** A new record; its folder is `<modules_dir>/<name>` (possibly a symlink, so reloads re-read the link). */
  #add(name: string): ManagedModule {
    const cfg = this.config.modules;
    const m = newManagedModule(name, `${cfg.modules_dir}/${name}`, moduleOverrides(cfg, name));
    this.#modules.set(name, m);
    return m;
  }

  #need(name: string): ManagedModule {
    const m = this.#modules.get(name);
    if (!m) throw new ManagerError("NOT_FOUND", name, `No module named '${name}'`);
    return m;
  }

  #markLoaded(m: ManagedModule): void {
    m.isLoaded = true;
    m.blockedBy = undefined;
    this.host.publish("ModuleLoaded", loadedPayload(m), { sticky: m.name });
  }

  #markUnloaded(m: ManagedModule, version: string, reason: string): void {
    markUnloaded(this.host, m, version, reason);
  }

  /**
   * Resolve the modules that have a manifest. Before start-up has finished that is all of them; after,
   * only loaded ones count, plus `target` with the manifest it would have.
   */
  #resolve(failed: Map<string, string>, target?: { name: string; loaded: LoadedManifest }) {
    const candidates: Candidate[] = [];
    for (const m of this.#modules.values()) {
      const loaded = target?.name === m.name ? target.loaded : m.loaded;
      if (!loaded) {
        if (!failed.has(m.name)) failed.set(m.name, "its manifest is invalid");
      } else if (this.#started && !m.isLoaded && target?.name !== m.name) {
        if (!failed.has(m.name)) failed.set(m.name, `it is ${m.state}`);
      } else candidates.push({ name: m.name, ...pick(loaded.manifest) });
    }
    const result = resolveLoadOrder(candidates, failed);
    for (const w of result.warnings) this.#log.warn("{warning}", { warning: w });
    return result;
  }

  /** Retry the modules blocked by `name`, each after the blocked modules it depends on. */
  async #retryBlocked(name: string): Promise<void> {
    const left = [...this.#modules.values()].filter((m) => m.blockedBy === name);
    while (left.length) {
      const i = Math.max(0, left.findIndex((m) => !left.some((o) => hardDependencies(m).includes(o.name))));
      const [m] = left.splice(i, 1);
      if (m.blockedBy === name) await this.#retry(m);
    }
  }

  /** Run load, unload and reload of one module one at a time, and none once shutdown has begun. */
  #exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new ManagerError("UNAVAILABLE", name, "The host is shutting down"));
    const next = (this.#locks.get(name) ?? Promise.resolve()).then(fn, fn);
    const tail = next.then(() => {}, () => {});
    this.#locks.set(name, tail);
    tail.then(() => this.#locks.get(name) === tail && this.#locks.delete(name));
    return next;
  }

  /** Start a module that failed because of a dependency, if its dependencies are now satisfied. */
  async #retry(m: ManagedModule): Promise<void> {
    const reason = this.#resolve(new Map(), { name: m.name, loaded: m.loaded! }).failed.get(m.name);
    if (reason) return setState(this.#ctx, m, "failed", reason);
    m.blockedBy = undefined;
    if (!m.isLoaded) this.#markLoaded(m);
    if (m.lazy) {
      setState(this.#ctx, m, "stopped", "waiting for its trigger");
      armActivation(this.#ctx, m);
    } else await serial(m, () => spawn(this.#ctx, m, false));
    // Modules blocked further down the chain (a → b → c) come back too.
    await this.#retryBlocked(m.name);
  }
}

function pick(manifest: LoadedManifest["manifest"]): Omit<Candidate, "name"> {
  const { version, dependencies, optional_dependencies } = manifest;
  return { version, dependencies, optional_dependencies };
}

function unavailable(m: ManagedModule): ManagerError {
  return new ManagerError("UNAVAILABLE", m.name, `Module '${m.name}' is ${m.state}${m.reason ? `: ${m.reason}` : ""}`);
}

function asManagerError(name: string, e: unknown): ManagerError {
  if (e instanceof ManagerError) return e;
  if (e instanceof ConfigFileError) return new ManagerError("INVALID_MANIFEST", name, e.message, { cause: e });
  return new ManagerError("UNAVAILABLE", name, (e as Error).message, { cause: e });
}
