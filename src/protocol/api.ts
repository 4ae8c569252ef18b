/**
 * The NodeAPI: every method a module can call, its params and result types, and the capability it
 * needs. Method names are snake_case on the wire.
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
} from "./chain.ts";

export type * from "./chain.ts";

/** Parameters of `subscribe` and `unsubscribe`. */
export interface SubscribeParams {
  /** Event types (`NewBlock`, `mesh.RouteChanged`) or `*` for every category the module may see. */
  types?: string[];
  /** Whole categories, for example `["mempool"]`. */
  categories?: string[];
}

/** What a module is subscribed to after `subscribe` or `unsubscribe`. */
export interface Subscription {
  /** Event types subscribed one by one, sorted (`*` included if given). */
  types: string[];
  /** Categories subscribed, sorted. */
  categories: string[];
}

/** A module as other modules see it (`discover_modules`, `get_module_info`). */
export interface ModuleInfo {
  /** Module name, also its id. */
  name: string;
  /** Its version. */
  version: string;
  /** Lifecycle state, for example `running`. */
  state: string;
  /** Health: `healthy`, `degraded`, `unhealthy` or `unknown`. */
  health: string;
  /** Its effective capabilities. */
  capabilities: string[];
  /** The API it registered, or `null`. */
  api: { version: string; methods: string[] } | null;
}

/** Parameters of `report_health`. */
export interface HealthReportParams {
  /** The module's own view of its health. */
  status: "healthy" | "degraded" | "unhealthy";
  /** Why, for operators. */
  message?: string;
}

/** Parameters of `report_metric`. */
export interface MetricParams {
  /** Metric name: letters, digits and `_`, starting with a letter. */
  name: string;
  /** Its value. */
  value: number;
  /** `gauge` (the latest value counts) or `counter` (monotonic). Default `gauge`. */
  kind?: "gauge" | "counter";
}

/** A module's reported health and metrics (`get_module_metrics`). */
export interface ModuleMetrics {
  /** Module name. */
  name: string;
  /** Latest reported health, or `null` if it never reported. */
  health: { status: string; message: string | null; at: number } | null;
  /** Latest value of each metric it reported. */
  metrics: Record<string, { value: number; kind: string; at: number }>;
}

/** Parameters of `call_module`. */
export interface CallModuleParams {
  /** The module to call. Without it, the one module that registered `method` is called. */
  target?: string;
  /** The method it registered. */
  method: string;
  /** Any MessagePack value. */
  params?: unknown;
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
  /** Start receiving events by type, category or `*`. Subscribing twice never duplicates delivery. */
  subscribe: { params: SubscribeParams; result: Subscription };
  /** Stop receiving events by type, category or `*`. */
  unsubscribe: { params: SubscribeParams; result: Subscription };

  /** A whole block; `NOT_FOUND` if there is none with `hash`. */
  get_block: { params: { hash: string }; result: Block };
  /** The header of the block with `hash`; `NOT_FOUND` if there is none. */
  get_block_header: { params: { hash: string }; result: BlockHeader };
  /** The main-chain block at `height`; `NOT_FOUND` above the tip. */
  get_block_by_height: { params: { height: number }; result: Block };
  /** The hash of the main-chain block at `height`; `NOT_FOUND` above the tip. */
  get_block_hash: { params: { height: number }; result: string };
  /** Hash and height of the chain tip. */
  get_chain_tip: { params: Record<string, never>; result: ChainTip };
  /** Height of the chain tip. */
  get_block_height: { params: Record<string, never>; result: number };
  /** Network, tip and total work. */
  get_chain_info: { params: Record<string, never>; result: ChainInfo };
  /** A main-chain or mempool transaction; `NOT_FOUND` if the node has none with `txid`. */
  get_transaction: { params: { txid: string }; result: Transaction };
  /** Whether the node has the transaction, in a main-chain block or the mempool. */
  has_transaction: { params: { txid: string }; result: boolean };
  /** An unspent output; `NOT_FOUND` if it is spent or never existed. */
  get_utxo: { params: OutPoint; result: Utxo };
  /** How far the node is from the best chain. */
  get_sync_status: { params: Record<string, never>; result: SyncStatus };

  /** Txids in the mempool, highest fee rate first. */
  get_mempool_transactions: { params: Record<string, never>; result: string[] };
  /** One mempool entry; `NOT_FOUND` if it is not in the mempool. */
  get_mempool_transaction: { params: { txid: string }; result: MempoolEntry };
  /** Mempool totals. */
  get_mempool_size: { params: Record<string, never>; result: MempoolInfo };
  /** Whether `txid` is in the mempool. */
  check_transaction_in_mempool: { params: { txid: string }; result: boolean };
  /** A fee rate for confirmation within `target_blocks` (1 to 1008). */
  get_fee_estimate: { params: { target_blocks: number }; result: FeeEstimate };

