// The admin socket's `node.*` methods: dispatchNode against a real in-memory DevNode, and the same
// methods through serveAdmin on a real Unix socket.
import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { rejectsWith } from "./_admin.ts";
import { addressScript, connectAdmin, DevNode, serveAdmin, toHex } from "../../mod.ts";
import { dispatchNode, NODE_METHODS } from "../../src/admin/node_commands.ts";
import type { DevNodeStatus, ReorgSummary, SendResult } from "../../src/node/dev/controls.ts";
import type { Block, BlockHeader, MempoolEntry, MempoolInfo, Transaction } from "../../src/protocol/chain.ts";
import { testManager } from "../manager/_managed.ts";

/** A regtest address the dev wallet does not own. */
const EXTERNAL = "bcrt1q2vrjxm3d2pc58hjzr95wkk8qmc2v0re0fr63h3";
const UNKNOWN = "ab".repeat(32);
const HEX64 = /^[0-9a-f]{64}$/;

/** A fresh in-memory node with a pinned, advancing clock. */
function openNode(opts: { minFeeRate?: number } = {}): DevNode {
  let now = 1_700_000_000;
  return DevNode.open({ clock: () => now++, ...opts });
}

const call = <T>(node: DevNode | undefined, method: string, params: Record<string, unknown> = {}) =>
  dispatchNode(node, method, params) as Promise<T>;

