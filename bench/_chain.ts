/**
 * A dev node funded for benches: coinbases pay a bench key, a fan-out transaction splits them into
 * many small outputs, and pre-signed one-in one-out P2WPKH spends of those fill the mempool.
 *
 * @module
 */
import * as btc from "@scure/btc-signer";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { DevNode, REGTEST, toHex } from "../mod.ts";

/** A key the benches pay to and spend from. */
export interface BenchKey {
  /** Secret key. */
  key: Uint8Array;
  /** Compressed public key. */
  pub: Uint8Array;
  /** Its P2WPKH output (address, script, hash). */
  pay: ReturnType<typeof btc.p2wpkh>;
  /** Sats in each funded output. */
  coin: number;
}

/** The bench key (random per run), its P2WPKH output, and the value of each funded output. */
export const BENCH_KEY: BenchKey = (() => {
  const key = secp256k1.utils.randomSecretKey();
  const pub = secp256k1.getPublicKey(key, true);
  return { key, pub, pay: btc.p2wpkh(pub, REGTEST), coin: 20_000 };
})();

/** A spendable output of {@link BENCH_KEY}. */
export interface Coin {
  /** Transaction id. */
  txid: string;
  /** Output index. */
  vout: number;
}

/**
 * A node whose coinbases pay the bench key, with `coins` spendable outputs of `BENCH_KEY.coin` sats.
 * Setup mines with `node.dev.generate`.
 *
 * @param coins Outputs wanted.
 * @param dataDir The node's store; default in memory.
 * @returns The node and the outputs.
 */
export async function fundedNode(coins: number, dataDir?: string): Promise<{ node: DevNode; outs: Coin[] }> {
  const { key, pay, coin } = BENCH_KEY;
  const node = DevNode.open({ dataDir, coinbaseAddress: pay.address!, maxMempoolTxs: 1_000_000 });
  const perFanout = 2_000;
  const fanouts = Math.ceil(coins / perFanout);
  node.dev.generate(100 + fanouts);
  const outs: Coin[] = [];
  for (let f = 0; f < fanouts; f++) {
    const block = (await node.getBlock((await node.getBlockHash(f + 1))!))!;
    const tx = new btc.Transaction();
    tx.addInput({ txid: block.txids[0], index: 0, witnessUtxo: { script: pay.script, amount: 5_000_000_000n } });
    for (let i = 0; i < perFanout; i++) tx.addOutput({ script: pay.script, amount: BigInt(coin) });
    tx.addOutput({ script: pay.script, amount: 5_000_000_000n - BigInt(perFanout * coin) - 200_000n });
    tx.sign(key);
    tx.finalize();
    const r = await node.submitTransaction(toHex(tx.extract()));
    if (r.status !== "accepted") throw new Error(`fan-out refused: ${r.reason}`);
    const txid = tx.id; // a getter that serializes the whole transaction: once, not per output
    for (let i = 0; i < perFanout; i++) outs.push({ txid, vout: i });
  }
  node.dev.generate(1);
  return { node, outs };
}

/**
 * Signed one-in one-out spends of `outs`, paying 500 sats of fee each.
 *
 * @param outs Outputs of {@link BENCH_KEY}.
 * @returns The transactions, hex.
 */
export function spends(outs: Coin[]): string[] {
  const { key, pay, coin } = BENCH_KEY;
  return outs.map((o) => {
    const tx = new btc.Transaction();
    tx.addInput({ txid: o.txid, index: o.vout, witnessUtxo: { script: pay.script, amount: BigInt(coin) } });
    tx.addOutput({ script: pay.script, amount: BigInt(coin - 500) });
    tx.sign(key);
    tx.finalize();
    return toHex(tx.extract());
  });
}

/**
 * Submit transactions to the mempool, failing on any refusal.
 *
 * @param node The node.
 * @param txs Hex transactions.
 */
export async function submitAll(node: DevNode, txs: string[]): Promise<void> {
  for (const hex of txs) {
    const s = await node.submitTransaction(hex);
    if (s.status !== "accepted") throw new Error(`bench tx refused: ${s.reason}`);
  }
}
