/**
 * `deno task ctl`: the operator's command line for a running host, over its admin socket.
 *
 * ```
 * deno task ctl list                      modules: state, pid, uptime, restarts, memory
 * deno task ctl inspect NAME              manifest, grants, the exact deno command line, recent logs
 * deno task ctl load NAME                 load a module folder and start it
 * deno task ctl unload NAME               stop a module and remove it
 * deno task ctl reload NAME [--approve]   re-read a module and restart it (--approve: accept wider permissions)
 * deno task ctl call NAME METHOD [JSON]   call a method the module registered (starts a lazy module)
 * deno task ctl stop [REASON]             stop the host
 * deno task ctl node status               dev node: tip, mempool, fee estimate, wallet
 * deno task ctl node generate N [--address A]      mine N blocks
 * deno task ctl node send ADDRESS SATS [--fee-rate R]  pay from the dev wallet
 * deno task ctl node mempool | block HASH|HEIGHT | tx TXID | reorg DEPTH [--blocks M] | address | flush
 * deno task ctl janitor                   schedules, acknowledgements per module, disks, recent runs
 * deno task ctl flush | health [--last] | cleanup [--age DAYS] | maintenance backup|cleanup|prune
 * deno task ctl resources                 module memory, CPU, disk, requests against their limits; actions
 * deno task ctl config [reload]           the configuration in force (secrets redacted), or reload it
 * deno task ctl keygen | sign | verify    module signing, without a host (see signing_commands.ts)
 * options: --json   machine-readable output
 *          --config FILE | --socket PATH  which host (default: runtime_dir of ./blvm.toml)
 * ```
 *
 * Exit codes: 0 success, 1 the host refused (the error code is printed), 2 bad usage, 3 no host.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { connectAdmin } from "../admin/client.ts";
import { ADMIN_SOCKET } from "../admin/server.ts";
import type { ModuleDetail, ModuleStatus } from "../manager/managed.ts";
import { loadNodeConfig } from "../manager/node_config.ts";
import { RemoteError } from "../protocol/errors.ts";
import { inspectText, listTable, toJson } from "./format.ts";
import { nodeText } from "./node_format.ts";
import { janitorText } from "./janitor_format.ts";
import { runSigningCommand, SIGNING_USAGE, signingCommandOf } from "./signing_commands.ts";

const USAGE = `Usage: deno task ctl <command> [args] [--json] [--config FILE | --socket PATH]
  list                      modules with state, pid, uptime, restarts and memory
  inspect NAME              manifest, effective grants, the exact deno command line, recent log lines
  load NAME                 load the module folder NAME and start it
  unload NAME               stop module NAME and remove it
  reload NAME [--approve]   re-read NAME and restart it; --approve accepts wider permissions
  call NAME METHOD [JSON]   call METHOD of module NAME with JSON params (starts a lazy module)
  stop [REASON]             stop the host
  node status               dev node: tip, mempool, fee estimate, wallet balance
  node generate N           mine N blocks (--address A: pay the coinbases to A)
  node send ADDRESS SATS    pay SATS from the dev wallet (--fee-rate R sat/vB; default the estimate)
  node mempool              mempool transactions, highest fee rate first
  node block HASH|HEIGHT    a main-chain block
  node tx TXID              a transaction in the chain or the mempool
  node reorg DEPTH          replace the last DEPTH blocks with a new branch (--blocks M, default DEPTH+1)
  node address              a new dev wallet address
  node flush                write the dev node's state through to its file
  janitor                   schedules, each module's acknowledgements, watched disks, recent runs
  flush                     StorageFlush now: the node and every subscribed module
  health [--last]           run a health check (--last: show the last one) with every module's answer
  cleanup [--age DAYS]      DataCleanup now (default age from [janitor.cleanup])
  maintenance TYPE          backup, cleanup (stale sockets, temp files, old logs) or prune, now
  resources                 module memory, CPU, disk and request rate against their limits, and actions
  config [reload]           the configuration in force, secrets redacted; reload: re-read the file
${SIGNING_USAGE}`;

function usage(message: string): never {
  console.error(`error: ${message}\n\n${USAGE}`);
  Deno.exit(2);
}

// Module signing works on files, without a host.
if (signingCommandOf(Deno.args)) Deno.exit(await runSigningCommand(Deno.args));

let parsed;
try {
  parsed = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      approve: { type: "boolean", default: false },
      address: { type: "string" },
      "fee-rate": { type: "string" },
      blocks: { type: "string" },
      last: { type: "boolean", default: false },
      age: { type: "string" },
      config: { type: "string" },
      socket: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
} catch (e) {
  usage((e as Error).message);
}
const { values: opt, positionals: [command, ...rest] } = parsed;
if (opt.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (!command) usage("a command is required");
const arity: Record<string, [number, number]> = {
  list: [0, 0],
  inspect: [1, 1],
  load: [1, 1],
  unload: [1, 1],
  reload: [1, 1],
  call: [2, 3],
  stop: [0, 1],
  node: [1, 3],
  janitor: [0, 0],
  flush: [0, 0],
  health: [0, 0],
  cleanup: [0, 0],
  maintenance: [1, 1],
  resources: [0, 0],
  config: [0, 1],
};
/** Admin method of each janitorial command. */
const JANITOR_CALLS: Record<string, string> = {
  janitor: "janitor.status",
  resources: "janitor.status",
  flush: "janitor.flush",
  health: "janitor.health",
  cleanup: "janitor.cleanup",
  maintenance: "janitor.maintenance",
};
const NODE_ARITY: Record<string, [number, string[]]> = {
  status: [0, []],
  generate: [1, ["count"]],
  send: [2, ["address", "amount_sats"]],
  mempool: [0, []],
  block: [1, []],
  tx: [1, ["txid"]],
  reorg: [1, ["depth"]],
  address: [0, []],
  flush: [0, []],
};
if (!(command in arity)) usage(`unknown command '${command}'`);
const [min, max] = arity[command];
if (rest.length < min || rest.length > max) {
  usage(`'${command}' takes ${min === max ? min : `${min}-${max}`} argument(s)`);
}