Deno.test("dispatchNode serves every node method on an in-memory dev node", async (t) => {
  const node = openNode();
  const genesis = (await node.getTip()).hash;
  const sent: SendResult[] = [];
  try {
    await t.step("status at genesis: empty chain, mempool and wallet, in memory", async () => {
      const s = await call<DevNodeStatus>(node, "node.status");
      equal(s.network, "regtest");
      equal(s.height, 0);
      equal(s.tip_hash, genesis);
      deepEqual(s.mempool, { transactions: 0, vsize: 0, fees_sats: 0, min_fee_rate: 1 });
      equal(s.data_dir, null);
      equal(s.wallet.address, node.wallet.address());
      equal(s.wallet.keys, 1);
      deepEqual([s.wallet.spendable, s.wallet.confirmed, s.wallet.immature, s.wallet.unconfirmed], [0, 0, 0, 0]);
    });

    await t.step("generate without an address pays the wallet", async () => {
      const hs = await call<BlockHeader[]>(node, "node.generate", { count: 1 });
      equal(hs.length, 1);
      equal(hs[0].height, 1);
      equal(hs[0].prev_hash, genesis);
      match(hs[0].hash, HEX64);
      const s = await call<DevNodeStatus>(node, "node.status");
      equal(s.tip_hash, hs[0].hash);
      equal(s.wallet.immature, 5_000_000_000);
    });

    await t.step("generate with an address pays that address, not the wallet", async () => {
      const hs = await call<BlockHeader[]>(node, "node.generate", { count: 2, address: EXTERNAL });
      deepEqual(hs.map((h) => h.height), [2, 3]);
      const block = (await node.getBlock(hs[1].hash))!;
      const coinbase = (await node.getUtxo({ txid: block.txids[0], vout: 0 }))!;
      equal(coinbase.script_pubkey, toHex(addressScript(EXTERNAL)));
      equal((await call<DevNodeStatus>(node, "node.status")).wallet.immature, 5_000_000_000);
    });

    await t.step("send after 101 blocks spends the matured coinbase", async () => {
      await call(node, "node.generate", { count: 98 });
      equal((await node.getTip()).height, 101);
      equal((await call<DevNodeStatus>(node, "node.status")).wallet.spendable, 5_000_000_000);
      const r = await call<SendResult>(node, "node.send", { address: EXTERNAL, amount_sats: 100_000, fee_rate: 3 });
      match(r.txid, HEX64);
      // The wallet pays 3 sat/vB on a size that counts a 72-byte signature; a real one is 70 to 72 bytes,
      // so this one-input payment may be a vbyte smaller than it paid for (3.02 sat/vB, not 3).
      ok(r.fee_sats === 3 * r.vsize || r.fee_sats === 3 * (r.vsize + 1), `${r.fee_sats} sats for ${r.vsize} vB`);
      equal(r.fee_rate, r.fee_sats / r.vsize);
      sent.push(r);
      const s = await call<DevNodeStatus>(node, "node.status");
      equal(s.mempool.transactions, 1);
      equal(s.mempool.fees_sats, r.fee_sats);
      equal(s.wallet.confirmed, 0);
      equal(s.wallet.unconfirmed, 5_000_000_000 - 100_000 - r.fee_sats);
    });

    await t.step("send without fee_rate pays the next-block estimate, spending unconfirmed change", async () => {
      const estimate = (await call<DevNodeStatus>(node, "node.status")).fee_estimate;
      const r = await call<SendResult>(node, "node.send", { address: EXTERNAL, amount_sats: 20_000 });
      ok(r.fee_rate >= estimate, `fee rate ${r.fee_rate} below the estimate ${estimate}`);
      sent.push(r);
    });

    await t.step("mempool: totals and entries, highest fee rate first, with dependencies", async () => {
      const { info, entries } = await call<{ info: MempoolInfo; entries: MempoolEntry[] }>(node, "node.mempool");
      equal(info.transaction_count, 2);
      equal(info.total_fee_sats, sent[0].fee_sats + sent[1].fee_sats);
      equal(info.size_bytes, sent[0].vsize + sent[1].vsize);
      deepEqual(entries.map((e) => e.txid).sort(), sent.map((s) => s.txid).sort());
      for (let i = 1; i < entries.length; i++) ok(entries[i - 1].fee_rate >= entries[i].fee_rate);
      deepEqual(entries.find((e) => e.txid === sent[1].txid)!.depends, [sent[0].txid]);
    });

    await t.step("tx finds a mempool transaction, then the same one mined", async () => {
      const pooled = await call<Transaction>(node, "node.tx", { txid: sent[0].txid });
      equal(pooled.txid, sent[0].txid);
      equal(pooled.block_hash, null);
      equal(pooled.confirmations, 0);
      equal(pooled.vsize, sent[0].vsize);
      const [h] = await call<BlockHeader[]>(node, "node.generate", { count: 1 });
      const mined = await call<Transaction>(node, "node.tx", { txid: sent[0].txid.toUpperCase() });
      deepEqual([mined.block_hash, mined.block_height, mined.confirmations], [h.hash, 102, 1]);
      deepEqual(mined.raw, pooled.raw);
    });

    await t.step("block by hash and by height are the same main-chain block", async () => {
      const byHeight = await call<Block>(node, "node.block", { height: 102 });
      const byHash = await call<Block>(node, "node.block", { hash: byHeight.hash });
      deepEqual(byHash, byHeight);
      equal(byHeight.height, 102);
      equal(byHeight.prev_hash, (await node.getBlockHash(101))!);
      equal(byHeight.txids.length, 3);
      deepEqual(byHeight.txids.slice(1).sort(), sent.map((s) => s.txid).sort());
      equal((await call<Block>(node, "node.block", { height: 0 })).hash, genesis);
    });

    await t.step("reorg replaces the tip blocks; the old tip is no longer a main-chain block", async () => {
      const oldTip = (await node.getTip()).hash;
      const r = await call<ReorgSummary>(node, "node.reorg", { depth: 2, blocks: 3 });
      deepEqual(r, {
        old_tip: oldTip,
        new_tip: (await node.getTip()).hash,
        fork_height: 100,
        disconnected: 2,
        connected: 3,
        mempool_size: 2,
      });
      equal((await node.getTip()).height, 103);
      await rejectsWith(call(node, "node.block", { hash: oldTip }), "NOT_FOUND", new RegExp(oldTip));
      const again = await call<ReorgSummary>(node, "node.reorg", { depth: 1 });
      deepEqual([again.disconnected, again.connected, again.fork_height], [1, 2, 102]);
    });

    await t.step("address makes a new wallet key each time", async () => {
      const a = await call<{ address: string }>(node, "node.address");
      const b = await call<{ address: string }>(node, "node.address");
      match(a.address, /^bcrt1q/);
      notEqual(a.address, b.address);
      notEqual(a.address, node.wallet.address());
      equal((await call<DevNodeStatus>(node, "node.status")).wallet.keys, 3);
    });

    await t.step("flush of an in-memory node writes nothing", async () => {
      const f = await call<{ pages: number; duration_ms: number }>(node, "node.flush");
      equal(f.pages, 0);
      equal(typeof f.duration_ms, "number");
    });
  } finally {
    await node.close();
  }
});

