import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { fromHex, toHex } from "../../../src/node/header.ts";
import { decodeBlock, encodeBlock } from "../../../src/node/dev/block_codec.ts";
import { bip34Prefix } from "../../../src/node/dev/coinbase.ts";
import { decodeTx } from "../../../src/node/dev/tx_codec.ts";
import { GENESIS_COINBASE_HEX, REGTEST_GENESIS } from "../../../src/node/dev/params.ts";
import { NodeStore } from "../../../src/node/dev/store.ts";
import { addressScript, WalletError } from "../../../src/node/dev/wallet.ts";
import { DevNode } from "../../../src/node/dev/node.ts";
import { checkBlock, heightScript, parseBlock } from "./_independent.ts";

/** The mainnet genesis block, all 285 bytes: header, one transaction, the coinbase. */
const MAINNET_GENESIS_HEX = "01000000" +
  "0000000000000000000000000000000000000000000000000000000000000000" +
  "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a" +
  "29ab5f49" + "ffff001d" + "1dac2b7c" +
  "01" +
  "01000000" + "01" + "0000000000000000000000000000000000000000000000000000000000000000" + "ffffffff" +
  "4d" + "04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e20" +
  "6272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73" + "ffffffff" +
  "01" + "00f2052a01000000" +
  "43" + "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec1" +
  "12de5c384df7ba0b8d578a4c702b6bf11d5fac" +
  "00000000";

const MAINNET_GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
const GENESIS_MERKLE = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
const REGTEST_GENESIS_HASH = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206";

/** BIP173's P2WPKH example (key hash of the generator point's public key), in its regtest form. */
const P2WPKH_ADDRESS = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
const P2WPKH_SCRIPT = "0014751e76e8199196d454941c45d1b3a323f1433bd6";

Deno.test("the mainnet genesis block decodes to its known hash and merkle root", () => {
  const bytes = fromHex(MAINNET_GENESIS_HEX);
  equal(bytes.length, 285);
  const block = decodeBlock(bytes);
  equal(block.hash, MAINNET_GENESIS_HASH);
  equal(block.header.merkle_root, GENESIS_MERKLE);
  equal(block.header.prev_hash, "00".repeat(32));
  equal(block.header.time, 1231006505);
  equal(block.header.bits, 0x1d00ffff);
  equal(block.header.nonce, 2083236893);
  equal(block.txs.length, 1);
  equal(block.txs[0].txid, GENESIS_MERKLE);
  ok(block.txs[0].coinbase);
  equal(block.txs[0].outputs[0].value, 5_000_000_000);
  equal(block.size, 285);
  equal(block.weight, 4 * 285, "no witness: weight is 4 × size");
  equal(toHex(encodeBlock(block.header, block.txs)), MAINNET_GENESIS_HEX, "re-encodes byte for byte");
  equal(MAINNET_GENESIS_HEX.slice(162), GENESIS_COINBASE_HEX, "the shared coinbase constant matches");
});

Deno.test("the independent checker agrees on the mainnet genesis block", () => {
  const block = checkBlock(MAINNET_GENESIS_HEX, { height: null, prevHash: "00".repeat(32) });
  equal(block.hash, MAINNET_GENESIS_HASH);
  equal(block.txs[0].txid, GENESIS_MERKLE);
  equal(block.target, 0xffffn << 208n);
  const tampered = MAINNET_GENESIS_HEX.slice(0, 152) + "1dac2b7d" + MAINNET_GENESIS_HEX.slice(160);
  throws(() => checkBlock(tampered, { height: null, prevHash: "00".repeat(32) }), /high-hash/);
});

