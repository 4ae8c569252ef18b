import assert from "node:assert/strict";
import { btc, decodeTx, newKey, newTaprootKey, openNode, REGTEST, toHex } from "./_craft.ts";
import { WalletError } from "../../../src/node/dev/wallet.ts";
import type { DevNode } from "../../../src/node/dev/node.ts";

const COIN = 100_000_000;
const SUBSIDY = 50 * COIN;

/** The decoded transaction of a txid the node knows. */
async function txOf(node: DevNode, txid: string) {
  const t = await node.getTransaction(txid);
  assert.ok(t);
  return decodeTx(t.raw);
}

/** What `fn` threw, asserted to be a WalletError whose message mentions each of `mentions`. */
function walletError(fn: () => unknown, ...mentions: string[]): WalletError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof WalletError, `expected a WalletError, got ${caught}`);
  for (const m of mentions) assert.ok(caught.message.includes(m), `'${caught.message}' mentions '${m}'`);
  return caught;
}

Deno.test("after 101 blocks every coinbase is either spendable or immature, and all that is spendable spends", async () => {
  const node = openNode();
  const b = node.dev.balance();
  assert.equal(b.unconfirmed, 0);
  assert.equal(b.confirmed, b.spendable);
  assert.equal(b.spendable + b.immature, 101 * SUBSIDY);
  assert.ok(b.spendable >= SUBSIDY && b.spendable % SUBSIDY === 0, `spendable ${b.spendable}`);
  assert.deepEqual(node.dev.status().wallet, { address: node.wallet.address(), keys: 1, ...b });
  // Whatever the wallet calls spendable, the mempool takes: spend (nearly) all of it at once.
  const s = node.dev.send(newKey().address, b.spendable - 10_000, 1);
  assert.equal((await txOf(node, s.txid)).inputs.length, b.spendable / SUBSIDY);
  assert.equal(node.dev.balance().spendable, 10_000 - s.fee_sats);
  await node.close();
});

Deno.test({
  // Regression (fixed): controls.ts #immature treats a coinbase as mature once `tip + 1 - height >= 100`, so after
  // 101 blocks the coinbases of heights 1 and 2 are both spendable (100 BTC). Bitcoin Core's wallet
  // (GetBlocksToMaturity: 101 confirmations) and the brief for this test expect exactly one mature coinbase (50
  // BTC) and 100 immature ones after 101 blocks. The node's own docs ("fewer than 100 confirmations") and
  // consensus agree with the code, so this may be a spec question, not a defect.
  name: "after 101 blocks exactly one coinbase (50 BTC) is spendable",
  fn() {
    const node = openNode();
    assert.deepEqual(node.dev.balance(), {
      spendable: SUBSIDY,
      confirmed: SUBSIDY,
      immature: 100 * SUBSIDY,
      unconfirmed: 0,
    });
    return node.close();
  },
});

Deno.test("sends count unconfirmed change, pay exactly the amount, and settle when mined", async () => {
  const node = openNode();
  const before = node.dev.balance();
  const outsider = newKey();
  const s1 = node.dev.send(outsider.address, 1_234_567, 3);
  const tx1 = await txOf(node, s1.txid);
  const paid = tx1.outputs.filter((o) => toHex(o.script) === toHex(outsider.script));
  assert.deepEqual(paid.map((o) => o.value), [1_234_567]);
  const change = tx1.outputs.filter((o) => toHex(o.script) === toHex(node.wallet.script()));
  assert.equal(change.length, 1);
  assert.equal(tx1.outputs.length, 2);
  const spentIn = SUBSIDY * tx1.inputs.length;
  assert.equal(change[0].value, spentIn - 1_234_567 - s1.fee_sats);
  const after1 = node.dev.balance();
  assert.deepEqual(after1, {
    spendable: before.spendable - 1_234_567 - s1.fee_sats,
    confirmed: before.confirmed - spentIn,
    immature: before.immature,
    unconfirmed: change[0].value,
  });

  const own = node.wallet.newAddress();
  const s2 = node.dev.send(own, 700_000, 2);
  const after2 = node.dev.balance();
  assert.equal(after2.spendable, after1.spendable - s2.fee_sats, "paying itself only costs the fee");
  assert.equal(node.wallet.size, 2);

  node.dev.generate(1);
  const mined = node.dev.balance();
  assert.equal(mined.unconfirmed, 0);
  assert.equal(mined.spendable, mined.confirmed);
  // One more coinbase matured; the new one (subsidy plus both fees) is immature.
  assert.equal(mined.spendable, after2.spendable + SUBSIDY);
  assert.equal(mined.immature, before.immature + s1.fee_sats + s2.fee_sats);
  assert.equal((await node.getTransaction(s1.txid))?.confirmations, 1);
  await node.close();
});

