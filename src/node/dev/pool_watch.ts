/**
 * The dev node's fee estimate and the events that follow the mempool: `MempoolThresholdExceeded` when
 * it grows past its threshold, and `FeeRateChanged` when the next-block estimate or the mempool's
 * minimum fee rate moves.
 *
 * @module
 */
import type { FeeEstimate } from "../../protocol/chain.ts";
import type { BackendEvent } from "../backend.ts";
import type { ChainState } from "./chainstate.ts";
import { estimateFeeRate } from "./fees.ts";
import type { Mempool } from "./mempool.ts";
import { COINBASE_RESERVE_WEIGHT } from "./miner.ts";

/** What {@link PoolWatch} needs to know. */
export interface PoolWatchOptions {
  /** Mempool size above which `MempoolThresholdExceeded` is published. */
  mempoolThreshold: number;
  /** Largest block weight, which the estimator assumes. */
  blockMaxWeight: number;
  /** Recent blocks the estimator learns from. */
  feeHistoryBlocks: number;
}

/**
 * Fee estimates, and what was last announced about the mempool. Internal: {@link NodeEngine} uses it.
 *
 * @example
 * ```ts ignore
 * const watch = new PoolWatch(chain, pool, { mempoolThreshold: 40_000, blockMaxWeight: 4_000_000, feeHistoryBlocks: 6 });
 * watch.changed((event) => console.log(event.type)); // after each change to the mempool or the tip
 * ```
 */
export class PoolWatch {
  readonly #chain: ChainState;
  readonly #pool: Mempool;
  readonly #opts: PoolWatchOptions;
  #fee: { estimate: number; min: number };
  #over: boolean;
  /** The recent blocks' fee rates, ascending, for the tip they were read at. */
  #recent?: { tip: string; rates: number[] };

  /**
   * Start from the node's loaded state, announcing nothing about it.
   *
   * @param chain The chain.
   * @param pool The mempool.
   * @param opts Settings.
   */
  constructor(chain: ChainState, pool: Mempool, opts: PoolWatchOptions) {
    this.#chain = chain;
    this.#pool = pool;
    this.#opts = opts;
    this.#fee = { estimate: this.nextBlockFee(), min: pool.minFeeRate() };
    this.#over = pool.size > opts.mempoolThreshold;
  }

  /**
   * Remember what was announced, to go back to it if the change that follows is undone.
   *
   * @returns A function that restores it.
   */
  saved(): () => void {
    const fee = { ...this.#fee }, over = this.#over;
    return () => {
      this.#fee = fee;
      this.#over = over;
      this.#recent = undefined;
    };
  }

  /**
   * Threshold and fee-rate events after the mempool or the tip changed.
   *
   * @param emit Publishes one event.
   */
  changed(emit: (event: BackendEvent) => void): void {
    const size = this.#pool.size;
    const over = size > this.#opts.mempoolThreshold;
    if (over && !this.#over) {
      emit({
        type: "MempoolThresholdExceeded",
        payload: { current_size: size, threshold: this.#opts.mempoolThreshold },
      });
    }
    this.#over = over;
    const min = this.#pool.minFeeRate();
    if (min !== this.#fee.min) {
      emit({ type: "FeeRateChanged", payload: { old_fee_rate: this.#fee.min, new_fee_rate: min, mempool_size: size } });
      this.#fee.min = min;
    }
    const estimate = this.nextBlockFee();
    if (estimate !== this.#fee.estimate) {
      emit({
        type: "FeeRateChanged",
        payload: { old_fee_rate: this.#fee.estimate, new_fee_rate: estimate, mempool_size: size, target_blocks: 1 },
      });
      this.#fee.estimate = estimate;
    }
  }

  /** The next-block fee estimate, sat/vB. */
  nextBlockFee(): number {
    return this.estimate(1).fee_rate;
  }

  /**
   * The estimate for a confirmation target, by the method documented in `fees.ts`.
   *
   * @param target Blocks.
   * @returns The estimate.
   */
  estimate(target: number): FeeEstimate {
    const blockVsize = (this.#opts.blockMaxWeight - COINBASE_RESERVE_WEIGHT) / 4;
    const backlog = this.#pool.vsize > target * blockVsize;
    return estimateFeeRate(target, {
      pool: backlog ? this.#pool.byFeeRate().map((e) => ({ feeRate: e.feeRate, vsize: e.tx.vsize })) : [],
      recent: this.#recentRates(),
      recentSorted: true,
      minFeeRate: this.#pool.minFeeRate(),
      blockVsize,
    });
  }

  #recentRates(): number[] {
    const tip = this.#chain.tip();
    if (this.#recent?.tip !== tip.hash) {
      const rates: number[] = [];
      for (let h = tip.height; h > tip.height - this.#opts.feeHistoryBlocks && h > 0; h--) {
        rates.push(...this.#chain.feeRates(this.#chain.at(h)!.hash));
      }
      // Sorted once per tip: every estimate until the next block reads them.
      this.#recent = { tip: tip.hash, rates: rates.sort((a, b) => a - b) };
    }
    return this.#recent.rates;
  }
}
