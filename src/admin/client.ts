/**
 * The operator's side of the admin socket.
 *
 * @module
 */
import { ErrorCode, RemoteError } from "../protocol/errors.ts";
import { Connection } from "../transport/connection.ts";
import { PendingCalls } from "../transport/pending.ts";

/** An open admin connection. */
export interface AdminClient {
  /**
   * Send one request and wait for its response.
   *
   * @throws {RemoteError} with the host's error code (`NOT_FOUND`, `APPROVAL_REQUIRED`, …).
   */
  call(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  /** Close the connection. */
  close(): Promise<void>;
}

/**
 * Connect to a running host's admin socket.
 *
 * @param path The socket path (`<runtime_dir>/admin.sock`).
 * @returns The client.
 * @throws {RemoteError} `UNAVAILABLE` if no host listens there.
 *
 * @example
 * ```ts ignore
 * const admin = await connectAdmin("./data/run/admin.sock");
 * console.log(await admin.call("list"));
 * await admin.close();
 * ```
 */
export async function connectAdmin(path: string): Promise<AdminClient> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (e) {
    throw new RemoteError(
      ErrorCode.Unavailable,
      `No host is listening on ${path} (${(e as Error).message}); is it running with this config?`,
    );
  }
  const pending = new PendingCalls();
  const c = new Connection(conn, {
    onMessage: (m) => {
      if (m.kind === "response") pending.settle(m.id, m.ok, m.ok ? m.result : m.error);
    },
    onClose: (info) => pending.rejectAll(new RemoteError(ErrorCode.ConnectionClosed, info.message)),
  });
  c.start();
  return {
    call(method, params = {}, timeoutMs = 120_000) {
      const { id, promise } = pending.open(method, { timeoutMs });
      c.send({ kind: "request", id, method, params });
      return promise;
    },
    close: async () => {
      await c.close();
    },
  };
}
