/**
 * `deno task start`: runs the host against the in-memory regtest chain with the modules found in
 * the modules directory, mining a block at a fixed interval so modules have something to follow.
 *
 * ```
 * deno run -A src/cli/main.ts [--modules-dir DIR] [--data-dir DIR] [--block-interval SECONDS]
 *                             [--run-for SECONDS] [--log-level LEVEL] [--log-format logfmt|json]
 *                             [--module NAME=PATH ...]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Host } from "../host/host.ts";
import { hostLogger, setupLogging } from "../host/log.ts";
import { MemoryBackend } from "../node/memory.ts";

const USAGE = `Usage: deno task start [options]
  --modules-dir DIR        modules to run: each DIR/<name>/main.ts (default ./modules)
  --module NAME=PATH       run this module too (repeatable)
  --data-dir DIR           module data lives in DIR/<name> (default ./data/modules)
  --block-interval SECS    mine a regtest block every SECS seconds (default 5; 0 = never)
  --run-for SECS           stop after SECS seconds (default: until SIGINT/SIGTERM)
  --log-level LEVEL        trace, debug, info, warning, error (default info)
  --log-format FORMAT      logfmt or json (default logfmt)`;

function fail(message: string): never {
  console.error(`error: ${message}\n\n${USAGE}`);
  Deno.exit(2);
}

function seconds(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a non-negative number of seconds, got '${value}'`);
  return n;
}

let args;
try {
  args = parseArgs({
    args: Deno.args,
    options: {
      "modules-dir": { type: "string", default: "./modules" },
      "module": { type: "string", multiple: true, default: [] },
      "data-dir": { type: "string", default: "./data/modules" },
      "block-interval": { type: "string" },
      "run-for": { type: "string" },
      "log-level": { type: "string", default: "info" },
      "log-format": { type: "string", default: "logfmt" },
      "help": { type: "boolean", short: "h" },
    },
  }).values;
} catch (e) {
  fail((e as Error).message);
}
if (args.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const levels = ["trace", "debug", "info", "warning", "error"] as const;
const level = levels.find((l) => l === args["log-level"]) ?? fail(`--log-level must be one of ${levels.join(", ")}`);
const format = args["log-format"] === "json"
  ? "json"
  : args["log-format"] === "logfmt"
  ? "logfmt"
  : fail("--log-format must be logfmt or json");
const interval = seconds("block-interval", args["block-interval"], 5);
const runFor = seconds("run-for", args["run-for"], 0);

await setupLogging({ level, format });
const log = hostLogger();

const specs = new Map<string, string>();
try {
  for await (const entry of Deno.readDir(args["modules-dir"])) {
    const main = `${args["modules-dir"]}/${entry.name}/main.ts`;
    if (entry.isDirectory && await Deno.stat(main).then((s) => s.isFile, () => false)) specs.set(entry.name, main);
  }
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
  log.warn("Modules directory {dir} does not exist", { dir: args["modules-dir"] });
}
for (const m of args.module) {
  const eq = m.indexOf("=");
  if (eq < 1) fail(`--module must be NAME=PATH, got '${m}'`);
  specs.set(m.slice(0, eq), m.slice(eq + 1));
}

const backend = new MemoryBackend();
const host = await Host.create({ backend, dataDir: args["data-dir"] });
log.info("Host started: regtest tip {height}, runtime dir {dir}", {
  height: (await backend.getTip()).height,
  dir: host.runtimeDir,
});

// Start in a stable order; one module failing never stops the others.
for (const [name, entry] of [...specs].sort(([a], [b]) => a.localeCompare(b))) {
  try {
    await host.startModule({ name, entry });
  } catch (e) {
    log.error("{error}", { error: (e as Error).message });
  }
}
log.info("{count} of {total} modules running", { count: host.modules.length, total: specs.size });

const timer = interval > 0 ? setInterval(() => backend.mine(1), interval * 1000) : undefined;
let stopping = false;
async function stop(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  log.info("Stopping: {reason}", { reason });
  await host.shutdown(reason);
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
if (runFor > 0) setTimeout(() => stop(`ran for ${runFor} s`), runFor * 1000);
