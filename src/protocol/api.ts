/**
 * Types of the NodeAPI methods and node events both sides agree on. Method names are snake_case on
 * the wire; hashes are 64-character lowercase hex in RPC (display) byte order.
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

/** Parameters of `subscribe` and `unsubscribe`. */
export interface SubscribeParams {
  /** Event types, for example `["NewBlock"]`. */
  types: string[];
}

/**
 * The NodeAPI: method name → params and result types. The SDK's typed proxy and the host's
 * dispatcher are both checked against it.
 *
 * @example Type of a result
 * ```ts
 * import type { NodeApiMethods } from "@blvm/node/protocol";
 * type Height = NodeApiMethods["get_block_height"]["result"]; // number
 * const h: Height = 0;
 * ```
 */
export interface NodeApiMethods {
  /** Start receiving events of the given types. Subscribing twice never duplicates delivery. */
  subscribe: { params: SubscribeParams; result: { subscribed: string[] } };
  /** Stop receiving events of the given types. */
  unsubscribe: { params: SubscribeParams; result: { subscribed: string[] } };
  /** Height of the chain tip. */
  get_block_height: { params: Record<string, never>; result: number };
  /** Hash and height of the chain tip. */
  get_chain_tip: { params: Record<string, never>; result: ChainTip };
  /** Network, tip and total work. */
  get_chain_info: { params: Record<string, never>; result: ChainInfo };
  /** The header of the block with `hash`; `NOT_FOUND` if there is none. */
  get_block_header: { params: { hash: string }; result: BlockHeader };
  /** The hash of the main-chain block at `height`; `NOT_FOUND` above the tip. */
  get_block_hash: { params: { height: number }; result: string };
}

/** A NodeAPI method name. */
export type NodeApiMethod = keyof NodeApiMethods;

/**
 * Every NodeAPI method name, at run time. The SDK builds its typed proxy from this list.
 *
 * @example
 * ```ts
 * import { NODE_API_METHODS } from "@blvm/node/protocol";
 * console.log(NODE_API_METHODS.includes("get_chain_tip")); // true
 * ```
 */
export const NODE_API_METHODS: readonly NodeApiMethod[] = [
  "subscribe",
  "unsubscribe",
  "get_block_height",
  "get_chain_tip",
  "get_chain_info",
  "get_block_header",
  "get_block_hash",
] as const satisfies readonly NodeApiMethod[];

/**
 * Node events: type → payload. Modules may subscribe to other type names too; those arrive with an
 * `unknown` payload.
 *
 * @example
 * ```ts
 * import type { NodeEvents } from "@blvm/node/protocol";
 * const p: NodeEvents["NewBlock"] = { hash: "00".repeat(32), height: 1, prev_hash: "00".repeat(32), time: 0 };
 * console.log(p.height);
 * ```
 */
export interface NodeEvents {
  /** A block was connected to the main chain. */
  NewBlock: { hash: string; height: number; prev_hash: string; time: number };
  /** A module folder with a valid manifest was found. */
  ModuleDiscovered: { name: string; version: string; path: string };
  /** A module was accepted (dependencies resolved, config built); sticky: late subscribers get one per loaded module. */
  ModuleLoaded: { name: string; version: string; lazy: boolean };
  /** A module process completed its handshake. `restarts` counts automatic restarts so far. */
  ModuleStarted: { name: string; version: string; pid: number; restarts: number };
  /** A module process ended because it was asked to, or exited cleanly by itself. */
  ModuleStopped: { name: string; reason: string; code: number | null; signal: string | null };
  /** A module was removed from the host (unload, or the first half of a reload). */
  ModuleUnloaded: { name: string; version: string; reason: string };
  /** A module process ended unexpectedly, or failed to start. */
  ModuleCrashed: {
    name: string;
    reason: string;
    code: number | null;
    signal: string | null;
    uptime_ms: number;
    /** What happens next: `restart` (after `restart_in_ms`) or `quarantine`. */
    action: "restart" | "quarantine";
    restart_in_ms: number | null;
  };
  /** A reload finished; `success` is false if the new version did not start. */
  ModuleReloaded: { name: string; old_version: string; new_version: string; success: boolean; error: string | null };
  /** A module moved between lifecycle states. */
  ModuleStateChanged: { name: string; old_state: string; new_state: string; reason: string };
  /** A module's health changed (`healthy`, `unhealthy`, `unknown`; later also `degraded`). */
  ModuleHealthChanged: { name: string; old_health: string; new_health: string; reason: string };
}
