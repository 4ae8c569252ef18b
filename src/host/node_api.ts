/**
 * The host's NodeAPI handlers: validate params, read from the node backend, return results or
 * `RemoteError`s with codes the module can act on.
 *
 * @module
 */
import type { NodeApiMethod } from "../protocol/api.ts";
import { ErrorCode, RemoteError } from "../protocol/errors.ts";
import type { NodeBackend } from "../node/backend.ts";

/** One NodeAPI method implementation. */
export type ApiHandler = (params: Record<string, unknown>, signal: AbortSignal) => Promise<unknown>;

/** Handlers for the backend-served NodeAPI methods (subscriptions are handled by the session). */
export type ApiHandlers = Partial<Record<NodeApiMethod, ApiHandler>>;

/**
 * Build the NodeAPI handlers over a backend.
 *
 * @param backend The node backend.
 * @returns Handlers by method name.
 *
 * @example
 * ```ts
 * import { createNodeApiHandlers, MemoryBackend } from "@blvm/node";
 * const api = createNodeApiHandlers(new MemoryBackend());
 * console.log(await api.get_block_height!({}, new AbortController().signal)); // 0
 * ```
 */
export function createNodeApiHandlers(backend: NodeBackend): ApiHandlers {
  return {
    get_block_height: async () => (await backend.getTip()).height,
    get_chain_tip: () => backend.getTip(),
    get_chain_info: () => backend.getChainInfo(),
    get_block_header: async (p) => {
      const hash = hashParam(p, "hash");
      const header = await backend.getHeader(hash);
      if (!header) throw new RemoteError(ErrorCode.NotFound, `No block header with hash ${hash}`);
      return header;
    },
    get_block_hash: async (p) => {
      const height = p.height;
      if (!Number.isInteger(height) || (height as number) < 0) {
        throw new RemoteError(
          ErrorCode.InvalidParams,
          `Param 'height' must be a non-negative integer, got ${show(height)}`,
        );
      }
      const hash = await backend.getBlockHash(height as number);
      if (!hash) throw new RemoteError(ErrorCode.NotFound, `No block at height ${height}: the tip is lower`);
      return hash;
    },
  };
}

function hashParam(p: Record<string, unknown>, name: string): string {
  const v = p[name];
  if (typeof v !== "string" || !/^[0-9a-fA-F]{64}$/.test(v)) {
    throw new RemoteError(
      ErrorCode.InvalidParams,
      `Param '${name}' must be a 64-character hex block hash, got ${show(v)}`,
    );
  }
  return v.toLowerCase();
}

/** A short, always-printable view of a param value (bigints included). */
function show(v: unknown): string {
  return typeof v === "string"
    ? JSON.stringify(v.slice(0, 80))
    : typeof v === "object" && v !== null
    ? "a map or list"
    : String(v);
}
