import assert from "node:assert/strict";
import { decodeTx, fund, newKey, openNode, record, spendAtRate, spendWithFee, toHex } from "./_craft.ts";
import { estimateFeeRate, type FeeInputs } from "../../../src/node/dev/fees.ts";

const est = (target: number, inputs: Partial<FeeInputs>) =>
  estimateFeeRate(target, { pool: [], recent: [], minFeeRate: 1, blockVsize: 1000, ...inputs });

Deno.test("estimateFeeRate: nothing to learn from gives the minimum, rounded up to 0.001", () => {
  assert.deepEqual(est(1, {}), { target_blocks: 1, fee_rate: 1, method: "minimum" });
  assert.deepEqual(est(25, { minFeeRate: 1.2341 }), { target_blocks: 25, fee_rate: 1.235, method: "minimum" });
  assert.deepEqual(est(3, { minFeeRate: 5 }), { target_blocks: 3, fee_rate: 5, method: "minimum" });
});

Deno.test("estimateFeeRate: recent blocks give the median, 25th or 10th percentile by target", () => {
  const recent = [7, 3, 10, 1, 5, 9, 2, 8, 4, 6];
  const rate = (t: number) => est(t, { recent, minFeeRate: 0.5 });
  for (const [t, want] of [[1, 5], [2, 5], [3, 3], [6, 3], [7, 1], [1008, 1]]) {
    assert.deepEqual(rate(t), { target_blocks: t, fee_rate: want, method: "blocks" }, `target ${t}`);
  }
  assert.equal(est(1, { recent: [4, 1, 3] }).fee_rate, 3, "odd count: the middle one");
  assert.equal(est(4, { recent: [4, 1, 3, 2] }).fee_rate, 1, "25th percentile of four, nearest rank");
  for (const t of [1, 5, 100]) assert.equal(est(t, { recent: [7.5] }).fee_rate, 7.5);
  assert.deepEqual(est(1, { recent: [0.5, 0.7] }), { target_blocks: 1, fee_rate: 1, method: "blocks" }, "floor");
  assert.equal(est(1, { recent: [363 / 110] }).fee_rate, 3.3, "float noise does not round up");
  assert.equal(est(1, { recent: [2.0001] }).fee_rate, 2.001);
  assert.equal(est(1, { recent: [1 / 3], minFeeRate: 0.1 }).fee_rate, 0.334);
});

Deno.test("estimateFeeRate: a backlog beyond the target outbids the first transaction past it by 0.01", () => {
  const pool = [{ feeRate: 50, vsize: 400 }, { feeRate: 40, vsize: 400 }, { feeRate: 30, vsize: 400 }];
  assert.deepEqual(est(1, { pool, recent: [99] }), { target_blocks: 1, fee_rate: 30.01, method: "mempool" });
  assert.deepEqual(est(2, { pool, recent: [99] }), { target_blocks: 2, fee_rate: 99, method: "blocks" });
  assert.deepEqual(est(1, { pool: [{ feeRate: 30, vsize: 600 }, { feeRate: 10, vsize: 600 }] }), {
    target_blocks: 1,
    fee_rate: 10.01,
    method: "mempool",
  });
  assert.equal(est(1, { pool: [{ feeRate: 5, vsize: 1000 }] }).method, "minimum", "exactly one block is no backlog");
  assert.equal(est(1, { pool: [{ feeRate: 5, vsize: 1001 }] }).fee_rate, 5.01);
  assert.deepEqual(est(1, { pool: [{ feeRate: 0.5, vsize: 2000 }], minFeeRate: 2 }), {
    target_blocks: 1,
    fee_rate: 2,
    method: "mempool",
  });
  assert.equal(est(1, { pool: [{ feeRate: 3.3, vsize: 2000 }] }).fee_rate, 3.31);
});

Deno.test("node.estimateFee learns from the last feeHistoryBlocks blocks' fee rates", async () => {
  const node = openNode({ feeHistoryBlocks: 6 });
  const k = newKey();
  const coins = await fund(node, k, Array.from({ length: 10 }, () => 100_000));
  node.dev.generate(6);
  for (const t of [1, 6, 1008]) {
    assert.deepEqual(await node.estimateFee(t), { target_blocks: t, fee_rate: 1, method: "minimum" });
  }
  const txs = coins.map((c, i) => spendWithFee(k, c, k, 110 * (i + 1) + 7 * i));
  for (const tx of txs) assert.equal((await node.submitTransaction(toHex(tx))).status, "accepted");
  assert.equal((await node.estimateFee(1)).method, "minimum", "a small mempool is no backlog");
  node.dev.generate(1);
  const rates = txs.map((b) => decodeTx(b)).map((t, i) => (110 * (i + 1) + 7 * i) / t.vsize).sort((a, b) => a - b);
  const up = (r: number) => Math.ceil(r * 1000 - 1e-9) / 1000;
  for (const [t, idx] of [[1, 4], [2, 4], [3, 2], [6, 2], [7, 0], [1008, 0]]) {
    assert.deepEqual(await node.estimateFee(t), { target_blocks: t, fee_rate: up(rates[idx]), method: "blocks" });
  }
  assert.equal(node.dev.status().fee_estimate, up(rates[4]));
  node.dev.generate(5);
  assert.equal((await node.estimateFee(1)).method, "blocks", "still within the last 6 blocks");
  node.dev.generate(1);
  assert.deepEqual(await node.estimateFee(1), { target_blocks: 1, fee_rate: 1, method: "minimum" });
  await node.close();
});

