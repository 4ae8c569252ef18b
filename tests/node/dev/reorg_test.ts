import { deepEqual, equal, notEqual, ok, throws } from "node:assert/strict";
import { fromHex, toHex } from "../../../src/node/header.ts";
import type { BackendEvent } from "../../../src/node/backend.ts";
import { decodeTx, type Tx } from "../../../src/node/dev/tx_codec.ts";
import { mineBlock } from "../../../src/node/dev/miner.ts";
import { DevNode } from "../../../src/node/dev/node.ts";

const OTHER_ADDRESS = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
const OP_TRUE = fromHex("51");

/** The events these tests follow (fee, template and mining events are checked separately or not at all). */
const FOLLOWED = new Set(
  "BlockDisconnected MempoolTransactionAdded MempoolTransactionRemoved BlockValidationStarted BlockValidationCompleted"
    .split(" ").concat("NewBlock", "ChainReorg"),
);

function record(node: DevNode): BackendEvent[] {
  const events: BackendEvent[] = [];
  node.onEvent((e) => events.push(e));
  return events;
}

/** Each followed event as `type key`, the key being the block hash, txid or (for ChainReorg) nothing. */
function trace(events: BackendEvent[]): string[] {
  return events.filter((e) => FOLLOWED.has(e.type)).map((e) => {
    const p = e.payload as Record<string, unknown>;
    const key = p.hash ?? p.block_hash ?? p.tx_hash;
    return key === undefined ? e.type : `${e.type} ${key}${p.reason ? ` ${p.reason}` : ""}`;
  });
}

/** The trace of one block connected. */
const connected = (h: string) => [`BlockValidationStarted ${h}`, `BlockValidationCompleted ${h}`, `NewBlock ${h}`];

async function txOf(node: DevNode, txid: string): Promise<Tx> {
  return decodeTx((await node.getTransaction(txid))!.raw);
}

/** A side branch of `count` blocks on `parent` (hash, height, time), holding `txs` in its first block. */
function branch(parent: { hash: string; height: number; time: number }, count: number, seed: number, txs: Tx[] = []) {
  const blocks = [];
  let prev = parent;
  for (let i = 0; i < count; i++) {
    const b = mineBlock({
      prevHash: prev.hash,
      height: prev.height + 1,
      time: prev.time + 1,
      txs: i === 0 ? txs : [],
      fees: 0,
      payout: OP_TRUE,
      extraNonce: seed + i,
    });
    blocks.push({ ...b, height: prev.height + 1, hex: toHex(b.bytes) });
    prev = { hash: b.hash, height: prev.height + 1, time: b.header.time };
  }
  return blocks;
}

