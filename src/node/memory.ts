/**
 * An in-memory regtest chain for tests and benchmarks, until the embedded dev node lands: real header
 * serialization, hashing, proof of work and merkle roots, a fee-ordered mempool, and blocks mined on
 * demand.
 *
 * Its limits, on purpose:
 *
 * - Transactions are opaque bytes. It never parses or validates them: a txid is the double SHA-256 of
 *   the bytes, and there are no inputs, outputs, scripts or witnesses (so wtxid = txid, vsize = size,
 *   weight = 4 × size). It keeps no UTXO set: `getUtxo` throws {@link BackendUnavailableError}.
 * - The coinbase of a mined block is the stand-in bytes `blvm memory coinbase <height>`, not a
 *   consensus-valid transaction. Only the genesis block holds the real regtest genesis coinbase.
 * - There are no peers, no reorgs and no forks: blocks only ever extend the tip.
 *
 * @module
 */
import type {
  Block,
  BlockHeader,
  BlockTemplate,
  ChainInfo,
  ChainTip,
  FeeEstimate,
  MempoolEntry,
  MempoolInfo,
  NetworkStats,
  OutPoint,
  Peer,
  SubmitBlockResult,
  SubmitTransactionResult,
  SyncStatus,
  Transaction,
  Utxo,
} from "../protocol/chain.ts";
import { type BackendEvent, BackendUnavailableError, type FlushResult, type NodeBackend } from "./backend.ts";
import {
  blockWork,
  fromHex,
  type HeaderFields,
  headerHash,
  meetsTarget,
  merkleRoot,
  parseHeader,
  serializeHeader,
  sha256d,
  toHex,
} from "./header.ts";
import { REGTEST_BITS } from "./dev/params.ts";

/** BIP141 block weight limit. */
const MAX_BLOCK_WEIGHT = 4_000_000;
/** Bitcoin Core's standardness limit on one transaction's weight. */
const MAX_TX_WEIGHT = 400_000;
/** Regtest subsidy halving interval. */
const HALVING_INTERVAL = 150;
/** The lowest fee rate the mempool accepts, sat/vB. */
const MIN_FEE_RATE = 1;
/** Block version of mined blocks and templates (BIP9 top bits, no deployments signalled). */
const BLOCK_VERSION = 0x20000000;

/** The regtest genesis header fields. */
const GENESIS: HeaderFields = {
  version: 1,
  prev_hash: "00".repeat(32),
  merkle_root: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
  time: 1296688602,
  bits: REGTEST_BITS,
  nonce: 2,
};

/** The real genesis coinbase transaction ("The Times 03/Jan/2009 ..."); its txid is the genesis merkle root. */
const GENESIS_COINBASE = "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04" +
  "ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365" +
  "636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b710" +
  "5cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000";

interface StoredBlock {
  header: BlockHeader;
  txs: Uint8Array[];
  txids: string[];
}

interface PoolTx {
  entry: MempoolEntry;
  bytes: Uint8Array;
  /** Arrival order, to break fee-rate ties. */
  seq: number;
}

/**
 * A regtest chain held in memory. Read the module docs for what it does not model.
 *
 * Events (through {@link MemoryBackend.onEvent}), always after the state they describe has changed:
 * `NewTransaction` then `MempoolTransactionAdded` for {@link MemoryBackend.addTransaction}; for each
 * block mined or accepted, `NewBlock` then one `MempoolTransactionRemoved` (reason `mined`) per
 * mempool transaction it confirmed. A listener that throws stops the events after it; the chain and
 * mempool are already updated.
 *
 * @example Mine and read back
 * ```ts
 * import { MemoryBackend } from "@blvm/node";
 * const node = new MemoryBackend();
 * const [h] = node.mine(1);
 * console.log(h.height, (await node.getTip()).hash === h.hash); // 1 true
 * ```
 *
 * @example A mempool transaction, mined
 * ```ts
 * import { MemoryBackend } from "@blvm/node";
 * const node = new MemoryBackend();
 * const { txid } = node.addTransaction("deadbeef", 400); // 4 bytes, 100 sat/vB
 * const [h] = node.mine(1);
 * console.log((await node.getTransaction(txid))?.block_hash === h.hash); // true
 * ```
 */
export class MemoryBackend implements NodeBackend {
  /** Always `regtest`. */
  readonly network = "regtest";
  readonly #chain: StoredBlock[] = [];
  readonly #byHash = new Map<string, StoredBlock>();
  readonly #txIndex = new Map<string, { block: StoredBlock; index: number }>();
  readonly #mempool = new Map<string, PoolTx>();
  readonly #listeners = new Set<(e: BackendEvent) => void>();
  #work = 0n;
  #seq = 0;

