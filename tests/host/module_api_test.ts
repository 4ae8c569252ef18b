import assert from "node:assert/strict";
import {
  type ApiHandlers,
  ApiRegistry,
  type CallContext,
  createModuleApiHandlers,
  ErrorCode,
  EventBus,
  type ModuleApiEnv,
  type PeerModule,
  RemoteError,
} from "../../mod.ts";
import {
  decode,
  EVENT_CATEGORIES,
  type EventMessage,
  type ModuleInfo,
  type ModuleMetrics,
} from "../../src/protocol/mod.ts";

const INVALID = ErrorCode.InvalidParams;
const DENIED = ErrorCode.PermissionDenied;
const HASH = "ab".repeat(32);

interface Invocation {
  method: string;
  params: unknown;
  timeoutMs: number;
  caller: string;
  signal: AbortSignal;
}

/** A fake running module: its connection records decoded events, invoke() records calls. */
interface FakePeer extends PeerModule {
  events: EventMessage[];
  calls: Invocation[];
  answer: (method: string, params: unknown) => Promise<unknown>;
}

interface PeerOptions {
  capabilities?: string[];
  publishes?: string[];
  callers?: string[];
  answer?: (method: string, params: unknown) => Promise<unknown>;
  state?: string;
}

function setup() {
  const bus = new EventBus();
  const apis = new ApiRegistry();
  const reports = new Map<string, ModuleMetrics>();
  const peers = new Map<string, FakePeer>();
  const dir: ModuleInfo[] = [];
  const health: [string, string, string | null][] = [];
  const apiChanges: string[] = [];
  const env: ModuleApiEnv = {
    bus,
    apis,
    reports,
    peer: (name) => peers.get(name),
    directory: () => dir,
    onHealthReport: (name, status, message) => health.push([name, status, message]),
    onApiChange: (name) => apiChanges.push(name),
  };
  const api = createModuleApiHandlers(env);

  /** Make a peer object; `add` also makes it known and running. */
  const makePeer = (options: PeerOptions = {}): FakePeer => {
    const p: FakePeer = {
      events: [],
      calls: [],
      connection: {
        sendFrame(f: Uint8Array) {
          p.events.push(decode(f.subarray(4)) as EventMessage);
          return true;
        },
        bufferedBytes: 0,
      },
      capabilities: new Set(options.capabilities ?? []),
      publishes: options.publishes ?? [],
      callers: options.callers ?? ["*"],
      closed: new Promise(() => {}),
      answer: options.answer ?? ((method, params) => Promise.resolve({ method, params })),
      invoke(method, params, timeoutMs, caller, signal) {
        p.calls.push({ method, params, timeoutMs, caller, signal });
        return p.answer(method, params);
      },
    };
    return p;
  };
  const known = (name: string, state = "running") => {
    dir.push({ name, version: "1.0.0", state, health: "unknown", capabilities: [], api: null });
  };
  const add = (name: string, options: PeerOptions = {}): FakePeer => {
    const p = makePeer(options);
    peers.set(name, p);
    known(name, options.state);
    return p;
  };

  const signal = new AbortController().signal;
  const call = (method: string, params: Record<string, unknown>, module = "a"): Promise<unknown> => {
    const handler = api[method as keyof ApiHandlers];
    assert.ok(handler, `no handler for ${method}`);
    const ctx: CallContext = { module, signal, deadlineAt: performance.now() + 1000 };
    // A handler may throw synchronously; the session awaits it inside a try, as this does.
    return (async () => await handler(params, ctx))();
  };
  return { bus, apis, reports, peers, dir, health, apiChanges, env, api, add, makePeer, known, call, signal };
}

// ---------------------------------------------------------------- subscribe / unsubscribe

