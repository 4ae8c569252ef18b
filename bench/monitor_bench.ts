/**
 * `deno task bench:monitor`: what the janitor's monitoring costs the host, with 8 idle modules.
 *
 * Two measurements, both in this run:
 *
 * 1. **Per check**: the time one resource check (8 modules: `/proc` CPU and memory, request counters)
 *    and one disk check (statfs of every watched path) take, median over many calls. Dividing by the
 *    default intervals (resources 5 s, disk 30 s) gives the steady cost in percent of one core.
 * 2. **Whole host, end to end**: the host process's CPU time (`process.cpuUsage()`) over windows with
 *    the janitor's schedules off, at their defaults, and at a fast setting (resources and disk every
 *    1 s, health every 5 s), interleaved round by round. The difference to the "off" window of the
 *    same round is the monitoring cost.
 *
 *   deno task bench:monitor [--rounds 3] [--window 10]
 *
 * @module
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { DevNode, Janitor, ModuleManager, parseJanitorConfig, parseNodeConfig, setupLogging } from "../mod.ts";
import { median } from "./_stats.ts";

await setupLogging({ level: "warning" });

const opts = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "3" }, window: { type: "string", default: "10" } },
}).values;
const ROUNDS = Number(opts.rounds), WINDOW_S = Number(opts.window), MODULES = 8;
const pct = (n: number) => `${n.toFixed(3)} %`;

const root = await Deno.makeTempDir({ prefix: "blvm-monitor-bench-" });
const entry = new URL("./idle_module.ts", import.meta.url).pathname;
for (let i = 0; i < MODULES; i++) {
  const dir = `${root}/modules/idle${i}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/module.toml`, `name = "idle${i}"\nversion = "1.0.0"\nentry_point = "main.ts"\n`);
  // A copy: a module may import only files inside its own folder (and the SDK).
  await Deno.copyFile(entry, `${dir}/main.ts`);
}
// Limits on every module, so each check does all its readings (disk only where a quota is set).
const limits = Array.from(
  { length: MODULES },
  (_, i) =>
    `[modules.idle${i}.limits]\nmemory_mb = 1024\ncpu_percent = 90\nrequests_per_second = 1000\n${
      i === 0 ? "disk_mb = 100\n" : ""
    }`,
)
  .join("");
const config = parseNodeConfig(
  (await import("smol-toml")).parse(
    `[modules]\nmodules_dir = "modules"\ndata_dir = "data"\nruntime_dir = "run"\nwatch = false\n${limits}[node]\ndata_dir = "node"\n`,
  ) as Record<string, unknown>,
  `${root}/blvm.toml`,
  root,
);
const backend = DevNode.open();
const manager = await ModuleManager.create({ config, backend });
await manager.start();
const running = manager.list().filter((m) => m.state === "running").length;
console.log(`${running} idle modules running; host pid ${Deno.pid}`);

const janitorConfig = (fast: boolean) =>
  parseJanitorConfig(
    fast
      ? {
        resources: { interval_seconds: 1 },
        disk: { interval_seconds: 1 },
        health: { interval_seconds: 5 },
        flush: { interval_seconds: 0 },
        cleanup: { interval_hours: 0 },
      }
      : {},
    "blvm.toml",
    root,
  );

// 1. Per-check cost.
const probe = new Janitor({ manager, backend, config: janitorConfig(false) });
await probe.resources.check();
const resourceUs: number[] = [], diskUs: number[] = [];
for (let i = 0; i < 200; i++) {
  let t = performance.now();
  await probe.resources.check();
  resourceUs.push((performance.now() - t) * 1000);
  t = performance.now();
  probe.disk.check();
  diskUs.push((performance.now() - t) * 1000);
}
probe.stop();
const r = median(resourceUs), d = median(diskUs);
console.log(`\nPer check, median of 200: resources (8 modules) ${r.toFixed(0)} µs, disk ${d.toFixed(0)} µs`);
console.log(
  `Steady cost at the default intervals (resources 5 s, disk 30 s): ${pct((r / 5e6 + d / 30e6) * 100)} of one core`,
);

// 2. End to end, interleaved windows.
async function window(mode: "off" | "default" | "fast"): Promise<number> {
  const janitor = mode === "off"
    ? undefined
    : new Janitor({ manager, backend, config: janitorConfig(mode === "fast") });
  if (janitor) await janitor.start();
  const c0 = process.cpuUsage(), t0 = performance.now();
  await new Promise((res) => setTimeout(res, WINDOW_S * 1000));
  const c = process.cpuUsage(c0), wall = (performance.now() - t0) * 1000;
  janitor?.stop();
  return (c.user + c.system) / wall * 100;
}
const rows: Record<string, number[]> = { off: [], default: [], fast: [], "default - off": [], "fast - off": [] };
for (let i = 0; i < ROUNDS; i++) {
  const off = await window("off"), def = await window("default"), fast = await window("fast");
  rows.off.push(off);
  rows.default.push(def);
  rows.fast.push(fast);
  rows["default - off"].push(def - off);
  rows["fast - off"].push(fast - off);
  console.log(`round ${i + 1}: off ${pct(off)}, default ${pct(def)}, fast ${pct(fast)} of one core`);
}
console.log(`\nHost CPU with ${MODULES} idle modules, median of ${ROUNDS} rounds of ${WINDOW_S} s:`);
for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(14)} ${pct(median(v))}`);
console.log(`Goal: monitoring under 0.5 % of one core → ${median(rows["default - off"]) < 0.5 ? "met" : "NOT met"}`);

await manager.shutdown("bench done");
await backend.close();
await Deno.remove(root, { recursive: true });
