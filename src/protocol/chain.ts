/**
 * Chain, mempool, network and mining data as it crosses the wire. Hashes and txids are 64-character
 * lowercase hex in display (RPC) byte order; amounts are integer satoshis; fee rates are sat/vB.
 *
 * @module
 */

/** The chain tip. */
export interface ChainTip {
  /** Block hash, hex, display order. */
  hash: string;
  /** Height of the tip block; the genesis block has height 0. */
  height: number;
}

/** A block header with its position in the chain. */
export interface BlockHeader {
  /** Block hash, hex, display order. */
  hash: string;
  /** Height in the main chain; the genesis block has height 0. */
  height: number;
  /** Block version field, a signed 32-bit integer. */
  version: number;
  /** Hash of the previous block; all zeros for the genesis block. */
  prev_hash: string;
  /** Merkle root of the block's transactions, hex, display order. */
  merkle_root: string;
  /** Block time, seconds since the epoch. */
  time: number;
  /** Compact difficulty target. */
  bits: number;
  /** Proof-of-work nonce, an unsigned 32-bit integer. */
  nonce: number;
}

/** A whole block: its header, its transaction ids and its serialization. */
export interface Block extends BlockHeader {
  /** Transaction ids in block order; the first is the coinbase. */
  txids: string[];
  /** Serialized size in bytes, witness data included. */
  size: number;
  /** Block weight (BIP141). */
  weight: number;
  /** The serialized block (MessagePack `bin`): a full 4 MB block fits in one frame. */
  raw: Uint8Array;
}

/** Summary of the chain the node follows. */
export interface ChainInfo {
  /** Network name, for example `regtest`. */
  network: string;
  /** Hash of the chain tip, hex, display order. */
  tip_hash: string;
  /** Height of the chain tip. */
  height: number;
  /** Total work in the chain: 64 lowercase hex digits, zero-padded. */
  chain_work: string;
}

/** How far the node is from the network's best chain. */
export interface SyncStatus {
  /** `synced`, `headers` (downloading headers), `blocks` (downloading blocks) or `idle` (no peers to sync from). */
  phase: "synced" | "headers" | "blocks" | "idle";
  /** Whether the node believes its tip is the best chain. */
  is_synced: boolean;
  /** Verified blocks / best known header, 0 to 1. */
  progress: number;
  /** Height of the tip. */
  height: number;
  /** Height of the best header known. */
  header_height: number;
  /** Why syncing stopped, if it did. */
  error: string | null;
}

/** A transaction, with where it is. */
export interface Transaction {
  /** Transaction id, hex, display order. */
  txid: string;
  /** Witness transaction id; equals `txid` for a transaction without witness data. */
  wtxid: string;
  /** The serialized transaction (MessagePack `bin`). */
  raw: Uint8Array;
  /** Serialized size in bytes. */
  size: number;
  /** Virtual size, `ceil(weight / 4)`. */
  vsize: number;
  /** Weight (BIP141). */
  weight: number;
  /** The main-chain block holding it, or `null` while it is in the mempool. */
  block_hash: string | null;
  /** Height of that block, or `null`. */
  block_height: number | null;
  /** Blocks on top of it, its own included; 0 in the mempool. */
  confirmations: number;
}

/** A transaction output, by transaction id and index. */
export interface OutPoint {
  /** Transaction id, hex, display order. */
  txid: string;
  /** Output index. */
  vout: number;
}

/** An unspent transaction output. */
export interface Utxo extends OutPoint {
  /** Amount in satoshis. */
  value_sats: number;
  /** The output script, hex. */
  script_pubkey: string;
  /** Height of the block that created it. */
  height: number;
  /** Whether a coinbase transaction created it (spendable after 100 confirmations). */
  coinbase: boolean;
  /** Blocks on top of the creating block, its own included. */
  confirmations: number;
}

