import assert from "node:assert/strict";
import { call, devTest, INVALID, NOT_FOUND, rejectsWith } from "./_node_api.ts";

import type { FeeEstimate, MempoolEntry, SubmitTransactionResult } from "../../src/protocol/api.ts";

const BAD_TXIDS: [unknown, RegExp][] = [
  ["zz", /got "zz"/],
  ["ab".repeat(31) + "a", /got "(ab){31}a"/],
  ["ab".repeat(33), /got "(ab){33}"/],
  ["g".repeat(64), /got "g{64}"/],
  [123, /got 123$/],
  [2n ** 60n, /got 1152921504606846976n$/],
  [null, /got null$/],
  [{ a: 1 }, /got a map$/],
  [["ab".repeat(32)], /got a list$/],
  [new Uint8Array(32), /got binary data \(32 bytes\)$/],
  [Object.create(null), /got a map$/],
];

devTest("txid methods reject bad txids with INVALID_PARAMS showing the value", async (_node, api) => {
  for (
    const method of ["get_transaction", "has_transaction", "get_mempool_transaction", "check_transaction_in_mempool"]
  ) {
    for (const [txid, shown] of BAD_TXIDS) {
      await rejectsWith(
        call(api, method, { txid }),
        INVALID,
        new RegExp(`Param 'txid' of '${method}' must be a 64-digit hex txid`),
      );
      await rejectsWith(call(api, method, { txid }), INVALID, shown);
    }
    await rejectsWith(call(api, method, {}), INVALID, /'txid' .* is missing/);
    await rejectsWith(
      call(api, method, { hash: "ab".repeat(32) }),
      INVALID,
      /^Unexpected param "hash" .* it takes 'txid'$/,
    );
  }
});

devTest("get_mempool_transaction and check_transaction_in_mempool see only the mempool", async (node, api) => {
  node.dev.generate(101);
  const mined = node.dev.send(node.wallet.newAddress(), 100_000, 5);
  node.dev.generate(1);
  const pending = node.dev.send(node.wallet.newAddress(), 200_000, 9);
  const entry = await call(api, "get_mempool_transaction", { txid: pending.txid.toUpperCase() }) as MempoolEntry;
  assert.deepEqual(entry, await node.getMempoolEntry(pending.txid));
  assert.deepEqual(
    [entry.txid, entry.fee_sats, entry.fee_rate, entry.vsize],
    [pending.txid, pending.fee_sats, pending.fee_rate, pending.vsize],
  );
  assert.equal(await call(api, "check_transaction_in_mempool", { txid: pending.txid }), true);
  assert.equal(await call(api, "check_transaction_in_mempool", { txid: pending.txid.toUpperCase() }), true);
  assert.equal(await call(api, "check_transaction_in_mempool", { txid: mined.txid }), false);
  await rejectsWith(
    call(api, "get_mempool_transaction", { txid: mined.txid }),
    NOT_FOUND,
    new RegExp(`^No transaction with txid ${mined.txid} in the mempool$`),
  );
});

devTest("get_fee_estimate returns the backend's estimate: minimum, then learnt from blocks", async (node, api) => {
  assert.deepEqual(await call(api, "get_fee_estimate", { target_blocks: 6 }), {
    target_blocks: 6,
    fee_rate: 1,
    method: "minimum",
  });
  node.dev.generate(101);
  const sent = node.dev.send(node.wallet.newAddress(), 100_000, 7);
  node.dev.generate(1);
  for (const target_blocks of [1, 6, 1008]) {
    const estimate = await call(api, "get_fee_estimate", { target_blocks }) as FeeEstimate;
    assert.deepEqual(estimate, await node.estimateFee(target_blocks));
    assert.equal(estimate.target_blocks, target_blocks);
    assert.equal(estimate.method, "blocks");
    assert.ok(Math.abs(estimate.fee_rate - sent.fee_rate) < 0.01, `${estimate.fee_rate} vs ${sent.fee_rate}`);
  }
});

devTest(
  "get_fee_estimate returns the backend's estimate from a mempool backlog",
  async (node, api) => {
    node.dev.generate(101);
    const sent = node.dev.send(node.wallet.newAddress(), 100_000, 7); // more than one 100-vB block's worth
    const next = await call(api, "get_fee_estimate", { target_blocks: 1 }) as FeeEstimate;
    assert.deepEqual(next, await node.estimateFee(1));
    assert.equal(next.method, "mempool");
    assert.ok(next.fee_rate > sent.fee_rate, `${next.fee_rate} must outbid ${sent.fee_rate}`);
    assert.deepEqual(await call(api, "get_fee_estimate", { target_blocks: 1008 }), {
      target_blocks: 1008,
      fee_rate: 1,
      method: "minimum",
    });
  },
  { blockMaxWeight: 4_000 + 4 * 100 },
);

