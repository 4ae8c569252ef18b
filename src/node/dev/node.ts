/**
 * The embedded regtest dev node: a {@link NodeBackend} with a real chain, UTXO set, mempool, wallet and
 * miner, persisted in its data dir. See docs/DEVNODE.md for the operator's view.
 *
 * Events, always after the state they describe has changed:
 *
 * - a transaction accepted: `MempoolTransactionRemoved` (`evicted`) for any it pushed out, then
 *   `NewTransaction`, `MempoolTransactionAdded`, and `MempoolThresholdExceeded` when the mempool
 *   grows past its threshold;
 * - a block checked: `BlockValidationStarted`, then `BlockValidationCompleted` (with `error` when it
 *   failed); a block connected: `NewBlock`, then `MempoolTransactionRemoved` (`mined`, `conflict`)
 *   for each transaction it took out; a block this node mined: `BlockTemplateUpdated` before, and
 *   `BlockMined` after;
 * - a reorg: `BlockDisconnected` for each block, tip first; `MempoolTransactionAdded` for each
 *   transaction returned to the mempool and `MempoolTransactionRemoved` (`reorg`) for any that
 *   became invalid; the new branch's blocks as above; then `ChainReorg`;
 * - `FeeRateChanged` after any of these, when the next-block fee estimate (`target_blocks` 1) or
 *   the mempool minimum fee rate (no `target_blocks`) moved.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
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
} from "../../protocol/chain.ts";
import type { BackendEvent, FlushResult, NodeBackend } from "../backend.ts";
import { fromHex, sha256d, toHex } from "../header.ts";
import { BlockRejectedError, ChainState, type Connected, type IndexEntry } from "./chainstate.ts";
import { decodeBlock, decodeTx, MalformedDataError, type Tx } from "./codec.ts";
import { estimateFeeRate } from "./fees.ts";
import { Mempool, type Removal } from "./mempool.ts";
import { COINBASE_RESERVE_WEIGHT, mineBlock } from "./miner.ts";
import { blockSubsidy, CONSENSUS, POLICY } from "./params.ts";
import { TxRejectedError } from "./rules.ts";
import { NodeStore } from "./store.ts";
import { blockView, headerView, poolView, txView, utxoView } from "./views.ts";
import { addressScript, DevWallet } from "./wallet.ts";
import { DevControls } from "./controls.ts";

/** How to open a {@link DevNode}. */
export interface DevNodeOptions {
  /** Directory for `node.sqlite` (created if missing). Without it the node lives in memory only. */
  dataDir?: string;
  /** Where coinbases pay: a regtest address. Default: the wallet's first address. */
  coinbaseAddress?: string;
  /** Mempool minimum fee rate, sat/vB. Default 1. */
  minFeeRate?: number;
  /** Most transactions the mempool holds. Default 50,000. */
  maxMempoolTxs?: number;
  /** Mempool size above which `MempoolThresholdExceeded` is published. Default 40,000. */
  mempoolThreshold?: number;
  /** Largest block weight the miner builds and the fee estimator assumes. Default 4,000,000. */
  blockMaxWeight?: number;
  /** Recent blocks the fee estimator learns from. Default 6. */
  feeHistoryBlocks?: number;
  /** The node's clock in seconds since the epoch (tests pin it). Default: the system clock. */
  clock?: () => number;
}

/**
 * The embedded regtest dev node.
 *
 * @example Mine, pay, mine
 * ```ts
 * import { DevNode } from "@blvm/node";
 * const node = DevNode.open();
 * node.dev.generate(101);
 * const { txid } = node.dev.send(node.wallet.newAddress(), 100_000, 5);
 * node.dev.generate(1);
 * console.log((await node.getTransaction(txid))?.confirmations); // 1
 * await node.close();
 * ```
 */
export class DevNode implements NodeBackend {
  /** Always `regtest`. */
  readonly network = "regtest";
  /** The node's wallet. */
  readonly wallet: DevWallet;
  /** Operator commands: generate, send, reorg, status. */
  readonly dev: DevControls;
  /** Where the node keeps its state, or `null` in memory. */
  readonly dataDir: string | null;
  readonly #store: NodeStore;
  readonly #chain: ChainState;
  readonly #pool: Mempool;
  readonly #listeners = new Set<(e: BackendEvent) => void>();
  readonly #opts: Required<Omit<DevNodeOptions, "dataDir" | "coinbaseAddress">>;
  readonly #payout: Uint8Array;
  readonly #log = getLogger(["blvm", "devnode"]);
  #fee = { estimate: 0, min: 0 };
  #overThreshold = false;
  #recent?: { tip: string; rates: number[] };
  #template?: { tip: string; version: number };
  #poolVersion = 0;
  #closed = false;

