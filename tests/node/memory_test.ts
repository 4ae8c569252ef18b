import assert from "node:assert/strict";
import { MemoryBackend, REGTEST_BITS } from "../../src/node/memory.ts";
import { type BackendEvent, BackendUnavailableError } from "../../src/node/backend.ts";
import { headerHash, meetsTarget, merkleRoot, serializeHeader } from "../../src/node/header.ts";
import type { BlockHeader } from "../../src/protocol/api.ts";

const REGTEST_GENESIS_HASH = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206";
const GENESIS_COINBASE_TXID = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";

function fieldsOf(h: BlockHeader) {
  const { version, prev_hash, merkle_root, time, bits, nonce } = h;
  return { version, prev_hash, merkle_root, time, bits, nonce };
}

// --- Independent hashing (WebCrypto, not src/node/header.ts) ---

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => new Uint8Array(s.match(/../g)?.map((x) => parseInt(x, 16)) ?? []);

async function sha256d(b: Uint8Array): Promise<Uint8Array> {
  const once = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return new Uint8Array(await crypto.subtle.digest("SHA-256", once));
}

/** Display-order hash of bytes. */
async function txidOf(b: Uint8Array): Promise<string> {
  return hex((await sha256d(b)).reverse());
}

/** Bitcoin merkle root over display-order txids, computed from scratch. */
async function merkle(txids: string[]): Promise<string> {
  let level: Uint8Array[] = txids.map((t) => unhex(t).reverse());
  while (level.length > 1) {
    if (level.length % 2 === 1) level.push(level[level.length - 1]);
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(await sha256d(new Uint8Array([...level[i], ...level[i + 1]])));
    level = next;
  }
  return hex(level[0].reverse());
}

function record(node: MemoryBackend): BackendEvent[] {
  const events: BackendEvent[] = [];
  node.onEvent((e) => events.push(e));
  return events;
}

/** A block of one transaction on the tip, ground to meet (or, with `failPow`, to miss) the regtest target. */
async function buildBlock(
  node: MemoryBackend,
  opts: { tx?: Uint8Array; prev?: string; merkle?: string; bits?: number; time?: number; failPow?: boolean } = {},
): Promise<{ hex: string; hash: string }> {
  const t = await node.getBlockTemplate();
  const tx = opts.tx ?? new TextEncoder().encode(`test coinbase ${t.height} ${Math.random()}`);
  const fields = {
    version: 0x20000000,
    prev_hash: opts.prev ?? t.prev_hash,
    merkle_root: opts.merkle ?? await txidOf(tx),
    time: opts.time ?? t.cur_time,
    bits: opts.bits ?? REGTEST_BITS,
    nonce: 0,
  };
  while (meetsTarget(headerHash(fields), REGTEST_BITS) === !!opts.failPow) fields.nonce++;
  return { hex: hex(serializeHeader(fields)) + "01" + hex(tx), hash: headerHash(fields) };
}

// --- Chain basics (kept from the header-only backend) ---

Deno.test("MemoryBackend starts at the regtest genesis block, height 0", async () => {
  const node = new MemoryBackend();
  assert.equal(node.network, "regtest");
  assert.deepEqual(await node.getTip(), { hash: REGTEST_GENESIS_HASH, height: 0 });
  assert.equal(await node.getBlockHash(0), REGTEST_GENESIS_HASH);
  const g = await node.getHeader(REGTEST_GENESIS_HASH);
  assert.ok(g);
  assert.equal(g.height, 0);
  assert.equal(g.prev_hash, "00".repeat(32));
  assert.equal(g.bits, REGTEST_BITS);
});

Deno.test("MemoryBackend genesis block holds the real genesis coinbase and serializes to the real block", async () => {
  const node = new MemoryBackend();
  const g = await node.getBlock(REGTEST_GENESIS_HASH);
  assert.ok(g);
  assert.deepEqual(g.txids, [GENESIS_COINBASE_TXID]);
  assert.equal(g.size, 285);
  assert.equal(g.hex.length, 570);
  assert.equal(await txidOf(unhex(g.hex.slice(162))), GENESIS_COINBASE_TXID);
  assert.equal(await txidOf(unhex(g.hex.slice(0, 160))), REGTEST_GENESIS_HASH);
  const tx = await node.getTransaction(GENESIS_COINBASE_TXID);
  assert.equal(tx?.block_height, 0);
  assert.equal(tx?.size, 204);
});

