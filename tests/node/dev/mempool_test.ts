import assert from "node:assert/strict";
import {
  btc,
  type Coin,
  decodeTx,
  fund,
  mineBlock,
  mutate,
  newKey,
  newTaprootKey,
  openNode,
  outputsOf,
  payTo,
  rawTx,
  record,
  REGTEST,
  spend,
  spendAtRate,
  spendWithFee,
  toHex,
  txidOf,
} from "./_craft.ts";
import { ripemd160 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { DevNode } from "../../../src/node/dev/node.ts";
import { GENESIS_COINBASE_HEX } from "../../../src/node/dev/params.ts";

/** Submit `bytes`, expect it refused, and check the refusal changed nothing and published nothing. */
async function refuse(
  node: DevNode,
  tx: Uint8Array | string,
  code: string,
  mentions: string[] = [],
  status: "rejected" | "duplicate" = "rejected",
) {
  const before = [await node.getMempoolTxids(), await node.getMempoolInfo()];
  const rec = record(node);
  const r = await node.submitTransaction(typeof tx === "string" ? tx : toHex(tx));
  rec.stop();
  assert.equal(r.status, status, JSON.stringify(r));
  assert.equal(r.reject_code, code, r.reason ?? "");
  const reason = r.reason ?? "";
  if (!reason.startsWith("Cannot parse hex")) assert.ok(reason.startsWith(`${code}: `), reason);
  for (const m of mentions) assert.ok(reason.includes(m), `reason '${reason}' mentions '${m}'`);
  if (typeof tx !== "string" && code !== "malformed") assert.equal(r.txid, txidOf(tx));
  assert.deepEqual(rec.events, [], "a refusal publishes nothing");
  assert.deepEqual([await node.getMempoolTxids(), await node.getMempoolInfo()], before, "the mempool is unchanged");
  return r;
}

Deno.test("submitTransaction refuses each broken rule with its code and reason, leaving the mempool intact", async (t) => {
  const node = openNode();
  const k = newKey(), dest = newKey();
  const coins = await fund(node, k, Array.from({ length: 14 }, (_, i) => 100_000 + i));
  const spare = await fund(node, k, Array.from({ length: 12 }, () => 50_000));
  const stillAccepts = async () => {
    const r = await node.submitTransaction(toHex(spendAtRate(k, spare.pop()!, dest, 2)));
    assert.equal(r.status, "accepted", "a valid transaction is still accepted");
  };
  const tip = async () => (await node.getTip()).height;
  const minedSpend = spendWithFee(k, coins[0], dest, 500);
  assert.equal((await node.submitTransaction(toHex(minedSpend))).status, "accepted");
  node.dev.generate(1);
  const pooled = spendWithFee(k, coins[1], dest, 500);
  assert.equal((await node.submitTransaction(toHex(pooled))).status, "accepted");

  await t.step("malformed: not hex, not a transaction, trailing bytes", async () => {
    assert.equal((await refuse(node, "zz", "malformed")).txid, null);
    assert.equal((await refuse(node, "0100", "malformed", ["does not decode"])).txid, null);
    await refuse(node, toHex(spendWithFee(k, coins[2], dest, 500)) + "00", "malformed");
    await stillAccepts();
  });
  await t.step("spent-inputs: an output spent in a mined block", async () => {
    await refuse(node, spendWithFee(k, coins[0], newKey(), 900), "spent-inputs", [
      `${coins[0].txid}:${coins[0].vout}`,
      "already spent in the chain",
    ]);
    await stillAccepts();
  });
  await t.step("mempool-conflict names the transaction already spending the input", async () => {
    await refuse(node, spendWithFee(k, coins[1], newKey(), 900), "mempool-conflict", [
      `${coins[1].txid}:${coins[1].vout}`,
      txidOf(pooled),
    ]);
    await stillAccepts();
  });
  await t.step("missing-inputs: an unknown transaction, or an index past its outputs", async () => {
    const ghost: Coin = { ...coins[2], txid: "ab".repeat(32) };
    await refuse(node, spendWithFee(k, ghost, dest, 500), "missing-inputs", [`${"ab".repeat(32)}:`, "no transaction"]);
    const outputs = (await outputsOf(node, coins[2].txid)).length;
    await refuse(node, spendWithFee(k, { ...coins[2], vout: 7 }, dest, 500), "missing-inputs", [
      `${coins[2].txid}:7`,
      `has only ${outputs} outputs`,
    ]);
    const pooledTxid = txidOf(pooled);
    await refuse(node, spendWithFee(k, { ...coins[2], txid: pooledTxid, vout: 3 }, dest, 500), "missing-inputs", [
      `has only 1 outputs`,
    ]);
    await stillAccepts();
  });
  await t.step("fee-too-low below the 1 sat/vB minimum", async () => {
    await refuse(node, spendWithFee(k, coins[2], dest, 50), "fee-too-low", ["pays 50 sats", "minimum 1 sat/vB"]);
    await stillAccepts();
  });
  await t.step("insufficient-input: outputs worth more than the inputs", async () => {
    const tx = spend(k, [coins[2]], [{ to: dest, value: coins[2].value + 1 }], { signValues: [coins[2].value + 999] });
    await refuse(node, tx, "insufficient-input", [`spends ${coins[2].value} sats but pays out ${coins[2].value + 1}`]);
    await stillAccepts();
  });
  await t.step("premature-coinbase-spend of a fresh coinbase", async () => {
    const [h] = node.dev.generate(1, { address: k.address, withMempool: false });
    const cbTxid = (await node.getBlock(h.hash))!.txids[0];
    const utxo = (await node.getUtxo({ txid: cbTxid, vout: 0 }))!;
    const cb: Coin = { txid: cbTxid, vout: 0, value: utxo.value_sats, script: k.script };
    await refuse(node, spendWithFee(k, cb, dest, 1000), "premature-coinbase-spend", [
      `${cbTxid}:0`,
      `height ${h.height}`,
      "it would have 1",
    ]);
    await stillAccepts();
  });
  await t.step("bad-signature: tampered signature, wrong amount signed, foreign key, empty witness", async () => {
    const good = spendWithFee(k, coins[3], dest, 500);
    const flipped = mutate(good, (raw) => {
      raw.witnesses![0][0][20] ^= 1;
    });
    await refuse(node, flipped, "bad-signature", ["input 0", "does not verify"]);
    const wrongAmount = spend(k, [coins[3]], [{ to: dest, value: coins[3].value - 500 }], {
      signValues: [coins[3].value + 1],
    });
    await refuse(node, wrongAmount, "bad-signature", ["does not verify"]);
    const other = newKey();
    await refuse(node, mutate(good, (raw) => void (raw.witnesses![0][1] = other.pub)), "bad-signature", [
      "does not hash",
    ]);
    const bare = mutate(good, (raw) => {
      raw.segwitFlag = false;
      raw.witnesses = undefined;
    });
    await refuse(node, bare, "bad-signature", ["2 items, this one 0"]);
    await stillAccepts();
  });
  await t.step("non-final: a height or time lock not yet reached", async () => {
    const next = (await tip()) + 1;
    const byHeight = spend(k, [coins[4]], [{ to: dest, value: coins[4].value - 500 }], {
      lockTime: next,
      sequence: 0xfffffffe,
    });
    await refuse(node, byHeight, "non-final", [`height ${next}`]);
    const byTime = spend(k, [coins[4]], [{ to: dest, value: coins[4].value - 500 }], {
      lockTime: Math.floor(Date.now() / 1000) + 86_400,
      sequence: 0xfffffffe,
    });
    await refuse(node, byTime, "non-final", ["time"]);
    const reached = spend(k, [coins[4]], [{ to: dest, value: coins[4].value - 500 }], {
      lockTime: next - 1,
      sequence: 0xfffffffe,
    });
    assert.equal((await node.submitTransaction(toHex(reached))).status, "accepted", "lock time below next height");
    const finalSeq = spend(k, [coins[5]], [{ to: dest, value: coins[5].value - 500 }], { lockTime: next + 50 });
    assert.equal((await node.submitTransaction(toHex(finalSeq))).status, "accepted", "all sequences final");
  });
  await t.step("already-known and already-mined are duplicates", async () => {
    await refuse(node, pooled, "already-known", [txidOf(pooled)], "duplicate");
    await refuse(node, minedSpend, "already-mined", [txidOf(minedSpend)], "duplicate");
    await stillAccepts();
  });
  await t.step("unsupported-script: P2PKH, P2SH, bare OP_TRUE and P2TR script-path spends", async () => {
    const p2pkh = await payTo(node, btc.p2pkh(k.pub, REGTEST).address!, 60_000);
    const p2shOpTrue = btc.Address(REGTEST).encode({ type: "sh", hash: ripemd160(sha256(Uint8Array.of(0x51))) });
    const p2sh = await payTo(node, p2shOpTrue, 60_000);
    const bare = spend(k, [coins[6]], [{ to: Uint8Array.of(0x51), value: coins[6].value - 500 }]);
    assert.equal((await node.submitTransaction(toHex(bare))).status, "accepted");
    const tr = newTaprootKey();
    const trCoin = await payTo(node, tr, 60_000);
    node.dev.generate(1);
    const opTrue: Coin = { txid: txidOf(bare), vout: 0, value: coins[6].value - 500, script: Uint8Array.of(0x51) };
    for (const [c, what] of [[p2pkh, "P2PKH"], [p2sh, "P2SH"], [opTrue, "OP_TRUE"]] as const) {
      const tx = rawTx([{ txid: c.txid, vout: c.vout, scriptSig: Uint8Array.of(1, 0x51) }], [{
        script: dest.script,
        value: c.value - 1000,
      }]);
      const r = await refuse(node, tx, "unsupported-script", [`${c.txid}:${c.vout}`, "cannot verify"]);
      assert.ok(r.reason!.length > 0, what);
    }
    const scriptPath = rawTx([{
      txid: trCoin.txid,
      vout: trCoin.vout,
      witness: [new Uint8Array(64), Uint8Array.of(1)],
    }], [
      { script: dest.script, value: trCoin.value - 1000 },
    ]);
    await refuse(node, scriptPath, "unsupported-script", ["script-path"]);
    await stillAccepts();
  });
  await t.step("duplicate-inputs, empty, value-out-of-range, too-large, coinbase", async () => {
    const c = coins[7];
    const out = [{ script: dest.script, value: 1000 }];
    await refuse(node, rawTx([c, c], out), "duplicate-inputs", [`${c.txid}:${c.vout} twice`]);
    await refuse(node, rawTx([c], []), "empty", ["no outputs"]);
    await refuse(node, rawTx([c], [{ script: dest.script, value: 2_100_000_000_000_001 }]), "value-out-of-range");
    await refuse(node, rawTx([c], [{ script: new Uint8Array(100_001), value: 0 }]), "too-large", ["400000"]);
    await refuse(node, GENESIS_COINBASE_HEX, "coinbase");
    await stillAccepts();
  });
  await t.step("a P2TR key-path spend verifies and is accepted, then mined", async () => {
    const tr = newTaprootKey();
    const [c] = await fund(node, tr, [70_000]);
    const tx = spendWithFee(tr, c, dest, 400);
    assert.equal(decodeTx(tx).inputs[0].witness.length, 1);
    await refuse(node, mutate(tx, (raw) => void (raw.witnesses![0][0][5] ^= 1)), "bad-signature", ["Schnorr"]);
    assert.equal((await node.submitTransaction(toHex(tx))).status, "accepted");
    node.dev.generate(1);
    assert.equal((await node.getTransaction(txidOf(tx)))?.confirmations, 1);
  });
  await node.close();
});

Deno.test("fee-too-low follows the configured minFeeRate", async () => {
  const node = openNode({ minFeeRate: 5 });
  const k = newKey();
  const [a, b] = await fund(node, k, [100_000, 100_000]);
  await refuse(node, spendAtRate(k, a, k, 4.5), "fee-too-low", ["below the minimum 5 sat/vB"]);
  assert.equal((await node.getMempoolInfo()).min_fee_rate, 5);
  assert.equal((await node.submitTransaction(toHex(spendAtRate(k, b, k, 5)))).status, "accepted");
  await node.close();
});

Deno.test("a coinbase is spendable once the spending block gives it 100 confirmations", async () => {
  const node = openNode({}, 0);
  const k = newKey();
  const [h] = node.dev.generate(1, { address: k.address });
  const cb: Coin = { txid: (await node.getBlock(h.hash))!.txids[0], vout: 0, value: 5_000_000_000, script: k.script };
  node.dev.generate(98);
  await refuse(node, spendWithFee(k, cb, k, 1000), "premature-coinbase-spend", ["it would have 99"]);
  node.dev.generate(1);
  assert.equal((await node.submitTransaction(toHex(spendWithFee(k, cb, k, 1000)))).status, "accepted");
  await node.close();
});

Deno.test("the mempool orders by fee rate, tracks unconfirmed parents and sums its totals", async () => {
  const node = openNode();
  const k = newKey(), dest = newKey();
  const coins = await fund(node, k, [100_000, 100_000, 100_000, 100_000]);
  const txs = [3, 12, 1, 7].map((rate, i) => spendAtRate(k, coins[i], k, rate));
  for (const tx of txs) assert.equal((await node.submitTransaction(toHex(tx))).status, "accepted");
  const [parentOut] = await outputsOf(node, txidOf(txs[0]));
  const child = spendAtRate(k, parentOut, dest, 20);
  assert.equal((await node.submitTransaction(toHex(child))).status, "accepted");
  const ids = [child, txs[1], txs[3], txs[0], txs[2]].map(txidOf);
  assert.deepEqual(await node.getMempoolTxids(), ids);
  assert.deepEqual(node.dev.mempool().map((e) => e.txid), ids);
  assert.deepEqual((await node.getMempoolEntry(ids[0]))!.depends, [txidOf(txs[0])]);
  assert.deepEqual((await node.getMempoolEntry(ids[1]))!.depends, []);
  const entries = await Promise.all(ids.map((id) => node.getMempoolEntry(id.toUpperCase())));
  for (const e of entries) assert.equal(e!.fee_rate, e!.fee_sats / e!.vsize);
  const rates = entries.map((e) => e!.fee_rate);
  assert.deepEqual(rates, [...rates].sort((a, b) => b - a));
  assert.deepEqual(await node.getMempoolInfo(), {
    transaction_count: 5,
    size_bytes: entries.reduce((n, e) => n + e!.vsize, 0),
    total_fee_sats: entries.reduce((n, e) => n + e!.fee_sats, 0),
    min_fee_rate: 1,
  });
  await node.close();
});

Deno.test("getBlockTemplate puts parents before children and takes the best fee rates that fit", async () => {
  const roomy = openNode();
  const k = newKey();
  let coins = await fund(roomy, k, [100_000, 100_000]);
  const parent = spendAtRate(k, coins[0], k, 2);
  await roomy.submitTransaction(toHex(parent));
  const child = spendAtRate(k, (await outputsOf(roomy, txidOf(parent)))[0], k, 30);
  const other = spendAtRate(k, coins[1], k, 10);
  for (const tx of [child, other]) assert.equal((await roomy.submitTransaction(toHex(tx))).status, "accepted");
  const t1 = await roomy.getBlockTemplate();
  assert.deepEqual(t1.transactions.map((t) => t.txid), [other, parent, child].map(txidOf));
  await roomy.close();

  // Room for two 1-in-1-out P2WPKH spends (437 WU each) after the 4,000 WU coinbase reserve.
  const small = openNode({ blockMaxWeight: 4_000 + 2 * 440 });
  coins = await fund(small, k, [100_000, 100_000, 100_000, 100_000]);
  const txs = [2, 10, 1, 5].map((rate, i) => spendAtRate(k, coins[i], k, rate));
  for (const tx of txs) assert.equal((await small.submitTransaction(toHex(tx))).status, "accepted");
  const tip = await small.getTip();
  const t2 = await small.getBlockTemplate();
  assert.deepEqual(t2.transactions.map((t) => t.txid), [txs[1], txs[3]].map(txidOf));
  assert.equal(t2.prev_hash, tip.hash);
  assert.equal(t2.height, tip.height + 1);
  const fees = t2.transactions.reduce((n, t) => n + t.fee_sats, 0);
  assert.equal(t2.coinbase_value_sats, 5_000_000_000 + fees);
  assert.equal(toHex(t2.transactions[0].raw), toHex(txs[1]));

  const rec = record(small);
  const [block] = small.dev.generate(1);
  const removed = rec.events.filter((e) => e.type === "MempoolTransactionRemoved").map((e) => e.payload);
  assert.deepEqual(removed, [
    { tx_hash: txidOf(txs[1]), reason: "mined", mempool_size: 3 },
    { tx_hash: txidOf(txs[3]), reason: "mined", mempool_size: 2 },
  ]);
  assert.deepEqual((await small.getBlock(block.hash))!.txids.slice(1), [txs[1], txs[3]].map(txidOf));
  assert.deepEqual(await small.getMempoolTxids(), [txs[0], txs[2]].map(txidOf));
  await small.close();
});

Deno.test("a block confirming a conflicting spend removes the mempool spend and its children as conflict", async () => {
  const node = openNode();
  const k = newKey();
  const [c] = await fund(node, k, [100_000]);
  const pooled = spendWithFee(k, c, k, 500);
  await node.submitTransaction(toHex(pooled));
  const child = spendWithFee(k, { ...c, txid: txidOf(pooled), vout: 0, value: c.value - 500 }, k, 500);
  assert.equal((await node.submitTransaction(toHex(child))).status, "accepted", "child of the pooled spend");
  const rival = decodeTx(spendWithFee(k, c, newKey(), 800));
  const tip = await node.getTip();
  const block = mineBlock({
    prevHash: tip.hash,
    height: tip.height + 1,
    time: (await node.getHeader(tip.hash))!.time + 1,
    txs: [rival],
    fees: 800,
    payout: k.script,
    extraNonce: 99,
  });
  const rec = record(node);
  assert.deepEqual(await node.submitBlock(toHex(block.bytes)), { status: "accepted", hash: block.hash, reason: null });
  assert.deepEqual(rec.events.filter((e) => e.type === "MempoolTransactionRemoved").map((e) => e.payload), [
    { tx_hash: txidOf(child), reason: "conflict", mempool_size: 1 },
    { tx_hash: txidOf(pooled), reason: "conflict", mempool_size: 0 },
  ]);
  assert.equal(rec.types().includes("BlockMined"), false, "a submitted block is not this node's");
  assert.deepEqual(await node.getMempoolTxids(), []);
  assert.ok(await node.getUtxo({ txid: rival.txid, vout: 0 }));
  await node.close();
});

Deno.test("a full mempool evicts its lowest fee rate for a better one and refuses a worse one", async () => {
  const node = openNode({ maxMempoolTxs: 3 });
  const k = newKey();
  const coins = await fund(node, k, [100_000, 100_000, 100_000, 100_000, 100_000]);
  const txs = [2, 4, 6].map((rate, i) => spendAtRate(k, coins[i], k, rate));
  await node.submitTransaction(toHex(txs[0]));
  await node.submitTransaction(toHex(txs[1]));
  assert.equal((await node.getMempoolInfo()).min_fee_rate, 1, "not full yet");
  await node.submitTransaction(toHex(txs[2]));
  assert.equal((await node.getMempoolInfo()).min_fee_rate, 3, "full: the lowest rate held plus 1 sat/vB");
  const rec = record(node);
  const better = spendAtRate(k, coins[3], k, 10);
  assert.equal((await node.submitTransaction(toHex(better))).status, "accepted");
  const removed = rec.events.filter((e) => e.type === "MempoolTransactionRemoved");
  assert.deepEqual(removed.map((e) => [e.payload.tx_hash, e.payload.reason]), [[txidOf(txs[0]), "evicted"]]);
  assert.equal(rec.types().indexOf("MempoolTransactionRemoved"), 0, "the eviction is announced first");
  assert.deepEqual(await node.getMempoolTxids(), [better, txs[2], txs[1]].map(txidOf));
  assert.equal((await node.getMempoolInfo()).min_fee_rate, 5);
  await refuse(node, spendAtRate(k, coins[4], k, 4.5), "mempool-full", ["limit of 3 transactions", "(4 sat/vB)"]);
  await node.close();
});

Deno.test({
  // Regression (fixed): mempool.ts Mempool.accept picks the eviction victim (#lowestLeaf) before adding the new
  // tx, without excluding the new tx's own mempool parents. A child paying more than everything (CPFP) submitted
  // to a full mempool evicts its own parent, then `this.#entries.get(p)!.children` throws a TypeError:
  // submitTransaction rejects with it instead of answering, and the child stays in the pool (depends naming the
  // evicted parent) with its input missing. It should either evict another leaf or refuse the child with a
  // TxRejectedError, leaving the pool consistent.
  name: "a child submitted to a full mempool does not evict its own parent",
  async fn() {
    const node = openNode({ maxMempoolTxs: 3 });
    const k = newKey();
    const coins = await fund(node, k, [100_000, 100_000, 100_000]);
    const txs = [2, 4, 6].map((rate, i) => spendAtRate(k, coins[i], k, rate));
    for (const tx of txs) await node.submitTransaction(toHex(tx));
    const child = spendAtRate(k, (await outputsOf(node, txidOf(txs[0])))[0], k, 20);
    const r = await node.submitTransaction(toHex(child));
    const pool = await node.getMempoolTxids();
    if (r.status === "accepted") {
      assert.ok(pool.includes(txidOf(txs[0])), "the accepted child's parent is still in the mempool");
    } else assert.deepEqual(pool.sort(), txs.map(txidOf).sort());
    await node.close();
  },
});

Deno.test({
  // Regression (fixed): engine.ts rewind() returns a disconnected block's transactions to the mempool, but mempool
  // transactions already spending their outputs keep empty `parents` (they were accepted against chain coins), so
  // #dropInvalid finds their inputs neither in the chain nor in `parents` and removes them with reason "reorg". A
  // child whose parent just returned to the mempool is valid and should stay, with `depends` naming the parent (as
  // Bitcoin Core's UpdateTransactionsFromBlock does).
  name: "a reorg keeps a mempool child of a transaction returned to the mempool",
  async fn() {
    const node = openNode();
    const k = newKey();
    const parent = await payTo(node, k, 100_000);
    node.dev.generate(1);
    const child = spendAtRate(k, parent, newKey(), 5);
    assert.equal((await node.submitTransaction(toHex(child))).status, "accepted");
    node.dev.reorg(1);
    assert.deepEqual((await node.getMempoolEntry(txidOf(child)))?.depends, [parent.txid]);
    await node.close();
  },
});

Deno.test({
  // Regression (fixed): mempool.ts Mempool.select makes whole passes over the fee-rate order, deferring a child
  // until the pass after its parent was taken; by then lower fee-rate transactions later in the same pass have
  // filled the block. Here the 30 sat/vB child of a 5 sat/vB parent is left out while a 1 sat/vB transaction gets
  // in, breaking "highest fee rate first" (mempool.ts select docs).
  name: "getBlockTemplate prefers a just-unlocked high fee-rate child to a low fee-rate filler",
  async fn() {
    const node = openNode({ blockMaxWeight: 4_000 + 3 * 440 });
    const k = newKey();
    const coins = await fund(node, k, [100_000, 100_000, 100_000]);
    const parent = spendAtRate(k, coins[0], k, 5);
    await node.submitTransaction(toHex(parent));
    const child = spendAtRate(k, (await outputsOf(node, txidOf(parent)))[0], k, 30);
    const filler = spendAtRate(k, coins[1], k, 1);
    const top = spendAtRate(k, coins[2], k, 10);
    for (const tx of [child, filler, top]) await node.submitTransaction(toHex(tx));
    const t = await node.getBlockTemplate();
    assert.deepEqual(t.transactions.map((x) => x.txid), [top, parent, child].map(txidOf));
    await node.close();
  },
});
