/**
 * The host's NodeAPI handlers for the chain, mempool, network and mining methods: validate params,
 * read from the node backend, and return results or `RemoteError`s with codes the module can act on
 * (`INVALID_PARAMS`, `NOT_FOUND`, `UNAVAILABLE`). Subscriptions and the module methods are served
 * elsewhere.
 *
 * @module
 */
import type { NodeApiMethod, NodeApiMethods } from "../protocol/api.ts";
import { ErrorCode, RemoteError } from "../protocol/errors.ts";
import { BackendUnavailableError, type NodeBackend } from "../node/backend.ts";
import { hash32, height, intIn, type ParamReader, rawData, readParams } from "./params.ts";

/**
 * What a handler knows about the call besides its params.
 *
 * @example
 * ```ts
 * import type { CallContext } from "@blvm/node";
 * const ctx: CallContext = { module: "hello", signal: new AbortController().signal };
 * console.log(ctx.module);
 * ```
 */
export interface CallContext {
  /** calling module name */
  module: string;
  /** aborted on cancel/deadline */
  signal: AbortSignal;
  /** When the call's deadline falls, on the `performance.now()` clock, if the caller knows it. */
  deadlineAt?: number;
}

/**
 * One NodeAPI method implementation. It resolves to the result or rejects, preferably with a
 * `RemoteError` carrying an `ErrorCode`.
 *
 * @example
 * ```ts
 * import type { ApiHandler } from "@blvm/node";
 * const height: ApiHandler = () => Promise.resolve(0);
 * console.log(await height({}, { module: "m", signal: new AbortController().signal })); // 0
 * ```
 */
export type ApiHandler = (params: Record<string, unknown>, ctx: CallContext) => Promise<unknown>;

/**
 * Handlers by NodeAPI method name; methods without one are served elsewhere or unknown.
 *
 * @example
 * ```ts
 * import type { ApiHandlers } from "@blvm/node";
 * const handlers: ApiHandlers = { get_block_height: () => Promise.resolve(7) };
 * console.log(Object.keys(handlers)); // ["get_block_height"]
 * ```
 */
export type ApiHandlers = Partial<Record<NodeApiMethod, ApiHandler>>;

/** The methods {@link createNodeApiHandlers} serves. */
type BackendMethod =
  | "get_block"
  | "get_block_header"
  | "get_block_by_height"
  | "get_block_hash"
  | "get_chain_tip"
  | "get_block_height"
  | "get_chain_info"
  | "get_transaction"
  | "has_transaction"
  | "get_utxo"
  | "get_sync_status"
  | "get_mempool_transactions"
  | "get_mempool_transaction"
  | "get_mempool_size"
  | "check_transaction_in_mempool"
  | "get_fee_estimate"
  | "get_network_stats"
  | "get_network_peers"
  | "get_block_template"
  | "submit_block"
  | "submit_transaction";

type Spec = Record<string, ParamReader<unknown>>;
type Parsed<S extends Spec> = { [K in keyof S]: S[K] extends ParamReader<infer T> ? T : never };
interface Def<R> {
  spec: Spec;
  run(params: never, ctx: CallContext): Promise<R>;
}

/** Largest block `submit_block` takes: a block of 4,000,000 weight units is at most 4 MB. */
const MAX_BLOCK_BYTES = 4_000_000;
/** Largest transaction `submit_transaction` takes: a 400,000-weight transaction is at most 400 kB. */
const MAX_TX_BYTES = 400_000;

const blockHash = hash32("block hash");
const txid = hash32("txid");
const none = {};

/**
 * Build the handlers for the chain, mempool, network and mining NodeAPI methods over a backend.
 * Each checks its params first (unknown keys included) and answers `INVALID_PARAMS` naming the param
 * and the value given; a lookup that finds nothing answers `NOT_FOUND` naming what was looked up; a
 * {@link BackendUnavailableError} answers `UNAVAILABLE`. Backend calls are not cancellable, so
 * `ctx.signal` is not consulted.
 *
 * @param backend The node backend.
 * @returns Handlers by method name.
 *
 * @example
 * ```ts
 * import { createNodeApiHandlers, DevNode } from "@blvm/node";
 * const api = createNodeApiHandlers(DevNode.open());
 * const ctx = { module: "hello", signal: new AbortController().signal };
 * console.log(await api.get_block_height!({}, ctx)); // 0
 * ```
 */
