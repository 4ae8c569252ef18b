/**
 * Mining events: blocks mined and templates built by the node, pool, job and share events published
 * by mining modules, and the Stratum V2 and mesh messages the node's network layer hands to modules.
 * Block, template, difficulty and message events are node-owned; the rest are module-owned. All are
 * lossless except `ShareSubmitted`.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const nodeOwned = { category: "mining", owner: "node", delivery: "lossless" } as const;
const moduleOwned = { category: "mining", owner: "module", delivery: "lossless" } as const;

/**
 * The mining category.
 *
 * @example
 * ```ts
 * import { MINING_EVENTS } from "@blvm/node/protocol";
 * console.log(MINING_EVENTS.BlockMined.owner, MINING_EVENTS.ShareSubmitted.owner); // node module
 * ```
 */
export const MINING_EVENTS = {
  BlockMined: {
    ...nodeOwned,
    doc: "A block built by this node was submitted and accepted; `miner_id` names the miner when known.",
    fields: { block_hash: "hash", height: "uint", miner_id: "string?" },
  },
  BlockTemplateUpdated: {
    ...nodeOwned,
    doc: "A new block template was built on `prev_hash` for `height`, holding `tx_count` transactions.",
    fields: { prev_hash: "hash", height: "uint", tx_count: "uint" },
  },
  MiningDifficultyChanged: {
    ...nodeOwned,
    doc: "The difficulty for mining the next block changed at `height`; both values are compact `bits`.",
    fields: { old_difficulty: "uint", new_difficulty: "uint", height: "uint" },
  },
  MiningJobCreated: {
    ...moduleOwned,
    doc: "A mining module sent miners a new job `job_id` building on `prev_hash` at `height`.",
    fields: { job_id: "string", prev_hash: "hash", height: "uint" },
  },
  ShareSubmitted: {
    ...moduleOwned,
    delivery: "lossy",
    doc: "A miner submitted a share for job `job_id`.",
    fields: { job_id: "string", share_hash: "hash", miner_id: "string?" },
  },
  MergeMiningReward: {
    ...moduleOwned,
    doc: "Merge mining earned `reward_amount` on `secondary_chain` with the block `block_hash`.",
    fields: { secondary_chain: "string", reward_amount: "uint", block_hash: "hash" },
  },
  MiningPoolConnected: {
    ...moduleOwned,
    doc: "A mining module connected to the pool at `pool_url`.",
    fields: { pool_url: "string", pool_id: "string?" },
  },
  MiningPoolDisconnected: {
    ...moduleOwned,
    doc: "A mining module lost or closed its connection to the pool at `pool_url`.",
    fields: { pool_url: "string", reason: "string" },
  },
  StratumV2MessageReceived: {
    ...nodeOwned,
    doc: "A Stratum V2 message arrived from the peer `peer_addr`; the node passes `message_data` on unparsed.",
    fields: { message_data: "bytes", peer_addr: "string" },
  },
  StratumClientConnected: {
    ...moduleOwned,
    doc: "A Stratum client connected to a mining module's `endpoint`.",
    fields: { endpoint: "string", protocol_version: "uint" },
  },
  StratumClientDisconnected: {
    ...moduleOwned,
    doc: "A Stratum client disconnected from a mining module's `endpoint`.",
    fields: { endpoint: "string", reason: "string" },
  },
  MeshPacketReceived: {
    ...nodeOwned,
    doc: "A mesh packet arrived from the peer `peer_addr`; the node passes `packet_data` on unparsed.",
    fields: { packet_data: "bytes", peer_addr: "string" },
  },
  ActionExecuted: {
    ...moduleOwned,
    doc: "A mining module ran action `action_id` of kind `action_type` on `target` (a miner id, or `all`).",
    fields: { action_id: "string", action_type: "string", target: "string", success: "bool" },
  },
} as const satisfies Record<string, EventSpec>;
