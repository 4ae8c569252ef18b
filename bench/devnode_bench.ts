/**
 * `deno task bench:devnode`: the embedded dev node's mining and mempool throughput, next to baselines
 * measured in the same run.
 *
 * - **Blocks/s with N transactions each**: `node.dev.generate(1)` with N signed P2WPKH spends in the
 *   mempool (template selection, coinbase, merkle root, proof of work, full validation, the SQLite
 *   write and the events), beside `mineBlock()` on the same transactions: assembly and proof of work
 *   alone. Run in memory and with the store on disk.
 * - **Mempool acceptances/s**: `submitTransaction(hex)` of pre-signed one-in one-out P2WPKH spends
 *   (decode, every policy check, signature verification, the SQLite write and the events), beside
 *   the floor of decoding each transaction and verifying its one signature directly.
 *
 * Transactions are signed before timing starts. Each round runs every variant once; the medians over
 * rounds are printed, with ratios taken inside each round.
 *
 *   deno task bench:devnode [--rounds 5] [--accept 400]
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as btc from "@scure/btc-signer";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { decodeTx, fromHex, mineBlock } from "../mod.ts";
import { BENCH_KEY, fundedNode, spends, submitAll } from "./_chain.ts";
import { median } from "./_stats.ts";

const opts = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "5" }, accept: { type: "string", default: "400" } },
}).values;
const ROUNDS = Number(opts.rounds), ACCEPT = Number(opts.accept);
const SIZES = [0, 10, 100, 1000];
const { pay, coin: COIN } = BENCH_KEY;

/** Blocks/s for each size N, on the node and for bare assembly; `rounds` blocks per size. */
async function mining(dataDir?: string) {
  const need = SIZES.reduce((n, s) => n + s, 0) * ROUNDS;
  const { node, outs } = await fundedNode(need, dataDir);
  const txs = spends(outs);
  const result: Record<number, { node: number[]; bare: number[] }> = {};
  let next = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of SIZES) {
      const batch = txs.slice(next, next + n);
      next += n;
      await submitAll(node, batch);
      const template = await node.getBlockTemplate();
      const chosen = template.transactions.map((t) => decodeTx(t.raw));
      // Bare assembly of the same block: coinbase, merkle root, proof of work, serialization.
      const tb = performance.now();
      mineBlock({
        prevHash: template.prev_hash,
        height: template.height,
        time: template.cur_time,
        txs: chosen,
        fees: template.transactions.reduce((sum, t) => sum + t.fee_sats, 0),
        payout: pay.script,
        extraNonce: r,
      });
      const bare = performance.now() - tb;
      const t0 = performance.now();
      const [h] = node.dev.generate(1);
      const took = performance.now() - t0;
      const mined = (await node.getBlock(h.hash))!.txids.length - 1;
      if (mined !== n) throw new Error(`expected ${n} transactions in the block, got ${mined}`);
      (result[n] ??= { node: [], bare: [] }).node.push(1000 / took);
      result[n].bare.push(1000 / bare);
    }
  }
  await node.close();
  return result;
}

/** Acceptances/s into the mempool, and the decode + verify floor for the same transactions. */
async function accepting() {
  const { node, outs } = await fundedNode(ACCEPT * ROUNDS);
  const txs = spends(outs);
  const ours: number[] = [], floor: number[] = [], ratio: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const batch = txs.slice(r * ACCEPT, (r + 1) * ACCEPT);
    const tf = performance.now();
    for (const hex of batch) {
      const tx = btc.Transaction.fromRaw(fromHex(hex), { allowUnknownOutputs: true });
      const [sig, pk] = tx.getInput(0).finalScriptWitness!;
      const msg = tx.preimageWitnessV0(0, btc.OutScript.encode({ type: "pkh", hash: pay.hash }), 1, BigInt(COIN));
      if (!secp256k1.verify(sig.subarray(0, -1), msg, pk, { prehash: false, format: "der" })) throw new Error("bad");
    }
    const f = ACCEPT / ((performance.now() - tf) / 1000);
    const t0 = performance.now();
    await submitAll(node, batch);
    const o = ACCEPT / ((performance.now() - t0) / 1000);
    ours.push(o);
    floor.push(f);
    ratio.push(o / f);
    node.dev.generate(1);
  }
  await node.close();
  return { ours, floor, ratio };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(`dev node bench: ${ROUNDS} rounds, medians (min–max)`);
const range = (xs: number[]) => `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;

const mem = await mining();
const dir = await Deno.makeTempDir();
const disk = await mining(dir);
await Deno.remove(dir, { recursive: true });
console.log("\nblocks/s with N transactions each: in memory | on disk | bare assembly (same txs) | memory/bare");
for (const n of SIZES) {
  const ratios = mem[n].node.map((x, i) => x / mem[n].bare[i]);
  console.log(
    `  N=${String(n).padEnd(5)} ${range(mem[n].node).padEnd(24)} ${range(disk[n].node).padEnd(24)} ` +
      `${range(mem[n].bare).padEnd(26)} ${median(ratios).toFixed(3)}`,
  );
  console.log(
    `           = ${fmt(median(mem[n].node) * n)} tx/s confirmed in memory, ${fmt(median(disk[n].node) * n)} on disk`,
  );
}
const acc = await accepting();
console.log(`\nmempool acceptances/s (${ACCEPT} per round): ${range(acc.ours)}`);
console.log(`decode + verify floor/s:                     ${range(acc.floor)}`);
console.log(`ours / floor:                                ${median(acc.ratio).toFixed(3)}`);
