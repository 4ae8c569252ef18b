/**
 * An independent block checker for the dev node's tests. It deliberately imports nothing from `src/`:
 * the byte parsing, txids, merkle root, compact target, BIP34 height script and BIP141 witness
 * commitment are all written out here from the specifications, so that a bug shared by the node's
 * own codec and its validator cannot hide from the tests.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";

/** One transaction as parsed here. */
export interface ParsedTx {
  /** Display-order txid, from the serialization without witness. */
  txid: string;
  /** Display-order wtxid, from the full serialization. */
  wtxid: string;
  /** Whether it uses the segwit marker and flag. */
  segwit: boolean;
  /** Inputs: previous outpoint (display-order txid), script and witness stack. */
  inputs: { txid: string; vout: number; script: Uint8Array; sequence: number; witness: Uint8Array[] }[];
  /** Outputs. */
  outputs: { value: bigint; script: Uint8Array }[];
  /** `nLockTime`. */
  lockTime: number;
}

/** A block as parsed and checked here. */
export interface CheckedBlock {
  /** Display-order hash. */
  hash: string;
  /** Header fields; hashes in display order. */
  header: { version: number; prevHash: string; merkleRoot: string; time: number; bits: number; nonce: number };
  /** The transactions. */
  txs: ParsedTx[];
  /** The target `bits` encodes. */
  target: bigint;
}

