// The signature cache (src/node/dev/sig_cache.ts): transactions a reorg returns to the mempool are not
// verified again and the mempool ends up as it was; a hit needs the same wtxid and the same spent
// outputs, so a tampered witness (same txid) or another amount is verified, and refused, again; the
// cache keeps at most its bound, the oldest going first.
import { deepEqual, equal, match, notEqual, ok, throws } from "node:assert/strict";
import { mineBlock } from "../../../src/node/dev/miner.ts";
import { DevNode } from "../../../src/node/dev/node.ts";
import { TxRejectedError } from "../../../src/node/dev/rules.ts";
import { SigCache } from "../../../src/node/dev/sig_cache.ts";
import {
  type Coin,
  decodeTx,
  type Key,
  mutate,
  newKey,
  newTaprootKey,
  spend,
  toHex,
  type Tx,
  txidOf,
} from "./_craft.ts";

/** A signed one-in one-out spend of a made-up output of `key`'s, and that output as the validator sees it. */
function signed(key: Key, n: number, value = 10_000) {
  const coin: Coin = { txid: "11".repeat(32), vout: n, value, script: key.script };
  const tx = decodeTx(spend(key, [coin], [{ to: key, value: value - 500 }]));
  return { tx, coins: [{ value, script: key.script, height: 1, coinbase: false }] };
}

/** `tx` with the last byte of its first input's first witness item changed: same txid, another wtxid. */
function tampered(tx: Tx): Tx {
  return decodeTx(mutate(tx.bytes, (raw) => {
    const item = raw.witnesses![0][0];
    item[item.length - 1] ^= 1;
  }));
}

Deno.test("SigCache: a hit needs the same wtxid and the same spent outputs; failures are not kept", () => {
  for (const key of [newKey(), newTaprootKey()]) {
    const sigs = new SigCache();
    const { tx, coins } = signed(key, 0);
    equal(sigs.verify(tx, coins), true, "verified the first time");
    equal(sigs.verify(tx, coins), false, "a hit the second time");
    ok(sigs.has(tx, coins));

    const bad = tampered(tx);
    equal(bad.txid, tx.txid);
    notEqual(bad.wtxid, tx.wtxid);
    ok(!sigs.has(bad, coins));
    throws(() => sigs.verify(bad, coins), (e) => e instanceof TxRejectedError && e.code === "bad-signature");
    ok(!sigs.has(bad, coins), "a failure is not cached");

    // The same transaction against another amount or script: a miss, verified again, and refused.
    const other = [{ ...coins[0], value: coins[0].value + 1 }];
    ok(!sigs.has(tx, other));
    throws(() => sigs.verify(tx, other), (e) => e instanceof TxRejectedError && e.code === "bad-signature");
    equal(sigs.size, 1);
  }
});

Deno.test("SigCache keeps at most its bound, evicting the oldest first", () => {
  const key = newKey();
  const txs = Array.from({ length: 5 }, (_, n) => signed(key, n));
  const sigs = new SigCache(3);
  for (const { tx, coins } of txs) equal(sigs.verify(tx, coins), true);
  equal(sigs.size, 3);
  deepEqual(txs.map(({ tx, coins }) => sigs.has(tx, coins)), [false, false, true, true, true]);
  // An evicted transaction is verified again (and goes in as the newest).
  equal(sigs.verify(txs[0].tx, txs[0].coins), true);
  deepEqual(txs.map(({ tx, coins }) => sigs.has(tx, coins)), [true, false, false, true, true]);
  equal(sigs.size, 3);

  const none = new SigCache(0);
  equal(none.verify(txs[0].tx, txs[0].coins), true);
  equal(none.verify(txs[0].tx, txs[0].coins), true, "a cache of size 0 keeps nothing");
  equal(none.size, 0);
});

/** A node whose block-1 coinbase pays `key`, with `count` confirmed outputs of 20,000 sats to `key`. */
async function funded(key: Key, count: number) {
  let t = 1_700_000_000;
  const node = DevNode.open({ coinbaseAddress: key.address, clock: () => t++ });
  node.dev.generate(101);
  const block1 = (await node.getBlock((await node.getBlockHash(1))!))!;
  const cb = { txid: block1.txids[0], vout: 0, value: 5_000_000_000, script: key.script };
  const outs = Array.from({ length: count }, () => ({ to: key, value: 20_000 }));
  const fanout = spend(key, [cb], [...outs, { to: key, value: cb.value - count * 20_000 - 100_000 }]);
  equal((await node.submitTransaction(toHex(fanout))).status, "accepted");
  node.dev.generate(1);
  const txid = txidOf(fanout);
  return { node, coins: outs.map((o, vout): Coin => ({ txid, vout, value: o.value, script: key.script })) };
}

Deno.test("a reorg of a block of many transactions returns them to the mempool as it was", async () => {
  const key = newKey();
  const { node, coins } = await funded(key, 150);
  try {
    const spends = coins.map((c) => spend(key, [c], [{ to: key, value: c.value - 400 - c.vout }]));
    for (const tx of spends) equal((await node.submitTransaction(toHex(tx))).status, "accepted");
    // A child in the mempool too: after the reorg it depends on its parent again.
    const parent = decodeTx(spends[0]);
    const child = spend(key, [{ txid: parent.txid, vout: 0, value: parent.outputs[0].value, script: key.script }], [
      { to: key, value: parent.outputs[0].value - 1_000 },
    ]);
    equal((await node.submitTransaction(toHex(child))).status, "accepted");
    const view = () =>
      node.dev.mempool().map(({ txid, vsize, weight, fee_sats, fee_rate, depends }) => ({
        txid,
        vsize,
        weight,
        fee_sats,
        fee_rate,
        depends,
      })).sort((a, b) => a.txid < b.txid ? -1 : 1);
    const before = view();
    equal(before.length, 151);
    const [mined] = node.dev.generate(1);
    equal((await node.getBlock(mined.hash))!.txids.length, 152);
    equal(node.dev.mempool().length, 0);
    node.dev.reorg(1);
    deepEqual(view(), before);
    // And they confirm again, their signatures known.
    node.dev.generate(1);
    equal(node.dev.mempool().length, 0);
  } finally {
    await node.close();
  }
});

Deno.test("a block with a tampered witness of a mempool transaction (same txid) is refused", async () => {
  const key = newKey();
  const { node, coins } = await funded(key, 1);
  try {
    const bytes = spend(key, [coins[0]], [{ to: key, value: coins[0].value - 1_000 }]);
    equal((await node.submitTransaction(toHex(bytes))).status, "accepted");
    const good = decodeTx(bytes);
    const bad = tampered(good);
    equal(bad.txid, good.txid);
    const tip = (await node.getBlock((await node.getTip()).hash))!;
    const block = mineBlock({
      prevHash: tip.hash,
      height: tip.height + 1,
      time: tip.time + 1,
      txs: [bad],
      fees: 1_000,
      payout: key.script,
      extraNonce: 7,
    });
    const r = await node.submitBlock(toHex(block.bytes));
    equal(r.status, "rejected");
    match(r.reason!, /bad-txns-bad-signature/);
    equal((await node.getTip()).hash, tip.hash);
    deepEqual(node.dev.mempool().map((e) => e.txid), [good.txid], "the real one is still in the mempool");
  } finally {
    await node.close();
  }
});
