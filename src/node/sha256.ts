/**
 * SHA-256 for the node's hot paths: transaction ids, block hashes and merkle trees. It computes the
 * same digests as `@noble/hashes`' `sha256` (the tests compare them on every length up to a few blocks
 * and on random inputs), several times faster on the short inputs Bitcoin hashes most: it works on
 * 32-bit words in preallocated arrays, allocates nothing but the result, and hashes a double SHA-256's
 * second round straight from the first round's state.
 *
 * Internal to the node; {@link sha256d} and {@link merkleRoot} in `header.ts` are the public faces.
 *
 * @module
 */

const K = Int32Array.of(
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
);
const IV = Int32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
);

/** The message schedule; its first 16 words are the block being compressed. */
const W = new Int32Array(64);
/** The running state. */
const S = new Int32Array(8);
/** The last one or two blocks of a message, padded. */
const TAIL = new Uint8Array(128);

/** Compress the block in `W[0..15]` into `S`. */
function compress(): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15], w2 = W[i - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = S[0], b = S[1], c = S[2], d = S[3], e = S[4], f = S[5], g = S[6], h = S[7];
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  S[0] = (S[0] + a) | 0;
  S[1] = (S[1] + b) | 0;
  S[2] = (S[2] + c) | 0;
  S[3] = (S[3] + d) | 0;
  S[4] = (S[4] + e) | 0;
  S[5] = (S[5] + f) | 0;
  S[6] = (S[6] + g) | 0;
  S[7] = (S[7] + h) | 0;
}

/** Load 16 big-endian words of `src` at `at` into `W`. */
function load(src: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++, at += 4) W[i] = (src[at] << 24) | (src[at + 1] << 16) | (src[at + 2] << 8) | src[at + 3];
}

/** Hash `bytes` into `S`. */
function hashInto(bytes: Uint8Array): void {
  S.set(IV);
  const n = bytes.length;
  const full = n - (n % 64);
  for (let at = 0; at < full; at += 64) {
    load(bytes, at);
    compress();
  }
  const rest = n - full;
  const blocks = rest < 56 ? 1 : 2;
  TAIL.fill(0, 0, 64 * blocks);
  TAIL.set(bytes.subarray(full), 0);
  TAIL[rest] = 0x80;
  // The message length in bits, big-endian, in the last 8 bytes (lengths below 2^53 bits).
  const bits = n * 8;
  const end = 64 * blocks;
  const hi = Math.floor(bits / 0x100000000), lo = bits >>> 0;
  TAIL[end - 8] = hi >>> 24;
  TAIL[end - 7] = hi >>> 16;
  TAIL[end - 6] = hi >>> 8;
  TAIL[end - 5] = hi;
  TAIL[end - 4] = lo >>> 24;
  TAIL[end - 3] = lo >>> 16;
  TAIL[end - 2] = lo >>> 8;
  TAIL[end - 1] = lo;
  for (let b = 0; b < blocks; b++) {
    load(TAIL, 64 * b);
    compress();
  }
}

/** Hash the 32-byte digest held in `S` again, into `S`. */
function rehash(): void {
  for (let i = 0; i < 8; i++) W[i] = S[i];
  W[8] = 0x80000000;
  W.fill(0, 9, 15);
  W[15] = 256;
  S.set(IV);
  compress();
}

/** Write `S` big-endian into `out` at `at`. */
function store(out: Uint8Array, at: number): Uint8Array {
  for (let i = 0; i < 8; i++, at += 4) {
    const v = S[i];
    out[at] = v >>> 24;
    out[at + 1] = v >>> 16;
    out[at + 2] = v >>> 8;
    out[at + 3] = v;
  }
  return out;
}

/**
 * SHA-256.
 *
 * @param bytes The message.
 * @returns The 32-byte digest.
 *
 * @example
 * ```ts ignore
 * sha256(new Uint8Array()); // e3b0c442...
 * ```
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  hashInto(bytes);
  return store(new Uint8Array(32), 0);
}

/**
 * Double SHA-256.
 *
 * @param bytes The message.
 * @returns The 32-byte digest.
 *
 * @example
 * ```ts ignore
 * sha256d(new Uint8Array()); // 5df6e0e2...
 * ```
 */
export function sha256d(bytes: Uint8Array): Uint8Array {
  hashInto(bytes);
  rehash();
  return store(new Uint8Array(32), 0);
}

/**
 * A merkle root computed in place: `level` holds `count` 32-byte hashes (internal byte order) and is
 * overwritten. Pairs are hashed with double SHA-256, the last hash of an odd level paired with itself.
 *
 * @param level `count * 32` bytes of leaves.
 * @param count How many leaves, at least 1.
 * @returns The first 32 bytes of `level`, now the root.
 *
 * @example
 * ```ts ignore
 * const root = merkleInPlace(leaves, leaves.length / 32);
 * ```
 */
export function merkleInPlace(level: Uint8Array, count: number): Uint8Array {
  for (let n = count; n > 1; n = (n + 1) >> 1) {
    for (let i = 0; 2 * i < n; i++) {
      const left = 64 * i, right = 2 * i + 1 < n ? left + 32 : left;
      S.set(IV);
      for (let w = 0; w < 8; w++) {
        const a = left + 4 * w, b = right + 4 * w;
        W[w] = (level[a] << 24) | (level[a + 1] << 16) | (level[a + 2] << 8) | level[a + 3];
        W[w + 8] = (level[b] << 24) | (level[b + 1] << 16) | (level[b + 2] << 8) | level[b + 3];
      }
      compress();
      W[0] = 0x80000000;
      W.fill(0, 1, 15);
      W[15] = 512;
      compress();
      rehash();
      store(level, 32 * i);
    }
  }
  return level.subarray(0, 32);
}

/**
 * The merkle root of `count` ids given as display-order hex (case-insensitive), read straight into
 * the tree's first level.
 *
 * @param count How many ids, at least 1.
 * @param id The id at each position.
 * @returns The root, 32 bytes in internal order.
 * @throws {SyntaxError} if an id is not 64 hex digits.
 *
 * @example
 * ```ts ignore
 * const root = merkleOfIds(txs.length, (i) => txs[i].txid);
 * ```
 */
export function merkleOfIds(count: number, id: (i: number) => string): Uint8Array {
  const level = new Uint8Array(32 * count);
  for (let i = 0; i < count; i++) {
    const hex = id(i);
    if (!putReversedHex(hex, level, 32 * i)) {
      throw new SyntaxError(`Cannot compute a merkle root: txid ${JSON.stringify(hex.slice(0, 80))} is not 32 bytes`);
    }
  }
  return merkleInPlace(level, count);
}

/** Hex digit value by character code; 16 for anything else. */
const HEX_VALUE = Uint8Array.from({ length: 128 }, (_, c) => {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : 16;
});

/** Write 64 hex digits, display order, into `out` at `at` in internal order; false if `hex` is not that. */
function putReversedHex(hex: string, out: Uint8Array, at: number): boolean {
  if (typeof hex !== "string" || hex.length !== 64) return false;
  for (let i = 0; i < 32; i++) {
    const hi = HEX_VALUE[hex.charCodeAt(2 * i)] ?? 16, lo = HEX_VALUE[hex.charCodeAt(2 * i + 1)] ?? 16;
    if (hi > 15 || lo > 15) return false;
    out[at + 31 - i] = (hi << 4) | lo;
  }
  return true;
}
