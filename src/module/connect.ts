/**
 * `connect()`: the entry point of every module. Reads the bootstrap context the host put in the
 * environment, connects to the module's socket and performs the versioned handshake.
 *
 * @module
 */
import { MODULE_ENV } from "../protocol/env.ts";
import { ErrorCode, RemoteError } from "../protocol/errors.ts";
import type { HandshakeAckMessage } from "../protocol/messages.ts";
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../protocol/version.ts";
import { Connection } from "../transport/connection.ts";
import { HandshakeGate } from "../transport/gate.ts";
import { ModuleClient } from "./client.ts";

/** Options for {@link connect}. Everything defaults to what the host provides. */
export interface ConnectOptions {
  /** Socket path. Default: `BLVM_SOCKET` from the environment. */
  socketPath?: string;
  /** Module id. Default: `BLVM_MODULE_ID` from the environment. */
  moduleId?: string;
  /** One-time token. Default: `BLVM_TOKEN` from the environment. */
  token?: string;
  /** How long to wait for the handshake to complete, in ms. Default 10000. */
  handshakeTimeoutMs?: number;
  /** Exit the process when the connection ends without a stop (the host died). Default true. */
  exitOnDisconnect?: boolean;
  /** Exit the process after cleanup when the host sends `stop`. Default true. */
  exitOnStop?: boolean;
  /** Protocol version to announce. Only tests change this. Default: this SDK's version. */
  protocolVersion?: number;
}

/**
 * Connect to the host and complete the handshake.
 *
 * @param options Overrides for the environment-provided values and timeouts.
 * @returns The connected module client.
 * @throws {TypeError} when the bootstrap variables are missing (the module was not started by a host).
 * @throws {RemoteError} when the host rejects the handshake (`VERSION_MISMATCH`, `UNAUTHORIZED`) or
 * it times out (`HANDSHAKE_TIMEOUT`).
 *
 * @example
 * ```ts ignore
 * import { connect } from "@blvm/node/module";
 * const mod = await connect();
 * console.log(mod.context.moduleId, mod.context.dataDir);
 * console.log(await mod.api.getBlockHeight());
 * ```
 */
export async function connect(options: ConnectOptions = {}): Promise<ModuleClient> {
  const socketPath = options.socketPath ?? env(MODULE_ENV.socket);
  const moduleId = options.moduleId ?? env(MODULE_ENV.moduleId);
  const token = options.token ?? env(MODULE_ENV.token);
  const { handshakeTimeoutMs = 10_000, exitOnDisconnect = true, exitOnStop = true } = options;

  const socket = await Deno.connect({ transport: "unix", path: socketPath });
  // Anything the host sends right behind its ack is held until the client exists.
  const gate = new HandshakeGate();
  const conn = new Connection(socket, {
    onMessage: (m) => gate.push(m),
    onClose: (info) => gate.fail(new RemoteError(info.code, `Handshake failed: ${info.message}`)),
  });
  conn.start();
  conn.send({
    kind: "handshake",
    protocol: options.protocolVersion ?? PROTOCOL_VERSION,
    module_id: moduleId,
    token,
    sdk_version: PACKAGE_VERSION,
  });

  let timer: ReturnType<typeof setTimeout> | undefined;
  const reply = await Promise.race([
    gate.first.catch((e: Error) => e),
    new Promise<Error>((r) =>
      timer = setTimeout(
        () =>
          r(
            new RemoteError(
              ErrorCode.HandshakeTimeout,
              `Host did not answer the handshake within ${handshakeTimeoutMs} ms`,
            ),
          ),
        handshakeTimeoutMs,
      )
    ),
  ]);
  clearTimeout(timer);

  if (reply instanceof Error || reply.kind !== "handshake_ack") {
    const err = reply instanceof Error
      ? reply
      : reply.kind === "handshake_reject"
      ? new RemoteError(reply.code, `Host rejected the handshake: ${reply.message}`, { host_protocol: reply.protocol })
      : new RemoteError(ErrorCode.InvalidMessage, `Expected 'handshake_ack' from the host, got '${reply.kind}'`);
    await conn.close();
    throw err;
  }
  if (reply.protocol !== PROTOCOL_VERSION) {
    await conn.close(ErrorCode.VersionMismatch, `Module speaks protocol ${PROTOCOL_VERSION}, host ${reply.protocol}`);
    throw new RemoteError(
      ErrorCode.VersionMismatch,
      `Host speaks protocol ${reply.protocol}; this SDK speaks ${PROTOCOL_VERSION}`,
    );
  }
  const max = reply.limits?.max_frame_bytes;
  if (Number.isInteger(max) && max > 0) conn.maxFrameBytes = max;
  const client = new ModuleClient(conn, toContext(reply, socketPath), { exitOnDisconnect, exitOnStop });
  // Writes wait for the end of a turn; a module that exits in this turn (`log(…); Deno.exit()`) still sends them.
  const flush = () => conn.flush();
  globalThis.addEventListener("unload", flush);
  conn.closed.then(() => globalThis.removeEventListener("unload", flush));
  // Held messages go out on a later task, after the code following `await connect()` registered its handlers.
  gate.open((m) => client.dispatch(m), true);
  return client;
}

function toContext(ack: HandshakeAckMessage, socketPath: string) {
  return {
    moduleId: ack.context.module_id,
    config: ack.context.config ?? {},
    dataDir: ack.context.data_dir,
    socketPath,
    nodeVersion: ack.node_version,
    limits: ack.limits,
  };
}

function env(name: string): string {
  let value: string | undefined;
  try {
    value = Deno.env.get(name);
  } catch (e) {
    throw new TypeError(`Cannot read ${name}: ${(e as Error).message}. Was this module started by the blvm host?`);
  }
  if (!value) {
    throw new TypeError(`${name} is not set: this module must be started by the blvm host, or pass it to connect()`);
  }
  return value;
}
