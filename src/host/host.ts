/**
 * The module host: starts modules in their sandboxes, serves them the NodeAPI, publishes events and
 * stops them (stop message → SIGTERM → SIGKILL to the process group).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/version.ts";
import { claimDataRoot, type DataRootClaim } from "./data_root.ts";
import { ModuleStartError } from "./errors.ts";
import { DurableDelivery } from "./durable.ts";
import { EventBus, EventTooLargeError, type PublishOptions } from "./events.ts";
import { EventJournal } from "./journal.ts";
import { launchModule } from "./launch.ts";
import { DEFAULT_RATE_LIMIT } from "./limits.ts";
import { hostLogger, moduleLogger } from "./log.ts";
import { createModuleApiHandlers } from "./module_api.ts";
import { defaultRuntimeCacheDir, type ModuleRuntime, prepareModuleRuntime } from "./module_runtime.ts";
import { type ApiHandlers, createNodeApiHandlers } from "./node_api.ts";
import { type OsSandboxMode, type OsSandboxProbe, probeOsSandbox } from "./os_sandbox.ts";
import { type ParentDeathProbe, probeParentDeath } from "./parent_death.ts";
import { ModulePeers } from "./peers.ts";
import { EventRequests } from "./requests.ts";
import { terminate } from "./process.ts";
import { createRuntimeDir, RESERVED_MODULE_NAMES } from "./runtime_dir.ts";
import type { HostOptions, ModuleHandle, ModuleSpec } from "./spec.ts";

export type { HostOptions, ModuleHandle, ModuleSpec };

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Runs modules.
 *
 * @example
 * ```ts ignore
 * import { Host, DevNode } from "@blvm/node";
 * const host = await Host.create({ backend: DevNode.open(), dataDir: "./data" });
 * await host.startModule({ name: "hello", entry: "./modules/hello/main.ts" });
 * host.publish("NewBlock", { height: 1 });
 * await host.shutdown();
 * ```
 */
export class Host {
  /** Event subscriptions and publishing. */
  readonly bus: EventBus;
  /** The runtime directory holding the sockets. */
  readonly runtimeDir: string;
  /** Connected modules: event queues, registered APIs and reports. */
  readonly peers: ModulePeers;
  /** Request events (`StorageFlush`, `HealthCheck`, ...) and the modules' answers to them. */
  readonly requests: EventRequests;
  /** The delivery journal, unless it was turned off. */
  readonly journal?: EventJournal;
  readonly #durable?: DurableDelivery;
  readonly #opts: Resolved;
  readonly #ownsRuntimeDir: boolean;
  readonly #modules = new Map<string, ModuleHandle>();
  readonly #starting = new Set<string>();
  readonly #handlers: ApiHandlers;
  readonly #reaping = new Map<ModuleHandle, Promise<Deno.CommandStatus>>();
  readonly #log: Logger = hostLogger();
  readonly #unwatch: () => void;
  readonly #subscribed = new WeakSet<object>();
  #runtime?: Promise<ModuleRuntime>;
  #probe?: Promise<OsSandboxProbe>;
  #death?: Promise<ParentDeathProbe>;
  readonly #root: DataRootClaim;