/** A transaction waiting in the mempool. */
export interface MempoolEntry {
  /** Transaction id, hex, display order. */
  txid: string;
  /** Virtual size. */
  vsize: number;
  /** Weight. */
  weight: number;
  /** Fee paid, satoshis. */
  fee_sats: number;
  /** `fee_sats / vsize`, sat/vB. */
  fee_rate: number;
  /** When it entered the mempool, seconds since the epoch. */
  time: number;
  /** Mempool transactions it spends outputs of. */
  depends: string[];
}

/** Mempool totals (`get_mempool_size`). */
export interface MempoolInfo {
  /** Number of transactions. */
  transaction_count: number;
  /** Sum of their virtual sizes. */
  size_bytes: number;
  /** Sum of their fees, satoshis. */
  total_fee_sats: number;
  /** The lowest fee rate the mempool accepts now, sat/vB. */
  min_fee_rate: number;
}

/** A fee rate estimate. */
export interface FeeEstimate {
  /** The confirmation target asked for, in blocks. */
  target_blocks: number;
  /** Suggested fee rate, sat/vB. */
  fee_rate: number;
  /** How it was computed, for example `mempool` or `minimum` (nothing to learn from). */
  method: string;
}

/** Peer-to-peer totals. */
export interface NetworkStats {
  /** Connected peers. */
  peer_count: number;
  /** Inbound peers among them. */
  inbound: number;
  /** Outbound peers among them. */
  outbound: number;
  /** Bytes sent to peers since start. */
  bytes_sent: number;
  /** Bytes received from peers since start. */
  bytes_received: number;
  /** Whether the node listens for and makes peer connections at all. */
  network_active: boolean;
}

/** One connected peer. */
export interface Peer {
  /** Node-local peer id. */
  id: number;
  /** `host:port`. */
  addr: string;
  /** Transport, for example `tcp`. */
  transport: string;
  /** Service bits the peer announced. */
  services: number;
  /** Protocol version the peer announced. */
  version: number;
  /** The peer's user agent. */
  user_agent: string;
  /** Whether the peer connected to us. */
  inbound: boolean;
  /** Connection time, seconds since the epoch. */
  connected_since: number;
}

/** A transaction chosen for a block template. */
export interface TemplateTransaction {
  /** Transaction id. */
  txid: string;
  /** The serialized transaction (MessagePack `bin`). */
  raw: Uint8Array;
  /** Fee, satoshis. */
  fee_sats: number;
  /** Weight. */
  weight: number;
}

/** What a miner needs to build the next block. */
export interface BlockTemplate {
  /** Block version to use. */
  version: number;
  /** Hash of the tip the block builds on. */
  prev_hash: string;
  /** Height of the new block. */
  height: number;
  /** Compact target. */
  bits: number;
  /** Earliest allowed block time, seconds since the epoch. */
  min_time: number;
  /** Suggested block time. */
  cur_time: number;
  /** Subsidy plus fees the coinbase may claim, satoshis. */
  coinbase_value_sats: number;
  /** Transactions chosen by fee rate, in an order valid for a block. */
  transactions: TemplateTransaction[];
}

/** What happened to a submitted block. */
export interface SubmitBlockResult {
  /**
   * `accepted` (connected, or stored on a branch that became the best chain), `inconclusive` (stored on
   * a side branch with less work; validated in full only if that branch becomes the best chain),
   * `duplicate` (already known) or `rejected`.
   */
  status: "accepted" | "inconclusive" | "duplicate" | "rejected";
  /** The block's hash, if it could be parsed. */
  hash: string | null;
  /** Why it was rejected. */
  reason: string | null;
}

/** What happened to a submitted transaction. */
export interface SubmitTransactionResult {
  /** `accepted` into the mempool, `duplicate` (already in the mempool or the chain) or `rejected`. */
  status: "accepted" | "duplicate" | "rejected";
  /** The transaction's id, if it decoded. */
  txid: string | null;
  /**
   * The rule broken, when rejected: `malformed`, `missing-inputs`, `spent-inputs`, `mempool-conflict`,
   * `fee-too-low`, `bad-signature`, ... (the dev node's `RejectCode`).
   */
  reject_code: string | null;
  /** Why, in words, when rejected. */
  reason: string | null;
}
