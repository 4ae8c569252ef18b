/**
 * `deno task start`: runs the host with the modules of the modules directory (see `blvm.toml`),
 * against the embedded regtest dev node, with demo traffic (blocks and wallet payments) so modules
 * have a living chain to follow. The operator controls the running host and the dev node with
 * `deno task ctl` over the admin socket.
 *
 * ```
 * deno run -A src/cli/main.ts [--config FILE] [--modules-dir DIR] [--data-dir DIR] [--runtime-dir DIR]
 *                             [--node-dir DIR] [--block-interval SECONDS] [--tx-interval SECONDS]
 *                             [--no-demo] [--run-for SECONDS] [--no-watch] [--set KEY=VALUE ...]
 *                             [--log-level LEVEL] [--log-format logfmt|json]
 * ```
 *
 * Settings come from the defaults, then `blvm.toml` (or `--config`, or `$BLVM_CONFIG`), then
 * `BLVM_<SECTION>__<KEY>` environment variables, then the command line. The file is watched: a valid
 * edit is applied and published as `ConfigLoaded`; an invalid one is logged and ignored. SIGINT,
 * SIGTERM, `ctl stop` and a failed required module run the shutdown sequence of `docs/JANITORIAL.md`.
 *
 * Exit codes: 0 after a clean stop, 1 if a required module failed or start-up failed, 2 for bad
 * options or configuration.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { ADMIN_SOCKET, type AdminServer, serveAdmin } from "../admin/server.ts";
import { HostRunningError, lockDataRoot } from "../host/host_lock.ts";
import { hostLogger, setupLogging } from "../host/log.ts";
import { ConfigFileError } from "../manager/config_error.ts";
import { ModuleManager } from "../manager/manager.ts";
import { loadNodeConfig, type NodeConfig } from "../manager/node_config.ts";
import { LiveConfig } from "../config/live.ts";
import { envOverrides, type Override, setOverrides } from "../config/overrides.ts";
import { Janitor } from "../janitor/janitor.ts";
import { DevNode } from "../node/dev/node.ts";
import { startDemoTraffic } from "../node/dev/traffic.ts";

const USAGE = `Usage: deno task start [options]
  --config FILE            node configuration (default $BLVM_CONFIG, else ./blvm.toml if it exists)
  --set KEY=VALUE          override one setting, e.g. --set janitor.flush.interval_seconds=60 (repeatable);
                           BLVM_<SECTION>__<KEY>=VALUE environment variables work the same, below --set
  --modules-dir DIR        overrides [modules].modules_dir (default ./modules)
  --data-dir DIR           overrides [modules].data_dir (default ./data/modules)
  --runtime-dir DIR        overrides [modules].runtime_dir: sockets, admin.sock (default ./data/run)
  --no-watch               do not hot-reload modules whose files change, nor the configuration file
  --node-dir DIR           overrides [node].data_dir: the dev node's chain, mempool and wallet (default ./data/node)
  --block-interval SECS    demo traffic: mine a block every SECS seconds (default 10; 0 = never)
  --tx-interval SECS       demo traffic: a wallet payment every SECS seconds (default 2; 0 = never)
  --no-demo                no demo traffic (the chain moves only by 'ctl node' commands and modules)
  --run-for SECS           stop after SECS seconds (default: until SIGINT/SIGTERM or 'ctl stop')
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
      "config": { type: "string" },
      "modules-dir": { type: "string" },
      "data-dir": { type: "string" },
      "runtime-dir": { type: "string" },
      "no-watch": { type: "boolean", default: false },
      "set": { type: "string", multiple: true, default: [] },
      "node-dir": { type: "string" },
      "block-interval": { type: "string" },
      "tx-interval": { type: "string" },
      "no-demo": { type: "boolean", default: false },
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
const runFor = seconds("run-for", args["run-for"], 0);

// The command line's own flags are overrides like --set, so they stay in force across reloads.
const flags: Override[] = [];
const flag = (name: string, path: string, value: unknown) =>
  flags.push({ source: `--${name}`, path: path.split("."), value });
for (
  const [name, path] of [["modules-dir", "modules.modules_dir"], ["data-dir", "modules.data_dir"], [
    "runtime-dir",
    "modules.runtime_dir",
  ], ["node-dir", "node.data_dir"]] as const
) {
  if (args[name]) flag(name, path, resolve(args[name]));
}
if (args["no-watch"]) flag("no-watch", "modules.watch", false);
if (args["block-interval"] !== undefined) {
  flag("block-interval", "node.demo.block_interval", seconds("block-interval", args["block-interval"], 0));
}
if (args["tx-interval"] !== undefined) {
  flag("tx-interval", "node.demo.tx_interval", seconds("tx-interval", args["tx-interval"], 0));
}
if (args["no-demo"]) flag("no-demo", "node.demo.enabled", false);

let config: NodeConfig;
let overrides: Override[];
const configPath = args.config ?? Deno.env.get("BLVM_CONFIG");
try {
  overrides = [...envOverrides(Deno.env.toObject()), ...flags, ...setOverrides(args.set ?? [])];
  config = await loadNodeConfig(configPath, Deno.cwd(), overrides);
} catch (e) {
  if (e instanceof ConfigFileError) fail(e.message);
  throw e;
}
const nodeCfg = config.node;
const demo = nodeCfg.demo;

await setupLogging({ level, format });
const log = hostLogger();

// Refuse before touching the node's store if another host runs on this data dir (the host takes the lock
// for good when it is created below).
try {
  lockDataRoot(config.modules.data_dir).release();
} catch (e) {
  if (!(e instanceof HostRunningError)) throw e;
  log.error("{error}", { error: e.message, pid: e.pid });
  Deno.exit(1);
}
let backend: DevNode;
try {
  backend = DevNode.open({
    dataDir: nodeCfg.data_dir,
    coinbaseAddress: nodeCfg.coinbase_address,
    minFeeRate: nodeCfg.min_fee_rate,
    maxMempoolTxs: nodeCfg.max_mempool_txs,
    mempoolThreshold: nodeCfg.mempool_threshold,
    // The WAL is checkpointed by a worker thread: its fsync never holds the host's event loop.
    backgroundCheckpoints: true,
  });
} catch (e) {
  log.error("Cannot open the dev node in {dir}: {error}", { dir: nodeCfg.data_dir, error: (e as Error).message });
  Deno.exit(1);
}
let stopDemo: (() => void) | undefined;
let stopping = false;
let exitCode = 0;
let manager: ModuleManager;
try {
  manager = await ModuleManager.create({
    config,
    backend,
    // The node's start-up began with this process.
    startedAt: 0,
    // ConfigLoaded is sticky: every module gets it when it subscribes. Published once the manifests are
    // read, so the secrets they declare are redacted.
    onDiscovered: () => live.publish(),
    onFatal: (e) => {
      log.error("{error}; stopping the host", { error: e.message });
      exitCode = 1;
      stop(`error: ${e.message}`);
    },
  });
} catch (e) {
  if (!(e instanceof HostRunningError)) throw e;
  log.error("{error}", { error: e.message, pid: e.pid });
  await backend.close();
  Deno.exit(1);
}
const janitor = new Janitor({ manager, backend, config: config.janitor, nodeDataDir: nodeCfg.data_dir });
const live = new LiveConfig(manager, janitor, { path: configPath, cwd: Deno.cwd(), overrides });
let admin: AdminServer | undefined;
try {
  admin = await serveAdmin(
    manager,
    `${manager.host.runtimeDir}/${ADMIN_SOCKET}`,
    (why) => stop(`admin: ${why}`),
    backend,
    { janitor, live },
  );
} catch (e) {
  log.error("{error}", { error: (e as Error).message });
  await manager.shutdown("start-up failed");
  await backend.close();
  Deno.exit(1);
}
const sandbox = await manager.host.osSandbox();
// Logs loudly by itself when modules would not die with a killed host.
const death = await manager.host.parentDeath();
if (death.available) log.info("Modules die with the host ({setpriv} --pdeathsig KILL)", { setpriv: death.setpriv });
if (sandbox.mode !== "off" && sandbox.probe.available) {
  log.info("Sandbox: OS layer (bubblewrap {bwrap}) and Deno permission flags for every module", {
    bwrap: sandbox.probe.bwrap,
  });
} else if (sandbox.mode === "require") {
  log.error(
    "Sandbox: the OS layer is required ([modules] require_os_sandbox) but unavailable: {reason}. No module can start.",
    {
      reason: sandbox.probe.reason,
    },
  );
} else {
  log.warn(
    "Sandbox: DENO PERMISSION FLAGS ONLY, no OS layer ({reason}). A single hole in Deno's permissions or in the host's import check would reach every file the host's OS user can read. Install bubblewrap (apt-get install bubblewrap), or set [modules] require_os_sandbox = true to refuse modules without it.",
    { reason: sandbox.probe.reason },
  );
}
log.info("Host started: config {config}, dev node {node} at regtest height {height}, admin socket {admin}", {
  config: config.file ?? "(defaults)",
  node: nodeCfg.data_dir,
  height: (await backend.getTip()).height,
  admin: admin.path,
});

async function stop(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  stopDemo?.();
  live.close();
  log.info("Stopping: {reason}", { reason });
  await janitor.shutdown(reason);
  await admin?.close();
  await backend.close();
  Deno.exit(exitCode);
}
Deno.addSignalListener("SIGINT", () => stop("signal: SIGINT"));
Deno.addSignalListener("SIGTERM", () => stop("signal: SIGTERM"));

// Demo traffic starts before the modules, so that its first 101 blocks (a mature coinbase for the
// wallet) are already history when they connect.
if (demo.enabled) {
  stopDemo = startDemoTraffic(backend, {
    blockInterval: demo.block_interval,
    txInterval: demo.tx_interval,
    minFeeRate: demo.min_fee_rate,
    maxFeeRate: demo.max_fee_rate,
  });
  log.info("Demo traffic: a block every {blocks} s, a payment every {txs} s (0 = none)", {
    blocks: demo.block_interval,
    txs: demo.tx_interval,
  });
}
try {
  await manager.start();
} catch (e) {
  log.error("{error}", { error: (e as Error).message });
  exitCode = 1;
  await stop("error: start-up failed");
}
if (!stopping) {
  if (config.modules.watch) live.watch(config.modules.watch_debounce_ms);
  await janitor.start();
}
const running = manager.list().filter((m) => m.state === "running").length;
log.info("{count} of {total} modules running", { count: running, total: manager.list().length });

if (runFor > 0) setTimeout(() => stop(`run-for: ${runFor} s`), runFor * 1000);
