// The dev node's async operations (generateAsync, submitBlock, sendAsync, reorgAsync): a block of many
// transactions is mined or connected a slice at a time, giving the event loop turns; the result is the
// same block, events and state as the synchronous path; operations asked for meanwhile are serialized
// in the order they were asked for, and none of them sees half a block.
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { DevNode, type DevNodeOptions } from "../../../src/node/dev/node.ts";
import { mineBlock } from "../../../src/node/dev/miner.ts";
import { decodeBlock, encodeBlock } from "../../../src/node/dev/block_codec.ts";
import { MalformedDataError } from "../../../src/node/dev/tx_codec.ts";
import { storeHooks } from "../../../src/node/dev/test_hooks.ts";
import {
  type BackendEvent,
  type Coin,
  decodeTx,
  fund,
  type Key,
  newKey,
  openNode,
  record,
  spend,
  spendWithFee,
  toHex,
  txidOf,
} from "./_craft.ts";
import { assertDiskFull, openCapped, snapshot, withDir } from "./_store_faults.ts";

const COIN = 20_000;
const FEE = 500;
const T0 = 1_700_000_000;

/** Options two nodes share so that they mine the same blocks: the coinbase key and a pinned clock. */
function shared(key: Key): DevNodeOptions {
  let t = T0;
  return { coinbaseAddress: key.address, clock: () => t++, maxMempoolTxs: 100_000 };
}

/**
 * Open `count` nodes that mine the same chain to `key`, with `coins` confirmed outputs of COIN sats
 * paying `key` (one fan-out transaction), and return them with those coins.
 */
async function fundedNodes(key: Key, count: number, coins: number, dataDir?: string) {
  const nodes = Array.from(
    { length: count },
    (_, i) => DevNode.open({ ...shared(key), dataDir: dataDir && `${dataDir}/${i}` }),
  );
  for (const n of nodes) n.dev.generate(101);
  const block1 = (await nodes[0].getBlock((await nodes[0].getBlockHash(1))!))!;
  const cb = { txid: block1.txids[0], vout: 0, value: 5_000_000_000, script: key.script };
  const outs = Array.from({ length: coins }, () => ({ to: key, value: COIN }));
  const fanout = spend(key, [cb], [...outs, { to: key, value: cb.value - coins * COIN - 100_000 }]);
  for (const n of nodes) {
    equal((await n.submitTransaction(toHex(fanout))).status, "accepted");
    n.dev.generate(1);
  }
  const txid = txidOf(fanout);
  const spendable: Coin[] = outs.map((o, vout) => ({ txid, vout, value: o.value, script: key.script }));
  return { nodes, coins: spendable };
}

/** Signed one-in one-out spends of `coins` back to `key`. */
function spendsOf(key: Key, coins: Coin[]): Uint8Array[] {
  return coins.map((c) => spendWithFee(key, c, key, FEE));
}

async function submitAll(node: DevNode, txs: Uint8Array[]): Promise<void> {
  for (const tx of txs) equal((await node.submitTransaction(toHex(tx))).status, "accepted");
}

/** Events without the one field that depends on the clock of the machine. */
function comparable(events: BackendEvent[]): unknown[] {
  return events.map((e) => {
    if (e.type !== "BlockValidationCompleted") return e;
    const { validation_time_ms: _, ...rest } = e.payload as Record<string, unknown>;
    return { type: e.type, payload: rest };
  });
}

/** Run `fn` with the store hook called just before a block is recorded connected (mid-transaction). */
async function withConnectHook<T>(hook: (hash: string, height: number) => void, fn: () => Promise<T>): Promise<T> {
  storeHooks.beforeConnect = hook;
  try {
    return await fn();
  } finally {
    storeHooks.beforeConnect = undefined;
  }
}

