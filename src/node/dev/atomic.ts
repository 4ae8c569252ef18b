/**
 * How the dev node makes a change atomic: one store transaction, its events published only once it
 * is committed, and, if it fails, memory read back from the store so that the chain and the mempool
 * match the file again (SQLite rolled the file back; the objects in memory had already moved).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { BackendEvent } from "../backend.ts";
import type { ChainState } from "./chainstate.ts";
import type { Mempool } from "./mempool.ts";
import type { NodeStore } from "./store.ts";
import { runSteps, singleStep, type Steps, TURN } from "./steps.ts";

/** Events delivered between two yields of {@link AtomicChanges.runSteps}. */
const DELIVER_CHUNK = 100;

/**
 * The listeners of a dev node and the changes they are told about. Internal: {@link NodeEngine} uses
 * it; modules see the events through `DevNode.onEvent`.
 *
 * @example
 * ```ts ignore
 * const changes = new AtomicChanges(store, chain, pool);
 * changes.onEvent((e) => console.log(e.type));
 * changes.run(() => { changes.emit(event); store.putBlock(header, raw); }); // logs after the commit
 * ```
 */
export class AtomicChanges {
  readonly #store: NodeStore;
  readonly #chain: ChainState;
  readonly #pool: Mempool;
  readonly #listeners = new Set<(e: BackendEvent) => void>();
  readonly #log = getLogger(["blvm", "devnode"]);
  /** Events of the change in progress, published when it commits. */
  #held?: BackendEvent[];
  /** Changes in progress: the outermost and those nested in it. */
  #depth = 0;
  /** Memory changes waiting for the outermost change's commit ({@link AtomicChanges.afterCommit}). */
  readonly #after: (() => void)[] = [];

  /**
   * Wrap the node's state.
   *
   * @param store The store.
   * @param chain The chain kept in memory.
   * @param pool The mempool kept in memory.
   */
  constructor(store: NodeStore, chain: ChainState, pool: Mempool) {
    this.#store = store;
    this.#chain = chain;
    this.#pool = pool;
  }

  /**
   * Be told about every event, in order.
   *
   * @param listener Called synchronously; a listener that throws is logged and skipped.
   * @returns A function that removes the listener.
   */
  onEvent(listener: (event: BackendEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Drop every listener. */
  clearListeners(): void {
    this.#listeners.clear();
  }

  /**
   * Publish `event`: now, or, during {@link AtomicChanges.run}, once its transaction commits.
   *
   * @param event The event.
   */
  emit(event: BackendEvent): void {
    if (this.#held) this.#held.push(event);
    else this.#deliver(event);
  }

  /**
   * Run `fn` as one store transaction (a nested call joins the outer one). Its events are published
   * after the commit. If it throws, the store rolls back, the chain and the mempool are read back from
   * the store, `undo` restores what else the caller keeps, none of the events is published, and the
   * error that caused it is rethrown.
   *
   * @param fn The change.
   * @param undo Called after a failure, with memory reloaded.
   * @returns What `fn` returned.
   * @throws {StoreWriteError} if the store could not be written; whatever `fn` threw otherwise.
   */
  run<T>(fn: () => T, undo: () => void): T {
    return runSteps(this.runSteps(singleStep(fn), undo));
  }

  /**
   * {@link AtomicChanges.run} for work in steps: the store transaction stays open across the work's
   * yields ({@link NodeStore.atomicallySteps}), and after the commit the events are delivered a chunk
   * at a time, yielding between chunks.
   *
   * @param steps The change.
   * @param undo Called after a failure, with memory reloaded.
   * @returns Steps returning what the change returned.
   * @throws {StoreWriteError} if the store could not be written; whatever the change threw otherwise.
   *
   * @example
   * ```ts ignore
   * const entry = yield* changes.runSteps(mineSteps(), restore);
   * ```
   */
  *runSteps<T>(steps: Steps<T>, undo: () => void): Steps<T> {
    this.#depth++;
    try {
      if (this.#held) return yield* steps;
      return yield* this.#outermost(steps, undo);
    } finally {
      this.#depth--;
    }
  }

  /**
   * Have `fn` change memory right after the commit of the change in progress, in a step of its own,
   * with its events published after the change's own, if that change is not nested in another
   * (whose later parts would read memory); otherwise run it now. Until it runs, readers see memory as
   * it was before the change, all of it: the store's new rows are reached only through memory.
   *
   * @param fn Changes memory to match what the change wrote; it must not fail.
   *
   * @example
   * ```ts ignore
   * changes.afterCommit(() => { chain.apply(); pool.apply(); emit(...); });
   * ```
   */
  afterCommit(fn: () => void): void {
    if (this.#depth === 1) this.#after.push(fn);
    else fn();
  }

  *#outermost<T>(steps: Steps<T>, undo: () => void): Steps<T> {
    const held: BackendEvent[] = this.#held = [];
    let out: T;
    try {
      out = yield* this.#store.atomicallySteps(steps);
    } catch (e) {
      this.#held = undefined;
      this.#after.length = 0;
      this.#reload(e);
      undo();
      throw e;
    }
    const after = this.#after.splice(0);
    if (after.length > 0) {
      yield TURN;
      try {
        for (const fn of after) fn();
      } catch (e) {
        // Committed, but memory could not follow: read it back from the store.
        this.#held = undefined;
        this.#reload(e);
        throw e;
      }
    }
    this.#held = undefined;
    for (let i = 0; i < held.length; i++) {
      if (i > 0 && i % DELIVER_CHUNK === 0) yield;
      this.#deliver(held[i]);
    }
    return out;
  }

  /** After a rolled-back transaction: make memory match the store again. */
  #reload(cause: unknown): void {
    try {
      this.#chain.reload();
      for (const { txid, error } of this.#pool.restore()) {
        this.#log.warn("Dropped stored mempool transaction {txid}: {error}", { txid, error: String(error) });
      }
    } catch (e) {
      this.#log.error("Could not reload the dev node's state after a failed write ({cause}): {error}", {
        cause: String(cause),
        error: String(e),
      });
    }
  }

  #deliver(event: BackendEvent): void {
    for (const l of [...this.#listeners]) {
      try {
        l(event);
      } catch (e) {
        this.#log.error("An event listener threw on {type}: {error}", { type: event.type, error: String(e) });
      }
    }
  }
}