let params: Record<string, unknown> = {};
if (command === "reload") params = { name: rest[0], approve: opt.approve };
else if (command === "call") {
  let p: unknown = {};
  try {
    if (rest[2] !== undefined) p = JSON.parse(rest[2]);
  } catch (e) {
    usage(`JSON params for 'call' do not parse: ${(e as Error).message}`);
  }
  params = { name: rest[0], method: rest[1], params: p };
} else if (command === "stop") params = rest[0] ? { reason: rest[0] } : {};
else if (command === "node") params = nodeParams(rest);
else if (command === "health") params = { last: opt.last };
else if (command === "cleanup") {
  if (opt.age !== undefined && !/^\d+$/.test(opt.age)) usage(`--age must be a whole number of days, got '${opt.age}'`);
  params = opt.age !== undefined ? { target_age_days: Number(opt.age) } : {};
} else if (command === "maintenance") params = { type: rest[0] };
else if (command === "config") {
  if (rest[0] !== undefined && rest[0] !== "reload") usage(`'config' takes nothing or 'reload', got '${rest[0]}'`);
} else if (rest[0]) params = { name: rest[0] };

/** `ctl node SUB ARGS`: the admin method's params, numbers parsed, options applied. */
function nodeParams([sub, ...args]: string[]): Record<string, unknown> {
  const spec = NODE_ARITY[sub];
  if (!spec) usage(`unknown node command '${sub}'; one of ${Object.keys(NODE_ARITY).join(", ")}`);
  if (args.length !== spec[0]) usage(`'node ${sub}' takes ${spec[0]} argument(s)`);
  // An integer too large for a number is sent exactly, as a bigint (MessagePack int64/uint64), or as
  // the text typed if even that cannot hold it: the host refuses it naming the value and the limit.
  const number = (name: string, v: string): number | bigint | string => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) usage(`${name} must be a number, got '${v}'`);
    if (Number.isSafeInteger(n) || !/^\s*[+-]?\d+\s*$/.test(v)) return n;
    const big = BigInt(v.trim());
    return big >= -(1n << 63n) && big < 1n << 64n ? big : v.trim();
  };
  const p: Record<string, unknown> = {};
  if (sub === "block") {
    if (/^\d+$/.test(args[0])) p.height = number("height", args[0]);
    else p.hash = args[0];
  } else {spec[1].forEach((name, i) =>
      p[name] = ["count", "amount_sats", "depth"].includes(name) ? number(name, args[i]) : args[i]
    );}
  const only = (option: string, command: string) => {
    if (sub !== command) usage(`--${option} applies to 'node ${command}' only`);
  };
  if (opt.address !== undefined) {
    only("address", "generate");
    p.address = opt.address;
  }
  if (opt["fee-rate"] !== undefined) {
    only("fee-rate", "send");
    p.fee_rate = number("--fee-rate", opt["fee-rate"]);
  }
  if (opt.blocks !== undefined) {
    only("blocks", "reorg");
    p.blocks = number("--blocks", opt.blocks);
  }
  return p;
}

let socket = opt.socket ? resolve(opt.socket) : undefined;
if (!socket) {
  try {
    socket = `${(await loadNodeConfig(opt.config)).modules.runtime_dir}/${ADMIN_SOCKET}`;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(2);
  }
}

function report(e: unknown, exitCode: number): never {
  const code = e instanceof RemoteError ? e.code : "ERROR";
  if (opt.json) console.log(JSON.stringify({ error: { code, message: (e as Error).message } }, null, 2));
  else console.error(`error [${code}]: ${(e as Error).message}`);
  Deno.exit(exitCode);
}

const admin = await connectAdmin(socket).catch((e) => report(e, 3));
let result: unknown;
try {
  const method = command === "node"
    ? `node.${rest[0]}`
    : command === "config"
    ? (rest[0] ? "config.reload" : "config.show")
    : JANITOR_CALLS[command] ?? command;
  result = await admin.call(method, params);
} catch (e) {
  report(e, 1);
} finally {
  await admin.close();
}
if (opt.json) console.log(toJson(result, 2));
else if (command === "list") console.log(listTable(result as ModuleStatus[]));
else if (command === "inspect") console.log(inspectText(result as ModuleDetail));
else if (command === "load") console.log(listTable([result as ModuleStatus]));
else if (command === "reload") {
  const r = result as { old_version: string | null; new_version: string; success: boolean };
  console.log(`${rest[0]}: ${r.old_version ?? "-"} → ${r.new_version}${r.success ? "" : " (did not start)"}`);
  if (!r.success) Deno.exit(1);
} else if (command === "call") console.log(toJson(result, 2));
else if (command === "node") console.log(nodeText(rest[0], result));
else if (command in JANITOR_CALLS || command === "config") {
  console.log(janitorText(command, result));
  const failed = result as { success?: boolean; applied?: boolean; error?: string } | null;
  if (failed?.success === false || failed?.error) Deno.exit(1);
} else console.log(command === "stop" ? "Host is stopping." : `${command} ${rest[0]}: done`);
