/**
 * Starting one module: vet its code, prepare its data directory and socket, build its sandbox (Deno's
 * flags, and bubblewrap when the OS layer is on), spawn it, and complete the handshake with the one
 * process that may connect.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { DEFAULT_CAPABILITIES } from "../protocol/api.ts";
import { MODULE_ENV } from "../protocol/env.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { LimitsWire } from "../protocol/messages.ts";
import { toHex } from "../node/header.ts";
import { ModuleStartError } from "./errors.ts";
import { ImportRefusedError, vetImports } from "./import_vetting.ts";
import type { RateLimit } from "./limits.ts";
import { moduleLogger, type ModuleLogRecord, writeModuleLog } from "./log.ts";
import { type ModuleCache, type ModuleRuntime, prepareModuleCache } from "./module_runtime.ts";
import type { ApiHandlers } from "./node_api.ts";
import { LeftoverError, type RunRecords } from "./leftovers.ts";
import { bwrapArgs, type OsSandboxMode, type OsSandboxProbe, type SandboxKind } from "./os_sandbox.ts";
import { parentDeathArgs, type ParentDeathProbe } from "./parent_death.ts";
import { acceptedPeers, descendsFrom } from "./peer_credentials.ts";
import { buildDenoArgs } from "./permissions.ts";
import { type ModuleProcess, spawnModuleProcess, waitForExit } from "./process.ts";
import { clearSocketPath, moduleSocketPath, prepareDataDir, sealSocketPath } from "./runtime_dir.ts";
import { acceptSession, type ModuleSession, type SessionOptions } from "./session.ts";
import type { ModuleHandle, ModuleSpec } from "./spec.ts";

/** What the host gives {@link launchModule}. */
export interface LaunchContext {
  /** Base folder of the modules' data directories. */
  dataDir: string;
  /** The Deno binary modules run with. */
  denoPath: string;
  /** The module runtime (SDK and pinned dependencies), built on first use. */
  runtime: () => Promise<ModuleRuntime>;
  /** A folder of the host's, outside every grant, for a module's Deno cache under Deno's flags alone. */
  moduleCacheDir: (name: string) => string;
  /** The OS layer's mode, and whether it works here. */
  osSandbox: () => Promise<{ mode: OsSandboxMode; probe: OsSandboxProbe }>;
  /** Sent to modules in the handshake. */
  limits: LimitsWire;
  /** Connect plus handshake deadline. */
  handshakeTimeoutMs: number;
  /** Outgoing byte budget per module. */
  maxOutgoingBytes: number;
  /** Default request rate limit. */
  rateLimit: RateLimit | null;
  /** NodeAPI handlers. */
  handlers: ApiHandlers;
  /** Session hooks that need the host: module log records and request acknowledgements. */
  session: Pick<SessionOptions, "onEventAck" | "onLog" | "onProcessed">;
  /** Called right after the handshake ack, before any message behind the handshake is handled. */
  onEstablished: (session: ModuleSession, capabilities: ReadonlySet<string>) => void;
  /** Sees every line the module writes to stdout or stderr. */
  onModuleLog?: (record: ModuleLogRecord) => void;
  /**
   * The data root's run records: what a previous host left of the module is ended before it starts, and
   * its processes are recorded while they run.
   */
  records?: RunRecords;
  /** Whether modules can get a parent-death signal (`setpriv --pdeathsig KILL`); without, they do not. */
  parentDeath?: () => Promise<ParentDeathProbe>;
}

/**
 * Start one module and complete its handshake.
 *
 * @param spec What to start (its name already checked by the host).
 * @param ctx The host's side.
 * @returns The handle of the running module.
 * @throws {ModuleStartError} `INVALID_SPEC`, `IMPORT_REFUSED`, `SANDBOX_UNAVAILABLE`, `LEFTOVER_RUNNING`
 * (a previous host's copy of it would not die), `SPAWN_FAILED`, `EXITED` or a handshake code; the process
 * is gone when it throws.
 *
 * @example
 * ```ts ignore
 * const handle = await launchModule({ name: "hello", entry: "./modules/hello/main.ts" }, ctx);
 * ```
 */