Deno.test("generateAsync mines the block generate mines: same header, transactions, events and state", async () => {
  const key = newKey();
  const { nodes: [sync, async_], coins } = await fundedNodes(key, 2, 300);
  const txs = spendsOf(key, coins);
  await submitAll(sync, txs);
  await submitAll(async_, txs);
  const [recSync, recAsync] = [record(sync), record(async_)];
  const [a] = sync.dev.generate(1);
  const [b] = await async_.dev.generateAsync(1);
  deepEqual(b, a, "same header: hash, merkle root, time, nonce");
  deepEqual(await async_.getBlock(b.hash), await sync.getBlock(a.hash), "same transactions and bytes");
  equal((await async_.getBlock(b.hash))!.txids.length, 301);
  deepEqual(comparable(recAsync.events), comparable(recSync.events), "same events in the same order");
  equal(recAsync.types().filter((t) => t === "MempoolTransactionRemoved").length, 300);
  deepEqual(await async_.getMempoolInfo(), await sync.getMempoolInfo());
  deepEqual(async_.dev.status(), { ...sync.dev.status(), wallet: async_.dev.status().wallet });
  deepEqual(await async_.estimateFee(1), await sync.estimateFee(1));
  for (const tx of txs.slice(0, 5)) {
    deepEqual(await async_.getTransaction(txidOf(tx)), await sync.getTransaction(txidOf(tx)));
    deepEqual(await async_.getUtxo({ txid: txidOf(tx), vout: 0 }), await sync.getUtxo({ txid: txidOf(tx), vout: 0 }));
  }
  for (const n of [sync, async_]) await n.close();
});

Deno.test("a block submitted by a peer connects like the same block mined here, without being decoded twice", async () => {
  const key = newKey();
  const { nodes: [miner, peer], coins } = await fundedNodes(key, 2, 200);
  const txs = spendsOf(key, coins);
  await submitAll(miner, txs);
  await submitAll(peer, txs.slice(0, 100)); // the peer has seen half of them: the other half are verified now
  const recMiner = record(miner), recPeer = record(peer);
  const [h] = await miner.dev.generateAsync(1);
  const block = (await miner.getBlock(h.hash))!;
  deepEqual(await peer.submitBlock(block.raw), { status: "accepted", hash: h.hash, reason: null });
  deepEqual(await peer.getChainInfo(), await miner.getChainInfo());
  deepEqual(await peer.getBlock(h.hash), block);
  deepEqual(await peer.getMempoolTxids(), []);
  const kinds = (r: typeof recMiner) =>
    r.types().filter((t) => !["BlockTemplateUpdated", "BlockMined", "MempoolTransactionRemoved"].includes(t));
  deepEqual(kinds(recPeer), kinds(recMiner), "the same events, but for this node's mining");
  ok(kinds(recPeer).includes("NewBlock"));
  equal(recPeer.types().filter((t) => t === "MempoolTransactionRemoved").length, 100);
  for (const n of [miner, peer]) await n.close();
});

Deno.test("generateAsync gives the event loop turns while it mines; until the block is in, readers see the node as it was", async () => {
  const key = newKey();
  const { nodes: [node], coins } = await fundedNodes(key, 1, 300);
  const txs = spendsOf(key, coins);
  await submitAll(node, txs);
  const before = await node.getTip();
  const order: string[] = [];
  let seen: { height: number; pool: number; pooled: boolean; block: unknown } | undefined;
  const [mined] = await withConnectHook(() => {
    // Called inside the block's store transaction, while it is being written: a timer set now runs
    // before the block is done only if mining gives the event loop a turn.
    setTimeout(async () => {
      order.push("timer");
      seen = {
        height: (await node.getTip()).height,
        pool: (await node.getMempoolInfo()).transaction_count,
        pooled: (await node.getMempoolEntry(txidOf(txs[0]))) !== undefined,
        block: await node.getBlockHash(before.height + 1),
      };
    }, 0);
  }, async () => {
    const out = await node.dev.generateAsync(1);
    order.push("mined");
    return out;
  });
  deepEqual(order, ["timer", "mined"], "the timer ran before the block was done");
  deepEqual(seen, { height: before.height, pool: 300, pooled: true, block: undefined }, "the node as it was");
  equal(mined.height, before.height + 1);
  equal((await node.getMempoolInfo()).transaction_count, 0);
  await node.close();
});