Deno.test("subscribe: an unknown type is INVALID_PARAMS naming it", async () => {
  const t = setup();
  t.add("a");
  await assert.rejects(t.call("subscribe", { types: ["NewBlock", "NoSuchEvent"] }), {
    code: INVALID,
    message: /Unknown event type 'NoSuchEvent'/,
  });
  await assert.rejects(t.call("subscribe", { types: ["mesh.lowercase"] }), {
    code: INVALID,
    message: /mesh\.lowercase/,
  });
  // Nothing was subscribed by the failed call.
  assert.equal(t.bus.isSubscribed(t.peers.get("a")!.connection, "NewBlock"), false);
});

Deno.test("subscribe: an unknown category is INVALID_PARAMS listing the categories", async () => {
  const t = setup();
  t.add("a");
  await assert.rejects(t.call("subscribe", { categories: ["bogus"] }), (e: unknown) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.code, INVALID);
    assert.match(e.message, /Unknown event category 'bogus'/);
    for (const c of Object.keys(EVENT_CATEGORIES)) {
      if (c !== "delivery") assert.ok(e.message.includes(c), `${c} missing from: ${e.message}`);
    }
    assert.ok(!/\bdelivery\b/.test(e.message), e.message);
    return true;
  });
  await assert.rejects(t.call("subscribe", { categories: ["delivery"] }), { code: INVALID });
  await assert.rejects(t.call("subscribe", { categories: ["toString"] }), { code: INVALID });
});

Deno.test("subscribe: EventsDropped cannot be subscribed to", async () => {
  const t = setup();
  t.add("a");
  await assert.rejects(t.call("subscribe", { types: ["EventsDropped"] }), {
    code: INVALID,
    message: /'EventsDropped' is always delivered/,
  });
});

Deno.test("subscribe: mempool events and categories need read_mempool", async () => {
  const t = setup();
  t.add("a", { capabilities: ["subscribe_events"] });
  const want = { code: DENIED, data: { capability: "read_mempool" } };
  await assert.rejects(t.call("subscribe", { types: ["MempoolTransactionAdded"] }), want);
  await assert.rejects(t.call("subscribe", { categories: ["mempool"] }), want);
  await assert.rejects(t.call("subscribe", { types: ["NewBlock"], categories: ["mempool"] }), {
    ...want,
    message: /Category 'mempool' needs the 'read_mempool' capability/,
  });
  await assert.rejects(t.call("subscribe", { categories: ["p2p"] }), {
    code: DENIED,
    data: { capability: "read_network" },
  });
  await assert.rejects(t.call("subscribe", { types: ["PaymentSettled"] }), {
    code: DENIED,
    data: { capability: "read_payment" },
  });
});

Deno.test("subscribe: with the capability it subscribes, and events arrive", async () => {
  const t = setup();
  const a = t.add("a", { capabilities: ["read_mempool"] });
  assert.deepEqual(await t.call("subscribe", { types: ["MempoolCleared", "mesh.Route"] }), {
    types: ["MempoolCleared", "mesh.Route"],
    categories: [],
  });
  assert.deepEqual(await t.call("subscribe", { categories: ["mempool"], types: null }), {
    types: ["MempoolCleared", "mesh.Route"],
    categories: ["mempool"],
  });
  t.bus.publish("MempoolTransactionAdded", { n: 1 });
  t.bus.publish("NewBlock", { n: 2 });
  assert.deepEqual(a.events.map((e) => e.type), ["MempoolTransactionAdded"]);
  // Categories without a capability need none; `*` is filtered by the bus, not here.
  assert.deepEqual(await t.call("subscribe", { types: ["*"], categories: ["blockchain"] }), {
    types: ["*", "MempoolCleared", "mesh.Route"],
    categories: ["blockchain", "mempool"],
  });
});