Deno.test("a fresh DevNode starts at the regtest genesis block and serves its bytes", async () => {
  const node = DevNode.open();
  try {
    const tip = await node.getTip();
    deepEqual(tip, { hash: REGTEST_GENESIS_HASH, height: 0 });
    const block = await node.getBlock(REGTEST_GENESIS_HASH);
    ok(block);
    equal(block.hash, REGTEST_GENESIS_HASH);
    equal(block.height, 0);
    equal(block.raw.length, 285);
    // Same block as mainnet's but for time, bits and nonce.
    const expected = MAINNET_GENESIS_HEX.slice(0, 136) + "dae5494d" + "ffff7f20" + "02000000" +
      MAINNET_GENESIS_HEX.slice(160);
    equal(toHex(block.raw), expected);
    const decoded = decodeBlock(block.raw);
    equal(decoded.hash, REGTEST_GENESIS_HASH);
    equal(toHex(encodeBlock(decoded.header, decoded.txs)), toHex(block.raw), "round-trips through decode/encode");
    deepEqual(decoded.header, { ...REGTEST_GENESIS });
    deepEqual(block.txids, [GENESIS_MERKLE]);
    equal(checkBlock(toHex(block.raw), { height: null, prevHash: "00".repeat(32) }).hash, REGTEST_GENESIS_HASH);
    equal(await node.getBlockHash(0), REGTEST_GENESIS_HASH);
    equal(await node.getBlock(REGTEST_GENESIS_HASH.toUpperCase()).then((b) => b?.hash), REGTEST_GENESIS_HASH);
  } finally {
    await node.close();
  }
});

Deno.test("bip34Prefix() matches Bitcoin Core's CScript() << height", () => {
  const vectors: [number, string][] = [
    [0, "00"],
    [1, "51"],
    [16, "60"],
    [17, "0111"],
    [127, "017f"],
    [128, "028000"],
    [255, "02ff00"],
    [256, "020001"],
    [32767, "02ff7f"],
    [32768, "03008000"],
    [65535, "03ffff00"],
    [8388607, "03ffff7f"],
    [8388608, "0400008000"],
    [2147483647, "04ffffff7f"],
  ];
  for (const [height, script] of vectors) {
    equal(toHex(bip34Prefix(height)), script, `height ${height}`);
    equal(toHex(heightScript(height)), script, `independent encoder, height ${height}`);
  }
});

Deno.test("addressScript() maps the BIP173 regtest P2WPKH address to its script", () => {
  equal(toHex(addressScript(P2WPKH_ADDRESS)), P2WPKH_SCRIPT);
  equal(toHex(addressScript(P2WPKH_ADDRESS.toUpperCase())), P2WPKH_SCRIPT, "bech32 is case-insensitive");
  throws(() => addressScript("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"), WalletError, "mainnet address");
  throws(() => addressScript("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt081"), WalletError, "bad checksum");
});

Deno.test("the wallet derives the BIP173 P2WPKH address from secret key 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "devnode-vec-" });
  try {
    const store = NodeStore.open(`${dir}/node.sqlite`);
    const one = new Uint8Array(32);
    one[31] = 1;
    store.addKey(one);
    store.close();
    const node = DevNode.open({ dataDir: dir });
    try {
      equal(node.wallet.address(), P2WPKH_ADDRESS);
      equal(toHex(node.wallet.script()), P2WPKH_SCRIPT);
      ok(node.wallet.owns(fromHex(P2WPKH_SCRIPT)));
      // The default coinbase payout is the wallet's first address.
      const [header] = node.dev.generate(1);
      const block = await node.getBlock(header.hash);
      const parsed = parseBlock(toHex(block!.raw));
      equal(toHex(parsed.txs[0].outputs[0].script), P2WPKH_SCRIPT);
      equal(parsed.txs[0].outputs[0].value, 5_000_000_000n);
    } finally {
      await node.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the genesis coinbase decodes with its known txid and no witness", () => {
  const tx = decodeTx(fromHex(GENESIS_COINBASE_HEX));
  equal(tx.txid, GENESIS_MERKLE);
  equal(tx.wtxid, GENESIS_MERKLE);
  equal(tx.size, 204);
  equal(tx.vsize, 204);
  ok(tx.coinbase);
});