export function createNodeApiHandlers(backend: NodeBackend): ApiHandlers {
  const defs: { [M in BackendMethod]: Def<NodeApiMethods[M]["result"]> } = {
    get_block: def(
      { hash: blockHash },
      async ({ hash }) => found(await backend.getBlock(hash), `No block with hash ${hash}`),
    ),
    get_block_header: def(
      { hash: blockHash },
      async ({ hash }) => found(await backend.getHeader(hash), `No block header with hash ${hash}`),
    ),
    get_block_by_height: def({ height }, async ({ height }) => {
      const hash = await hashAt(height);
      return found(await backend.getBlock(hash), `No block at height ${height} (hash ${hash})`);
    }),
    get_block_hash: def({ height }, ({ height }) => hashAt(height)),
    get_chain_tip: def(none, () => backend.getTip()),
    get_block_height: def(none, async () => (await backend.getTip()).height),
    get_chain_info: def(none, () => backend.getChainInfo()),
    get_transaction: def(
      { txid },
      async ({ txid }) =>
        found(
          await backend.getTransaction(txid),
          `No transaction with txid ${txid} in a main-chain block or the mempool`,
        ),
    ),
    has_transaction: def({ txid }, async ({ txid }) => (await backend.getTransaction(txid)) !== undefined),
    get_utxo: def({ txid, vout: intIn(0, 0xffffffff, "output index") }, async ({ txid, vout }) =>
      found(
        await backend.getUtxo({ txid, vout }),
        `No unspent output ${txid}:${vout}: it is spent or never existed`,
      )),
    get_sync_status: def(none, () => backend.getSyncStatus()),
    get_mempool_transactions: def(none, () => backend.getMempoolTxids()),
    get_mempool_transaction: def(
      { txid },
      async ({ txid }) => found(await backend.getMempoolEntry(txid), `No transaction with txid ${txid} in the mempool`),
    ),
    get_mempool_size: def(none, () => backend.getMempoolInfo()),
    check_transaction_in_mempool: def(
      { txid },
      async ({ txid }) => (await backend.getMempoolEntry(txid)) !== undefined,
    ),
    get_fee_estimate: def(
      { target_blocks: intIn(1, 1008, "confirmation target in blocks") },
      ({ target_blocks }) => backend.estimateFee(target_blocks),
    ),
    get_network_stats: def(none, () => backend.getNetworkStats()),
    get_network_peers: def(none, () => backend.getPeers()),
    get_block_template: def(none, () => backend.getBlockTemplate()),
    submit_block: def({ raw: rawData(MAX_BLOCK_BYTES, "serialized block") }, ({ raw }) => backend.submitBlock(raw)),
    submit_transaction: def(
      { raw: rawData(MAX_TX_BYTES, "serialized transaction") },
      ({ raw }) => backend.submitTransaction(raw),
    ),
  };

  async function hashAt(height: number): Promise<string> {
    const hash = await backend.getBlockHash(height);
    if (hash !== undefined) return hash;
    const tip = await backend.getTip();
    throw new RemoteError(ErrorCode.NotFound, `No block at height ${height}: the tip is at height ${tip.height}`);
  }

  const handlers: ApiHandlers = {};
  for (const [method, { spec, run }] of Object.entries(defs) as [BackendMethod, Def<unknown>][]) {
    handlers[method] = async (params, ctx) => {
      const parsed = readParams(method, params, spec);
      try {
        return await run(parsed as never, ctx);
      } catch (e) {
        if (e instanceof BackendUnavailableError) throw new RemoteError(ErrorCode.Unavailable, e.message);
        throw e;
      }
    };
  }
  return handlers;
}

/** A handler definition, typed by its spec and checked against the method's result type. */
function def<S extends Spec, R>(spec: S, run: (params: Parsed<S>, ctx: CallContext) => Promise<R>): Def<R> {
  return { spec, run: run as Def<R>["run"] };
}

function found<T>(value: T | undefined, notFound: string): T {
  if (value === undefined) throw new RemoteError(ErrorCode.NotFound, notFound);
  return value;
}
