/**
 * Which branch of the block index the dev node follows: whether a block and its ancestors are valid,
 * the valid block with the most work, and the path between a block and the main chain. Plain
 * functions over the index, which {@link ChainState} applies to its own.
 *
 * @module
 */
import type { IndexEntry } from "./chainstate.ts";

/** What the branch functions read of the block index. */
export interface IndexView {
  /** Any indexed block. */
  entry(hash: string): IndexEntry | undefined;
  /** Whether `hash` is in the main chain. */
  onMain(hash: string): boolean;
  /** The tip. */
  tip(): IndexEntry;
}

/**
 * Whether `entry` and all its ancestors (down to the main chain) are valid.
 *
 * @param view The index.
 * @param entry A block.
 * @returns False if it or an ancestor is marked invalid.
 */
export function validUpToMain(view: IndexView, entry: IndexEntry): boolean {
  for (let e: IndexEntry | undefined = entry; e; e = view.entry(e.header.prev_hash)) {
    if (e.status === "invalid") return false;
    if (view.onMain(e.hash)) return true;
  }
  return true;
}

/**
 * The valid block with the most work (first seen on ties). A block is valid if it and all its
 * ancestors are.
 *
 * @param view The index.
 * @param entries Every indexed block.
 * @returns The best, the tip if none beats it.
 */
export function bestValid(view: IndexView, entries: Iterable<IndexEntry>): IndexEntry {
  const valid = new Map<string, boolean>();
  const isValid = (e: IndexEntry): boolean => {
    const path: IndexEntry[] = [];
    let ok: boolean | undefined;
    for (let x: IndexEntry | undefined = e; x; x = view.entry(x.header.prev_hash)) {
      ok = valid.get(x.hash);
      if (ok !== undefined) break;
      if (x.status === "invalid") {
        ok = false;
        break;
      }
      if (view.onMain(x.hash)) {
        ok = true;
        break;
      }
      path.push(x);
    }
    for (const p of path) valid.set(p.hash, ok ?? true);
    return ok ?? true;
  };
  let best = view.tip();
  for (const e of entries) {
    const better = e.work > best.work || (e.work === best.work && e.seq < best.seq);
    if (better && isValid(e)) best = e;
  }
  return best;
}

/**
 * Whether `e` is `target` or descends from it.
 *
 * @param view The index.
 * @param e A block.
 * @param target A possible ancestor.
 * @returns True if `target` is on `e`'s path back to genesis.
 */
export function descendsFrom(view: IndexView, e: IndexEntry, target: IndexEntry): boolean {
  let x: IndexEntry | undefined = e;
  while (x && x.height > target.height) x = view.entry(x.header.prev_hash);
  return x === target;
}

/**
 * The main-chain ancestor shared with `entry`.
 *
 * @param view The index.
 * @param entry A block.
 * @returns The fork point (`entry` itself if it is on the main chain).
 */
export function forkPoint(view: IndexView, entry: IndexEntry): IndexEntry {
  let e = entry;
  while (!view.onMain(e.hash)) e = view.entry(e.header.prev_hash)!;
  return e;
}

/**
 * The path from just above the main chain up to `entry`.
 *
 * @param view The index.
 * @param entry A block.
 * @returns The blocks, lowest first; empty if `entry` is on the main chain.
 */
export function branchTo(view: IndexView, entry: IndexEntry): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (let e = entry; !view.onMain(e.hash); e = view.entry(e.header.prev_hash)!) out.unshift(e);
  return out;
}