Deno.test("subscribe: an empty request, a bad list or an unexpected key is INVALID_PARAMS", async () => {
  const t = setup();
  t.add("a");
  await assert.rejects(t.call("subscribe", {}), { code: INVALID, message: /at least one/ });
  await assert.rejects(t.call("subscribe", { types: [], categories: [] }), { code: INVALID, message: /at least one/ });
  await assert.rejects(t.call("subscribe", { types: ["NewBlock"], filter: "x" }), {
    code: INVALID,
    message: /Unexpected param 'filter'/,
  });
  await assert.rejects(t.call("subscribe", { types: "NewBlock" }), { code: INVALID, message: /'types'/ });
  await assert.rejects(t.call("subscribe", { types: [1] }), { code: INVALID, message: /'types'/ });
  await assert.rejects(t.call("subscribe", { categories: Array(257).fill("mempool") }), {
    code: INVALID,
    message: /'categories'/,
  });
});

Deno.test("subscribe: a module that is not connected is UNAVAILABLE", async () => {
  const t = setup();
  await assert.rejects(t.call("subscribe", { types: ["NewBlock"] }, "ghost"), {
    code: ErrorCode.Unavailable,
    message: /ghost/,
  });
});

Deno.test("unsubscribe: removes what was asked, needs no capability, and validates names", async () => {
  const t = setup();
  const a = t.add("a", { capabilities: ["read_mempool"] });
  await t.call("subscribe", { types: ["NewBlock", "MempoolCleared"], categories: ["mempool"] });
  assert.deepEqual(await t.call("unsubscribe", { categories: ["mempool"], types: ["NewBlock"] }), {
    types: ["MempoolCleared"],
    categories: [],
  });
  t.bus.publish("NewBlock", {});
  t.bus.publish("MempoolCleared", {});
  assert.deepEqual(a.events.map((e) => e.type), ["MempoolCleared"]);
  const b = t.add("b");
  // b lacks read_mempool but may still unsubscribe from mempool names.
  assert.deepEqual(await t.call("unsubscribe", { categories: ["mempool"] }, "b"), { types: [], categories: [] });
  assert.equal(b.events.length, 0);
  await assert.rejects(t.call("unsubscribe", { types: ["Nope"] }), { code: INVALID, message: /'Nope'/ });
  await assert.rejects(t.call("unsubscribe", {}), { code: INVALID });
});

// ---------------------------------------------------------------- publish_event

Deno.test("publish_event: a node-owned type is PERMISSION_DENIED", async () => {
  const t = setup();
  t.add("a", { publishes: ["NewBlock"] });
  await assert.rejects(
    t.call("publish_event", { type: "NewBlock", payload: { hash: HASH, height: 1, prev_hash: HASH, time: 0 } }),
    { code: DENIED, message: /published by the node only/, data: { event: "NewBlock" } },
  );
});

Deno.test("publish_event: a custom type in another module's namespace is PERMISSION_DENIED", async () => {
  const t = setup();
  t.add("a", { publishes: ["b.Thing"] });
  await assert.rejects(t.call("publish_event", { type: "b.Thing", payload: {} }), {
    code: DENIED,
    message: /only its own events, named 'a\.<Name>'/,
    data: { event: "b.Thing" },
  });
  // A prefix of the module name is not its namespace either.
  t.add("ab", { publishes: ["a.Thing"] });
  await assert.rejects(t.call("publish_event", { type: "a.Thing", payload: {} }, "ab"), { code: DENIED });
});

Deno.test("publish_event: a type missing from the manifest's publishes is PERMISSION_DENIED", async () => {
  const t = setup();
  t.add("a", { publishes: ["a.Other"] });
  await assert.rejects(t.call("publish_event", { type: "a.Thing", payload: {} }), {
    code: DENIED,
    message: /not declared in the 'publishes' list/,
    data: { event: "a.Thing" },
  });
  await assert.rejects(
    t.call("publish_event", { type: "PaymentSettled", payload: { payment_id: "p", tx_hash: HASH, confirmations: 1 } }),
    { code: DENIED, data: { event: "PaymentSettled" } },
  );
});

