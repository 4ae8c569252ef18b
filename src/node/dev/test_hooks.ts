/**
 * Fault injection for the dev node's own tests: a way to make its SQLite store run out of space and
 * to crash the process at a chosen moment of a block's store-and-connect transaction. Not exported
 * from the package; production code only calls the hooks, which are unset unless a test sets them.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";

/** The hooks a test may set. */
export interface StoreHooks {
  /** Called with each store's connection right after it opened, e.g. to set `PRAGMA max_page_count`. */
  opened?: (db: DatabaseSync, path: string) => void;
  /** Called inside the store transaction just before a stored block is recorded as connected. */
  beforeConnect?: (hash: string, height: number) => void;
}

/**
 * The hooks; a test assigns to them and must reset them when it is done.
 *
 * @example
 * ```ts ignore
 * import { storeHooks } from "../../../src/node/dev/test_hooks.ts";
 * storeHooks.opened = (db) => db.exec("PRAGMA max_page_count = 64");
 * try {
 *   // open a DevNode and fill it
 * } finally {
 *   storeHooks.opened = undefined;
 * }
 * ```
 */
export const storeHooks: StoreHooks = {};
