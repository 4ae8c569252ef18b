/**
 * The typed NodeAPI proxy: one camelCase method per NodeAPI method, each a call with a deadline.
 *
 * @module
 */
import { NODE_API_METHODS, type NodeApiMethod, type NodeApiMethods } from "../protocol/api.ts";

/** Per-call options. */
export interface CallOptions {
  /** Deadline in milliseconds. Default: the host's `call_timeout_ms` from the handshake. */
  timeoutMs?: number;
  /** Abort the call; the promise rejects with the signal's reason and the host is told to cancel. */
  signal?: AbortSignal;
}

/**
 * A snake_case name converted to camelCase, as the typed proxy names NodeAPI methods.
 *
 * @example
 * ```ts
 * import type { CamelCase } from "@blvm/node/module";
 * const name: CamelCase<"get_block_header"> = "getBlockHeader";
 * console.log(name);
 * ```
 */
export type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;

/**
 * The proxy method for NodeAPI method `M`: takes its params (optional when it has none) and
 * {@link CallOptions}, and resolves with its result.
 *
 * @example
 * ```ts
 * import type { ApiFn } from "@blvm/node/module";
 * const getBlockHeight: ApiFn<"get_block_height"> = () => Promise.resolve(7);
 * console.log(await getBlockHeight()); // 7
 * ```
 */
export type ApiFn<M extends NodeApiMethod> = NodeApiMethods[M]["params"] extends Record<string, never>
  ? (params?: NodeApiMethods[M]["params"], options?: CallOptions) => Promise<NodeApiMethods[M]["result"]>
  : (params: NodeApiMethods[M]["params"], options?: CallOptions) => Promise<NodeApiMethods[M]["result"]>;

/**
 * The NodeAPI as typed async methods: `get_chain_tip` becomes `getChainTip()`.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@blvm/node/module";
 * const mod = await connect();
 * const tip = await mod.api.getChainTip();
 * const header = await mod.api.getBlockHeader({ hash: tip.hash }, { timeoutMs: 500 });
 * ```
 */
export type NodeApi = { [M in NodeApiMethod as CamelCase<M>]: ApiFn<M> };

/** The function a proxy sends calls through. */
export type Caller = (method: string, params: unknown, options?: CallOptions) => Promise<unknown>;

/**
 * Build a {@link NodeApi} whose methods send through `call`.
 *
 * @param call Sends one request and resolves with its result.
 * @returns The typed proxy.
 *
 * @example
 * ```ts
 * import { createNodeApi } from "@blvm/node/module";
 * const api = createNodeApi((method) => Promise.resolve(method === "get_block_height" ? 7 : null));
 * console.log(await api.getBlockHeight()); // 7
 * ```
 */
export function createNodeApi(call: Caller): NodeApi {
  const api: Record<string, unknown> = {};
  for (const method of NODE_API_METHODS) {
    const name = method.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    api[name] = (params?: unknown, options?: CallOptions) => call(method, params ?? {}, options);
  }
  return api as NodeApi;
}
