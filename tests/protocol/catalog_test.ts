import assert from "node:assert/strict";
import {
  BLOCKCHAIN_EVENTS,
  CONFIG_EVENTS,
  CONSENSUS_EVENTS,
  DELIVERY_EVENTS,
  EVENT_CATALOG,
  EVENT_CATEGORIES,
  GOVERNANCE_EVENTS,
  JANITORIAL_EVENTS,
  MEMPOOL_EVENTS,
  MINING_EVENTS,
  MODULE_EVENTS,
  NETWORK_EVENTS,
  P2P_EVENTS,
  PAYMENT_EVENTS,
  STORAGE_EVENTS,
  SYNC_EVENTS,
} from "../../src/protocol/events/mod.ts";
import { checkPayload, checkSpec, type EventSpec } from "../../src/protocol/catalog.ts";

/** Each per-category table with the category its entries must carry. */
const TABLES: [string, Record<string, EventSpec>][] = [
  ["blockchain", BLOCKCHAIN_EVENTS],
  ["config", CONFIG_EVENTS],
  ["consensus", CONSENSUS_EVENTS],
  ["delivery", DELIVERY_EVENTS],
  ["governance", GOVERNANCE_EVENTS],
  ["janitorial", JANITORIAL_EVENTS],
  ["mempool", MEMPOOL_EVENTS],
  ["mining", MINING_EVENTS],
  ["modules", MODULE_EVENTS],
  ["network", NETWORK_EVENTS],
  ["p2p", P2P_EVENTS],
  ["payment", PAYMENT_EVENTS],
  ["storage", STORAGE_EVENTS],
  ["sync", SYNC_EVENTS],
];

const entries = Object.entries(EVENT_CATALOG) as [string, EventSpec][];
const HASH = "ab".repeat(32);

Deno.test("catalog: every spec passes checkSpec", () => {
  const problems = entries.flatMap(([type, spec]) => checkSpec(type, spec));
  assert.deepEqual(problems, []);
  assert.ok(entries.length > 100, `only ${entries.length} event types`);
});

Deno.test("catalog: checkSpec reports a bad kind, so the previous test can fail", () => {
  const bad = { category: "c", owner: "node", delivery: "lossless", doc: "x", fields: { a: "strng" } };
  assert.deepEqual(checkSpec("Bad", bad as unknown as EventSpec), ["Bad.a: unknown kind 'strng'"]);
});

Deno.test("catalog: type names are unique across the category files", () => {
  const names = TABLES.flatMap(([, table]) => Object.keys(table));
  assert.equal(names.length, Object.keys(EVENT_CATALOG).length);
  assert.equal(new Set(names).size, names.length);
});

Deno.test("catalog: each file's entries carry that file's category", () => {
  for (const [category, table] of TABLES) {
    assert.ok(Object.keys(table).length > 0, `${category} is empty`);
    for (const [type, spec] of Object.entries(table)) assert.equal(spec.category, category, type);
  }
});

Deno.test("catalog: every category in EVENT_CATEGORIES is non-empty and matches the tables", () => {
  assert.deepEqual(Object.keys(EVENT_CATEGORIES).sort(), TABLES.map(([c]) => c).sort());
  for (const [category, types] of Object.entries(EVENT_CATEGORIES)) {
    assert.ok(types.length > 0, `${category} is empty`);
    for (const t of types) assert.equal(EVENT_CATALOG[t].category, category);
  }
});

Deno.test("catalog: the 11 janitorial events have exactly their fields", () => {
  const maintenance = ["backup", "cleanup", "prune"];
  const want: Record<string, Record<string, unknown>> = {
    NodeStartupCompleted: { duration_ms: "uint", components: "string[]" },
    NodeShutdown: { reason: "string", timeout_seconds: "uint", deadline_ms: "uint" },
    NodeShutdownCompleted: { duration_ms: "uint" },
    StorageFlush: { reason: ["shutdown", "periodic", "manual"], deadline_ms: "uint" },
    StorageFlushCompleted: { success: "bool", duration_ms: "uint" },
    MaintenanceStarted: { maintenance_type: maintenance, estimated_duration_seconds: "uint?", deadline_ms: "uint" },
    MaintenanceCompleted: { maintenance_type: maintenance, success: "bool", duration_ms: "uint", results: "map" },
    DataCleanup: { cleanup_type: ["periodic", "manual", "low_disk"], target_age_days: "uint", deadline_ms: "uint" },
    HealthCheck: {
      check_type: ["periodic", "manual", "startup"],
      node_healthy: "bool",
      health_report: "map",
      deadline_ms: "uint",
    },
    DiskSpaceLow: { available_bytes: "uint", total_bytes: "uint", percent_free: "number", disk_path: "string" },
    ResourceLimitWarning: {
      module: "string",
      resource_type: ["memory", "cpu", "disk", "network"],
      usage_percent: "number",
      current_usage: "number",
      limit: "number",
      threshold_percent: "number",
    },
  };
  assert.deepEqual(Object.keys(JANITORIAL_EVENTS).sort(), Object.keys(want).sort());
  for (const [type, fields] of Object.entries(want)) {
    const spec = (JANITORIAL_EVENTS as Record<string, EventSpec>)[type];
    assert.deepEqual(spec.fields, fields, type);
    assert.equal(spec.owner, "node", type);
    assert.equal(spec.delivery, "lossless", type);
  }
});