Deno.test("MemoryBackend.mine(n) returns n headers with consecutive heights", () => {
  const node = new MemoryBackend();
  const hs = node.mine(5);
  assert.equal(hs.length, 5);
  assert.deepEqual(hs.map((h) => h.height), [1, 2, 3, 4, 5]);
});

Deno.test("MemoryBackend.mine(n) links each prev_hash to the previous block", () => {
  const node = new MemoryBackend();
  const hs = node.mine(6);
  assert.equal(hs[0].prev_hash, REGTEST_GENESIS_HASH);
  for (let i = 1; i < hs.length; i++) assert.equal(hs[i].prev_hash, hs[i - 1].hash);
});

Deno.test("MemoryBackend.mine(n) headers meet their target and hash to headerHash(fields)", () => {
  const node = new MemoryBackend();
  for (const h of node.mine(20)) {
    assert.ok(meetsTarget(h.hash, h.bits), `height ${h.height}`);
    assert.equal(h.hash, headerHash(fieldsOf(h)), `height ${h.height}`);
    assert.equal(h.bits, REGTEST_BITS);
  }
});

Deno.test("MemoryBackend.mine(n) times strictly increase even for a fixed or past time", () => {
  const node = new MemoryBackend();
  const hs = [...node.mine(3, 100), ...node.mine(3)];
  let prev = 1296688602; // genesis time
  for (const h of hs) {
    assert.ok(h.time > prev, `height ${h.height}: ${h.time} <= ${prev}`);
    prev = h.time;
  }
});

Deno.test("MemoryBackend.mine() uses the given time when it is after the previous block", () => {
  const node = new MemoryBackend();
  const [h] = node.mine(1, 2_000_000_000);
  assert.equal(h.time, 2_000_000_000);
});

Deno.test("MemoryBackend.mine() defaults to one block", () => {
  const node = new MemoryBackend();
  assert.equal(node.mine().length, 1);
});

Deno.test("MemoryBackend.mine(0), negative, fractional or NaN counts throw RangeError", () => {
  const node = new MemoryBackend();
  for (const n of [0, -1, 1.5, NaN]) assert.throws(() => node.mine(n), RangeError, String(n));
});

Deno.test("MemoryBackend.mine() is deterministic for a fixed time and gives distinct headers", () => {
  // Same inputs (fixed times) produce the same chain: merkle root commits to height, nonce search is deterministic.
  const a = new MemoryBackend().mine(3, 1_700_000_000);
  const b = new MemoryBackend().mine(3, 1_700_000_000);
  assert.deepEqual(a, b);
  assert.equal(new Set(a.map((h) => h.hash)).size, 3);
  assert.equal(new Set(a.map((h) => h.merkle_root)).size, 3);
});

Deno.test("MemoryBackend.mine() with an empty mempool: the merkle root is the stand-in coinbase's txid", async () => {
  const node = new MemoryBackend();
  const [h] = node.mine(1);
  const coinbase = new TextEncoder().encode("blvm memory coinbase 1");
  assert.equal(h.merkle_root, await txidOf(coinbase));
  assert.deepEqual((await node.getBlock(h.hash))?.txids, [h.merkle_root]);
});

// --- Events ---

Deno.test("MemoryBackend.onEvent() gets one NewBlock per mined block, in order, with its fields", () => {
  const node = new MemoryBackend();
  const events = record(node);
  const hs = node.mine(3);
  assert.deepEqual(
    events,
    hs.map((h) => ({
      type: "NewBlock",
      payload: { hash: h.hash, height: h.height, prev_hash: h.prev_hash, time: h.time },
    })),
  );
});

