/**
 * The dev node's chain: an index of every block seen (main chain and side branches, with cumulative
 * work), the UTXO set, and connecting or disconnecting the tip block with full validation. State
 * lives in memory and in the {@link NodeStore}; each connect or disconnect is one store transaction
 * (or part of the caller's: the dev node stores and connects a block, or a whole reorg, in one),
 * written before memory changes. If a transaction fails, {@link ChainState.reload} reads the truth
 * back from the store.
 *
 * @module
 */
import { blockWork, fromHex, type HeaderFields, headerHash, parseHeader } from "../header.ts";
import { decodeBlock, decodeBlockSteps, type DecodedBlock, encodeBlock } from "./block_codec.ts";
import { decodeTx, type Tx } from "./tx_codec.ts";
import { CONSENSUS, GENESIS_COINBASE_HEX, REGTEST_GENESIS } from "./params.ts";
import { BlockRejectedError, checkBlockBody, checkHeader, type KnownRoots } from "./block_rules.ts";
import { bestValid, branchTo, descendsFrom, forkPoint, validUpToMain } from "./chain_branches.ts";
import type { Coin } from "./rules.ts";
import { SigCache } from "./sig_cache.ts";
import type { BlockStatus, NodeStore } from "./store.ts";
import {
  checkSpendsSteps,
  createdCoins,
  outpointKey,
  restoredCoins,
  type Undo,
  writeConnectSteps,
} from "./utxo_changes.ts";
import { BackendUnavailableError } from "../backend.ts";
import { runSteps, type Steps } from "./steps.ts";

/** A block in the index. */
export interface IndexEntry {
  /** Block hash. */
  hash: string;
  /** Height. */
  height: number;
  /** Header fields. */
  header: HeaderFields;
  /** Work of the chain up to and including this block. */
  work: bigint;
  /** Validity. */
  status: BlockStatus;
  /** Arrival order, to break ties in work (first seen wins). */
  seq: number;
}

export { BlockRejectedError };

/** What connecting a block changed. */
export interface Connected {
  /** The new tip. */
  entry: IndexEntry;
  /** The block's transactions. */
  txs: Tx[];
  /** Fees the block's transactions paid. */
  fees: number;
}

/**
 * A block validated and written to the store (in the open transaction), whose changes to the chain
 * in memory wait for {@link PendingConnect.apply}: until then, readers see the chain as it was.
 *
 * @example
 * ```ts ignore
 * const pending = yield* chain.connectSteps(entry, verified, block);
 * pending.apply(); // the tip and the UTXO set move
 * ```
 */
export interface PendingConnect {
  /** What connecting it changes. */
  connected: Connected;
  /** Make the chain in memory match the store: the new tip, the UTXO set. */
  apply(): void;
}

/** Blocks whose fee rates are kept in memory for the fee estimator. */
const RATES_KEPT = 64;

/**
 * The index, the main chain and the UTXO set.
 *
 * @example
 * ```ts
 * import { ChainState, NodeStore } from "@blvm/node";
 * const chain = ChainState.load(NodeStore.open(":memory:"));
 * console.log(chain.tip().hash.slice(0, 8)); // 0f9188f1
 * ```
 */
export class ChainState {
  readonly #store: NodeStore;
  /** Signatures verified before (in the mempool, or in a block since disconnected). */
  readonly #sigs: SigCache;
  readonly #index = new Map<string, IndexEntry>();
  readonly #main: IndexEntry[] = [];
  readonly #coins = new Map<string, Coin>();
  /** Fee rates of recently connected blocks, by hash, so the fee estimator need not parse their undo data. */
  readonly #rates = new Map<string, number[]>();
  #seq = 0;

  private constructor(store: NodeStore, sigs: SigCache) {
    this.#store = store;
    this.#sigs = sigs;
  }

  /**
   * Load the chain from `store`, writing the regtest genesis block into an empty one.
   *
   * @param store The store.
   * @param sigs The signature cache, shared with the mempool; a cache of its own by default.
   * @returns The chain state.
   */
  static load(store: NodeStore, sigs: SigCache = new SigCache()): ChainState {
    const cs = new ChainState(store, sigs);
    const rows = store.headers();
    if (rows.length === 0) {
      const hash = headerHash(REGTEST_GENESIS);
      const raw = encodeBlock(REGTEST_GENESIS, [decodeTx(fromHex(GENESIS_COINBASE_HEX))]);
      store.atomically(() => {
        store.setMeta("network", "regtest");
        store.putBlock({
          hash,
          prev_hash: REGTEST_GENESIS.prev_hash,
          height: 0,
          header: raw.slice(0, 80),
          status: "valid",
          seq: 0,
        }, raw);
        store.connect(hash, 0, '{"coins":[],"rates":[]}', [], [], []);
      });
      return ChainState.load(store, sigs);
    }
    cs.reload();
    return cs;
  }

