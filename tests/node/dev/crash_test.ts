// A dev node process SIGKILLed between storing a block and recording it connected (the moment a
// crash used to leave a valid block stored but never connected, and a restarted node then called it a
// duplicate): after the crash the block is absent or stored and connected, never stored alone; the
// same for a reorg's disconnects and connects; and a restarted node accepts and connects the block.
import { deepEqual, equal, ok } from "node:assert/strict";
import { DevNode } from "../../../src/node/dev/node.ts";
import { NodeStore } from "../../../src/node/dev/store.ts";
import type { CrashPlan } from "./_crash_child.ts";
import { decodeTx, fromHex, mineBlock, toHex } from "./_craft.ts";
import { snapshot, withDir } from "./_store_faults.ts";

const CHILD = new URL("./_crash_child.ts", import.meta.url).pathname;
const OTHER = "bcrt1q2vrjxm3d2pc58hjzr95wkk8qmc2v0re0fr63h3";
const OP_TRUE = Uint8Array.of(0x51);

/** Run the crashing child on `plan`; it must have died by SIGKILL at the armed moment. */
async function crash(plan: CrashPlan): Promise<void> {
  const file = `${plan.dir}.plan.json`;
  await Deno.writeTextFile(file, JSON.stringify(plan));
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CHILD, file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    equal(out.signal, "SIGKILL", `the child reached the armed moment and was killed there:\n${text}`);
  } finally {
    await Deno.remove(file);
  }
}

/** The store, read directly: every valid stored block of the main chain's height range is connected. */
function stored(dir: string): { headers: ReturnType<NodeStore["headers"]>; chain: string[] } {
  const store = NodeStore.open(`${dir}/node.sqlite`);
  try {
    return { headers: store.headers(), chain: store.chain() };
  } finally {
    store.close();
  }
}

/** A block on `parent` paying OP_TRUE, with `txs` (hex) after the coinbase. */
function blockOn(parent: { hash: string; height: number; time: number }, nonce: number, txs: string[] = []) {
  const decoded = txs.map((t) => decodeTx(fromHex(t)));
  return mineBlock({
    prevHash: parent.hash,
    height: parent.height + 1,
    time: parent.time + 1,
    txs: decoded,
    fees: 0,
    payout: OP_TRUE,
    extraNonce: nonce,
  });
}

Deno.test("a crash between storing and connecting a block leaves it absent; the restarted node connects it", async () => {
  await withDir(async (dir) => {
    const data = `${dir}/node`;
    let node = DevNode.open({ dataDir: data });
    node.dev.generate(101);
    const paid = [node.dev.send(OTHER, 100_000, 3).txid, node.dev.send(OTHER, 200_000, 5).txid];
    const tip = (await node.getBlock((await node.getTip()).hash))!;
    const txs = [];
    for (const txid of paid) txs.push(toHex((await node.getTransaction(txid))!.raw));
    const block = blockOn(tip, 1, txs);
    const before = await snapshot(node);
    await node.close();

    await crash({ dir: data, killAt: { hash: block.hash }, submit: [toHex(block.bytes)] });

    const after = stored(data);
    const kept = after.headers.some((h) => h.hash === block.hash);
    ok(!kept || after.chain.includes(block.hash), "never stored without being connected");
    equal(kept, false, "the transaction that stored it was never committed");
    node = DevNode.open({ dataDir: data });
    try {
      deepEqual(await snapshot(node), before, "chain, UTXO set, mempool and wallet as before the crash");
      deepEqual(await node.submitBlock(toHex(block.bytes)), { status: "accepted", hash: block.hash, reason: null });
      equal((await node.getTip()).hash, block.hash);
      deepEqual(node.dev.mempool(), [], "the block confirmed both payments");
      await node.close();
      node = DevNode.open({ dataDir: data });
      equal((await node.getTip()).hash, block.hash, "and it stays connected");
    } finally {
      await node.close();
    }
  });
});

Deno.test("a crash in the middle of a reorg to a submitted branch leaves the old chain whole", async () => {
  await withDir(async (dir) => {
    const data = `${dir}/node`;
    let node = DevNode.open({ dataDir: data });
    node.dev.generate(103);
    const paid = node.dev.send(OTHER, 100_000, 3).txid;
    node.dev.generate(1); // the tip confirms a payment the reorg returns to the mempool
    const fork = (await node.getBlock((await node.getBlockHash(102))!))!;
    const a = blockOn(fork, 7);
    const b = blockOn({ hash: a.hash, height: 103, time: a.header.time }, 8);
    const c = blockOn({ hash: b.hash, height: 104, time: b.header.time }, 9);
    equal((await node.submitBlock(toHex(a.bytes))).status, "inconclusive");
    equal((await node.submitBlock(toHex(b.bytes))).status, "inconclusive");
    const before = await snapshot(node);
    await node.close();

    // c makes the branch heavier: two blocks disconnected, a and b connected (b is where it dies), then c.
    await crash({ dir: data, killAt: { hash: b.hash }, submit: [toHex(c.bytes)] });

    const after = stored(data);
    deepEqual(after.chain, before.hashes, "the old chain, whole: no block of it disconnected, none of the branch in");
    ok(!after.headers.some((h) => h.hash === c.hash), "c, stored in the same transaction, is absent");
    node = DevNode.open({ dataDir: data });
    try {
      deepEqual(await snapshot(node), before);
      deepEqual(await node.submitBlock(toHex(c.bytes)), { status: "accepted", hash: c.hash, reason: null });
      equal((await node.getTip()).hash, c.hash);
      deepEqual(node.dev.mempool().map((e) => e.txid), [paid], "the disconnected payment is back in the mempool");
    } finally {
      await node.close();
    }
  });
});

Deno.test("a crash in the middle of dev.reorg leaves the old chain whole and valid", async () => {
  await withDir(async (dir) => {
    const data = `${dir}/node`;
    let node = DevNode.open({ dataDir: data });
    node.dev.generate(20);
    const before = await snapshot(node);
    await node.close();

    // reorg(3) invalidates and disconnects blocks 18-20 and mines four: it dies connecting the second, 19.
    await crash({ dir: data, killAt: { height: 19, keep: before.hashes as string[] }, reorg: 3 });

    const after = stored(data);
    deepEqual(after.chain, before.hashes);
    deepEqual(after.headers.filter((h) => h.status === "invalid"), [], "the invalidation was not kept either");
    equal(after.headers.length, 21, "none of the new blocks was kept");
    node = DevNode.open({ dataDir: data });
    try {
      deepEqual(await snapshot(node), before);
      const r = node.dev.reorg(3);
      deepEqual([r.old_tip, r.disconnected, r.connected], [before.tip.hash, 3, 4]);
    } finally {
      await node.close();
    }
  });
});