Deno.test("dispatchNode errors: codes, messages naming the param, and nothing changed", async (t) => {
  const node = openNode();
  try {
    node.dev.generate(101);
    const tip = (await node.getTip()).hash;

    await t.step("no dev node: UNAVAILABLE", async () => {
      await rejectsWith(call(undefined, "node.status"), "UNAVAILABLE", /without the embedded dev node/);
      await rejectsWith(call(undefined, "node.generate", { count: 1 }), "UNAVAILABLE");
    });

    await t.step("an unknown node method: METHOD_NOT_FOUND listing the methods", async () => {
      const e = await rejectsWith(call(node, "node.frobnicate"), "METHOD_NOT_FOUND", /'node\.frobnicate'/);
      for (const m of NODE_METHODS) ok(e.message.includes(m), `${m} missing from: ${e.message}`);
    });

    const bad: [string, string, Record<string, unknown>, RegExp][] = [
      ["count 0", "node.generate", { count: 0 }, /'count'.*0/],
      ["count 'x'", "node.generate", { count: "x" }, /'count' must be a number, got "x"/],
      ["count missing", "node.generate", {}, /'count'.*nothing/],
      ["count 1.5", "node.generate", { count: 1.5 }, /'count'/],
      ["generate to a bad address", "node.generate", { count: 1, address: "nope" }, /'nope' is not a regtest address/],
      ["empty address", "node.generate", { count: 1, address: "" }, /'address'/],
      ["send without address", "node.send", { amount_sats: 1000 }, /'address'/],
      ["send to a bad address", "node.send", { address: "bc1qnope", amount_sats: 1000 }, /'bc1qnope'.*regtest/],
      ["send without amount", "node.send", { address: EXTERNAL }, /'amount_sats'/],
      ["amount as text", "node.send", { address: EXTERNAL, amount_sats: "1000" }, /'amount_sats'/],
      ["amount too big", "node.send", { address: EXTERNAL, amount_sats: 15e9 }, /insufficient funds: 15000000000 sats/],
      ["negative amount", "node.send", { address: EXTERNAL, amount_sats: -5 }, /amount/],
      ["fee_rate as text", "node.send", { address: EXTERNAL, amount_sats: 1000, fee_rate: "x" }, /'fee_rate'/],
      ["fee_rate 0", "node.send", { address: EXTERNAL, amount_sats: 1000, fee_rate: 0 }, /fee rate/],
      ["block without hash or height", "node.block", {}, /'hash'/],
      ["block height as text", "node.block", { height: "7" }, /'height'/],
      ["tx without txid", "node.tx", {}, /'txid'/],
      ["reorg depth 0", "node.reorg", { depth: 0 }, /'depth'.*0/],
      ["reorg deeper than the chain", "node.reorg", { depth: 102 }, /'depth'.*1 to 101/],
      ["reorg blocks 0", "node.reorg", { depth: 1, blocks: 0 }, /'blocks'/],
    ];
    for (const [what, method, params, message] of bad) {
      await t.step(`${what}: INVALID_PARAMS`, async () => {
        await rejectsWith(call(node, method, params), "INVALID_PARAMS", message);
      });
    }

    await t.step("the bad calls changed neither the chain nor the mempool", async () => {
      deepEqual(await node.getTip(), { hash: tip, height: 101 });
      equal((await node.getMempoolInfo()).transaction_count, 0);
    });

    await t.step("unknown block hash or height, or txid: NOT_FOUND naming it", async () => {
      await rejectsWith(call(node, "node.block", { hash: UNKNOWN }), "NOT_FOUND", new RegExp(UNKNOWN));
      await rejectsWith(call(node, "node.block", { height: 999 }), "NOT_FOUND", /height 999/);
      await rejectsWith(call(node, "node.block", { height: -1 }), "INVALID_PARAMS", /'height'.*-1/);
      await rejectsWith(call(node, "node.block", { height: 1.5 }), "INVALID_PARAMS", /'height'.*1\.5/);
      await rejectsWith(call(node, "node.tx", { txid: UNKNOWN }), "NOT_FOUND", new RegExp(UNKNOWN));
    });
  } finally {
    await node.close();
  }
});

