import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { RemoteError } from "../../src/module/mod.ts";
import { pair } from "./_pair.ts";

const code = (c: string) => (e: unknown) => e instanceof RemoteError && e.code === c;

Deno.test("connect() delivers the context from the handshake", async () => {
  await using p = await pair();
  equal(p.client.context.moduleId, "m");
  deepEqual(p.client.context.config, { k: "v" });
  equal(p.client.context.limits.call_timeout_ms, 2_000);
  equal(p.session.sdkVersion, "0.1.0");
});

Deno.test("ModuleClient.api keeps many calls in flight and matches replies by id, out of order", async () => {
  const delays = new Map<number, number>();
  await using p = await pair({
    get_block_hash: async (params) => {
      const h = params.height as number;
      await new Promise((r) => setTimeout(r, delays.get(h) ?? 0));
      return `hash-${h}`;
    },
  });
  for (let i = 0; i < 50; i++) delays.set(i, (50 - i) % 7 * 3);
  const results = await Promise.all([...Array(50).keys()].map((height) => p.client.api.getBlockHash({ height })));
  deepEqual(results, [...Array(50).keys()].map((h) => `hash-${h}`));
  equal(p.session.stats.calls, 50);
});

Deno.test("ModuleClient.api surfaces the host's error codes and the connection stays open", async () => {
  await using p = await pair();
  await rejects(p.client.api.getBlockHeader({ hash: "zz" }), code("INVALID_PARAMS"));
  await rejects(p.client.api.getBlockHeader({ hash: "ab".repeat(32) }), code("NOT_FOUND"));
  await rejects(p.client.api.getBlockHash({ height: 99 }), code("NOT_FOUND"));
  await rejects(p.client.call("no_such_method"), code("METHOD_NOT_FOUND"));
  await rejects(p.client.call("get_block_height", [1, 2]), code("INVALID_PARAMS"));
  // A uint64 beyond 2^53 decodes as a bigint on the host: still a clean INVALID_PARAMS, not INTERNAL.
  await rejects(p.client.call("get_block_hash", { height: 2n ** 60n }), code("INVALID_PARAMS"));
  await rejects(p.client.call("get_block_header", { hash: 2n ** 60n }), code("INVALID_PARAMS"));
  equal(await p.client.api.getBlockHeight(), 0);
});

Deno.test("ModuleClient.call() with unencodable params fails locally without hurting the connection", async () => {
  await using p = await pair();
  await rejects(
    p.client.call("get_block_height", { f: () => 1 }),
    (e: unknown) => e instanceof RemoteError && /f: values of type function/.test(e.message),
  );
  equal(await p.client.api.getBlockHeight(), 0);
});

Deno.test("ModuleClient.call() enforces its deadline and tells the host to cancel", async () => {
  let aborted!: () => void;
  const cancelled = new Promise<void>((r) => aborted = r);
  await using p = await pair({
    get_block_height: (_p, { signal }) =>
      new Promise((_, reject) => {
        signal.addEventListener("abort", () => {
          aborted();
          reject(new Error("aborted"));
        });
      }),
  });
  const started = performance.now();
  await rejects(p.client.api.getBlockHeight({}, { timeoutMs: 150 }), code("DEADLINE_EXCEEDED"));
  ok(performance.now() - started >= 140);
  await cancelled; // the host-side handler saw the cancel
});

Deno.test("ModuleClient.call() can be aborted with a signal", async () => {
  await using p = await pair({ get_block_height: () => new Promise(() => {}) });
  const c = new AbortController();
  const call = p.client.api.getBlockHeight({}, { signal: c.signal });
  c.abort(new Error("changed my mind"));
  await rejects(call, /changed my mind/);
});

