/**
 * `deno task bench:slow-reader`: the host's memory while a module sends requests as fast as it can and never
 * reads the replies (tests/fixtures/misbehave_module.ts, scenario `flood_no_read`), with the default
 * outgoing byte budget (32 MiB) and, as the baseline in the same run, with the budget out of reach (the
 * behaviour before it existed), each for at most `--seconds`. A bystander module is pinged throughout and
 * the slowest answer is reported.
 *
 *   deno task bench:slow-reader [--seconds 6]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DevNode, Host, setupLogging } from "../mod.ts";

await setupLogging({ level: "error" });
const SECONDS = Number(
  parseArgs({ args: Deno.args, options: { seconds: { type: "string", default: "6" } } }).values.seconds,
);
const fixtures = new URL("../tests/fixtures/", import.meta.url).pathname;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;

async function run(label: string, maxOutgoingBytes: number) {
  const dataDir = await Deno.makeTempDir({ prefix: "blvm-flood-bench-" });
  const backend = DevNode.open();
  const host = await Host.create({ backend, dataDir, maxOutgoingBytes });
  const bystander = await host.startModule({ name: "bystander", entry: `${fixtures}echo_module.ts` });
  const before = Deno.memoryUsage().rss;
  const m = await host.startModule({
    name: "flooder",
    entry: `${fixtures}misbehave_module.ts`,
    env: { BLVM_TEST_SCENARIO: "flood_no_read" },
    grants: { env: ["BLVM_TEST_SCENARIO"] },
  });
  let peak = before, slowest = 0, cutOff: string | undefined;
  m.session.closed.then((c) => cutOff = `${c.code} after ${m.session.stats.calls + m.session.stats.errors} replies`);
  const t0 = performance.now();
  while (!cutOff && performance.now() - t0 < SECONDS * 1000) {
    const p0 = performance.now();
    await bystander.session.invoke("echo", {});
    slowest = Math.max(slowest, performance.now() - p0);
    peak = Math.max(peak, Deno.memoryUsage().rss);
    await new Promise((r) => setTimeout(r, 50));
  }
  const after = Deno.memoryUsage().rss;
  console.log(
    `| ${label} | ${mib(before)} | ${mib(peak)} (+${mib(peak - before)}) | ${mib(after)} | ${
      cutOff ?? `still connected after ${SECONDS} s`
    } | ${slowest.toFixed(0)} ms |`,
  );
  await host.shutdown();
  await backend.close();
  await Deno.remove(dataDir, { recursive: true });
}

console.log("| budget | host RSS before | peak | at the end | the flooder | slowest bystander call |");
console.log("| --- | ---: | ---: | ---: | --- | ---: |");
await run("32 MiB (default)", 32 * 1024 * 1024);
await run("none (baseline)", 2 ** 40);
