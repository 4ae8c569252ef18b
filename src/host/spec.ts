/**
 * What the host is configured with, what a module is started from, and what a started module is.
 *
 * @module
 */
import type { NodeBackend } from "../node/backend.ts";
import type { ModuleInfo } from "../protocol/api.ts";
import type { JournalLimits } from "./journal.ts";
import type { DeliveryLimits } from "./delivery.ts";
import type { RateLimit } from "./limits.ts";
import type { ModuleLogRecord } from "./log.ts";
import type { Grants } from "./permissions.ts";
import type { ModuleCache } from "./module_runtime.ts";
import type { OsSandboxMode, SandboxKind } from "./os_sandbox.ts";
import type { ModuleProcess } from "./process.ts";
import type { ModuleSession } from "./session.ts";

/** Host settings. Timeouts are in milliseconds. */
export interface HostOptions {
  /** The node the NodeAPI reads from. */
  backend: NodeBackend;
  /** Base directory for module data; each module gets `<dataDir>/<name>`. */
  dataDir: string;
  /** Private directory for sockets. Default: a fresh temporary directory, removed at shutdown. */
  runtimeDir?: string;
  /**
   * The `deno.json` whose `npm:` imports (with the `deno.lock` and `package.json` beside it) are the
   * dependencies modules may use; they run with a copy of them, the module runtime. Default: this
   * package's own.
   */
  configPath?: string;
  /** Where module runtimes are built and kept. Default: `$BLVM_CACHE_DIR`, `$XDG_CACHE_HOME/blvm-node` or `~/.cache/blvm-node`. */
  cacheDir?: string;
  /**
   * The OS layer of the sandbox (bubblewrap): `auto` uses it when it works, `off` runs modules under
   * Deno's flags only, `require` refuses to start modules without it. Default `auto`.
   */
  osSandbox?: OsSandboxMode;
  /** The deno binary for modules. Default: the one running the host. */
  denoPath?: string;
  /** Connect plus handshake deadline. Default 10000. */
  handshakeTimeoutMs?: number;
  /** Default NodeAPI call deadline, told to modules. Default 30000. */
  callTimeoutMs?: number;
  /** Time between `stop` and SIGTERM, told to modules. Default 5000. */
  stopTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL. Default 2000. */
  killGraceMs?: number;
  /** Largest frame body in either direction; a module's event that would be bigger is refused when published. Default 4 MiB. */
  maxFrameBytes?: number;
  /**
   * Bytes the host may hold unwritten for one module (replies and events it has not read yet). A module
   * past it is cut off with `SLOW_CONSUMER`. Default 32 MiB; at least twice `maxFrameBytes` plus 1 MiB.
   */
  maxOutgoingBytes?: number;
  /** Sees every module log record (SDK logs and stdout/stderr lines). */
  onModuleLog?: (record: ModuleLogRecord) => void;
  /** Default per-module request rate limit; `null` for none. Default 10 000/s, bursts of 20 000. */
  rateLimit?: RateLimit | null;
  /** Default per-module event queue bounds. */
  eventQueue?: Partial<DeliveryLimits>;
  /**
   * The delivery journal: durable events kept on disk so a module that crashes, restarts or outlives a host
   * restart resumes where it left off. `false` turns it off. Default: on, in the folder `<dataDir>/.journal`,
   * with the default limits (100,000 events, 64 MiB, 24 hours).
   */
  journal?: false | (Partial<JournalLimits> & { path?: string });
  /** Every module known (for `discover_modules`), given the running ones. Default: the running ones. */
  directory?: (running: ModuleInfo[]) => ModuleInfo[];
  /** Start a known module that is not running, when another module calls it. Default: none. */
  activate?: (name: string, caller: string) => Promise<void>;
  /** Called when a module reports its own health. */
  onHealthReport?: (name: string, status: string, message: string | null) => void;
}

/** What to start. */
export interface ModuleSpec {
  /** Module name: letters, digits, `-` and `_`, up to 64 characters. Also its id. */
  name: string;
  /** Path of the entry file. */
  entry: string;
  /** The module's own folder: every local file it imports must lie inside it. Default: the entry's folder. */
  root?: string;
  /** The module's typed configuration. */
  config?: Record<string, unknown>;
  /** Extra sandbox grants. */
  grants?: Grants;
  /** Extra environment variables (names must also be in `grants.env`). */
  env?: Record<string, string>;
  /** V8 heap cap in MiB. */
  heapMb?: number;
  /** Start it with a read-only data directory (over its disk quota). */
  readOnlyData?: boolean;
  /** The module's version, for discovery. Default `0.0.0`. */
  version?: string;
  /** Effective NodeAPI capabilities. Default: `read_blockchain`, `read_chain_state`, `subscribe_events`. */
  capabilities?: string[];
  /** Event types it may publish (from its manifest's `publishes`). Default none. */
  publishes?: string[];
  /** Modules that may call its API (`*` for any). Default none. */
  callers?: string[];
  /** Its request rate limit; `null` for none. Default: the host's. */
  rateLimit?: RateLimit | null;
  /** Its event queue bounds. Default: the host's. */
  eventQueue?: Partial<DeliveryLimits>;
}

/** A started module. */
export interface ModuleHandle {
  /** The module's name from its {@link ModuleSpec}, also its id on the wire. */
  readonly name: string;
  /** Process id of the module's own (Deno) process; under the OS sandbox, a descendant of `process.pid`. */
  readonly pid: number;
  /** The exact command line it was spawned with. */
  readonly command: string[];
  /** Real absolute path of the module's data directory (`<HostOptions.dataDir>/<name>`), its working directory. */
  readonly dataDir: string;
  /** Real path of the module's own folder. */
  readonly root: string;
  /** Path the module connected to; the socket file is deleted once the handshake has ended. */
  readonly socketPath: string;
  /** Its Deno cache: the host's, out of the module's reach; what grew beyond the seed counts in its disk use. */
  readonly cache: ModuleCache;
  /** The layers it runs under: bubblewrap and Deno's flags, or Deno's flags only. */
  readonly sandbox: SandboxKind;
  /** The established connection: counters, invocations and `stop`. */
  readonly session: ModuleSession;
  /** The OS process: exit status and signals to its process group. */
  readonly process: ModuleProcess;
  /** Its version, as given in the spec. */
  readonly version: string;
  /** Its effective NodeAPI capabilities. */
  readonly capabilities: ReadonlySet<string>;
}
