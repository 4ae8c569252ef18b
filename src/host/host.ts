/**
 * The module host: starts modules in their sandboxes, serves them the NodeAPI, publishes events and
 * stops them (stop message → SIGTERM → SIGKILL to the process group).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { DEFAULT_CAPABILITIES } from "../protocol/api.ts";
import { MODULE_ENV } from "../protocol/env.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { LimitsWire } from "../protocol/messages.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/version.ts";
import { toHex } from "../node/header.ts";
import { ModuleStartError } from "./errors.ts";
import { EventBus, type PublishOptions } from "./events.ts";
import { DEFAULT_RATE_LIMIT } from "./limits.ts";
import { hostLogger, moduleLogger, type ModuleLogRecord, writeModuleLog } from "./log.ts";
import { createModuleApiHandlers } from "./module_api.ts";
import { type ApiHandlers, createNodeApiHandlers } from "./node_api.ts";
import { ModulePeers } from "./peers.ts";
import { EventRequests } from "./requests.ts";
import { buildDenoArgs } from "./permissions.ts";
import { type ModuleProcess, spawnModuleProcess, terminate, waitForExit } from "./process.ts";
import { createRuntimeDir, prepareDataDir, socketPathFor } from "./runtime_dir.ts";
import { acceptSession, type ModuleSession } from "./session.ts";
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
  readonly #opts:
    & Required<
      Omit<
        HostOptions,
        "runtimeDir" | "onModuleLog" | "denoPath" | "eventQueue" | "directory" | "activate" | "onHealthReport"
      >
    >
    & Pick<HostOptions, "onModuleLog" | "denoPath" | "eventQueue" | "directory" | "activate" | "onHealthReport">;
  readonly #ownsRuntimeDir: boolean;
  readonly #modules = new Map<string, ModuleHandle>();
  readonly #starting = new Set<string>();
  readonly #handlers: ApiHandlers;
  readonly #reaping = new Map<ModuleHandle, Promise<Deno.CommandStatus>>();
  readonly #log: Logger = hostLogger();
  readonly #unwatch: () => void;
  readonly #subscribed = new WeakSet<object>();

  private constructor(opts: HostOptions, runtimeDir: string, owns: boolean) {
    this.runtimeDir = runtimeDir;
    this.#ownsRuntimeDir = owns;
    this.#opts = {
      configPath: defaultConfigPath(),
      handshakeTimeoutMs: 10_000,
      callTimeoutMs: 30_000,
      stopTimeoutMs: 5_000,
      killGraceMs: 2_000,
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      rateLimit: DEFAULT_RATE_LIMIT,
      // An option given as `undefined` keeps its default.
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as HostOptions,
    };
    this.bus = new EventBus(this.#opts.eventQueue);
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
   * Create a host and its private runtime directory.
   *
   * @param options Host settings.
   * @returns The host.
   */
  static async create(options: HostOptions): Promise<Host> {
    const dir = await createRuntimeDir(options.runtimeDir);
    await Deno.mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    return new Host(options, dir, options.runtimeDir === undefined);
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
    return this.bus.publish(type, payload, options).delivered;
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
    if (name === "operator") {
      throw new ModuleStartError(
        name,
        "INVALID_SPEC",
        "'operator' is reserved: it is the caller name of operator calls",
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
    const { name } = spec;
    const log = moduleLogger(name);
    let entry: string;
    try {
      entry = await Deno.realPath(spec.entry);
      if (!(await Deno.stat(entry)).isFile) throw new Error("not a file");
    } catch (e) {
      throw new ModuleStartError(
        name,
        "INVALID_SPEC",
        `entry '${spec.entry}' is not a readable file (${(e as Error).message})`,
      );
    }
    const dataDir = await prepareDataDir(this.#opts.dataDir, name).catch((e) => {
      throw new ModuleStartError(name, "INVALID_SPEC", (e as Error).message, { cause: e });
    });
    let socketPath: string, listener: Deno.Listener;
    try {
      socketPath = socketPathFor(this.runtimeDir, name);
      await Deno.remove(socketPath).catch(() => {});
      listener = Deno.listen({ transport: "unix", path: socketPath });
      await Deno.chmod(socketPath, 0o600);
    } catch (e) {
      throw new ModuleStartError(name, "SPAWN_FAILED", `cannot create its socket: ${(e as Error).message}`, {
        cause: e,
      });
    }

    const token = toHex(crypto.getRandomValues(new Uint8Array(32)));
    let args: string[];
    try {
      for (const key of Object.keys(spec.env ?? {})) {
        if (!spec.grants?.env?.includes(key)) {
          throw new TypeError(
            `env '${key}' is not in grants.env: the module could not read it, and unlisted variables are not passed`,
          );
        }
      }
      args = buildDenoArgs({
        entry,
        socketPath,
        dataDir,
        configPath: this.#opts.configPath,
        grants: spec.grants,
        heapMb: spec.heapMb,
        readOnlyData: spec.readOnlyData,
      });
    } catch (e) {
      listener.close();
      await Deno.remove(socketPath).catch(() => {});
      throw new ModuleStartError(name, "INVALID_SPEC", (e as Error).message, { cause: e });
    }
    const limits: LimitsWire = {
      call_timeout_ms: this.#opts.callTimeoutMs,
      stop_timeout_ms: this.#opts.stopTimeoutMs,
      max_frame_bytes: this.#opts.maxFrameBytes,
    };
    const recent: string[] = [];
    const onLine = (stream: "stdout" | "stderr", line: string) => {
      const record: ModuleLogRecord = {
        module: name,
        level: stream === "stderr" ? "warn" : "info",
        message: line,
        source: stream,
      };
      writeModuleLog(log, record);
      this.#opts.onModuleLog?.(record);
      if (stream === "stderr") recent.push(line) > 5 && recent.shift();
    };
    const command = [this.#opts.denoPath ?? Deno.execPath(), ...args];
    let proc: ModuleProcess;
    try {
      proc = spawnModuleProcess({
        denoPath: command[0],
        args,
        env: {
          ...spec.env,
          ...childEnv(),
          [MODULE_ENV.moduleId]: name,
          [MODULE_ENV.socket]: socketPath,
          [MODULE_ENV.token]: token,
        },
        cwd: dataDir,
        onLine,
      });
    } catch (e) {
      listener.close();
      await Deno.remove(socketPath).catch(() => {});
      throw new ModuleStartError(name, "SPAWN_FAILED", `cannot spawn '${command[0]}': ${(e as Error).message}`, {
        cause: e,
      });
    }
    log.info("Spawned pid {pid}", { pid: proc.pid, command: command.join(" ") });

    const capabilities = new Set(spec.capabilities ?? DEFAULT_CAPABILITIES);
    const rateLimit = spec.rateLimit !== undefined ? spec.rateLimit : this.#opts.rateLimit;
    let session: ModuleSession;
    try {
      session = await acceptSession(
        listener,
        {
          moduleId: name,
          token,
          context: { module_id: name, config: spec.config ?? {}, data_dir: dataDir },
          limits,
          handlers: this.#handlers,
          capabilities,
          rateLimit,
          logger: log,
          onLog: this.#opts.onModuleLog,
          onEventAck: (ack) => this.requests.ack(name, ack),
          onEstablished: (s) => this.peers.attach(s, spec, capabilities),
        },
        this.#opts.handshakeTimeoutMs,
        proc.status,
      );
    } catch (e) {
      // A refused module gets a moment to read why and exit; one that timed out or died gets none.
      const refused = e instanceof ModuleStartError && e.code !== ErrorCode.HandshakeTimeout && e.code !== "EXITED";
      if (!refused || !(await waitForExit(proc, 1_000))) proc.signal("SIGKILL");
      await proc.status;
      if (e instanceof ModuleStartError && e.code === "EXITED" && recent.length) {
        throw new ModuleStartError(
          name,
          e.code,
          `${e.detail}; last stderr: ${recent.join(" | ")}`,
        );
      }
      throw e;
    } finally {
      // Exactly one connection per module: nobody else can connect after the handshake. Synchronous, so
      // no message from the module is handled before the caller holds the handle.
      listener.close();
      try {
        Deno.removeSync(socketPath);
      } catch { /* already gone */ }
    }

    const handle: ModuleHandle = {
      name,
      pid: proc.pid,
      command,
      dataDir,
      socketPath,
      session,
      process: proc,
      version: spec.version ?? "0.0.0",
      capabilities,
    };
    this.#modules.set(name, handle);
    log.info("Module ready (sdk {sdk})", { sdk: session.sdkVersion, pid: proc.pid });
    // A module whose connection ends must exit; if it lingers, stop it for real.
    session.closed.then(() => this.#reap(handle, "connection closed"));
    proc.status.then((s) => {
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
    if (this.#ownsRuntimeDir) await Deno.remove(this.runtimeDir, { recursive: true }).catch(() => {});
    this.#log.info("Host stopped");
  }
}

/** The environment every module gets besides its bootstrap variables: a warm cache and quiet output. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    PATH: "/usr/local/bin:/usr/bin:/bin",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  const home = Deno.env.get("HOME");
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? (home ? `${home}/.cache` : undefined);
  if (denoDir) env.DENO_DIR = denoDir;
  else if (cache) env.DENO_DIR = `${cache}/deno`;
  return env;
}

/** This checkout's deno.json; a host loaded from a registry has none and must be given one. */
function defaultConfigPath(): string {
  const url = new URL("../../deno.json", import.meta.url);
  if (url.protocol !== "file:") {
    throw new TypeError("HostOptions.configPath is required when @blvm/node is not run from a local checkout");
  }
  return url.pathname;
}
