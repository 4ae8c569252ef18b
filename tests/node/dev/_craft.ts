/**
 * Test helpers for the dev node: keys the tests hold themselves, funding them from the node's wallet,
 * crafting (and mis-crafting) transactions that spend their coins, and recording events.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as btc from "@scure/btc-signer";
import { schnorr, secp256k1 } from "@noble/curves/secp256k1.js";
import { DevNode, type DevNodeOptions } from "../../../src/node/dev/node.ts";
import { REGTEST } from "../../../src/node/dev/params.ts";
import { decodeTx, type Tx } from "../../../src/node/dev/tx_codec.ts";
import { fromHex, toHex } from "../../../src/node/header.ts";
import type { BackendEvent } from "../../../src/node/backend.ts";
import { checkPayload } from "../../../src/protocol/catalog.ts";
import { EVENT_CATALOG } from "../../../src/protocol/events/mod.ts";

export { btc, decodeTx, fromHex, REGTEST, toHex };
export type { BackendEvent, Tx };

/** A key the test controls, with the output script and address it pays to. */
export interface Key {
  secret: Uint8Array;
  pub: Uint8Array;
  script: Uint8Array;
  address: string;
  taproot: boolean;
}

/** An output the test may spend. */
export interface Coin {
  txid: string;
  vout: number;
  value: number;
  script: Uint8Array;
}

/** A fresh P2WPKH key. */
export function newKey(): Key {
  const secret = secp256k1.utils.randomSecretKey();
  const pub = secp256k1.getPublicKey(secret, true);
  const pay = btc.p2wpkh(pub, REGTEST);
  return { secret, pub, script: pay.script, address: pay.address!, taproot: false };
}

/** A fresh P2TR key (key-path spends). */
export function newTaprootKey(): Key {
  const secret = schnorr.utils.randomSecretKey();
  const pub = schnorr.getPublicKey(secret);
  const pay = btc.p2tr(pub, undefined, REGTEST);
  return { secret, pub, script: pay.script, address: pay.address!, taproot: true };
}

/** A node that has mined `blocks` blocks to its own wallet. */
export function openNode(opts: DevNodeOptions = {}, blocks = 101): DevNode {
  const node = DevNode.open(opts);
  if (blocks > 0) node.dev.generate(blocks);
  return node;
}

/** A transaction's outputs as coins (mempool or chain). */
export async function outputsOf(node: DevNode, txid: string): Promise<Coin[]> {
  const t = await node.getTransaction(txid);
  assert.ok(t, `transaction ${txid} is known`);
  return decodeTx(t.raw).outputs.map((o, vout) => ({ txid, vout, value: o.value, script: o.script }));
}

/** Pay `value` to a key or address from the wallet (unconfirmed) and return the coin. */
export async function payTo(node: DevNode, to: Key | string, value: number, feeRate?: number): Promise<Coin> {
  const address = typeof to === "string" ? to : to.address;
  const script = toHex(outScript(to));
  const { txid } = node.dev.send(address, value, feeRate);
  const coin = (await outputsOf(node, txid)).find((c) => c.value === value && toHex(c.script) === script);
  assert.ok(coin, `send ${txid} pays ${value} to ${address}`);
  return coin;
}

/** Pay each of `values` to `key`, mining each payment, and return the confirmed coins in order. */
export async function fund(node: DevNode, key: Key, values: number[]): Promise<Coin[]> {
  const coins: Coin[] = [];
  for (const v of values) {
    coins.push(await payTo(node, key, v));
    node.dev.generate(1);
  }
  for (const c of coins) assert.ok(await node.getUtxo(c), `funding ${c.txid}:${c.vout} confirmed`);
  return coins;
}

/** An output to pay: a script or address, and an amount. */
export interface Out {
  to: Key | string | Uint8Array;
  value: number;
}

function outScript(to: Out["to"]): Uint8Array {
  if (to instanceof Uint8Array) return to;
  if (typeof to === "string") return btc.OutScript.encode(btc.Address(REGTEST).decode(to));
  return to.script;
}

/** Options for {@link spend}. */
export interface SpendOpts {
  lockTime?: number;
  sequence?: number;
  /** Sign as if each input held this much instead (a bad signature). */
  signValues?: number[];
}

