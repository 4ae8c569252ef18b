// Protocol 2 carries serialized blocks as bytes: the largest block a node can accept (4,000,000 bytes) fits in one
// frame under the default limit, with room for its header fields and txids; as hex (protocol 1) it did not.
import { deepEqual, equal, ok } from "node:assert/strict";
import { decode, DEFAULT_MAX_FRAME_BYTES, encodeFrame, parseMessage } from "../../src/protocol/mod.ts";
import type { Block } from "../../src/protocol/chain.ts";

/**
 * The largest block with `txCount` transactions that consensus allows: weight = 4 × base bytes + witness bytes
 * ≤ 4,000,000, and every transaction has at least 60 base bytes, so the block is at most 4,000,000 − 3 × 60 ×
 * `txCount` bytes (all the rest witness data).
 */
function fullBlock(txCount: number): Block {
  const raw = new Uint8Array(4_000_000 - 180 * txCount);
  for (let i = 0; i < raw.length; i += 997) raw[i] = i & 0xff;
  return {
    hash: "ab".repeat(32),
    height: 840_000,
    prev_hash: "cd".repeat(32),
    merkle_root: "ef".repeat(32),
    time: 1_713_571_767,
    version: 0x20000000,
    bits: 0x17034219,
    nonce: 4_294_967_295,
    txids: Array.from({ length: txCount }, (_, i) => i.toString(16).padStart(64, "0")),
    size: raw.length,
    weight: 4_000_000,
    raw,
  };
}

Deno.test("a get_block answer for the largest possible block fits in one default frame and decodes intact", () => {
  // From one transaction (a 4 MB block, nearly all witness) to 16,666 (the most 4,000,000 weight units hold).
  for (const txCount of [1, 100, 3_000, 16_666]) {
    const block = fullBlock(txCount);
    const frame = encodeFrame({ kind: "response", id: 7, ok: true, result: block });
    ok(frame.length - 4 <= DEFAULT_MAX_FRAME_BYTES, `${txCount} txs: ${frame.length - 4} > ${DEFAULT_MAX_FRAME_BYTES}`);
    const m = parseMessage(decode(frame.subarray(4)));
    equal(m.kind, "response");
    const got = (m as { result: Block }).result;
    ok(got.raw instanceof Uint8Array);
    deepEqual(got, block);
  }
  // As hex (protocol 1), a 4 MB block alone is twice the bytes: over the limit.
  ok(fullBlock(1).raw.length * 2 > DEFAULT_MAX_FRAME_BYTES);
});
