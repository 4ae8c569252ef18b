import assert from "node:assert/strict";
import { call, devTest, INVALID, NOT_FOUND, rejectsWith } from "./_node_api.ts";
import { createNodeApiHandlers } from "../../src/host/node_api.ts";
import { BackendUnavailableError, type NodeBackend } from "../../src/node/backend.ts";
import { decodeTx } from "../../src/node/dev/tx_codec.ts";
import { DevNode } from "../../src/node/dev/node.ts";
import { toHex } from "../../src/node/header.ts";
import type { OutPoint, Transaction } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

/** `node` with some backend methods replaced (DevNode cannot be subclassed). */
function wrap(node: DevNode, overrides: Partial<Record<keyof NodeBackend, unknown>>): NodeBackend {
  return new Proxy(node, {
    get: (t, k) => {
      if (Object.hasOwn(overrides, k)) return overrides[k as keyof NodeBackend];
      const v = Reflect.get(t, k);
      return typeof v === "function" ? v.bind(t) : v;
    },
  }) as NodeBackend;
}

const NO_PARAM_METHODS = [
  "get_chain_tip",
  "get_block_height",
  "get_chain_info",
  "get_sync_status",
  "get_mempool_transactions",
  "get_mempool_size",
  "get_network_stats",
  "get_network_peers",
  "get_block_template",
];

Deno.test("createNodeApiHandlers() serves exactly the chain, mempool, network and mining methods", async () => {
  const node = DevNode.open();
  const api = createNodeApiHandlers(node);
  await node.close();
  assert.deepEqual(
    Object.keys(api).sort(),
    [
      ...NO_PARAM_METHODS,
      "get_block",
      "get_block_header",
      "get_block_by_height",
      "get_block_hash",
      "get_transaction",
      "has_transaction",
      "get_utxo",
      "get_mempool_transaction",
      "check_transaction_in_mempool",
      "get_fee_estimate",
      "submit_block",
      "submit_transaction",
    ].sort(),
  );
});

devTest("no-param methods return the backend's answer", async (node, api) => {
  const headers = node.dev.generate(101);
  const sent = node.dev.send(node.wallet.newAddress(), 100_000, 5);
  const expected: Record<string, unknown> = {
    get_chain_tip: { hash: headers[100].hash, height: 101 },
    get_block_height: 101,
    get_chain_info: await node.getChainInfo(),
    get_sync_status: await node.getSyncStatus(),
    get_mempool_transactions: [sent.txid],
    get_mempool_size: {
      transaction_count: 1,
      size_bytes: sent.vsize,
      total_fee_sats: sent.fee_sats,
      min_fee_rate: 1,
    },
    get_network_stats: await node.getNetworkStats(),
    get_network_peers: [],
  };
  for (const [method, value] of Object.entries(expected)) assert.deepEqual(await call(api, method, {}), value, method);
  assert.equal((await call(api, "get_chain_info", {}) as { tip_hash: string }).tip_hash, headers[100].hash);
  const template = await call(api, "get_block_template", {}) as {
    height: number;
    prev_hash: string;
    coinbase_value_sats: number;
    transactions: { txid: string; fee_sats: number }[];
  };
  assert.equal(template.height, 102);
  assert.equal(template.prev_hash, headers[100].hash);
  assert.equal(template.coinbase_value_sats, 5_000_000_000 + sent.fee_sats);
  assert.deepEqual(template.transactions.map((t) => [t.txid, t.fee_sats]), [[sent.txid, sent.fee_sats]]);
});

devTest("no-param methods reject any param, naming it", async (_node, api) => {
  for (const method of NO_PARAM_METHODS) {
    await rejectsWith(
      call(api, method, { x: 1 }),
      INVALID,
      new RegExp(`^Unexpected param "x" for '${method}': it takes no params$`),
    );
  }
  await rejectsWith(call(api, "get_block_height", { constructor: 1 }), INVALID, /"constructor"/);
  await rejectsWith(call(api, "get_block_height", JSON.parse('{"__proto__": 1}')), INVALID, /"__proto__"/);
});