/** What to expect of a block. */
export interface Expectation {
  /** Its height, for the BIP34 check; `null` skips the check (blocks before BIP34, such as a genesis). */
  height: number | null;
  /** Its parent's display-order hash. */
  prevHash: string;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const reversedHex = (b: Uint8Array): string => hex(b.slice().reverse());

/** Parse hex into bytes (strict). */
export function unhex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(s)) throw new Error(`not hex: ${s.slice(0, 40)}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Double SHA-256. */
export function dsha(b: Uint8Array): Uint8Array {
  return sha256(sha256(b));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A cursor over bytes with Bitcoin's little-endian integers and CompactSize. */
class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  take(n: number): Uint8Array {
    if (this.pos + n > this.b.length) throw new Error(`truncated: need ${n} bytes at ${this.pos}`);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8(): number {
    return this.take(1)[0];
  }
  u32(): number {
    const x = this.take(4);
    return (x[0] | (x[1] << 8) | (x[2] << 16) | (x[3] << 24)) >>> 0;
  }
  u64(): bigint {
    const lo = BigInt(this.u32());
    return lo | (BigInt(this.u32()) << 32n);
  }
  varint(): number {
    const first = this.u8();
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      const x = this.take(2);
      return x[0] | (x[1] << 8);
    }
    if (first === 0xfe) return this.u32();
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("CompactSize too large");
    return Number(v);
  }
  bytes(): Uint8Array {
    return this.take(this.varint());
  }
}

/** Parse one transaction at the reader's position, computing txid and wtxid. */
function parseTx(r: Reader): ParsedTx {
  const start = r.pos;
  r.take(4); // version
  let segwit = false;
  if (r.b[r.pos] === 0x00 && r.b[r.pos + 1] === 0x01) {
    segwit = true;
    r.take(2);
  }
  const bodyStart = r.pos;
  const nIn = r.varint();
  const inputs: ParsedTx["inputs"] = [];
  for (let i = 0; i < nIn; i++) {
    const txid = reversedHex(r.take(32));
    const vout = r.u32();
    const script = r.bytes();
    inputs.push({ txid, vout, script, sequence: r.u32(), witness: [] });
  }
  const nOut = r.varint();
  const outputs: ParsedTx["outputs"] = [];
  for (let i = 0; i < nOut; i++) {
    const value = r.u64();
    outputs.push({ value, script: r.bytes() });
  }
  const bodyEnd = r.pos;
  if (segwit) {
    for (const input of inputs) {
      const items = r.varint();
      for (let j = 0; j < items; j++) input.witness.push(r.bytes());
    }
    if (inputs.every((i) => i.witness.length === 0)) throw new Error("segwit flag set but every witness is empty");
  }
  const lockStart = r.pos;
  const lockTime = r.u32();
  const full = r.b.subarray(start, r.pos);
  const stripped = concat(
    r.b.subarray(start, start + 4),
    r.b.subarray(bodyStart, bodyEnd),
    r.b.subarray(lockStart, lockStart + 4),
  );
  return { txid: reversedHex(dsha(stripped)), wtxid: reversedHex(dsha(full)), segwit, inputs, outputs, lockTime };
}

/**
 * The target of a compact `nBits`: mantissa × 256^(exponent − 3), refusing negative or overflowing
 * encodings as Bitcoin Core's `DeriveTarget` does.
 */
export function compactToTarget(bits: number): bigint {
  const exponent = bits >>> 24;
  const mantissa = bits & 0x007fffff;
  if (mantissa !== 0 && (bits & 0x00800000) !== 0) throw new Error(`negative compact target ${bits.toString(16)}`);
  const target = exponent <= 3
    ? BigInt(mantissa) >> BigInt(8 * (3 - exponent))
    : BigInt(mantissa) << BigInt(8 * (exponent - 3));
  if (target >= 1n << 256n) throw new Error(`compact target ${bits.toString(16)} overflows 256 bits`);
  return target;
}

/** The merkle root of display-order txids, as display-order hex. */
export function merkle(ids: string[]): string {
  let level = ids.map((id) => unhex(id).reverse());
  if (level.length === 0) throw new Error("no transactions");
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(dsha(concat(level[i], level[i + 1] ?? level[i])));
    level = next;
  }
  return reversedHex(level[0]);
}

/** `CScript() << height`: OP_0, OP_1..OP_16, or a minimal little-endian push with a sign byte. */
export function heightScript(height: number): Uint8Array {
  if (height === 0) return Uint8Array.of(0x00);
  if (height >= 1 && height <= 16) return Uint8Array.of(0x50 + height);
  const le: number[] = [];
  for (let v = height; v > 0; v = Math.floor(v / 256)) le.push(v % 256);
  if (le[le.length - 1] & 0x80) le.push(0x00);
  return Uint8Array.of(le.length, ...le);
}

/** The output-script prefix of a BIP141 witness commitment. */
const COMMITMENT = Uint8Array.of(0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed);

/** Parse a block's bytes without checking anything beyond the encoding. */
export function parseBlock(blockHex: string): CheckedBlock {
  const b = unhex(blockHex);
  const r = new Reader(b);
  const h = r.take(80);
  const v = new DataView(h.buffer, h.byteOffset, 80);
  const header = {
    version: v.getInt32(0, true),
    prevHash: reversedHex(h.subarray(4, 36)),
    merkleRoot: reversedHex(h.subarray(36, 68)),
    time: v.getUint32(68, true),
    bits: v.getUint32(72, true),
    nonce: v.getUint32(76, true),
  };
  const count = r.varint();
  const txs: ParsedTx[] = [];
  for (let i = 0; i < count; i++) txs.push(parseTx(r));
  if (r.pos !== b.length) throw new Error(`${b.length - r.pos} bytes after the last transaction`);
  return { hash: reversedHex(dsha(h)), header, txs, target: compactToTarget(header.bits) };
}

/**
 * Check a block independently: proof of work, parent, merkle root, coinbase shape, BIP34 height and
 * the BIP141 witness commitment.
 *
 * @param blockHex The serialized block.
 * @param expect Its expected height and parent.
 * @returns The parsed block.
 * @throws {Error} naming the first failed check.
 */
export function checkBlock(blockHex: string, expect: Expectation): CheckedBlock {
  const block = parseBlock(blockHex);
  const { header, txs, hash } = block;
  if (BigInt("0x" + hash) > block.target) throw new Error(`high-hash: ${hash} is above the target`);
  if (header.prevHash !== expect.prevHash) {
    throw new Error(`bad parent: ${header.prevHash}, expected ${expect.prevHash}`);
  }
  if (txs.length === 0) throw new Error("no transactions");
  const root = merkle(txs.map((t) => t.txid));
  if (root !== header.merkleRoot) throw new Error(`bad merkle root: header ${header.merkleRoot}, computed ${root}`);
  if (new Set(txs.map((t) => t.txid)).size !== txs.length) throw new Error("duplicate transactions");
  const cb = txs[0];
  const isCoinbase = (t: ParsedTx) =>
    t.inputs.length === 1 && t.inputs[0].txid === "00".repeat(32) && t.inputs[0].vout === 0xffffffff;
  if (!isCoinbase(cb)) throw new Error("the first transaction is not a coinbase");
  if (txs.slice(1).some(isCoinbase)) throw new Error("a second coinbase");
  if (expect.height !== null) {
    const want = heightScript(expect.height);
    const sig = cb.inputs[0].script;
    if (!want.every((x, i) => sig[i] === x)) {
      throw new Error(`bad BIP34 height: script ${hex(sig)} does not start with ${hex(want)}`);
    }
  }
  let at = -1;
  cb.outputs.forEach((o, i) => {
    if (o.script.length >= 38 && COMMITMENT.every((x, j) => o.script[j] === x)) at = i;
  });
  if (txs.slice(1).some((t) => t.segwit) && at < 0) throw new Error("witness data without a witness commitment");
  if (at >= 0) {
    const reserved = cb.inputs[0].witness;
    if (reserved.length !== 1 || reserved[0].length !== 32) throw new Error("bad witness reserved value");
    const wroot = merkle(["00".repeat(32), ...txs.slice(1).map((t) => t.wtxid)]);
    const commitment = dsha(concat(unhex(wroot).reverse(), reserved[0]));
    const got = cb.outputs[at].script.subarray(6, 38);
    if (hex(got) !== hex(commitment)) {
      throw new Error(`bad witness commitment: ${hex(got)}, computed ${hex(commitment)}`);
    }
  }
  return block;
}

/** Hex of bytes, for tests. */
export const toHexIndependent = hex;
