// `deno task ctl node ...` as a real subprocess against a real admin socket served by this test
// process, whose dev node is an in-memory DevNode the test also inspects directly.
import { ctl, type Run, show } from "./_ctl.ts";
import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { addressScript, DevNode, serveAdmin, toHex } from "../../mod.ts";
import { nodeText } from "../../src/cli/node_format.ts";
import type { ReorgSummary, SendResult } from "../../src/node/dev/controls.ts";
import type { Block, BlockHeader, MempoolEntry, MempoolInfo, Transaction } from "../../src/protocol/chain.ts";
import { testManager } from "../manager/_managed.ts";

const EXTERNAL = "bcrt1q2vrjxm3d2pc58hjzr95wkk8qmc2v0re0fr63h3";
const HEX64 = /^[0-9a-f]{64}$/;

/** Run ctl and require success; returns stdout. */
async function okRun(run: (...a: string[]) => Promise<Run>, ...args: string[]): Promise<string> {
  const r = await run(...args);
  equal(r.code, 0, show(r));
  equal(r.stderr, "", show(r));
  return r.stdout;
}

Deno.test("ctl node drives the host's dev node: human and --json output of every subcommand", async (t) => {
  await using tm = await testManager({}, "", { start: false });
  let now = 1_700_000_000;
  const node = DevNode.open({ clock: () => now++ });
  const sock = `${tm.root}/run/admin.sock`;
  const server = await serveAdmin(tm.manager, sock, () => {}, node);
  const run = (...args: string[]) => ctl(...args, "--socket", sock);
  const sent: string[] = [];
  try {
    await t.step("status", async () => {
      const text = await okRun(run, "node", "status");
      const s = node.dev.status();
      equal(text, nodeText("status", s) + "\n");
      match(text, /^network +regtest$/m);
      match(text, new RegExp(`^tip +0 ${s.tip_hash} \\(\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\)$`, "m"));
      match(text, /^data dir +\(in memory\)$/m);
      deepEqual(JSON.parse(await okRun(run, "node", "status", "--json")), s);
    });

    await t.step("generate N prints a table of the new blocks; --address pays elsewhere", async () => {
      const lines = (await okRun(run, "node", "generate", "3")).trimEnd().split("\n");
      equal(lines.length, 4);
      match(lines[0], /^HEIGHT +HASH$/);
      for (let h = 1; h <= 3; h++) equal(lines[h], `${h}       ${await node.getBlockHash(h)}`);
      const json = JSON.parse(await okRun(run, "node", "generate", "1", "--address", EXTERNAL, "--json"));
      const [header] = json as BlockHeader[];
      deepEqual([json.length, header.height, header.hash], [1, 4, (await node.getTip()).hash]);
      const coinbase = (await node.getBlock(header.hash))!.txids[0];
      equal((await node.getUtxo({ txid: coinbase, vout: 0 }))!.script_pubkey, toHex(addressScript(EXTERNAL)));
      await okRun(run, "node", "generate", "100", "--json");
      equal((await node.getTip()).height, 104);
    });

    await t.step("send ADDRESS SATS [--fee-rate R] pays from the wallet", async () => {
      const [txid, line] = (await okRun(run, "node", "send", EXTERNAL, "150000", "--fee-rate", "4")).trimEnd()
        .split("\n");
      match(txid, HEX64);
      const entry = (await node.getMempoolEntry(txid))!;
      ok(entry, `${txid} is not in the mempool`);
      equal(line, `${entry.fee_sats} sats fee, ${entry.vsize} vB, ${entry.fee_rate.toFixed(3)} sat/vB`);
      // 4 sat/vB on the wallet's size, which counts a 72-byte signature; a real one is 70 to 72 bytes, so
      // the one-input payment may be a vbyte smaller than paid for: 4.000, or up to 4 × 142 / 141 = 4.028.
      ok(entry.fee_sats === 4 * entry.vsize || entry.fee_sats === 4 * (entry.vsize + 1), line);
      const r = JSON.parse(await okRun(run, "node", "send", EXTERNAL, "2000", "--json")) as SendResult;
      match(r.txid, HEX64);
      deepEqual(r, {
        txid: r.txid,
        fee_sats: (await node.getMempoolEntry(r.txid))!.fee_sats,
        fee_rate: r.fee_rate,
        vsize: r.vsize,
      });
      sent.push(txid, r.txid);
    });

    await t.step("mempool lists the transactions", async () => {
      const lines = (await okRun(run, "node", "mempool")).trimEnd().split("\n");
      const info = await node.getMempoolInfo();
      equal(lines[0], `2 txs, ${info.size_bytes} vB, ${info.total_fee_sats} sats in fees, min 1 sat/vB`);
      match(lines[1], /^TXID +VSIZE +FEE +SAT\/VB +DEPENDS$/);
      equal(lines.length, 4);
      deepEqual(lines.slice(2).map((l) => l.split(/ +/)[0]).sort(), [...sent].sort());
      const json = JSON.parse(await okRun(run, "node", "mempool", "--json")) as {
        info: MempoolInfo;
        entries: MempoolEntry[];
      };
      deepEqual(json, { info, entries: node.dev.mempool() });
    });

    await t.step("tx TXID shows a transaction in the mempool, then in a block", async () => {
      const lines = (await okRun(run, "node", "tx", sent[0])).trimEnd().split("\n");
      const tx = (await node.getTransaction(sent[0]))!;
      deepEqual(lines, [sent[0], `${tx.vsize} vB (${tx.size} bytes), in mempool`, toHex(tx.raw)]);
      await okRun(run, "node", "generate", "1");
      const mined = JSON.parse(await okRun(run, "node", "tx", sent[0], "--json")) as Transaction;
      // Bytes are hex in JSON.
      const tx1 = (await node.getTransaction(sent[0]))!;
      deepEqual(mined, { ...tx1, raw: toHex(tx1.raw) });
      equal(mined.block_height, 105);
      const text = await okRun(run, "node", "tx", sent[1]);
      match(text, new RegExp(`in block 105 ${mined.block_hash}, 1 confirmations\n`));
    });

    await t.step("block HEIGHT and block HASH show the same block", async () => {
      const hash = (await node.getBlockHash(105))!;
      const text = await okRun(run, "node", "block", "105");
      const lines = text.trimEnd().split("\n");
      equal(lines[0], `block        105 ${hash}`);
      equal(lines[6], "txs          3");
      deepEqual(lines.slice(8).map((l) => l.trim()).sort(), [...sent].sort());
      equal(await okRun(run, "node", "block", hash), text);
      const block = (await node.getBlock(hash))!;
      deepEqual(JSON.parse(await okRun(run, "node", "block", hash, "--json")) as Block, {
        ...block,
        raw: toHex(block.raw),
      });
    });

    await t.step("reorg DEPTH [--blocks M] replaces the tip", async () => {
      const oldTip = (await node.getTip()).hash;
      const lines = (await okRun(run, "node", "reorg", "2", "--blocks", "3")).trimEnd().split("\n");
      const newTip = (await node.getTip()).hash;
      deepEqual(lines, [
        "reorg at height 103: 2 blocks disconnected, 3 connected",
        `old tip ${oldTip}`,
        `new tip ${newTip}`,
        "mempool now 2 txs",
      ]);
      const r = JSON.parse(await okRun(run, "node", "reorg", "1", "--json")) as ReorgSummary;
      deepEqual(r, {
        old_tip: newTip,
        new_tip: (await node.getTip()).hash,
        fork_height: 105,
        disconnected: 1,
        connected: 2,
        mempool_size: 2,
      });
    });

    await t.step("address prints a new wallet address", async () => {
      const a = (await okRun(run, "node", "address")).trimEnd();
      match(a, /^bcrt1q[0-9a-z]+$/);
      const b = JSON.parse(await okRun(run, "node", "address", "--json")) as { address: string };
      match(b.address, /^bcrt1q/);
      notEqual(a, b.address);
      equal(node.wallet.size, 3);
      equal(node.wallet.address(1), a);
    });

    await t.step("flush prints its result as JSON", async () => {
      const human = JSON.parse(await okRun(run, "node", "flush")) as { pages: number; duration_ms: number };
      equal(human.pages, 0);
      equal(typeof human.duration_ms, "number");
      deepEqual(Object.keys(JSON.parse(await okRun(run, "node", "flush", "--json"))), ["pages", "duration_ms"]);
    });

    await t.step("a host refusal exits 1 printing its error code", async () => {
      const unknown = "ab".repeat(32);
      const tx = await run("node", "tx", unknown);
      equal(tx.code, 1, show(tx));
      match(tx.stderr, new RegExp(`^error \\[NOT_FOUND\\]: No transaction ${unknown}`, "m"));
      equal(tx.stdout, "");
      const block = await run("node", "block", "999");
      equal(block.code, 1, show(block));
      match(block.stderr, /^error \[NOT_FOUND\]: No main-chain block at height 999/m);
      const poor = await run("node", "send", EXTERNAL, "1000000000000000");
      equal(poor.code, 1, show(poor));
      match(poor.stderr, /^error \[INVALID_PARAMS\]: insufficient funds/m);
      const bad = await run("node", "generate", "1", "--address", "nope", "--json");
      equal(bad.code, 1, show(bad));
      const body = JSON.parse(bad.stdout) as { error: { code: string; message: string } };
      equal(body.error.code, "INVALID_PARAMS");
      match(body.error.message, /'nope' is not a regtest address/);
      const deep = await run("node", "reorg", "1000");
      equal(deep.code, 1, show(deep));
      match(deep.stderr, /^error \[INVALID_PARAMS\]: 'depth' must be an integer/m);
    });
  } finally {
    await server.close();
    await node.close();
  }
});