  /**
   * Forget what is in memory and read the index, the main chain and the UTXO set back from the
   * store: after a store transaction failed and was rolled back, the file is what is true.
   *
   * @example
   * ```ts
   * import { ChainState, NodeStore } from "@blvm/node";
   * const chain = ChainState.load(NodeStore.open(":memory:"));
   * chain.reload();
   * console.log(chain.tip().height); // 0
   * ```
   */
  reload(): void {
    this.#index.clear();
    this.#main.length = 0;
    this.#coins.clear();
    this.#rates.clear();
    this.#seq = 0;
    for (const r of this.#store.headers()) {
      const parent = this.#index.get(r.prev_hash);
      const header = parseHeader(r.header);
      const work = (parent?.work ?? 0n) + blockWork(header.bits);
      this.#index.set(r.hash, { hash: r.hash, height: r.height, header, work, status: r.status, seq: r.seq });
      this.#seq = Math.max(this.#seq, r.seq + 1);
    }
    for (const hash of this.#store.chain()) this.#main.push(this.#index.get(hash)!);
    for (const c of this.#store.coins()) this.#coins.set(outpointKey(c.txid, c.vout), c);
  }

  /** The tip. */
  tip(): IndexEntry {
    return this.#main[this.#main.length - 1];
  }

  /** The main-chain block at `height`. */
  at(height: number): IndexEntry | undefined {
    return this.#main[height];
  }

  /** Any indexed block. */
  entry(hash: string): IndexEntry | undefined {
    return this.#index.get(hash);
  }

  /** Whether `hash` is in the main chain. */
  onMain(hash: string): boolean {
    const e = this.#index.get(hash);
    return e !== undefined && this.#main[e.height] === e;
  }

  /** Median time past of the 11 blocks ending at `entry` (default: the tip). */
  medianTime(entry: IndexEntry = this.tip()): number {
    const times: number[] = [];
    for (let e: IndexEntry | undefined = entry; e && times.length < CONSENSUS.medianTimeSpan;) {
      times.push(e.header.time);
      e = this.#index.get(e.header.prev_hash);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  }

  /** An unspent output of the main chain. */
  coin(txid: string, vout: number): Coin | undefined {
    return this.#coins.get(outpointKey(txid, vout));
  }

  /** Every unspent output, with its outpoint. */
  *coins(): IterableIterator<[string, Coin]> {
    yield* this.#coins.entries();
  }

  /** Where a main-chain transaction is. */
  location(txid: string): { block: IndexEntry; position: number; outputs: number } | undefined {
    const loc = this.#store.txLocation(txid);
    // The index of a block being connected is written before the chain in memory moves to it.
    const block = loc && this.#index.get(loc.block_hash);
    return block && this.onMain(block.hash) ? { block, position: loc!.position, outputs: loc!.outputs } : undefined;
  }

  /**
   * A stored block's bytes.
   *
   * @throws {BackendUnavailableError} if its data was pruned.
   */
  blockBytes(hash: string): Uint8Array {
    const raw = this.#store.blockBytes(hash);
    if (!raw?.length) throw new BackendUnavailableError(`Block ${hash}`, "its data was pruned");
    return raw;
  }

  /**
   * Check a new block's header in its context and store the block. The body is checked when the
   * block is connected.
   *
   * @param block The decoded block.
   * @param raw Its bytes.
   * @param now The node's clock, seconds.
   * @param known Its merkle roots, if the caller computed them from its transactions already.
   * @returns Its index entry.
   * @throws {BlockRejectedError} if the parent is unknown or invalid, or the header breaks a rule.
   */
  accept(block: DecodedBlock, raw: Uint8Array, now: number, known?: KnownRoots): IndexEntry {
    const { header: h, hash } = block;
    const parent = this.#index.get(h.prev_hash);
    if (!parent) throw new BlockRejectedError("prev-blk-not-found", `the parent ${h.prev_hash} is not known`, hash);
    if (parent.status === "invalid") {
      throw new BlockRejectedError("bad-prevblk", `the parent ${h.prev_hash} is invalid`, hash);
    }
    checkHeader(block, this.medianTime(parent), now);
    // The body is checked against the header before the block is stored: a body that does not match
    // its header (a mutated block) is refused without marking the hash invalid, so the real block
    // can still arrive.
    checkBlockBody(block, parent.height + 1, known);
    const entry: IndexEntry = {
      hash,
      height: parent.height + 1,
      header: h,
      work: parent.work + blockWork(h.bits),
      status: "valid",
      seq: this.#seq++,
    };
    this.#store.putBlock({ ...entry, prev_hash: h.prev_hash, header: raw.slice(0, 80) }, raw);
    this.#index.set(hash, entry);
    return entry;
  }

  /**
   * Validate the stored block `entry`, a child of the tip, in full and connect it.
   *
   * @param entry The block's index entry.
   * @param verified Whether a transaction's signatures were already verified (by its wtxid).
   * @param decoded The block, if the caller has it decoded already; otherwise it is read from the store.
   * @returns What changed.
   * @throws {BlockRejectedError} if any rule fails; the block is then marked invalid.
   */
  connect(entry: IndexEntry, verified: (wtxid: string) => boolean, decoded?: DecodedBlock): Connected {
    const pending = runSteps(this.connectSteps(entry, verified, decoded));
    pending.apply();
    return pending.connected;
  }

  /**
   * {@link ChainState.connect} in steps: validate the block and write it to the store, yielding
   * between chunks of transactions and of rows, and leave the chain in memory as it was until the
   * caller applies the result (together with its transaction's commit: just before or just after).
   *
   * @param entry The block's index entry.
   * @param verified Whether a transaction's signatures were already verified (by its wtxid).
   * @param decoded The block, if the caller has it decoded already; otherwise it is read from the store.
   * @returns Steps returning the pending change.
   * @throws {BlockRejectedError} if any rule fails; the block is then marked invalid.
   *
   * @example
   * ```ts ignore
   * const pending = yield* chain.connectSteps(entry, (w) => pool.verified(w), block);
   * pending.apply();
   * ```
   */
  *connectSteps(
    entry: IndexEntry,
    verified: (wtxid: string) => boolean,
    decoded?: DecodedBlock,
  ): Steps<PendingConnect> {
    const block = decoded ?? (yield* decodeBlockSteps(this.blockBytes(entry.hash)));
    try {
      return yield* this.#connectSteps(entry, block, verified);
    } catch (e) {
      if (!(e instanceof BlockRejectedError)) throw e;
      this.#store.setStatus(entry.hash, "invalid");
      entry.status = "invalid";
      throw e;
    }
  }

  /**
   * Disconnect the tip block, restoring the coins it spent.
   *
   * @returns The disconnected block's entry and transactions.
   * @throws {Error} at the genesis block.
   */
  disconnectTip(): { entry: IndexEntry; txs: Tx[] } {
    const entry = this.tip();
    if (entry.height === 0) throw new Error("Cannot disconnect the genesis block");
    const { txs } = decodeBlock(this.blockBytes(entry.hash));
    const restored = restoredCoins(this.#undo(entry.hash));
    const removed = createdCoins(txs);
    this.#store.atomically(() => this.#store.disconnect(entry.height, removed, restored, txs.map((t) => t.txid)));
    for (const o of removed) this.#coins.delete(outpointKey(o.txid, o.vout));
    for (const c of restored) this.#coins.set(outpointKey(c.txid, c.vout), c);
    this.#main.pop();
    return { entry, txs };
  }

  /**
   * The fee rates (sat/vB) of a connected block's transactions, coinbase excluded, in block order.
   *
   * @param hash A main-chain block.
   * @returns The rates; empty for an unknown block.
   */
  feeRates(hash: string): number[] {
    const kept = this.#rates.get(hash);
    if (kept) return kept;
    const rates = this.#undo(hash).rates;
    this.#keepRates(hash, rates);
    return rates;
  }

  #keepRates(hash: string, rates: number[]): void {
    this.#rates.delete(hash);
    this.#rates.set(hash, rates);
    if (this.#rates.size > RATES_KEPT) this.#rates.delete(this.#rates.keys().next().value!);
  }

  #undo(hash: string): Undo {
    return JSON.parse(this.#store.undo(hash) ?? '{"coins":[],"rates":[]}') as Undo;
  }

  /** Mark a block invalid (the operator's `invalidateblock`); its descendants become invalid with it. */
  invalidate(hash: string): void {
    const target = this.#index.get(hash);
    if (!target) return;
    for (const e of this.#index.values()) {
      if (e.status === "valid" && descendsFrom(this, e, target)) {
        this.#store.setStatus(e.hash, "invalid");
        e.status = "invalid";
      }
    }
  }

  /** Whether `entry` and all its ancestors are valid. */
  valid(entry: IndexEntry): boolean {
    return validUpToMain(this, entry);
  }

  /**
   * The valid block with the most work (first seen on ties). A block is valid if it and all its
   * ancestors are.
   */
  best(): IndexEntry {
    return bestValid(this, this.#index.values());
  }

  /** The main-chain ancestor shared with `entry`. */
  fork(entry: IndexEntry): IndexEntry {
    return forkPoint(this, entry);
  }

  /** The path from just above the main chain up to `entry`. */
  branch(entry: IndexEntry): IndexEntry[] {
    return branchTo(this, entry);
  }

  *#connectSteps(
    entry: IndexEntry,
    block: DecodedBlock,
    verified: (wtxid: string) => boolean,
  ): Steps<PendingConnect> {
    const { txs, hash } = block;
    if (entry.header.prev_hash !== this.tip().hash) throw new Error(`Block ${hash} does not extend the tip`);
    const coinAt = (k: string) => this.#coins.get(k);
    const plan = yield* checkSpendsSteps(entry, block, coinAt, this.medianTime(), verified, this.#sigs);
    yield;
    // The rows, a chunk at a time, in the caller's transaction.
    yield* writeConnectSteps(this.#store, block, entry.height, plan);
    const { spent, created, rates, fees } = plan;
    return {
      connected: { entry, txs, fees },
      // The outpoint keys were built (and hashed) while validating: applying is map updates only.
      apply: () => {
        for (const s of spent) this.#coins.delete(s.key);
        for (const [k, c] of created) this.#coins.set(k, c);
        this.#main.push(entry);
        this.#keepRates(hash, rates);
      },
    };
  }
}
