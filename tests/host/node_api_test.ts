import assert from "node:assert/strict";
import { type ApiHandlers, type CallContext, createNodeApiHandlers } from "../../src/host/node_api.ts";
import { BackendUnavailableError } from "../../src/node/backend.ts";
import { MemoryBackend, REGTEST_BITS } from "../../src/node/memory.ts";
import { headerHash, meetsTarget, serializeHeader, sha256d, toHex } from "../../src/node/header.ts";
import type { OutPoint, Peer, Utxo } from "../../src/protocol/api.ts";
import { ErrorCode, RemoteError } from "../../src/protocol/errors.ts";

const ctx: CallContext = { module: "t", signal: new AbortController().signal };

function call(api: ApiHandlers, method: string, params: Record<string, unknown>): Promise<unknown> {
  const handler = api[method as keyof ApiHandlers];
  assert.ok(handler, `no handler for ${method}`);
  return handler(params, ctx);
}

/** Assert a rejection with `code` whose message matches `message`. */
async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RemoteError, `expected a RemoteError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

const INVALID = ErrorCode.InvalidParams;
const NOT_FOUND = ErrorCode.NotFound;

function setup() {
  const node = new MemoryBackend();
  return { node, api: createNodeApiHandlers(node) };
}

/** A one-transaction block on the tip that the memory backend accepts. */
async function validBlockHex(node: MemoryBackend): Promise<{ hex: string; hash: string }> {
  const t = await node.getBlockTemplate();
  const tx = new TextEncoder().encode(`api test coinbase ${t.height}`);
  const fields = {
    version: t.version,
    prev_hash: t.prev_hash,
    merkle_root: toHex(sha256d(tx).reverse()),
    time: t.cur_time,
    bits: t.bits,
    nonce: 0,
  };
  while (!meetsTarget(headerHash(fields), REGTEST_BITS)) fields.nonce++;
  return { hex: toHex(serializeHeader(fields)) + "01" + toHex(tx), hash: headerHash(fields) };
}

/** A memory backend with a UTXO set of one output, counting lookups. */
class UtxoBackend extends MemoryBackend {
  lookups = 0;
  static readonly UTXO: Utxo = {
    txid: "ab".repeat(32),
    vout: 0,
    value_sats: 5_000,
    script_pubkey: "51",
    height: 1,
    coinbase: false,
    confirmations: 1,
  };
  override getUtxo(o: OutPoint): Promise<Utxo | undefined> {
    this.lookups++;
    const u = UtxoBackend.UTXO;
    return Promise.resolve(o.txid === u.txid && o.vout === u.vout ? u : undefined);
  }
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

const BAD_HASHES: [unknown, RegExp][] = [
  ["zz", /got "zz"/],
  ["ab".repeat(31) + "a", /got "a{1}(ba){31}"|got "(ab){31}a"/],
  ["ab".repeat(33), /got "(ab){33}"/],
  ["g".repeat(64), /got "g{64}"/],
  [123, /got 123$/],
  [2n ** 60n, /got 1152921504606846976n$/],
  [null, /got null$/],
  [{ a: 1 }, /got a map$/],
  [["ab".repeat(32)], /got a list$/],
  [new Uint8Array(32), /got binary data \(32 bytes\)$/],
  [Object.create(null), /got a map$/],
];

const BAD_HEIGHTS: [unknown, RegExp][] = [
  [-1, /got -1$/],
  [1.5, /got 1.5$/],
  ["1", /got "1"$/],
  [2n ** 60n, /got 1152921504606846976n$/],
  [2 ** 53, /got 9007199254740992$/],
  [NaN, /got NaN$/],
  [Infinity, /got Infinity$/],
  [true, /got true$/],
];

Deno.test("createNodeApiHandlers() serves exactly the chain, mempool, network and mining methods", () => {
  const { api } = setup();
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
    ].sort(),
  );
});

Deno.test("no-param methods return the backend's answer", async () => {
  const { node, api } = setup();
  node.mine(2);
  const tx = node.addTransaction("aa".repeat(10), 50);
  const expected: Record<string, unknown> = {
    get_chain_tip: await node.getTip(),
    get_block_height: 2,
    get_chain_info: await node.getChainInfo(),
    get_sync_status: await node.getSyncStatus(),
    get_mempool_transactions: [tx.txid],
    get_mempool_size: { transaction_count: 1, size_bytes: 10, total_fee_sats: 50, min_fee_rate: 1 },
    get_network_stats: await node.getNetworkStats(),
    get_network_peers: [],
  };
  for (const [method, value] of Object.entries(expected)) assert.deepEqual(await call(api, method, {}), value, method);
  const template = await call(api, "get_block_template", {}) as { height: number; transactions: { txid: string }[] };
  assert.equal(template.height, 3);
  assert.deepEqual(template.transactions.map((t) => t.txid), [tx.txid]);
});

Deno.test("no-param methods reject any param, naming it", async () => {
  const { api } = setup();
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

Deno.test("get_block returns the block, by lower- or upper-case hash", async () => {
  const { node, api } = setup();
  const [h] = node.mine(1);
  const block = await node.getBlock(h.hash);
  assert.deepEqual(await call(api, "get_block", { hash: h.hash }), block);
  assert.deepEqual(await call(api, "get_block", { hash: h.hash.toUpperCase() }), block);
});

Deno.test("get_block and get_block_header answer NOT_FOUND naming the hash", async () => {
  const { api } = setup();
  const hash = "ab".repeat(32);
  await rejectsWith(
    call(api, "get_block", { hash: hash.toUpperCase() }),
    NOT_FOUND,
    new RegExp(`^No block with hash ${hash}$`),
  );
  await rejectsWith(
    call(api, "get_block_header", { hash }),
    NOT_FOUND,
    new RegExp(`^No block header with hash ${hash}$`),
  );
});

Deno.test("get_block and get_block_header reject bad hashes with INVALID_PARAMS showing the value", async () => {
  const { api } = setup();
  for (const method of ["get_block", "get_block_header"]) {
    for (const [hash, shown] of BAD_HASHES) {
      await rejectsWith(
        call(api, method, { hash }),
        INVALID,
        new RegExp(`Param 'hash' of '${method}' must be a 64-digit hex block hash`),
      );
      await rejectsWith(call(api, method, { hash }), INVALID, shown);
    }
    await rejectsWith(
      call(api, method, {}),
      INVALID,
      new RegExp(`^Param 'hash' of '${method}' is missing: expected a 64-digit hex block hash$`),
    );
    await rejectsWith(
      call(api, method, { hash: "00".repeat(32), height: 1 }),
      INVALID,
      /^Unexpected param "height" .* it takes 'hash'$/,
    );
  }
});

Deno.test("get_block_header returns the header", async () => {
  const { node, api } = setup();
  const [h] = node.mine(1);
  assert.deepEqual(await call(api, "get_block_header", { hash: h.hash.toUpperCase() }), h);
});

Deno.test("get_block_by_height and get_block_hash serve main-chain blocks", async () => {
  const { node, api } = setup();
  const hs = node.mine(3);
  for (const h of hs) {
    assert.equal(await call(api, "get_block_hash", { height: h.height }), h.hash);
    assert.deepEqual(await call(api, "get_block_by_height", { height: h.height }), await node.getBlock(h.hash));
  }
  assert.equal((await call(api, "get_block_by_height", { height: 0 }) as { height: number }).height, 0);
});

Deno.test("get_block_by_height and get_block_hash answer NOT_FOUND above the tip, naming both heights", async () => {
  const { node, api } = setup();
  node.mine(2);
  for (const method of ["get_block_by_height", "get_block_hash"]) {
    await rejectsWith(call(api, method, { height: 3 }), NOT_FOUND, /^No block at height 3: the tip is at height 2$/);
    await rejectsWith(call(api, method, { height: Number.MAX_SAFE_INTEGER }), NOT_FOUND, /height 9007199254740991/);
  }
});

Deno.test("get_block_by_height and get_block_hash reject bad heights with INVALID_PARAMS showing the value", async () => {
  const { api } = setup();
  for (const method of ["get_block_by_height", "get_block_hash"]) {
    for (const [height, shown] of BAD_HEIGHTS) {
      await rejectsWith(
        call(api, method, { height }),
        INVALID,
        new RegExp(`Param 'height' of '${method}' must be a non-negative integer block height`),
      );
      await rejectsWith(call(api, method, { height }), INVALID, shown);
    }
    await rejectsWith(call(api, method, {}), INVALID, /'height' .* is missing/);
    await rejectsWith(call(api, method, { height: 0, hash: "x" }), INVALID, /Unexpected param "hash"/);
  }
});

Deno.test("get_transaction returns block and mempool transactions; has_transaction says whether it exists", async () => {
  const { node, api } = setup();
  const mined = node.addTransaction("aa".repeat(10), 20);
  const [h] = node.mine(1);
  const pending = node.addTransaction("bb".repeat(10), 20);
  const inBlock = await call(api, "get_transaction", { txid: mined.txid.toUpperCase() }) as Record<string, unknown>;
  assert.equal(inBlock.block_hash, h.hash);
  assert.equal(inBlock.confirmations, 1);
  assert.deepEqual(await call(api, "get_transaction", { txid: pending.txid }), await node.getTransaction(pending.txid));
  assert.equal(await call(api, "has_transaction", { txid: mined.txid }), true);
  assert.equal(await call(api, "has_transaction", { txid: pending.txid.toUpperCase() }), true);
  assert.equal(await call(api, "has_transaction", { txid: "cd".repeat(32) }), false);
});

Deno.test("get_transaction answers NOT_FOUND naming the txid", async () => {
  const { api } = setup();
  const txid = "cd".repeat(32);
  await rejectsWith(
    call(api, "get_transaction", { txid }),
    NOT_FOUND,
    new RegExp(`^No transaction with txid ${txid} in a main-chain block or the mempool$`),
  );
});

Deno.test("txid methods reject bad txids with INVALID_PARAMS showing the value", async () => {
  const { api } = setup();
  for (
    const method of ["get_transaction", "has_transaction", "get_mempool_transaction", "check_transaction_in_mempool"]
  ) {
    for (const [txid, shown] of BAD_HASHES) {
      await rejectsWith(
        call(api, method, { txid }),
        INVALID,
        new RegExp(`Param 'txid' of '${method}' must be a 64-digit hex txid`),
      );
      await rejectsWith(call(api, method, { txid }), INVALID, shown);
    }
    await rejectsWith(call(api, method, {}), INVALID, /'txid' .* is missing/);
    await rejectsWith(
      call(api, method, { hash: "ab".repeat(32) }),
      INVALID,
      /^Unexpected param "hash" .* it takes 'txid'$/,
    );
  }
});

Deno.test("get_mempool_transaction and check_transaction_in_mempool see only the mempool", async () => {
  const { node, api } = setup();
  const mined = node.addTransaction("aa".repeat(10), 20);
  node.mine(1);
  const pending = node.addTransaction("bb".repeat(10), 30);
  assert.deepEqual(await call(api, "get_mempool_transaction", { txid: pending.txid.toUpperCase() }), pending);
  assert.equal(await call(api, "check_transaction_in_mempool", { txid: pending.txid }), true);
  assert.equal(await call(api, "check_transaction_in_mempool", { txid: mined.txid }), false);
  await rejectsWith(
    call(api, "get_mempool_transaction", { txid: mined.txid }),
    NOT_FOUND,
    new RegExp(`^No transaction with txid ${mined.txid} in the mempool$`),
  );
});

Deno.test("get_utxo answers UNAVAILABLE on the memory backend", async () => {
  const { api } = setup();
  await rejectsWith(
    call(api, "get_utxo", { txid: "ab".repeat(32), vout: 0 }),
    ErrorCode.Unavailable,
    /^get_utxo is not available: the memory backend keeps no UTXO set$/,
  );
});

Deno.test("get_utxo returns an unspent output and answers NOT_FOUND naming the outpoint", async () => {
  const node = new UtxoBackend();
  const api = createNodeApiHandlers(node);
  assert.deepEqual(await call(api, "get_utxo", { txid: "AB".repeat(32), vout: 0 }), UtxoBackend.UTXO);
  const txid = "ab".repeat(32);
  await rejectsWith(
    call(api, "get_utxo", { txid, vout: 1 }),
    NOT_FOUND,
    new RegExp(`^No unspent output ${txid}:1: it is spent or never existed$`),
  );
  assert.equal(node.lookups, 2);
});

Deno.test("get_utxo rejects bad txids and vouts before asking the backend", async () => {
  const node = new UtxoBackend();
  const api = createNodeApiHandlers(node);
  const txid = "ab".repeat(32);
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
  assert.deepEqual(await call(api, "get_utxo", { txid, vout: 0 }), UtxoBackend.UTXO);
  await assert.rejects(
    call(api, "get_utxo", { txid, vout: 2 ** 32 - 1 }),
    (e: unknown) => (e as RemoteError).code === NOT_FOUND,
  );
  await rejectsWith(call(api, "get_utxo", { txid }), INVALID, /'vout' .* is missing/);
  await rejectsWith(call(api, "get_utxo", { txid: "x", vout: 0 }), INVALID, /'txid' .* got "x"/);
  await rejectsWith(
    call(api, "get_utxo", { txid, vout: 0, n: 1 }),
    INVALID,
    /^Unexpected param "n" for 'get_utxo': it takes 'txid', 'vout'$/,
  );
  assert.equal(node.lookups, 2); // only the two valid calls reached the backend
});

Deno.test("get_fee_estimate returns the backend's estimate", async () => {
  const { node, api } = setup();
  assert.deepEqual(await call(api, "get_fee_estimate", { target_blocks: 6 }), {
    target_blocks: 6,
    fee_rate: 1,
    method: "minimum",
  });
  node.addTransaction("aa".repeat(10), 70);
  assert.deepEqual(await call(api, "get_fee_estimate", { target_blocks: 1008 }), {
    target_blocks: 1008,
    fee_rate: 7,
    method: "mempool",
  });
  assert.equal((await call(api, "get_fee_estimate", { target_blocks: 1 }) as { fee_rate: number }).fee_rate, 7);
});

Deno.test("get_fee_estimate rejects targets outside 1..1008 with INVALID_PARAMS showing the value", async () => {
  const { api } = setup();
  for (
    const [target_blocks, shown] of [[0, /got 0$/], [1009, /got 1009$/], [2.5, /got 2.5$/], ["6", /got "6"$/], [
      6n,
      /got 6n$/,
    ]] as const
  ) {
    await rejectsWith(
      call(api, "get_fee_estimate", { target_blocks }),
      INVALID,
      /^Param 'target_blocks' of 'get_fee_estimate' must be an integer confirmation target in blocks from 1 to 1008, got/,
    );
    await rejectsWith(call(api, "get_fee_estimate", { target_blocks }), INVALID, shown);
  }
  await rejectsWith(call(api, "get_fee_estimate", {}), INVALID, /'target_blocks' .* is missing/);
  await rejectsWith(call(api, "get_fee_estimate", { target: 6 }), INVALID, /Unexpected param "target"/);
});

Deno.test("submit_block passes accepted, duplicate and rejected results through", async () => {
  const { node, api } = setup();
  const block = await validBlockHex(node);
  assert.deepEqual(await call(api, "submit_block", { hex: block.hex.toUpperCase() }), {
    status: "accepted",
    hash: block.hash,
    reason: null,
  });
  assert.deepEqual(await node.getTip(), { hash: block.hash, height: 1 });
  assert.deepEqual(await call(api, "submit_block", { hex: block.hex }), {
    status: "duplicate",
    hash: block.hash,
    reason: null,
  });
  const short = await call(api, "submit_block", { hex: "00" }) as { status: string; reason: string };
  assert.equal(short.status, "rejected");
  assert.match(short.reason, /shorter than an 80-byte header/);
});

Deno.test("submit_block takes hex up to 4,000,000 characters and rejects bad hex with INVALID_PARAMS", async () => {
  const { api } = setup();
  const max = await call(api, "submit_block", { hex: "00".repeat(2_000_000) }) as { status: string };
  assert.equal(max.status, "rejected"); // valid params; the all-zero header does not extend the tip
  const expected =
    /^Param 'hex' of 'submit_block' must be an even-length hex serialized block of at most 4000000 characters, got/;
  for (
    const [hex, shown] of [["abc", /got "abc"$/], ["zz", /got "zz"$/], [5, /got 5$/], [
      "00".repeat(2_000_001),
      /\(4000002 characters\)$/,
    ]] as const
  ) {
    await rejectsWith(call(api, "submit_block", { hex }), INVALID, expected);
    await rejectsWith(call(api, "submit_block", { hex }), INVALID, shown);
  }
  await rejectsWith(call(api, "submit_block", {}), INVALID, /'hex' .* is missing/);
  await rejectsWith(
    call(api, "submit_block", { hex: "00", block: "00" }),
    INVALID,
    /Unexpected param "block" .* it takes 'hex'$/,
  );
});

Deno.test("any BackendUnavailableError becomes UNAVAILABLE; other errors pass through unchanged", async () => {
  class Flaky extends MemoryBackend {
    override getPeers(): Promise<Peer[]> {
      return Promise.reject(new BackendUnavailableError("get_network_peers", "peer manager stopped"));
    }
    override getSyncStatus(): never {
      throw new BackendUnavailableError("get_sync_status", "thrown synchronously");
    }
    override getChainInfo(): Promise<never> {
      return Promise.reject(new TypeError("bug"));
    }
  }
  const api = createNodeApiHandlers(new Flaky());
  await rejectsWith(
    call(api, "get_network_peers", {}),
    ErrorCode.Unavailable,
    /^get_network_peers is not available: peer manager stopped$/,
  );
  await rejectsWith(call(api, "get_sync_status", {}), ErrorCode.Unavailable, /thrown synchronously/);
  await assert.rejects(call(api, "get_chain_info", {}), (e: unknown) => e instanceof TypeError && e.message === "bug");
});