Deno.test("publish_event: a malformed type, or no type, is INVALID_PARAMS", async () => {
  const t = setup();
  t.add("a", { publishes: ["a.thing"] });
  await assert.rejects(t.call("publish_event", { type: "a.thing", payload: {} }), {
    code: INVALID,
    message: /not a catalog event/,
  });
  await assert.rejects(t.call("publish_event", { type: 5, payload: {} }), { code: INVALID, message: /'type'/ });
  await assert.rejects(t.call("publish_event", { type: "a.Thing", payload: {}, sticky: true }), {
    code: INVALID,
    message: /Unexpected param 'sticky'/,
  });
});

Deno.test("publish_event: a module-owned catalog type with a bad payload is INVALID_PARAMS naming the field", async () => {
  const t = setup();
  t.add("a", { publishes: ["PaymentSettled"] });
  const pub = (payload: unknown) => t.call("publish_event", { type: "PaymentSettled", payload });
  await assert.rejects(pub({ payment_id: "p", tx_hash: "xyz", confirmations: 1 }), {
    code: INVALID,
    message: /Payload of 'PaymentSettled' is invalid: field 'tx_hash' must be a 64-digit lowercase hex hash/,
  });
  await assert.rejects(pub({ payment_id: "p", tx_hash: HASH }), {
    code: INVALID,
    message: /field 'confirmations' is missing/,
  });
  await assert.rejects(pub({ payment_id: "p", tx_hash: HASH, confirmations: -1 }), {
    code: INVALID,
    message: /field 'confirmations'/,
  });
  await assert.rejects(pub({ payment_id: "p", tx_hash: HASH, confirmations: 1, extra: 1 }), {
    code: INVALID,
    message: /field 'extra' is not part of this event/,
  });
  await assert.rejects(pub([1]), { code: INVALID, message: /must be a map/ });
});

Deno.test("publish_event: a valid catalog event is delivered with source", async () => {
  const t = setup();
  t.add("a", { publishes: ["PaymentSettled"] });
  const sub = t.add("s", { capabilities: ["read_payment"] });
  await t.call("subscribe", { categories: ["payment"] }, "s");
  const payload = { payment_id: "p1", tx_hash: HASH, confirmations: 3 };
  assert.deepEqual(await t.call("publish_event", { type: "PaymentSettled", payload }), { seq: 1, delivered: 1 });
  assert.deepEqual(sub.events, [{ kind: "event", type: "PaymentSettled", seq: 1, payload, source: "a" }]);
});

Deno.test("publish_event: a custom event needs a map payload, and is delivered with source", async () => {
  const t = setup();
  t.add("a", { publishes: ["a.Route"] });
  const sub = t.add("s");
  await t.call("subscribe", { types: ["*"] }, "s");
  for (const payload of [[1, 2], "x", 5, null, undefined, new Uint8Array(2)]) {
    await assert.rejects(t.call("publish_event", { type: "a.Route", payload }), {
      code: INVALID,
      message: /Payload of 'a\.Route' is invalid: the payload must be a map/,
    });
  }
  assert.equal(sub.events.length, 0);
  assert.deepEqual(await t.call("publish_event", { type: "a.Route", payload: { hop: 2 } }), { seq: 1, delivered: 1 });
  assert.deepEqual(sub.events, [{ kind: "event", type: "a.Route", seq: 1, payload: { hop: 2 }, source: "a" }]);
});

// ---------------------------------------------------------------- call_module

Deno.test("call_module: a known target that is not running is UNAVAILABLE", async () => {
  const t = setup();
  t.add("a");
  t.known("b", "stopped");
  await assert.rejects(t.call("call_module", { target: "b", method: "m" }), {
    code: ErrorCode.Unavailable,
    message: /Module 'b' is stopped, not running/,
    data: { target: "b" },
  });
  await assert.rejects(t.call("call_module", { target: "zz", method: "m" }), {
    code: ErrorCode.Unavailable,
    message: /No module named 'zz' is loaded/,
    data: { target: "zz" },
  });
});