Deno.test("dev.reorg() publishes the documented sequence and returns transactions to the mempool", async () => {
  const node = DevNode.open();
  try {
    node.dev.generate(120);
    const sent = [node.dev.send(OTHER_ADDRESS, 300_000, 2), node.dev.send(OTHER_ADDRESS, 400_000, 5)];
    sent.push(node.dev.send(node.wallet.newAddress(), 500_000, 9));
    const spent = (await Promise.all(sent.map((s) => txOf(node, s.txid)))).flatMap((t) => t.inputs)
      .filter((i) => !sent.some((s) => s.txid === i.txid)); // chain coins only
    const coins = await Promise.all(spent.map((i) => node.getUtxo({ txid: i.txid, vout: i.vout })));
    const [b121, b122] = node.dev.generate(2);
    const mined = (await node.getBlock(b121.hash))!.txids.slice(1);
    for (const i of spent) equal(await node.getUtxo({ txid: i.txid, vout: i.vout }), undefined);
    deepEqual(new Set(mined), new Set(sent.map((s) => s.txid)));
    equal(node.dev.mempool().length, 0);
    const balance = node.dev.balance();

    const events = record(node);
    const summary = node.dev.reorg(2, { blocks: 3 });
    const tip = await node.getTip();
    const newHashes = [(await node.getBlockHash(121))!, (await node.getBlockHash(122))!, tip.hash];
    deepEqual(summary, {
      old_tip: b122.hash,
      new_tip: tip.hash,
      fork_height: 120,
      disconnected: 2,
      connected: 3,
      mempool_size: 3,
    });
    equal(tip.height, 123);
    notEqual(newHashes[0], b121.hash);
    notEqual(newHashes[1], b122.hash);

    deepEqual(trace(events), [
      `BlockDisconnected ${b122.hash}`,
      `BlockDisconnected ${b121.hash}`,
      ...mined.map((txid) => `MempoolTransactionAdded ${txid}`),
      ...newHashes.flatMap(connected),
      "ChainReorg",
    ]);
    const byType = (t: string) => events.filter((e) => e.type === t).map((e) => e.payload);
    deepEqual(byType("BlockDisconnected"), [{ hash: b122.hash, height: 122 }, { hash: b121.hash, height: 121 }]);
    deepEqual(byType("MempoolTransactionAdded").map((p) => (p as { mempool_size: number }).mempool_size), [1, 2, 3]);
    const { mempool_size: _, ...reorg } = summary;
    deepEqual(byType("ChainReorg"), [reorg]);
    for (const p of byType("BlockValidationCompleted")) equal((p as { success: boolean }).success, true);
    deepEqual(byType("NewBlock").map((p) => (p as { height: number }).height), [121, 122, 123]);
    // The mined-block extras sit around each new block; ChainReorg is last but for fee updates.
    deepEqual(
      events.filter((e) => e.type === "BlockMined").map((e) => (e.payload as { block_hash: string }).block_hash),
      newHashes,
    );
    const last = events.filter((e) => e.type !== "FeeRateChanged").at(-1);
    equal(last?.type, "ChainReorg");

    deepEqual(new Set(node.dev.mempool().map((e) => e.txid)), new Set(mined));
    // The spent coins are back as they were (a tip 3 blocks higher), the payments' outputs gone.
    for (const [n, i] of spent.entries()) {
      const coin = await node.getUtxo({ txid: i.txid, vout: i.vout });
      ok(coin && coins[n]);
      deepEqual({ ...coin, confirmations: coin.confirmations - 3 }, coins[n]);
    }
    for (const s of sent) equal(await node.getUtxo({ txid: s.txid, vout: 0 }), undefined);
    for (const s of sent) equal((await node.getMempoolEntry(s.txid))?.fee_sats, s.fee_sats);
    equal(await node.getBlock(b121.hash), undefined, "the old blocks left the main chain");
    equal((await node.getTransaction(sent[0].txid))?.block_hash, null);
    // The payments count as unconfirmed again; one more coinbase matured (tip 122 → 123).
    equal(node.dev.balance().spendable, balance.spendable + 5_000_000_000);

    // Mining again confirms the returned transactions; they leave the mempool as mined.
    events.length = 0;
    const [again] = node.dev.generate(1);
    deepEqual(
      new Set(events.filter((e) => e.type === "MempoolTransactionRemoved").map((e) => e.payload)),
      new Set(mined.map((txid, i) => ({ tx_hash: txid, reason: "mined", mempool_size: 2 - i }))),
    );
    equal(node.dev.mempool().length, 0);
    equal((await node.getTransaction(sent[1].txid))?.block_hash, again.hash);
  } finally {
    await node.close();
  }
});

