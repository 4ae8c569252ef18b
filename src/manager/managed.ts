/**
 * The record the manager keeps for each module, and the snapshots the operator sees.
 *
 * @module
 */
import type { SandboxKind } from "../host/os_sandbox.ts";
import type { Grants } from "../host/permissions.ts";
import type { ModuleInfo } from "../protocol/api.ts";
import type { Host, ModuleHandle } from "../host/host.ts";
import type { SubscriberStats } from "../host/events.ts";
import type { SessionStats } from "../host/session.ts";
import type { Effective } from "./grants.ts";
import type { LoadedManifest, Manifest } from "./manifest.ts";
import type { ModuleOverrides } from "./node_config.ts";
import { initialRestartState, type RestartState } from "./restart.ts";
import { healthOf, type ModuleHealth, type ModuleState } from "./state.ts";
import type { SignatureOutcome } from "../signing/policy.ts";

/** How many recent log lines are kept per module. */
export const LOG_LINES = 200;
/** How many trigger events a lazy module may have waiting for it. */
export const MAX_PENDING_EVENTS = 256;

/** Everything the manager knows about one module. Mutable; owned by the manager. */
export interface ManagedModule {
  /** Module name (its folder's name). */
  name: string;
  /** The module folder. */
  dir: string;
  /** The accepted manifest; `undefined` if it never parsed. */
  loaded?: LoadedManifest;
  /** The operator's `[modules.<name>]` settings. */
  overrides: ModuleOverrides;
  /** The merged, typed configuration the module receives. */
  config: Record<string, unknown>;
  /** Sandbox grants and capabilities in force. */
  effective?: Effective;
  /** The outcome of the signature check of the version loaded; `undefined` if it was never prepared. */
  signature?: SignatureOutcome;
  /** Lifecycle state. */
  state: ModuleState;
  /** Why it is in this state (for failed, crashed, quarantined, stopped). */
  reason: string;
  /** Whether the process waits for an activation trigger. */
  lazy: boolean;
  /** The health the module last reported itself (`report_health`) while running; cleared when it stops. */
  reportedHealth?: string;
  /** Whether ModuleLoaded has been published (and not yet ModuleUnloaded). */
  isLoaded: boolean;
  /** The running process, if any. */
  handle?: ModuleHandle;
  /** `Date.now()` of the last successful start. */
  startedAt?: number;
  /** Automatic restarts since it was loaded. */
  restarts: number;
  /** Crash history for the restart policy. */
  restart: RestartState;
  /** A scheduled restart. */
  restartTimer?: ReturnType<typeof setTimeout>;
  /** When the scheduled restart is due (`Date.now()` ms). */
  restartAt?: number;
  /** Set while the manager itself is stopping the process. */
  stopRequested: boolean;
  /**
   * Set (to the reason) while the host stops the process over a resource limit: its exit then counts as a
   * crash, restarted after the back-off.
   */
  limitStop?: string;
  /** Set while a deletion of its folder, once noticed, is being handled (so it is handled once). */
  goneNoticed?: boolean;
  /** The module it failed because of, so it can be retried when that one comes back. */
  blockedBy?: string;
  /** Trigger events waiting for the module to subscribe. */
  pending: { type: string; payload: unknown }[];
  /** A reload held back because it would widen permissions. */
  pendingApproval?: string[];
  /** Recent log lines, oldest first. */
  logs: string[];
  /** Serializes start, stop and reload of this module. */
  op: Promise<unknown>;
  /** Removes the lazy activation watchers. */
  unwatch?: () => void;
  /** Set (to the reason) while the module runs with a read-only data directory, over its disk quota. */
  readOnly?: string;
}

/**
 * A fresh record in the `discovered` state.
 *
 * @param name Module name.
 * @param dir Module folder.
 * @param overrides The operator's settings for it.
 * @returns The record.
 *
 * @example
 * ```ts ignore
 * const m = newManagedModule("hello", "/srv/modules/hello", moduleOverrides(cfg, "hello"));
 * ```
 */
export function newManagedModule(name: string, dir: string, overrides: ModuleOverrides): ManagedModule {
  return {
    name,
    dir,
    overrides,
    config: {},
    state: "discovered",
    reason: "",
    lazy: false,
    isLoaded: false,
    restarts: 0,
    restart: initialRestartState(),
    stopRequested: false,
    pending: [],
    logs: [],
    op: Promise.resolve(),
  };
}

