// A dev node whose store runs out of space (SQLite's max_page_count, so SQLite answers SQLITE_FULL as it
// does for ENOSPC) reports that cause, never the "cannot rollback - no transaction is active" the
// rollback used to throw in its place, keeps everything written before, publishes nothing of the
// failed change, and goes on once there is room. A real ENOSPC on a small tmpfs: enospc_test.ts.
import { deepEqual, equal, ok } from "node:assert/strict";
import { dispatchNode } from "../../../src/admin/node_commands.ts";
import { DevNode } from "../../../src/node/dev/node.ts";
import { rejectsWith } from "../../admin/_admin.ts";
import { mineBlock, record, toHex } from "./_craft.ts";
import { assertDiskFull, DISK_FULL, openCapped, snapshot, thrown, withDir } from "./_store_faults.ts";

const OTHER = "bcrt1q2vrjxm3d2pc58hjzr95wkk8qmc2v0re0fr63h3";
const OP_TRUE = Uint8Array.of(0x51);

Deno.test("payments that fill the store: SQLITE_FULL is reported, every earlier payment is kept, on disk too", async () => {
  await withDir(async (dir) => {
    const { node, fill } = openCapped(dir);
    node.dev.generate(101);
    fill();
    const rec = record(node);
    const paid: string[] = [];
    let failure: unknown;
    for (let i = 0; i < 1000 && failure === undefined; i++) {
      try {
        paid.push(node.dev.send(OTHER, 10_000 + i, 2).txid);
      } catch (e) {
        failure = e;
      }
    }
    assertDiskFull(failure);
    ok(paid.length > 0, "the store had room for some payments before it filled");
    const announced = rec.events.filter((e) => e.type === "NewTransaction").map((e) => e.payload.tx_hash);
    deepEqual(announced, paid, "the failed payment was never announced");
    deepEqual(node.dev.mempool().map((e) => e.txid).sort(), [...paid].sort());
    const before = await snapshot(node);

    // The operator's `node send` answers UNAVAILABLE naming the cause.
    const refused = await rejectsWith(
      dispatchNode(node, "node.send", { address: OTHER, amount_sats: 50_000, fee_rate: 2 }),
      "UNAVAILABLE",
      DISK_FULL,
    );
    ok(!refused.message.includes("rollback"), refused.message);
    deepEqual(await snapshot(node), before, "a refused payment changes nothing");
    rec.stop();
    await node.close();

    // The file holds exactly what the node held in memory: no payment lost, none half-written.
    const again = DevNode.open({ dataDir: dir });
    try {
      deepEqual(await snapshot(again), before);
      // With room again (no cap on this connection) it pays and mines everything.
      const s = again.dev.send(OTHER, 20_000, 2);
      const [h] = again.dev.generate(1);
      const block = (await again.getBlock(h.hash))!;
      deepEqual(block.txids.slice(1).sort(), [...paid, s.txid].sort());
      deepEqual(again.dev.mempool(), []);
    } finally {
      await again.close();
    }
  });
});

Deno.test("a block, a reorg and a submitted branch that find the store full change nothing and publish nothing", async () => {
  await withDir(async (dir) => {
    const { node, fill, uncap } = openCapped(dir);
    try {
      // Every write below stores a row larger than a page (a block of 40 payments, a coinbase with
      // 5,000 bytes of OP_RETURN), so it needs new pages and cannot fit in a filled store.
      node.dev.generate(105);
      const pay = () => Array.from({ length: 40 }, (_, i) => node.dev.send(OTHER, 30_000 + i, 2 + (i % 5)).txid);
      pay();
      node.dev.generate(1);
      const pending = pay();
      // A heavier branch on the tip's parent: its first block is stored now, its second makes a reorg.
      const parent = (await node.getBlock((await node.getBlockHash(105))!))!;
      const plan = { txs: [], fees: 0, payout: OP_TRUE };
      const first = mineBlock({ ...plan, prevHash: parent.hash, height: 106, time: parent.time + 1, extraNonce: 900 });
      const big = Uint8Array.from({ length: 5_001 }, (_, i) => i === 0 ? 0x6a : i % 251);
      const second = mineBlock({
        ...plan,
        payout: big,
        prevHash: first.hash,
        height: 107,
        time: first.header.time + 1,
        extraNonce: 901,
      });
      equal((await node.submitBlock(toHex(first.bytes))).status, "inconclusive");
      const before = await snapshot(node);
      fill();
      const rec = record(node);

      assertDiskFull(thrown(() => node.dev.generate(1)));
      deepEqual(await snapshot(node), before, "the mined block took its payments out of the mempool: undone");
      assertDiskFull(thrown(() => node.dev.reorg(1, { blocks: 2, withMempool: true })));
      deepEqual(await snapshot(node), before, "no block disconnected, invalidated or mined");
      let rejected: unknown;
      await node.submitBlock(toHex(second.bytes)).catch((e) => rejected = e);
      assertDiskFull(rejected);
      deepEqual(await snapshot(node), before, "the reorg to the heavier branch did not happen");
      deepEqual(rec.types(), [], "nothing was published for changes that were not kept");

      uncap();
      deepEqual(await node.submitBlock(toHex(second.bytes)), { status: "accepted", hash: second.hash, reason: null });
      equal((await node.getTip()).hash, second.hash);
      ok(rec.types().includes("ChainReorg"));
      equal(node.dev.mempool().length, 80, "the disconnected block's payments are back, the pending ones stay");
      const [h] = node.dev.generate(1);
      deepEqual((await node.getBlock(h.hash))!.txids.length, 81);
      ok(pending.every((txid) => !node.dev.mempool().some((e) => e.txid === txid)));
    } finally {
      await node.close();
    }
  });
});
