/**
 * The dev node's operator commands: mine blocks, pay from the wallet, reorganize the chain on demand,
 * and report status. `deno task ctl node ...` reaches them through the admin socket.
 *
 * @module
 */
import type { BlockHeader, MempoolEntry } from "../../protocol/chain.ts";
import type { NodeEngine } from "./engine.ts";
import { CONSENSUS } from "./params.ts";
import { headerView, poolView } from "./views.ts";
import type { Coin } from "./rules.ts";
import { addressScript, type DevWallet, type WalletCoin } from "./wallet.ts";

/** The wallet's money, in satoshis. */
export interface WalletBalance {
  /** What a send may spend now: mature chain coins and unconfirmed change, not spent in the mempool. */
  spendable: number;
  /** Mature chain coins not spent in the mempool. */
  confirmed: number;
  /** Coinbase outputs with fewer than 101 confirmations (as Bitcoin Core's wallet counts). */
  immature: number;
  /** Mempool outputs paying the wallet, not spent in the mempool. */
  unconfirmed: number;
}

/** What {@link DevControls.reorg} did. */
export interface ReorgSummary {
  /** Tip before. */
  old_tip: string;
  /** Tip after. */
  new_tip: string;
  /** Height of the last block both branches share. */
  fork_height: number;
  /** Blocks disconnected. */
  disconnected: number;
  /** Blocks connected. */
  connected: number;
  /** Mempool size afterwards, disconnected transactions included. */
  mempool_size: number;
}

/** What {@link DevControls.status} reports. */
export interface DevNodeStatus {
  /** `regtest`. */
  network: string;
  /** Tip height. */
  height: number;
  /** Tip hash. */
  tip_hash: string;
  /** Tip time. */
  tip_time: number;
  /** Mempool totals. */
  mempool: { transactions: number; vsize: number; fees_sats: number; min_fee_rate: number };
  /** Next-block fee estimate, sat/vB. */
  fee_estimate: number;
  /** The wallet's default address, key count and balance. */
  wallet: { address: string; keys: number } & WalletBalance;
  /** Where the node's state lives, or `null` in memory. */
  data_dir: string | null;
}

/** What {@link DevControls.send} did. */
export interface SendResult {
  /** The new transaction. */
  txid: string;
  /** Fee paid. */
  fee_sats: number;
  /** Its fee rate. */
  fee_rate: number;
  /** Its virtual size. */
  vsize: number;
}

/**
 * Operator commands of a {@link DevNode}, as `node.dev`.
 *
 * @example
 * ```ts
 * import { DevNode } from "@blvm/node";
 * const node = DevNode.open();
 * node.dev.generate(3);
 * const r = node.dev.reorg(2);
 * console.log(r.disconnected, r.connected); // 2 3
 * await node.close();
 * ```
 */
export class DevControls {
  readonly #e: NodeEngine;
  readonly #wallet: DevWallet;
  readonly #dataDir: string | null;

  /**
   * Built by the node.
   *
   * @param engine The node's engine.
   * @param wallet Its wallet.
   * @param dataDir Its data dir, for status.
   */
  constructor(engine: NodeEngine, wallet: DevWallet, dataDir: string | null) {
    this.#e = engine;
    this.#wallet = wallet;
    this.#dataDir = dataDir;
  }

  /**
   * Mine `count` blocks on the tip, each taking mempool transactions by fee rate.
   *
   * @param count 1 to 10,000.
   * @param opts `address`: pay coinbases there instead of the configured payout; `withMempool`:
   *   include mempool transactions (default true).
   * @returns The new headers.
   * @throws {RangeError} for a bad count; `WalletError` for a bad address.
   */
  generate(count: number, opts: { address?: string; withMempool?: boolean } = {}): BlockHeader[] {
    intIn("count", count, 1, 10_000);
    const payout = opts.address === undefined ? undefined : addressScript(opts.address);
    return this.#e.mine(count, opts.withMempool ?? true, payout).map(headerView);
  }