devTest("get_transaction returns block and mempool transactions; has_transaction says whether it exists", async (
  node,
  api,
) => {
  node.dev.generate(101);
  const mined = node.dev.send(node.wallet.newAddress(), 100_000, 5);
  const [h] = node.dev.generate(1);
  const pending = node.dev.send(node.wallet.newAddress(), 200_000, 5);
  const inBlock = await call(api, "get_transaction", { txid: mined.txid.toUpperCase() }) as Transaction;
  assert.equal(inBlock.txid, mined.txid);
  assert.equal(inBlock.block_hash, h.hash);
  assert.equal(inBlock.block_height, 102);
  assert.equal(inBlock.confirmations, 1);
  node.dev.generate(1, { withMempool: false });
  assert.equal((await call(api, "get_transaction", { txid: mined.txid }) as Transaction).confirmations, 2);
  const inPool = await call(api, "get_transaction", { txid: pending.txid }) as Transaction;
  assert.deepEqual(inPool, await node.getTransaction(pending.txid));
  assert.equal(inPool.block_hash, null);
  assert.equal(inPool.confirmations, 0);
  assert.equal(await call(api, "has_transaction", { txid: mined.txid }), true);
  assert.equal(await call(api, "has_transaction", { txid: pending.txid.toUpperCase() }), true);
  assert.equal(await call(api, "has_transaction", { txid: "cd".repeat(32) }), false);
});

devTest("get_transaction answers NOT_FOUND naming the txid", async (_node, api) => {
  const txid = "cd".repeat(32);
  await rejectsWith(
    call(api, "get_transaction", { txid }),
    NOT_FOUND,
    new RegExp(`^No transaction with txid ${txid} in a main-chain block or the mempool$`),
  );
});

/** The first output of block 1's coinbase, which pays the wallet 50 BTC. */
async function firstCoinbase(node: DevNode): Promise<OutPoint> {
  const block = await node.getBlock((await node.getBlockHash(1))!);
  return { txid: block!.txids[0], vout: 0 };
}

devTest("get_utxo returns an unspent output, by lower- or upper-case txid", async (node, api) => {
  node.dev.generate(3);
  const { txid } = await firstCoinbase(node);
  const utxo = {
    txid,
    vout: 0,
    value_sats: 5_000_000_000,
    script_pubkey: toHex(node.wallet.script()),
    height: 1,
    coinbase: true,
    confirmations: 3,
  };
  assert.deepEqual(await call(api, "get_utxo", { txid, vout: 0 }), utxo);
  assert.deepEqual(await call(api, "get_utxo", { txid: txid.toUpperCase(), vout: 0 }), utxo);
});

devTest("get_utxo answers NOT_FOUND naming the outpoint, for spent and never-existing outputs", async (node, api) => {
  node.dev.generate(101);
  const { txid } = await firstCoinbase(node);
  await rejectsWith(
    call(api, "get_utxo", { txid: txid.toUpperCase(), vout: 1 }), // the witness commitment is unspendable
    NOT_FOUND,
    new RegExp(`^No unspent output ${txid}:1: it is spent or never existed$`),
  );
  const other = "ab".repeat(32);
  await rejectsWith(call(api, "get_utxo", { txid: other, vout: 0 }), NOT_FOUND, new RegExp(`${other}:0`));

  const sent = node.dev.send(node.wallet.newAddress(), 100_000, 5);
  const spent = decodeTx((await node.getTransaction(sent.txid))!.raw).inputs[0];
  // a mempool spend leaves the output unspent in the chain
  assert.equal((await call(api, "get_utxo", { txid: spent.txid, vout: spent.vout }) as OutPoint).txid, spent.txid);
  node.dev.generate(1);
  await rejectsWith(
    call(api, "get_utxo", { txid: spent.txid, vout: spent.vout }),
    NOT_FOUND,
    new RegExp(`^No unspent output ${spent.txid}:${spent.vout}: it is spent or never existed$`),
  );
});

