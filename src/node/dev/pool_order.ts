/**
 * The mempool's fee-rate order: its entries ranked, what a block takes (highest fee rate first, a
 * transaction only after its mempool parents), and which entry a full mempool evicts (the lowest
 * fee-rate leaf). Plain functions over the mempool's entries.
 *
 * @module
 */
import type { PoolEntry } from "./mempool.ts";

/**
 * Entries by fee rate, highest first (arrival order on ties).
 *
 * @param entries The mempool's entries, by txid.
 * @returns A new array.
 */
export function byFeeRate(entries: ReadonlyMap<string, PoolEntry>): PoolEntry[] {
  return [...entries.values()].sort((a, b) => b.feeRate - a.feeRate || a.seq - b.seq);
}

/**
 * What a block should take: highest fee rate first, a transaction only after all its mempool
 * parents, as many as fit in `maxWeight`.
 *
 * @param entries The mempool's entries, by txid.
 * @param maxWeight Weight left for transactions.
 * @returns Entries in a valid block order.
 */
export function selectForBlock(entries: ReadonlyMap<string, PoolEntry>, maxWeight: number): PoolEntry[] {
  const chosen: PoolEntry[] = [];
  const taken = new Set<string>();
  let weight = 0;
  // Ready transactions (every mempool parent taken) ordered so that the best is last.
  const ready = byFeeRate(entries).filter((e) => e.parents.size === 0).reverse();
  const before = (a: PoolEntry, b: PoolEntry) => a.feeRate < b.feeRate || (a.feeRate === b.feeRate && a.seq > b.seq);
  while (ready.length > 0) {
    const e = ready.pop()!;
    if (weight + e.tx.weight > maxWeight) continue;
    chosen.push(e);
    taken.add(e.tx.txid);
    weight += e.tx.weight;
    for (const c of e.children) {
      const child = entries.get(c)!;
      if ([...child.parents].every((p) => taken.has(p))) {
        let at = ready.length;
        while (at > 0 && before(child, ready[at - 1])) at--;
        ready.splice(at, 0, child);
      }
    }
  }
  return chosen;
}

/**
 * The entry with the lowest fee rate that nothing depends on, other than those in `keep`.
 *
 * @param entries The mempool's entries, by txid.
 * @param keep Txids never chosen.
 * @returns The entry; none if every entry has children or is kept.
 */
export function lowestLeaf(entries: ReadonlyMap<string, PoolEntry>, keep: ReadonlySet<string>): PoolEntry | undefined {
  let low: PoolEntry | undefined;
  for (const e of entries.values()) {
    if (
      e.children.size === 0 && !keep.has(e.tx.txid) &&
      (!low || e.feeRate < low.feeRate || (e.feeRate === low.feeRate && e.seq > low.seq))
    ) {
      low = e;
    }
  }
  return low;
}