Deno.test("MemoryBackend.onEvent() listener sees the block already appended to the chain", async () => {
  const node = new MemoryBackend();
  const tips: Promise<number>[] = [];
  node.onEvent(() => tips.push(node.getTip().then((t) => t.height)));
  node.mine(2);
  assert.deepEqual(await Promise.all(tips), [1, 2]);
});

Deno.test("MemoryBackend.onEvent() returns a function that removes the listener", () => {
  const node = new MemoryBackend();
  const a: number[] = [];
  const b: number[] = [];
  const height = (e: BackendEvent) => e.type === "NewBlock" ? e.payload.height : -1;
  const offA = node.onEvent((e) => a.push(height(e)));
  node.onEvent((e) => b.push(height(e)));
  node.mine(1);
  offA();
  node.mine(1);
  assert.deepEqual(a, [1]);
  assert.deepEqual(b, [1, 2]);
});

// --- Lookups ---

Deno.test("MemoryBackend.getBlockHash() returns the hash at each height and undefined above the tip", async () => {
  const node = new MemoryBackend();
  const hs = node.mine(4);
  for (const h of hs) assert.equal(await node.getBlockHash(h.height), h.hash);
  assert.equal(await node.getBlockHash(5), undefined);
  assert.equal(await node.getBlockHash(1000), undefined);
  assert.equal(await node.getBlockHash(1.5), undefined);
  assert.equal(await node.getBlockHash(-1), undefined);
});

Deno.test("MemoryBackend.getHeader() finds a mined header, case-insensitively, and returns a copy", async () => {
  const node = new MemoryBackend();
  const [h] = node.mine(1);
  assert.deepEqual(await node.getHeader(h.hash), h);
  const upper = await node.getHeader(h.hash.toUpperCase());
  assert.deepEqual(upper, h);
  upper!.height = 99;
  assert.equal((await node.getHeader(h.hash))?.height, 1);
  assert.equal(await node.getHeader("11".repeat(32)), undefined);
});

Deno.test("MemoryBackend.getTip() follows mining", async () => {
  const node = new MemoryBackend();
  const hs = node.mine(3);
  assert.deepEqual(await node.getTip(), { hash: hs[2].hash, height: 3 });
});

Deno.test("MemoryBackend.getChainInfo() chain_work is 2*(height+1) as 64-digit hex", async () => {
  const node = new MemoryBackend();
  for (const height of [0, 1, 7]) {
    if (height > 0) node.mine(height - (await node.getTip()).height);
    const info = await node.getChainInfo();
    assert.equal(info.height, height);
    assert.equal(info.network, "regtest");
    assert.equal(info.tip_hash, (await node.getTip()).hash);
    assert.equal(info.chain_work, (2 * (height + 1)).toString(16).padStart(64, "0"));
  }
});

Deno.test("MemoryBackend.getSyncStatus() is synced at the tip", async () => {
  const node = new MemoryBackend();
  node.mine(4);
  assert.deepEqual(await node.getSyncStatus(), {
    phase: "synced",
    is_synced: true,
    progress: 1,
    height: 4,
    header_height: 4,
    error: null,
  });
});

Deno.test("MemoryBackend has no network: zero stats, no peers", async () => {
  const node = new MemoryBackend();
  assert.deepEqual(await node.getNetworkStats(), {
    peer_count: 0,
    inbound: 0,
    outbound: 0,
    bytes_sent: 0,
    bytes_received: 0,
    network_active: false,
  });
  assert.deepEqual(await node.getPeers(), []);
});

Deno.test("MemoryBackend.getUtxo() rejects with BackendUnavailableError", async () => {
  const node = new MemoryBackend();
  await assert.rejects(
    node.getUtxo({ txid: GENESIS_COINBASE_TXID, vout: 0 }),
    (e: unknown) =>
      e instanceof BackendUnavailableError && e.operation === "get_utxo" && /keeps no UTXO set/.test(e.message),
  );
});

// --- Mempool ---