devTest("get_utxo rejects bad txids and vouts before asking the backend", async (node) => {
  node.dev.generate(1);
  let lookups = 0;
  const api = createNodeApiHandlers(wrap(node, {
    getUtxo: (o: OutPoint) => {
      lookups++;
      return node.getUtxo(o);
    },
  }));
  const { txid } = await firstCoinbase(node);
  for (
    const [vout, shown] of [[-1, /got -1$/], [2 ** 32, /got 4294967296$/], [1.5, /got 1.5$/], ["0", /got "0"$/], [
      1n,
      /got 1n$/,
    ]] as const
  ) {
    await rejectsWith(
      call(api, "get_utxo", { txid, vout }),
      INVALID,
      /Param 'vout' of 'get_utxo' must be an integer output index from 0 to 4294967295/,
    );
    await rejectsWith(call(api, "get_utxo", { txid, vout }), INVALID, shown);
  }
  assert.equal((await call(api, "get_utxo", { txid, vout: 0 }) as { value_sats: number }).value_sats, 5_000_000_000);
  await rejectsWith(call(api, "get_utxo", { txid, vout: 2 ** 32 - 1 }), NOT_FOUND, /:4294967295: /);
  await rejectsWith(call(api, "get_utxo", { txid }), INVALID, /'vout' .* is missing/);
  await rejectsWith(call(api, "get_utxo", { vout: 0 }), INVALID, /'txid' .* is missing/);
  await rejectsWith(call(api, "get_utxo", { txid: "x", vout: 0 }), INVALID, /'txid' .* got "x"/);
  await rejectsWith(
    call(api, "get_utxo", { txid, vout: 0, n: 1 }),
    INVALID,
    /^Unexpected param "n" for 'get_utxo': it takes 'txid', 'vout'$/,
  );
  assert.equal(lookups, 2); // only the two valid calls reached the backend
});

devTest("get_utxo answers UNAVAILABLE when the backend cannot serve it", async (node) => {
  const api = createNodeApiHandlers(wrap(node, {
    getUtxo: () => Promise.reject(new BackendUnavailableError("get_utxo", "the UTXO index is still building")),
  }));
  await rejectsWith(
    call(api, "get_utxo", { txid: "ab".repeat(32), vout: 0 }),
    ErrorCode.Unavailable,
    /^get_utxo is not available: the UTXO index is still building$/,
  );
});

devTest("any BackendUnavailableError becomes UNAVAILABLE; other errors pass through unchanged", async (node) => {
  const bug = new TypeError("bug");
  const api = createNodeApiHandlers(wrap(node, {
    getPeers: () => Promise.reject(new BackendUnavailableError("get_network_peers", "peer manager stopped")),
    getSyncStatus: () => {
      throw new BackendUnavailableError("get_sync_status", "thrown synchronously");
    },
    getChainInfo: () => Promise.reject(bug),
    submitTransaction: () => {
      throw new RangeError("thrown synchronously too");
    },
  }));
  await rejectsWith(
    call(api, "get_network_peers", {}),
    ErrorCode.Unavailable,
    /^get_network_peers is not available: peer manager stopped$/,
  );
  await rejectsWith(call(api, "get_sync_status", {}), ErrorCode.Unavailable, /thrown synchronously/);
  await assert.rejects(call(api, "get_chain_info", {}), (e: unknown) => e === bug);
  await assert.rejects(
    call(api, "submit_transaction", { raw: new Uint8Array([0]) }),
    (e: unknown) => e instanceof RangeError && e.message === "thrown synchronously too",
  );
  // the methods not overridden still reach the node
  assert.deepEqual(await call(api, "get_chain_tip", {}), await node.getTip());
});
