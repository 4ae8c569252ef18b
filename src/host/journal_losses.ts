/**
 * What modules lose when the journal drops events they had not processed (its limits, a full disk): per
 * module and type, the sequence range, the count and the last position, merged.
 *
 * @module
 */
import type { BatchEntry } from "./journal_batch.ts";
import type { LostRange } from "./journal_scope.ts";
import type { StoredCursor } from "./journal_state.ts";
import { eventSpec } from "../protocol/events/mod.ts";

/** A loss with the last position it covers (a module that then processes past it made up for it). */
export type PositionedLoss = LostRange & { upto: number };

/**
 * Per module behind `to`: the ranges of the events among `entries` (oldest first) it covers and had not
 * processed.
 *
 * @param cursors Every module's cursor.
 * @param entries The events that go.
 * @param to The last position that goes.
 * @returns Module → its losses.
 *
 * @example
 * ```ts
 * import { lossesOf } from "./journal_losses.ts";
 * const cursors = new Map([["m", { acked: 1, types: new Set(["NewBlock"]), moduleEvents: false }]]);
 * const gone = [1, 2, 3].map((pos) => ({ pos, type: "NewBlock", seq: pos, frame: new Uint8Array() }));
 * console.log(lossesOf(cursors, gone, 3).get("m")); // [{ type: "NewBlock", from_seq: 2, to_seq: 3, count: 2, upto: 3 }]
 * ```
 */
export function lossesOf(
  cursors: ReadonlyMap<string, StoredCursor>,
  entries: Iterable<BatchEntry>,
  to: number,
): Map<string, PositionedLoss[]> {
  const behind = [...cursors].filter(([, c]) => c.acked < to);
  const out = new Map<string, PositionedLoss[]>();
  if (behind.length === 0) return out;
  for (const e of entries) {
    if (e.pos > to) break;
    for (const [module, c] of behind) {
      if (e.pos <= c.acked || !(c.types.has(e.type) || (c.moduleEvents && eventSpec(e.type) === undefined))) continue;
      let list = out.get(module);
      if (!list) out.set(module, list = []);
      list.push({ type: e.type, from_seq: e.seq, to_seq: e.seq, count: 1, upto: e.pos });
    }
  }
  for (const [module, list] of out) out.set(module, mergeLosses(list));
  return out;
}

/**
 * Losses merged per type: the widest range, the counts summed, the last position; sorted by type.
 *
 * @param list The losses.
 * @returns One per type.
 *
 * @example
 * ```ts
 * import { mergeLosses } from "./journal_losses.ts";
 * const a = { type: "NewBlock", from_seq: 4, to_seq: 6, count: 3 };
 * console.log(mergeLosses([a, { ...a, from_seq: 9, to_seq: 9, count: 1 }])); // [{ ..., from_seq: 4, to_seq: 9, count: 4 }]
 * ```
 */
export function mergeLosses<T extends LostRange & { upto?: number }>(list: T[]): T[] {
  const byType = new Map<string, T>();
  for (const r of list) {
    const m = byType.get(r.type);
    if (!m) byType.set(r.type, { ...r });
    else {
      m.from_seq = Math.min(m.from_seq, r.from_seq);
      m.to_seq = Math.max(m.to_seq, r.to_seq);
      m.count += r.count;
      if (r.upto !== undefined) m.upto = Math.max(m.upto ?? 0, r.upto);
    }
  }
  return [...byType.values()].sort((a, b) => a.type.localeCompare(b.type));
}