Deno.test("MemoryBackend.addTransaction() derives txid, sizes and fee rate from the bytes", async () => {
  const node = new MemoryBackend();
  const bytes = unhex("ab".repeat(200));
  const e = node.addTransaction("AB".repeat(200), 500);
  assert.equal(e.txid, await txidOf(bytes));
  assert.equal(e.vsize, 200);
  assert.equal(e.weight, 800);
  assert.equal(e.fee_sats, 500);
  assert.equal(e.fee_rate, 2.5);
  assert.deepEqual(e.depends, []);
  assert.ok(Math.abs(e.time - Date.now() / 1000) < 5);
  assert.deepEqual(await node.getMempoolEntry(e.txid), e);
  assert.deepEqual(await node.getMempoolEntry(e.txid.toUpperCase()), e);
});

Deno.test("MemoryBackend.addTransaction() emits NewTransaction then MempoolTransactionAdded", () => {
  const node = new MemoryBackend();
  node.addTransaction("01".repeat(10), 10);
  const events = record(node);
  const e = node.addTransaction("02".repeat(10), 30);
  assert.deepEqual(events, [
    { type: "NewTransaction", payload: { tx_hash: e.txid } },
    {
      type: "MempoolTransactionAdded",
      payload: { tx_hash: e.txid, fee_rate: 3, vsize: 10, fee_sats: 30, mempool_size: 2 },
    },
  ]);
});

Deno.test("MemoryBackend.addTransaction() rejects bad hex, bad fees, duplicates and oversize with clear errors", () => {
  const node = new MemoryBackend();
  for (const bad of ["", "abc", "zz", "0x00"]) assert.throws(() => node.addTransaction(bad, 100), SyntaxError, bad);
  for (const fee of [-1, 1.5, NaN]) assert.throws(() => node.addTransaction("00", fee), RangeError, String(fee));
  assert.throws(() => node.addTransaction("0000", 1), /below the mempool minimum 1/);
  assert.throws(() => node.addTransaction("00".repeat(100_001), 1e9), /weight 400004 exceeds the limit 400000/);
  const e = node.addTransaction("00".repeat(4), 4);
  assert.throws(() => node.addTransaction("00".repeat(4), 8), new RegExp(`${e.txid}: it is already in the mempool`));
  node.mine(1);
  assert.throws(() => node.addTransaction("00".repeat(4), 8), /already in block [0-9a-f]{64} at height 1/);
  assert.throws(() => node.addTransaction("00", 0), RangeError); // 0 sat/vB
});

Deno.test("MemoryBackend mempool is ordered by fee rate, arrival order on ties; info sums it", async () => {
  const node = new MemoryBackend();
  const a = node.addTransaction("0a".repeat(100), 200); // 2
  const b = node.addTransaction("0b".repeat(50), 500); // 10
  const c = node.addTransaction("0c".repeat(10), 20); // 2, after a
  const d = node.addTransaction("0d".repeat(10), 50); // 5
  assert.deepEqual(await node.getMempoolTxids(), [b.txid, d.txid, a.txid, c.txid]);
  assert.deepEqual(await node.getMempoolInfo(), {
    transaction_count: 4,
    size_bytes: 170,
    total_fee_sats: 770,
    min_fee_rate: 1,
  });
  assert.equal(await node.getMempoolEntry("ff".repeat(32)), undefined);
});

Deno.test("MemoryBackend.mine() includes mempool txs by fee rate with a merkle root over all txids", async () => {
  const node = new MemoryBackend();
  const txs = [["01".repeat(30), 30], ["02".repeat(40), 400], ["03".repeat(25), 75], ["04".repeat(20), 20]] as const;
  const entries = txs.map(([h, f]) => node.addTransaction(h, f));
  const [h] = node.mine(1);
  const block = await node.getBlock(h.hash);
  assert.ok(block);
  const coinbaseTxid = await txidOf(new TextEncoder().encode("blvm memory coinbase 1"));
  const expected = [coinbaseTxid, entries[1].txid, entries[2].txid, entries[0].txid, entries[3].txid];
  assert.deepEqual(block.txids, expected);
  assert.equal(h.merkle_root, await merkle(expected)); // 5 txids: odd levels duplicate their last hash
  assert.equal(h.hash, headerHash(fieldsOf(h)));
  assert.deepEqual(await node.getMempoolTxids(), []);
  assert.equal((await node.getMempoolInfo()).transaction_count, 0);
});