Deno.test("submitBlock of a large block gives the event loop turns too", async () => {
  const key = newKey();
  const { nodes: [miner, peer], coins } = await fundedNodes(key, 2, 200);
  await submitAll(miner, spendsOf(key, coins));
  const [h] = miner.dev.generate(1);
  const raw = (await miner.getBlock(h.hash))!.raw;
  const order: string[] = [];
  const result = await withConnectHook(() => {
    setTimeout(() => order.push("timer"), 0);
  }, async () => {
    const r = await peer.submitBlock(raw);
    order.push("connected");
    return r;
  });
  deepEqual(result, { status: "accepted", hash: h.hash, reason: null });
  deepEqual(order, ["timer", "connected"]);
  for (const n of [miner, peer]) await n.close();
});

Deno.test("operations asked for while a block is mined wait their turn: two generateAsync and a transaction", async () => {
  const key = newKey();
  const { nodes: [node], coins } = await fundedNodes(key, 1, 201);
  const txs = spendsOf(key, coins.slice(0, 200));
  await submitAll(node, txs);
  const late = spendWithFee(key, coins[200], key, FEE);
  const tip = await node.getTip();
  const rec = record(node);
  const order: string[] = [];
  let submitted: Promise<unknown> | undefined;
  let armed = true;
  const [a, b] = await withConnectHook((_hash, height) => {
    if (height !== tip.height + 1 || !armed) return;
    armed = false;
    setTimeout(() => {
      // Mid-way through the first block: the transaction goes in after both blocks asked for before it.
      submitted = node.submitTransaction(toHex(late)).then((r) => {
        order.push("tx");
        return r;
      });
    }, 0);
  }, () =>
    Promise.all([
      node.dev.generateAsync(1).then((h) => (order.push("a"), h[0])),
      node.dev.generateAsync(1).then((h) => (order.push("b"), h[0])),
    ]));
  deepEqual(await submitted, { status: "accepted", txid: txidOf(late), reject_code: null, reason: null });
  deepEqual(order, ["a", "b", "tx"]);
  deepEqual([a.height, b.height, b.prev_hash], [tip.height + 1, tip.height + 2, a.hash]);
  equal((await node.getBlock(a.hash))!.txids.length, 201, "the first block took the 200 transactions");
  equal((await node.getBlock(b.hash))!.txids.length, 1, "the second found the mempool empty");
  deepEqual(await node.getMempoolTxids(), [txidOf(late)], "the late transaction waits for the next block");
  // Events in the order the operations happened, never interleaved.
  const marks = rec.events.flatMap((e, i) =>
    e.type === "BlockMined" ? [[i, `mined ${e.payload.height}`]] : e.type === "NewTransaction" ? [[i, "tx"]] : []
  );
  deepEqual(marks.map(([, m]) => m), [`mined ${tip.height + 1}`, `mined ${tip.height + 2}`, "tx"]);
  const firstOfB = rec.events.findIndex((e) => e.type === "BlockTemplateUpdated" && e.payload.height === b.height);
  ok(firstOfB > (marks[0][0] as number), "the second block started after the first was announced");
  await node.close();
});

Deno.test("a synchronous call while blocks are mined asynchronously lets them finish first", async () => {
  const key = newKey();
  const { nodes: [node], coins } = await fundedNodes(key, 1, 200);
  await submitAll(node, spendsOf(key, coins));
  const tip = await node.getTip();
  const order: string[] = [];
  let syncHeight = 0;
  let done = false;
  const [a, b] = await withConnectHook((_hash, height) => {
    if (height !== tip.height + 1 || done) return;
    done = true;
    setTimeout(() => {
      // generate() is synchronous: the queued blocks are mined first, then its own.
      syncHeight = node.dev.generate(1)[0].height;
      order.push("sync");
    }, 0);
  }, () =>
    Promise.all([
      node.dev.generateAsync(1).then((h) => (order.push("a"), h[0])),
      node.dev.generateAsync(1).then((h) => (order.push("b"), h[0])),
    ]));
  deepEqual([a.height, b.height, syncHeight], [tip.height + 1, tip.height + 2, tip.height + 3]);
  deepEqual(order, ["sync", "a", "b"], "generate() returned at once, the async callers were told after");
  equal((await node.getTip()).height, tip.height + 3);
  equal((await node.getBlock(a.hash))!.txids.length, 201);
  await node.close();
});

