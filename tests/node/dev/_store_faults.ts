/**
 * Test helpers for the dev node's store failures: a node whose SQLite store can be capped at its
 * current size (`PRAGMA max_page_count`, so the next page it needs fails with `SQLITE_FULL`), the
 * assertion that an error names that cause, and a snapshot of everything a failure must not change.
 *
 * @module
 */
import { doesNotMatch, equal, match, ok } from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { DevNode } from "../../../src/node/dev/node.ts";
import { StoreWriteError } from "../../../src/node/dev/store_errors.ts";
import { storeHooks } from "../../../src/node/dev/test_hooks.ts";
import { toHex } from "../../../src/node/header.ts";

/** The message a full store reports. */
export const DISK_FULL = /database or disk is full \(SQLITE_FULL\)/;

/**
 * A node on `dir` whose store can be filled: capped at its current size with its free pages taken by
 * a filler table, so that any write needing a new page (a row larger than a page needs overflow
 * pages) fails with SQLITE_FULL. `uncap` gives the room back.
 */
export function openCapped(dir: string): { node: DevNode; fill: () => void; uncap: () => void } {
  let db: DatabaseSync | undefined;
  storeHooks.opened = (d) => db = d;
  let node: DevNode;
  try {
    node = DevNode.open({ dataDir: dir });
  } finally {
    storeHooks.opened = undefined;
  }
  const pages = () => (db!.prepare("PRAGMA page_count").get() as { page_count: number }).page_count;
  const fill = () => {
    db!.exec("CREATE TABLE IF NOT EXISTS filler (x BLOB)");
    db!.exec(`PRAGMA max_page_count = ${pages()}`);
    const put = db!.prepare("INSERT INTO filler VALUES (zeroblob(?))");
    for (const size of [2000, 200, 20]) {
      try {
        for (let i = 0; i < 100_000; i++) put.run(size);
      } catch (e) {
        if ((e as { errcode?: number }).errcode !== 13) throw e;
      }
    }
  };
  const uncap = () => {
    db!.exec("PRAGMA max_page_count = 1073741823");
    db!.exec("DELETE FROM filler");
  };
  return { node, fill, uncap };
}

/** What `fn` threw (failing if it returned). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

/** Assert `e` is the store's full-disk error, never the rollback's "no transaction is active". */
export function assertDiskFull(e: unknown): asserts e is StoreWriteError {
  ok(e instanceof StoreWriteError, `expected a StoreWriteError, got ${e}`);
  equal(e.sqliteCode, "SQLITE_FULL");
  match(e.message, DISK_FULL);
  doesNotMatch(e.message, /no transaction is active/);
  equal((e.cause as { errcode?: number }).errcode, 13, "the cause is SQLite's SQLITE_FULL error");
  equal(e.rollbackError, undefined);
}

/** Everything a failed write must leave as it was, through the public API. */
export async function snapshot(node: DevNode) {
  const tip = await node.getTip();
  const hashes = [];
  for (let h = 0; h <= tip.height; h++) hashes.push(await node.getBlockHash(h));
  return {
    tip,
    hashes,
    status: node.dev.status(),
    mempool: node.dev.mempool(),
    coins: node.dev.coins().map((c) => ({ ...c, script: toHex(c.script) })).sort((a, b) =>
      `${a.txid}:${a.vout}`.localeCompare(`${b.txid}:${b.vout}`)
    ),
    feeEstimate: await node.estimateFee(1),
  };
}

/** Run `fn` with a fresh temp dir, removed afterwards. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "devnode-faults-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
