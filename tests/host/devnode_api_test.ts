// The NodeAPI served from the embedded dev node to real module processes over real sockets:
// get_utxo of real outputs, submit_transaction of wallet-signed transactions (and its capability),
// and the blockchain events of a reorg. Fixtures: tests/fixtures/api_module.ts and events_module.ts.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { DEFAULT_CAPABILITIES, DevNode, type ModuleHandle, toHex } from "../../mod.ts";
import type { WalletCoin } from "../../src/node/dev/wallet.ts";
import type { SubmitTransactionResult, Utxo } from "../../src/protocol/chain.ts";
import { FIXTURES, processAlive, type TestHost, testHost } from "../_host_helpers.ts";
import { type Outcome, run, start } from "./_api_fixture.ts";

const EXTERNAL = "bcrt1q2vrjxm3d2pc58hjzr95wkk8qmc2v0re0fr63h3";
const HEX64 = /^[0-9a-f]{64}$/;
const READER = [...DEFAULT_CAPABILITIES, "read_utxo", "read_mempool"];
const SENDER = [...READER, "send_transactions"];
const TIMEOUT = 20_000;

/** A host whose backend is a fresh in-memory dev node with `blocks` mined; disposing closes both. */
async function devHost(blocks: number): Promise<{ t: TestHost; node: DevNode } & AsyncDisposable> {
  let now = 1_700_000_000;
  const node = DevNode.open({ clock: () => now++ });
  if (blocks) node.dev.generate(blocks);
  const t = await testHost({ backend: node });
  return {
    t,
    node,
    async [Symbol.asyncDispose]() {
      await t[Symbol.asyncDispose]();
      await node.close();
    },
  };
}

/** The call must succeed; returns its result. */
async function result<T>(t: TestHost, name: string, method: string, params: unknown): Promise<T> {
  const out = await run(t, name, method, params);
  ok(out.ok, `${name} ${method} failed: ${JSON.stringify(out)}`);
  return out.result as T;
}

/** A wallet-signed payment to EXTERNAL from `coins`, as hex. */
function payment(node: DevNode, amount: number, coins: WalletCoin[] = node.dev.coins()): Uint8Array {
  return node.wallet.send(EXTERNAL, amount, 2, coins);
}

Deno.test("get_utxo answers real outputs of the dev node's chain, until the chain spends them", async () => {
  await using h = await devHost(101);
  const { t, node } = h;
  await start(t, { name: "reader", capabilities: SENDER }, { name: "plain" });
  const coinbase = (await node.getBlock((await node.getBlockHash(1))!))!.txids[0];

  const utxo = await result<Utxo>(t, "reader", "get_utxo", { txid: coinbase.toUpperCase(), vout: 0 });
  deepEqual(utxo, {
    txid: coinbase,
    vout: 0,
    value_sats: 5_000_000_000,
    script_pubkey: toHex(node.wallet.script()),
    height: 1,
    coinbase: true,
    confirmations: 101,
  });

  const missing = await run(t, "reader", "get_utxo", { txid: coinbase, vout: 7 });
  deepEqual([missing.ok, missing.code], [false, "NOT_FOUND"]);
  ok(missing.message!.includes(`${coinbase}:7`), missing.message);
  const denied = await run(t, "plain", "get_utxo", { txid: coinbase, vout: 0 });
  deepEqual([denied.code, denied.data], ["PERMISSION_DENIED", { capability: "read_utxo", method: "get_utxo" }]);

  // Spend it: a mempool spend leaves it unspent in the chain; a mined one does not.
  const coin = node.dev.coins().find((c) => c.txid === coinbase)!;
  const sent = await result<SubmitTransactionResult>(t, "reader", "submit_transaction", {
    raw: payment(node, 100_000, [coin]),
  });
  equal(sent.status, "accepted");
  equal((await result<Utxo>(t, "reader", "get_utxo", { txid: coinbase, vout: 0 })).confirmations, 101);
  node.dev.generate(1);
  const spent = await run(t, "reader", "get_utxo", { txid: coinbase, vout: 0 });
  equal(spent.code, "NOT_FOUND", JSON.stringify(spent));
  const tx = (await node.getTransaction(sent.txid!))!;
  equal(tx.confirmations, 1);
  const outputs = await Promise.all([0, 1].map((vout) => run(t, "reader", "get_utxo", { txid: sent.txid, vout })));
  const paid = outputs.map((o) => o.result as Utxo).find((u) => u.value_sats === 100_000)!;
  ok(paid, `no 100000-sat output among ${JSON.stringify(outputs)}`);
  deepEqual([paid.coinbase, paid.height, paid.confirmations], [false, 102, 1]);
});

Deno.test("submit_transaction: accepted with send_transactions, PERMISSION_DENIED without it", async () => {
  await using h = await devHost(101);
  const { t, node } = h;
  await start(t, { name: "sender", capabilities: SENDER }, { name: "reader", capabilities: READER });
  const raw = payment(node, 250_000);

  const denied: Outcome = await run(t, "reader", "submit_transaction", { raw });
  equal(denied.ok, false);
  equal(denied.code, "PERMISSION_DENIED");
  deepEqual(denied.data, { capability: "send_transactions", method: "submit_transaction" });
  match(denied.message!, /'send_transactions'.*'reader'/);
  equal((await node.getMempoolInfo()).transaction_count, 0, "a denied submit reached the mempool");

  const accepted = await result<SubmitTransactionResult>(t, "sender", "submit_transaction", { raw });
  match(accepted.txid!, HEX64);
  deepEqual(accepted, { status: "accepted", txid: accepted.txid, reject_code: null, reason: null });
  deepEqual(await node.getMempoolTxids(), [accepted.txid]);
  deepEqual((await node.getTransaction(accepted.txid!))!.raw, raw);
  // Other modules see it through the NodeAPI.
  equal(await result<boolean>(t, "reader", "check_transaction_in_mempool", { txid: accepted.txid }), true);
});

