/**
 * The admin socket's `node.*` methods: the operator's commands for the embedded dev node.
 *
 * | method | params | result |
 * | --- | --- | --- |
 * | `node.status` | | chain, mempool, fee estimate, wallet |
 * | `node.generate` | `count`, `address?` | the new headers |
 * | `node.send` | `address`, `amount_sats`, `fee_rate?` | txid, fee, fee rate, vsize |
 * | `node.mempool` | | totals and entries, highest fee rate first |
 * | `node.block` | `hash` or `height` | the block |
 * | `node.tx` | `txid` | the transaction |
 * | `node.reorg` | `depth`, `blocks?` | old and new tip, fork height, counts |
 * | `node.address` | | a new wallet address |
 * | `node.flush` | | pages written |
 *
 * @module
 */
import { ErrorCode, RemoteError } from "../protocol/errors.ts";
import { BackendUnavailableError } from "../node/backend.ts";
import type { DevNode } from "../node/dev/node.ts";
import { CONSENSUS } from "../node/dev/params.ts";
import { TxRejectedError } from "../node/dev/rules.ts";
import { WalletError } from "../node/dev/wallet.ts";
import { shown } from "./params.ts";

/** Every `node.*` admin method. */
export const NODE_METHODS = [
  "node.status",
  "node.generate",
  "node.send",
  "node.mempool",
  "node.block",
  "node.tx",
  "node.reorg",
  "node.address",
  "node.flush",
] as const;

/**
 * Run one `node.*` method.
 *
 * @param node The dev node, or `undefined` if the host runs without one.
 * @param method The method.
 * @param p Its params.
 * @returns The result.
 * @throws {RemoteError} `INVALID_PARAMS` for bad params (an amount that is not a whole number of sats
 *   from 1 to 21,000,000 BTC, a number too large, bigints included) or a refused send (with
 *   `data.reject_code`), `NOT_FOUND` for an unknown block or transaction, `UNAVAILABLE` without a dev
 *   node or when it cannot serve the call (its store cannot be written: the message names SQLite's
 *   reason, e.g. `database or disk is full`; a pruned block), `METHOD_NOT_FOUND` for an unknown
 *   `node.*` method.
 *
 * @example
 * ```ts
 * import { DevNode } from "@blvm/node";
 * import { dispatchNode } from "./node_commands.ts";
 * const node = DevNode.open();
 * console.log((await dispatchNode(node, "node.status", {}) as { height: number }).height); // 0
 * await node.close();
 * ```
 */
export async function dispatchNode(
  node: DevNode | undefined,
  method: string,
  p: Record<string, unknown>,
): Promise<unknown> {
  if (!node) throw new RemoteError(ErrorCode.Unavailable, "This host runs without the embedded dev node");
  try {
    return await run(node, method, p);
  } catch (e) {
    if (e instanceof RemoteError) throw e;
    if (e instanceof TxRejectedError) {
      throw new RemoteError(ErrorCode.InvalidParams, `The mempool refused the transaction: ${e.message}`, {
        reject_code: e.code,
        txid: e.txid,
      });
    }
    if (e instanceof RangeError || e instanceof WalletError) throw new RemoteError(ErrorCode.InvalidParams, e.message);
    if (e instanceof BackendUnavailableError) throw new RemoteError(ErrorCode.Unavailable, e.message);
    throw e;
  }
}

async function run(node: DevNode, method: string, p: Record<string, unknown>): Promise<unknown> {
  switch (method as typeof NODE_METHODS[number]) {
    case "node.status":
      return node.dev.status();
    case "node.generate":
      return await node.dev.generateAsync(num(p, "count"), { address: optStr(p, "address") });
    case "node.send":
      return await node.dev.sendAsync(str(p, "address"), sats(p, "amount_sats"), optNum(p, "fee_rate"));
    case "node.mempool":
      return { info: await node.getMempoolInfo(), entries: node.dev.mempool() };
    case "node.block": {
      const height = p.height === undefined ? undefined : num(p, "height");
      if (height !== undefined && (!Number.isInteger(height) || height < 0)) {
        throw new RemoteError(
          ErrorCode.InvalidParams,
          `Parameter 'height' must be a non-negative integer, got ${height}`,
        );
      }
      const hash = height !== undefined ? await node.getBlockHash(height) : str(p, "hash");
      const block = hash && await node.getBlock(hash);
      if (!block) {
        throw new RemoteError(
          ErrorCode.NotFound,
          `No main-chain block ${p.height !== undefined ? `at height ${p.height}` : hash}`,
        );
      }
      return block;
    }
    case "node.tx": {
      const txid = str(p, "txid");
      const tx = await node.getTransaction(txid);
      if (!tx) throw new RemoteError(ErrorCode.NotFound, `No transaction ${txid} in the chain or the mempool`);
      return tx;
    }
    case "node.reorg":
      return await node.dev.reorgAsync(num(p, "depth"), { blocks: optNum(p, "blocks") });
    case "node.address":
      return { address: node.wallet.newAddress() };
    case "node.flush":
      return await node.flush();
    default:
      throw new RemoteError(
        ErrorCode.MethodNotFound,
        `Unknown node method '${method}'; one of ${NODE_METHODS.join(", ")}`,
      );
  }
}

function str(p: Record<string, unknown>, key: string): string {
  const v = p[key];
  if (typeof v !== "string" || v === "") {
    throw new RemoteError(ErrorCode.InvalidParams, `Parameter '${key}' must be a non-empty string`);
  }
  return v;
}

function optStr(p: Record<string, unknown>, key: string): string | undefined {
  return p[key] === undefined ? undefined : str(p, key);
}

/** A number param. A bigint (an integer beyond 2^53 on the wire) is refused, naming it. */
function num(p: Record<string, unknown>, key: string): number {
  const v = p[key];
  if (typeof v === "bigint") {
    throw new RemoteError(
      ErrorCode.InvalidParams,
      `Parameter '${key}' must be a number no larger than ${Number.MAX_SAFE_INTEGER}, got ${v}`,
    );
  }
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new RemoteError(ErrorCode.InvalidParams, `Parameter '${key}' must be a number, got ${shown(v)}`);
  }
  return v;
}

/** An amount: a whole number of satoshis from 1 to 21,000,000 BTC, as a number or a bigint. */
function sats(p: Record<string, unknown>, key: string): number {
  const v = p[key];
  const max = CONSENSUS.maxMoney;
  const whole = typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v));
  if (!whole || (v as number | bigint) < 1 || (v as number | bigint) > max) {
    throw new RemoteError(
      ErrorCode.InvalidParams,
      `Parameter '${key}' must be a whole number of sats from 1 to ${max} (21,000,000 BTC), got ${shown(v)}`,
      { param: key, min: 1, max },
    );
  }
  return Number(v);
}

function optNum(p: Record<string, unknown>, key: string): number | undefined {
  return p[key] === undefined ? undefined : num(p, key);
}
