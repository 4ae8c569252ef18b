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
 * The node shares its event loop with the host. `submitBlock`, `dev.generateAsync`, `dev.sendAsync`
 * and `dev.reorgAsync` wait for the node's queued operations and, for blocks, run a few milliseconds
 * at a time, so that a block of thousands of transactions never holds the loop for long; the
 * synchronous `dev.generate`, `dev.send` and `dev.reorg` first finish whatever is queued.
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
import type { BackendEvent, BackupResult, FlushResult, NodeBackend, PruneResult } from "../backend.ts";
import { fromHex } from "../header.ts";
import { ChainState, type IndexEntry } from "./chainstate.ts";
import { decodeBlock } from "./block_codec.ts";
import { DevControls } from "./controls.ts";
import { NodeEngine } from "./engine.ts";
import { Mempool } from "./mempool.ts";
import { blockSubsidy, CONSENSUS, POLICY } from "./params.ts";
import { TxRejectedError } from "./rules.ts";
import { SigCache } from "./sig_cache.ts";
import { NodeStore } from "./store.ts";
import { blockView, headerView, poolView, txView, utxoView } from "./views.ts";
import { addressScript, DevWallet } from "./wallet.ts";

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
  /**
   * Checkpoint the store's write-ahead log in a worker thread from the start, rather than from the
   * first block of 100 or more transactions that an async operation ({@link DevControls.generateAsync},
   * {@link DevNode.submitBlock}) connects. Starting the worker holds the event loop for some tens of
   * milliseconds, once: a host that serves modules can pay that when it opens the node. Default
   * false; ignored without `dataDir`.
   *
   * @example
   * ```ts ignore
   * const node = DevNode.open({ dataDir: "data/node", backgroundCheckpoints: true });
   * ```
   */
  backgroundCheckpoints?: boolean;
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
  readonly #engine: NodeEngine;
  readonly #chain: ChainState;
  readonly #pool: Mempool;
  #closed = false;

  private constructor(store: NodeStore, opts: DevNodeOptions) {
    this.dataDir = opts.dataDir ?? null;
    this.#store = store;
    // One signature cache: a transaction verified in the mempool or in a block is not verified again.
    const sigs = new SigCache();
    this.#chain = ChainState.load(store, sigs);
    this.wallet = DevWallet.load(store);
    const log = getLogger(["blvm", "devnode"]);
    this.#pool = new Mempool(
      store,
      {
        coin: (txid, vout) => this.#chain.coin(txid, vout),
        outputsOf: (txid) => this.#chain.location(txid)?.outputs,
        height: () => this.#chain.tip().height,
        medianTime: () => this.#chain.medianTime(),
      },
      { minFeeRate: opts.minFeeRate ?? POLICY.minFeeRate, maxTxs: opts.maxMempoolTxs ?? 50_000 },
      sigs,
    );
    for (const { txid, error } of this.#pool.restore()) {
      log.warn("Dropped stored mempool transaction {txid}: {error}", { txid, error: String(error) });
    }
    this.#engine = new NodeEngine(store, this.#chain, this.#pool, {
      mempoolThreshold: opts.mempoolThreshold ?? 40_000,
      blockMaxWeight: opts.blockMaxWeight ?? CONSENSUS.maxBlockWeight,
      feeHistoryBlocks: opts.feeHistoryBlocks ?? 6,
      clock: opts.clock ?? (() => Math.floor(Date.now() / 1000)),
      payout: opts.coinbaseAddress ? addressScript(opts.coinbaseAddress) : this.wallet.script(),
    });
    this.dev = new DevControls(this.#engine, this.wallet, this.dataDir);
    if (opts.backgroundCheckpoints) store.checkpointInBackground();
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
    return Promise.resolve({
      phase: "synced",
      is_synced: true,
      progress: 1,
      height,
      header_height: height,
      error: null,
    });
  }

  /** A main-chain header (any-case hash). */
  getHeader(hash: string): Promise<BlockHeader | undefined> {
    const e = this.#mainEntry(hash);
    return Promise.resolve(e && headerView(e));
  }

  /** A main-chain block (any-case hash). */
  // deno-lint-ignore require-await
  async getBlock(hash: string): Promise<Block | undefined> {
    const e = this.#mainEntry(hash);
    if (!e) return undefined;
    // Throws (as a rejection) BackendUnavailableError if the block's data was pruned.
    const bytes = this.#chain.blockBytes(e.hash);
    return blockView(e, decodeBlock(bytes), bytes);
  }

  getBlockHash(height: number): Promise<string | undefined> {
    return Promise.resolve(Number.isInteger(height) ? this.#chain.at(height)?.hash : undefined);
  }

  /** A main-chain or mempool transaction (any-case txid). */
  // deno-lint-ignore require-await
  async getTransaction(txid: string): Promise<Transaction | undefined> {
    const id = txid.toLowerCase();
    const pooled = this.#pool.get(id);
    if (pooled) return txView(pooled.tx);
    const loc = this.#chain.location(id);
    if (!loc) return undefined;
    const tx = decodeBlock(this.#chain.blockBytes(loc.block.hash)).txs[loc.position];
    return txView(tx, { block: loc.block, tipHeight: this.#chain.tip().height });
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
    return Promise.resolve(this.#engine.estimate(targetBlocks));
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
    return this.#engine.exclusive(() => this.#blockTemplate());
  }

  #blockTemplate(): BlockTemplate {
    const tip = this.#chain.tip();
    const chosen = this.#engine.select();
    this.#engine.templateBuilt(chosen.length);
    const fees = chosen.reduce((n, e) => n + e.fee, 0);
    const minTime = this.#chain.medianTime() + 1;
    return {
      version: 0x20000000,
      prev_hash: tip.hash,
      height: tip.height + 1,
      bits: tip.header.bits,
      min_time: minTime,
      cur_time: Math.max(this.#engine.clock(), minTime),
      coinbase_value_sats: blockSubsidy(tip.height + 1) + fees,
      transactions: chosen.map((e) => ({
        txid: e.tx.txid,
        raw: e.tx.bytes,
        fee_sats: e.fee,
        weight: e.tx.weight,
      })),
    };
  }

  /**
   * Check, store and connect a block; rejects with `StoreWriteError` if the store cannot be written.
   * It waits for the node's queued operations, then runs a slice at a time (decoding, validation,
   * the store's rows, the events), so a large block does not hold the event loop.
   */
  // deno-lint-ignore require-await
  async submitBlock(block: Uint8Array | string): Promise<SubmitBlockResult> {
    let bytes: Uint8Array;
    try {
      bytes = typeof block === "string" ? fromHex(block) : block;
    } catch {
      return { status: "rejected", hash: null, reason: "the block is not even-length hex" };
    }
    return this.#engine.processBlockAsync(bytes);
  }

  /** Check and accept a transaction: at once, or after the node's queued operations (a block being mined). */
  async submitTransaction(tx: Uint8Array | string): Promise<SubmitTransactionResult> {
    try {
      const entry = await this.#engine.acceptTxAsync(typeof tx === "string" ? fromHex(tx) : tx);
      return { status: "accepted", txid: entry.tx.txid, reject_code: null, reason: null };
    } catch (e) {
      if (e instanceof SyntaxError) {
        return { status: "rejected", txid: null, reject_code: "malformed", reason: e.message };
      }
      if (!(e instanceof TxRejectedError)) throw e;
      const duplicate = e.code === "already-known" || e.code === "already-mined";
      return { status: duplicate ? "duplicate" : "rejected", txid: e.txid, reject_code: e.code, reason: e.message };
    }
  }

  /** Checkpoint the store's write-ahead log into `node.sqlite`. */
  flush(): Promise<FlushResult> {
    return this.#engine.exclusive(() => {
      const t0 = performance.now();
      const pages = this.#store.flush();
      return { pages, duration_ms: Math.round(performance.now() - t0) };
    });
  }

  /**
   * Write a consistent copy of `node.sqlite` into `dir` (SQLite `VACUUM INTO`: one transaction, so
   * the copy never holds half a block).
   */
  backup(dir: string): Promise<BackupResult> {
    return this.#engine.exclusive(() => {
      const t0 = performance.now();
      const file = `${dir}/node.sqlite`;
      this.#store.backupTo(file);
      const bytes = Deno.statSync(file).size;
      return { files: 1, bytes, duration_ms: Math.round(performance.now() - t0) };
    });
  }

  /** Drop the raw data of blocks more than `keepBlocks` below the tip; their headers stay. */
  prune(keepBlocks: number): Promise<PruneResult> {
    return this.#engine.exclusive(() => {
      const t0 = performance.now();
      const below = Math.max(0, this.#chain.tip().height - keepBlocks + 1);
      const { blocks, bytes } = this.#store.prune(below);
      return {
        pruned_blocks: blocks,
        freed_bytes: bytes,
        prune_height: below,
        duration_ms: Math.round(performance.now() - t0),
      };
    });
  }

  /**
   * Finish the node's queued operations, then flush and close the store: at once, or, if a worker
   * thread checkpoints it, once the worker has closed its connection.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#engine.drain();
    this.#engine.clearListeners();
    if (!this.#store.checkpointsInBackground) {
      this.#store.close();
      return Promise.resolve();
    }
    return this.#store.stopBackgroundCheckpoints().then(() => this.#store.close());
  }

  onEvent(listener: (event: BackendEvent) => void): () => void {
    return this.#engine.onEvent(listener);
  }

  #mainEntry(hash: string): IndexEntry | undefined {
    const e = this.#chain.entry(hash.toLowerCase());
    return e && this.#chain.onMain(e.hash) ? e : undefined;
  }
}