/** One row of `ctl list`. */
export interface ModuleStatus {
  /** Module name. */
  name: string;
  /** Manifest version, if the manifest parsed. */
  version: string | null;
  /** Lifecycle state. */
  state: ModuleState;
  /** Health implied by the state. */
  health: ModuleHealth;
  /** Why it is in this state. */
  reason: string;
  /** Process id (and process group id) while a process exists. */
  pid: number | null;
  /** Milliseconds since the current process completed its handshake. */
  uptime_ms: number | null;
  /** Automatic restarts since it was loaded. */
  restarts: number;
  /** Resident memory of the process in bytes (Linux `/proc`), if known. */
  memory_bytes: number | null;
  /** Started on a trigger rather than at boot. */
  lazy: boolean;
  /** Its failure fails the host. */
  required: boolean;
  /** Permissions a held-back reload would add; empty when nothing waits for approval. */
  pending_approval: string[];
  /** The sandbox layers its process runs under (`os+deno`: bubblewrap and Deno's flags; `deno`: flags only). */
  sandbox: SandboxKind | null;
  /** Milliseconds until a scheduled restart. */
  restart_in_ms: number | null;
}

/** `ctl inspect`: the status plus everything the operator needs to audit the module. */
export interface ModuleDetail extends ModuleStatus {
  /** The module folder. */
  dir: string;
  /** The accepted manifest. */
  manifest: Manifest | null;
  /** The configuration the module receives. */
  config: Record<string, unknown>;
  /** Sandbox grants in force. */
  grants: Required<Grants> | null;
  /** Capabilities in force. */
  capabilities: string[];
  /** What the manifest asks for that the operator has not granted. */
  ungranted: string[];
  /** The exact command line of the current process. */
  command: string[] | null;
  /** Manifest warnings (unknown keys). */
  warnings: string[];
  /** Recent log lines, oldest first. */
  logs: string[];
  /** The signature check of the loaded version (`status`, trusted `keys` that signed, `detail`), or `null`. */
  signature: SignatureOutcome | null;
  /** Live traffic of the running process: its subscriptions and event queue, requests, API; `null` when not running. */
  traffic: ModuleTraffic | null;
  /**
   * Its place in the delivery journal, running or not: the last position it reported processed, how many
   * journaled positions lie past it, and the types it resumes; `null` without a journal or a cursor.
   */
  journal: { processed: number; behind: number; types: string[]; module_events: boolean } | null;
}

/** What a running module is doing on its connection, for operators. */
export interface ModuleTraffic {
  /** Subscriptions, events delivered, queued, lag and drops. */
  events: SubscriberStats | null;
  /** NodeAPI requests answered, refused and timed out. */
  requests: SessionStats;
  /** The API it registered for other modules, or `null`. */
  api: { version: string; methods: string[] } | null;
}

/**
 * Resident set size of a process from `/proc/<pid>/status`, in bytes.
 *
 * @param pid Process id.
 * @returns Bytes, or `null` where `/proc` is unavailable or the process is gone.
 *
 * @example
 * ```ts
 * import { residentBytes } from "@blvm/node";
 * const rss = residentBytes(Deno.pid);
 * console.log(rss === null || rss > 0); // true
 * ```
 */
export function residentBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * The operator's view of one module.
 *
 * @param m The record.
 * @param now `Date.now()`.
 * @returns The status row.
 *
 * @example
 * ```ts ignore
 * console.log(statusOf(manager.get("hello")!, Date.now()).state);
 * ```
 */
export function statusOf(m: ManagedModule, now: number): ModuleStatus {
  const pid = m.handle && !m.handle.process.exited ? m.handle.pid : null;
  return {
    name: m.name,
    version: m.loaded?.manifest.version ?? null,
    state: m.state,
    health: m.state === "running" && m.reportedHealth ? m.reportedHealth as ModuleStatus["health"] : healthOf(m.state),
    reason: m.reason,
    pid,
    uptime_ms: pid !== null && m.startedAt !== undefined && m.state === "running" ? now - m.startedAt : null,
    restarts: m.restarts,
    memory_bytes: pid !== null ? residentBytes(pid) : null,
    lazy: m.lazy,
    required: m.overrides.required,
    pending_approval: m.pendingApproval ?? [],
    sandbox: pid !== null ? m.handle!.sandbox : null,
    restart_in_ms: m.restartAt !== undefined ? Math.max(0, m.restartAt - now) : null,
  };
}

/**
 * The operator's detailed view of one module.
 *
 * @param m The record.
 * @param now `Date.now()`.
 * @returns The detail.
 *
 * @example
 * ```ts ignore
 * console.log(detailOf(manager.get("hello")!, Date.now()).command?.join(" "));
 * ```
 */
