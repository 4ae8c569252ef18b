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

/**
 * Wait until `done()` holds, for at most 60 s: timers of 20 to 50 ms fire late, or rarely, on a machine
 * busy with other work, so the test waits for what it needs instead of counting what fits in a window.
 */
async function until(done: () => Promise<boolean>, what: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`Timed out after 60 s waiting for ${what()}`);
    await sleep(20);
  }
}

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
  const added = () => rec.events.filter((e) => e.type === "MempoolTransactionAdded").map((e) => e.payload);
  const mined = () => rec.events.filter((e) => e.type === "MempoolTransactionRemoved" && e.payload.reason === "mined");
  try {
    await until(
      async () => (await node.getTip()).height - start >= 4 && added().length >= 10 && mined().length > 0,
      () => `4 blocks, 10 payments and a mined payment; so far ${rec.events.length} events`,
    );
  } finally {
    await stop();
  }
  const height = (await node.getTip()).height;
  const pool = (await node.getMempoolInfo()).transaction_count;
  for (const p of added()) {
    // The wallet pays the rate on a size that counts 72-byte signatures; a real one is 70 to 72 bytes,
    // at most half a vbyte less per input of at least 68 vB, so a payment may pay up to 1 % more.
    assert.ok(p.fee_rate >= minFeeRate && p.fee_rate <= maxFeeRate * 1.01, `fee rate ${p.fee_rate} in [2, 9.09]`);
    assert.ok(p.fee_sats > 0 && p.vsize > 0);
  }
  assert.ok(new Set(added().map((p) => p.fee_rate)).size > 1, "fee rates vary");
  assertCatalogPayloads(rec.events);

  const events = rec.events.length;
  await sleep(200);
  assert.equal((await node.getTip()).height, height, "no blocks after stop");
  assert.equal((await node.getMempoolInfo()).transaction_count, pool, "no payments after stop");
  assert.equal(rec.events.length, events, "no events after stop");
  await node.close();
});