Deno.test("dispatchNode: a send the mempool refuses is INVALID_PARAMS with data.reject_code", async () => {
  const node = openNode({ minFeeRate: 5 });
  try {
    node.dev.generate(101);
    const e = await rejectsWith(
      call(node, "node.send", { address: EXTERNAL, amount_sats: 100_000, fee_rate: 2 }),
      "INVALID_PARAMS",
      /refused the transaction: fee-too-low/,
    );
    const data = e.data as { reject_code: string; txid: string };
    equal(data.reject_code, "fee-too-low");
    match(data.txid, HEX64);
    equal(await node.getTransaction(data.txid), undefined);
    equal((await node.getMempoolInfo()).transaction_count, 0);
  } finally {
    await node.close();
  }
});

Deno.test({
  name: "node.flush with a data dir reports the WAL pages it wrote back",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "blvm-flush-" });
    const node = DevNode.open({ dataDir: dir });
    try {
      node.dev.generate(20);
      const wal = (await Deno.stat(`${dir}/node.sqlite-wal`)).size;
      ok(wal > 0, "the WAL is empty before flush");
      const before = (await Deno.stat(`${dir}/node.sqlite`)).size;
      const f = await call<{ pages: number }>(node, "node.flush");
      ok((await Deno.stat(`${dir}/node.sqlite`)).size > before, "flush did not write into node.sqlite");
      ok(f.pages > 0, `flush wrote pages but reported ${f.pages}`);
      equal((await call<{ pages: number }>(node, "node.flush")).pages, 0);
    } finally {
      await node.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("serveAdmin routes node.* to the dev node, before the modules have started", async () => {
  await using tm = await testManager({}, "", { start: false });
  const node = openNode({ minFeeRate: 5 });
  const path = `${tm.root}/run/admin.sock`;
  const server = await serveAdmin(tm.manager, path, () => {}, node);
  const admin = await connectAdmin(path);
  try {
    equal(tm.manager.started, false);
    const [h] = await admin.call("node.generate", { count: 1 }) as BlockHeader[];
    const s = await admin.call("node.status") as DevNodeStatus;
    deepEqual([s.height, s.tip_hash], [1, h.hash]);
    equal(node.dev.status().tip_hash, h.hash);
    // Module commands still wait for the start.
    await rejectsWith(admin.call("load", { name: "x" }), "UNAVAILABLE", /still starting/);
    // Errors keep their code and data across the socket.
    await rejectsWith(admin.call("node.generate", { count: "x" }), "INVALID_PARAMS", /'count'/);
    await rejectsWith(admin.call("node.tx", { txid: UNKNOWN }), "NOT_FOUND");
    await rejectsWith(admin.call("node.nope"), "METHOD_NOT_FOUND", /node\.nope/);
    node.dev.generate(100);
    const refused = await rejectsWith(
      admin.call("node.send", { address: EXTERNAL, amount_sats: 50_000, fee_rate: 1 }),
      "INVALID_PARAMS",
    );
    equal((refused.data as { reject_code: string }).reject_code, "fee-too-low");
    // The unknown-method message of the admin socket lists the node methods too.
    const e = await rejectsWith(admin.call("frobnicate"), "METHOD_NOT_FOUND");
    match(e.message, /stop, node\.status, node\.generate, .*node\.flush/);
  } finally {
    await admin.close();
    await server.close();
    await node.close();
  }
});

Deno.test("serveAdmin without a dev node answers node.* with UNAVAILABLE and keeps serving", async () => {
  await using tm = await testManager({}, "", { start: false });
  const path = `${tm.root}/run/admin.sock`;
  const server = await serveAdmin(tm.manager, path, () => {});
  const admin = await connectAdmin(path);
  try {
    await rejectsWith(admin.call("node.status"), "UNAVAILABLE", /without the embedded dev node/);
    await rejectsWith(admin.call("node.generate", { count: 1 }), "UNAVAILABLE");
    deepEqual(await admin.call("list"), []);
  } finally {
    await admin.close();
    await server.close();
  }
});
