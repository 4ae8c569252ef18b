/**
 * The interface between the host and whatever node it fronts: the in-memory chain today, the
 * embedded regtest dev node and Bitcoin Core later.
 *
 * @module
 */
import type { BlockHeader, ChainInfo, ChainTip } from "../protocol/api.ts";

/**
 * What the host needs from a node. All reads are async so remote backends fit.
 *
 * @example A minimal read
 * ```ts
 * import { MemoryBackend, type NodeBackend } from "@blvm/node";
 * const node: NodeBackend = new MemoryBackend();
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
  /** The header with this display-order hash, or `undefined`. */
  getHeader(hash: string): Promise<BlockHeader | undefined>;
  /** The main-chain block hash at `height`, or `undefined` above the tip. */
  getBlockHash(height: number): Promise<string | undefined>;
  /**
   * Be told about each block connected to the main chain.
   *
   * @returns A function that removes the listener.
   */
  onBlock(listener: (header: BlockHeader) => void): () => void;
}