Deno.test("MemoryBackend.mine() merkle root is right for 2, 3 and 4 transactions", async () => {
  for (const n of [1, 2, 3]) {
    const node = new MemoryBackend();
    for (let i = 0; i < n; i++) node.addTransaction(`0${i}`.repeat(10), 10 * (i + 1));
    const [h] = node.mine(1);
    const block = await node.getBlock(h.hash);
    assert.equal(block?.txids.length, n + 1);
    assert.equal(h.merkle_root, await merkle(block!.txids), `${n + 1} txs`);
  }
});

Deno.test("MemoryBackend.mine() emits NewBlock then MempoolTransactionRemoved (mined) per tx", () => {
  const node = new MemoryBackend();
  const a = node.addTransaction("0a".repeat(10), 100);
  const b = node.addTransaction("0b".repeat(10), 10);
  const events = record(node);
  const [h] = node.mine(1);
  assert.deepEqual(events.map((e) => e.type), ["NewBlock", "MempoolTransactionRemoved", "MempoolTransactionRemoved"]);
  assert.deepEqual(events.slice(1).map((e) => e.payload), [
    { tx_hash: a.txid, reason: "mined", mempool_size: 1 },
    { tx_hash: b.txid, reason: "mined", mempool_size: 0 },
  ]);
  assert.equal(events[0].type === "NewBlock" && events[0].payload.hash, h.hash);
});

Deno.test("MemoryBackend.mine() leaves what does not fit in the block weight limit for the next block", async () => {
  const node = new MemoryBackend();
  // Eleven 99,000-byte txs (396,000 weight each); ten fit in 4,000,000 weight with header and coinbase.
  const entries = Array.from(
    { length: 11 },
    (_, i) => node.addTransaction(i.toString(16).padStart(2, "0").repeat(99_000), 99_000 * (20 - i)),
  );
  const [h1, h2] = node.mine(2);
  const b1 = await node.getBlock(h1.hash);
  const b2 = await node.getBlock(h2.hash);
  assert.deepEqual(b1?.txids.slice(1), entries.slice(0, 10).map((e) => e.txid));
  assert.ok(b1!.weight <= 4_000_000, String(b1!.weight));
  assert.deepEqual(b2?.txids.slice(1), [entries[10].txid]);
});

Deno.test("MemoryBackend.getBlock() hex round-trips: header hashes to the block, body holds every tx", async () => {
  const node = new MemoryBackend();
  const added = [node.addTransaction("cafe".repeat(60), 500), node.addTransaction("beef".repeat(10), 100)];
  const [h] = node.mine(1);
  const block = await node.getBlock(h.hash.toUpperCase());
  assert.ok(block);
  const bytes = unhex(block.hex);
  assert.equal(block.size, bytes.length);
  assert.equal(block.weight, 4 * bytes.length);
  assert.equal(await txidOf(bytes.subarray(0, 80)), h.hash);
  assert.equal(bytes[80], 3); // varint tx count
  const coinbase = new TextEncoder().encode("blvm memory coinbase 1");
  const body = [coinbase, unhex("beef".repeat(10)), unhex("cafe".repeat(60))];
  assert.equal(hex(bytes.subarray(81)), body.map(hex).join(""));
  assert.deepEqual(block.txids, [await txidOf(body[0]), added[1].txid, added[0].txid]);
  const { txids: _t, size: _s, weight: _w, hex: _h, ...header } = block;
  assert.deepEqual(header, h);
  assert.equal(await node.getBlock("22".repeat(32)), undefined);
});