export function detailOf(m: ManagedModule, now: number, host?: Host): ModuleDetail {
  const h = m.handle;
  const api = h && host?.peers.apis.get(m.name);
  return {
    ...statusOf(m, now),
    dir: m.dir,
    manifest: m.loaded?.manifest ?? null,
    config: m.config,
    grants: m.effective?.grants ?? null,
    capabilities: m.effective?.capabilities ?? [],
    ungranted: m.effective?.ungranted ?? [],
    command: m.handle?.command ?? null,
    warnings: m.loaded?.warnings ?? [],
    logs: [...m.logs],
    signature: m.signature ?? null,
    journal: journalPlace(m.name, host),
    traffic: h
      ? {
        events: host?.bus.stats(h.session.connection) ?? null,
        requests: { ...h.session.stats },
        api: api ? { version: api.version, methods: [...api.methods].sort() } : null,
      }
      : null,
  };
}

function journalPlace(name: string, host: Host | undefined): ModuleDetail["journal"] {
  const c = host?.journal?.cursor(name);
  if (!c || !host?.journal) return null;
  const behind = host.journal.lastPos - c.acked;
  return { processed: c.acked, behind, types: [...c.coverage.types], module_events: c.coverage.moduleEvents };
}

/**
 * The names of a module's hard dependencies (empty without a manifest).
 *
 * @param m The record.
 * @returns Dependency names.
 *
 * @example
 * ```ts ignore
 * if (hardDependencies(m).includes("wallet")) console.log("needs the wallet");
 * ```
 */
export function hardDependencies(m: ManagedModule): string[] {
  return Object.keys(m.loaded?.manifest.dependencies ?? {});
}

/**
 * The ModuleLoaded payload for a module.
 *
 * @param m The record.
 * @returns `{name, version, lazy}`.
 *
 * @example
 * ```ts ignore
 * host.publish("ModuleLoaded", loadedPayload(m));
 * ```
 */
export function loadedPayload(m: ManagedModule): { name: string; version: string; lazy: boolean } {
  return { name: m.name, version: m.loaded?.manifest.version ?? "", lazy: m.lazy };
}

/**
 * Mark a module unloaded: its sticky `ModuleLoaded` is cleared and `ModuleUnloaded` is published.
 *
 * @param host The host to publish on.
 * @param m The record.
 * @param version The version that was loaded.
 * @param reason Why (`reload`, the operator's reason, or a deleted folder).
 *
 * @example
 * ```ts ignore
 * markUnloaded(host, m, "1.0.0", "operator unload");
 * ```
 */
export function markUnloaded(host: Host, m: ManagedModule, version: string, reason: string): void {
  m.isLoaded = false;
  host.bus.clearSticky("ModuleLoaded", m.name);
  host.publish("ModuleUnloaded", { name: m.name, version, reason });
}

/**
 * A module as `discover_modules` shows it to other modules.
 *
 * @param host The host (for the API the module registered).
 * @param m The record.
 * @returns Its entry.
 *
 * @example
 * ```ts ignore
 * const all = [...modules.values()].map((m) => directoryEntry(host, m));
 * ```
 */
export function directoryEntry(host: Host, m: ManagedModule): ModuleInfo {
  const api = m.handle ? host.peers.apis.get(m.name) : undefined;
  return {
    name: m.name,
    version: m.loaded?.manifest.version ?? "",
    state: m.state,
    health: m.state === "running" ? m.reportedHealth ?? healthOf(m.state) : healthOf(m.state),
    capabilities: m.effective?.capabilities ?? [],
    api: api ? { version: api.version, methods: [...api.methods].sort() } : null,
  };
}

/**
 * Record the health a running module reported about itself, publishing ModuleHealthChanged when its
 * health changes.
 *
 * @param host The host to publish on.
 * @param m The record.
 * @param status What the module reported.
 * @param message Its reason, if any.
 *
 * @example
 * ```ts ignore
 * reportHealth(host, m, "degraded", "database slow");
 * ```
 */
export function reportHealth(host: Host, m: ManagedModule, status: string, message: string | null): void {
  if (m.reportedHealth === status) return;
  const old = m.reportedHealth ?? healthOf(m.state);
  m.reportedHealth = status;
  if (old !== status) {
    host.publish("ModuleHealthChanged", {
      name: m.name,
      old_health: old,
      new_health: status,
      reason: message ?? "reported by the module",
    });
  }
}
