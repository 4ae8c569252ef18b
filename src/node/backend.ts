/**
 * The interface between the host and whatever node it fronts: the in-memory chain today, the embedded
 * regtest dev node next, Bitcoin Core later. Read-only queries, a mempool view, mining, and a stream of
 * the node's own events.
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
import type { EventType, NodeEvents } from "../protocol/events/mod.ts";

/**
 * An event the node itself publishes (`NewBlock`, `ChainReorg`, `MempoolTransactionAdded`, ...).
 *
 * @example
 * ```ts
 * import type { BackendEvent } from "@blvm/node";
 * const e: BackendEvent = { type: "BlockDisconnected", payload: { hash: "00".repeat(32), height: 3 } };
 * console.log(e.type);
 * ```
 */
export type BackendEvent = { [K in EventType]: { type: K; payload: NodeEvents[K] } }[EventType];

/**
 * Thrown by a backend for an operation it cannot serve at all (the NodeAPI answers `UNAVAILABLE`), as
 * opposed to data it does not have (it returns `undefined`, and the NodeAPI answers `NOT_FOUND`).
 *
 * @example
 * ```ts
 * import { BackendUnavailableError } from "@blvm/node";
 * const e = new BackendUnavailableError("get_utxo", "the memory backend keeps no UTXO set");
 * console.log(e.operation, e.message);
 * ```
 */
export class BackendUnavailableError extends Error {
  /** The backend operation, in NodeAPI terms. */
  readonly operation: string;

  /**
   * Create the error.
   *
   * @param operation The operation that cannot be served.
   * @param reason Why.
   */
  constructor(operation: string, reason: string) {
    super(`${operation} is not available: ${reason}`);
    this.name = "BackendUnavailableError";
    this.operation = operation;
  }
}

/**
 * What {@link NodeBackend.flush} wrote.
 *
 * @example
 * ```ts
 * import type { FlushResult } from "@blvm/node";
 * const r: FlushResult = { pages: 12, duration_ms: 3 };
 * console.log(r.pages);
 * ```
 */
export interface FlushResult {
  /** Storage pages (or a backend's own unit) written back; 0 when nothing was pending. */
  pages: number;
  /** How long the flush took. */
  duration_ms: number;
}

/**
 * What {@link NodeBackend.backup} wrote.
 *
 * @example
 * ```ts
 * import type { BackupResult } from "@blvm/node";
 * const r: BackupResult = { files: 1, bytes: 40960, duration_ms: 5 };
 * console.log(r.bytes);
 * ```
 */
export interface BackupResult {
  /** Files written. */
  files: number;
  /** Bytes written. */
  bytes: number;
  /** How long it took. */
  duration_ms: number;
}

/**
 * What {@link NodeBackend.prune} removed.
 *
 * @example
 * ```ts
 * import type { PruneResult } from "@blvm/node";
 * const r: PruneResult = { pruned_blocks: 10, freed_bytes: 2500, prune_height: 11, duration_ms: 1 };
 * console.log(r.pruned_blocks);
 * ```
 */
export interface PruneResult {
  /** Blocks whose data was removed by this call. */
  pruned_blocks: number;
  /** Bytes of block data removed. */
  freed_bytes: number;
  /** Blocks below this height have no data any more. */
  prune_height: number;
  /** How long it took. */
  duration_ms: number;
}

/**
 * What the host needs from a node. All reads are async so remote backends fit. Lookups return
 * `undefined` when the thing does not exist; an operation the backend cannot serve at all throws
 * {@link BackendUnavailableError}.
 *
 * @example A minimal read
 * ```ts
 * import { DevNode, type NodeBackend } from "@blvm/node";
 * const node: NodeBackend = DevNode.open();
 * console.log((await node.getTip()).height); // 0
 * ```
 */
export interface NodeBackend {
  /** Network name, for example `regtest`. */
  readonly network: string;

  /** The chain tip. */
  getTip(): Promise<ChainTip>;
  /** Network, tip and total work. */
  getChainInfo(): Promise<ChainInfo>;
  /** Sync progress. */
  getSyncStatus(): Promise<SyncStatus>;
  /** The header with this display-order hash (lowercase), or `undefined`. */
  getHeader(hash: string): Promise<BlockHeader | undefined>;
  /** The block with this hash, or `undefined`. */
  getBlock(hash: string): Promise<Block | undefined>;
  /** The main-chain block hash at `height`, or `undefined` above the tip. */
  getBlockHash(height: number): Promise<string | undefined>;
  /** A main-chain or mempool transaction, or `undefined`. */
  getTransaction(txid: string): Promise<Transaction | undefined>;
  /** An unspent output, or `undefined` if spent or unknown. */
  getUtxo(outpoint: OutPoint): Promise<Utxo | undefined>;

  /** Mempool txids, highest fee rate first. */
  getMempoolTxids(): Promise<string[]>;
  /** One mempool entry, or `undefined`. */
  getMempoolEntry(txid: string): Promise<MempoolEntry | undefined>;
  /** Mempool totals. */
  getMempoolInfo(): Promise<MempoolInfo>;
  /** A fee rate for confirmation within `targetBlocks`. */
  estimateFee(targetBlocks: number): Promise<FeeEstimate>;

  /** Peer-to-peer totals. */
  getNetworkStats(): Promise<NetworkStats>;
  /** Connected peers. */
  getPeers(): Promise<Peer[]>;

  /** A template for the next block. */
  getBlockTemplate(): Promise<BlockTemplate>;
  /** Validate and, if valid, connect a serialized block (bytes, or hex). */
  submitBlock(block: Uint8Array | string): Promise<SubmitBlockResult>;
  /** Validate a serialized transaction (bytes, or hex) and, if valid, add it to the mempool. */
  submitTransaction(tx: Uint8Array | string): Promise<SubmitTransactionResult>;

  /** Make everything the node has accepted durable; resolves with a summary of what was written. */
  flush(): Promise<FlushResult>;
  /** Write a consistent snapshot of the node's storage into the existing, empty folder `dir`. */
  backup(dir: string): Promise<BackupResult>;
  /** Remove block data more than `keepBlocks` below the tip; headers stay. Asking for such a block then fails. */
  prune(keepBlocks: number): Promise<PruneResult>;
  /** Flush and release the node's resources; the backend is unusable afterwards. */
  close(): Promise<void>;

  /**
   * Be told about every event the node publishes, in order.
   *
   * @returns A function that removes the listener.
   */
  onEvent(listener: (event: BackendEvent) => void): () => void;
}
