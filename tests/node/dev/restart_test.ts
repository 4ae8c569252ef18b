import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { toHex } from "../../../src/node/header.ts";
import { mineBlock } from "../../../src/node/dev/miner.ts";
import { DevNode } from "../../../src/node/dev/node.ts";
import { NodeStore, StoreError } from "../../../src/node/dev/store.ts";

const OTHER_ADDRESS = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "devnode-restart-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Everything a restart must keep, read through the public API. */
async function snapshot(node: DevNode) {
  const tip = await node.getTip();
  const hashes = [];
  for (let h = 0; h <= tip.height; h++) hashes.push(await node.getBlockHash(h));
  const status = node.dev.status();
  return {
    tip,
    hashes,
    chainInfo: await node.getChainInfo(),
    balance: node.dev.balance(),
    mempool: node.dev.mempool(),
    mempoolInfo: await node.getMempoolInfo(),
    coins: node.dev.coins().map((c) => ({ ...c, script: toHex(c.script) })).sort((a, b) =>
      `${a.txid}:${a.vout}`.localeCompare(`${b.txid}:${b.vout}`)
    ),
    address: node.wallet.address(),
    keys: node.wallet.size,
    status,
    feeEstimate: await node.estimateFee(1),
  };
}

Deno.test("a restarted node has the same chain, wallet and mempool", async () => {
  await withDir(async (dir) => {
    let node = DevNode.open({ dataDir: dir });
    node.dev.generate(105);
    const second = node.wallet.newAddress();
    const confirmed = [node.dev.send(OTHER_ADDRESS, 1_000_000, 3), node.dev.send(second, 2_000_000, 5)];
    node.dev.generate(1);
    const pending = [node.dev.send(OTHER_ADDRESS, 300_000, 2), node.dev.send(second, 400_000, 8)];
    pending.push(node.dev.send(OTHER_ADDRESS, 500_000, 4));
    const before = await snapshot(node);
    equal(before.tip.height, 106);
    equal(before.mempool.length, 3);
    ok(before.balance.unconfirmed > 0 && before.balance.confirmed > 0 && before.balance.immature > 0);
    const tx = await node.getTransaction(confirmed[1].txid);
    await node.close();

    node = DevNode.open({ dataDir: dir });
    try {
      const after = await snapshot(node);
      deepEqual(after, before);
      deepEqual(await node.getTransaction(confirmed[1].txid), tx);
      equal(node.wallet.address(1), second);
      for (const p of pending) equal((await node.getMempoolEntry(p.txid))?.fee_sats, p.fee_sats);
      // The reloaded wallet still signs, and the reloaded mempool is mined.
      node.dev.send(OTHER_ADDRESS, 600_000, 6);
      const [next] = node.dev.generate(1);
      equal(next.prev_hash, before.tip.hash);
      equal((await node.getBlock(next.hash))!.txids.length, 5);
      equal(node.dev.mempool().length, 0);
    } finally {
      await node.close();
    }
  });
});

Deno.test("reorgs made before a restart stay made", async () => {
  await withDir(async (dir) => {
    let node = DevNode.open({ dataDir: dir });
    const old = node.dev.generate(10);
    const oldHex = toHex((await node.getBlock(old[7].hash))!.raw);
    const summary = node.dev.reorg(3, { blocks: 4 });
    // And a second, through submitBlock: a heavier branch on height 9.
    const parent = (await node.getBlock((await node.getBlockHash(9))!))!;
    const side = [];
    for (let i = 0, prev = parent; i < 3; i++) {
      const b = mineBlock({
        prevHash: prev.hash,
        height: prev.height + 1,
        time: prev.time + 1,
        txs: [],
        fees: 0,
        payout: Uint8Array.of(0x51),
        extraNonce: 500 + i,
      });
      side.push(b);
      const r = await node.submitBlock(toHex(b.bytes));
      equal(r.status, i < 2 ? "inconclusive" : "accepted");
      prev = { ...prev, hash: b.hash, height: prev.height + 1, time: b.header.time };
    }
    const before = await snapshot(node);
    equal(before.tip.hash, side[2].hash);
    equal(before.tip.height, 12);
    equal(before.hashes[8], (await node.getBlockHash(8))!);
    ok(before.hashes[8] !== old[7].hash);
    await node.close();

    node = DevNode.open({ dataDir: dir });
    try {
      deepEqual(await snapshot(node), before);
      equal(await node.getBlock(summary.old_tip), undefined);
      deepEqual(await node.submitBlock(oldHex), {
        status: "rejected",
        hash: old[7].hash,
        reason: "duplicate-invalid: the block is known to be invalid",
      });
      deepEqual(await node.submitBlock(toHex(side[1].bytes)), {
        status: "duplicate",
        hash: side[1].hash,
        reason: null,
      });
      // New blocks differ from every stored one (the extra nonce survived) and extend the tip.
      const more = node.dev.generate(3);
      equal(more[0].prev_hash, side[2].hash);
      equal((await node.getTip()).height, 15);
    } finally {
      await node.close();
    }
  });
});

