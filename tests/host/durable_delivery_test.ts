// Durable delivery end to end, with real module processes (tests/fixtures/durable_module.ts): a module
// SIGKILLed while node and module events flow gets every lossless event exactly once after its restart;
// a module resumes across a host restart; a reorg missed while down arrives in order; and what the
// journal could not keep is reported as EventsLost and fires the SDK's gap handler.
import { deepEqual, equal, ok } from "node:assert/strict";
import { DevNode, Host, type ModuleHandle, type ModuleLogRecord, type ModuleSpec } from "../../mod.ts";
import { DEFAULT_CAPABILITIES } from "../../src/protocol/mod.ts";
import { FIXTURES, SANDBOX_LAYERS, type TestHost, testHost, waitUntil } from "../_host_helpers.ts";

const ENTRY = `${FIXTURES}durable_module.ts`;
const TIMEOUT = 60_000;

interface Line {
  pos?: number;
  type?: string;
  seq?: number;
  n?: number;
  height?: number;
  hash?: string;
  redelivered?: boolean;
  lost?: { lost: { type: string; from_seq: number; to_seq: number; count: number }[]; total: number };
  gap?: { type: string; expected: number; got: number; missed: number };
}

function seen(dataDir: string, name: string): Line[] {
  try {
    return Deno.readTextFileSync(`${dataDir}/${name}/seen.jsonl`).split("\n").filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/** Resolve once `cond()` holds, checking every 20 ms. */
async function until(cond: () => boolean, what: () => string): Promise<void> {
  const wake = new Set<() => void>();
  const timer = setInterval(() => wake.forEach((w) => w()), 20);
  try {
    await waitUntil(wake, () => cond() || undefined, TIMEOUT, () => `Timed out waiting for ${what()}`);
  } finally {
    clearInterval(timer);
  }
}

/** Start the fixture and wait for this start's "ready". */
async function start(
  t: { host: Host; logs: ModuleLogRecord[]; waitForLog: TestHost["waitForLog"] },
  name: string,
  config: Record<string, unknown>,
  spec: Partial<ModuleSpec> = {},
): Promise<ModuleHandle> {
  const ready = (r: ModuleLogRecord) => r.module === name && r.message === "ready";
  const before = t.logs.filter(ready).length;
  const h = await t.host.startModule({ name, entry: ENTRY, config, ...spec });
  await t.waitForLog((r) => ready(r) && t.logs.filter(ready).indexOf(r) === before, TIMEOUT);
  return h;
}

async function sigkill(h: ModuleHandle): Promise<void> {
  Deno.kill(h.pid, "SIGKILL");
  await h.process.status;
  await new Promise((r) => setTimeout(r, 0));
}

const block = (height: number) => ({
  hash: height.toString(16).padStart(64, "0"),
  height,
  prev_hash: (height - 1).toString(16).padStart(64, "0"),
  time: height,
});

/** Each (type, seq) once, positions rising in file order. */
function assertExactlyOnce(lines: Line[], expected: Record<string, number>): void {
  const events = lines.filter((l) => l.pos !== undefined);
  for (let i = 1; i < events.length; i++) ok(events[i].pos! > events[i - 1].pos!, `positions rise at line ${i}`);
  for (const [type, count] of Object.entries(expected)) {
    const seqs = events.filter((l) => l.type === type).map((l) => l.seq!);
    deepEqual(seqs, Array.from({ length: count }, (_, i) => i + 1), `${type}: every seq exactly once, in order`);
  }
  deepEqual(lines.filter((l) => l.lost || l.gap), [], "nothing lost");
}

for (const layer of SANDBOX_LAYERS) {
  Deno.test({
    name: `Durable delivery [${layer.name}]: a module SIGKILLed mid-stream gets every lossless event exactly once`,
    ignore: layer.kind === "os+deno" && !(await import("../_host_helpers.ts")).OS_SANDBOX.available,
    async fn() {
      await using t = await testHost({ osSandbox: layer.mode });
      const COUNT = 300;
      const config = { subscribe: ["NewBlock", "producer.Tick"] };
      let consumer = await start(t, "consumer", config);
      const producer = await start(t, "producer", { publish: { type: "producer.Tick", count: COUNT, every_ms: 3 } }, {
        capabilities: [...DEFAULT_CAPABILITIES, "publish_events"],
        publishes: ["producer.Tick"],
      });
      const hostPublishes = (async () => {
        for (let h = 1; h <= COUNT; h++) {
          t.host.publish("NewBlock", block(h));
          await new Promise((r) => setTimeout(r, 3));
        }
      })();
      await until(() => seen(t.dataDir, "consumer").length >= 60, () => "the consumer to handle 60 events");
      await sigkill(consumer);
      const atKill = seen(t.dataDir, "consumer").length;
      ok(atKill < 2 * COUNT, "killed mid-stream");
      consumer = await start(t, "consumer", config);
      await hostPublishes;
      await t.waitForLog((r) => r.module === "producer" && r.message === "published", TIMEOUT);
      await until(
        () => seen(t.dataDir, "consumer").filter((l) => l.pos).length >= 2 * COUNT,
        () => `all ${2 * COUNT} events (have ${seen(t.dataDir, "consumer").length})`,
      );
      await new Promise((r) => setTimeout(r, 200)); // nothing more may arrive
      const lines = seen(t.dataDir, "consumer");
      assertExactlyOnce(lines, { NewBlock: COUNT, "producer.Tick": COUNT });
      ok(lines.slice(atKill).some((l) => l.redelivered), "the events missed while down were resent");
      equal(producer.name, "producer");
    },
  });
}

Deno.test("Durable delivery: a module resumes after a host restart, and sequence numbers go on", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "blvm-durable-" });
  const logs: ModuleLogRecord[] = [];
  const wake = new Set<() => void>();
  const open = async () => {
    const backend = DevNode.open();
    const host = await Host.create({
      backend,
      dataDir,
      onModuleLog: (r) => {
        logs.push(r);
        wake.forEach((w) => w());
      },
    });
    const waitForLog = (m: (r: ModuleLogRecord) => boolean, ms = TIMEOUT) =>
      waitUntil(wake, () => logs.find(m), ms, () => "no such log");
    return { host, backend, logs, waitForLog };
  };
  try {
    const a = await open();
    const h = await start(a, "consumer", { subscribe: ["NewBlock"] });
    for (let i = 1; i <= 10; i++) a.host.publish("NewBlock", block(i));
    await until(() => seen(dataDir, "consumer").length >= 10, () => "10 blocks");
    await sigkill(h);
    for (let i = 11; i <= 20; i++) a.host.publish("NewBlock", block(i)); // missed: the module is down
    await a.host.shutdown();
    await a.backend.close();

    const b = await open();
    try {
      await start(b, "consumer", { subscribe: ["NewBlock"] });
      for (let i = 21; i <= 25; i++) b.host.publish("NewBlock", block(i));
      await until(() => seen(dataDir, "consumer").length >= 25, () => "25 blocks");
      const lines = seen(dataDir, "consumer");
      assertExactlyOnce(lines, { NewBlock: 25 });
      deepEqual(lines.map((l) => l.height), Array.from({ length: 25 }, (_, i) => i + 1));
      deepEqual(lines.slice(10, 20).map((l) => l.redelivered), Array(10).fill(true));
      deepEqual(lines.slice(20).map((l) => l.redelivered), Array(5).fill(false));
    } finally {
      await b.host.shutdown();
      await b.backend.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("Durable delivery: a reorg missed while down arrives in order, disconnects first", async () => {
  await using t = await testHost();
  const config = { subscribe: ["NewBlock", "BlockDisconnected"] };
  const h = await start(t, "consumer", config);
  t.backend.dev.generate(5);
  await until(() => seen(t.dataDir, "consumer").length >= 5, () => "5 blocks");
  await sigkill(h);
  const tip = (await t.backend.getTip()).height;
  t.backend.dev.reorg(2, { blocks: 3 });
  await start(t, "consumer", config);
  await until(() => seen(t.dataDir, "consumer").length >= 10, () => "the reorg");
  const after = seen(t.dataDir, "consumer").slice(5).map((l) => `${l.type} ${l.height}`);
  deepEqual(after, [
    `BlockDisconnected ${tip}`,
    `BlockDisconnected ${tip - 1}`,
    `NewBlock ${tip - 1}`,
    `NewBlock ${tip}`,
    `NewBlock ${tip + 1}`,
  ]);
  ok(seen(t.dataDir, "consumer").slice(5).every((l) => l.redelivered));
});

Deno.test("Durable delivery: what the journal could not keep is reported as EventsLost, and the SDK's gap handler fires", async () => {
  await using t = await testHost({ journal: { maxEvents: 20 } });
  const config = { subscribe: ["NewBlock"] };
  const h = await start(t, "consumer", config);
  for (let i = 1; i <= 3; i++) t.host.publish("NewBlock", block(i));
  await until(() => seen(t.dataDir, "consumer").length >= 3, () => "3 blocks");
  // Reported processed (the SDK batches its reports): the host knows the module has them.
  await until(() => t.host.journal!.cursor("consumer")!.acked === t.host.journal!.lastPos, () => "the report");
  await sigkill(h);
  for (let i = 4; i <= 60; i++) t.host.publish("NewBlock", block(i)); // 57 missed; the journal keeps 18 to 20
  t.host.journal!.flush();
  await start(t, "consumer", config);
  t.host.publish("NewBlock", block(61));
  await until(() => seen(t.dataDir, "consumer").some((l) => l.height === 61), () => "block 61");
  const lines = seen(t.dataDir, "consumer");
  const lost = lines.find((l) => l.lost)!.lost!;
  equal(lost.lost.length, 1);
  const r = lost.lost[0];
  equal(r.type, "NewBlock");
  equal(r.from_seq, 4);
  equal(lost.total, r.count);
  equal(r.count, r.to_seq - r.from_seq + 1);
  // The gap handler saw exactly that range, and everything after it arrived.
  deepEqual(lines.find((l) => l.gap)!.gap, { type: "NewBlock", expected: 4, got: r.to_seq + 1, missed: r.count });
  const heights = lines.filter((l) => l.pos).map((l) => l.height);
  deepEqual(heights, [1, 2, 3, ...Array.from({ length: 61 - r.to_seq }, (_, i) => r.to_seq + 1 + i)]);
});

Deno.test("Durable delivery: a backlog far past the module's queue bounds is caught up a page at a time, live events after it, nothing cut off", async () => {
  // A tiny queue: 20 events or 16 KiB before drops, cut-off at 4x that. The backlog is over 60x it.
  await using t = await testHost();
  const eventQueue = { maxQueued: 20, maxQueuedBytes: 16 * 1024 };
  const config = { subscribe: ["NewBlock"] };
  const h = await start(t, "consumer", config, { eventQueue });
  t.host.publish("NewBlock", block(1));
  await until(() => seen(t.dataDir, "consumer").length >= 1, () => "block 1");
  await until(() => t.host.journal!.cursor("consumer")!.acked === t.host.journal!.lastPos, () => "the report");
  await sigkill(h);
  const BACKLOG = 4000;
  for (let i = 2; i <= BACKLOG; i++) t.host.publish("NewBlock", block(i));
  const again = await start(t, "consumer", config, { eventQueue });
  // Live events while it catches up: they must come after the backlog, in order.
  for (let i = BACKLOG + 1; i <= BACKLOG + 200; i++) {
    t.host.publish("NewBlock", block(i));
    if (i % 20 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  await until(() => seen(t.dataDir, "consumer").length >= BACKLOG + 200, () => "the whole backlog and the live events");
  const lines = seen(t.dataDir, "consumer");
  assertExactlyOnce(lines, { NewBlock: BACKLOG + 200 });
  deepEqual(lines.map((l) => l.height), Array.from({ length: BACKLOG + 200 }, (_, i) => i + 1));
  ok(lines.slice(1, BACKLOG).every((l) => l.redelivered), "the backlog is marked redelivered");
  ok(lines.slice(BACKLOG).every((l) => !l.redelivered), "events published after it connected are not");
  const stats = t.host.bus.stats(again.session.connection)!;
  equal(stats.overflowed, false, "never cut off");
  equal(stats.dropped_total, 0);
});

Deno.test("Durable delivery: a module that subscribes in several calls after a restart still gets every event it missed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "blvm-journal-dir-" });
  // The journal where [journal] dir puts it, with limits beside it.
  await using t = await testHost({ journal: { path: `${dir}/j`, maxEvents: 100_000 } });
  try {
    const all = { subscribe: ["NewBlock", "BlockDisconnected"] };
    const h = await start(t, "consumer", all);
    t.backend.dev.generate(3);
    await until(() => seen(t.dataDir, "consumer").length >= 3, () => "3 blocks");
    await until(() => t.host.journal!.cursor("consumer")!.acked === t.host.journal!.lastPos, () => "the report");
    await sigkill(h);
    t.backend.dev.reorg(1, { blocks: 300 }); // 1 disconnect, 300 new blocks while it is down
    await start(t, "consumer", { subscribe_steps: [["NewBlock"], ["BlockDisconnected"]] });
    await until(() => seen(t.dataDir, "consumer").length >= 3 + 301, () => "the missed events");
    const after = seen(t.dataDir, "consumer").slice(3);
    equal(after.filter((l) => l.type === "BlockDisconnected").length, 1, "the disconnect, though subscribed later");
    equal(after.filter((l) => l.type === "NewBlock").length, 300);
    await new Promise((r) => setTimeout(r, 200));
    equal(seen(t.dataDir, "consumer").length, 3 + 301, "nothing twice");
    ok(Deno.statSync(`${dir}/j/state.sqlite`).isFile, "the journal is in the folder given");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
