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
 * queue them and run them a slice of about {@link SLICE_MS} ms at a time, with a turn of the event
 * loop between slices, so that the host sharing this loop keeps serving modules while a block of
 * thousands of transactions goes in. The store transaction stays open across the turns; memory
 * changes in one step, just after the commit, so that readers meanwhile see the node as it was.
 * Operations are serialized: async ones in the order they were asked for, and a synchronous one
 * first finishes what is queued ({@link NodeEngine.drain}); so is anything else that writes to the
 * store while a transaction is open.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { FeeEstimate, SubmitBlockResult } from "../../protocol/chain.ts";
import type { BackendEvent } from "../backend.ts";
import { sha256d, toHex } from "../header.ts";
import type { KnownRoots } from "./block_rules.ts";
import { BlockRejectedError, type ChainState, type IndexEntry, type PendingConnect } from "./chainstate.ts";
import { decodeBlockSteps, type DecodedBlock } from "./block_codec.ts";
import { decodeTx, MalformedDataError, type Tx } from "./tx_codec.ts";
import { PoolWatch } from "./pool_watch.ts";
import type { Mempool, PoolEntry, Removal } from "./mempool.ts";
import { COINBASE_RESERVE_WEIGHT, mineBlockSteps } from "./miner.ts";
import { CONSENSUS } from "./params.ts";
import { TxRejectedError } from "./rules.ts";
import type { NodeStore } from "./store.ts";
import { AtomicChanges } from "./atomic.ts";
import { runSteps, singleStep, type StepHint, type Steps, TURN } from "./steps.ts";

/**
 * How long an async operation runs before it gives the event loop a turn, ms. Its steps are small
 * (a chunk of transactions, of rows or of events), so a slice ends soon after.
 */
const SLICE_MS = 4;

/**
 * Transactions from which a block connected by an async operation has the store's log checkpointed
 * by a worker thread ({@link NodeStore.checkpointInBackground}) rather than by SQLite in its commit.
 */
const LARGE_BLOCK_TXS = 100;

/** An operation waiting in the engine's queue, or running a slice at a time. */
interface Job {
  /** Starts the operation's steps (when its turn comes, so it sees the state as it is then). */
  start: () => Steps<unknown>;
  steps?: Steps<unknown>;
  done: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The engine's settings, defaults applied. */
export interface EngineOptions {
  /** Mempool size above which `MempoolThresholdExceeded` is published. */
  mempoolThreshold: number;
  /** Largest block weight mined and assumed by the fee estimator. */
  blockMaxWeight: number;
  /** Recent blocks the fee estimator learns from. */
  feeHistoryBlocks: number;
  /** Seconds since the epoch. */
  clock: () => number;
  /** Where coinbases pay. */
  payout: Uint8Array;
}

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
  readonly #store: NodeStore;
  readonly #opts: EngineOptions;
  readonly #changes: AtomicChanges;
  readonly #log = getLogger(["blvm", "devnode"]);
  readonly #watch: PoolWatch;
  #template?: { tip: string; version: number };
  #poolVersion = 0;
  /** Async operations, oldest first; the first is the one running. */
  readonly #jobs: Job[] = [];
  /** A job's step is running: synchronous calls from inside it (event listeners) go ahead. */
  #stepping = false;
  /** Synchronous operations running (nested ones join the outer one). */
  #syncDepth = 0;
  #pumping = false;
  /** The pump's wait for the next turn of the event loop: its timer, and how to end the wait early. */
  #turn?: { timer: ReturnType<typeof setTimeout>; wake: () => void };
  /** An async operation is connecting a large block: checkpoint in the background after its commit. */
  #largeCommit = false;