devTest("get_fee_estimate rejects targets outside 1..1008 with INVALID_PARAMS showing the value", async (_, api) => {
  for (
    const [target_blocks, shown] of [[0, /got 0$/], [1009, /got 1009$/], [2.5, /got 2.5$/], ["6", /got "6"$/], [
      6n,
      /got 6n$/,
    ]] as const
  ) {
    await rejectsWith(
      call(api, "get_fee_estimate", { target_blocks }),
      INVALID,
      /^Param 'target_blocks' of 'get_fee_estimate' must be an integer confirmation target in blocks from 1 to 1008, got/,
    );
    await rejectsWith(call(api, "get_fee_estimate", { target_blocks }), INVALID, shown);
  }
  await rejectsWith(call(api, "get_fee_estimate", {}), INVALID, /'target_blocks' .* is missing/);
  await rejectsWith(call(api, "get_fee_estimate", { target: 6 }), INVALID, /Unexpected param "target"/);
});

devTest("submit_transaction passes accepted, duplicate and rejected results through", async (node, api) => {
  node.dev.generate(101);
  const [coin] = node.dev.coins();
  const tx = node.wallet.send(node.wallet.newAddress(), 100_000, 5, [coin]);
  const rival = node.wallet.send(node.wallet.newAddress(), 200_000, 5, [coin]); // spends the same coin

  const accepted = await call(api, "submit_transaction", { raw: tx }) as SubmitTransactionResult;
  assert.equal(accepted.status, "accepted");
  assert.match(accepted.txid!, /^[0-9a-f]{64}$/);
  assert.deepEqual(accepted, { status: "accepted", txid: accepted.txid, reject_code: null, reason: null });
  const txid = accepted.txid!;
  assert.deepEqual(await node.getMempoolTxids(), [txid]);
  assert.equal(await call(api, "check_transaction_in_mempool", { txid }), true);

  const again = await call(api, "submit_transaction", { raw: tx }) as SubmitTransactionResult;
  assert.deepEqual([again.status, again.txid, again.reject_code], ["duplicate", txid, "already-known"]);
  assert.match(again.reason!, /already in the mempool/);

  const conflict = await call(api, "submit_transaction", { raw: rival }) as SubmitTransactionResult;
  assert.equal(conflict.status, "rejected");
  assert.match(conflict.txid!, /^[0-9a-f]{64}$/);
  assert.notEqual(conflict.txid, txid);
  assert.equal(conflict.reject_code, "mempool-conflict");
  assert.match(conflict.reason!, new RegExp(`^mempool-conflict: .*${coin.txid}:${coin.vout}.*${txid}`));

  const garbage = await call(api, "submit_transaction", { raw: new Uint8Array([0]) }) as SubmitTransactionResult;
  assert.deepEqual([garbage.status, garbage.txid, garbage.reject_code], ["rejected", null, "malformed"]);
  assert.match(garbage.reason!, /^malformed: /);

  node.dev.generate(1);
  const mined = await call(api, "submit_transaction", { raw: tx }) as SubmitTransactionResult;
  assert.deepEqual([mined.status, mined.txid, mined.reject_code], ["duplicate", txid, "already-mined"]);
  const late = await call(api, "submit_transaction", { raw: rival }) as SubmitTransactionResult;
  assert.deepEqual([late.status, late.txid, late.reject_code], ["rejected", conflict.txid, "spent-inputs"]);
  assert.deepEqual(await node.getMempoolTxids(), []);
});

devTest("submit_transaction takes 1 to 400,000 bytes and rejects anything else with INVALID_PARAMS", async (
  node,
  api,
) => {
  const big = await call(api, "submit_transaction", { raw: new Uint8Array(400_000) }) as SubmitTransactionResult;
  assert.deepEqual([big.status, big.txid, big.reject_code], ["rejected", null, "malformed"]); // valid params
  assert.equal((await node.getMempoolInfo()).transaction_count, 0);
  const expected =
    /^Param 'raw' of 'submit_transaction' must be a serialized transaction as bytes \(MessagePack bin\) of 1 to 400000 bytes, got/;
  for (
    const [raw, shown] of [
      ["00", /got "00"$/], // hex, as protocol 1 took it
      [5, /got 5$/],
      [null, /got null$/],
      [new Uint8Array(0), /got binary data \(0 bytes\)$/],
      [new Uint8Array(400_001), /got binary data \(400001 bytes\)$/],
    ] as const
  ) {
    await rejectsWith(call(api, "submit_transaction", { raw }), INVALID, expected);
    await rejectsWith(call(api, "submit_transaction", { raw }), INVALID, shown);
  }
  await rejectsWith(
    call(api, "submit_transaction", {}),
    INVALID,
    /^Param 'raw' of 'submit_transaction' is missing: expected a serialized transaction as bytes/,
  );
  await rejectsWith(
    call(api, "submit_transaction", { hex: "00" }),
    INVALID,
    /Unexpected param "hex" for 'submit_transaction': it takes 'raw'$/,
  );
});
