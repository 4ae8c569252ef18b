/**
 * Demo traffic for `deno task start`: a block every few seconds and wallet payments at varied fee
 * rates, so modules see a living chain. On a fresh node it first mines 101 blocks so the wallet has
 * a mature coinbase to spend.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { DevNode } from "./node.ts";
import { StoreWriteError } from "./store_errors.ts";

/** How much traffic. */
export interface DemoTraffic {
  /** Seconds between blocks; 0 = none. */
  blockInterval: number;
  /** Seconds between payments; 0 = none. */
  txInterval: number;
  /** Lowest fee rate, sat/vB. */
  minFeeRate: number;
  /** Highest fee rate, sat/vB. */
  maxFeeRate: number;
  /** Random source in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** Addresses the demo pays between. */
const DEMO_ADDRESSES = 8;

/**
 * Start demo traffic on `node`.
 *
 * @param node The dev node.
 * @param t How much.
 * @returns Stops the traffic; the promise it returns settles once a block or payment already under
 *   way is done.
 *
 * @example
 * ```ts
 * import { DevNode, startDemoTraffic } from "@blvm/node";
 * const node = DevNode.open();
 * const stop = startDemoTraffic(node, { blockInterval: 0, txInterval: 0, minFeeRate: 1, maxFeeRate: 10 });
 * console.log((await node.getTip()).height); // 101: mined so the wallet can spend
 * await stop();
 * await node.close();
 * ```
 */
export function startDemoTraffic(node: DevNode, t: DemoTraffic): () => Promise<void> {
  const log = getLogger(["blvm", "devnode", "demo"]);
  const random = t.random ?? Math.random;
  if (node.dev.balance().spendable === 0) {
    const height = (node.dev.status()).height;
    if (height < 101) {
      node.dev.generate(101 - height);
      log.info("Mined {count} blocks so the dev wallet has a mature coinbase to spend", { count: 101 - height });
    }
  }
  while (node.wallet.size < DEMO_ADDRESSES) node.wallet.newAddress();
  const timers: ReturnType<typeof setInterval>[] = [];
  const underWay = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    underWay.add(p);
    p.finally(() => underWay.delete(p));
  };
  if (t.blockInterval > 0) {
    timers.push(setInterval(() => {
      // Async: a block of many transactions is mined a slice at a time, never holding the event loop.
      track(
        node.dev.generateAsync(1).then(
          ([h]) => log.debug("Demo block {height} {hash}", { height: h.height, hash: h.hash }),
          (e) => log.error("Demo block failed: {error}", { error: (e as Error).message }),
        ),
      );
    }, t.blockInterval * 1000));
  }
  if (t.txInterval > 0) {
    timers.push(setInterval(() => {
      const to = node.wallet.address(Math.floor(random() * DEMO_ADDRESSES));
      const amount = 10_000 + Math.floor(random() * 990_000);
      const rate = t.minFeeRate + Math.floor(random() * (t.maxFeeRate - t.minFeeRate + 1));
      // Async: while a block is being mined, the payment waits its turn instead of finishing the block at once.
      track(
        node.dev.sendAsync(to, amount, rate).then(
          (s) => log.debug("Demo payment {txid} of {amount} sats at {rate} sat/vB", { txid: s.txid, amount, rate }),
          (e) => {
            // A refused payment (funds, fee rate) is routine; a store that cannot be written (a full disk) is not.
            if (e instanceof StoreWriteError) log.error("Demo payment failed: {error}", { error: e.message });
            else log.info("Demo payment skipped: {error}", { error: (e as Error).message });
          },
        ),
      );
    }, t.txInterval * 1000));
  }
  return async () => {
    timers.forEach(clearInterval);
    await Promise.all([...underWay]);
  };
}
