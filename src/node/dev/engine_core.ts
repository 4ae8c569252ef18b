/**
 * The dev node engine's state, shared by its parts (`engine.ts`, `engine_blocks.ts`,
 * `engine_reorg.ts`), and what every change goes through: one store transaction whose events are
 * published after the commit ({@link atomically}), and the mempool events that follow it. Internal.
 *
 * @module
 */
import type { BackendEvent } from "../backend.ts";
import type { AtomicChanges } from "./atomic.ts";
import type { ChainState } from "./chainstate.ts";
import type { Mempool, Removal } from "./mempool.ts";
import type { OpQueue } from "./op_queue.ts";
import type { PoolWatch } from "./pool_watch.ts";
import { runSteps, singleStep, type Steps } from "./steps.ts";
import type { NodeStore } from "./store.ts";

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

/** The engine's state. */
export interface EngineCore {
  /** The store. */
  readonly store: NodeStore;
  /** The chain. */
  readonly chain: ChainState;
  /** The mempool. */
  readonly pool: Mempool;
  /** Settings. */
  readonly opts: EngineOptions;
  /** The listeners, and the store transaction of the change in progress. */
  readonly changes: AtomicChanges;
  /** The operations, serialized. */
  readonly queue: OpQueue;
  /** Fee estimates and what was last announced about the mempool. */
  readonly watch: PoolWatch;
  /** The block template last announced: for which tip and mempool version. */
  template?: { tip: string; version: number };
  /** Counts changes to the mempool, so that a template is announced again only after one. */
  poolVersion: number;
  /** An async operation is connecting a large block: checkpoint in the background after its commit. */
  largeCommit: boolean;
}

/**
 * Run `fn` as one store transaction, after the queued operations (nested calls join the outer one);
 * see `NodeEngine.atomically`.
 *
 * @param core The engine.
 * @param fn The change.
 * @returns What `fn` returned.
 */
export function atomically<T>(core: EngineCore, fn: () => T): T {
  return core.queue.sync(() => runSteps(atomicSteps(core, () => singleStep(fn))));
}

/**
 * {@link atomically} for steps; the transaction stays open across their yields.
 *
 * @param core The engine.
 * @param start Starts the change's steps.
 * @returns Steps returning what the change returned.
 */
export function* atomicSteps<T>(core: EngineCore, start: () => Steps<T>): Steps<T> {
  const [restore, template, version] = [core.watch.saved(), core.template, core.poolVersion];
  const out = yield* core.changes.runSteps(start(), () => {
    restore();
    [core.template, core.poolVersion] = [template, version];
  });
  if (core.largeCommit) {
    core.largeCommit = false;
    core.store.checkpointInBackground();
  }
  return out;
}

/**
 * Publish an event (after the commit of the change in progress).
 *
 * @param core The engine.
 * @param event The event.
 */
export function emit(core: EngineCore, event: BackendEvent): void {
  core.changes.emit(event);
}

/**
 * `MempoolTransactionRemoved` for each removal; `pending` transactions already added are not counted yet.
 *
 * @param core The engine.
 * @param removed The removals, in order.
 * @param pending Transactions in the mempool whose `MempoolTransactionAdded` is still to come.
 */
export function announceRemovals(core: EngineCore, removed: readonly Removal[], pending = 0): void {
  let size = core.pool.size - pending + removed.length;
  for (const r of removed) {
    emit(core, {
      type: "MempoolTransactionRemoved",
      payload: { tx_hash: r.entry.tx.txid, reason: r.reason, mempool_size: --size },
    });
  }
}

/**
 * Threshold and fee-rate events after the mempool or the tip changed.
 *
 * @param core The engine.
 */
export function poolChanged(core: EngineCore): void {
  core.watch.changed((e) => emit(core, e));
}