Deno.test("a heavier side branch submitted with submitBlock() reorganizes the chain", async () => {
  const node = DevNode.open();
  try {
    node.dev.generate(120);
    const both = node.dev.send(OTHER_ADDRESS, 700_000, 4);
    const oldOnly = node.dev.send(OTHER_ADDRESS, 800_000, 6);
    const [b121, b122] = node.dev.generate(2);
    const fork = (await node.getBlock((await node.getBlockHash(120))!))!;
    const side = branch(fork, 3, 5000, [await txOf(node, both.txid)]);
    const returned = (await node.getBlock(b121.hash))!.txids.slice(1);
    deepEqual(new Set(returned), new Set([both.txid, oldOnly.txid]));

    const events = record(node);
    for (const s of side.slice(0, 2)) {
      deepEqual(await node.submitBlock(s.hex), {
        status: "inconclusive",
        hash: s.hash,
        reason: "stored on a side branch with no more work than the tip",
      });
    }
    equal(events.length, 0, "side-branch blocks with no more work are only stored");
    equal((await node.getTip()).hash, b122.hash);

    deepEqual(await node.submitBlock(side[2].hex), { status: "accepted", hash: side[2].hash, reason: null });
    deepEqual(await node.getTip(), { hash: side[2].hash, height: 123 });
    deepEqual(trace(events), [
      `BlockDisconnected ${b122.hash}`,
      `BlockDisconnected ${b121.hash}`,
      ...returned.map((txid) => `MempoolTransactionAdded ${txid}`),
      ...connected(side[0].hash),
      `MempoolTransactionRemoved ${both.txid} mined`,
      ...side.slice(1).flatMap((s) => connected(s.hash)),
      "ChainReorg",
    ]);
    deepEqual(events.find((e) => e.type === "ChainReorg")?.payload, {
      old_tip: b122.hash,
      new_tip: side[2].hash,
      fork_height: 120,
      disconnected: 2,
      connected: 3,
    });
    // Confirmed in both branches: now in the new branch's first block. Confirmed only in the old one:
    // back in the mempool.
    equal((await node.getTransaction(both.txid))?.block_hash, side[0].hash);
    deepEqual(node.dev.mempool().map((e) => e.txid), [oldOnly.txid]);
    equal(await node.getBlock(b121.hash), undefined);
    // The old branch is still valid: extending it past the new tip switches back.
    const back = branch({ hash: b122.hash, height: 122, time: side[2].header.time }, 2, 6000);
    equal((await node.submitBlock(back[0].hex)).status, "inconclusive");
    equal((await node.submitBlock(back[1].hex)).status, "accepted");
    deepEqual(await node.getTip(), { hash: back[1].hash, height: 124 });
    equal((await node.getTransaction(both.txid))?.block_hash, b121.hash);
    equal(node.dev.mempool().length, 0);
  } finally {
    await node.close();
  }
});

Deno.test("dev.reorg({ withMempool: true }) confirms the returned transactions in the new branch", async () => {
  const node = DevNode.open();
  try {
    node.dev.generate(110);
    const { txid } = node.dev.send(OTHER_ADDRESS, 123_456, 3);
    node.dev.generate(1);
    const events = record(node);
    const r = node.dev.reorg(1, { withMempool: true });
    equal(r.mempool_size, 0);
    equal(r.connected, 2, "blocks defaults to depth + 1");
    const first = (await node.getBlockHash(111))!;
    deepEqual(trace(events), [
      `BlockDisconnected ${r.old_tip}`,
      `MempoolTransactionAdded ${txid}`,
      ...connected(first),
      `MempoolTransactionRemoved ${txid} mined`,
      ...connected(r.new_tip),
      "ChainReorg",
    ]);
    equal((await node.getTransaction(txid))?.block_hash, first);
  } finally {
    await node.close();
  }
});

/** A node at height 120, and three side blocks on height 118 of which block `bad` (1 or 2) overclaims. */
async function invalidBranchSetup(bad: number) {
  const node = DevNode.open();
  node.dev.generate(118);
  const { txid } = node.dev.send(OTHER_ADDRESS, 654_321, 2);
  const [b119, b120] = node.dev.generate(2);
  const fork = (await node.getBlock((await node.getBlockHash(118))!))!;
  const side = branch(fork, 3, 7000);
  const overclaim = mineBlock({
    prevHash: side[bad - 1].hash,
    height: 119 + bad,
    time: fork.time + 1 + bad,
    txs: [],
    fees: 1,
    payout: OP_TRUE,
    extraNonce: 7100,
  });
  side[bad] = { ...overclaim, height: 119 + bad, hex: toHex(overclaim.bytes) };
  if (bad < 2) side[2] = branch({ hash: side[1].hash, height: 120, time: side[1].header.time }, 1, 7200)[0];
  return { node, txid, b119, b120, side };
}

