// The SDK's janitorial helpers over a real socket: onFlush / onShutdown / onCleanup / onMaintenance /
// onHealthCheck subscribe, and the module answers each request event with an event_ack once its
// handlers have finished; replays are never acknowledged; a `config` message from the host updates
// context.config and runs the onConfig handlers.
import { deepEqual, equal, ok } from "node:assert/strict";
import type { EventAckMessage } from "../../src/protocol/messages.ts";
import type { ModuleClient } from "../../src/module/mod.ts";
import { waitUntil } from "../_host_helpers.ts";
import { type Pair, pair } from "./_pair.ts";

/** Every event_ack the host side receives, and a way to wait for one. */
interface Acks {
  list: EventAckMessage[];
  wait(type: string, seq: number, timeoutMs?: number): Promise<EventAckMessage>;
}

function captureAcks(p: Pair): Acks {
  const list: EventAckMessage[] = [];
  const wake = new Set<() => void>();
  const dispatch = p.session.dispatch.bind(p.session);
  p.session.dispatch = (m) => {
    if (m.kind === "event_ack") {
      list.push(m);
      for (const w of wake) w();
    }
    dispatch(m);
  };
  return {
    list,
    wait: (type, seq, timeoutMs = 10_000) =>
      waitUntil(
        wake,
        () => list.find((a) => a.type === type && a.seq === seq),
        timeoutMs,
        () => `no event_ack for ${type}#${seq}; got ${JSON.stringify(list)}`,
      ),
  };
}

/** A round trip: everything the module sent before it has reached the host. */
const roundTrip = (p: Pair) => p.client.api.getBlockHeight();

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Register = (c: ModuleClient, h: (e: { type: string; payload: unknown }) => Promise<void>) => Promise<() => void>;

const REQUESTS: [string, string, Record<string, unknown>, Register][] = [
  ["onFlush", "StorageFlush", { reason: "manual", deadline_ms: 5000 }, (c, h) => c.onFlush(h)],
  ["onShutdown", "NodeShutdown", { reason: "admin", timeout_seconds: 5, deadline_ms: 5000 }, (c, h) => c.onShutdown(h)],
  [
    "onCleanup",
    "DataCleanup",
    { cleanup_type: "manual", target_age_days: 3, deadline_ms: 5000 },
    (c, h) => c.onCleanup(h),
  ],
  [
    "onMaintenance",
    "MaintenanceStarted",
    { maintenance_type: "backup", deadline_ms: 5000 },
    (c, h) => c.onMaintenance(h),
  ],
];

for (const [method, type, payload, register] of REQUESTS) {
  Deno.test(`${method}() subscribes, then acknowledges ${type} only after the handler's promise resolves`, async () => {
    await using p = await pair();
    const acks = captureAcks(p);
    const release = Promise.withResolvers<void>();
    const seen: unknown[] = [];
    const entered = Promise.withResolvers<void>();
    await register(p.client, async (e) => {
      seen.push(e.payload);
      entered.resolve();
      await release.promise;
    });
    // Subscribed by the time the promise resolved.
    deepEqual(p.bus.stats(p.session.connection)?.types, [type]);
    const { seq, delivered } = p.bus.publish(type, payload);
    equal(delivered, 1);
    await entered.promise;
    deepEqual(seen, [payload]);
    await roundTrip(p);
    await pause(50);
    deepEqual(acks.list, [], "no acknowledgement while the handler is still working");

    release.resolve();
    deepEqual(await acks.wait(type, seq), { kind: "event_ack", type, seq, ok: true });
    equal(acks.list.length, 1);
  });

  Deno.test(`${method}(): a handler that throws or rejects acknowledges ${type} with ok false and its message`, async () => {
    await using p = await pair();
    const acks = captureAcks(p);
    let fail: "throw" | "reject" = "throw";
    await register(
      p.client,
      (() => {
        if (fail === "throw") throw new Error("disk on fire");
        return Promise.reject(new Error("later failure"));
      }) as never,
    );
    const first = p.bus.publish(type, payload).seq;
    deepEqual(await acks.wait(type, first), {
      kind: "event_ack",
      type,
      seq: first,
      ok: false,
      message: "disk on fire",
    });
    fail = "reject";
    const second = p.bus.publish(type, payload).seq;
    deepEqual(await acks.wait(type, second), {
      kind: "event_ack",
      type,
      seq: second,
      ok: false,
      message: "later failure",
    });
    equal(acks.list.length, 2);
  });
}