Deno.test("sends pay any regtest address type exactly and at least the fee rate asked", async () => {
  const node = openNode();
  const k = newKey();
  const addresses = [
    k.address,
    newTaprootKey().address,
    btc.p2pkh(k.pub, REGTEST).address!,
    btc.p2sh(btc.p2wpkh(k.pub, REGTEST), REGTEST).address!,
  ];
  const rates = [1, 1.5, 2.3, 7, 25];
  for (const [i, rate] of rates.entries()) {
    const address = addresses[i % addresses.length];
    const amount = 50_000 + i;
    const s = node.dev.send(address, amount, rate);
    const entry = (await node.getMempoolEntry(s.txid))!;
    assert.deepEqual([s.fee_sats, s.fee_rate, s.vsize], [entry.fee_sats, entry.fee_rate, entry.vsize]);
    assert.ok(entry.fee_rate >= rate, `fee rate ${entry.fee_rate} >= ${rate}`);
    assert.ok(entry.fee_rate < Math.ceil(rate) + 1, `fee rate ${entry.fee_rate} close to ${rate}`);
    const script = toHex(btc.OutScript.encode(btc.Address(REGTEST).decode(address)));
    const outs = (await txOf(node, s.txid)).outputs.filter((o) => toHex(o.script) === script);
    assert.deepEqual(outs.map((o) => o.value), [amount], `pays ${address}`);
  }
  assert.equal((await node.getMempoolInfo()).transaction_count, rates.length, "no send conflicted with another");
  const auto = node.dev.send(k.address, 10_000);
  assert.ok(auto.fee_rate >= node.dev.status().fee_estimate);
  await node.close();
});

Deno.test("a send the wallet cannot make is a WalletError and changes nothing", async () => {
  const node = openNode();
  const before = [node.dev.balance(), await node.getMempoolInfo()];
  const to = newKey().address;
  for (const bad of ["nope", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "", to.toUpperCase() + "x"]) {
    walletError(() => node.dev.send(bad, 10_000, 1), `'${bad}'`, "not a regtest address");
  }
  for (const amount of [0, -1, 1.5, NaN, Infinity, 2 ** 60]) {
    walletError(() => node.dev.send(to, amount, 1), "amount", String(amount));
  }
  for (const rate of [0, -2, NaN, Infinity]) walletError(() => node.dev.send(to, 10_000, rate), "fee rate");
  const b = node.dev.balance();
  walletError(() => node.dev.send(to, b.spendable, 1), "insufficient funds", String(b.spendable));
  walletError(() => node.dev.send(to, b.spendable + b.immature, 1), "insufficient funds");
  walletError(() => node.dev.generate(1, { address: "nope" }), "'nope'");
  assert.deepEqual([node.dev.balance(), await node.getMempoolInfo()], before);
  await node.close();
});

Deno.test("a fresh node's wallet has nothing to spend", async () => {
  const node = openNode({}, 0);
  assert.deepEqual(node.dev.balance(), { spendable: 0, confirmed: 0, immature: 0, unconfirmed: 0 });
  walletError(() => node.dev.send(newKey().address, 1_000, 1), "insufficient funds", "0 sats spendable");
  node.dev.generate(1);
  assert.deepEqual(node.dev.balance(), { spendable: 0, confirmed: 0, immature: SUBSIDY, unconfirmed: 0 });
  await node.close();
});
