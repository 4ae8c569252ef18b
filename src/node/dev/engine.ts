/**
 * The dev node's state changes and the events they publish: accepting transactions, checking and
 * connecting blocks, mining, disconnecting for reorgs, and the fee and threshold events that follow.
 * {@link DevNode} reads through it; {@link DevControls} drives it.
 *
 * Each change is one store transaction ({@link NodeEngine.atomically}): a block is stored and
 * connected (or stored and found invalid) together, with the mempool transactions it confirms; a
 * reorg disconnects and connects all its blocks together. A crash leaves the block absent or fully
 * in; a failed write (a full disk) leaves the store, the chain and the mempool as they were, and the
 * change's events are published only once it is committed.
 *
 * Mining and connecting a block are written in steps (`steps.ts`): validation, the store's rows and
 * the events go a chunk at a time, and the block built here is checked from what building it
 * computed (its decoded transactions, its merkle roots), never decoded again. Synchronous calls
 * ({@link NodeEngine.mine}, {@link NodeEngine.processBlock}) run the steps at once. The async ones
 * ({@link NodeEngine.mineAsync}, {@link NodeEngine.processBlockAsync}, {@link NodeEngine.exclusive})
 * queue them and run them a slice of a few ms at a time (`op_queue.ts`), with a turn of the event
 * loop between slices, so that the host sharing this loop keeps serving modules while a block of
 * thousands of transactions goes in. The store transaction stays open across the turns; memory
 * changes in one step, just after the commit, so that readers meanwhile see the node as it was.
 * Operations are serialized: async ones in the order they were asked for, and a synchronous one
 * first finishes what is queued ({@link NodeEngine.drain}); so is anything else that writes to the
 * store while a transaction is open.
 *
 * The parts: the queue in `op_queue.ts`, the shared state and the atomic change in `engine_core.ts`,
 * taking blocks (connecting, switching branches) in `engine_blocks.ts`, disconnecting in
 * `engine_reorg.ts`; here, the engine's face, transactions and mining.
 *
 * @module
 */
import type { FeeEstimate, SubmitBlockResult } from "../../protocol/chain.ts";
import type { BackendEvent } from "../backend.ts";
import { AtomicChanges } from "./atomic.ts";
import type { ChainState, IndexEntry } from "./chainstate.ts";
import { processDecodedSteps, processSteps } from "./engine_blocks.ts";
import {
  announceRemovals,
  atomically,
  atomicSteps,
  emit,
  type EngineCore,
  type EngineOptions,
  poolChanged,
} from "./engine_core.ts";
import { finishReorg, rewindTo } from "./engine_reorg.ts";
import type { Mempool, PoolEntry } from "./mempool.ts";
import { COINBASE_RESERVE_WEIGHT, mineBlockSteps } from "./miner.ts";
import { OpQueue } from "./op_queue.ts";
import { PoolWatch } from "./pool_watch.ts";
import { TxRejectedError } from "./rules.ts";
import { runSteps, type Steps } from "./steps.ts";
import type { NodeStore } from "./store.ts";
import { decodeTx, MalformedDataError, type Tx } from "./tx_codec.ts";

/**
 * The dev node's state machine. Internal: use {@link DevNode}.
 *
 * @example
 * ```ts ignore
 * const engine = new NodeEngine(store, chain, pool, options);
 * engine.mine(1, true);
 * ```
 */
export class NodeEngine {
  /** The chain. */
  readonly chain: ChainState;
  /** The mempool. */
  readonly pool: Mempool;
  readonly #core: EngineCore;