Deno.test("a heavier side branch with an invalid block fails validation and the node returns to its chain", async () => {
  const { node, txid, b119, b120, side } = await invalidBranchSetup(1);
  try {
    const events = record(node);
    equal((await node.submitBlock(side[0].hex)).status, "inconclusive");
    equal((await node.submitBlock(side[1].hex)).status, "inconclusive");
    await node.submitBlock(side[2].hex);
    deepEqual(await node.getTip(), { hash: b120.hash, height: 120 });
    const failed = events.filter((e) => e.type === "BlockValidationCompleted" && !e.payload.success);
    equal(failed.length, 1);
    equal((failed[0].payload as { block_hash: string }).block_hash, side[1].hash);
    ok((failed[0].payload as { error: string }).error.startsWith("bad-cb-amount:"));
    equal(events.filter((e) => e.type === "NewBlock").at(-1)?.payload.hash, b120.hash);
    equal((await node.getTransaction(txid))?.block_hash, b119.hash, "the payment is confirmed where it was");
    equal(node.dev.mempool().length, 0);
    deepEqual(await node.submitBlock(side[1].hex), {
      status: "rejected",
      hash: side[1].hash,
      reason: "duplicate-invalid: the block is known to be invalid",
    });
    // The original chain goes on as before.
    const [b121] = node.dev.generate(1);
    equal(b121.prev_hash, b120.hash);
  } finally {
    await node.close();
  }
});

// Regression: src/node/dev/engine.ts processBlock() decides the result of a side-branch block by that block's own
// status only (`this.chain.entry(entry.hash)!.status === "invalid"`). When an earlier block of the branch fails
// validation during the reorg, the node returns to its old chain but still answers `{ status: "accepted" }` for the
// submitted block, which is not connected and never will be; the SubmitBlockResult contract (src/protocol/chain.ts)
// says `accepted` means connected or on the new best chain. It should answer `rejected`.
Deno.test({
  name: "submitBlock() of a block whose branch failed validation does not report accepted",
  fn: async () => {
    const { node, b120, side } = await invalidBranchSetup(1);
    try {
      await node.submitBlock(side[0].hex);
      await node.submitBlock(side[1].hex);
      const r = await node.submitBlock(side[2].hex);
      equal((await node.getTip()).hash, b120.hash);
      equal(r.status, "rejected");
    } finally {
      await node.close();
    }
  },
});

// Regression: src/node/dev/engine.ts #reorgToBest() recurses after a failed connect with the partly connected branch
// as the new `before`, and ChainState.best() (src/node/dev/chainstate.ts) keeps the current tip on a tie in work
// instead of the block seen first. When the last block of a heavier side branch is invalid and the rest of the
// branch has the same work as the old tip, the node stays on the side branch (old blocks 119-120 disconnected, side
// blocks connected) and publishes no ChainReorg at all. It should return to the old tip (seen first, equal work), or
// at least publish ChainReorg for the switch it made.
Deno.test({
  name: "an invalid last block of a side branch leaves the node on its first-seen chain",
  fn: async () => {
    const { node, b120, side } = await invalidBranchSetup(2);
    try {
      const events = record(node);
      for (const s of side) await node.submitBlock(s.hex);
      const tip = await node.getTip();
      const reorgs = events.filter((e) => e.type === "ChainReorg");
      ok(
        tip.hash === b120.hash || reorgs.length > 0,
        `tip ${tip.hash} (old tip ${b120.hash}); ${reorgs.length} ChainReorg events`,
      );
      equal(tip.hash, b120.hash);
    } finally {
      await node.close();
    }
  },
});