Deno.test("MemoryBackend.getTransaction() finds txs in blocks (with confirmations) and in the mempool", async () => {
  const node = new MemoryBackend();
  const mined = node.addTransaction("aa".repeat(20), 40);
  const [h] = node.mine(1);
  const pending = node.addTransaction("bb".repeat(30), 30);
  node.mine(2);
  // Mining again confirmed `pending` too; add a third that stays.
  const stays = node.addTransaction("cc".repeat(5), 5);
  assert.deepEqual(await node.getTransaction(mined.txid), {
    txid: mined.txid,
    wtxid: mined.txid,
    hex: "aa".repeat(20),
    size: 20,
    vsize: 20,
    weight: 80,
    block_hash: h.hash,
    block_height: 1,
    confirmations: 3,
  });
  assert.equal((await node.getTransaction(pending.txid))?.block_height, 2);
  assert.equal((await node.getTransaction(pending.txid))?.confirmations, 2);
  assert.deepEqual(await node.getTransaction(stays.txid.toUpperCase()), {
    txid: stays.txid,
    wtxid: stays.txid,
    hex: "cc".repeat(5),
    size: 5,
    vsize: 5,
    weight: 20,
    block_hash: null,
    block_height: null,
    confirmations: 0,
  });
  assert.equal(await node.getTransaction("33".repeat(32)), undefined);
});

// --- Fee estimate ---

Deno.test("MemoryBackend.estimateFee() on an empty mempool is 1 sat/vB, method minimum", async () => {
  const node = new MemoryBackend();
  for (const t of [1, 6, 1008]) {
    assert.deepEqual(await node.estimateFee(t), { target_blocks: t, fee_rate: 1, method: "minimum" });
  }
});

Deno.test("MemoryBackend.estimateFee() is the median for targets 1-6 and the 25th percentile beyond", async () => {
  const node = new MemoryBackend();
  // Rates 40, 1.5, 20, 2, 10 → sorted 1.5, 2, 10, 20, 40.
  for (const [i, fee] of [400, 15, 200, 20, 100].entries()) node.addTransaction(`0${i}`.repeat(10), fee);
  for (const t of [1, 2, 3, 6]) {
    assert.deepEqual(await node.estimateFee(t), { target_blocks: t, fee_rate: 10, method: "mempool" });
  }
  for (const t of [7, 144, 1008]) assert.equal((await node.estimateFee(t)).fee_rate, 2, String(t));
  node.addTransaction("0f".repeat(10), 500); // 50 → sorted 1.5, 2, 10, 20, 40, 50: lower median 10, 25th 2
  assert.equal((await node.estimateFee(1)).fee_rate, 10);
  assert.equal((await node.estimateFee(100)).fee_rate, 2);
});

Deno.test("MemoryBackend.estimateFee() rejects targets outside 1..1008", async () => {
  const node = new MemoryBackend();
  for (const t of [0, 1009, 1.5, -3]) await assert.rejects(node.estimateFee(t), RangeError, String(t));
});

// --- Template ---

Deno.test("MemoryBackend.getBlockTemplate() builds on the tip with mempool txs by fee rate", async () => {
  const node = new MemoryBackend();
  const [tip] = node.mine(1, 2_000_000_000);
  const lo = node.addTransaction("0a".repeat(10), 20);
  const hi = node.addTransaction("0b".repeat(10), 300);
  const before = Math.floor(Date.now() / 1000);
  const t = await node.getBlockTemplate();
  assert.equal(t.version, 0x20000000);
  assert.equal(t.prev_hash, tip.hash);
  assert.equal(t.height, 2);
  assert.equal(t.bits, REGTEST_BITS);
  assert.equal(t.min_time, 2_000_000_001);
  assert.equal(t.cur_time, Math.max(before, 2_000_000_001));
  assert.equal(t.coinbase_value_sats, 50 * 1e8 + 320);
  assert.deepEqual(t.transactions, [
    { txid: hi.txid, hex: "0b".repeat(10), fee_sats: 300, weight: 40 },
    { txid: lo.txid, hex: "0a".repeat(10), fee_sats: 20, weight: 40 },
  ]);
  // Mining takes exactly what the template offered.
  const [h] = node.mine(1);
  assert.deepEqual((await node.getBlock(h.hash))?.txids.slice(1), t.transactions.map((x) => x.txid));
});

