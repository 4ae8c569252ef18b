/**
 * Compiles a module's grants into the exact `deno run` command line it is started with.
 *
 * By default a module may touch only its socket and its data directory, and read the three bootstrap
 * environment variables. Runtime fetches of remote and uncached npm code are off.
 *
 * @module
 */
import { MODULE_ENV } from "../protocol/env.ts";

/** Extra access an operator grants a module on top of the default sandbox. */
export interface Grants {
  /** Extra absolute paths the module may read. */
  read?: string[];
  /** Extra absolute paths the module may write. */
  write?: string[];
  /** Network destinations as `host:port` (or `host`). */
  net?: string[];
  /** Extra environment variable names the module may read (they must also be passed in `env`). */
  env?: string[];
  /** `Deno.*` system info names, for example `loadavg`. */
  sys?: string[];
}

/** Inputs to {@link buildDenoArgs}. */
export interface DenoArgsOptions {
  /** Absolute path of the module's entry file. */
  entry: string;
  /** Absolute path of the module's socket. */
  socketPath: string;
  /** Absolute, real path of the module's data directory. */
  dataDir: string;
  /** The host-vetted `deno.json` (import map and lock) the module runs with. */
  configPath: string;
  /** Operator grants. */
  grants?: Grants;
  /** V8 heap cap in MiB. */
  heapMb?: number;
  /** Leave the data directory readable but not writable (the module is over its disk quota). */
  readOnlyData?: boolean;
}

const SYS_NAMES = new Set([
  "hostname",
  "osRelease",
  "osUptime",
  "loadavg",
  "networkInterfaces",
  "systemMemoryInfo",
  "uid",
  "gid",
  "cpus",
  "homedir",
  "statfs",
]);

/**
 * Build the arguments for `deno` that start one module in its sandbox.
 *
 * @param o Paths, grants and limits.
 * @returns The argument list, beginning with `run`.
 * @throws {TypeError} naming the grant that is malformed or would widen the sandbox unsafely.
 *
 * @example
 * ```ts
 * import { buildDenoArgs } from "@blvm/node";
 * const args = buildDenoArgs({
 *   entry: "/srv/modules/hello/main.ts",
 *   socketPath: "/run/blvm/hello.sock",
 *   dataDir: "/var/lib/blvm/hello",
 *   configPath: "/srv/deno.json",
 * });
 * console.log(args.includes("--allow-net=unix:/run/blvm/hello.sock")); // true
 * ```
 */
export function buildDenoArgs(o: DenoArgsOptions): string[] {
  for (
    const [field, path] of [["entry", o.entry], ["socketPath", o.socketPath], ["dataDir", o.dataDir], [
      "configPath",
      o.configPath,
    ]]
  ) {
    checkPath(field, path);
  }
  const g = o.grants ?? {};
  const read = [o.socketPath, o.dataDir, ...list("read", g.read, checkPath)];
  const write = [o.socketPath, ...(o.readOnlyData ? [] : [o.dataDir]), ...list("write", g.write, checkPath)];
  const net = [`unix:${o.socketPath}`, ...list("net", g.net, checkNet)];
  const env = [MODULE_ENV.moduleId, MODULE_ENV.socket, MODULE_ENV.token, ...list("env", g.env, checkEnv)];
  const sys = list("sys", g.sys, checkSys);
  const args = [
    "run",
    "--no-prompt",
    // No code may be fetched at run time: no remote or JSR imports, nothing outside the cache and lock.
    "--no-remote",
    "--cached-only",
    "--frozen",
    `--config=${o.configPath}`,
    `--allow-net=${net.join(",")}`,
    `--allow-read=${read.join(",")}`,
    `--allow-write=${write.join(",")}`,
    `--allow-env=${env.join(",")}`,
  ];
  if (sys.length) args.push(`--allow-sys=${sys.join(",")}`);
  if (o.heapMb !== undefined) {
    if (!Number.isInteger(o.heapMb) || o.heapMb < 16) {
      throw new TypeError(`Invalid heap limit: 'heapMb' must be an integer >= 16: current value is ${o.heapMb}`);
    }
    args.push(`--v8-flags=--max-old-space-size=${o.heapMb}`);
  }
  args.push(o.entry);
  return args;
}

function list(name: string, values: string[] | undefined, check: (field: string, v: string) => void): string[] {
  if (values === undefined) return [];
  if (!Array.isArray(values)) throw new TypeError(`Invalid grant '${name}': expected a list of strings`);
  values.forEach((v, i) => check(`${name}[${i}]`, v));
  return values;
}

function checkPath(field: string, p: string): void {
  if (typeof p !== "string" || !p.startsWith("/")) {
    throw new TypeError(`Invalid grant ${field}: expected an absolute path, got ${JSON.stringify(p)}`);
  }
  // A comma would split one flag value into two grants.
  if (p.includes(",") || /[\0\n]/.test(p)) {
    throw new TypeError(`Invalid grant ${field}: path ${JSON.stringify(p)} contains a comma, NUL or newline`);
  }
  if (p.split("/").includes("..")) {
    throw new TypeError(`Invalid grant ${field}: path ${JSON.stringify(p)} contains '..'`);
  }
}

function checkNet(field: string, v: string): void {
  if (typeof v !== "string" || !/^[A-Za-z0-9.\-\[\]:]+$/.test(v) || v.startsWith("unix:")) {
    throw new TypeError(`Invalid grant ${field}: expected 'host' or 'host:port', got ${JSON.stringify(v)}`);
  }
}

function checkEnv(field: string, v: string): void {
  if (typeof v !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) {
    throw new TypeError(`Invalid grant ${field}: expected an environment variable name, got ${JSON.stringify(v)}`);
  }
  if (/^(LD_|DYLD_|DENO_)/.test(v)) {
    throw new TypeError(`Invalid grant ${field}: '${v}' would let the module steer the runtime`);
  }
}

function checkSys(field: string, v: string): void {
  if (!SYS_NAMES.has(v)) {
    throw new TypeError(
      `Invalid grant ${field}: unknown sys name ${JSON.stringify(v)}; one of ${[...SYS_NAMES].join(", ")}`,
    );
  }
}