/** Sign a spend of `coins` (all `key`'s) paying `outs`; whatever is left is the fee. */
export function spend(key: Key, coins: Coin[], outs: Out[], opts: SpendOpts = {}): Uint8Array {
  const tx = new btc.Transaction({ allowUnknownOutputs: true, lockTime: opts.lockTime ?? 0 });
  coins.forEach((c, i) => {
    tx.addInput({
      txid: c.txid,
      index: c.vout,
      sequence: opts.sequence,
      witnessUtxo: { script: c.script, amount: BigInt(opts.signValues?.[i] ?? c.value) },
      ...(key.taproot ? { tapInternalKey: key.pub } : {}),
    });
  });
  for (const o of outs) tx.addOutput({ script: outScript(o.to), amount: BigInt(o.value) });
  tx.sign(key.secret);
  tx.finalize();
  return tx.extract();
}

/**
 * One input, one output to `to`, paying exactly `fee` sats. An ECDSA signature is occasionally a byte
 * shorter (about 1 in 256 even with low R), which would change the vsize and so the fee rate tests
 * compute; unless a sequence is given, the sequence is varied until the signature has its usual length.
 */
export function spendWithFee(key: Key, coin: Coin, to: Out["to"], fee: number, opts: SpendOpts = {}): Uint8Array {
  const outs = [{ to, value: coin.value - fee }];
  if (opts.sequence !== undefined) return spend(key, [coin], outs, opts);
  let best: Uint8Array | undefined;
  for (const sequence of [undefined, 0xfffffffe, 0xfffffffd, 0xfffffffc]) {
    const bytes = spend(key, [coin], outs, { ...opts, sequence });
    if (!best || decodeTx(bytes).vsize > decodeTx(best).vsize) best = bytes;
    if (key.taproot) break;
  }
  return best!;
}

/** One input, one output to `to`, at a fee rate of at least `rate` sat/vB (and within 1 sat of it). */
export function spendAtRate(key: Key, coin: Coin, to: Out["to"], rate: number): Uint8Array {
  let fee = Math.ceil(rate * 110);
  for (let i = 0; i < 5; i++) {
    const bytes = spendWithFee(key, coin, to, fee);
    const need = Math.ceil(rate * decodeTx(bytes).vsize);
    if (need <= fee) return bytes;
    fee = need;
  }
  throw new Error("fee did not converge");
}

/** An unsigned transaction from raw parts, for shapes a signer would refuse. */
export function rawTx(
  inputs: { txid: string; vout: number; scriptSig?: Uint8Array; witness?: Uint8Array[]; sequence?: number }[],
  outputs: { script: Uint8Array; value: number }[],
  lockTime = 0,
): Uint8Array {
  const witnesses = inputs.map((i) => i.witness ?? []);
  return btc.RawTx.encode({
    version: 2,
    segwitFlag: witnesses.some((w) => w.length > 0),
    inputs: inputs.map((i) => ({
      txid: fromHex(i.txid),
      index: i.vout,
      finalScriptSig: i.scriptSig ?? new Uint8Array(),
      sequence: i.sequence ?? 0xffffffff,
    })),
    outputs: outputs.map((o) => ({ amount: BigInt(o.value), script: o.script })),
    witnesses: witnesses.some((w) => w.length > 0) ? witnesses : undefined,
    lockTime,
  });
}

/** Re-encode transaction bytes after `edit` changed the decoded raw transaction. */
export function mutate(bytes: Uint8Array, edit: (raw: ReturnType<typeof btc.RawTx.decode>) => void): Uint8Array {
  const raw = btc.RawTx.decode(bytes.slice()); // decoded fields view the input: copy it first
  edit(raw);
  return btc.RawTx.encode(raw);
}

/** The txid of transaction bytes. */
export function txidOf(bytes: Uint8Array): string {
  return decodeTx(bytes).txid;
}

/** Every event the node publishes, while recording. */
export function record(node: DevNode): { events: BackendEvent[]; types: () => string[]; stop: () => void } {
  const events: BackendEvent[] = [];
  const stop = node.onEvent((e) => events.push(structuredClone(e)));
  return { events, types: () => events.map((e) => e.type), stop };
}

/** Assert every event's payload matches its catalog entry. */
export function assertCatalogPayloads(events: readonly BackendEvent[]): void {
  for (const e of events) {
    const spec = EVENT_CATALOG[e.type];
    assert.ok(spec, `${e.type} is in the catalog`);
    assert.equal(checkPayload(spec.fields, e.payload), undefined, `${e.type} ${JSON.stringify(e.payload)}`);
  }
}

/** Build and mine a block from chosen transactions (bypassing the mempool), for `submitBlock`. */
export { mineBlock } from "../../../src/node/dev/miner.ts";
