// The human-readable output of `deno task ctl node ...`.
import { deepEqual, equal } from "node:assert/strict";
import { nodeText } from "../../src/cli/node_format.ts";
import type { DevNodeStatus, ReorgSummary, SendResult } from "../../src/node/dev/controls.ts";
import type { Block, BlockHeader, MempoolEntry, MempoolInfo, Transaction } from "../../src/protocol/chain.ts";

const A = "aa".repeat(32);
const B = "bb".repeat(32);
const C = "cc".repeat(32);
const D = "dd".repeat(32);

function status(over: Partial<DevNodeStatus> = {}): DevNodeStatus {
  return {
    network: "regtest",
    height: 101,
    tip_hash: A,
    tip_time: 1_700_000_000,
    mempool: { transactions: 2, vsize: 282, fees_sats: 846, min_fee_rate: 1 },
    fee_estimate: 3,
    wallet: {
      address: "bcrt1qexample",
      keys: 2,
      spendable: 4_999_899_577,
      confirmed: 0,
      immature: 500_000_000_000,
      unconfirmed: 4_999_899_577,
    },
    data_dir: "/srv/data/node",
    ...over,
  };
}

function header(height: number, hash: string): BlockHeader {
  return {
    version: 0x20000000,
    prev_hash: D,
    merkle_root: C,
    time: 1_700_000_000,
    bits: 0x207fffff,
    nonce: 2,
    hash,
    height,
  };
}

function tx(over: Partial<Transaction> = {}): Transaction {
  return {
    txid: A,
    wtxid: B,
    raw: new Uint8Array([2, 0, 0, 0, 1]),
    size: 222,
    vsize: 141,
    weight: 561,
    block_hash: null,
    block_height: null,
    confirmations: 0,
    ...over,
  };
}

Deno.test("nodeText status: one labelled line per fact, amounts in BTC, tip time in ISO", () => {
  deepEqual(nodeText("status", status()).split("\n"), [
    `network      regtest`,
    `tip          101 ${A} (2023-11-14T22:13:20.000Z)`,
    `mempool      2 txs, 282 vB, 846 sats in fees, min 1 sat/vB`,
    `fee estimate 3 sat/vB (next block)`,
    `wallet       bcrt1qexample (2 keys)`,
    `  spendable  49.99899577 BTC (49.99899577 BTC unconfirmed)`,
    `  immature   5000.00000000 BTC`,
    `data dir     /srv/data/node`,
  ]);
});

Deno.test("nodeText status of an in-memory node says so", () => {
  const text = nodeText("status", status({ data_dir: null }));
  equal(text.split("\n").at(-1), "data dir     (in memory)");
});

Deno.test("nodeText generate: a HEIGHT/HASH table, one row per block", () => {
  deepEqual(nodeText("generate", [header(9, A), header(10, B)]).split("\n"), [
    `HEIGHT  HASH`,
    `9       ${A}`,
    `10      ${B}`,
  ]);
  equal(nodeText("generate", []), "HEIGHT  HASH");
});

Deno.test("nodeText send: the txid, then fee, size and rate with three decimals", () => {
  const r: SendResult = { txid: A, fee_sats: 423, fee_rate: 3, vsize: 141 };
  equal(nodeText("send", r), `${A}\n423 sats fee, 141 vB, 3.000 sat/vB`);
  equal(nodeText("send", { ...r, fee_rate: 2.12345 }).split("\n")[1], "423 sats fee, 141 vB, 2.123 sat/vB");
});

Deno.test("nodeText mempool: totals, then a table of entries with their dependency counts", () => {
  const info: MempoolInfo = { transaction_count: 2, size_bytes: 282, total_fee_sats: 846, min_fee_rate: 1 };
  const entry = (txid: string, fee: number, rate: number, depends: string[]): MempoolEntry => ({
    txid,
    vsize: 141,
    weight: 561,
    fee_sats: fee,
    fee_rate: rate,
    time: 1_700_000_000,
    depends,
  });
  deepEqual(nodeText("mempool", { info, entries: [entry(A, 705, 5, []), entry(B, 141, 1, [A])] }).split("\n"), [
    `2 txs, 282 vB, 846 sats in fees, min 1 sat/vB`,
    `TXID${" ".repeat(62)}VSIZE  FEE  SAT/VB  DEPENDS`,
    `${A}  141    705  5.000   0`,
    `${B}  141    141  1.000   1`,
  ]);
});

Deno.test("nodeText mempool when empty: only the totals line", () => {
  const info: MempoolInfo = { transaction_count: 0, size_bytes: 0, total_fee_sats: 0, min_fee_rate: 1 };
  equal(nodeText("mempool", { info, entries: [] }), "0 txs, 0 vB, 0 sats in fees, min 1 sat/vB");
});

Deno.test("nodeText block: header fields, bits in hex, then every txid indented", () => {
  const b: Block = { ...header(5, A), txids: [B, C], size: 400, weight: 1300, raw: new Uint8Array([0]) };
  deepEqual(nodeText("block", b).split("\n"), [
    `block        5 ${A}`,
    `previous     ${D}`,
    `merkle root  ${C}`,
    `time         1700000000 (2023-11-14T22:13:20.000Z)`,
    `bits nonce   0x207fffff 2`,
    `size weight  400 1300`,
    `txs          2`,
    `  ${B}`,
    `  ${C}`,
  ]);
});

Deno.test("nodeText tx: in the mempool, or in a block with its confirmations; then the hex", () => {
  equal(nodeText("tx", tx()), `${A}\n141 vB (222 bytes), in mempool\n0200000001`);
  const mined = tx({ block_hash: B, block_height: 102, confirmations: 3 });
  equal(nodeText("tx", mined), `${A}\n141 vB (222 bytes), in block 102 ${B}, 3 confirmations\n0200000001`);
});

Deno.test("nodeText reorg: fork height, counts, both tips and the mempool size", () => {
  const r: ReorgSummary = {
    old_tip: A,
    new_tip: B,
    fork_height: 99,
    disconnected: 2,
    connected: 3,
    mempool_size: 4,
  };
  deepEqual(nodeText("reorg", r).split("\n"), [
    "reorg at height 99: 2 blocks disconnected, 3 connected",
    `old tip ${A}`,
    `new tip ${B}`,
    "mempool now 4 txs",
  ]);
});

Deno.test("nodeText address: the bare address", () => {
  equal(nodeText("address", { address: "bcrt1qxyz" }), "bcrt1qxyz");
});

Deno.test("nodeText flush and unknown subcommands: indented JSON", () => {
  equal(nodeText("flush", { pages: 12, duration_ms: 3 }), '{\n  "pages": 12,\n  "duration_ms": 3\n}');
  equal(nodeText("whatever", [1, { big: 2n ** 64n }]), '[\n  1,\n  {\n    "big": 18446744073709551616\n  }\n]');
});
