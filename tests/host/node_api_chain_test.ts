import assert from "node:assert/strict";
import { call, devTest, INVALID, NOT_FOUND, rejectsWith } from "./_node_api.ts";

import { mineBlock, type MinedBlock } from "../../src/node/dev/miner.ts";
import { DevNode } from "../../src/node/dev/node.ts";
import type { Block, SubmitBlockResult } from "../../src/protocol/api.ts";

/** A block on the tip built from the node's template; `time` defaults to the template's `cur_time`. */
async function nextBlock(node: DevNode, opts: { time?: number; prevHash?: string } = {}): Promise<MinedBlock> {
  const t = await node.getBlockTemplate();
  return mineBlock({
    prevHash: opts.prevHash ?? t.prev_hash,
    height: t.height,
    time: opts.time ?? t.cur_time,
    txs: [],
    fees: 0,
    payout: node.wallet.script(),
    extraNonce: 7,
  });
}

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

devTest("get_block returns the block, by lower- or upper-case hash", async (node, api) => {
  const [h] = node.dev.generate(1);
  const block = await node.getBlock(h.hash);
  assert.ok(block);
  assert.equal(block.hash, h.hash);
  assert.equal(block.txids.length, 1); // just the coinbase
  assert.deepEqual(await call(api, "get_block", { hash: h.hash }), block);
  assert.deepEqual(await call(api, "get_block", { hash: h.hash.toUpperCase() }), block);
});

devTest("get_block and get_block_header answer NOT_FOUND naming the hash", async (node, api) => {
  const [stale] = node.dev.generate(1);
  node.dev.reorg(1); // the block is now off the main chain
  for (const hash of ["ab".repeat(32), stale.hash]) {
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
  }
});

devTest("get_block and get_block_header reject bad hashes with INVALID_PARAMS showing the value", async (_, api) => {
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

devTest("get_block_header returns the header", async (node, api) => {
  const [h] = node.dev.generate(1);
  assert.deepEqual(await call(api, "get_block_header", { hash: h.hash.toUpperCase() }), h);
  assert.deepEqual(await call(api, "get_block_header", { hash: h.hash }), await node.getHeader(h.hash));
});

devTest("get_block_by_height and get_block_hash serve main-chain blocks", async (node, api) => {
  const hs = node.dev.generate(3);
  for (const h of hs) {
    assert.equal(await call(api, "get_block_hash", { height: h.height }), h.hash);
    assert.deepEqual(await call(api, "get_block_by_height", { height: h.height }), await node.getBlock(h.hash));
  }
  const genesis = await call(api, "get_block_by_height", { height: 0 }) as Block;
  assert.equal(genesis.height, 0);
  assert.equal(genesis.prev_hash, "00".repeat(32));
  assert.equal(await call(api, "get_block_hash", { height: 0 }), genesis.hash);
});

devTest("get_block_by_height and get_block_hash answer NOT_FOUND above the tip, naming both heights", async (
  node,
  api,
) => {
  node.dev.generate(2);
  for (const method of ["get_block_by_height", "get_block_hash"]) {
    await rejectsWith(call(api, method, { height: 3 }), NOT_FOUND, /^No block at height 3: the tip is at height 2$/);
    await rejectsWith(call(api, method, { height: Number.MAX_SAFE_INTEGER }), NOT_FOUND, /height 9007199254740991/);
  }
});

devTest("get_block_by_height and get_block_hash reject bad heights with INVALID_PARAMS showing the value", async (
  _,
  api,
) => {
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

devTest("submit_block passes accepted, duplicate and rejected results through", async (node, api) => {
  const block = await nextBlock(node);
  assert.deepEqual(await call(api, "submit_block", { raw: block.bytes }), {
    status: "accepted",
    hash: block.hash,
    reason: null,
  });
  assert.deepEqual(await node.getTip(), { hash: block.hash, height: 1 });
  assert.deepEqual(await call(api, "submit_block", { raw: block.bytes }), {
    status: "duplicate",
    hash: block.hash,
    reason: null,
  });

  const short = await call(api, "submit_block", { raw: new Uint8Array([0]) }) as SubmitBlockResult;
  assert.equal(short.status, "rejected");
  assert.equal(short.hash, null);
  assert.match(short.reason!, /^malformed: .*shorter than its header/);

  const t = await node.getBlockTemplate();
  const old = await nextBlock(node, { time: t.min_time - 1 }); // not after the median time past
  const tooOld = await call(api, "submit_block", { raw: old.bytes }) as SubmitBlockResult;
  assert.equal(tooOld.status, "rejected");
  assert.equal(tooOld.hash, old.hash);
  assert.match(tooOld.reason!, /^time-too-old: /);

  const orphan = await nextBlock(node, { prevHash: "ab".repeat(32) });
  assert.deepEqual(await call(api, "submit_block", { raw: orphan.bytes }), {
    status: "rejected",
    hash: orphan.hash,
    reason: `prev-blk-not-found: the parent ${"ab".repeat(32)} is not known`,
  });
  assert.deepEqual(await node.getTip(), { hash: block.hash, height: 1 });
});

devTest("submit_block takes bytes up to 4,000,000 (a full block) and rejects anything else with INVALID_PARAMS", async (
  node,
  api,
) => {
  const max = await call(api, "submit_block", { raw: new Uint8Array(4_000_000) }) as SubmitBlockResult;
  assert.equal(max.status, "rejected"); // valid params; the node cannot decode the all-zero block
  assert.match(max.reason!, /^malformed: /);
  assert.equal((await node.getTip()).height, 0);
  const expected =
    /^Param 'raw' of 'submit_block' must be a serialized block as bytes \(MessagePack bin\) of 1 to 4000000 bytes, got/;
  for (
    const [raw, shown] of [
      ["00", /got "00"$/], // hex, as protocol 1 took it
      [5, /got 5$/],
      [new Uint8Array(0), /got binary data \(0 bytes\)$/],
      [new Uint8Array(4_000_001), /got binary data \(4000001 bytes\)$/],
    ] as const
  ) {
    await rejectsWith(call(api, "submit_block", { raw }), INVALID, expected);
    await rejectsWith(call(api, "submit_block", { raw }), INVALID, shown);
  }
  await rejectsWith(call(api, "submit_block", {}), INVALID, /'raw' .* is missing/);
  await rejectsWith(
    call(api, "submit_block", { hex: "00" }),
    INVALID,
    /Unexpected param "hex" .* it takes 'raw'$/,
  );
});