Deno.test("call_module: a caller not in the target's callers is PERMISSION_DENIED", async () => {
  const t = setup();
  t.add("a");
  const b = t.add("b", { callers: ["c"] });
  t.apis.register("b", "1.0.0", ["m"]);
  await assert.rejects(t.call("call_module", { target: "b", method: "m" }), {
    code: DENIED,
    message: /does not list 'a' among the callers/,
    data: { target: "b" },
  });
  assert.equal(b.calls.length, 0);
  // The listed caller gets through.
  t.add("c");
  assert.deepEqual(await t.call("call_module", { target: "b", method: "m" }, "c"), { method: "m", params: null });
});

Deno.test("call_module: an unregistered method is NOT_FOUND listing the served ones; no API is NOT_FOUND", async () => {
  const t = setup();
  t.add("a");
  t.add("b");
  await assert.rejects(t.call("call_module", { target: "b", method: "m" }), {
    code: ErrorCode.NotFound,
    message: /Module 'b' has registered no API/,
    data: { target: "b", method: "m" },
  });
  t.apis.register("b", "1.0.0", ["zeta", "alpha"]);
  await assert.rejects(t.call("call_module", { target: "b", method: "m" }), {
    code: ErrorCode.NotFound,
    message: /does not serve 'm'; it serves alpha, zeta/,
    data: { target: "b", method: "m" },
  });
});

Deno.test("call_module: a bare method served by two modules is CONFLICT with the candidates", async () => {
  const t = setup();
  t.add("a");
  t.add("c");
  t.add("b");
  t.apis.register("c", "1", ["status"]);
  t.apis.register("b", "1", ["status"]);
  await assert.rejects(t.call("call_module", { method: "status" }), {
    code: ErrorCode.Conflict,
    message: /'status' is served by b and c; name the module in 'target'/,
    data: { method: "status", candidates: ["b", "c"] },
  });
  // Naming the target resolves it.
  assert.deepEqual(await t.call("call_module", { target: "c", method: "status", params: 1 }), {
    method: "status",
    params: 1,
  });
});

Deno.test("call_module: a bare method served by one module is routed to it; by none is NOT_FOUND", async () => {
  const t = setup();
  t.add("a");
  const b = t.add("b");
  const c = t.add("c");
  t.apis.register("b", "1", ["route"]);
  t.apis.register("c", "1", ["other"]);
  assert.deepEqual(await t.call("call_module", { method: "route", params: { x: 1 }, target: null }), {
    method: "route",
    params: { x: 1 },
  });
  assert.equal(b.calls.length, 1);
  assert.equal(c.calls.length, 0);
  await assert.rejects(t.call("call_module", { method: "nobody" }), {
    code: ErrorCode.NotFound,
    message: /No module serves 'nobody'/,
    data: { method: "nobody" },
  });
});

Deno.test("call_module: invoke gets the method, params, caller, signal and the remaining time", async () => {
  const t = setup();
  t.add("a");
  const b = t.add("b");
  t.apis.register("b", "1", ["m"]);
  await t.call("call_module", { target: "b", method: "m", params: [1, "two"] });
  assert.equal(b.calls.length, 1);
  const c = b.calls[0];
  assert.equal(c.method, "m");
  assert.deepEqual(c.params, [1, "two"]);
  assert.equal(c.caller, "a");
  assert.equal(c.signal, t.signal);
  // The caller's remaining time plus a 100 ms backstop: the caller's own deadline answers first.
  assert.ok(c.timeoutMs > 1000 && c.timeoutMs <= 1100, `timeoutMs ${c.timeoutMs}`);
});

Deno.test("call_module: without a deadline the call gets 30 s; a past deadline still gets 1 ms (+100 ms backstop)", async () => {
  const t = setup();
  t.add("a");
  const b = t.add("b");
  t.apis.register("b", "1", ["m"]);
  const handler = t.api.call_module!;
  await handler({ target: "b", method: "m" }, { module: "a", signal: t.signal });
  await handler({ target: "b", method: "m" }, { module: "a", signal: t.signal, deadlineAt: performance.now() - 50 });
  assert.ok(b.calls[0].timeoutMs > 29_100 && b.calls[0].timeoutMs <= 30_100, `${b.calls[0].timeoutMs}`);
  assert.equal(b.calls[1].timeoutMs, 101);
});

