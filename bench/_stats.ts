/**
 * Small statistics shared by the benches: medians, percentiles and spreads.
 *
 * @module
 */

/**
 * The median: the middle value, or the mean of the two middle values.
 *
 * @param xs The samples; not modified.
 * @returns Their median, `NaN` for none.
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * A nearest-rank percentile.
 *
 * @param xs The samples; not modified.
 * @param p The fraction, from 0 to 1 (0.99 for p99).
 * @returns The smallest sample with at least `p` of the samples at or below it; `NaN` for none.
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * p) - 1))];
}

/** The smallest and largest of some samples. */
export interface Spread {
  /** The smallest. */
  min: number;
  /** The largest. */
  max: number;
}

/**
 * The smallest and largest sample.
 *
 * @param xs The samples.
 * @returns Their spread.
 */
export function spread(xs: readonly number[]): Spread {
  return { min: Math.min(...xs), max: Math.max(...xs) };
}

/**
 * How long an async function takes.
 *
 * @param f The work.
 * @returns Milliseconds from the call to its settling.
 */
export async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

/**
 * Wait.
 *
 * @param ms Milliseconds.
 * @returns Once they have passed.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