  /**
   * Wrap loaded state.
   *
   * @param store The store.
   * @param chain The loaded chain.
   * @param pool The loaded mempool.
   * @param opts Settings.
   */
  constructor(store: NodeStore, chain: ChainState, pool: Mempool, opts: EngineOptions) {
    this.#store = store;
    this.chain = chain;
    this.pool = pool;
    this.#opts = opts;
    this.#changes = new AtomicChanges(store, chain, pool);
    this.#watch = new PoolWatch(chain, pool, opts);
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
    return this.#jobs.length > 0;
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
    if (this.#stepping || this.#syncDepth > 0) return;
    while (this.#jobs.length > 0) {
      const job = this.#jobs[0];
      while (!job.done) this.#step(job);
      this.#jobs.shift();
    }
    // Nothing left for the pump to wait for: end its wait now rather than leave a timer behind.
    if (this.#turn) {
      clearTimeout(this.#turn.timer);
      this.#turn.wake();
    }
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
    return new Promise<T>((resolve, reject) => {
      this.#jobs.push({ start, done: false, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#pumping) void this.#pump();
    });
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
    if (this.#jobs.length > 0) return this.enqueue(() => singleStep(fn));
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#jobs.length > 0) {
        await this.#nextTurn();
        const t0 = performance.now();
        while (this.#jobs.length > 0 && performance.now() - t0 < SLICE_MS) {
          const job = this.#jobs[0];
          if (this.#step(job) === TURN) break;
          if (job.done) this.#jobs.shift();
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * A turn of the event loop: timers and I/O run before it resolves. A timer, not `setImmediate` or
   * a `MessageChannel`: with those pending, Deno's event loop does not wait, and its I/O driver (the
   * sockets modules call over) is polled only every few dozen turns.
   */
  #nextTurn(): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.#turn = undefined;
        resolve();
      };
      this.#turn = { timer: setTimeout(wake, 0), wake };
    });
  }

  /** Run one step of `job`; what it yielded. */
  #step(job: Job): StepHint {
    this.#stepping = true;
    try {
      job.steps ??= job.start();
      const r = job.steps.next();
      if (!r.done) return r.value;
      job.done = true;
      job.resolve(r.value);
    } catch (e) {
      job.done = true;
      job.reject(e);
    } finally {
      this.#stepping = false;
    }
  }