  /**
   * Wrap loaded state.
   *
   * @param store The store.
   * @param chain The loaded chain.
   * @param pool The loaded mempool.
   * @param opts Settings.
   */
  constructor(store: NodeStore, chain: ChainState, pool: Mempool, opts: EngineOptions) {
    this.chain = chain;
    this.pool = pool;
    this.#core = {
      store,
      chain,
      pool,
      opts,
      changes: new AtomicChanges(store, chain, pool),
      queue: new OpQueue(),
      watch: new PoolWatch(chain, pool, opts),
      poolVersion: 0,
      largeCommit: false,
    };
    // Anything else that writes (the wallet, a checkpoint) while an async operation is paused with its
    // transaction open first lets the operation finish.
    store.beforeInterleavedWrite(() => this.drain());
  }

  /**
   * Whether async operations are queued or running.
   *
   * @example
   * ```ts ignore
   * if (!engine.busy) engine.acceptTx(bytes);
   * ```
   */
  get busy(): boolean {
    return this.#core.queue.busy;
  }

  /**
   * Run every queued async operation to the end, now, synchronously. Each synchronous operation does
   * this first, so operations take effect (and publish their events) in the order they were asked
   * for. Called from inside a running operation (an event listener), it does nothing: the caller's
   * own change goes ahead, as it would inside a synchronous operation.
   *
   * @example
   * ```ts ignore
   * const pending = engine.mineAsync(1, true);
   * engine.drain(); // the block is mined; `pending` resolves with it
   * ```
   */
  drain(): void {
    this.#core.queue.drain();
  }

  /**
   * Queue an operation in steps; it runs after those queued before it, a slice at a time, giving the
   * event loop a turn between slices.
   *
   * @param start Starts the steps when the operation's turn comes.
   * @returns What the operation returned.
   *
   * @example
   * ```ts ignore
   * const entries = await engine.enqueue(() => mineSteps(1));
   * ```
   */
  enqueue<T>(start: () => Steps<T>): Promise<T> {
    return this.#core.queue.enqueue(start);
  }

  /**
   * Run `fn` as soon as nothing else is queued: now if the engine is idle, otherwise as a queued
   * operation of one step.
   *
   * @param fn The operation.
   * @returns What it returned.
   *
   * @example
   * ```ts ignore
   * const entry = await engine.exclusive(() => engine.acceptTx(bytes));
   * ```
   */
  exclusive<T>(fn: () => T): Promise<T> {
    return this.#core.queue.exclusive(fn);
  }

  /**
   * Be told about every event, in order.
   *
   * @param listener Called synchronously; a listener that throws is logged and skipped.
   * @returns A function that removes the listener.
   */
  onEvent(listener: (event: BackendEvent) => void): () => void {
    return this.#core.changes.onEvent(listener);
  }

  /**
   * Run `fn` as one store transaction (nested calls join the outer one). Its events are published
   * after the commit. If it throws, the store rolls back, the chain and the mempool are read back
   * from the store, none of its events is published, and the error that caused it is rethrown.
   *
   * @param fn The change.
   * @returns What `fn` returned.
   * @throws {StoreWriteError} if the store could not be written; whatever `fn` threw otherwise.
   *
   * @example
   * ```ts ignore
   * engine.atomically(() => {
   *   engine.rewind(fork);
   *   engine.mine(2, false);
   * }); // both or neither; the events after the commit
   * ```
   */
  atomically<T>(fn: () => T): T {
    return atomically(this.#core, fn);
  }

  /** The node's clock, seconds. */
  clock(): number {
    return this.#core.opts.clock();
  }

  /** Drop every listener. */
  clearListeners(): void {
    this.#core.changes.clearListeners();
  }

  /** What the next block takes from the mempool. */
  select(): PoolEntry[] {
    return this.pool.select(this.#core.opts.blockMaxWeight - COINBASE_RESERVE_WEIGHT);
  }

  templateBuilt(txCount: number): void {
    const tip = this.chain.tip();
    if (this.#core.template?.tip === tip.hash && this.#core.template.version === this.#core.poolVersion) return;
    this.#core.template = { tip: tip.hash, version: this.#core.poolVersion };
    emit(this.#core, {
      type: "BlockTemplateUpdated",
      payload: { prev_hash: tip.hash, height: tip.height + 1, tx_count: txCount },
    });
  }

  /** Decode, check and accept a transaction, publishing its events. */
  acceptTx(bytes: Uint8Array): ReturnType<Mempool["accept"]>["entry"] {
    return this.atomically(() => this.#acceptTx(bytes));
  }

  /**
   * {@link NodeEngine.acceptTx} after the queued operations: at once if there are none.
   *
   * @param bytes The transaction.
   * @returns The new mempool entry.
   *
   * @example
   * ```ts ignore
   * const entry = await engine.acceptTxAsync(bytes);
   * ```
   */
  acceptTxAsync(bytes: Uint8Array): Promise<ReturnType<Mempool["accept"]>["entry"]> {
    return this.exclusive(() => this.acceptTx(bytes));
  }

  #acceptTx(bytes: Uint8Array): ReturnType<Mempool["accept"]>["entry"] {
    let tx: Tx;
    try {
      tx = decodeTx(bytes);
    } catch (e) {
      if (e instanceof MalformedDataError) throw new TxRejectedError("malformed", null, e.message);
      throw e;
    }
    const { entry, evicted } = this.pool.accept(tx, this.#core.opts.clock());
    this.#core.poolVersion++;
    announceRemovals(this.#core, evicted, 1);
    const payload = { tx_hash: tx.txid };
    emit(this.#core, { type: "NewTransaction", payload });
    emit(this.#core, {
      type: "MempoolTransactionAdded",
      payload: {
        ...payload,
        fee_rate: entry.feeRate,
        vsize: tx.vsize,
        fee_sats: entry.fee,
        mempool_size: this.pool.size,
      },
    });
    poolChanged(this.#core);
    return entry;
  }

  /** Check, store and, if it is the best chain, connect a block: one store transaction. */
  processBlock(bytes: Uint8Array, mined: boolean): SubmitBlockResult {
    return this.#core.queue.sync(() => runSteps(processSteps(this.#core, bytes, mined)));
  }

  /**
   * {@link NodeEngine.processBlock}, queued and in steps: decoding, validation, the store's rows and
   * the events a chunk at a time (a reorg it causes runs in one step).
   *
   * @param bytes The serialized block.
   * @returns The result.
   *
   * @example
   * ```ts ignore
   * const r = await engine.processBlockAsync(bytes);
   * ```
   */
  processBlockAsync(bytes: Uint8Array): Promise<SubmitBlockResult> {
    return this.enqueue(() => processSteps(this.#core, bytes, false));
  }

  /** Mine `count` blocks on the tip, each in its own store transaction (or the caller's). */
  mine(count: number, withMempool: boolean, payout?: Uint8Array): IndexEntry[] {
    return this.#core.queue.sync(() => runSteps(this.#mineSteps(count, withMempool, payout)));
  }

  /**
   * {@link NodeEngine.mine}, queued and in steps: each block's validation, rows and events go a chunk
   * at a time, giving the event loop a turn between slices.
   *
   * @param count Blocks to mine.
   * @param withMempool Take mempool transactions.
   * @param payout The coinbases' output script; default the configured one.
   * @returns The new tips, one per block.
   *
   * @example
   * ```ts ignore
   * const [entry] = await engine.mineAsync(1, true);
   * ```
   */
  mineAsync(count: number, withMempool: boolean, payout?: Uint8Array): Promise<IndexEntry[]> {
    return this.enqueue(() => this.#mineSteps(count, withMempool, payout));
  }

  *#mineSteps(count: number, withMempool: boolean, payout?: Uint8Array): Steps<IndexEntry[]> {
    const out: IndexEntry[] = [];
    for (let i = 0; i < count; i++) {
      out.push(yield* atomicSteps(this.#core, () => this.#mineOneSteps(withMempool, payout)));
    }
    return out;
  }

  *#mineOneSteps(withMempool: boolean, payout?: Uint8Array): Steps<IndexEntry> {
    const tip = this.chain.tip();
    const chosen = withMempool ? this.select() : [];
    this.templateBuilt(chosen.length);
    const extraNonce = Number(this.#core.store.meta("extra_nonce") ?? "0");
    this.#core.store.setMeta("extra_nonce", String(extraNonce + 1));
    yield;
    const block = yield* mineBlockSteps({
      prevHash: tip.hash,
      height: tip.height + 1,
      time: Math.max(this.#core.opts.clock(), this.chain.medianTime() + 1),
      txs: chosen.map((e) => e.tx),
      fees: chosen.reduce((n, e) => n + e.fee, 0),
      payout: payout ?? this.#core.opts.payout,
      extraNonce,
    });
    yield;
    // The block is checked like any other, from what building it computed: its transactions are
    // not decoded again, nor its merkle roots hashed again.
    const known = { merkleRoot: block.header.merkle_root, witnessRoot: block.witnessRoot };
    const r = yield* processDecodedSteps(this.#core, block, block.bytes, true, known);
    if (r.status !== "accepted") throw new Error(`The dev node rejected its own block ${block.hash}: ${r.reason}`);
    // The new tip (memory may follow only after the commit).
    return this.chain.entry(block.hash)!;
  }

  /** Disconnect blocks down to `fork`, returning their transactions to the mempool. */
  rewind(fork: IndexEntry): IndexEntry[] {
    return this.atomically(() => rewindTo(this.#core, fork));
  }

  /**
   * Publish `ChainReorg` from `before` to the tip, if the tip moved off `before`'s branch.
   *
   * @param before The tip before the reorg.
   */
  finishReorg(before: IndexEntry): void {
    finishReorg(this.#core, before);
  }

  /** The next-block fee estimate, sat/vB. */
  nextBlockFee(): number {
    return this.#core.watch.nextBlockFee();
  }

  /** The fee estimate for a confirmation target of `target` blocks. */
  estimate(target: number): FeeEstimate {
    return this.#core.watch.estimate(target);
  }
}