Deno.test("MemoryBackend.getBlockTemplate() cur_time is now when the tip is in the past", async () => {
  const node = new MemoryBackend();
  node.mine(1, 1_300_000_000);
  const t = await node.getBlockTemplate();
  assert.equal(t.min_time, 1_300_000_001);
  assert.ok(Math.abs(t.cur_time - Date.now() / 1000) < 5);
});

Deno.test("MemoryBackend.getBlockTemplate() subsidy halves every 150 blocks on regtest", async () => {
  const node = new MemoryBackend();
  node.mine(148);
  assert.equal((await node.getBlockTemplate()).height, 149);
  assert.equal((await node.getBlockTemplate()).coinbase_value_sats, 5_000_000_000);
  node.mine(1);
  assert.equal((await node.getBlockTemplate()).coinbase_value_sats, 2_500_000_000);
  node.mine(150);
  assert.equal((await node.getBlockTemplate()).height, 300);
  assert.equal((await node.getBlockTemplate()).coinbase_value_sats, 1_250_000_000);
});

// --- Submit ---

Deno.test("MemoryBackend.submitBlock() accepts a one-transaction block on the tip and emits NewBlock", async () => {
  const node = new MemoryBackend();
  node.mine(2);
  const events = record(node);
  const { hex: blockHex, hash } = await buildBlock(node);
  assert.deepEqual(await node.submitBlock(blockHex), { status: "accepted", hash, reason: null });
  assert.deepEqual(await node.getTip(), { hash, height: 3 });
  const block = await node.getBlock(hash);
  assert.equal(block?.hex, blockHex);
  assert.equal(block?.txids.length, 1);
  assert.equal(events.length, 1);
  assert.equal(events[0].type, "NewBlock");
  assert.deepEqual(events[0].payload, { hash, height: 3, prev_hash: block!.prev_hash, time: block!.time });
  assert.equal((await node.getChainInfo()).chain_work, (2 * 4).toString(16).padStart(64, "0"));
  // The chain goes on from the submitted block.
  assert.equal(node.mine(1)[0].prev_hash, hash);
});

Deno.test("MemoryBackend.submitBlock() confirms a mempool transaction that it carries", async () => {
  const node = new MemoryBackend();
  const e = node.addTransaction("5a".repeat(40), 80);
  const events = record(node);
  const { hex: blockHex, hash } = await buildBlock(node, { tx: unhex("5a".repeat(40)) });
  assert.equal((await node.submitBlock(blockHex.toUpperCase())).status, "accepted");
  assert.deepEqual(await node.getMempoolTxids(), []);
  assert.equal((await node.getTransaction(e.txid))?.block_hash, hash);
  assert.deepEqual(events[1], {
    type: "MempoolTransactionRemoved",
    payload: { tx_hash: e.txid, reason: "mined", mempool_size: 0 },
  });
});

Deno.test("MemoryBackend.submitBlock() answers duplicate for a known block", async () => {
  const node = new MemoryBackend();
  const [h] = node.mine(1);
  const mined = await node.getBlock(h.hash);
  assert.deepEqual(await node.submitBlock(mined!.hex), { status: "duplicate", hash: h.hash, reason: null });
  const genesis = await node.getBlock(REGTEST_GENESIS_HASH);
  assert.equal((await node.submitBlock(genesis!.hex)).status, "duplicate");
  assert.equal((await node.getTip()).height, 1);
});

Deno.test("MemoryBackend.submitBlock() rejects a block that does not extend the tip", async () => {
  const node = new MemoryBackend();
  const stale = await buildBlock(node);
  node.mine(1);
  assert.deepEqual(await node.submitBlock(stale.hex), {
    status: "rejected",
    hash: stale.hash,
    reason: "does not extend the tip",
  });
  assert.equal((await node.getTip()).height, 1);
});

