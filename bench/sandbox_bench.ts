/**
 * `deno task bench:sandbox`: what the OS layer of the sandbox (bubblewrap) costs, measured beside Deno's
 * flags alone in the same run.
 *
 * Per round, interleaved, for each layer: start one idle module on a fresh data dir (first start) and
 * start it again (restart), timing `startModule` from the spawn to the completed handshake; then the
 * idle resident memory of the module's processes (the Deno process, plus bubblewrap's two processes
 * under the OS layer), read from `/proc` after a short settle. Baselines in the same run: an empty
 * `deno run` of a file that prints and exits, and the raw spawn of `bwrap … deno --version`.
 *
 *   deno task bench:sandbox [--rounds 5]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { bwrapArgs, DevNode, Host, probeOsSandbox, residentBytes, setupLogging } from "../mod.ts";
import { emptyRuns, treeRss } from "./_procs.ts";
import { median, timed } from "./_stats.ts";

await setupLogging({ level: "warning" });
const ROUNDS = Number(
  parseArgs({ args: Deno.args, options: { rounds: { type: "string", default: "5" } } }).values.rounds,
);
const deno = Deno.execPath();
const probe = await probeOsSandbox(deno);
if (!probe.available) {
  console.error(`The OS layer is unavailable (${probe.reason}); install bubblewrap to compare.`);
  Deno.exit(1);
}
const ms = (n: number) => `${n.toFixed(1)} ms`;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const entry = new URL("./idle_module.ts", import.meta.url).pathname;
const empty = await Deno.makeTempFile({ suffix: ".ts" });

type Sample = { first: number; restart: number; rss: number; denoRss: number };
const samples: Record<"deno" | "os", Sample[]> = { deno: [], os: [] };
const baseline = { emptyRun: [] as number[], bwrapVersion: [] as number[] };

for (let round = 0; round < ROUNDS; round++) {
  baseline.emptyRun.push(await emptyRuns(1));
  const wrap = bwrapArgs({ denoPath: deno, readOnly: [], dataDir: "/tmp", socketPath: empty });
  baseline.bwrapVersion.push(
    await timed(() => new Deno.Command(probe.bwrap!, { args: [...wrap, deno, "--version"], stdout: "null" }).output()),
  );
  for (const layer of ["deno", "os"] as const) {
    const dataDir = await Deno.makeTempDir({ prefix: "blvm-sandbox-bench-" });
    const backend = DevNode.open();
    const host = await Host.create({ backend, dataDir, osSandbox: layer === "os" ? "require" : "off" });
    const start = () => host.startModule({ name: "idle", entry });
    const first = await timed(start);
    await host.stopModule("idle");
    let handle;
    const restart = await timed(async () => handle = await start());
    await new Promise((r) => setTimeout(r, 1500));
    samples[layer].push({
      first,
      restart,
      rss: treeRss(handle!.process.pid),
      denoRss: residentBytes(handle!.pid) ?? 0,
    });
    await host.shutdown();
    await backend.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}
await Deno.remove(empty);

const m = (layer: "deno" | "os", k: keyof Sample) => median(samples[layer].map((s) => s[k]));
const emptyRun = median(baseline.emptyRun);
console.log(`\nbench:sandbox, ${ROUNDS} rounds, medians (bwrap ${probe.bwrap})\n`);
console.log("| measure | Deno flags only | OS layer + Deno flags | OS / Deno |");
console.log("| --- | ---: | ---: | ---: |");
for (
  const [label, k] of [["first start: spawn → handshake", "first"], ["restart: spawn → handshake", "restart"]] as const
) {
  console.log(`| ${label} | ${ms(m("deno", k))} | ${ms(m("os", k))} | ${(m("os", k) / m("deno", k)).toFixed(2)}× |`);
}
console.log(
  `| idle RSS, the module's Deno process | ${mib(m("deno", "denoRss"))} | ${mib(m("os", "denoRss"))} | ${
    (m("os", "denoRss") / m("deno", "denoRss")).toFixed(2)
  }× |`,
);
console.log(
  `| idle RSS, every process of the module | ${mib(m("deno", "rss"))} | ${mib(m("os", "rss"))} | ${
    (m("os", "rss") / m("deno", "rss")).toFixed(2)
  }× |`,
);
console.log(
  `\nBaselines in the same run: empty \`deno run\` ${ms(emptyRun)}; \`bwrap … deno --version\` ${
    ms(median(baseline.bwrapVersion))
  }.`,
);
console.log(
  `Restart vs empty deno run: Deno flags only ${(m("deno", "restart") / emptyRun).toFixed(2)}×, OS layer ${
    (m("os", "restart") / emptyRun).toFixed(2)
  }×.`,
);
