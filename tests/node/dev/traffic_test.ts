import assert from "node:assert/strict";
import { assertCatalogPayloads, openNode, record } from "./_craft.ts";
import { startDemoTraffic } from "../../../src/node/dev/traffic.ts";

/** A deterministic random source in [0, 1). */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("startDemoTraffic on a fresh node first mines 101 blocks and makes the demo addresses", async () => {
  const node = openNode({}, 0);
  const rec = record(node);
  const stop = startDemoTraffic(node, { blockInterval: 0, txInterval: 0, minFeeRate: 1, maxFeeRate: 10 });
  assert.equal((await node.getTip()).height, 101);
  assert.equal(rec.types().filter((t) => t === "BlockMined").length, 101);
  assert.ok(node.dev.balance().spendable > 0, "the wallet can spend");
  assert.equal(node.wallet.size, 8);
  stop();
  await sleep(30);
  assert.equal((await node.getTip()).height, 101, "intervals of 0 start no timers");
  await node.close();
});

Deno.test("startDemoTraffic does not mine on a node whose wallet can already spend", async () => {
  const node = openNode({}, 120);
  const stop = startDemoTraffic(node, { blockInterval: 0, txInterval: 0, minFeeRate: 1, maxFeeRate: 10 });
  assert.equal((await node.getTip()).height, 120);
  stop();
  await node.close();
});

Deno.test("demo traffic makes blocks and payments within the fee-rate range until stopped", async () => {
  const node = openNode({}, 0);
  const rec = record(node);
  const minFeeRate = 2, maxFeeRate = 9;
  const stop = startDemoTraffic(node, {
    blockInterval: 0.05,
    txInterval: 0.02,
    minFeeRate,
    maxFeeRate,
    random: seeded(7),
  });
  const start = (await node.getTip()).height;
  assert.equal(start, 101);
  try {
    await sleep(600);
  } finally {
    stop();
  }
  const height = (await node.getTip()).height;
  const pool = (await node.getMempoolInfo()).transaction_count;
  const added = rec.events.filter((e) => e.type === "MempoolTransactionAdded").map((e) => e.payload);
  const mined = rec.events.filter((e) => e.type === "MempoolTransactionRemoved" && e.payload.reason === "mined");
  assert.ok(height - start >= 4, `blocks mined: ${height - start}`);
  assert.ok(added.length >= 10, `payments made: ${added.length}`);
  assert.ok(mined.length > 0, "blocks took payments from the mempool");
  for (const p of added) {
    assert.ok(p.fee_rate >= minFeeRate && p.fee_rate <= maxFeeRate, `fee rate ${p.fee_rate} in [2, 9]`);
    assert.ok(p.fee_sats > 0 && p.vsize > 0);
  }
  assert.ok(new Set(added.map((p) => p.fee_rate)).size > 1, "fee rates vary");
  assertCatalogPayloads(rec.events);

  const events = rec.events.length;
  await sleep(200);
  assert.equal((await node.getTip()).height, height, "no blocks after stop");
  assert.equal((await node.getMempoolInfo()).transaction_count, pool, "no payments after stop");
  assert.equal(rec.events.length, events, "no events after stop");
  await node.close();
});