Deno.test("side-branch blocks stored before a restart count after it", async () => {
  await withDir(async (dir) => {
    let node = DevNode.open({ dataDir: dir });
    node.dev.generate(20);
    const tip = await node.getTip();
    let prev = (await node.getBlock((await node.getBlockHash(18))!))!;
    const side = [];
    for (let i = 0; i < 3; i++) {
      const b = mineBlock({
        prevHash: prev.hash,
        height: prev.height + 1,
        time: prev.time + 1,
        txs: [],
        fees: 0,
        payout: Uint8Array.of(0x51),
        extraNonce: 900 + i,
      });
      side.push(b);
      prev = { ...prev, hash: b.hash, height: prev.height + 1, time: b.header.time };
    }
    for (const b of side.slice(0, 2)) equal((await node.submitBlock(toHex(b.bytes))).status, "inconclusive");
    await node.close();

    node = DevNode.open({ dataDir: dir });
    try {
      deepEqual(await node.getTip(), tip);
      deepEqual(await node.submitBlock(toHex(side[2].bytes)), { status: "accepted", hash: side[2].hash, reason: null });
      deepEqual(await node.getTip(), { hash: side[2].hash, height: 21 });
      equal(await node.getBlockHash(19), side[0].hash);
    } finally {
      await node.close();
    }
  });
});

Deno.test("the store refuses another schema version", async () => {
  await withDir(async (dir) => {
    const node = DevNode.open({ dataDir: dir });
    node.dev.generate(2);
    await node.close();
    const store = NodeStore.open(`${dir}/node.sqlite`);
    equal(store.meta("schema"), "1");
    equal(store.meta("network"), "regtest");
    store.setMeta("schema", "99");
    store.close();
    throws(() => NodeStore.open(`${dir}/node.sqlite`), StoreError);
    throws(() => DevNode.open({ dataDir: dir }), (e: unknown) => e instanceof StoreError && /99/.test(e.message));
  });
});

Deno.test("flush() checkpoints node.sqlite so the file alone holds the state", async () => {
  await withDir(async (dir) => {
    const node = DevNode.open({ dataDir: dir });
    try {
      equal(node.dataDir, dir);
      equal(node.dev.status().data_dir, dir);
      node.dev.generate(101);
      const { txid } = node.dev.send(OTHER_ADDRESS, 77_777, 3);
      const r = await node.flush();
      equal(typeof r.pages, "number");
      ok(r.pages >= 0 && r.duration_ms >= 0);
      const info = await Deno.stat(`${dir}/node.sqlite`);
      ok(info.isFile && info.size > 0);
      const wal = await Deno.stat(`${dir}/node.sqlite-wal`).catch(() => undefined);
      equal(wal?.size ?? 0, 0, "the write-ahead log is emptied");
      // Copy the main file only, while the node still has it open.
      const copy = `${dir}/copy`;
      await Deno.mkdir(copy);
      await Deno.copyFile(`${dir}/node.sqlite`, `${copy}/node.sqlite`);
      const clone = DevNode.open({ dataDir: copy });
      try {
        deepEqual(await clone.getTip(), await node.getTip());
        equal(clone.wallet.address(), node.wallet.address());
        deepEqual(clone.dev.mempool().map((e) => e.txid), [txid]);
      } finally {
        await clone.close();
      }
    } finally {
      await node.close();
      await node.close(); // closing twice is harmless
    }
  });
});

Deno.test("an in-memory node has no data dir and starts fresh each time", async () => {
  const a = DevNode.open();
  a.dev.generate(3);
  equal(a.dataDir, null);
  equal(a.dev.status().data_dir, null);
  await a.close();
  const b = DevNode.open();
  try {
    equal((await b.getTip()).height, 0);
    ok(b.wallet.address() !== a.wallet.address());
  } finally {
    await b.close();
  }
});