Deno.test("a synchronous reorg or payment during async mining starts from the new block", async () => {
  const key = newKey();
  const { nodes: [node], coins } = await fundedNodes(key, 1, 150);
  node.dev.generate(101, { address: node.wallet.address() });
  await submitAll(node, spendsOf(key, coins));
  const tip = await node.getTip();
  let result: { reorg: ReturnType<typeof node.dev.reorg>; txid: string } | undefined;
  let armed = true;
  const [mined] = await withConnectHook((_hash, height) => {
    if (height !== tip.height + 1 || !armed) return;
    armed = false;
    setTimeout(() => {
      const reorg = node.dev.reorg(1, { blocks: 1 });
      result = { reorg, txid: node.dev.send(key.address, 40_000, 3).txid };
    }, 0);
  }, () => node.dev.generateAsync(1));
  ok(result, "the timer ran");
  deepEqual([result.reorg.old_tip, result.reorg.fork_height], [mined.hash, tip.height], "it replaced the new block");
  equal(result.reorg.mempool_size, 150, "whose transactions went back to the mempool");
  ok(await node.getMempoolEntry(result.txid));
  await node.close();
});

Deno.test("reorgAsync and sendAsync asked for during async mining run after the block", async () => {
  const key = newKey();
  const { nodes: [node], coins } = await fundedNodes(key, 1, 150);
  node.dev.generate(101, { address: node.wallet.address() }); // a mature coinbase for the wallet to send from
  await submitAll(node, spendsOf(key, coins));
  const tip = await node.getTip();
  let reorg: ReturnType<typeof node.dev.reorgAsync> | undefined;
  let send: ReturnType<typeof node.dev.sendAsync> | undefined;
  let armed = true;
  const [mined] = await withConnectHook((_hash, height) => {
    if (height !== tip.height + 1 || !armed) return;
    armed = false;
    setTimeout(() => {
      reorg = node.dev.reorgAsync(1);
      send = node.dev.sendAsync(key.address, 50_000, 2);
    }, 0);
  }, () => node.dev.generateAsync(1));
  equal(mined.height, tip.height + 1);
  const r = await reorg!;
  deepEqual([r.old_tip, r.disconnected, r.connected], [mined.hash, 1, 2], "the reorg replaced the new block");
  const s = await send!;
  ok(await node.getMempoolEntry(s.txid), "the payment was made after the reorg");
  // The reorg returned the block's 150 transactions to the mempool; the payment came on top.
  equal((await node.getMempoolInfo()).transaction_count, 151);
  equal((await node.getTip()).height, tip.height + 2);
  await node.close();
});

Deno.test("a block submitted by a peer removes what it mined and what it conflicts with, children of mined transactions staying", async () => {
  const key = newKey();
  const node = openNode();
  const [c1, c2, c3] = await fund(node, key, [100_000, 100_000, 100_000]);
  const parent = spendWithFee(key, c1, key, FEE);
  const child = spendWithFee(key, { ...c1, txid: txidOf(parent), value: c1.value - FEE }, key, FEE);
  const x = spendWithFee(key, c2, key, FEE);
  const x1 = spendWithFee(key, { ...c2, txid: txidOf(x), value: c2.value - FEE }, key, FEE);
  const x2 = spendWithFee(key, { ...c2, txid: txidOf(x1), value: c2.value - 2 * FEE }, key, FEE);
  const unrelated = spendWithFee(key, c3, key, FEE);
  await submitAll(node, [parent, child, x, x1, x2, unrelated]);
  const rival = spendWithFee(key, c2, newKey(), 800);
  const tip = await node.getTip();
  const block = mineBlock({
    prevHash: tip.hash,
    height: tip.height + 1,
    time: (await node.getHeader(tip.hash))!.time + 1,
    txs: [decodeTx(parent), decodeTx(rival)],
    fees: FEE + 800,
    payout: key.script,
    extraNonce: 7,
  });
  const rec = record(node);
  deepEqual(await node.submitBlock(block.bytes), { status: "accepted", hash: block.hash, reason: null });
  deepEqual(rec.events.filter((e) => e.type === "MempoolTransactionRemoved").map((e) => e.payload), [
    { tx_hash: txidOf(parent), reason: "mined", mempool_size: 5 },
    { tx_hash: txidOf(x2), reason: "conflict", mempool_size: 4 },
    { tx_hash: txidOf(x1), reason: "conflict", mempool_size: 3 },
    { tx_hash: txidOf(x), reason: "conflict", mempool_size: 2 },
  ]);
  deepEqual((await node.getMempoolTxids()).sort(), [txidOf(child), txidOf(unrelated)].sort());
  deepEqual((await node.getMempoolEntry(txidOf(child)))!.depends, [], "its parent is in the chain now");
  const [next] = await node.dev.generateAsync(1);
  equal((await node.getBlock(next.hash))!.txids.length, 3, "the child is minable on its own");
  await node.close();
});