export async function launchModule(spec: ModuleSpec, ctx: LaunchContext): Promise<ModuleHandle> {
  const { name } = spec;
  const log = moduleLogger(name);
  function fail(code: string, e: unknown, prefix = ""): never {
    throw new ModuleStartError(name, code, `${prefix}${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  let entry: string, root: string;
  try {
    entry = await Deno.realPath(spec.entry);
    if (!(await Deno.stat(entry)).isFile) throw new Error("not a file");
  } catch (e) {
    fail("INVALID_SPEC", e, `entry '${spec.entry}' is not a readable file: `);
  }
  try {
    root = await Deno.realPath(spec.root ?? entry.slice(0, entry.lastIndexOf("/")));
  } catch (e) {
    fail("INVALID_SPEC", e, `module folder '${spec.root}' cannot be read: `);
  }
  if (!entry.startsWith(`${root}/`)) fail("INVALID_SPEC", `entry '${entry}' is not inside the module folder '${root}'`);
  const { mode, probe } = await ctx.osSandbox();
  const os = mode !== "off" && probe.available;
  if (mode === "require" && !os) {
    fail("SANDBOX_UNAVAILABLE", `the OS sandbox is required ([modules] require_os_sandbox) but ${probe.reason}`);
  }
  const runtime = await ctx.runtime().catch((e) => fail("SPAWN_FAILED", e));
  await vetImports({ entry, root, runtime, denoPath: ctx.denoPath }).catch((e) =>
    fail(e instanceof ImportRefusedError ? "IMPORT_REFUSED" : "SPAWN_FAILED", e)
  );
  // Never two copies on one data dir: whatever a killed host left of this module goes first.
  await ctx.records?.end(name, log).catch((e) => fail(e instanceof LeftoverError ? e.code : "SPAWN_FAILED", e));
  const dataDir = await prepareDataDir(ctx.dataDir, name).catch((e) => fail("INVALID_SPEC", e));
  let socketPath: string, listener: Deno.Listener;
  try {
    socketPath = moduleSocketPath(dataDir);
    await clearSocketPath(socketPath);
    listener = Deno.listen({ transport: "unix", path: socketPath });
    await Deno.chmod(socketPath, 0o600);
  } catch (e) {
    return fail("SPAWN_FAILED", e, "cannot create its socket: ");
  }
  const cleanup = () => {
    listener.close();
    sealSocketPath(socketPath);
  };

  // The module's Deno cache must be out of its code's reach: a module that could edit its compiled code or
  // dependency cache would load, after a restart, imports the vetting never saw. It is a folder of the
  // host's that no grant covers (Deno writes it, the module's code cannot), seeded from the runtime's
  // precompiled cache; what it grows beyond that counts against the module's disk quota.
  let cache: ModuleCache;
  try {
    cache = await prepareModuleCache(ctx.moduleCacheDir(name), runtime);
  } catch (e) {
    cleanup();
    return fail("SPAWN_FAILED", e, "cannot prepare its Deno cache: ");
  }
  const token = toHex(crypto.getRandomValues(new Uint8Array(32)));
  let command: string[];
  try {
    for (const key of Object.keys(spec.env ?? {})) {
      if (!spec.grants?.env?.includes(key)) {
        throw new TypeError(
          `env '${key}' is not in grants.env: the module could not read it, and unlisted variables are not passed`,
        );
      }
    }
    const args = buildDenoArgs({
      entry,
      socketPath,
      dataDir,
      configPath: runtime.configPath,
      grants: spec.grants,
      heapMb: spec.heapMb,
      readOnlyData: spec.readOnlyData,
    });
    const wrap = os
      ? [
        probe.bwrap!,
        ...bwrapArgs({
          denoPath: ctx.denoPath,
          readOnly: [root, runtime.dir],
          cacheDir: cache.dir,
          dataDir,
          readOnlyData: spec.readOnlyData,
          socketPath,
          grantedRead: spec.grants?.read,
          grantedWrite: spec.grants?.write,
          network: (spec.grants?.net?.length ?? 0) > 0,
        }),
      ]
      : [];
    command = [...wrap, ctx.denoPath, ...args];
  } catch (e) {
    cleanup();
    return fail("INVALID_SPEC", e);
  }

  const recent: string[] = [];
  const onLine = (stream: "stdout" | "stderr", line: string) => {
    const record: ModuleLogRecord = {
      module: name,
      level: stream === "stderr" ? "warn" : "info",
      message: line,
      source: stream,
    };
    writeModuleLog(log, record);
    ctx.onModuleLog?.(record);
    if (stream === "stderr") recent.push(line) > 5 && recent.shift();
  };
  // The module dies with the host (SIGKILL from the kernel), whatever it is doing: setpriv sets the
  // parent-death signal and executes the command in the same process (same pid, group and exit status).
  const death = await ctx.parentDeath?.();
  const wrapper = death?.available ? parentDeathArgs(death.setpriv!) : [];
  // Its own process group through setsid (no forking spawn of the host), else through Deno's `detached`.
  if (death?.setsid) wrapper.unshift(death.setsid, "--");
  let proc: ModuleProcess;
  try {
    // A missing program is a spawn failure, as without the wrapper (not an exit of setpriv's).
    if (wrapper.length && command[0].includes("/")) Deno.statSync(command[0]);
    const spawned = [...wrapper, ...command];
    proc = spawnModuleProcess({
      denoPath: spawned[0],
      args: spawned.slice(1),
      env: {
        ...spec.env,
        ...childEnv(cache.dir),
        [MODULE_ENV.moduleId]: name,
        [MODULE_ENV.socket]: socketPath,
        [MODULE_ENV.token]: token,
      },
      cwd: dataDir,
      onLine,
      wrapped: os,
      detached: !death?.setsid,
    });
  } catch (e) {
    cleanup();
    return fail("SPAWN_FAILED", e, `cannot spawn '${command[0]}': `);
  }
  // Its own group, led by the spawned process: made by `detached` or by setsid, which may not have run yet.
  ctx.records?.record(name, proc.pid, command, wrapper, proc.pid);
  proc.status.then(() => ctx.records?.release(name, proc.pid));
  log.info("Spawned pid {pid} ({sandbox})", {
    pid: proc.pid,
    sandbox: os ? "os+deno" : "deno",
    diesWithHost: wrapper.length > 0 || os,
    command: [...wrapper, ...command].join(" "),
  });

  const capabilities = new Set(spec.capabilities ?? DEFAULT_CAPABILITIES);
  let peerPid = proc.pid;
  let session: ModuleSession;
  // Until the handshake the module may write at its socket path (Deno needs the grant to connect): one
  // that removes the socket to make a folder there (to write past a read-only data dir) is killed at once.
  const guard = guardSocket(socketPath, () => proc.signal("SIGKILL"));
  try {
    session = await acceptSession(
      listener,
      {
        ...ctx.session,
        moduleId: name,
        token,
        context: { module_id: name, config: spec.config ?? {}, data_dir: dataDir },
        limits: ctx.limits,
        handlers: ctx.handlers,
        capabilities,
        rateLimit: spec.rateLimit !== undefined ? spec.rateLimit : ctx.rateLimit,
        logger: log,
        maxOutgoingBytes: ctx.maxOutgoingBytes,
        onEstablished: (s) => ctx.onEstablished(s, capabilities),
        verifyPeer: () => {
          // Connections accepted earlier on this path may still be closing; their peers are gone.
          const peers = acceptedPeers(socketPath);
          if (typeof peers === "string") return void warnOnce(log, peers);
          const own = peers.find((p) => descendsFrom(p.pid, proc.pid));
          if (!own) return `pid ${peers.map((p) => p.pid).join(", ")} is not the module's process (${proc.pid})`;
          peerPid = own.pid;
        },
      },
      ctx.handshakeTimeoutMs,
      proc.status,
    );
  } catch (e) {
    // A refused module gets a moment to read why and exit; one that timed out or died gets none.
    const refused = e instanceof ModuleStartError && e.code !== ErrorCode.HandshakeTimeout && e.code !== "EXITED";
    if (!refused || !(await waitForExit(proc, 1_000))) proc.signal("SIGKILL");
    await proc.status;
    if (guard.tampered) {
      throw new ModuleStartError(name, ErrorCode.Unauthorized, `it ${guard.tampered} before its handshake; killed`);
    }
    if (e instanceof ModuleStartError && e.code === "EXITED" && recent.length) {
      throw new ModuleStartError(name, e.code, `${e.detail}; last stderr: ${recent.join(" | ")}`);
    }
    throw e;
  } finally {
    guard.stop();
    // Exactly one connection per module: nobody else can connect after the handshake. Synchronous, so
    // no message from the module is handled before the caller holds the handle.
    cleanup();
  }
  proc.adopt(peerPid);
  ctx.records?.adopt(name, proc.pid, proc.modulePid);
  return {
    name,
    pid: proc.modulePid,
    command,
    dataDir,
    root,
    socketPath,
    cache,
    sandbox: os ? "os+deno" : "deno" satisfies SandboxKind,
    session,
    process: proc,
    version: spec.version ?? "0.0.0",
    capabilities,
  };
}

/** Check every 100 ms that the socket at `path` is still the one listening there; call `kill` if not. */
function guardSocket(path: string, kill: () => void): { readonly tampered?: string; stop(): void } {
  const ino = Deno.lstatSync(path).ino;
  const state: { tampered?: string; stop(): void } = { stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    const st = (() => {
      try {
        return Deno.lstatSync(path);
      } catch {
        return undefined;
      }
    })();
    if (st?.isSocket && st.ino === ino) return;
    state.tampered = st ? "replaced its socket" : "removed its socket";
    clearInterval(timer);
    kill();
  }, 100);
  return state;
}

const warned = new WeakSet<Logger>();
function warnOnce(log: Logger, why: string): void {
  if (warned.has(log)) return;
  warned.add(log);
  log.warn("Cannot check which process connected ({why}); relying on the token alone", { why });
}

/** The environment every module gets besides its bootstrap variables: quiet output and its Deno cache. */
function childEnv(denoDir: string): Record<string, string> {
  return { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", PATH: "/usr/local/bin:/usr/bin:/bin", DENO_DIR: denoDir };
}
