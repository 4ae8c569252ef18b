// The node's own SHA-256 (src/node/sha256.ts) against @noble/hashes: every length across the padding
// boundaries, large and offset inputs, and merkle roots against a plain reference implementation.
import { deepEqual, equal, throws } from "node:assert/strict";
import fc from "fast-check";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { merkleInPlace, merkleOfIds, sha256, sha256d } from "../../src/node/sha256.ts";
import { merkleRoot, toHex } from "../../src/node/header.ts";

const ref = (b: Uint8Array) => nobleSha256(b);
const refD = (b: Uint8Array) => nobleSha256(nobleSha256(b));

/** The merkle root as Bitcoin defines it, with the reference hash, on internal-order leaves. */
function refMerkle(leaves: Uint8Array[]): Uint8Array {
  let level = leaves;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const pair = new Uint8Array(64);
      pair.set(level[i]);
      pair.set(level[i + 1] ?? level[i], 32);
      next.push(refD(pair));
    }
    level = next;
  }
  return level[0];
}

Deno.test("sha256 and sha256d equal @noble/hashes for every length from 0 to 300 bytes", () => {
  for (let n = 0; n <= 300; n++) {
    const msg = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
    deepEqual(sha256(msg), ref(msg), `sha256 of ${n} bytes`);
    deepEqual(sha256d(msg), refD(msg), `sha256d of ${n} bytes`);
  }
});

Deno.test("sha256 of known vectors, of a megabyte, and of a view into a larger buffer", () => {
  equal(toHex(sha256(new Uint8Array())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  equal(
    toHex(sha256(new TextEncoder().encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 0xff);
  deepEqual(sha256(big), ref(big));
  const view = big.subarray(12_345, 12_345 + 1_000);
  deepEqual(sha256d(view), refD(view.slice()));
});

Deno.test("sha256d equals @noble/hashes on random inputs", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2_000 }), (msg) => {
    deepEqual(sha256d(msg), refD(msg));
  }));
});

Deno.test("merkle roots equal the reference for 1 to 40 leaves and for a thousand", () => {
  for (const count of [...Array.from({ length: 40 }, (_, i) => i + 1), 1_000, 1_001]) {
    const leaves = Array.from({ length: count }, (_, i) => refD(Uint8Array.of(i & 0xff, i >> 8)));
    const expected = refMerkle(leaves);
    const flat = new Uint8Array(32 * count);
    leaves.forEach((l, i) => flat.set(l, 32 * i));
    deepEqual(merkleInPlace(flat, count), expected, `${count} leaves in place`);
    // Display-order hex ids (reversed), as the node keeps txids.
    const ids = leaves.map((l) => toHex(l.slice().reverse()));
    deepEqual(merkleOfIds(count, (i) => ids[i]), expected, `${count} hex ids`);
    equal(merkleRoot(ids), toHex(expected.slice().reverse()));
    equal(merkleRoot(ids.map((id) => id.toUpperCase())), toHex(expected.slice().reverse()), "any case");
  }
});

Deno.test("merkleOfIds refuses an id that is not 64 hex digits", () => {
  const good = "ab".repeat(32);
  for (const bad of ["ab".repeat(31), "ab".repeat(33), "zz" + "ab".repeat(31), "é".repeat(64)]) {
    throws(() => merkleOfIds(2, (i) => i === 0 ? good : bad), SyntaxError);
  }
});
