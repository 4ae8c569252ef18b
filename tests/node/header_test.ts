import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  bitsToTarget,
  blockWork,
  fromHex,
  type HeaderFields,
  headerHash,
  meetsTarget,
  serializeHeader,
  sha256d,
  toHex,
} from "../../src/node/header.ts";

const GENESIS_MERKLE = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
const ZERO = "00".repeat(32);

const REGTEST_GENESIS: HeaderFields = {
  version: 1,
  prev_hash: ZERO,
  merkle_root: GENESIS_MERKLE,
  time: 1296688602,
  bits: 0x207fffff,
  nonce: 2,
};

const MAINNET_GENESIS: HeaderFields = {
  version: 1,
  prev_hash: ZERO,
  merkle_root: GENESIS_MERKLE,
  time: 1231006505,
  bits: 0x1d00ffff,
  nonce: 2083236893,
};

Deno.test("headerHash() of the regtest genesis header is 0f9188f1…2206", () => {
  equal(headerHash(REGTEST_GENESIS), "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206");
});

Deno.test("headerHash() of the mainnet genesis header is 000000000019d6…e26f", () => {
  equal(headerHash(MAINNET_GENESIS), "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
});

Deno.test("serializeHeader() writes the 80 consensus bytes of the mainnet genesis header", () => {
  const expected = "01000000" + ZERO +
    "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a" +
    "29ab5f49" + "ffff001d" + "1dac2b7c";
  equal(toHex(serializeHeader(MAINNET_GENESIS)), expected);
});

Deno.test("serializeHeader() writes version as little-endian signed int32", () => {
  const bytes = serializeHeader({ ...REGTEST_GENESIS, version: -2 });
  equal(bytes.length, 80);
  equal(toHex(bytes.subarray(0, 4)), "feffffff");
  equal(toHex(serializeHeader({ ...REGTEST_GENESIS, version: 0x20000000 }).subarray(0, 4)), "00000020");
});

Deno.test("serializeHeader() reverses display-order prev_hash into internal order", () => {
  const prev = "00".repeat(31) + "01";
  const bytes = serializeHeader({ ...REGTEST_GENESIS, prev_hash: prev });
  equal(bytes[4], 0x01);
  equal(bytes[35], 0x00);
});

Deno.test("sha256d() is SHA-256 applied twice", () => {
  // sha256d("") = 5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456
  equal(toHex(sha256d(new Uint8Array())), "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456");
});

Deno.test("bitsToTarget() decodes regtest bits 0x207fffff", () => {
  equal(bitsToTarget(0x207fffff), 0x7fffffn << 232n);
});

Deno.test("bitsToTarget() decodes mainnet bits 0x1d00ffff", () => {
  equal(bitsToTarget(0x1d00ffff), 0xffffn << 208n);
});

Deno.test("bitsToTarget() shifts the mantissa right for exponents below 3", () => {
  equal(bitsToTarget(0x03123456), 0x123456n);
  equal(bitsToTarget(0x02123456), 0x1234n);
  equal(bitsToTarget(0x01123456), 0x12n);
  equal(bitsToTarget(0x00123456), 0n);
});

Deno.test("bitsToTarget() ignores the sign bit of the mantissa", () => {
  equal(bitsToTarget(0x04923456), 0x12345600n);
});

Deno.test("blockWork() of 0x1d00ffff is 0x100010001", () => {
  equal(blockWork(0x1d00ffff), 0x100010001n);
});

Deno.test("blockWork() of regtest bits is 2", () => {
  equal(blockWork(0x207fffff), 2n);
});

Deno.test("meetsTarget() accepts a hash equal to the target and rejects target + 1", () => {
  const target = bitsToTarget(0x1d00ffff);
  const atTarget = target.toString(16).padStart(64, "0");
  const above = (target + 1n).toString(16).padStart(64, "0");
  ok(meetsTarget(atTarget, 0x1d00ffff));
  ok(!meetsTarget(above, 0x1d00ffff));
});

Deno.test("meetsTarget() accepts the genesis hashes at their own bits", () => {
  ok(meetsTarget(headerHash(MAINNET_GENESIS), MAINNET_GENESIS.bits));
  ok(meetsTarget(headerHash(REGTEST_GENESIS), REGTEST_GENESIS.bits));
});

Deno.test("meetsTarget() rejects the regtest genesis hash at mainnet bits", () => {
  ok(!meetsTarget(headerHash(REGTEST_GENESIS), 0x1d00ffff));
});

Deno.test("meetsTarget() accepts the all-zero hash and rejects the all-ff hash", () => {
  ok(meetsTarget(ZERO, 0x207fffff));
  ok(!meetsTarget("ff".repeat(32), 0x207fffff));
});

Deno.test("toHex() writes lowercase, zero-padded hex", () => {
  equal(toHex(Uint8Array.of(0, 1, 0xab, 0xff)), "0001abff");
  equal(toHex(new Uint8Array()), "");
});

Deno.test("fromHex() parses lower and upper case hex", () => {
  deepEqual(fromHex("00ffAb"), Uint8Array.of(0, 0xff, 0xab));
  deepEqual(fromHex(""), new Uint8Array());
});

Deno.test("fromHex() and toHex() round trip every byte value", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const hex = toHex(all);
  equal(hex.length, 512);
  deepEqual(fromHex(hex), all);
  equal(toHex(fromHex(GENESIS_MERKLE)), GENESIS_MERKLE);
});

Deno.test("fromHex() throws SyntaxError for odd length", () => {
  throws(() => fromHex("abc"), SyntaxError);
});

Deno.test("fromHex() throws SyntaxError for non-hex characters", () => {
  throws(() => fromHex("zz"), SyntaxError);
  throws(() => fromHex("0x00"), SyntaxError);
  throws(() => fromHex("00 1"), SyntaxError);
  throws(() => fromHex("+1"), SyntaxError);
});

Deno.test("headerHash() throws SyntaxError for a malformed prev_hash", () => {
  throws(() => headerHash({ ...REGTEST_GENESIS, prev_hash: "xyz" }), SyntaxError);
});
