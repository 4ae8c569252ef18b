// An in-process host session and SDK client over a real Unix socket, for SDK tests.
import { getLogger } from "@logtape/logtape";
import {
  acceptSession,
  type ApiHandlers,
  ApiRegistry,
  createModuleApiHandlers,
  createNodeApiHandlers,
  DevNode,
  EventBus,
  type ModuleSession,
  type PeerModule,
} from "../../mod.ts";
import { METHOD_CAPABILITY } from "../../src/protocol/mod.ts";
import { connect, type ModuleClient } from "../../src/module/mod.ts";

export interface Pair {
  client: ModuleClient;
  session: ModuleSession;
  bus: EventBus;
  backend: DevNode;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function pair(
  handlers?: ApiHandlers,
  limits = { call_timeout_ms: 2_000, stop_timeout_ms: 1_000 },
): Promise<Pair> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/m.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const backend = DevNode.open();
  const bus = new EventBus();
  let peer: PeerModule | undefined;
  const moduleApi = createModuleApiHandlers({
    bus,
    apis: new ApiRegistry(),
    reports: new Map(),
    peer: (name) => name === "m" ? peer : undefined,
    directory: () => [],
  });
  const accepted = acceptSession(
    listener,
    {
      moduleId: "m",
      token: "t0k",
      context: { module_id: "m", config: { k: "v" }, data_dir: dir },
      limits: { ...limits, max_frame_bytes: 1 << 20 },
      handlers: { ...createNodeApiHandlers(backend), ...moduleApi, ...handlers },
      capabilities: new Set(Object.values(METHOD_CAPABILITY)),
      rateLimit: null,
      logger: getLogger(["test"]),
      onEstablished: (s) => {
        bus.attach(s.connection);
        s.connection.onWritable = () => bus.pump(s.connection);
        s.closed.then(() => bus.remove(s.connection));
        peer = {
          connection: s.connection,
          capabilities: new Set(Object.values(METHOD_CAPABILITY)),
          publishes: ["m.Test"],
          callers: ["*"],
          closed: s.closed,
          invoke: (method, params, ms, caller, signal) => s.invoke(method, params, ms, caller, signal),
        };
      },
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
      await backend.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