Deno.test("call_module: the target disconnecting (CONNECTION_CLOSED) becomes UNAVAILABLE", async () => {
  const t = setup();
  t.add("a");
  t.add("b", { answer: () => Promise.reject(new RemoteError(ErrorCode.ConnectionClosed, "closed")) });
  t.apis.register("b", "1", ["m"]);
  await assert.rejects(t.call("call_module", { target: "b", method: "m" }), {
    code: ErrorCode.Unavailable,
    message: /Module 'b' disconnected before answering 'm'/,
    data: { target: "b", method: "m" },
  });
});

Deno.test("call_module: other remote errors keep their code and data, prefixed with target.method", async () => {
  const t = setup();
  t.add("a");
  const b = t.add("b");
  t.apis.register("b", "1", ["m"]);
  b.answer = () => Promise.reject(new RemoteError("CUSTOM_CODE", "it broke", { detail: 1 }));
  await assert.rejects(t.call("call_module", { target: "b", method: "m" }), {
    code: "CUSTOM_CODE",
    message: "b.m: it broke",
    data: { detail: 1 },
  });
  b.answer = () => Promise.reject(new RemoteError(ErrorCode.DeadlineExceeded, "too slow"));
  await assert.rejects(t.call("call_module", { target: "b", method: "m" }), {
    code: ErrorCode.DeadlineExceeded,
    message: "b.m: too slow",
    data: { target: "b", method: "m" },
  });
  // Anything else passes through as it is.
  const boom = new TypeError("boom");
  b.answer = () => Promise.reject(boom);
  await assert.rejects(t.call("call_module", { target: "b", method: "m" }), (e) => e === boom);
});

Deno.test("call_module: activate is called for a known target that is not running", async () => {
  const t = setup();
  t.add("a");
  const activated: string[] = [];
  t.known("b", "loaded");
  t.apis.register("b", "1", ["m"]);
  t.env.activate = (name) => {
    activated.push(name);
    t.peers.set(name, t.makePeer());
    return Promise.resolve();
  };
  // The env object is read at call time, so the hook set now is used.
  assert.deepEqual(await t.call("call_module", { target: "b", method: "m" }), { method: "m", params: null });
  assert.deepEqual(activated, ["b"]);
  // Running now: not activated again. Unknown: not activated at all.
  await t.call("call_module", { target: "b", method: "m" });
  await assert.rejects(t.call("call_module", { target: "zz", method: "m" }), { code: ErrorCode.Unavailable });
  assert.deepEqual(activated, ["b"]);
});

Deno.test("call_module: an activate that does not start the module ends in UNAVAILABLE", async () => {
  const t = setup();
  t.add("a");
  t.known("b", "quarantined");
  let called = 0;
  t.env.activate = () => {
    called++;
    return Promise.resolve();
  };
  await assert.rejects(t.call("call_module", { target: "b", method: "m" }), {
    code: ErrorCode.Unavailable,
    message: /is quarantined, not running/,
  });
  assert.equal(called, 1);
});

Deno.test("call_module: bad method, bad target or an unexpected key is INVALID_PARAMS", async () => {
  const t = setup();
  t.add("a");
  await assert.rejects(t.call("call_module", { target: "b" }), { code: INVALID, message: /'method'/ });
  await assert.rejects(t.call("call_module", { target: "b", method: "1bad" }), { code: INVALID, message: /'method'/ });
  await assert.rejects(t.call("call_module", { target: "b/c", method: "m" }), { code: INVALID, message: /'target'/ });
  await assert.rejects(t.call("call_module", { target: 5, method: "m" }), { code: INVALID, message: /'target'/ });
  await assert.rejects(t.call("call_module", { target: "b", method: "m", timeout: 5 }), {
    code: INVALID,
    message: /Unexpected param 'timeout'/,
  });
});

// ---------------------------------------------------------------- register / unregister