Deno.test("With several handlers, the ack waits for all of them and reports the one that failed", async () => {
  await using p = await pair();
  const acks = captureAcks(p);
  const release = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  await p.client.onFlush(() => {
    throw new Error("first handler failed");
  });
  await p.client.onFlush(async () => {
    entered.resolve();
    await release.promise;
  });
  const { seq } = p.bus.publish("StorageFlush", { reason: "periodic", deadline_ms: 5000 });
  await entered.promise;
  await roundTrip(p);
  await pause(50);
  deepEqual(acks.list, [], "the slow handler has not finished");
  release.resolve();
  deepEqual(await acks.wait("StorageFlush", seq), {
    kind: "event_ack",
    type: "StorageFlush",
    seq,
    ok: false,
    message: "first handler failed",
  });
});

Deno.test("on() for a request type acknowledges too; events that ask for no acknowledgement get none", async () => {
  await using p = await pair();
  const acks = captureAcks(p);
  const got: string[] = [];
  p.client.on("StorageFlush", () => void got.push("flush"));
  p.client.on("StorageFlushCompleted", () => void got.push("completed"));
  p.client.on("m.Test", () => void got.push("module event"));
  await p.client.subscribe(["StorageFlush", "StorageFlushCompleted", "m.Test"]);
  p.bus.publish("StorageFlushCompleted", { success: true, duration_ms: 3 });
  p.bus.publish("m.Test", { x: 1 });
  const { seq } = p.bus.publish("StorageFlush", { reason: "manual", deadline_ms: 5000 });
  await acks.wait("StorageFlush", seq);
  await roundTrip(p);
  deepEqual(got, ["completed", "module event", "flush"]);
  deepEqual(acks.list.map((a) => [a.type, a.seq, a.ok]), [["StorageFlush", seq, true]]);
});

Deno.test("Replayed request events reach the handler but are not acknowledged", async () => {
  await using p = await pair();
  const acks = captureAcks(p);
  // A sticky StorageFlush published before the module subscribes is replayed to it on subscribe.
  p.bus.publish("StorageFlush", { reason: "shutdown", deadline_ms: 5000 }, { sticky: "" });
  const seen: { seq: number; replay: boolean; reason: string }[] = [];
  await p.client.onFlush((e) => void seen.push({ seq: e.seq, replay: e.replay === true, reason: e.payload.reason }));
  // And one sent as a replay directly.
  ok(p.bus.sendTo(p.session.connection, "StorageFlush", { reason: "manual", deadline_ms: 5000 }));
  const live = p.bus.publish("StorageFlush", { reason: "periodic", deadline_ms: 5000 }).seq;
  await acks.wait("StorageFlush", live);
  await roundTrip(p);
  await pause(50);
  deepEqual(seen.map((s) => [s.replay, s.reason]), [[true, "shutdown"], [true, "manual"], [false, "periodic"]]);
  deepEqual(acks.list, [{ kind: "event_ack", type: "StorageFlush", seq: live, ok: true }]);
});

const HEALTH = { check_type: "manual", node_healthy: true, health_report: {}, deadline_ms: 5000 };

