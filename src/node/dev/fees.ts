/**
 * The dev node's fee estimate. The method, for a confirmation target of `t` blocks:
 *
 * 1. **`mempool`**: if the mempool, highest fee rate first, holds more than `t` blocks' worth of
 *    virtual size (each block taking `blockVsize` vB), a new transaction must outbid the first
 *    transaction left beyond those `t` blocks: the estimate is that transaction's fee rate plus
 *    0.01 sat/vB.
 * 2. **`blocks`**: otherwise, if the recent blocks (the last 6 by default) confirmed transactions,
 *    a percentile of their fee rates: the median for `t` ≤ 2, the 25th percentile for `t` ≤ 6, the
 *    10th beyond (nearest rank).
 * 3. **`minimum`**: otherwise there is nothing to learn from, and the estimate is the mempool's
 *    minimum fee rate.
 *
 * The estimate is never below the mempool's minimum fee rate, and is rounded up to 0.001 sat/vB.
 *
 * @module
 */
import type { FeeEstimate } from "../../protocol/chain.ts";

/** A mempool transaction as the estimator sees it. */
export interface FeeSample {
  /** Fee rate, sat/vB. */
  feeRate: number;
  /** Virtual size. */
  vsize: number;
}

/** What {@link estimateFeeRate} works from. */
export interface FeeInputs {
  /** The mempool, highest fee rate first. */
  pool: readonly FeeSample[];
  /** Fee rates of the transactions in recent blocks. */
  recent: readonly number[];
  /**
   * `recent` is sorted ascending already (it is sorted here otherwise).
   *
   * @example
   * ```ts ignore
   * estimateFeeRate(1, { pool, recent: rates.sort((a, b) => a - b), recentSorted: true, minFeeRate, blockVsize });
   * ```
   */
  recentSorted?: boolean;
  /** The mempool's minimum fee rate. */
  minFeeRate: number;
  /** Virtual size one block takes from the mempool. */
  blockVsize: number;
}

/**
 * Estimate the fee rate for confirmation within `target` blocks; see the module docs for the method.
 *
 * @param target Confirmation target, at least 1.
 * @param inputs The mempool, recent blocks and policy.
 * @returns The estimate.
 *
 * @example
 * ```ts
 * import { estimateFeeRate } from "@blvm/node";
 * const pool = [{ feeRate: 30, vsize: 600 }, { feeRate: 10, vsize: 600 }];
 * const e = estimateFeeRate(1, { pool, recent: [], minFeeRate: 1, blockVsize: 1000 });
 * console.log(e.method, e.fee_rate); // mempool 10.01
 * ```
 */
export function estimateFeeRate(target: number, inputs: FeeInputs): FeeEstimate {
  const { pool, recent, minFeeRate, blockVsize } = inputs;
  const done = (rate: number, method: string): FeeEstimate => ({
    target_blocks: target,
    fee_rate: Math.ceil(Math.max(rate, minFeeRate) * 1000 - 1e-9) / 1000,
    method,
  });
  const room = target * blockVsize;
  let used = 0;
  for (const t of pool) {
    used += t.vsize;
    if (used > room) return done(t.feeRate + 0.01, "mempool");
  }
  if (recent.length > 0) {
    const sorted = inputs.recentSorted ? recent : [...recent].sort((a, b) => a - b);
    const p = target <= 2 ? 0.5 : target <= 6 ? 0.25 : 0.1;
    return done(sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)], "blocks");
  }
  return done(minFeeRate, "minimum");
}