Deno.test("submit_transaction: a refused transaction is a result with status and reject_code, not an error", async () => {
  await using h = await devHost(101);
  const { t, node } = h;
  await start(t, { name: "sender", capabilities: SENDER });
  const snapshot = node.dev.coins();
  const first = payment(node, 100_000, snapshot);
  const accepted = await result<SubmitTransactionResult>(t, "sender", "submit_transaction", { raw: first });
  equal(accepted.status, "accepted");

  const again = await result<SubmitTransactionResult>(t, "sender", "submit_transaction", { raw: first });
  deepEqual([again.status, again.txid, again.reject_code], ["duplicate", accepted.txid, "already-known"]);

  // Another payment from the same coins spends what the first one spends.
  const conflict = await result<SubmitTransactionResult>(t, "sender", "submit_transaction", {
    raw: payment(node, 70_000, snapshot),
  });
  equal(conflict.status, "rejected");
  equal(conflict.reject_code, "mempool-conflict");
  match(conflict.txid!, HEX64);
  ok(conflict.reason!.includes(accepted.txid!), conflict.reason!);

  // The newest coinbase is 1 block deep: spending it is premature.
  const tip = (await node.getBlock((await node.getTip()).hash))!;
  const young = { txid: tip.txids[0], vout: 0, value: 5_000_000_000, script: node.wallet.script() };
  const premature = await result<SubmitTransactionResult>(t, "sender", "submit_transaction", {
    raw: payment(node, 10_000, [young]),
  });
  deepEqual([premature.status, premature.reject_code], ["rejected", "premature-coinbase-spend"]);

  const junk = await result<SubmitTransactionResult>(t, "sender", "submit_transaction", {
    raw: new Uint8Array([0]),
  });
  deepEqual([junk.status, junk.txid, junk.reject_code], ["rejected", null, "malformed"]);
  deepEqual(await node.getMempoolTxids(), [accepted.txid], "a refused transaction reached the mempool");

  // Once mined, the same transaction is a duplicate of a main-chain one.
  node.dev.generate(1);
  const mined = await result<SubmitTransactionResult>(t, "sender", "submit_transaction", { raw: first });
  deepEqual([mined.status, mined.txid, mined.reject_code], ["duplicate", accepted.txid, "already-mined"]);

  // Hex is not bytes (protocol 2): bad params, an error, not a result.
  const odd = await run(t, "sender", "submit_transaction", { raw: "abc" });
  deepEqual([odd.ok, odd.code], [false, "INVALID_PARAMS"]);
  match(odd.message!, /'raw'/);
});

interface Stats {
  counts: Record<string, number>;
  records: { type: string; seq: number; replay: boolean; payload: Record<string, unknown> }[];
}

Deno.test("A module subscribed to NewBlock, BlockDisconnected and ChainReorg receives a reorg in order", async () => {
  await using h = await devHost(5);
  const { t, node } = h;
  const types = ["NewBlock", "BlockDisconnected", "ChainReorg"];
  const handle: ModuleHandle = await t.host.startModule({
    name: "watcher",
    entry: `${FIXTURES}events_module.ts`,
    config: { subscribe: [{ types }] },
  });
  await t.waitForLog((r) => r.module === "watcher" && r.message === "ready", TIMEOUT);
  ok(t.logs.some((r) => r.module === "watcher" && r.message === "subscribed"), "the subscription failed");

  const old4 = (await node.getBlockHash(4))!;
  const old5 = (await node.getBlockHash(5))!;
  const fork = (await node.getBlockHash(3))!;
  const summary = node.dev.reorg(2);

  // Poll the module until the reorg's last event has arrived.
  let last = await handle.session.invoke("stats", {}) as Stats;
  for (const end = Date.now() + TIMEOUT; !last.counts.ChainReorg && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 20));
    last = await handle.session.invoke("stats", {}) as Stats;
  }
  ok(last.counts.ChainReorg, `No ChainReorg within ${TIMEOUT} ms: ${JSON.stringify(last.counts)}`);
  ok(await processAlive(handle.pid), "the module is not a live process");

  const got = last.records;
  const header = async (height: number) => (await node.getHeader((await node.getBlockHash(height))!))!;
  const [n4, n5, n6] = await Promise.all([header(4), header(5), header(6)]);
  const newBlock = (b: typeof n4) => ({
    type: "NewBlock",
    payload: { hash: b.hash, height: b.height, prev_hash: b.prev_hash, time: b.time },
  });
  deepEqual(got.map(({ type, payload }) => ({ type, payload })), [
    { type: "BlockDisconnected", payload: { hash: old5, height: 5 } },
    { type: "BlockDisconnected", payload: { hash: old4, height: 4 } },
    newBlock(n4),
    newBlock(n5),
    newBlock(n6),
    {
      type: "ChainReorg",
      payload: { old_tip: old5, new_tip: n6.hash, fork_height: 3, disconnected: 2, connected: 3 },
    },
  ]);
  equal(n4.prev_hash, fork);
  deepEqual([summary.old_tip, summary.new_tip], [old5, n6.hash]);
  ok(got.every((r) => !r.replay), "replayed events");
  // Sequence numbers count per type, from the host's first publication of that type: no gaps.
  const seqs = (type: string) => got.filter((r) => r.type === type).map((r) => r.seq);
  deepEqual([seqs("BlockDisconnected"), seqs("NewBlock"), seqs("ChainReorg")], [[1, 2], [1, 2, 3], [1]]);
  deepEqual(Object.keys(last.counts).sort(), [...types].sort());
});
