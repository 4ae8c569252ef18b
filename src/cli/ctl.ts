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

const USAGE = `Usage: deno task ctl <command> [args] [--json] [--config FILE | --socket PATH]
  list                      modules with state, pid, uptime, restarts and memory
  inspect NAME              manifest, effective grants, the exact deno command line, recent log lines
  load NAME                 load the module folder NAME and start it
  unload NAME               stop module NAME and remove it
  reload NAME [--approve]   re-read NAME and restart it; --approve accepts wider permissions
  call NAME METHOD [JSON]   call METHOD of module NAME with JSON params (starts a lazy module)
  stop [REASON]             stop the host`;

function usage(message: string): never {
  console.error(`error: ${message}\n\n${USAGE}`);
  Deno.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      approve: { type: "boolean", default: false },
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
else if (rest[0]) params = { name: rest[0] };

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
  result = await admin.call(command, params);
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
else console.log(command === "stop" ? "Host is stopping." : `${command} ${rest[0]}: done`);
