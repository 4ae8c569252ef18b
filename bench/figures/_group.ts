/**
 * What a group of figures is: the figures it measures, and a run that measures all of them, each with
 * its baseline, once per round.
 *
 * @module
 */
import type { FigureSpec } from "../_report.ts";

/** The counts every figure takes; `--smoke` makes them tiny. */
export interface Counts {
  /** NodeAPI round trips one at a time (figure: call round trip). */
  calls: number;
  /** Untimed round trips before those. */
  warmup: number;
  /** Calls with `inflight` outstanding (figure: calls/s). */
  pipelined: number;
  /** Calls in flight. */
  inflight: number;
  /** NewBlock events into one module (figures: events/s, journal). */
  events: number;
  /** The raw one-way baseline sends `events × raw_factor` frames, so it runs long enough to time. */
  raw_factor: number;
  /** Module counts for the host CPU per event figures. */
  fanout: number[];
  /** Events per module in those. */
  fanout_events: number;
  /** Modules started together. */
  together: number;
  /** Milliseconds a process idles before its RSS is read. */
  settle_ms: number;
  /** Transactions in the mined block (figure: host stall). */
  mining_txs: number;
  /** Milliseconds of the idle window measured before mining. */
  idle_ms: number;
  /** Pause between the polling module's calls, in milliseconds. */
  poll_ms: number;
}

/** One round's values and baselines, by figure id. */
export type RoundValues = Record<string, { value: number; baseline: number }>;

/** A group's run: set up once, measured once per round, closed at the end. */
export interface GroupRun {
  /** Measure every figure of the group once, each next to its baseline. */
  round(): Promise<RoundValues>;
  /** Release what the run set up. */
  close(): Promise<void>;
}

/** A group of figures measured together (one file in bench/figures/). */
export interface FigureGroup {
  /** Its name, for `--only`. */
  name: string;
  /** The figures it measures, with these counts. */
  figures(c: Counts): FigureSpec[];
  /** Set up a run (e.g. fund a node); nothing measured here. */
  open(c: Counts, rounds: number): Promise<GroupRun>;
}

/**
 * A count for people: `200,000`.
 *
 * @param x The count.
 * @returns It, with thousands separators.
 */
export function count(x: number): string {
  return x.toLocaleString("en-US");
}