  private constructor(store: NodeStore, opts: DevNodeOptions) {
    this.dataDir = opts.dataDir ?? null;
    this.#opts = {
      minFeeRate: opts.minFeeRate ?? POLICY.minFeeRate,
      maxMempoolTxs: opts.maxMempoolTxs ?? 50_000,
      mempoolThreshold: opts.mempoolThreshold ?? 40_000,
      blockMaxWeight: opts.blockMaxWeight ?? CONSENSUS.maxBlockWeight,
      feeHistoryBlocks: opts.feeHistoryBlocks ?? 6,
      clock: opts.clock ?? (() => Math.floor(Date.now() / 1000)),
    };
    this.#store = store;
    this.#chain = ChainState.load(store);
    this.wallet = DevWallet.load(store);
    this.#payout = opts.coinbaseAddress ? addressScript(opts.coinbaseAddress) : this.wallet.script();
    this.#pool = new Mempool(store, {
      coin: (txid, vout) => this.#chain.coin(txid, vout),
      outputsOf: (txid) => this.#chain.location(txid)?.outputs,
      height: () => this.#chain.tip().height,
      medianTime: () => this.#chain.medianTime(),
    }, { minFeeRate: this.#opts.minFeeRate, maxTxs: this.#opts.maxMempoolTxs });
    for (const row of store.mempool()) {
      try {
        this.#pool.accept(decodeTx(row.raw), row.time, row.seq);
      } catch (e) {
        store.removeMempool(row.txid);
        this.#log.warn("Dropped stored mempool transaction {txid}: {error}", { txid: row.txid, error: String(e) });
      }
    }
    this.#fee = { estimate: this.#nextBlockFee(), min: this.#pool.minFeeRate() };
    this.#overThreshold = this.#pool.size > this.#opts.mempoolThreshold;
    this.dev = new DevControls({
      chain: this.#chain,
      pool: this.#pool,
      wallet: this.wallet,
      mine: (count, withMempool, payout) => this.#mine(count, withMempool, payout),
      accept: (bytes) => this.#acceptTx(bytes),
      rewind: (fork) => this.#rewind(fork),
      finishReorg: (before, disconnected) => this.#finishReorg(before, disconnected),
      feeEstimate: () => this.#nextBlockFee(),
      dataDir: this.dataDir,
    });
  }

  /**
   * Open the dev node: load its state from `dataDir/node.sqlite`, or start a fresh chain at the
   * regtest genesis block.
   *
   * @param opts Options.
   * @returns The node.
   * @throws {StoreError} if the store file belongs to another schema.
   * @throws {WalletError} if `coinbaseAddress` is not a regtest address.
   */
  static open(opts: DevNodeOptions = {}): DevNode {
    if (opts.dataDir) Deno.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    const store = NodeStore.open(opts.dataDir ? `${opts.dataDir}/node.sqlite` : ":memory:");
    try {
      return new DevNode(store, opts);
    } catch (e) {
      store.close();
      throw e;
    }
  }

  getTip(): Promise<ChainTip> {
    const { hash, height } = this.#chain.tip();
    return Promise.resolve({ hash, height });
  }

  getChainInfo(): Promise<ChainInfo> {
    const tip = this.#chain.tip();
    return Promise.resolve({
      network: this.network,
      tip_hash: tip.hash,
      height: tip.height,
      chain_work: tip.work.toString(16).padStart(64, "0"),
    });
  }

  /** Always synced: the dev node has no peers and is the only source of its chain. */
  getSyncStatus(): Promise<SyncStatus> {
    const height = this.#chain.tip().height;
    return Promise.resolve({ phase: "synced", is_synced: true, progress: 1, height, header_height: height, error: null });
  }

  /** A main-chain header (any-case hash). */
  getHeader(hash: string): Promise<BlockHeader | undefined> {
    const e = this.#mainEntry(hash);
    return Promise.resolve(e && headerView(e));
  }

  /** A main-chain block (any-case hash). */
  getBlock(hash: string): Promise<Block | undefined> {
    const e = this.#mainEntry(hash);
    if (!e) return Promise.resolve(undefined);
    const bytes = this.#chain.blockBytes(e.hash)!;
    return Promise.resolve(blockView(e, decodeBlock(bytes), bytes));
  }

  getBlockHash(height: number): Promise<string | undefined> {
    return Promise.resolve(Number.isInteger(height) ? this.#chain.at(height)?.hash : undefined);
  }

  /** A main-chain or mempool transaction (any-case txid). */
  getTransaction(txid: string): Promise<Transaction | undefined> {
    const id = txid.toLowerCase();
    const pooled = this.#pool.get(id);
    if (pooled) return Promise.resolve(txView(pooled.tx));
    const loc = this.#chain.location(id);
    if (!loc) return Promise.resolve(undefined);
    const tx = decodeBlock(this.#chain.blockBytes(loc.block.hash)!).txs[loc.position];
    return Promise.resolve(txView(tx, { block: loc.block, tipHeight: this.#chain.tip().height }));
  }

  /** An output of the main chain that the chain has not spent (mempool spends are not considered). */
  getUtxo(o: OutPoint): Promise<Utxo | undefined> {
    const txid = o.txid.toLowerCase();
    const coin = this.#chain.coin(txid, o.vout);
    return Promise.resolve(coin && utxoView(txid, o.vout, coin, this.#chain.tip().height));
  }

  /** Mempool txids, highest fee rate first. */
  getMempoolTxids(): Promise<string[]> {
    return Promise.resolve(this.#pool.byFeeRate().map((e) => e.tx.txid));
  }

  getMempoolEntry(txid: string): Promise<MempoolEntry | undefined> {
    const e = this.#pool.get(txid.toLowerCase());
    return Promise.resolve(e && poolView(e));
  }

  getMempoolInfo(): Promise<MempoolInfo> {
    return Promise.resolve({
      transaction_count: this.#pool.size,
      size_bytes: this.#pool.vsize,
      total_fee_sats: this.#pool.fees,
      min_fee_rate: this.#pool.minFeeRate(),
    });
  }

  /** A fee estimate by the method documented in `fees.ts`. */
  estimateFee(targetBlocks: number): Promise<FeeEstimate> {
    if (!Number.isInteger(targetBlocks) || targetBlocks < 1 || targetBlocks > 1008) {
      return Promise.reject(
        new RangeError(`Cannot estimate a fee: 'targetBlocks' must be an integer from 1 to 1008, got ${targetBlocks}`),
      );
    }
    return Promise.resolve(this.#estimate(targetBlocks));
  }

  /** No peers: the dev node does not take part in a peer-to-peer network. */
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

  getPeers(): Promise<Peer[]> {
    return Promise.resolve([]);
  }

  /** The block the node would mine now. Publishes `BlockTemplateUpdated` when it differs from the last. */
  getBlockTemplate(): Promise<BlockTemplate> {
    const tip = this.#chain.tip();
    const chosen = this.#select();
    this.#templateBuilt(chosen.length);
    const fees = chosen.reduce((n, e) => n + e.fee, 0);
    const minTime = this.#chain.medianTime() + 1;
    return Promise.resolve({
      version: 0x20000000,
      prev_hash: tip.hash,
      height: tip.height + 1,
      bits: tip.header.bits,
      min_time: minTime,
      cur_time: Math.max(this.#opts.clock(), minTime),
      coinbase_value_sats: blockSubsidy(tip.height + 1) + fees,
      transactions: chosen.map((e) => ({ txid: e.tx.txid, hex: toHex(e.tx.bytes), fee_sats: e.fee, weight: e.tx.weight })),
    });
  }

  submitBlock(hex: string): Promise<SubmitBlockResult> {
    let bytes: Uint8Array;
    try {
      bytes = fromHex(hex);
    } catch {
      return Promise.resolve({ status: "rejected", hash: null, reason: "the block is not even-length hex" });
    }
    return Promise.resolve(this.#processBlock(bytes, false));
  }

  submitTransaction(hex: string): Promise<SubmitTransactionResult> {
    try {
      const entry = this.#acceptTx(fromHex(hex));
      return Promise.resolve({ status: "accepted", txid: entry.tx.txid, reject_code: null, reason: null });
    } catch (e) {
      if (e instanceof SyntaxError) {
        return Promise.resolve({ status: "rejected", txid: null, reject_code: "malformed", reason: e.message });
      }
      if (!(e instanceof TxRejectedError)) return Promise.reject(e);
      const duplicate = e.code === "already-known" || e.code === "already-mined";
      return Promise.resolve({
        status: duplicate ? "duplicate" : "rejected",
        txid: e.txid,
        reject_code: e.code,
        reason: e.message,
      });
    }
  }

  /** Checkpoint the store's write-ahead log into `node.sqlite`. */
  flush(): Promise<FlushResult> {
    const t0 = performance.now();
    const pages = this.#store.flush();
    return Promise.resolve({ pages, duration_ms: Math.round(performance.now() - t0) });
  }

  /** Flush and close the store. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#listeners.clear();
      this.#store.close();
    }
    return Promise.resolve();
  }

  onEvent(listener: (event: BackendEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #mainEntry(hash: string): IndexEntry | undefined {
    const e = this.#chain.entry(hash.toLowerCase());
    return e && this.#chain.onMain(e.hash) ? e : undefined;
  }

  #select() {
    return this.#pool.select(this.#opts.blockMaxWeight - COINBASE_RESERVE_WEIGHT);
  }

  #templateBuilt(txCount: number): void {
    const tip = this.#chain.tip();
    if (this.#template?.tip === tip.hash && this.#template.version === this.#poolVersion) return;
    this.#template = { tip: tip.hash, version: this.#poolVersion };
    this.#emit({ type: "BlockTemplateUpdated", payload: { prev_hash: tip.hash, height: tip.height + 1, tx_count: txCount } });
  }

  /** Decode, check and accept a transaction, publishing its events. */
  #acceptTx(bytes: Uint8Array): ReturnType<Mempool["accept"]>["entry"] {
    let tx: Tx;
    try {
      tx = decodeTx(bytes);
    } catch (e) {
      if (e instanceof MalformedDataError) throw new TxRejectedError("malformed", null, e.message);
      throw e;
    }
    const { entry, evicted } = this.#pool.accept(tx, this.#opts.clock());
    this.#poolVersion++;
    this.#announceRemovals(evicted);
    const payload = { tx_hash: tx.txid };
    this.#emit({ type: "NewTransaction", payload });
    this.#emit({
      type: "MempoolTransactionAdded",
      payload: { ...payload, fee_rate: entry.feeRate, vsize: tx.vsize, fee_sats: entry.fee, mempool_size: this.#pool.size },
    });
    this.#poolChanged();
    return entry;
  }

  /** Check and, if it is the best chain, connect a block. */
  #processBlock(bytes: Uint8Array, mined: boolean): SubmitBlockResult {
    let block;
    try {
      block = decodeBlock(bytes);
    } catch (e) {
      const hash = bytes.length >= 80 ? toHex(sha256d(bytes.subarray(0, 80)).reverse()) : null;
      return { status: "rejected", hash, reason: `malformed: ${(e as Error).message}` };
    }
    const known = this.#chain.entry(block.hash);
    if (known) {
      return known.status === "invalid"
        ? { status: "rejected", hash: block.hash, reason: "duplicate-invalid: the block is known to be invalid" }
        : { status: "duplicate", hash: block.hash, reason: null };
    }
    let entry: IndexEntry;
    try {
      entry = this.#chain.accept(block, bytes, this.#opts.clock());
    } catch (e) {
      if (!(e instanceof BlockRejectedError)) throw e;
      const height = (this.#chain.entry(block.header.prev_hash)?.height ?? -1) + 1;
      this.#validated(block.hash, height, performance.now(), e.message);
      return { status: "rejected", hash: block.hash, reason: e.message };
    }
    const tip = this.#chain.tip();
    if (entry.header.prev_hash === tip.hash) {
      const error = this.#connect(entry, mined);
      return error ? { status: "rejected", hash: entry.hash, reason: error } : { status: "accepted", hash: entry.hash, reason: null };
    }
    if (entry.work <= tip.work) {
      return { status: "inconclusive", hash: entry.hash, reason: "stored on a side branch with no more work than the tip" };
    }
    this.#reorgToBest();
    const failed = this.#chain.entry(entry.hash)!.status === "invalid";
    return failed
      ? { status: "rejected", hash: entry.hash, reason: "the branch failed validation; see BlockValidationCompleted" }
      : { status: "accepted", hash: entry.hash, reason: null };
  }

  /** Validate and connect a child of the tip; the error message if it failed. */
  #connect(entry: IndexEntry, mined: boolean): string | undefined {
    const t0 = performance.now();
    this.#emit({ type: "BlockValidationStarted", payload: { block_hash: entry.hash, height: entry.height } });
    let connected: Connected;
    try {
      connected = this.#chain.connect(entry, (w) => this.#pool.verified(w));
    } catch (e) {
      if (!(e instanceof BlockRejectedError)) throw e;
      this.#validated(entry.hash, entry.height, t0, e.message, false);
      return e.message;
    }
    this.#validated(entry.hash, entry.height, t0, null, false);
    const { hash, height, header } = connected.entry;
    this.#emit({ type: "NewBlock", payload: { hash, height, prev_hash: header.prev_hash, time: header.time } });
    this.#announceRemovals(this.#pool.removeForBlock(connected.txs));
    this.#poolVersion++;
    if (mined) this.#emit({ type: "BlockMined", payload: { block_hash: hash, height, miner_id: "devnode" } });
    this.#poolChanged();
    return undefined;
  }

  #validated(hash: string, height: number, t0: number, error: string | null, started = true): void {
    if (started) this.#emit({ type: "BlockValidationStarted", payload: { block_hash: hash, height } });
    this.#emit({
      type: "BlockValidationCompleted",
      payload: {
        block_hash: hash,
        height,
        success: error === null,
        validation_time_ms: Math.round(performance.now() - t0),
        error,
      },
    });
  }

  /** Mine `count` blocks on the tip. */
  #mine(count: number, withMempool: boolean, payout?: Uint8Array): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (let i = 0; i < count; i++) {
      const tip = this.#chain.tip();
      const chosen = withMempool ? this.#select() : [];
      this.#templateBuilt(chosen.length);
      const extraNonce = Number(this.#store.meta("extra_nonce") ?? "0");
      this.#store.setMeta("extra_nonce", String(extraNonce + 1));
      const block = mineBlock({
        prevHash: tip.hash,
        height: tip.height + 1,
        time: Math.max(this.#opts.clock(), this.#chain.medianTime() + 1),
        txs: chosen.map((e) => e.tx),
        fees: chosen.reduce((n, e) => n + e.fee, 0),
        payout: payout ?? this.#payout,
        extraNonce,
      });
      const r = this.#processBlock(block.bytes, true);
      if (r.status !== "accepted") throw new Error(`The dev node rejected its own block ${block.hash}: ${r.reason}`);
      out.push(this.#chain.tip());
    }
    return out;
  }

  /** Disconnect blocks down to `fork`, returning their transactions to the mempool. */
  #rewind(fork: IndexEntry): IndexEntry[] {
    const disconnected: IndexEntry[] = [];
    const returned: Tx[][] = [];
    while (this.#chain.tip().hash !== fork.hash) {
      const { entry, txs } = this.#chain.disconnectTip();
      disconnected.push(entry);
      returned.unshift(txs.slice(1));
      this.#emit({ type: "BlockDisconnected", payload: { hash: entry.hash, height: entry.height } });
    }
    for (const tx of returned.flat()) {
      try {
        const { entry } = this.#pool.accept(tx, this.#opts.clock());
        this.#emit({
          type: "MempoolTransactionAdded",
          payload: { tx_hash: tx.txid, fee_rate: entry.feeRate, vsize: tx.vsize, fee_sats: entry.fee, mempool_size: this.#pool.size },
        });
      } catch (e) {
        if (!(e instanceof TxRejectedError)) throw e;
        this.#log.info("Disconnected transaction {txid} did not return to the mempool: {error}", {
          txid: tx.txid,
          error: e.message,
        });
      }
    }
    this.#announceRemovals(this.#dropInvalid());
    this.#poolVersion++;
    return disconnected;
  }

  /** After a rewind: mempool transactions whose inputs are gone or immature now. */
  #dropInvalid(): Removal[] {
    const out: Removal[] = [];
    const spendHeight = this.#chain.tip().height + 1;
    for (const e of [...this.#pool.entries()]) {
      if (!this.#pool.get(e.tx.txid)) continue;
      const ok = e.tx.inputs.every((i) => {
        if (e.parents.has(i.txid)) return true;
        const c = this.#chain.coin(i.txid, i.vout);
        return c !== undefined && (!c.coinbase || spendHeight - c.height >= CONSENSUS.coinbaseMaturity);
      });
      if (!ok) out.push(...this.#pool.remove(e.tx.txid, "reorg"));
    }
    return out;
  }

  /** Switch to the valid branch with the most work. */
  #reorgToBest(): void {
    const before = this.#chain.tip();
    const best = this.#chain.best();
    if (best.hash === before.hash) return;
    const disconnected = this.#rewind(this.#chain.fork(best));
    for (const e of this.#chain.branch(best)) {
      if (this.#connect(e, false) !== undefined) return this.#reorgToBest();
    }
    this.#finishReorg(before, disconnected.length);
  }

  #finishReorg(before: IndexEntry, disconnected: number): void {
    const after = this.#chain.tip();
    if (after.hash === before.hash) return;
    const fork = this.#chain.fork(before);
    this.#emit({
      type: "ChainReorg",
      payload: {
        old_tip: before.hash,
        new_tip: after.hash,
        fork_height: fork.height,
        disconnected,
        connected: after.height - fork.height,
      },
    });
    this.#poolChanged();
  }

  #announceRemovals(removed: readonly Removal[]): void {
    let size = this.#pool.size + removed.length;
    for (const r of removed) {
      this.#emit({
        type: "MempoolTransactionRemoved",
        payload: { tx_hash: r.entry.tx.txid, reason: r.reason, mempool_size: --size },
      });
    }
  }

  /** Threshold and fee-rate events after the mempool or the tip changed. */
  #poolChanged(): void {
    const size = this.#pool.size;
    const over = size > this.#opts.mempoolThreshold;
    if (over && !this.#overThreshold) {
      this.#emit({ type: "MempoolThresholdExceeded", payload: { current_size: size, threshold: this.#opts.mempoolThreshold } });
    }
    this.#overThreshold = over;
    const min = this.#pool.minFeeRate();
    if (min !== this.#fee.min) {
      this.#emit({ type: "FeeRateChanged", payload: { old_fee_rate: this.#fee.min, new_fee_rate: min, mempool_size: size } });
      this.#fee.min = min;
    }
    const estimate = this.#nextBlockFee();
    if (estimate !== this.#fee.estimate) {
      this.#emit({
        type: "FeeRateChanged",
        payload: { old_fee_rate: this.#fee.estimate, new_fee_rate: estimate, mempool_size: size, target_blocks: 1 },
      });
      this.#fee.estimate = estimate;
    }
  }

  #nextBlockFee(): number {
    return this.#estimate(1).fee_rate;
  }

  #estimate(target: number): FeeEstimate {
    const blockVsize = (this.#opts.blockMaxWeight - COINBASE_RESERVE_WEIGHT) / 4;
    const backlog = this.#pool.vsize > target * blockVsize;
    return estimateFeeRate(target, {
      pool: backlog ? this.#pool.byFeeRate().map((e) => ({ feeRate: e.feeRate, vsize: e.tx.vsize })) : [],
      recent: this.#recentRates(),
      minFeeRate: this.#pool.minFeeRate(),
      blockVsize,
    });
  }

  #recentRates(): number[] {
    const tip = this.#chain.tip();
    if (this.#recent?.tip !== tip.hash) {
      const rates: number[] = [];
      for (let h = tip.height; h > tip.height - this.#opts.feeHistoryBlocks && h > 0; h--) {
        rates.push(...this.#chain.feeRates(this.#chain.at(h)!.hash));
      }
      this.#recent = { tip: tip.hash, rates };
    }
    return this.#recent.rates;
  }

  #emit(event: BackendEvent): void {
    for (const l of [...this.#listeners]) {
      try {
        l(event);
      } catch (e) {
        this.#log.error("An event listener threw on {type}: {error}", { type: event.type, error: String(e) });
      }
    }
  }
}
