/**
 * Starting modules: spawn → handshake done for one module and for many started together
 * (`Host.startModule`, the default sandbox), beside empty `deno run`s; and the idle resident memory
 * of one module's Deno process, beside an idle empty Deno process.
 *
 * @module
 */
import { residentBytes } from "../../mod.ts";
import { BenchHost } from "../_bench_host.ts";
import { emptyRuns, idleDenoRss } from "../_procs.ts";
import { sleep, timed } from "../_stats.ts";
import type { FigureGroup } from "./_group.ts";

const group = "startup";
const IDLE = new URL("../idle_module.ts", import.meta.url).pathname;
const MiB = 1024 * 1024;

/** Start-up time and idle memory. */
export const startup: FigureGroup = {
  name: group,
  figures: (c) => [
    {
      id: "spawn_one_ms",
      group,
      title: "one module: spawn → handshake done",
      unit: "ms",
      baseline: "an empty `deno run` of a file that prints and exits",
      method: "Host.startModule of an idle module under the default sandbox (bubblewrap when it works, Deno's " +
        "flags), on a host that has already started one module (its module runtime and probes are warm).",
      target: { on: "ratio", op: "<=", limit: 1.2 },
    },
    {
      id: "spawn_together_ms",
      group,
      title: `${c.together} modules started together`,
      unit: "ms",
      baseline: `${c.together} empty \`deno run\`s started together, to the last exit`,
      method: `Promise.all of ${c.together} Host.startModule calls, to the last handshake.`,
      target: { on: "ratio", op: "<=", limit: 1.2 },
    },
    {
      id: "idle_rss_mib",
      group,
      title: "idle RSS of one module process",
      unit: "MiB",
      baseline: "an idle empty `deno run` process",
      method: `VmRSS of the module's own Deno process (not bubblewrap's) ${c.settle_ms} ms after its handshake, ` +
        "and of an idle Deno process the same time after it printed.",
    },
  ],
  open(c) {
    return Promise.resolve({
      async round() {
        const bench = await BenchHost.create();
        try {
          const { host } = bench;
          await host.startModule({ name: "warm", entry: IDLE });
          await host.stopModule("warm");
          const one = await emptyRuns(1);
          let handle;
          const started = await timed(async () => handle = await host.startModule({ name: "one", entry: IDLE }));
          const [rss, idleRss] = await Promise.all([
            sleep(c.settle_ms).then(() => residentBytes(handle!.pid)),
            idleDenoRss(c.settle_ms),
          ]);
          if (!rss) throw new Error("no RSS for the module's process");
          await host.stopModule("one");
          const many = await emptyRuns(c.together);
          const names = Array.from({ length: c.together }, (_, i) => `idle${i}`);
          const together = await timed(() => Promise.all(names.map((name) => host.startModule({ name, entry: IDLE }))));
          return {
            spawn_one_ms: { value: started, baseline: one },
            spawn_together_ms: { value: together, baseline: many },
            idle_rss_mib: { value: rss / MiB, baseline: idleRss / MiB },
          };
        } finally {
          await bench.close();
        }
      },
      close: () => Promise.resolve(),
    });
  },
};
