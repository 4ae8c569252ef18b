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
    if (this.#held) return fn();
    const held: BackendEvent[] = this.#held = [];
    let committed = false;
    try {
      const out = this.#store.atomically(fn);
      committed = true;
      return out;
    } catch (e) {
      this.#held = undefined;
      this.#reload(e);
      undo();
      throw e;
    } finally {
      this.#held = undefined;
      if (committed) { for (const event of held) this.#deliver(event); }
    }
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