  /**
   * Start at the regtest genesis block, with an empty mempool.
   *
   * @example
   * ```ts
   * import { MemoryBackend } from "@blvm/node";
   * console.log((await new MemoryBackend().getTip()).height); // 0
   * ```
   */
  constructor() {
    const header = { ...GENESIS, hash: headerHash(GENESIS), height: 0 };
    this.#connect({ header, txs: [fromHex(GENESIS_COINBASE)], txids: [GENESIS.merkle_root] });
  }

  /**
   * Mine `count` blocks on the tip. Each holds the stand-in coinbase `blvm memory coinbase <height>`
   * followed by mempool transactions, highest fee rate first (arrival order on ties), as many as fit
   * in the 4,000,000 block weight limit. The merkle root commits to all of them, and the nonce is
   * searched until the header meets {@link REGTEST_BITS}.
   *
   * @param count How many blocks. Default 1.
   * @param time Block time in seconds. Default: now, and always after the previous block.
   * @returns The new headers.
   * @throws {RangeError} if `count` is not a positive integer.
   *
   * @example
   * ```ts
   * import { MemoryBackend } from "@blvm/node";
   * const node = new MemoryBackend();
   * console.log(node.mine(3, 2_000_000_000).map((h) => h.height)); // [1, 2, 3]
   * ```
   */
  mine(count = 1, time?: number): BlockHeader[] {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`Cannot mine: 'count' must be a positive integer: current value is ${count}`);
    }
    const out: BlockHeader[] = [];
    for (let i = 0; i < count; i++) {
      const prev = this.#tip().header;
      const height = prev.height + 1;
      const coinbase = coinbaseFor(height);
      const chosen = this.#select(coinbase.length);
      const txids = [txidOf(coinbase), ...chosen.map((t) => t.entry.txid)];
      const fields: HeaderFields = {
        version: BLOCK_VERSION,
        prev_hash: prev.hash,
        merkle_root: merkleRoot(txids),
        time: Math.max(prev.time + 1, time ?? Math.floor(Date.now() / 1000)),
        bits: REGTEST_BITS,
        nonce: 0,
      };
      let hash = headerHash(fields);
      while (!meetsTarget(hash, fields.bits)) {
        fields.nonce++;
        hash = headerHash(fields);
      }
      const header = { ...fields, hash, height };
      this.#connectAndAnnounce({ header, txs: [coinbase, ...chosen.map((t) => t.bytes)], txids });
      out.push({ ...header });
    }
    return out;
  }

  /**
   * Test hook: put opaque transaction bytes in the mempool. Nothing about them is validated; the txid
   * is their double SHA-256 (display order), size their length, weight 4 × size, vsize = size, and
   * `fee_sats` is taken on trust.
   *
   * @param hex The transaction bytes, even-length hex.
   * @param feeSats The fee it pays, satoshis.
   * @returns Its mempool entry.
   * @throws {SyntaxError} if `hex` is not non-empty, even-length hex.
   * @throws {RangeError} if `feeSats` is not a non-negative safe integer, the fee rate is below 1 sat/vB,
   *   or the transaction is heavier than the 400,000 standard weight limit.
   * @throws {Error} if a transaction with the same txid is already in the mempool or the chain, or the
   *   bytes are a stand-in coinbase (`blvm memory coinbase <n>`), which mining would duplicate.
   *
   * @example
   * ```ts
   * import { MemoryBackend } from "@blvm/node";
   * const node = new MemoryBackend();
   * const e = node.addTransaction("00".repeat(100), 250);
   * console.log(e.vsize, e.fee_rate); // 100 2.5
   * ```
   */
  addTransaction(hex: string, feeSats: number): MempoolEntry {
    if (typeof hex !== "string" || hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
      throw new SyntaxError(
        `Cannot add transaction: 'hex' must be a non-empty, even number of hex digits, got ${
          typeof hex === "string" ? JSON.stringify(hex.slice(0, 80)) : typeof hex
        }`,
      );
    }
    if (!Number.isSafeInteger(feeSats) || feeSats < 0) {
      throw new RangeError(`Cannot add transaction: 'feeSats' must be a non-negative integer, got ${feeSats}`);
    }
    const bytes = fromHex(hex);
    const txid = txidOf(bytes);
    const weight = 4 * bytes.length;
    if (weight > MAX_TX_WEIGHT) {
      throw new RangeError(`Cannot add transaction ${txid}: its weight ${weight} exceeds the limit ${MAX_TX_WEIGHT}`);
    }
    const feeRate = feeSats / bytes.length;
    if (feeRate < MIN_FEE_RATE) {
      throw new RangeError(
        `Cannot add transaction ${txid}: its fee rate ${feeRate} sat/vB is below the mempool minimum ${MIN_FEE_RATE}`,
      );
    }
    if (this.#mempool.has(txid)) throw new Error(`Cannot add transaction ${txid}: it is already in the mempool`);
    if (standInHeight(bytes) !== undefined) {
      throw new Error(`Cannot add transaction ${txid}: its bytes are the memory backend's stand-in coinbase`);
    }
    const mined = this.#txIndex.get(txid);
    if (mined) {
      throw new Error(
        `Cannot add transaction ${txid}: it is already in block ${mined.block.header.hash} at height ${mined.block.header.height}`,
      );
    }
    const entry: MempoolEntry = {
      txid,
      vsize: bytes.length,
      weight,
      fee_sats: feeSats,
      fee_rate: feeRate,
      time: Math.floor(Date.now() / 1000),
      depends: [],
    };
    this.#mempool.set(txid, { entry, bytes, seq: this.#seq++ });
    const size = this.#mempool.size;
    this.#emit({ type: "NewTransaction", payload: { tx_hash: txid } });
    this.#emit({
      type: "MempoolTransactionAdded",
      payload: { tx_hash: txid, fee_rate: feeRate, vsize: entry.vsize, fee_sats: feeSats, mempool_size: size },
    });
    return copyEntry(entry);
  }

  /** The chain tip. */
  getTip(): Promise<ChainTip> {
    const { hash, height } = this.#tip().header;
    return Promise.resolve({ hash, height });
  }

  /** Network, tip and total work (2 per regtest block). */
  getChainInfo(): Promise<ChainInfo> {
    const tip = this.#tip().header;
    return Promise.resolve({
      network: this.network,
      tip_hash: tip.hash,
      height: tip.height,
      chain_work: this.#work.toString(16).padStart(64, "0"),
    });
  }

  /** Always synced: there is no network to sync from. */
  getSyncStatus(): Promise<SyncStatus> {
    const height = this.#tip().header.height;
    return Promise.resolve({
      phase: "synced",
      is_synced: true,
      progress: 1,
      height,
      header_height: height,
      error: null,
    });
  }

  /** The header with this hash (any case), or `undefined`. */
  getHeader(hash: string): Promise<BlockHeader | undefined> {
    const block = this.#byHash.get(hash.toLowerCase());
    return Promise.resolve(block && { ...block.header });
  }

  /** The block with this hash (any case): header, txids and its serialization, or `undefined`. */
  getBlock(hash: string): Promise<Block | undefined> {
    const block = this.#byHash.get(hash.toLowerCase());
    if (!block) return Promise.resolve(undefined);
    const bytes = serializeBlock(block.header, block.txs);
    return Promise.resolve({
      ...block.header,
      txids: [...block.txids],
      size: bytes.length,
      weight: 4 * bytes.length,
      hex: toHex(bytes),
    });
  }

  /** The block hash at `height`, or `undefined` above the tip. */
  getBlockHash(height: number): Promise<string | undefined> {
    return Promise.resolve(Number.isInteger(height) ? this.#chain[height]?.header.hash : undefined);
  }

  /** A transaction in a block or the mempool (any-case txid), or `undefined`. */
  getTransaction(txid: string): Promise<Transaction | undefined> {
    const id = txid.toLowerCase();
    const mined = this.#txIndex.get(id);
    const bytes = mined ? mined.block.txs[mined.index] : this.#mempool.get(id)?.bytes;
    if (!bytes) return Promise.resolve(undefined);
    const header = mined?.block.header;
    return Promise.resolve({
      txid: id,
      wtxid: id,
      hex: toHex(bytes),
      size: bytes.length,
      vsize: bytes.length,
      weight: 4 * bytes.length,
      block_hash: header?.hash ?? null,
      block_height: header?.height ?? null,
      confirmations: header ? this.#tip().header.height - header.height + 1 : 0,
    });
  }

  /** Always throws {@link BackendUnavailableError}: this backend has no outputs model. */
  getUtxo(_outpoint: OutPoint): Promise<Utxo | undefined> {
    return Promise.reject(new BackendUnavailableError("get_utxo", "the memory backend keeps no UTXO set"));
  }

  /** Mempool txids, highest fee rate first (arrival order on ties). */
  getMempoolTxids(): Promise<string[]> {
    return Promise.resolve(this.#byFeeRate().map((t) => t.entry.txid));
  }

  /** One mempool entry (any-case txid), or `undefined`. */
  getMempoolEntry(txid: string): Promise<MempoolEntry | undefined> {
    const t = this.#mempool.get(txid.toLowerCase());
    return Promise.resolve(t && copyEntry(t.entry));
  }

  /** Count, total vsize and total fee of the mempool; the minimum fee rate is always 1 sat/vB. */
  getMempoolInfo(): Promise<MempoolInfo> {
    let size = 0;
    let fees = 0;
    for (const { entry } of this.#mempool.values()) {
      size += entry.vsize;
      fees += entry.fee_sats;
    }
    return Promise.resolve({
      transaction_count: this.#mempool.size,
      size_bytes: size,
      total_fee_sats: fees,
      min_fee_rate: MIN_FEE_RATE,
    });
  }

  /**
   * A fee rate from the current mempool alone (no history): with the mempool's fee rates sorted
   * ascending, the nearest-rank median for targets 1 to 6 and the nearest-rank 25th percentile for
   * targets 7 to 1008, never below 1 sat/vB (method `mempool`). An empty mempool gives 1 sat/vB with
   * method `minimum`.
   *
   * @param targetBlocks Confirmation target, 1 to 1008.
   * @returns The estimate.
   * @throws {RangeError} (a rejected promise) if `targetBlocks` is not an integer from 1 to 1008.
   *
   * @example
   * ```ts
   * import { MemoryBackend } from "@blvm/node";
   * const node = new MemoryBackend();
   * for (const [i, fee] of [100, 200, 300, 400].entries()) node.addTransaction(`0${i}`.repeat(100), fee);
   * console.log((await node.estimateFee(1)).fee_rate, (await node.estimateFee(144)).fee_rate); // 2 1
   * ```
   */
  estimateFee(targetBlocks: number): Promise<FeeEstimate> {
    if (!Number.isInteger(targetBlocks) || targetBlocks < 1 || targetBlocks > 1008) {
      return Promise.reject(
        new RangeError(`Cannot estimate a fee: 'targetBlocks' must be an integer from 1 to 1008, got ${targetBlocks}`),
      );
    }
    const rates = [...this.#mempool.values()].map((t) => t.entry.fee_rate).sort((a, b) => a - b);
    if (rates.length === 0) {
      return Promise.resolve({ target_blocks: targetBlocks, fee_rate: MIN_FEE_RATE, method: "minimum" });
    }
    const percentile = targetBlocks > 6 ? 0.25 : 0.5;
    const rate = rates[Math.max(0, Math.ceil(percentile * rates.length) - 1)];
    return Promise.resolve({ target_blocks: targetBlocks, fee_rate: Math.max(MIN_FEE_RATE, rate), method: "mempool" });
  }

  /** All zeros: this backend has no peer-to-peer network (`network_active` is `false`). */
  getNetworkStats(): Promise<NetworkStats> {
    return Promise.resolve({
      peer_count: 0,
      inbound: 0,
      outbound: 0,
      bytes_sent: 0,
      bytes_received: 0,
      network_active: false,
    });
  }

  /** Always empty: this backend has no peers. */
  getPeers(): Promise<Peer[]> {
    return Promise.resolve([]);
  }

  /**
   * A template on the tip with the mempool transactions {@link MemoryBackend.mine} would include:
   * subsidy (50 BTC halving every 150 blocks) plus their fees, `min_time` one second after the tip
   * (this chain keeps block times strictly increasing; it does not use median time past).
   */
  getBlockTemplate(): Promise<BlockTemplate> {
    const tip = this.#tip().header;
    const height = tip.height + 1;
    const chosen = this.#select(coinbaseFor(height).length);
    const fees = chosen.reduce((sum, t) => sum + t.entry.fee_sats, 0);
    const minTime = tip.time + 1;
    return Promise.resolve({
      version: BLOCK_VERSION,
      prev_hash: tip.hash,
      height,
      bits: REGTEST_BITS,
      min_time: minTime,
      cur_time: Math.max(Math.floor(Date.now() / 1000), minTime),
      coinbase_value_sats: subsidy(height) + fees,
      transactions: chosen.map((t) => ({
        txid: t.entry.txid,
        hex: toHex(t.bytes),
        fee_sats: t.entry.fee_sats,
        weight: t.entry.weight,
      })),
    });
  }

  /**
   * Check a serialized block and, if it passes, connect it. The header is checked for real: it must
   * be new (else `duplicate`), extend the tip, meet its proof of work, use {@link REGTEST_BITS} and
   * have a time after the tip's. Transactions are opaque here, so the body cannot be split into
   * transactions: only a block of exactly one transaction is accepted (a varint count of 1, then
   * every remaining byte is taken as the coinbase), and its merkle root must be that transaction's
   * txid. Nothing inside the transaction is validated.
   *
   * @param hex The serialized block.
   * @returns `accepted`, `duplicate` or `rejected` with the reason.
   */
  submitBlock(hex: string): Promise<SubmitBlockResult> {
    return Promise.resolve(this.#submit(hex));
  }

  /** Always throws {@link BackendUnavailableError}: transactions are opaque here. */
  submitTransaction(_hex: string): Promise<SubmitTransactionResult> {
    return Promise.reject(
      new BackendUnavailableError("submit_transaction", "the memory backend keeps transactions opaque"),
    );
  }

  /** Nothing to write: the memory backend keeps no state on disk. */
  flush(): Promise<FlushResult> {
    return Promise.resolve({ pages: 0, duration_ms: 0 });
  }

  /** Remove every listener. */
  close(): Promise<void> {
    this.#listeners.clear();
    return Promise.resolve();
  }

  /**
   * Be told about every event this backend publishes, in order.
   *
   * @param listener Called synchronously after each change.
   * @returns A function that removes the listener.
   *
   * @example
   * ```ts
   * import { MemoryBackend } from "@blvm/node";
   * const node = new MemoryBackend();
   * const off = node.onEvent((e) => console.log(e.type)); // NewBlock
   * node.mine(1);
   * off();
   * ```
   */
  onEvent(listener: (event: BackendEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #submit(hex: string): SubmitBlockResult {
    const rejected = (hash: string | null, reason: string): SubmitBlockResult => ({ status: "rejected", hash, reason });
    let bytes: Uint8Array;
    try {
      bytes = fromHex(hex);
    } catch {
      return rejected(null, "the block is not even-length hex");
    }
    if (bytes.length < 80) return rejected(null, `the block is ${bytes.length} bytes, shorter than an 80-byte header`);
    const head = bytes.subarray(0, 80);
    const fields = parseHeader(head);
    const hash = toHex(sha256d(head).reverse());
    if (this.#byHash.has(hash)) return { status: "duplicate", hash, reason: null };
    const tip = this.#tip().header;
    if (fields.prev_hash !== tip.hash) return rejected(hash, "does not extend the tip");
    if (!meetsTarget(hash, fields.bits)) {
      return rejected(hash, `high-hash: the hash does not meet the target of bits 0x${fields.bits.toString(16)}`);
    }
    if (fields.bits !== REGTEST_BITS) {
      return rejected(hash, `bad-diffbits: bits 0x${fields.bits.toString(16)} is not the regtest 0x207fffff`);
    }
    if (fields.time <= tip.time) {
      return rejected(hash, `time-too-old: ${fields.time} is not after the tip's ${tip.time}`);
    }
    if (4 * bytes.length > MAX_BLOCK_WEIGHT) {
      return rejected(hash, `bad-blk-weight: weight ${4 * bytes.length} exceeds ${MAX_BLOCK_WEIGHT}`);
    }
    const count = readVarint(bytes, 80);
    if (!count) return rejected(hash, "the transaction count after the header is missing or truncated");
    if (count.value !== 1) {
      return rejected(
        hash,
        `the block has ${count.value} transactions; the memory backend keeps transactions opaque and cannot split ` +
          "a block body, so it accepts only blocks holding exactly one (the coinbase)",
      );
    }
    const tx = bytes.slice(80 + count.size);
    if (tx.length === 0) return rejected(hash, "the transaction count is 1 but no transaction bytes follow");
    const txid = txidOf(tx);
    if (fields.merkle_root !== txid) {
      return rejected(hash, `bad-txnmrklroot: merkle root ${fields.merkle_root} is not the transaction's txid ${txid}`);
    }
    if (this.#txIndex.has(txid)) return rejected(hash, `transaction ${txid} is already in the chain`);
    const standIn = standInHeight(tx);
    if (standIn !== undefined && standIn !== tip.height + 1) {
      return rejected(
        hash,
        `the transaction is the stand-in coinbase of height ${standIn}, which mining would duplicate`,
      );
    }
    this.#connectAndAnnounce({ header: { ...fields, hash, height: tip.height + 1 }, txs: [tx], txids: [txid] });
    return { status: "accepted", hash, reason: null };
  }

  #tip(): StoredBlock {
    return this.#chain[this.#chain.length - 1];
  }

  /** Mempool transactions, highest fee rate first, arrival order on ties. */
  #byFeeRate(): PoolTx[] {
    return [...this.#mempool.values()].sort((a, b) => b.entry.fee_rate - a.entry.fee_rate || a.seq - b.seq);
  }

  /** What the next block takes from the mempool: by fee rate, greedily, within the weight limit. */
  #select(coinbaseBytes: number): PoolTx[] {
    // Header, a worst-case 5-byte count for any count below 2^32, and the coinbase.
    let weight = 4 * (80 + 5 + coinbaseBytes);
    const out: PoolTx[] = [];
    for (const t of this.#byFeeRate()) {
      if (weight + t.entry.weight > MAX_BLOCK_WEIGHT) continue;
      weight += t.entry.weight;
      out.push(t);
    }
    return out;
  }

  #connect(block: StoredBlock): string[] {
    this.#chain.push(block);
    this.#byHash.set(block.header.hash, block);
    this.#work += blockWork(block.header.bits);
    const removed: string[] = [];
    block.txids.forEach((txid, index) => {
      this.#txIndex.set(txid, { block, index });
      if (this.#mempool.delete(txid)) removed.push(txid);
    });
    return removed;
  }

  #connectAndAnnounce(block: StoredBlock): void {
    const removed = this.#connect(block);
    const { hash, height, prev_hash, time } = block.header;
    this.#emit({ type: "NewBlock", payload: { hash, height, prev_hash, time } });
    // Sizes as if removed one by one, although all are already gone.
    let left = this.#mempool.size + removed.length;
    for (const tx_hash of removed) {
      this.#emit({ type: "MempoolTransactionRemoved", payload: { tx_hash, reason: "mined", mempool_size: --left } });
    }
  }

  #emit(event: BackendEvent): void {
    for (const l of [...this.#listeners]) l(event);
  }
}

function txidOf(bytes: Uint8Array): string {
  return toHex(sha256d(bytes).reverse());
}

/** The height whose stand-in coinbase `bytes` are, if they are one. */
function standInHeight(bytes: Uint8Array): number | undefined {
  if (bytes.length > 64) return undefined;
  const m = /^blvm memory coinbase (0|[1-9][0-9]*)$/.exec(new TextDecoder().decode(bytes));
  return m ? Number(m[1]) : undefined;
}

function coinbaseFor(height: number): Uint8Array {
  return new TextEncoder().encode(`blvm memory coinbase ${height}`);
}

function subsidy(height: number): number {
  const halvings = Math.floor(height / HALVING_INTERVAL);
  return halvings >= 64 ? 0 : Number(5_000_000_000n >> BigInt(halvings));
}

function copyEntry(e: MempoolEntry): MempoolEntry {
  return { ...e, depends: [...e.depends] };
}

function varint(n: number): Uint8Array {
  if (n < 0xfd) return Uint8Array.of(n);
  const out = new Uint8Array(n <= 0xffff ? 3 : 5);
  const view = new DataView(out.buffer);
  if (n <= 0xffff) {
    out[0] = 0xfd;
    view.setUint16(1, n, true);
  } else {
    out[0] = 0xfe;
    view.setUint32(1, n, true);
  }
  return out;
}

/** A Bitcoin CompactSize at `at`, or `undefined` if truncated. Values beyond 2^53 lose precision. */
function readVarint(b: Uint8Array, at: number): { value: number; size: number } | undefined {
  if (at >= b.length) return undefined;
  const first = b[at];
  const size = first < 0xfd ? 1 : first === 0xfd ? 3 : first === 0xfe ? 5 : 9;
  if (at + size > b.length) return undefined;
  const view = new DataView(b.buffer, b.byteOffset + at, size);
  const value = size === 1
    ? first
    : size === 3
    ? view.getUint16(1, true)
    : size === 5
    ? view.getUint32(1, true)
    : Number(view.getBigUint64(1, true));
  return { value, size };
}

function serializeBlock(header: HeaderFields, txs: Uint8Array[]): Uint8Array {
  const parts = [serializeHeader(header), varint(txs.length), ...txs];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