  private constructor(
    opts: HostOptions,
    runtimeDir: string,
    owns: boolean,
    journal: EventJournal | undefined,
    root: DataRootClaim,
  ) {
    this.runtimeDir = runtimeDir;
    this.#root = root;
    this.#ownsRuntimeDir = owns;
    this.#opts = resolveOptions(opts);
    this.journal = journal;
    let journalFailed = 0;
    this.bus = new EventBus(this.#opts.eventQueue, {
      maxFrameBytes: this.#opts.maxFrameBytes,
      journal,
      onDeliveryError: (sub, error) => {
        const name = this.modules.find((m) => m.session.connection === sub)?.name ?? "?";
        moduleLogger(name).error("An event could not be handed to this module: {error}", { error: String(error) });
      },
      onJournalError: (type, error) => {
        // Once a second at most: a full disk fails every append.
        if (Date.now() - journalFailed < 1000) return;
        journalFailed = Date.now();
        this.#log.error("The delivery journal could not keep a {type} event (delivered live only): {error}", {
          type,
          error: (error as Error)?.message ?? String(error),
        });
      },
    });
    if (journal) {
      this.#durable = new DurableDelivery(this.bus, journal, (name, error) => {
        moduleLogger(name).error("Catching up from the delivery journal failed; it goes on live: {error}", {
          error: (error as Error)?.message ?? String(error),
        });
      });
    }
    this.peers = new ModulePeers(this.bus);
    this.requests = new EventRequests(this.bus, () => this.modules);
    this.bus.onSubscribe((sub) => this.#subscribed.add(sub));
    const running = () => this.peers.describe(this.modules);
    this.#handlers = {
      ...createNodeApiHandlers(opts.backend),
      ...createModuleApiHandlers({
        bus: this.bus,
        apis: this.peers.apis,
        reports: this.peers.reports,
        peer: (name) => this.peers.get(name),
        directory: () => this.#opts.directory?.(running()) ?? running(),
        activate: this.#opts.activate,
        onHealthReport: this.#opts.onHealthReport,
        onUnsubscribe: (sub) => this.#durable?.unsubscribed(sub),
        onApiChange: (name) => {
          const api = this.peers.apis.get(name);
          if (api) {
            this.publish("ModuleApiRegistered", {
              name,
              version: api.version,
              methods: [...api.methods].sort(),
            });
          }
        },
      }),
    };
    this.#unwatch = opts.backend.onEvent((e) => this.publish(e.type, e.payload));
  }

  /**
   * Create a host and its private runtime directory. The host locks its data directory for as long as it
   * runs, and first ends whatever module processes a previous host left running there.
   *
   * @param options Host settings.
   * @returns The host.
   * @throws {HostRunningError} `HOST_RUNNING` if another host runs on the same data directory.
   */
  static async create(options: HostOptions): Promise<Host> {
    await Deno.mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    await Deno.chmod(options.dataDir, 0o700);
    // First of all: this host's own data root (or a clear refusal), with a previous host's leftovers ended.
    const root = await claimDataRoot(options.dataDir, hostLogger());
    try {
      const dir = await createRuntimeDir(options.runtimeDir);
      const j = options.journal;
      let journal: EventJournal | undefined;
      if (j !== false) {
        const { path = `${options.dataDir}/.journal`, ...limits } = j ?? {};
        try {
          let failed = 0;
          journal = EventJournal.open(path, limits, (e) => {
            // Once a second at most: a full disk fails every write.
            if (Date.now() - failed < 1000) return;
            failed = Date.now();
            hostLogger().error("The delivery journal could not write (events are delivered live only): {error}", {
              error: (e as Error)?.message ?? String(e),
            });
          });
        } catch (e) {
          throw new Error(`Cannot open the delivery journal ${path}: ${(e as Error).message}`, { cause: e });
        }
      }
      try {
        return new Host(options, dir, options.runtimeDir === undefined, journal, root);
      } catch (e) {
        journal?.close();
        throw e;
      }
    } catch (e) {
      root.lock.release();
      throw e;
    }
  }

  /** The running modules. */
  get modules(): ModuleHandle[] {
    return [...this.#modules.values()];
  }

  /**
   * A running module by name.
   *
   * @param name The module name.
   * @returns Its handle, or `undefined`.
   */
  module(name: string): ModuleHandle | undefined {
    return this.#modules.get(name);
  }

  /**
   * Publish an event to every module subscribed to its type.
   *
   * @param type Event type.
   * @param payload Payload map.
   * @param options A sticky key, to replay it to late subscribers.
   * @returns How many modules it was queued for.
   */
  publish(type: string, payload: unknown, options?: PublishOptions): number {
    try {
      return this.bus.publish(type, payload, options).delivered;
    } catch (e) {
      // The node's own events never stop the node: one that cannot be delivered is logged and skipped.
      if (!(e instanceof EventTooLargeError)) throw e;
      this.#log.error("Event not published: {error}", { error: e.message });
      return 0;
    }
  }

  /**
   * Whether the OS layer of the sandbox (bubblewrap) is in use for new modules, and why not.
   *
   * @returns The configured mode and the result of a trial sandbox (run once per host).
   */
  async osSandbox(): Promise<{ mode: OsSandboxMode; probe: OsSandboxProbe }> {
    const mode = this.#opts.osSandbox;
    if (mode === "off") {
      return { mode, probe: { available: false, reason: 'it is turned off ([modules] os_sandbox = "off")' } };
    }
    this.#probe ??= probeOsSandbox(this.#opts.denoPath);
    return { mode, probe: await this.#probe };
  }

  /**
   * Whether modules die with the host (`setpriv --pdeathsig KILL`), and why not (logged once, loudly).
   *
   * @returns The result of a trial run (once per host).
   */
  parentDeath(): Promise<ParentDeathProbe> {
    return this.#death ??= probeParentDeath(undefined, this.#log);
  }

  /**
   * Start a module and wait until it has completed the handshake.
   *
   * @param spec What to start.
   * @returns Its handle.
   * @throws {ModuleStartError} if the spec is invalid, the spawn fails, or the handshake does not
   * complete (the process group is killed first).
   */
  async startModule(spec: ModuleSpec): Promise<ModuleHandle> {
    const { name } = spec;
    if (typeof name !== "string" || !NAME.test(name)) {
      throw new ModuleStartError(
        String(name),
        "INVALID_SPEC",
        "name must be 1-64 letters, digits, '-' or '_', starting with a letter or digit",
      );
    }
    if (RESERVED_MODULE_NAMES.includes(name.toLowerCase())) {
      throw new ModuleStartError(
        name,
        "INVALID_SPEC",
        `'${name}' is a reserved name (${
          RESERVED_MODULE_NAMES.join(", ")
        }): it names the operator or a part of the host`,
      );
    }
    if (this.#modules.has(name) || this.#starting.has(name)) {
      throw new ModuleStartError(name, "INVALID_SPEC", "a module with this name is already running");
    }
    this.#starting.add(name);
    try {
      return await this.#start(spec);
    } finally {
      this.#starting.delete(name);
    }
  }

  async #start(spec: ModuleSpec): Promise<ModuleHandle> {
    const o = this.#opts;
    const handle = await launchModule(spec, {
      dataDir: o.dataDir,
      denoPath: o.denoPath,
      runtime: () =>
        this.#runtime ??= prepareModuleRuntime({ configPath: o.configPath, cacheDir: o.cacheDir, denoPath: o.denoPath })
          .catch((e) => {
            this.#runtime = undefined;
            throw e;
          }),
      osSandbox: () => this.osSandbox(),
      moduleCacheDir: (name) => `${this.runtimeDir}/cache/${name}`,
      limits: { call_timeout_ms: o.callTimeoutMs, stop_timeout_ms: o.stopTimeoutMs, max_frame_bytes: o.maxFrameBytes },
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      maxOutgoingBytes: o.maxOutgoingBytes,
      rateLimit: o.rateLimit,
      handlers: this.#handlers,
      session: {
        onLog: o.onModuleLog,
        onEventAck: (ack) => this.requests.ack(spec.name, ack),
        onProcessed: (pos) => this.#durable?.processed(spec.name, pos),
      },
      onEstablished: (s, capabilities) => {
        this.#durable?.connected(spec.name, s.connection);
        this.peers.attach(s, spec, capabilities);
      },
      onModuleLog: o.onModuleLog,
      records: this.#root.records,
      parentDeath: () => this.parentDeath(),
    });
    const { name, session } = handle;
    const log = moduleLogger(name);
    this.#modules.set(name, handle);
    log.info("Module ready (sdk {sdk}, {sandbox})", {
      sdk: session.sdkVersion,
      pid: handle.pid,
      sandbox: handle.sandbox,
    });
    // A module whose connection ends must exit; if it lingers, stop it for real.
    session.closed.then(() => {
      this.#durable?.disconnected(session.connection);
      this.#reap(handle, "connection closed");
    });
    handle.process.status.then((s) => {
      if (this.#modules.get(name) === handle) this.#modules.delete(name);
      log.info("Process exited (code {code}, signal {signal})", { code: s.code, signal: s.signal ?? "none" });
      session.connection.close();
    });
    return handle;
  }

  /**
   * Whether a running module has subscribed to at least one event type since it started.
   *
   * @param name The module name.
   * @returns `false` if it has not, or does not run.
   */
  hasSubscribed(name: string): boolean {
    const h = this.#modules.get(name);
    return h !== undefined && this.#subscribed.has(h.session.connection);
  }

  /**
   * Give a running module its new configuration (a `config` message); the SDK updates
   * `context.config` and calls the module's config handlers.
   *
   * @param name The module name.
   * @param config Its whole new configuration.
   * @returns `false` if it does not run.
   */
  sendConfig(name: string, config: Record<string, unknown>): boolean {
    return this.#modules.get(name)?.session.connection.send({ kind: "config", config }) ?? false;
  }

  /**
   * Kill a module without asking: SIGTERM to its process group, SIGKILL after the kill grace.
   *
   * @param name The module name.
   * @param why Why, for the log.
   * @returns The exit status, or `undefined` if no such module runs.
   */
  async killModule(name: string, why: string): Promise<Deno.CommandStatus | undefined> {
    const handle = this.#modules.get(name);
    if (!handle) return undefined;
    return await this.#reap(handle, why, 0);
  }

  /**
   * Stop a module: `stop` message and its deadline, then SIGTERM, then SIGKILL to its process group.
   *
   * @param name The module name.
   * @param reason Why, sent to the module.
   * @returns The exit status, or `undefined` if no such module runs.
   */
  async stopModule(name: string, reason = "operator"): Promise<Deno.CommandStatus | undefined> {
    const handle = this.#modules.get(name);
    if (!handle) return undefined;
    handle.session.stop(reason, this.#opts.stopTimeoutMs);
    return await this.#reap(handle, reason);
  }

  /** Waits for the process within the stop deadline, then escalates. Runs once per module. */
  #reap(handle: ModuleHandle, why: string, graceMs = this.#opts.stopTimeoutMs): Promise<Deno.CommandStatus> {
    let reaping = this.#reaping.get(handle);
    if (!reaping) {
      this.#reaping.set(
        handle,
        reaping = terminate(handle.process, {
          graceMs,
          killGraceMs: this.#opts.killGraceMs,
          why,
          logger: moduleLogger(handle.name),
        }),
      );
      reaping.finally(() => this.#reaping.delete(handle));
    }
    return reaping;
  }

  /**
   * Stop every module, then remove the runtime directory if the host created it.
   *
   * @param reason Why, sent to the modules.
   */
  async shutdown(reason = "shutdown"): Promise<void> {
    this.#unwatch();
    await Promise.all(this.modules.map((m) => this.stopModule(m.name, reason)));
    this.journal?.close();
    this.#root.lock.release();
    if (this.#ownsRuntimeDir) await Deno.remove(this.runtimeDir, { recursive: true }).catch(() => {});
    this.#log.info("Host stopped");
  }
}

type Resolved =
  & Required<
    Omit<
      HostOptions,
      "runtimeDir" | "onModuleLog" | "eventQueue" | "directory" | "activate" | "onHealthReport" | "journal"
    >
  >
  & Pick<HostOptions, "onModuleLog" | "eventQueue" | "directory" | "activate" | "onHealthReport" | "journal">;

function resolveOptions(opts: HostOptions): Resolved {
  const o: Resolved = {
    configPath: defaultConfigPath(),
    cacheDir: defaultRuntimeCacheDir(),
    denoPath: Deno.execPath(),
    osSandbox: "auto",
    handshakeTimeoutMs: 10_000,
    callTimeoutMs: 30_000,
    stopTimeoutMs: 5_000,
    killGraceMs: 2_000,
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    maxOutgoingBytes: 32 * 1024 * 1024,
    rateLimit: DEFAULT_RATE_LIMIT,
    // An option given as `undefined` keeps its default.
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as HostOptions,
  };
  const least = 2 * o.maxFrameBytes + 1024 * 1024;
  if (!Number.isInteger(o.maxOutgoingBytes) || o.maxOutgoingBytes < least) {
    throw new RangeError(
      `Invalid host option 'maxOutgoingBytes': it must be an integer of at least twice maxFrameBytes plus 1 MiB (${least}): current value is ${o.maxOutgoingBytes}`,
    );
  }
  if (!["auto", "off", "require"].includes(o.osSandbox)) {
    throw new RangeError(
      `Invalid host option 'osSandbox': expected "auto", "off" or "require": current value is ${o.osSandbox}`,
    );
  }
  return o;
}

/** This checkout's deno.json; a host loaded from a registry has none and must be given one. */
function defaultConfigPath(): string {
  const url = new URL("../../deno.json", import.meta.url);
  if (url.protocol !== "file:") {
    throw new TypeError("HostOptions.configPath is required when @blvm/node is not run from a local checkout");
  }
  return url.pathname;
}