Deno.test("onHealthCheck(): the answer is the worst of the handlers' answers", async () => {
  await using p = await pair();
  const acks = captureAcks(p);
  const answers: unknown[][] = [
    [{ status: "healthy" }, { status: "degraded", message: "backlog" }, { status: "healthy", message: "fine" }],
    [{ status: "degraded", message: "slow" }, { status: "unhealthy", message: "db down" }, { status: "degraded" }],
    [{ status: "degraded" }, { status: "degraded", message: "with a reason" }],
    [{ status: "healthy" }, undefined, { status: "bogus" }, 42],
  ];
  const expected = [
    { status: "degraded", message: "backlog" },
    { status: "unhealthy", message: "db down" },
    { status: "degraded", message: "with a reason" },
    { status: "healthy" },
  ];
  let round = 0;
  for (let i = 0; i < 4; i++) {
    await p.client.onHealthCheck(async () => {
      await pause(i * 5);
      return answers[round][i] as never;
    });
  }
  for (round = 0; round < answers.length; round++) {
    const { seq } = p.bus.publish("HealthCheck", HEALTH);
    const ack = await acks.wait("HealthCheck", seq);
    equal(ack.ok, true, JSON.stringify(ack));
    deepEqual(ack.data, expected[round], `round ${round}`);
  }
});

Deno.test("onHealthCheck(): a handler that throws answers unhealthy with its message; none answering is healthy", async () => {
  await using p = await pair();
  const acks = captureAcks(p);
  let mode = "throw";
  await p.client.onHealthCheck(() => ({ status: "degraded", message: "meh" }));
  const off = await p.client.onHealthCheck(async () => {
    if (mode === "throw") throw new Error("probe crashed");
    await pause(5);
    return { status: "healthy" };
  });
  let { seq } = p.bus.publish("HealthCheck", HEALTH);
  deepEqual(await acks.wait("HealthCheck", seq), {
    kind: "event_ack",
    type: "HealthCheck",
    seq,
    ok: false,
    message: "probe crashed",
    data: { status: "unhealthy", message: "probe crashed" },
  });
  mode = "ok";
  ({ seq } = p.bus.publish("HealthCheck", HEALTH));
  deepEqual((await acks.wait("HealthCheck", seq)).data, { status: "degraded", message: "meh" });

  // Handlers that return nothing usable: healthy.
  off();
  await using bare = await pair();
  const bareAcks = captureAcks(bare);
  bare.client.on("HealthCheck", () => {});
  await bare.client.subscribe(["HealthCheck"]);
  const s = bare.bus.publish("HealthCheck", HEALTH).seq;
  deepEqual(await bareAcks.wait("HealthCheck", s), {
    kind: "event_ack",
    type: "HealthCheck",
    seq: s,
    ok: true,
    data: { status: "healthy" },
  });
});

Deno.test("A config message replaces context.config and calls onConfig handlers with (new, previous)", async () => {
  await using p = await pair();
  deepEqual(p.client.context.config, { k: "v" });
  const calls: { config: unknown; previous: unknown; context: unknown }[] = [];
  const wake = new Set<() => void>();
  const logsBefore = p.session.stats.logs;
  p.client.onConfig(() => {
    throw new Error("broken config handler");
  });
  p.client.onConfig(async (config, previous) => {
    await pause(5);
    calls.push({ config, previous, context: p.client.context.config });
    for (const w of wake) w();
  });
  const removed = p.client.onConfig(() => void calls.push({ config: "removed handler ran", previous: 0, context: 0 }));
  removed();
  const waitCalls = (n: number) =>
    waitUntil(wake, () => calls.length >= n || undefined, 10_000, () => `only ${calls.length} config calls`);

  ok(p.session.connection.send({ kind: "config", config: { k: "v2", n: 1, nested: { list: [1, 2] } } }));
  await waitCalls(1);
  deepEqual(calls[0], {
    config: { k: "v2", n: 1, nested: { list: [1, 2] } },
    previous: { k: "v" },
    context: { k: "v2", n: 1, nested: { list: [1, 2] } },
  });
  deepEqual(p.client.context.config, { k: "v2", n: 1, nested: { list: [1, 2] } });

  ok(p.session.connection.send({ kind: "config", config: {} }));
  await waitCalls(2);
  deepEqual(calls[1], { config: {}, previous: { k: "v2", n: 1, nested: { list: [1, 2] } }, context: {} });
  equal(calls.length, 2);
  // The failing handler was reported to the host log (once per config message), and the module lives on.
  await roundTrip(p);
  ok(p.session.stats.logs >= logsBefore + 2, `logs ${p.session.stats.logs}`);
  equal(await p.client.api.getBlockHeight(), 0);
});