  /**
   * {@link DevControls.generate} without holding the event loop: the node's other queued operations
   * go first, then each block is assembled, validated, written and announced a slice of a few
   * milliseconds at a time, so timers, sockets and module calls keep being served while a block of
   * thousands of transactions is mined. Blocks, events and state are the same as `generate`'s.
   * Operations asked for meanwhile wait their turn (async ones) or let it finish first (synchronous
   * ones), so they never see half a block.
   *
   * @param count 1 to 10,000.
   * @param opts As for {@link DevControls.generate}.
   * @returns The new headers.
   * @throws {RangeError} for a bad count; `WalletError` for a bad address (both synchronously).
   *
   * @example
   * ```ts
   * import { DevNode } from "@blvm/node";
   * const node = DevNode.open();
   * const [header] = await node.dev.generateAsync(1);
   * console.log(header.height); // 1
   * await node.close();
   * ```
   */
  generateAsync(count: number, opts: { address?: string; withMempool?: boolean } = {}): Promise<BlockHeader[]> {
    intIn("count", count, 1, 10_000);
    const payout = opts.address === undefined ? undefined : addressScript(opts.address);
    return this.#e.mineAsync(count, opts.withMempool ?? true, payout).then((entries) => entries.map(headerView));
  }

  /**
   * Pay `amount` sats from the wallet to `address` and put the transaction in the mempool.
   *
   * @param address A regtest address.
   * @param amount Satoshis.
   * @param feeRate sat/vB; default the next-block estimate.
   * @returns The transaction.
   * @throws `WalletError` for a bad address or amount or too few funds; `TxRejectedError` if the
   *   mempool refuses it.
   */
  send(address: string, amount: number, feeRate?: number): SendResult {
    this.#e.drain(); // a block being mined asynchronously goes first: coins and fees as after it
    const rate = feeRate ?? this.#e.nextBlockFee();
    const bytes = this.#wallet.send(address, amount, rate, this.coins());
    const e = this.#e.acceptTx(bytes);
    return { txid: e.tx.txid, fee_sats: e.fee, fee_rate: e.feeRate, vsize: e.tx.vsize };
  }

  /**
   * {@link DevControls.send} after the node's queued operations (a block being mined by
   * {@link DevControls.generateAsync}): at once if there are none. The coins and the fee estimate are
   * read when it runs.
   *
   * @param address A regtest address.
   * @param amount Satoshis.
   * @param feeRate sat/vB; default the next-block estimate.
   * @returns The transaction.
   * @throws As {@link DevControls.send}, as a rejection.
   *
   * @example
   * ```ts
   * import { DevNode } from "@blvm/node";
   * const node = DevNode.open();
   * await node.dev.generateAsync(101);
   * const sent = await node.dev.sendAsync(node.wallet.newAddress(), 100_000, 5);
   * console.log(sent.fee_rate >= 5); // true
   * await node.close();
   * ```
   */
  sendAsync(address: string, amount: number, feeRate?: number): Promise<SendResult> {
    return this.#e.exclusive(() => this.send(address, amount, feeRate));
  }