Deno.test("register_module_api: bad method names, an empty list or a bad version are INVALID_PARAMS", async () => {
  const t = setup();
  t.add("a");
  for (const methods of [[], ["1bad"], ["has space"], [""], [42], ["ok", "no/slash"], "m", Array(257).fill("m")]) {
    await assert.rejects(t.call("register_module_api", { methods, version: "1.0.0" }), {
      code: INVALID,
      message: /'methods'/,
    }, JSON.stringify(methods));
  }
  for (const version of ["", 1, null, "x".repeat(65)]) {
    await assert.rejects(t.call("register_module_api", { methods: ["m"], version }), {
      code: INVALID,
      message: /'version'/,
    });
  }
  await assert.rejects(t.call("register_module_api", { methods: ["m"], version: "1", extra: 1 }), {
    code: INVALID,
    message: /Unexpected param 'extra'/,
  });
  assert.equal(t.apis.get("a"), undefined);
  assert.deepEqual(t.apiChanges, []);
});

Deno.test("register_module_api registers (sorted, deduplicated) and replaces; unregister withdraws", async () => {
  const t = setup();
  t.add("a");
  assert.deepEqual(
    await t.call("register_module_api", { methods: ["zeta", "alpha", "zeta", "ns:x.y-z"], version: "1.2.0" }),
    {
      methods: ["alpha", "ns:x.y-z", "zeta"],
    },
  );
  assert.equal(t.apis.get("a")?.version, "1.2.0");
  assert.deepEqual(t.apis.providers("alpha"), ["a"]);
  assert.deepEqual(await t.call("register_module_api", { methods: ["beta"], version: "2" }), { methods: ["beta"] });
  assert.deepEqual(t.apis.providers("alpha"), []);
  assert.deepEqual(t.apiChanges, ["a", "a"]);
  assert.deepEqual(await t.call("unregister_module_api", {}), { removed: true });
  assert.equal(t.apis.get("a"), undefined);
  assert.deepEqual(await t.call("unregister_module_api", {}), { removed: false });
  assert.deepEqual(t.apiChanges, ["a", "a", "a"]);
  await assert.rejects(t.call("unregister_module_api", { methods: [] }), { code: INVALID, message: /expected none/ });
});

Deno.test("register_module_api: a module that is not connected is UNAVAILABLE", async () => {
  const t = setup();
  await assert.rejects(t.call("register_module_api", { methods: ["m"], version: "1" }, "ghost"), {
    code: ErrorCode.Unavailable,
  });
  assert.equal(t.apis.get("ghost"), undefined);
});

// ---------------------------------------------------------------- health and metrics

Deno.test("report_health: validates status and message, records the report and calls the hook", async () => {
  const t = setup();
  t.add("a");
  await assert.rejects(t.call("report_health", { status: "fine" }), { code: INVALID, message: /'status'/ });
  await assert.rejects(t.call("report_health", {}), { code: INVALID, message: /'status'/ });
  await assert.rejects(t.call("report_health", { status: "healthy", message: 5 }), {
    code: INVALID,
    message: /'message'/,
  });
  await assert.rejects(t.call("report_health", { status: "healthy", why: "x" }), {
    code: INVALID,
    message: /Unexpected param 'why'/,
  });
  assert.deepEqual(t.health, []);
  assert.deepEqual(await t.call("report_health", { status: "degraded", message: "slow disk" }), { recorded: true });
  assert.deepEqual(t.health, [["a", "degraded", "slow disk"]]);
  const h = t.reports.get("a")!.health!;
  assert.equal(h.status, "degraded");
  assert.equal(h.message, "slow disk");
  assert.ok(Math.abs(h.at - Date.now()) < 5000);
  await t.call("report_health", { status: "healthy", message: null });
  assert.equal(t.reports.get("a")!.health!.message, null);
  assert.deepEqual(t.health[1], ["a", "healthy", null]);
  await t.call("report_health", { status: "unhealthy", message: "x".repeat(5000) });
  assert.equal(t.reports.get("a")!.health!.message!.length, 1024);
});