  /** A synchronous operation: queued ones finish first. */
  #sync<T>(fn: () => T): T {
    this.drain();
    this.#syncDepth++;
    try {
      return fn();
    } finally {
      this.#syncDepth--;
    }
  }

  /**
   * Be told about every event, in order.
   *
   * @param listener Called synchronously; a listener that throws is logged and skipped.
   * @returns A function that removes the listener.
   */
  onEvent(listener: (event: BackendEvent) => void): () => void {
    return this.#changes.onEvent(listener);
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
    return this.#sync(() => runSteps(this.#atomicSteps(() => singleStep(fn))));
  }

  /** {@link NodeEngine.atomically} for steps; the transaction stays open across their yields. */
  *#atomicSteps<T>(start: () => Steps<T>): Steps<T> {
    const [restore, template, version] = [this.#watch.saved(), this.#template, this.#poolVersion];
    const out = yield* this.#changes.runSteps(start(), () => {
      restore();
      [this.#template, this.#poolVersion] = [template, version];
    });
    if (this.#largeCommit) {
      this.#largeCommit = false;
      this.#store.checkpointInBackground();
    }
    return out;
  }

  /** The node's clock, seconds. */
  clock(): number {
    return this.#opts.clock();
  }

  /** Drop every listener. */
  clearListeners(): void {
    this.#changes.clearListeners();
  }

  /** What the next block takes from the mempool. */
  select(): PoolEntry[] {
    return this.pool.select(this.#opts.blockMaxWeight - COINBASE_RESERVE_WEIGHT);
  }

  templateBuilt(txCount: number): void {
    const tip = this.chain.tip();
    if (this.#template?.tip === tip.hash && this.#template.version === this.#poolVersion) return;
    this.#template = { tip: tip.hash, version: this.#poolVersion };
    this.#emit({
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
    const { entry, evicted } = this.pool.accept(tx, this.#opts.clock());
    this.#poolVersion++;
    this.#announceRemovals(evicted, 1);
    const payload = { tx_hash: tx.txid };
    this.#emit({ type: "NewTransaction", payload });
    this.#emit({
      type: "MempoolTransactionAdded",
      payload: {
        ...payload,
        fee_rate: entry.feeRate,
        vsize: tx.vsize,
        fee_sats: entry.fee,
        mempool_size: this.pool.size,
      },
    });
    this.#poolChanged();
    return entry;
  }

  /** Check, store and, if it is the best chain, connect a block: one store transaction. */
  processBlock(bytes: Uint8Array, mined: boolean): SubmitBlockResult {
    return this.#sync(() => runSteps(this.#processSteps(bytes, mined)));
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
    return this.enqueue(() => this.#processSteps(bytes, false));
  }

  *#processSteps(bytes: Uint8Array, mined: boolean): Steps<SubmitBlockResult> {
    let block: DecodedBlock;
    try {
      block = yield* decodeBlockSteps(bytes);
    } catch (e) {
      const hash = bytes.length >= 80 ? toHex(sha256d(bytes.subarray(0, 80)).reverse()) : null;
      return { status: "rejected", hash, reason: `malformed: ${(e as Error).message}` };
    }
    return yield* this.#atomicSteps(() => this.#processDecodedSteps(block, bytes, mined));
  }

  /**
   * Store and connect a decoded block. From the last yield of connecting it to the end there is none:
   * memory changes together with the commit.
   */
  *#processDecodedSteps(
    block: DecodedBlock,
    bytes: Uint8Array,
    mined: boolean,
    known?: KnownRoots,
  ): Steps<SubmitBlockResult> {
    const seen = this.chain.entry(block.hash);
    if (seen) {
      return seen.status === "invalid"
        ? { status: "rejected", hash: block.hash, reason: "duplicate-invalid: the block is known to be invalid" }
        : { status: "duplicate", hash: block.hash, reason: null };
    }
    let entry: IndexEntry;
    try {
      entry = this.chain.accept(block, bytes, this.#opts.clock(), known);
    } catch (e) {
      if (!(e instanceof BlockRejectedError)) throw e;
      const height = (this.chain.entry(block.header.prev_hash)?.height ?? -1) + 1;
      this.#validated(block.hash, height, performance.now(), e.message);
      return { status: "rejected", hash: block.hash, reason: e.message };
    }
    const tip = this.chain.tip();
    if (entry.header.prev_hash === tip.hash) {
      yield;
      const error = yield* this.#connectSteps(entry, mined, block, true);
      return error
        ? { status: "rejected", hash: entry.hash, reason: error }
        : { status: "accepted", hash: entry.hash, reason: null };
    }
    if (entry.work <= tip.work) {
      return {
        status: "inconclusive",
        hash: entry.hash,
        reason: "stored on a side branch with no more work than the tip",
      };
    }
    this.#reorgToBest(tip);
    if (this.chain.onMain(entry.hash)) return { status: "accepted", hash: entry.hash, reason: null };
    return this.chain.best().hash === this.chain.tip().hash && !this.chain.valid(entry)
      ? { status: "rejected", hash: entry.hash, reason: "its branch failed validation; see BlockValidationCompleted" }
      : { status: "inconclusive", hash: entry.hash, reason: "stored on a side branch that is not the best chain" };
  }

  /** Validate and connect a child of the tip, in one go, memory included; the error message if it failed. */
  #connect(entry: IndexEntry, mined: boolean, block?: DecodedBlock): string | undefined {
    return runSteps(this.#connectSteps(entry, mined, block, false));
  }

  /**
   * Validate and connect a child of the tip; the error message if it failed. Validation and the
   * store's rows (the chain's, then the mempool's) go a chunk at a time; then, with no yield until the
   * commit that follows, memory changes and the events are published.
   */
  *#connectSteps(
    entry: IndexEntry,
    mined: boolean,
    block: DecodedBlock | undefined,
    deferrable: boolean,
  ): Steps<string | undefined> {
    const t0 = performance.now();
    if (this.#stepping && block && block.txs.length >= LARGE_BLOCK_TXS) {
      // Clear the log now, so that this block's commit does not find it full and checkpoint it there.
      this.#store.checkpointInBackground();
      this.#largeCommit = true;
    }
    this.#emit({ type: "BlockValidationStarted", payload: { block_hash: entry.hash, height: entry.height } });
    let pending: PendingConnect;
    try {
      pending = yield* this.chain.connectSteps(entry, (w) => this.pool.verified(w), block);
    } catch (e) {
      if (!(e instanceof BlockRejectedError)) throw e;
      this.#validated(entry.hash, entry.height, t0, e.message, false);
      return e.message;
    }
    const plan = yield* this.pool.planBlockRemovalSteps(pending.connected.txs);
    yield* this.pool.forgetSteps(plan);
    // The commit that follows starts a slice of its own.
    yield TURN;
    // Memory follows in one step: after the commit if this block is the whole change (readers see
    // the node as it was until then), now if more of the change follows (a reorg).
    const apply = () => {
      pending.apply();
      this.pool.applyRemovals(plan);
      this.#validated(entry.hash, entry.height, t0, null, false);
      const { hash, height, header } = pending.connected.entry;
      this.#emit({ type: "NewBlock", payload: { hash, height, prev_hash: header.prev_hash, time: header.time } });
      this.#announceRemovals(plan.removals);
      this.#poolVersion++;
      if (mined) this.#emit({ type: "BlockMined", payload: { block_hash: hash, height, miner_id: "devnode" } });
      this.#poolChanged();
    };
    if (deferrable) this.#changes.afterCommit(apply);
    else apply();
    return undefined;
  }

  #validated(hash: string, height: number, t0: number, error: string | null, started = true): void {
    if (started) this.#emit({ type: "BlockValidationStarted", payload: { block_hash: hash, height } });
    this.#emit({
      type: "BlockValidationCompleted",
      payload: {
        block_hash: hash,
        height,
        success: error === null,
        validation_time_ms: Math.round(performance.now() - t0),
        error,
      },
    });
  }

  /** Mine `count` blocks on the tip, each in its own store transaction (or the caller's). */
  mine(count: number, withMempool: boolean, payout?: Uint8Array): IndexEntry[] {
    return this.#sync(() => runSteps(this.#mineSteps(count, withMempool, payout)));
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
      out.push(yield* this.#atomicSteps(() => this.#mineOneSteps(withMempool, payout)));
    }
    return out;
  }

  *#mineOneSteps(withMempool: boolean, payout?: Uint8Array): Steps<IndexEntry> {
    const tip = this.chain.tip();
    const chosen = withMempool ? this.select() : [];
    this.templateBuilt(chosen.length);
    const extraNonce = Number(this.#store.meta("extra_nonce") ?? "0");
    this.#store.setMeta("extra_nonce", String(extraNonce + 1));
    yield;
    const block = yield* mineBlockSteps({
      prevHash: tip.hash,
      height: tip.height + 1,
      time: Math.max(this.#opts.clock(), this.chain.medianTime() + 1),
      txs: chosen.map((e) => e.tx),
      fees: chosen.reduce((n, e) => n + e.fee, 0),
      payout: payout ?? this.#opts.payout,
      extraNonce,
    });
    yield;
    // The block is checked like any other, from what building it computed: its transactions are
    // not decoded again, nor its merkle roots hashed again.
    const known = { merkleRoot: block.header.merkle_root, witnessRoot: block.witnessRoot };
    const r = yield* this.#processDecodedSteps(block, block.bytes, true, known);
    if (r.status !== "accepted") throw new Error(`The dev node rejected its own block ${block.hash}: ${r.reason}`);
    // The new tip (memory may follow only after the commit).
    return this.chain.entry(block.hash)!;
  }

  /** Disconnect blocks down to `fork`, returning their transactions to the mempool. */
  rewind(fork: IndexEntry): IndexEntry[] {
    return this.atomically(() => this.#rewind(fork));
  }

  #rewind(fork: IndexEntry): IndexEntry[] {
    const disconnected: IndexEntry[] = [];
    const returned: Tx[][] = [];
    while (this.chain.tip().hash !== fork.hash) {
      const { entry, txs } = this.chain.disconnectTip();
      disconnected.push(entry);
      returned.unshift(txs.slice(1));
      this.#emit({ type: "BlockDisconnected", payload: { hash: entry.hash, height: entry.height } });
    }
    for (const tx of returned.flat()) {
      try {
        const { entry, evicted } = this.pool.accept(tx, this.#opts.clock());
        this.#announceRemovals(evicted, 1);
        this.#emit({
          type: "MempoolTransactionAdded",
          payload: {
            tx_hash: tx.txid,
            fee_rate: entry.feeRate,
            vsize: tx.vsize,
            fee_sats: entry.fee,
            mempool_size: this.pool.size,
          },
        });
      } catch (e) {
        if (!(e instanceof TxRejectedError)) throw e;
        this.#log.info("Disconnected transaction {txid} did not return to the mempool: {error}", {
          txid: tx.txid,
          error: e.message,
        });
      }
    }
    this.#announceRemovals(this.#dropInvalid());
    this.#poolVersion++;
    return disconnected;
  }

  /** After a rewind: mempool transactions whose inputs are gone or immature now. */
  #dropInvalid(): Removal[] {
    const out: Removal[] = [];
    const spendHeight = this.chain.tip().height + 1;
    for (const e of [...this.pool.entries()]) {
      if (!this.pool.get(e.tx.txid)) continue;
      const ok = e.tx.inputs.every((i) => {
        if (e.parents.has(i.txid)) return true;
        const c = this.chain.coin(i.txid, i.vout);
        if (c) return !c.coinbase || spendHeight - c.height >= CONSENSUS.coinbaseMaturity;
        // Its parent was disconnected and is back in the mempool: it now depends on it there.
        return this.pool.link(e.tx.txid, i.txid, i.vout);
      });
      if (!ok) out.push(...this.pool.remove(e.tx.txid, "reorg"));
    }
    return out;
  }

  /**
   * Switch to the valid branch with the most work. If a block of it fails, it is marked invalid and
   * the node switches to the best valid branch again (the old chain, first seen, on equal work).
   * One `ChainReorg` from `before` to where the node ends up.
   */
  #reorgToBest(before: IndexEntry): void {
    for (let best = this.chain.best(); best.hash !== this.chain.tip().hash; best = this.chain.best()) {
      this.rewind(this.chain.fork(best));
      for (const e of this.chain.branch(best)) {
        if (this.#connect(e, false) !== undefined) break;
      }
    }
    this.finishReorg(before);
  }

  /**
   * Publish `ChainReorg` from `before` to the tip, if the tip moved off `before`'s branch.
   *
   * @param before The tip before the reorg.
   */
  finishReorg(before: IndexEntry): void {
    const after = this.chain.tip();
    if (after.hash === before.hash) return;
    const fork = this.chain.fork(before);
    const disconnected = before.height - fork.height;
    this.#emit({
      type: "ChainReorg",
      payload: {
        old_tip: before.hash,
        new_tip: after.hash,
        fork_height: fork.height,
        disconnected,
        connected: after.height - fork.height,
      },
    });
    this.#poolChanged();
  }

  /** `MempoolTransactionRemoved` for each removal; `pending` transactions already added are not counted yet. */
  #announceRemovals(removed: readonly Removal[], pending = 0): void {
    let size = this.pool.size - pending + removed.length;
    for (const r of removed) {
      this.#emit({
        type: "MempoolTransactionRemoved",
        payload: { tx_hash: r.entry.tx.txid, reason: r.reason, mempool_size: --size },
      });
    }
  }

  /** Threshold and fee-rate events after the mempool or the tip changed. */
  #poolChanged(): void {
    this.#watch.changed((e) => this.#emit(e));
  }

  /** The next-block fee estimate, sat/vB. */
  nextBlockFee(): number {
    return this.#watch.nextBlockFee();
  }

  /** The fee estimate for a confirmation target of `target` blocks. */
  estimate(target: number): FeeEstimate {
    return this.#watch.estimate(target);
  }

  #emit(event: BackendEvent): void {
    this.#changes.emit(event);
  }
}