  /**
   * Replace the last `depth` blocks: invalidate them (as Bitcoin Core's `invalidateblock`), return
   * their transactions to the mempool, and mine `blocks` new ones on the fork point. Publishes
   * `BlockDisconnected` for each old block, the new blocks' events, then `ChainReorg`.
   *
   * @param depth Blocks to disconnect, 1 to the tip height.
   * @param opts `blocks`: how many to mine on the fork (default `depth + 1`, 1 to 10,000);
   *   `withMempool`: let the new blocks take mempool transactions (default false, so the
   *   disconnected transactions stay in the mempool).
   * @returns What changed.
   * @throws {RangeError} for a bad depth or block count.
   */
  reorg(depth: number, opts: { blocks?: number; withMempool?: boolean } = {}): ReorgSummary {
    this.#e.drain(); // a block being mined asynchronously goes first: the reorg starts from its tip
    const { chain, pool } = this.#e;
    const before = chain.tip();
    intIn("depth", depth, 1, before.height);
    const blocks = opts.blocks ?? depth + 1;
    intIn("blocks", blocks, 1, 10_000);
    const fork = chain.at(before.height - depth)!;
    // One store transaction: a crash or a failed write leaves the old chain, never half a reorg.
    const disconnected = this.#e.atomically(() => {
      chain.invalidate(chain.at(fork.height + 1)!.hash);
      const gone = this.#e.rewind(fork);
      this.#e.mine(blocks, opts.withMempool ?? false);
      this.#e.finishReorg(before);
      return gone;
    });
    const after = chain.tip();
    return {
      old_tip: before.hash,
      new_tip: after.hash,
      fork_height: fork.height,
      disconnected: disconnected.length,
      connected: after.height - fork.height,
      mempool_size: pool.size,
    };
  }

  /**
   * {@link DevControls.reorg} after the node's queued operations: at once if there are none. The reorg
   * itself runs in one synchronous step.
   *
   * @param depth Blocks to disconnect, 1 to the tip height.
   * @param opts As for {@link DevControls.reorg}.
   * @returns What changed.
   * @throws As {@link DevControls.reorg}, as a rejection.
   *
   * @example
   * ```ts
   * import { DevNode } from "@blvm/node";
   * const node = DevNode.open();
   * await node.dev.generateAsync(3);
   * const r = await node.dev.reorgAsync(1);
   * console.log(r.disconnected, r.connected); // 1 2
   * await node.close();
   * ```
   */
  reorgAsync(depth: number, opts: { blocks?: number; withMempool?: boolean } = {}): Promise<ReorgSummary> {
    return this.#e.exclusive(() => this.reorg(depth, opts));
  }

  /** Mempool entries, highest fee rate first. */
  mempool(): MempoolEntry[] {
    return this.#e.pool.byFeeRate().map(poolView);
  }

  /**
   * The wallet's spendable coins: mature chain outputs and mempool outputs paying it, not spent in
   * the mempool.
   *
   * @returns The coins; `confirmed` is false for mempool outputs.
   */
  coins(): (WalletCoin & { confirmed: boolean })[] {
    const { chain, pool } = this.#e;
    const wallet = this.#wallet;
    const out: (WalletCoin & { confirmed: boolean })[] = [];
    for (const [k, c] of chain.coins()) {
      if (!wallet.owns(c.script) || this.#immature(c)) continue;
      const [txid, vout] = [k.slice(0, 64), Number(k.slice(65))];
      if (!pool.spender(txid, vout)) out.push({ txid, vout, value: c.value, script: c.script, confirmed: true });
    }
    for (const e of pool.entries()) {
      e.tx.outputs.forEach((o, vout) => {
        if (wallet.owns(o.script) && !pool.spender(e.tx.txid, vout)) {
          out.push({ txid: e.tx.txid, vout, value: o.value, script: o.script, confirmed: false });
        }
      });
    }
    return out;
  }

  /** The wallet's balance. */
  balance(): WalletBalance {
    const b: WalletBalance = { spendable: 0, confirmed: 0, immature: 0, unconfirmed: 0 };
    for (const [, c] of this.#e.chain.coins()) {
      if (this.#wallet.owns(c.script) && this.#immature(c)) b.immature += c.value;
    }
    for (const c of this.coins()) {
      if (c.confirmed) b.confirmed += c.value;
      else b.unconfirmed += c.value;
    }
    b.spendable = b.confirmed + b.unconfirmed;
    return b;
  }

  /**
   * A coinbase output the wallet does not spend yet. Consensus allows it with 100 confirmations at the
   * next block; like Bitcoin Core's wallet, this one waits for 101, so a one-block reorg cannot make
   * its payment invalid.
   */
  #immature(c: Coin): boolean {
    return c.coinbase && this.#e.chain.tip().height - c.height + 1 < CONSENSUS.coinbaseMaturity + 1;
  }

  /** Chain, mempool and wallet at a glance. */
  status(): DevNodeStatus {
    const { chain, pool } = this.#e;
    const wallet = this.#wallet;
    const tip = chain.tip();
    return {
      network: "regtest",
      height: tip.height,
      tip_hash: tip.hash,
      tip_time: tip.header.time,
      mempool: { transactions: pool.size, vsize: pool.vsize, fees_sats: pool.fees, min_fee_rate: pool.minFeeRate() },
      fee_estimate: this.#e.nextBlockFee(),
      wallet: { address: wallet.address(), keys: wallet.size, ...this.balance() },
      data_dir: this.#dataDir,
    };
  }
}

function intIn(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`'${name}' must be an integer from ${min} to ${max}, got ${value}`);
  }
}
