/**
 * The host's view of its connected modules as peers of each other: each one's event delivery, the
 * API it registered, what it reported about itself, and how another module reaches it.
 *
 * @module
 */
import type { ModuleInfo, ModuleMetrics } from "../protocol/api.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { CATEGORY_CAPABILITY, type EventCategory } from "../protocol/events/mod.ts";
import { ApiRegistry } from "./api_registry.ts";
import type { EventBus } from "./events.ts";
import { moduleLogger } from "./log.ts";
import type { PeerModule } from "./module_api.ts";
import type { ModuleSession } from "./session.ts";
import type { ModuleHandle, ModuleSpec } from "./spec.ts";

/**
 * Connected modules, by name.
 *
 * @example
 * ```ts
 * import { EventBus, ModulePeers } from "@blvm/node";
 * const peers = new ModulePeers(new EventBus());
 * console.log(peers.get("hello"), peers.describe([])); // undefined []
 * ```
 */
export class ModulePeers {
  /** APIs modules registered for module-to-module calls. */
  readonly apis: ApiRegistry = new ApiRegistry();
  /** Health and metrics modules reported, by module name. */
  readonly reports: Map<string, ModuleMetrics> = new Map();
  readonly #bus: EventBus;
  readonly #peers = new Map<string, PeerModule>();
  /** Each module connection (the event bus's subscriber) to its module's name. */
  readonly #names = new WeakMap<object, string>();

  /**
   * Create the registry of connected modules.
   *
   * @param bus The event bus the modules subscribe on.
   */
  constructor(bus: EventBus) {
    this.#bus = bus;
  }

  /**
   * A connected module.
   *
   * @param name Its name.
   * @returns It, or `undefined`.
   */
  get(name: string): PeerModule | undefined {
    return this.#peers.get(name);
  }

  /**
   * The module an event subscriber belongs to: its connection, as the event bus sees it.
   *
   * @param sub A subscriber of the event bus.
   * @returns The module name, or `undefined` if it is not a module connection.
   *
   * @example
   * ```ts
   * import { EventBus, ModulePeers } from "@blvm/node";
   * const peers = new ModulePeers(new EventBus());
   * console.log(peers.nameOf({ sendFrame: () => true })); // undefined
   * ```
   */
  nameOf(sub: object): string | undefined {
    return this.#names.get(sub);
  }

  /**
   * Wire a new session in before any of its requests runs: its event queue (with the categories its
   * capabilities let it see), its peer record, and the clean-up when it disconnects.
   *
   * @param session The session, right after the handshake.
   * @param spec What the module was started from.
   * @param capabilities Its effective capabilities.
   */
  attach(session: ModuleSession, spec: ModuleSpec, capabilities: ReadonlySet<string>): void {
    const { name } = spec;
    const conn = session.connection;
    this.#names.set(conn, name);
    this.#bus.attach(conn, {
      limits: spec.eventQueue,
      canSee: (c) => {
        const cap = CATEGORY_CAPABILITY[c as EventCategory];
        return cap === undefined || capabilities.has(cap);
      },
      onOverflow: (why) => {
        moduleLogger(name).error("Disconnecting: {why}", { why });
        conn.close(ErrorCode.SlowConsumer, `Module '${name}' fell too far behind on events: ${why}`, 500);
      },
    });
    conn.onWritable = () => this.#bus.pump(conn);
    conn.beforeWrite = () => this.#bus.writeJournal();
    const peer: PeerModule = {
      connection: conn,
      capabilities,
      publishes: spec.publishes ?? [],
      callers: spec.callers ?? [],
      closed: session.closed,
      invoke: (method, params, timeoutMs, caller, signal) => session.invoke(method, params, timeoutMs, caller, signal),
    };
    this.#peers.set(name, peer);
    this.reports.delete(name);
    session.closed.then(() => {
      this.#bus.remove(conn);
      if (this.#peers.get(name) !== peer) return;
      this.#peers.delete(name);
      if (this.apis.unregister(name)) moduleLogger(name).info("API withdrawn: the module disconnected");
    });
  }

  /**
   * Running modules as `discover_modules` shows them.
   *
   * @param handles The running modules.
   * @returns Their info, with registered APIs and reported health.
   */
  describe(handles: ModuleHandle[]): ModuleInfo[] {
    return handles.map((h) => {
      const api = this.apis.get(h.name);
      return {
        name: h.name,
        version: h.version,
        state: "running",
        health: this.reports.get(h.name)?.health?.status ?? "unknown",
        capabilities: [...h.capabilities].sort(),
        api: api ? { version: api.version, methods: [...api.methods].sort() } : null,
      };
    });
  }
}