Deno.test("an async block the store cannot write fails, leaving the node as it was and publishing nothing", async () => {
  await withDir(async (dir) => {
    const { node, fill, uncap } = openCapped(dir);
    node.dev.generate(105);
    // A block of 40 payments is a row larger than a page: it needs new pages a filled store lacks.
    for (let i = 0; i < 40; i++) node.dev.send(newKey().address, 30_000 + i, 2 + (i % 5));
    const before = await snapshot(node);
    const rec = record(node);
    fill();
    await rejects(node.dev.generateAsync(1), (e) => {
      assertDiskFull(e);
      return true;
    });
    deepEqual(await snapshot(node), before, "chain, UTXO set, mempool and wallet as before");
    deepEqual(rec.events, [], "no event for a change that did not happen");
    uncap();
    const [h] = await node.dev.generateAsync(1);
    equal((await node.getBlock(h.hash))!.txids.length, 41, "with room again the block is mined");
    await node.close();
  });
});

Deno.test("close() finishes queued async operations; large blocks on disk survive a restart", async () => {
  await withDir(async (dir) => {
    const key = newKey();
    const { nodes: [node], coins } = await fundedNodes(key, 1, 300, dir);
    const txs = spendsOf(key, coins);
    await submitAll(node, txs.slice(0, 150));
    const first = node.dev.generateAsync(1);
    await first;
    await submitAll(node, txs.slice(150));
    const second = node.dev.generateAsync(1);
    const flushed = node.flush();
    await node.close(); // before the second block is done
    const [a, b] = [(await first)[0], (await second)[0]];
    equal(b.prev_hash, a.hash);
    ok((await flushed).pages >= 0);
    const again = DevNode.open({ ...shared(key), dataDir: `${dir}/0` });
    try {
      deepEqual(await again.getTip(), { hash: b.hash, height: b.height });
      equal((await again.getBlock(b.hash))!.txids.length, 151);
      deepEqual(await again.getMempoolTxids(), []);
      ok(await again.getUtxo({ txid: txidOf(txs[299]), vout: 0 }));
    } finally {
      await again.close();
    }
  });
});

Deno.test("decodeBlock reads a block of many transactions a chunk at a time as it was built", async () => {
  const key = newKey();
  const { nodes: [node], coins } = await fundedNodes(key, 1, 300);
  const txs = spendsOf(key, coins).map((t) => decodeTx(t));
  const block = mineBlock({
    prevHash: "00".repeat(32),
    height: 5,
    time: T0,
    txs,
    fees: 0,
    payout: key.script,
    extraNonce: 1,
  });
  const decoded = decodeBlock(block.bytes);
  deepEqual([decoded.hash, decoded.size, decoded.weight], [block.hash, block.size, block.weight]);
  deepEqual(decoded.txs.map((t) => [t.txid, t.wtxid, t.size]), block.txs.map((t) => [t.txid, t.wtxid, t.size]));
  deepEqual(encodeBlock(decoded.header, decoded.txs), block.bytes);
  const malformed = (bytes: Uint8Array, why: RegExp) =>
    throws(() => decodeBlock(bytes), (e) => e instanceof MalformedDataError && why.test(e.message));
  malformed(Uint8Array.of(...block.bytes, 0), /1 bytes after the last transaction/);
  malformed(block.bytes.subarray(0, block.bytes.length - 10), /does not decode/);
  const more = block.bytes.slice();
  more.set([0x2e, 0x01], 81); // 302 transactions announced, 301 there
  malformed(more, /does not decode/);
  await node.close();
});
