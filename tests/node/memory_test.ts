import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { MemoryBackend, REGTEST_BITS } from "../../src/node/memory.ts";
import { headerHash, meetsTarget } from "../../src/node/header.ts";
import type { BlockHeader } from "../../src/protocol/api.ts";

const REGTEST_GENESIS_HASH = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206";

function fieldsOf(h: BlockHeader) {
  const { version, prev_hash, merkle_root, time, bits, nonce } = h;
  return { version, prev_hash, merkle_root, time, bits, nonce };
}

Deno.test("MemoryBackend starts at the regtest genesis block, height 0", async () => {
  const node = new MemoryBackend();
  equal(node.network, "regtest");
  deepEqual(await node.getTip(), { hash: REGTEST_GENESIS_HASH, height: 0 });
  equal(await node.getBlockHash(0), REGTEST_GENESIS_HASH);
  const g = await node.getHeader(REGTEST_GENESIS_HASH);
  ok(g);
  equal(g.height, 0);
  equal(g.prev_hash, "00".repeat(32));
  equal(g.bits, REGTEST_BITS);
});

Deno.test("MemoryBackend.mine(n) returns n headers with consecutive heights", () => {
  const node = new MemoryBackend();
  const hs = node.mine(5);
  equal(hs.length, 5);
  deepEqual(hs.map((h) => h.height), [1, 2, 3, 4, 5]);
});

Deno.test("MemoryBackend.mine(n) links each prev_hash to the previous block", () => {
  const node = new MemoryBackend();
  const hs = node.mine(6);
  equal(hs[0].prev_hash, REGTEST_GENESIS_HASH);
  for (let i = 1; i < hs.length; i++) equal(hs[i].prev_hash, hs[i - 1].hash);
});

Deno.test("MemoryBackend.mine(n) headers meet their target and hash to headerHash(fields)", () => {
  const node = new MemoryBackend();
  for (const h of node.mine(20)) {
    ok(meetsTarget(h.hash, h.bits), `height ${h.height}`);
    equal(h.hash, headerHash(fieldsOf(h)), `height ${h.height}`);
    equal(h.bits, REGTEST_BITS);
  }
});

Deno.test("MemoryBackend.mine(n) times strictly increase even for a fixed or past time", () => {
  const node = new MemoryBackend();
  const hs = [...node.mine(3, 100), ...node.mine(3)];
  let prev = 1296688602; // genesis time
  for (const h of hs) {
    ok(h.time > prev, `height ${h.height}: ${h.time} <= ${prev}`);
    prev = h.time;
  }
});

Deno.test("MemoryBackend.mine() uses the given time when it is after the previous block", () => {
  const node = new MemoryBackend();
  const [h] = node.mine(1, 2_000_000_000);
  equal(h.time, 2_000_000_000);
});

Deno.test("MemoryBackend.mine() defaults to one block", () => {
  const node = new MemoryBackend();
  equal(node.mine().length, 1);
});

Deno.test("MemoryBackend.onBlock() listener is called once per block, in order", () => {
  const node = new MemoryBackend();
  const seen: number[] = [];
  node.onBlock((h) => seen.push(h.height));
  node.mine(3);
  deepEqual(seen, [1, 2, 3]);
});

Deno.test("MemoryBackend.onBlock() listener sees the block already appended to the chain", async () => {
  const node = new MemoryBackend();
  const tips: Promise<number>[] = [];
  node.onBlock(() => tips.push(node.getTip().then((t) => t.height)));
  node.mine(2);
  deepEqual(await Promise.all(tips), [1, 2]);
});

Deno.test("MemoryBackend.onBlock() returns a function that removes the listener", () => {
  const node = new MemoryBackend();
  const a: number[] = [];
  const b: number[] = [];
  const offA = node.onBlock((h) => a.push(h.height));
  node.onBlock((h) => b.push(h.height));
  node.mine(1);
  offA();
  node.mine(1);
  deepEqual(a, [1]);
  deepEqual(b, [1, 2]);
});

Deno.test("MemoryBackend.getBlockHash() returns undefined above the tip", async () => {
  const node = new MemoryBackend();
  node.mine(2);
  ok(await node.getBlockHash(2));
  equal(await node.getBlockHash(3), undefined);
  equal(await node.getBlockHash(1000), undefined);
});

Deno.test("MemoryBackend.getBlockHash() returns the hash mined at each height", async () => {
  const node = new MemoryBackend();
  const hs = node.mine(4);
  for (const h of hs) equal(await node.getBlockHash(h.height), h.hash);
});

Deno.test("MemoryBackend.getHeader() finds a mined header, case-insensitively", async () => {
  const node = new MemoryBackend();
  const [h] = node.mine(1);
  deepEqual(await node.getHeader(h.hash), h);
  deepEqual(await node.getHeader(h.hash.toUpperCase()), h);
  equal(await node.getHeader("11".repeat(32)), undefined);
});

Deno.test("MemoryBackend.getTip() follows mining", async () => {
  const node = new MemoryBackend();
  const hs = node.mine(3);
  deepEqual(await node.getTip(), { hash: hs[2].hash, height: 3 });
});

Deno.test("MemoryBackend.getChainInfo() chain_work is 2*(height+1) as 64-digit hex", async () => {
  const node = new MemoryBackend();
  for (const height of [0, 1, 7]) {
    if (height > 0) node.mine(height - (await node.getTip()).height);
    const info = await node.getChainInfo();
    equal(info.height, height);
    equal(info.network, "regtest");
    equal(info.tip_hash, (await node.getTip()).hash);
    equal(info.chain_work.length, 64);
    equal(info.chain_work, (2 * (height + 1)).toString(16).padStart(64, "0"));
  }
});

Deno.test("MemoryBackend.mine(0) throws RangeError", () => {
  const node = new MemoryBackend();
  throws(() => node.mine(0), RangeError);
});

Deno.test("MemoryBackend.mine() throws RangeError for negative or fractional counts", () => {
  const node = new MemoryBackend();
  throws(() => node.mine(-1), RangeError);
  throws(() => node.mine(1.5), RangeError);
  throws(() => node.mine(NaN), RangeError);
});

Deno.test("MemoryBackend.mine() is deterministic for a fixed time and gives distinct headers", () => {
  // Same inputs (fixed times) produce the same chain: merkle root commits to height, nonce search is deterministic.
  const a = new MemoryBackend().mine(3, 1_700_000_000);
  const b = new MemoryBackend().mine(3, 1_700_000_000);
  deepEqual(a, b);
  equal(new Set(a.map((h) => h.hash)).size, 3);
  equal(new Set(a.map((h) => h.merkle_root)).size, 3);
});
