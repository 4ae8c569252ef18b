// `deno task ctl node ...` as a real subprocess against a real admin socket, with values the host must
// refuse clearly: integers beyond 2^53 (they cross MessagePack as bigints, which once made the host
// answer "INTERNAL: Do not know how to serialize a BigInt"), amounts beyond 21,000,000 BTC or not
// whole positive sats, and a dev node whose store is full.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { connectAdmin, DevNode, RemoteError, serveAdmin } from "../../mod.ts";
import { NODE_METHODS } from "../../src/admin/node_commands.ts";
import { testManager } from "../manager/_managed.ts";
import { DISK_FULL, openCapped, withDir } from "../node/dev/_store_faults.ts";
import { ctl, type Run, show } from "./_ctl.ts";

const EXTERNAL = "bcrt1q2vrjxm3d2pc58hjzr95wkk8qmc2v0re0fr63h3";
const MAX = 2_100_000_000_000_000;
const AMOUNT = (got: string) =>
  new RegExp(
    `^error \\[INVALID_PARAMS\\]: Parameter 'amount_sats' must be a whole number of sats from 1 to ${MAX} ` +
      `\\(21,000,000 BTC\\), got ${got.replace(/[.+]/g, "\\$&")}$`,
    "m",
  );

/** A refusal: exit 1, the code and message on stderr, nothing on stdout, never INTERNAL or a BigInt crash. */
function refused(r: Run, message: RegExp): void {
  equal(r.code, 1, show(r));
  equal(r.stdout, "", show(r));
  match(r.stderr, message);
  ok(!/INTERNAL|BigInt/.test(r.stderr), show(r));
}

Deno.test("ctl node refuses amounts beyond 21,000,000 BTC or not whole sats, bigints included, naming the value", async (t) => {
  await using tm = await testManager({}, "", { start: false });
  const node = DevNode.open();
  node.dev.generate(101);
  const sock = `${tm.root}/run/admin.sock`;
  const server = await serveAdmin(tm.manager, sock, () => {}, node);
  const run = (...args: string[]) => ctl(...args, "--socket", sock);
  try {
    await t.step("node send ADDR 99999999999999999 (the issue's case)", async () => {
      refused(await run("node", "send", EXTERNAL, "99999999999999999"), AMOUNT("99999999999999999"));
      const json = await run("node", "send", EXTERNAL, "99999999999999999", "--json");
      equal(json.code, 1, show(json));
      const { error } = JSON.parse(json.stdout) as { error: { code: string; message: string } };
      equal(error.code, "INVALID_PARAMS");
      match(`error [${error.code}]: ${error.message}`, AMOUNT("99999999999999999"));
    });

    await t.step("every other amount out of range, as the operator typed it", async () => {
      const cases: [string, string][] = [
        [String(MAX + 1), String(MAX + 1)], // a safe integer, one sat above the limit
        ["18446744073709551615", "18446744073709551615"], // the largest uint64
        ["123456789012345678901234567890", '"123456789012345678901234567890"'], // beyond 64 bits: sent as typed
        ["-99999999999999999", "-99999999999999999"],
        ["0", "0"],
        ["-5", "-5"],
        ["1.5", "1.5"],
        ["1e300", "1e+300"],
      ];
      // After `--`, so that the negative ones are not taken for options.
      const runs = await Promise.all(
        cases.map(([amount]) => ctl("node", "send", "--socket", sock, "--", EXTERNAL, amount)),
      );
      runs.forEach((r, i) => refused(r, AMOUNT(cases[i][1])));
      // The limit itself is a valid amount: the wallet, not the parameter check, refuses it.
      refused(await run("node", "send", EXTERNAL, String(MAX)), /^error \[INVALID_PARAMS\]: insufficient funds/m);
    });

    await t.step("bigints in the other numeric params are refused naming the param and the value", async () => {
      const big = "99999999999999999";
      const runs = await Promise.all([
        run("node", "generate", big),
        run("node", "reorg", big),
        run("node", "block", big),
        run("node", "send", EXTERNAL, "1000", "--fee-rate", big),
        run("node", "reorg", "1", "--blocks", big),
      ]);
      const names = ["count", "depth", "height", "fee_rate", "blocks"];
      runs.forEach((r, i) =>
        refused(
          r,
          new RegExp(`^error \\[INVALID_PARAMS\\]: Parameter '${names[i]}' must be a number .*, got ${big}$`, "m"),
        )
      );
    });

    await t.step("nothing of the refused commands reached the node", () => {
      equal(node.dev.status().height, 101);
      deepEqual(node.dev.mempool(), []);
    });
  } finally {
    await server.close();
    await node.close();
  }
});

Deno.test("the admin socket answers bigint params of every node method without INTERNAL", async () => {
  await using tm = await testManager({}, "", { start: false });
  const node = DevNode.open();
  const sock = `${tm.root}/run/admin.sock`;
  const server = await serveAdmin(tm.manager, sock, () => {}, node);
  const admin = await connectAdmin(sock);
  try {
    const big = 2n ** 63n + 5n;
    const params = {
      count: big,
      amount_sats: big,
      fee_rate: big,
      depth: big,
      blocks: big,
      height: big,
      address: EXTERNAL,
      hash: "00".repeat(32),
      txid: "00".repeat(32),
    };
    for (const method of [...NODE_METHODS, "janitor.maintenance", "janitor.cleanup"]) {
      const p = method.startsWith("janitor.") ? { type: big, target_age_days: big } : params;
      const outcome = await admin.call(method, p).then(() => "ok", (e) => e);
      if (outcome === "ok") continue; // status, mempool, address and flush take no numbers
      ok(outcome instanceof RemoteError, `${method}: ${outcome}`);
      ok(
        outcome.code !== "INTERNAL" && !/BigInt/.test(outcome.message),
        `${method}: ${outcome.code} ${outcome.message}`,
      );
      if (["node.generate", "node.send", "node.block", "node.reorg"].includes(method)) {
        equal(outcome.code, "INVALID_PARAMS", `${method}: ${outcome.message}`);
        ok(outcome.message.includes(String(big)), `${method} names the value: ${outcome.message}`);
      }
    }
  } finally {
    await admin.close();
    await server.close();
    await node.close();
  }
});

Deno.test("ctl node send on a full store names the cause: UNAVAILABLE, database or disk is full", async () => {
  await withDir(async (dir) => {
    await using tm = await testManager({}, "", { start: false });
    const { node, fill } = openCapped(dir);
    const sock = `${tm.root}/run/admin.sock`;
    const server = await serveAdmin(tm.manager, sock, () => {}, node);
    try {
      node.dev.generate(101);
      fill();
      // Payments whose rows still fit in the pages' free space go through; pay until one does not.
      for (let i = 0; i < 1000; i++) {
        try {
          node.dev.send(EXTERNAL, 10_000, 2);
        } catch {
          break;
        }
      }
      let r: Run | undefined;
      for (let i = 0; i < 50 && (!r || r.code === 0); i++) {
        r = await ctl("node", "send", EXTERNAL, String(10_000 + i), "--socket", sock);
      }
      refused(r!, /^error \[UNAVAILABLE\]: Cannot write the dev node store .*node\.sqlite: /m);
      match(r!.stderr, DISK_FULL);
      ok(!r!.stderr.includes("rollback"), show(r!));
    } finally {
      await server.close();
      await node.close();
    }
  });
});