Deno.test("ctl node against a host without a dev node exits 1 with UNAVAILABLE", async () => {
  await using tm = await testManager({}, "", { start: false });
  const sock = `${tm.root}/run/admin.sock`;
  const server = await serveAdmin(tm.manager, sock, () => {});
  try {
    const r = await ctl("node", "status", "--socket", sock);
    equal(r.code, 1, show(r));
    match(r.stderr, /^error \[UNAVAILABLE\]: .*without the embedded dev node/m);
  } finally {
    await server.close();
  }
});

Deno.test("ctl node rejects bad usage with exit code 2, naming the problem, before contacting any host", async (t) => {
  const sock = "/nonexistent/blvm/admin.sock";
  const cases: [string, string[], RegExp][] = [
    ["unknown node subcommand", ["node", "frob"], /error: unknown node command 'frob'; one of status, generate, send/],
    ["no node subcommand", ["node"], /error: 'node' takes 1-3 argument\(s\)/],
    ["too many node arguments", ["node", "send", "a", "1", "x"], /error: 'node' takes 1-3 argument\(s\)/],
    ["generate without a count", ["node", "generate"], /error: 'node generate' takes 1 argument\(s\)/],
    ["generate with two counts", ["node", "generate", "1", "2"], /error: 'node generate' takes 1 argument\(s\)/],
    ["send without an amount", ["node", "send", EXTERNAL], /error: 'node send' takes 2 argument\(s\)/],
    ["status with an argument", ["node", "status", "x"], /error: 'node status' takes 0 argument\(s\)/],
    ["block without an argument", ["node", "block"], /error: 'node block' takes 1 argument\(s\)/],
    ["a non-numeric count", ["node", "generate", "x"], /error: count must be a number, got 'x'/],
    ["a non-numeric amount", ["node", "send", EXTERNAL, "lots"], /error: amount_sats must be a number, got 'lots'/],
    ["a non-numeric depth", ["node", "reorg", "deep"], /error: depth must be a number, got 'deep'/],
    ["a blank depth", ["node", "reorg", " "], /error: depth must be a number, got ' '/],
    ["a bad --fee-rate", ["node", "send", EXTERNAL, "1", "--fee-rate", "x"], /error: --fee-rate must be a number/],
    ["a bad --blocks", ["node", "reorg", "1", "--blocks", "many"], /error: --blocks must be a number, got 'many'/],
  ];
  for (const [what, args, message] of cases) {
    await t.step(what, async () => {
      const r = await ctl(...args, "--socket", sock);
      equal(r.code, 2, show(r));
      match(r.stderr, message);
      match(r.stderr, /Usage: deno task ctl/);
      equal(r.stdout, "");
    });
  }
});
