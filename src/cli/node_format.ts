/**
 * Human-readable output for `deno task ctl node ...`.
 *
 * @module
 */
import type { Block, BlockHeader, MempoolEntry, MempoolInfo, Transaction } from "../protocol/chain.ts";
import type { DevNodeStatus, ReorgSummary, SendResult } from "../node/dev/controls.ts";
import { hex, table, toJson } from "./format.ts";

/** Format satoshis as BTC with 8 decimals. */
function btc(sats: number): string {
  return `${(sats / 1e8).toFixed(8)} BTC`;
}

/**
 * Render the result of a `ctl node` subcommand.
 *
 * @param sub The subcommand (`status`, `generate`, `send`, `mempool`, `block`, `tx`, `reorg`, `address`, `flush`).
 * @param r Its result from the admin socket.
 * @returns Text for the terminal.
 *
 * @example
 * ```ts
 * import { nodeText } from "./node_format.ts";
 * console.log(nodeText("address", { address: "bcrt1q..." })); // bcrt1q...
 * ```
 */
export function nodeText(sub: string, r: unknown): string {
  switch (sub) {
    case "status": {
      const s = r as DevNodeStatus;
      return [
        `network      ${s.network}`,
        `tip          ${s.height} ${s.tip_hash} (${new Date(s.tip_time * 1000).toISOString()})`,
        `mempool      ${s.mempool.transactions} txs, ${s.mempool.vsize} vB, ${s.mempool.fees_sats} sats in fees, ` +
        `min ${s.mempool.min_fee_rate} sat/vB`,
        `fee estimate ${s.fee_estimate} sat/vB (next block)`,
        `wallet       ${s.wallet.address} (${s.wallet.keys} keys)`,
        `  spendable  ${btc(s.wallet.spendable)} (${btc(s.wallet.unconfirmed)} unconfirmed)`,
        `  immature   ${btc(s.wallet.immature)}`,
        `data dir     ${s.data_dir ?? "(in memory)"}`,
      ].join("\n");
    }
    case "generate":
      return table(["HEIGHT", "HASH"], (r as BlockHeader[]).map((h) => [String(h.height), h.hash]));
    case "send": {
      const s = r as SendResult;
      return `${s.txid}\n${s.fee_sats} sats fee, ${s.vsize} vB, ${s.fee_rate.toFixed(3)} sat/vB`;
    }
    case "mempool": {
      const { info, entries } = r as { info: MempoolInfo; entries: MempoolEntry[] };
      const head = `${info.transaction_count} txs, ${info.size_bytes} vB, ${info.total_fee_sats} sats in fees, ` +
        `min ${info.min_fee_rate} sat/vB`;
      if (entries.length === 0) return head;
      return `${head}\n${
        table(
          ["TXID", "VSIZE", "FEE", "SAT/VB", "DEPENDS"],
          entries.map((
            e,
          ) => [e.txid, String(e.vsize), String(e.fee_sats), e.fee_rate.toFixed(3), String(e.depends.length)]),
        )
      }`;
    }
    case "block": {
      const b = r as Block;
      return [
        `block        ${b.height} ${b.hash}`,
        `previous     ${b.prev_hash}`,
        `merkle root  ${b.merkle_root}`,
        `time         ${b.time} (${new Date(b.time * 1000).toISOString()})`,
        `bits nonce   0x${b.bits.toString(16)} ${b.nonce}`,
        `size weight  ${b.size} ${b.weight}`,
        `txs          ${b.txids.length}`,
        ...b.txids.map((t) => `  ${t}`),
      ].join("\n");
    }
    case "tx": {
      const t = r as Transaction;
      const where = t.block_hash
        ? `block ${t.block_height} ${t.block_hash}, ${t.confirmations} confirmations`
        : "mempool";
      return `${t.txid}\n${t.vsize} vB (${t.size} bytes), in ${where}\n${hex(t.raw)}`;
    }
    case "reorg": {
      const g = r as ReorgSummary;
      return `reorg at height ${g.fork_height}: ${g.disconnected} blocks disconnected, ${g.connected} connected\n` +
        `old tip ${g.old_tip}\nnew tip ${g.new_tip}\nmempool now ${g.mempool_size} txs`;
    }
    case "address":
      return (r as { address: string }).address;
    default:
      return toJson(r, 2);
  }
}
