/**
 * The catalog of figures `deno task bench` measures, in report order, and the counts it measures them
 * with: the defaults, and the tiny ones of `--smoke`.
 *
 * @module
 */
import type { Counts, FigureGroup } from "./_group.ts";
import { events } from "./events.ts";
import { ipc } from "./ipc.ts";
import { fanout } from "./fanout.ts";
import { startup } from "./startup.ts";
import { stall } from "./stall.ts";

export type { Counts, FigureGroup, GroupRun, RoundValues } from "./_group.ts";

/** Every group, in report order. */
export const GROUPS: readonly FigureGroup[] = [events, ipc, fanout, startup, stall];

/**
 * The report's order: the figures 1 to 9 (ids, or id prefixes ending in `_`).
 */
export const FIGURE_ORDER: readonly string[] = [
  "events_per_s",
  "call_rtt_median",
  "call_rtt_p99",
  "calls_per_s",
  "host_cpu_",
  "spawn_one_ms",
  "spawn_together_ms",
  "mining_loop_gap_ms",
  "mining_call_ms",
  "idle_rss_mib",
  "journal_events_per_s",
];

/**
 * Where a figure goes in the report.
 *
 * @param id The figure's id.
 * @returns Its index in {@link FIGURE_ORDER}, or the end.
 */
export function figureRank(id: string): number {
  const i = FIGURE_ORDER.findIndex((o) => o.endsWith("_") ? id.startsWith(o) : id === o);
  return i < 0 ? FIGURE_ORDER.length : i;
}

/** The counts of a full run. */
export const DEFAULT_COUNTS: Readonly<Counts> = {
  calls: 20_000,
  warmup: 1_000,
  pipelined: 100_000,
  inflight: 16,
  events: 200_000,
  raw_factor: 5,
  fanout: [4, 16, 32],
  fanout_events: 50_000,
  together: 16,
  settle_ms: 1_500,
  mining_txs: 1_000,
  idle_ms: 1_000,
  poll_ms: 1,
};

/**
 * The counts of `--smoke`: every path runs (with fewer modules: its figure ids name the module counts),
 * nothing is long enough to be a figure.
 */
export const SMOKE_COUNTS: Readonly<Counts> = {
  calls: 200,
  warmup: 20,
  pipelined: 1_000,
  inflight: 16,
  events: 1_000,
  raw_factor: 5,
  fanout: [1, 2, 4],
  fanout_events: 100,
  together: 4,
  settle_ms: 200,
  mining_txs: 20,
  idle_ms: 200,
  poll_ms: 1,
};