Deno.test("catalog: only ConfigLoaded, NodeStartupCompleted and ModuleLoaded are sticky", () => {
  const sticky = entries.filter(([, s]) => s.sticky).map(([t]) => t).sort();
  assert.deepEqual(sticky, ["ConfigLoaded", "ModuleLoaded", "NodeStartupCompleted"]);
});

Deno.test("checkPayload: accepts a valid NewBlock payload", () => {
  const ok = { hash: HASH, height: 840000, prev_hash: "00".repeat(32), time: 1713571767 };
  assert.equal(checkPayload(EVENT_CATALOG.NewBlock.fields, ok), undefined);
});

Deno.test("checkPayload: rejects a missing field", () => {
  const p = { hash: HASH, height: 1, time: 0 };
  assert.equal(checkPayload(EVENT_CATALOG.NewBlock.fields, p), "field 'prev_hash' is missing");
});

Deno.test("checkPayload: rejects an extra field", () => {
  const p = { hash: HASH, height: 1, prev_hash: HASH, time: 0, miner: "x" };
  assert.equal(checkPayload(EVENT_CATALOG.NewBlock.fields, p), "field 'miner' is not part of this event");
});

Deno.test("checkPayload: rejects a string where a uint is expected", () => {
  const p = { hash: HASH, height: "1", prev_hash: HASH, time: 0 };
  assert.match(checkPayload(EVENT_CATALOG.NewBlock.fields, p) ?? "", /^field 'height' must be a non-negative integer/);
});

Deno.test("checkPayload: rejects a bad hash", () => {
  for (const hash of [HASH.toUpperCase(), HASH.slice(2), "zz".repeat(32)]) {
    const p = { hash, height: 1, prev_hash: HASH, time: 0 };
    assert.match(checkPayload(EVENT_CATALOG.NewBlock.fields, p) ?? "", /^field 'hash' must be a 64-digit/, hash);
  }
});

Deno.test("checkPayload: rejects a value outside an enum", () => {
  const fields = EVENT_CATALOG.MempoolTransactionRemoved.fields;
  assert.equal(checkPayload(fields, { tx_hash: HASH, reason: "mined", mempool_size: 3 }), undefined);
  assert.match(checkPayload(fields, { tx_hash: HASH, reason: "confirmed", mempool_size: 3 }) ?? "", /^field 'reason'/);
});

Deno.test("checkPayload: accepts nil or nothing for an optional field, but not a wrong kind", () => {
  const fields = EVENT_CATALOG.BlockValidationCompleted.fields;
  const p = { block_hash: HASH, height: 5, success: true, validation_time_ms: 12 };
  assert.equal(checkPayload(fields, { ...p, error: null }), undefined);
  assert.equal(checkPayload(fields, p), undefined);
  assert.equal(checkPayload(fields, { ...p, success: false, error: "bad-txns" }), undefined);
  assert.match(checkPayload(fields, { ...p, error: 7 }) ?? "", /^field 'error' must be a string/);
});

Deno.test("catalog: node-owned lossy events are only in the high-rate categories", () => {
  const allowed = new Set(["mempool", "network", "p2p", "sync", "storage", "consensus"]);
  const lossy = entries.filter(([, s]) => s.owner === "node" && s.delivery === "lossy");
  assert.ok(lossy.length > 0);
  for (const [type, spec] of lossy) assert.ok(allowed.has(spec.category), `${type} (${spec.category}) is lossy`);
  for (const t of ["PeerConnected", "PeerDisconnected", "MempoolCleared", "NewBlock", "HeadersSyncCompleted"]) {
    assert.equal(EVENT_CATALOG[t as keyof typeof EVENT_CATALOG].delivery, "lossless", t);
  }
});

Deno.test("catalog: module-owned events are only in governance, payment and mining", () => {
  const allowed = new Set(["governance", "payment", "mining"]);
  const owned = entries.filter(([, s]) => s.owner === "module");
  for (const [type, spec] of owned) assert.ok(allowed.has(spec.category), `${type} (${spec.category}) is module-owned`);
  for (const [, table] of [["governance", GOVERNANCE_EVENTS], ["payment", PAYMENT_EVENTS]] as const) {
    for (const spec of Object.values(table)) assert.equal(spec.owner, "module");
  }
  const miningByModule = Object.entries(MINING_EVENTS).filter(([, s]) => s.owner === "module").map(([t]) => t).sort();
  assert.deepEqual(miningByModule, [
    "ActionExecuted",
    "MergeMiningReward",
    "MiningJobCreated",
    "MiningPoolConnected",
    "MiningPoolDisconnected",
    "ShareSubmitted",
    "StratumClientConnected",
    "StratumClientDisconnected",
  ]);
});