Deno.test("report_metric: validates name, value and kind", async () => {
  const t = setup();
  t.add("a");
  for (const name of ["1x", "a-b", "", 5, "x".repeat(129)]) {
    await assert.rejects(t.call("report_metric", { name, value: 1 }), { code: INVALID, message: /'name'/ });
  }
  for (const value of [NaN, Infinity, "1", null]) {
    await assert.rejects(t.call("report_metric", { name: "m", value }), { code: INVALID, message: /'value'/ });
  }
  await assert.rejects(t.call("report_metric", { name: "m", value: 1, kind: "histogram" }), {
    code: INVALID,
    message: /'kind'/,
  });
  await assert.rejects(t.call("report_metric", { name: "m", value: 1, unit: "s" }), { code: INVALID });
  assert.equal(t.reports.get("a"), undefined);
});

Deno.test("get_module_metrics returns what was reported", async () => {
  const t = setup();
  t.add("a");
  t.known("quiet");
  assert.deepEqual(await t.call("get_module_metrics", { name: "quiet" }), { name: "quiet", health: null, metrics: {} });
  await t.call("report_metric", { name: "peers", value: 8 });
  await t.call("report_metric", { name: "bytes_in", value: 1234, kind: "counter" });
  await t.call("report_metric", { name: "peers", value: 9 });
  await t.call("report_health", { status: "healthy" });
  const m = await t.call("get_module_metrics", { name: "a" }, "other") as ModuleMetrics;
  assert.equal(m.name, "a");
  assert.equal(m.health?.status, "healthy");
  assert.deepEqual(Object.keys(m.metrics).sort(), ["bytes_in", "peers"]);
  assert.equal(m.metrics.peers.value, 9);
  assert.equal(m.metrics.peers.kind, "gauge");
  assert.equal(m.metrics.bytes_in.kind, "counter");
  assert.equal(m.metrics.bytes_in.value, 1234);
  await assert.rejects(t.call("get_module_metrics", { name: "nobody" }), {
    code: ErrorCode.NotFound,
    message: /No module named 'nobody'/,
  });
  await assert.rejects(t.call("get_module_metrics", { name: "../x" }), { code: INVALID, message: /'name'/ });
});

Deno.test("report_metric: the 257th distinct metric is RATE_LIMITED; updates still work", async () => {
  const t = setup();
  t.add("a");
  for (let i = 0; i < 256; i++) await t.call("report_metric", { name: `m${i}`, value: i });
  await assert.rejects(t.call("report_metric", { name: "m256", value: 1 }), {
    code: ErrorCode.RateLimited,
    message: /at most 256 distinct metrics/,
  });
  assert.deepEqual(await t.call("report_metric", { name: "m0", value: 42 }), { recorded: true });
  const metrics = t.reports.get("a")!.metrics;
  assert.equal(Object.keys(metrics).length, 256);
  assert.equal(metrics.m0.value, 42);
  assert.equal(metrics.m256, undefined);
  // The limit is per module.
  assert.deepEqual(await t.call("report_metric", { name: "m256", value: 1 }, "b"), { recorded: true });
});

// ---------------------------------------------------------------- discovery

Deno.test("discover_modules, get_module_info and is_module_available read the directory", async () => {
  const t = setup();
  t.add("a");
  t.known("b", "stopped");
  const all = await t.call("discover_modules", {}) as ModuleInfo[];
  assert.deepEqual(all.map((m) => [m.name, m.state]), [["a", "running"], ["b", "stopped"]]);
  assert.equal((await t.call("get_module_info", { name: "b" }) as ModuleInfo).state, "stopped");
  await assert.rejects(t.call("get_module_info", { name: "c" }), { code: ErrorCode.NotFound });
  await assert.rejects(t.call("get_module_info", {}), { code: INVALID });
  assert.equal(await t.call("is_module_available", { name: "a" }), true);
  assert.equal(await t.call("is_module_available", { name: "b" }), false);
});