Deno.test("blocks invalidated by dev.reorg() cannot come back", async () => {
  const node = DevNode.open();
  try {
    const old = node.dev.generate(5);
    const hexes = await Promise.all(old.map(async (h) => toHex((await node.getBlock(h.hash))!.raw)));
    throws(() => node.dev.reorg(0), RangeError);
    throws(() => node.dev.reorg(6), RangeError);
    throws(() => node.dev.reorg(1, { blocks: 0 }), RangeError);
    equal((await node.getTip()).hash, old[4].hash);
    node.dev.reorg(2, { blocks: 1 });
    const tip = await node.getTip();
    equal(tip.height, 4);
    deepEqual(await node.submitBlock(hexes[3]), {
      status: "rejected",
      hash: old[3].hash,
      reason: "duplicate-invalid: the block is known to be invalid",
    });
    // Even though the old branch has more work, the node keeps the new one.
    deepEqual(await node.getTip(), tip);
    node.dev.generate(2);
    equal((await node.getTip()).height, 6);
    equal((await node.getBlockHash(4)) !== old[3].hash, true);
  } finally {
    await node.close();
  }
});

// Regression: src/node/dev/chainstate.ts invalidate() marks only the given block invalid, though its doc says "its
// descendants become invalid with it". engine.ts processBlock() then answers a resubmitted descendant of a block
// invalidated by dev.reorg() with `duplicate` (as if it were a fine known block) instead of `rejected` / `duplicate-
// invalid` as Bitcoin Core does (BLOCK_FAILED_CHILD), and a new child of the old tip passes accept() (its parent's
// own status is "valid") and is answered `accepted` while the node stays on the new branch. Both should be rejected.
Deno.test({
  name: "descendants of a block invalidated by dev.reorg() are refused as invalid",
  fn: async () => {
    const node = DevNode.open();
    try {
      const old = node.dev.generate(5);
      const oldTip = (await node.getBlock(old[4].hash))!;
      node.dev.reorg(2, { blocks: 1 });
      const tip = await node.getTip();
      const child = branch(oldTip, 1, 9000)[0];
      const r = await node.submitBlock(child.hex);
      deepEqual(await node.getTip(), tip);
      equal(r.status, "rejected", `child of the old tip: ${JSON.stringify(r)}`);
      deepEqual(await node.submitBlock(oldTip.raw), {
        status: "rejected",
        hash: oldTip.hash,
        reason: "duplicate-invalid: the block is known to be invalid",
      });
    } finally {
      await node.close();
    }
  },
});

// Regression: src/node/dev/engine.ts rewind() re-accepts a disconnected transaction A into the mempool but does not
// relink a mempool transaction D that already spends A's output (D's `parents` stays empty), so #dropInvalid() sees
// D's input neither in the chain nor among its parents and evicts it with reason `reorg`, though D is still valid (A
// is back in the mempool). Bitcoin Core keeps D and makes it A's child (UpdateTransactionsFromBlock). D should stay,
// with A in its `depends`.
Deno.test({
  name: "dev.reorg() keeps a mempool child of a disconnected transaction",
  fn: async () => {
    const node = DevNode.open({ coinbaseAddress: OTHER_ADDRESS });
    try {
      node.dev.generate(1, { address: node.wallet.address() });
      node.dev.generate(100);
      const a = node.dev.send(OTHER_ADDRESS, 1_000_000, 2);
      node.dev.generate(1);
      const d = node.dev.send(OTHER_ADDRESS, 500_000, 3); // the wallet's only coin is a's change
      const spent = (await txOf(node, d.txid)).inputs.map((i) => i.txid);
      deepEqual(spent, [a.txid]);
      const events = record(node);
      node.dev.reorg(1);
      ok(!events.some((e) => e.type === "MempoolTransactionRemoved"), "nothing should leave the mempool");
      const entry = await node.getMempoolEntry(d.txid);
      deepEqual(entry?.depends, [a.txid]);
      equal(node.dev.mempool().length, 2);
    } finally {
      await node.close();
    }
  },
});
