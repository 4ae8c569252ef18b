/**
 * P2P protocol extension events: Dandelion++ transaction relay, compact blocks, FIBRE, package relay,
 * UTXO commitments and ban-list sharing. All are node-owned and lossy.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const base = { category: "p2p", owner: "node", delivery: "lossy" } as const;

/**
 * The p2p category.
 *
 * @example
 * ```ts
 * import { P2P_EVENTS } from "@blvm/node/protocol";
 * console.log(P2P_EVENTS.DandelionFluffed.delivery); // "lossy"
 * ```
 */
export const P2P_EVENTS = {
  DandelionStemStarted: {
    ...base,
    doc: "A transaction entered the Dandelion++ stem phase, relayed from `current_peer` to `next_peer`.",
    fields: { tx_hash: "hash", current_peer: "string", next_peer: "string" },
  },
  DandelionStemAdvanced: {
    ...base,
    doc: "A stem-phase transaction moved one hop further, to `next_peer`; `hop_count` counts the hops so far.",
    fields: { tx_hash: "hash", hop_count: "uint", next_peer: "string" },
  },
  DandelionFluffed: {
    ...base,
    doc: "A stem-phase transaction was fluffed (broadcast to all peers) after `stem_hops` hops.",
    fields: { tx_hash: "hash", stem_hops: "uint" },
  },
  DandelionStemPathExpired: {
    ...base,
    doc: "The Dandelion++ stem route through `peer_addr` expired and will be chosen again.",
    fields: { peer_addr: "string" },
  },
  CompactBlockReceived: {
    ...base,
    doc: "A compact block (BIP 152) arrived carrying `short_ids_count` short transaction ids.",
    fields: { block_hash: "hash", height: "uint", short_ids_count: "uint" },
  },
  BlockReconstructionStarted: {
    ...base,
    doc: "The node began rebuilding a full block from a compact block and its mempool.",
    fields: { block_hash: "hash", height: "uint" },
  },
  BlockReconstructionCompleted: {
    ...base,
    doc: "Rebuilding a block from a compact block finished; `missing_txs` transactions had to be fetched.",
    fields: { block_hash: "hash", height: "uint", success: "bool", missing_txs: "uint" },
  },
  FibreBlockEncoded: {
    ...base,
    doc: "A block was encoded into `chunks` FIBRE chunks for fast relay.",
    fields: { block_hash: "hash", height: "uint", chunks: "uint", encoding_time_ms: "uint" },
  },
  FibreBlockSent: {
    ...base,
    doc: "A FIBRE-encoded block was sent to the peer `peer_addr`.",
    fields: { block_hash: "hash", height: "uint", peer_addr: "string" },
  },
  PackageReceived: {
    ...base,
    doc: "A transaction package of `transaction_count` transactions arrived from `peer_addr` by package relay.",
    fields: { package_id: "bytes", transaction_count: "uint", peer_addr: "string" },
  },
  PackageRejected: {
    ...base,
    doc: "A transaction package from `peer_addr` was rejected.",
    fields: { package_id: "bytes", reason: "string", peer_addr: "string" },
  },
  UtxoCommitmentReceived: {
    ...base,
    doc: "The peer `peer_addr` sent a UTXO set commitment for the block `block_hash`.",
    fields: { block_hash: "hash", height: "uint", commitment_hash: "hash", peer_addr: "string" },
  },
  UtxoCommitmentVerified: {
    ...base,
    doc: "A UTXO set commitment was checked against the node's own UTXO set; `valid` gives the result.",
    fields: { block_hash: "hash", height: "uint", commitment_hash: "hash", valid: "bool" },
  },
  BanListShared: {
    ...base,
    doc: "The node shared its ban list of `ban_count` entries with the peer `peer_addr`.",
    fields: { peer_addr: "string", ban_count: "uint" },
  },
  BanListReceived: {
    ...base,
    doc: "The peer `peer_addr` sent a ban list of `ban_count` entries.",
    fields: { peer_addr: "string", ban_count: "uint" },
  },
} as const satisfies Record<string, EventSpec>;