Deno.test("node.estimateFee outbids a backlog larger than the target's blocks", async () => {
  // 250 vB per block after the coinbase reserve: three 110 vB spends are more than one block.
  const node = openNode({ blockMaxWeight: 4_000 + 1_000 });
  const k = newKey();
  const coins = await fund(node, k, [100_000, 100_000, 100_000]);
  const txs = [8, 3, 5].map((rate, i) => spendAtRate(k, coins[i], k, rate));
  for (const tx of txs) assert.equal((await node.submitTransaction(toHex(tx))).status, "accepted");
  const third = (await node.getMempoolEntry(decodeTx(txs[1]).txid))!.fee_rate;
  const e1 = await node.estimateFee(1);
  assert.equal(e1.method, "mempool");
  assert.equal(e1.fee_rate, Math.ceil((third + 0.01) * 1000 - 1e-9) / 1000);
  assert.notEqual((await node.estimateFee(2)).method, "mempool", "two blocks hold the backlog");
  await node.close();
});

Deno.test("node.estimateFee refuses targets outside 1..1008 with a RangeError", async () => {
  const node = openNode({}, 0);
  for (const t of [0, -1, 1009, 1.5, NaN]) {
    await assert.rejects(() => node.estimateFee(t), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.ok(e.message.includes("from 1 to 1008") && e.message.includes(String(t)), e.message);
      return true;
    });
  }
  assert.equal((await node.estimateFee(1008)).target_blocks, 1008);
  await node.close();
});

Deno.test("FeeRateChanged: target_blocks 1 when the estimate moves, none when the minimum moves", async () => {
  const node = openNode({ maxMempoolTxs: 3 });
  const k = newKey();
  const coins = await fund(node, k, [100_000, 100_000, 100_000, 100_000]);
  node.dev.generate(6);
  const rec = record(node);
  const fees = (type = "FeeRateChanged") => rec.events.filter((e) => e.type === type).map((e) => e.payload);
  const txs = [2, 4, 6].map((rate, i) => spendWithFee(k, coins[i], k, 110 * rate));
  await node.submitTransaction(toHex(txs[0]));
  await node.submitTransaction(toHex(txs[1]));
  assert.deepEqual(fees(), [], "nothing moved while the mempool has room");
  await node.submitTransaction(toHex(txs[2]));
  assert.deepEqual(fees(), [
    { old_fee_rate: 1, new_fee_rate: 3, mempool_size: 3 },
    { old_fee_rate: 1, new_fee_rate: 3, mempool_size: 3, target_blocks: 1 },
  ], "full: the minimum becomes the lowest rate held plus 1 sat/vB, and the estimate follows it");
  rec.events.length = 0;
  await node.submitTransaction(toHex(spendWithFee(k, coins[3], k, 110 * 10)));
  assert.deepEqual(fees(), [
    { old_fee_rate: 3, new_fee_rate: 5, mempool_size: 3 },
    { old_fee_rate: 3, new_fee_rate: 5, mempool_size: 3, target_blocks: 1 },
  ], "an eviction raises the minimum");
  rec.events.length = 0;
  node.dev.generate(1);
  assert.deepEqual(fees(), [
    { old_fee_rate: 5, new_fee_rate: 1, mempool_size: 0 },
    { old_fee_rate: 5, new_fee_rate: 6, mempool_size: 0, target_blocks: 1 },
  ], "mined: the minimum drops back, the estimate is the block's median (4, 6, 10)");
  rec.events.length = 0;
  node.dev.generate(1);
  assert.deepEqual(fees(), [], "an empty block keeps the recent rates, so nothing moves");
  assert.deepEqual((await node.estimateFee(1)).fee_rate, 6);
  rec.stop();
  await node.close();
});

Deno.test({
  // Regression (fixed): mempool.ts Mempool.minFeeRate() returns the lowest fee rate held when the mempool is full,
  // but accept() refuses a transaction paying exactly that ("mempool-full": it needs strictly more), while
  // getMempoolInfo().min_fee_rate is documented (protocol/chain.ts MempoolInfo) as "the lowest fee rate the
  // mempool accepts now". A client paying exactly min_fee_rate is refused; either the reported minimum should be
  // above the lowest held rate or a tx at it should evict.
  name: "a transaction paying exactly getMempoolInfo().min_fee_rate is accepted",
  async fn() {
    const node = openNode({ maxMempoolTxs: 2 });
    const k = newKey();
    const coins = await fund(node, k, [100_000, 100_000, 100_000]);
    await node.submitTransaction(toHex(spendWithFee(k, coins[0], k, 220)));
    await node.submitTransaction(toHex(spendWithFee(k, coins[1], k, 330)));
    const min = (await node.getMempoolInfo()).min_fee_rate;
    const tx = spendAtRate(k, coins[2], k, min);
    assert.equal((await node.submitTransaction(toHex(tx))).status, "accepted");
    await node.close();
  },
});