Deno.test("ModuleClient.subscribe() twice never duplicates delivery; unsubscribe() stops it", async () => {
  await using p = await pair();
  const got: number[] = [];
  p.client.on("NewBlock", (e) => void got.push(e.payload.height));
  deepEqual(await p.client.subscribe(["NewBlock"]), { types: ["NewBlock"], categories: [] });
  deepEqual(await p.client.subscribe({ types: ["NewBlock", "x.Other"], categories: ["blockchain"] }), {
    types: ["NewBlock", "x.Other"],
    categories: ["blockchain"],
  });
  p.bus.publish("NewBlock", { hash: "x", height: 1, prev_hash: "y", time: 0 });
  p.bus.publish("NewBlock", { hash: "x", height: 100, prev_hash: "y", time: 0 });
  await p.client.api.getBlockHeight(); // a round trip orders us after the events
  deepEqual(got, [1, 100]);
  deepEqual(await p.client.unsubscribe({ types: ["NewBlock"], categories: ["blockchain"] }), {
    types: ["x.Other"],
    categories: [],
  });
  p.bus.publish("NewBlock", { hash: "x", height: 101, prev_hash: "y", time: 0 });
  await p.client.api.getBlockHeight();
  deepEqual(got, [1, 100]);
});

Deno.test("ModuleClient reports a failing event handler to the host log instead of crashing", async () => {
  await using p = await pair();
  p.client.on("x.Boom", () => {
    throw new Error("handler bug");
  });
  await p.client.subscribe(["x.Boom"]);
  p.bus.publish("x.Boom", {});
  await p.client.api.getBlockHeight();
  await p.client.api.getBlockHeight();
  equal(p.session.stats.logs, 1);
  equal(await p.client.api.getBlockHeight(), 0);
});

Deno.test("ModuleClient runs stop handlers on a host stop and acknowledges it", async () => {
  await using p = await pair();
  const order: string[] = [];
  p.client.onStop(async () => {
    await new Promise((r) => setTimeout(r, 20));
    order.push("first");
  });
  p.client.onStop(() => void order.push("second"));
  p.session.stop("test", 1_000);
  const info = await p.session.closed;
  equal(info.initiator, "remote");
  ok(p.session.stopAcked);
  deepEqual(order, ["first", "second"]);
  await rejects(p.client.api.getBlockHeight(), code("CONNECTION_CLOSED"));
});

Deno.test("connect() without the host's environment throws a TypeError naming the variable", async () => {
  await rejects(
    import("../../src/module/mod.ts").then((m) => m.connect({ moduleId: "x", token: "y" })),
    (e: unknown) => e instanceof TypeError && /BLVM_SOCKET/.test(e.message),
  );
});

Deno.test("connect() times out when the host never answers the handshake", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/s.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const accepting = listener.accept();
  const { connect } = await import("../../src/module/mod.ts");
  await rejects(
    connect({ socketPath: path, moduleId: "m", token: "t", handshakeTimeoutMs: 200, exitOnDisconnect: false }),
    code("HANDSHAKE_TIMEOUT"),
  );
  (await accepting).close();
  listener.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("A request the module cancels gets no answer at all, even when its handler outlives the deadline", async () => {
  let finished!: () => void;
  const done = new Promise<void>((r) => finished = r);
  await using p = await pair({
    // Ignores the abort and finishes after the host's 200 ms call timeout.
    get_block_height: () => new Promise((r) => setTimeout(() => (r(1), finished()), 400)),
  }, { call_timeout_ms: 200, stop_timeout_ms: 1_000 });
  const control = new AbortController();
  const call = p.client.call("get_block_height", {}, { signal: control.signal });
  setTimeout(() => control.abort(new Error("changed my mind")), 50);
  await rejects(call, /changed my mind/);
  await done;
  await p.client.api.getChainTip(); // a round trip after the handler finished
  equal(p.session.stats.deadline_exceeded, 0);
  equal(p.session.stats.calls, 1); // only get_chain_tip was answered
});

Deno.test("An invocation of an unknown method whose name nearly fills a frame is answered, cut, not a crash", async () => {
  await using p = await pair();
  // Frames here are 1 MiB at most: the name fits in the invocation, but not twice in an answer.
  const method = "m".repeat((1 << 20) - 200);
  await rejects(p.session.invoke(method, {}), (e: unknown) => {
    equal((e as RemoteError).code, "METHOD_NOT_FOUND");
    ok((e as RemoteError).message.length < 200, (e as RemoteError).message.slice(0, 100));
    return true;
  });
  // And the host's own answer to such a request.
  await rejects(p.client.call(method), code("METHOD_NOT_FOUND"));
  equal(await p.client.api.getBlockHeight(), 0);
});