Deno.test("MemoryBackend.submitBlock() rejects bad proof of work, bits, time and merkle root", async () => {
  const node = new MemoryBackend();
  node.mine(1, 2_000_000_000);
  const cases: [Parameters<typeof buildBlock>[1], RegExp][] = [
    [{ failPow: true }, /^high-hash/],
    [{ bits: 0x2100ffff }, /^bad-diffbits: bits 0x2100ffff/],
    [{ time: 2_000_000_000 }, /^time-too-old/],
    [{ merkle: "77".repeat(32) }, /^bad-txnmrklroot: merkle root 7{64} is not the transaction's txid/],
  ];
  for (const [opts, reason] of cases) {
    const b = await buildBlock(node, opts);
    const r = await node.submitBlock(b.hex);
    assert.equal(r.status, "rejected", String(reason));
    assert.equal(r.hash, b.hash);
    assert.match(r.reason!, reason);
  }
  assert.equal((await node.getTip()).height, 1);
});

Deno.test("MemoryBackend.submitBlock() rejects a body it cannot take: not one transaction", async () => {
  const node = new MemoryBackend();
  const b = await buildBlock(node);
  const head = b.hex.slice(0, 160);
  const two = await node.submitBlock(head + "02" + "00".repeat(20));
  assert.equal(two.status, "rejected");
  assert.match(two.reason!, /has 2 transactions.*exactly one/);
  assert.match((await node.submitBlock(head))!.reason!, /count .* missing or truncated/);
  assert.match((await node.submitBlock(head + "fd01"))!.reason!, /missing or truncated/);
  assert.match((await node.submitBlock(head + "01"))!.reason!, /no transaction bytes follow/);
  assert.match((await node.submitBlock(head + "00"))!.reason!, /has 0 transactions/);
  assert.equal((await node.getTip()).height, 0);
});

Deno.test("MemoryBackend.submitBlock() rejects invalid hex and short input without a hash", async () => {
  const node = new MemoryBackend();
  for (const bad of ["zz", "abc", "00".repeat(79), ""]) {
    const r = await node.submitBlock(bad);
    assert.equal(r.status, "rejected", bad);
    assert.equal(r.hash, null);
    assert.ok(r.reason && r.reason.length > 0);
  }
  assert.match((await node.submitBlock("00".repeat(79))).reason!, /79 bytes, shorter than an 80-byte header/);
});

Deno.test("MemoryBackend.submitBlock() rejects a block whose only transaction is already in the chain", async () => {
  const node = new MemoryBackend();
  const coinbase1 = new TextEncoder().encode("blvm memory coinbase 1");
  node.mine(1);
  const b = await buildBlock(node, { tx: coinbase1 });
  assert.match((await node.submitBlock(b.hex)).reason!, /already in the chain/);
});

Deno.test("merkleRoot() matches an independent computation for 1 to 7 txids and rejects an empty list", async () => {
  const txids: string[] = [];
  for (let n = 1; n <= 7; n++) {
    txids.push(await txidOf(Uint8Array.of(n)));
    assert.equal(merkleRoot(txids), await merkle(txids), `${n} txids`);
  }
  assert.equal(merkleRoot([GENESIS_COINBASE_TXID.toUpperCase()]), GENESIS_COINBASE_TXID);
  assert.throws(() => merkleRoot([]), RangeError);
  assert.throws(() => merkleRoot(["abcd"]), SyntaxError);
});

Deno.test("MemoryBackend keeps stand-in coinbase bytes out of the mempool and out of other heights", async () => {
  const node = new MemoryBackend();
  const standIn = (h: number) => new TextEncoder().encode(`blvm memory coinbase ${h}`);
  assert.throws(() => node.addTransaction(hex(standIn(5)), 1e6), /stand-in coinbase/);
  const future = await buildBlock(node, { tx: standIn(3) });
  assert.match((await node.submitBlock(future.hex)).reason!, /stand-in coinbase of height 3/);
  const own = await buildBlock(node, { tx: standIn(1) });
  assert.equal((await node.submitBlock(own.hex)).status, "accepted");
});
