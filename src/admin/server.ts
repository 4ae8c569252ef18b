/**
 * The admin socket: a local Unix socket (mode 0600, in the host's 0700 runtime directory) on which the
 * operator CLI sends requests. It speaks the module wire protocol's `request` and `response` messages.
 *
 * Methods: `list`, `inspect {name}`, `load {name}`, `unload {name}`, `reload {name, approve?}`,
 * `call {name, method, params?, timeout_ms?}`, `stop {reason?}`, the dev node's `node.*` commands
 * (see `node_commands.ts`), and the `janitor.*` and `config.*` commands (see `janitor_commands.ts`).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { getLogger } from "@logtape/logtape";
import { ErrorCode } from "../protocol/errors.ts";
import type { Message, WireError } from "../protocol/messages.ts";
import { Connection } from "../transport/connection.ts";
import { claimSocketPath } from "../host/host_lock.ts";
import type { ModuleManager } from "../manager/manager.ts";
import type { DevNode } from "../node/dev/node.ts";
import { dispatchNode, NODE_METHODS } from "./node_commands.ts";
import { dispatchJanitor, JANITOR_METHODS } from "./janitor_commands.ts";
import type { Janitor } from "../janitor/janitor.ts";
import type { LiveConfig } from "../config/live.ts";

/** The admin socket's file name inside the runtime directory. */
export const ADMIN_SOCKET = "admin.sock";

/** Every admin method. */
export const ADMIN_METHODS = ["list", "inspect", "load", "unload", "reload", "call", "stop"] as const;

/** One admin method name. */
export type AdminMethod = typeof ADMIN_METHODS[number];

/** The janitor and live configuration the admin socket also serves, if the host runs them. */
export interface AdminExtras {
  /** Serves `janitor.*`. */
  janitor?: Janitor;
  /** Serves `config.*`. */
  live?: LiveConfig;
}

/** A running admin server. */
export interface AdminServer {
  /** The socket path. */
  readonly path: string;
  /** Stop accepting, close every connection and remove the socket file. */
  close(): Promise<void>;
}

/**
 * Listen on `<runtimeDir>/admin.sock` and serve the operator's requests against `manager`.
 *
 * @param manager The module manager.
 * @param path The socket path.
 * @param onStop Called for the `stop` method (after its response is sent), with the reason.
 * @param node The dev node the `node.*` methods act on, if the host runs one.
 * @param extras The janitor (`janitor.*`) and live configuration (`config.*`), if the host runs them.
 * @returns The server.
 * @throws {HostRunningError} `HOST_RUNNING` if another host already answers on `path` (naming its pid).
 *
 * @example
 * ```ts ignore
 * const admin = await serveAdmin(manager, `${manager.host.runtimeDir}/admin.sock`, (why) => shutdown(why));
 * ```
 */
export async function serveAdmin(
  manager: ModuleManager,
  path: string,
  onStop: (reason: string) => void,
  node?: DevNode,
  extras: AdminExtras = {},
): Promise<AdminServer> {
  const log = getLogger(["blvm", "admin"]);
  // A live socket means another host runs with this runtime directory: never steal it. A dead host's goes.
  await claimSocketPath(path);
  const listener = Deno.listen({ transport: "unix", path });
  await Deno.chmod(path, 0o600);
  const conns = new Set<Connection>();
  (async () => {
    for await (const conn of listener) {
      const c: Connection = new Connection(conn, {
        onMessage: (m) => void answer(manager, node, extras, c, m, log, onStop),
        onClose: () => conns.delete(c),
      });
      conns.add(c);
      c.start();
    }
  })().catch(() => {});
  return {
    path,
    async close() {
      try {
        listener.close();
      } catch { /* closed */ }
      await Promise.all([...conns].map((c) => c.close()));
      await Deno.remove(path).catch(() => {});
    },
  };
}

async function answer(
  manager: ModuleManager,
  node: DevNode | undefined,
  extras: AdminExtras,
  c: Connection,
  m: Message,
  log: Logger,
  onStop: (reason: string) => void,
): Promise<void> {
  if (m.kind !== "request") return;
  const p = (m.params ?? {}) as Record<string, unknown>;
  try {
    const result = m.method.startsWith("node.")
      ? await dispatchNode(node, m.method, p)
      : m.method.startsWith("janitor.") || m.method.startsWith("config.")
      ? await dispatchJanitor(extras.janitor, extras.live, m.method, p)
      : await dispatch(manager, m.method, p);
    c.send({ kind: "response", id: m.id, ok: true, result: result ?? null });
    if (m.method === "stop") {
      await c.drained();
      onStop(typeof p.reason === "string" ? p.reason : "admin stop command");
    }
  } catch (e) {
    const err = e as Error & { code?: string; data?: unknown };
    const error: WireError = { code: err.code ?? ErrorCode.Internal, message: err.message };
    if (err.data !== undefined) error.data = err.data;
    if (!error.code.match(/^[A-Z_]+$/)) error.code = ErrorCode.Internal;
    log.info("Admin {method} failed: {error}", { method: m.method, error: err.message });
    c.send({ kind: "response", id: m.id, ok: false, error });
  }
}

function dispatch(manager: ModuleManager, method: string, p: Record<string, unknown>): Promise<unknown> | unknown {
  const name = () => str(p, "name");
  if (!manager.started && (method === "load" || method === "unload" || method === "reload" || method === "call")) {
    throw Object.assign(new Error(`The host is still starting its modules; retry '${method}' in a moment`), {
      code: ErrorCode.Unavailable,
    });
  }
  switch (method as AdminMethod) {
    case "list":
      return manager.list();
    case "inspect":
      return manager.inspect(name());
    case "load":
      return manager.load(name());
    case "unload":
      return manager.unload(name(), typeof p.reason === "string" ? p.reason : "operator unload");
    case "reload":
      return manager.reload(name(), { approve: p.approve === true });
    case "call":
      return manager.invoke(
        name(),
        str(p, "method"),
        p.params ?? {},
        typeof p.timeout_ms === "number" ? p.timeout_ms : undefined,
      );
    case "stop":
      return { stopping: true };
    default:
      throw Object.assign(
        new Error(
          `Unknown admin method '${method}'; one of ${
            [...ADMIN_METHODS, ...NODE_METHODS, ...JANITOR_METHODS].join(", ")
          }`,
        ),
        {
          code: ErrorCode.MethodNotFound,
        },
      );
  }
}

function str(p: Record<string, unknown>, key: string): string {
  const v = p[key];
  if (typeof v !== "string" || v === "") {
    throw Object.assign(new Error(`Parameter '${key}' must be a non-empty string`), { code: ErrorCode.InvalidParams });
  }
  return v;
}
