// An in-process host session and SDK client over a real Unix socket, for SDK tests.
import { getLogger } from "@logtape/logtape";
import {
  acceptSession,
  type ApiHandlers,
  createNodeApiHandlers,
  EventBus,
  MemoryBackend,
  type ModuleSession,
} from "../../mod.ts";
import { connect, type ModuleClient } from "../../src/module/mod.ts";

export interface Pair {
  client: ModuleClient;
  session: ModuleSession;
  bus: EventBus;
  backend: MemoryBackend;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function pair(
  handlers?: ApiHandlers,
  limits = { call_timeout_ms: 2_000, stop_timeout_ms: 1_000 },
): Promise<Pair> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/m.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const backend = new MemoryBackend();
  const bus = new EventBus();
  const accepted = acceptSession(
    listener,
    {
      moduleId: "m",
      token: "t0k",
      context: { module_id: "m", config: { k: "v" }, data_dir: dir },
      limits: { ...limits, max_frame_bytes: 1 << 20 },
      handlers: handlers ?? createNodeApiHandlers(backend),
      bus,
      logger: getLogger(["test"]),
    },
    5_000,
    new Promise(() => {}),
  );
  const client = await connect({
    socketPath: path,
    moduleId: "m",
    token: "t0k",
    exitOnDisconnect: false,
    exitOnStop: false,
  });
  const session = await accepted;
  listener.close();
  return {
    client,
    session,
    bus,
    backend,
    async [Symbol.asyncDispose]() {
      await client.close();
      await session.closed;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