  /** Peer-to-peer totals. */
  get_network_stats: { params: Record<string, never>; result: NetworkStats };
  /** Connected peers. */
  get_network_peers: { params: Record<string, never>; result: Peer[] };

  /** A template for the next block. */
  get_block_template: { params: Record<string, never>; result: BlockTemplate };
  /** Submit a serialized block (`bin`, up to 4,000,000 bytes). */
  submit_block: { params: { raw: Uint8Array }; result: SubmitBlockResult };
  /**
   * Submit a serialized transaction (`bin`, up to 400,000 bytes) to the mempool. A refusal is a result, not an error:
   * `status: "rejected"` with `reject_code` and `reason`.
   */
  submit_transaction: { params: { raw: Uint8Array }; result: SubmitTransactionResult };

  /** Every module the host knows, with state and registered API. */
  discover_modules: { params: Record<string, never>; result: ModuleInfo[] };
  /** One module; `NOT_FOUND` if the host has none called `name`. */
  get_module_info: { params: { name: string }; result: ModuleInfo };
  /** Whether `name` runs and can take calls now. */
  is_module_available: { params: { name: string }; result: boolean };
  /** Report this module's own health. */
  report_health: { params: HealthReportParams; result: { recorded: true } };
  /** Report one metric of this module. */
  report_metric: { params: MetricParams; result: { recorded: true } };
  /** Another module's reported health and metrics. */
  get_module_metrics: { params: { name: string }; result: ModuleMetrics };
  /** Publish an event of a type this module's manifest declares. */
  publish_event: {
    params: { type: string; payload: Record<string, unknown> };
    result: { seq: number; delivered: number };
  };
  /** Call a method another module registered. The callee sees this module's verified name. */
  call_module: { params: CallModuleParams; result: unknown };
  /** Register (or replace) the methods other modules may call on this one. */
  register_module_api: { params: { methods: string[]; version: string }; result: { methods: string[] } };
  /** Withdraw this module's API. */
  unregister_module_api: { params: Record<string, never>; result: { removed: boolean } };
}

/** A NodeAPI method name. */
export type NodeApiMethod = keyof NodeApiMethods;

/**
 * The capability each NodeAPI method needs (snake_case names as in the manifest). The effective set of
 * a module is what its manifest asks for ∩ what the operator grants, plus the defaults.
 *
 * @example
 * ```ts
 * import { METHOD_CAPABILITY } from "@blvm/node/protocol";
 * console.log(METHOD_CAPABILITY.get_mempool_size); // "read_mempool"
 * ```
 */
export const METHOD_CAPABILITY: Readonly<Record<NodeApiMethod, string>> = {
  subscribe: "subscribe_events",
  unsubscribe: "subscribe_events",
  get_block: "read_blockchain",
  get_block_header: "read_blockchain",
  get_block_by_height: "read_blockchain",
  get_block_hash: "read_blockchain",
  get_transaction: "read_blockchain",
  has_transaction: "read_blockchain",
  get_chain_tip: "read_chain_state",
  get_block_height: "read_chain_state",
  get_chain_info: "read_chain_state",
  get_sync_status: "read_chain_state",
  get_utxo: "read_utxo",
  get_mempool_transactions: "read_mempool",
  get_mempool_transaction: "read_mempool",
  get_mempool_size: "read_mempool",
  check_transaction_in_mempool: "read_mempool",
  get_fee_estimate: "read_mempool",
  get_network_stats: "read_network",
  get_network_peers: "read_network",
  get_block_template: "read_blockchain",
  submit_block: "submit_block",
  submit_transaction: "send_transactions",
  discover_modules: "discover_modules",
  get_module_info: "discover_modules",
  is_module_available: "discover_modules",
  report_health: "report_metrics",
  report_metric: "report_metrics",
  get_module_metrics: "read_metrics",
  publish_event: "publish_events",
  call_module: "call_module",
  register_module_api: "register_module_api",
  unregister_module_api: "register_module_api",
};

/**
 * Every NodeAPI method name, at run time. The SDK builds its typed proxy from this list.
 *
 * @example
 * ```ts
 * import { NODE_API_METHODS } from "@blvm/node/protocol";
 * console.log(NODE_API_METHODS.includes("get_chain_tip")); // true
 * ```
 */
export const NODE_API_METHODS: readonly NodeApiMethod[] = Object.keys(METHOD_CAPABILITY) as NodeApiMethod[];

/**
 * The capabilities every module has unless the operator configures otherwise.
 *
 * @example
 * ```ts
 * import { DEFAULT_CAPABILITIES } from "@blvm/node/protocol";
 * console.log(DEFAULT_CAPABILITIES); // ["read_blockchain", "read_chain_state", "subscribe_events"]
 * ```
 */
export const DEFAULT_CAPABILITIES: readonly string[] = ["read_blockchain", "read_chain_state", "subscribe_events"];
