/**
 * Value rules shared by `module.toml` and the node's `[modules]` settings: module names,
 * capabilities, semver ranges, and the network, environment, system and path grants.
 *
 * @module
 */
import { CUSTOM_EVENT_RE, eventSpec } from "../protocol/events/mod.ts";
import { isAbsolute, normalize } from "node:path";
import semver from "semver";
import { z } from "zod";
import { describeValue } from "./config_error.ts";

/** Every capability a module may declare, in snake_case. */
export const CAPABILITIES: readonly string[] = Object.freeze([
  ...["read_blockchain", "read_utxo", "read_chain_state", "subscribe_events", "send_transactions", "read_mempool"],
  ...["read_network", "network_access", "read_lightning", "read_payment", "read_storage", "write_storage"],
  ...["manage_storage", "read_filesystem", "write_filesystem", "manage_filesystem", "register_rpc_endpoint"],
  ...["manage_timers", "report_metrics", "read_metrics", "discover_modules", "publish_events", "call_module"],
  ...["register_module_api", "submit_block", "queue_inbound_block"],
]);

/** The `Deno.*` system info names a module may be granted (as in `src/host/permissions.ts`). */
export const SYS_NAMES: readonly string[] = Object.freeze([
  ...["hostname", "osRelease", "osUptime", "loadavg", "networkInterfaces", "systemMemoryInfo", "uid", "gid"],
  ...["cpus", "homedir", "statfs"],
]);

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const EVENT_RE = /^[A-Z][A-Za-z0-9]{0,63}$/;
/** Hex bytes. */
export const HEX_RE = /^(?:[0-9a-fA-F]{2})+$/;
const json = (v: unknown) => describeValue(v);

/**
 * A module name: `^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`.
 *
 * @example
 * ```ts
 * import { moduleNameSchema } from "./rules.ts";
 * console.log(moduleNameSchema.safeParse("hello-world").success, moduleNameSchema.safeParse("../x").success); // true false
 * ```
 */
export const moduleNameSchema: z.ZodType<string> = z.string().refine((v) => NAME_RE.test(v), {
  error: (i) =>
    `expected a module name (letters, digits, '_' and '-', at most 64, starting with a letter or digit), got ${
      json(i.input)
    }`,
});

/**
 * A capability name in snake_case or PascalCase; the output is always snake_case.
 *
 * @example
 * ```ts
 * import { capabilitySchema } from "./rules.ts";
 * console.log(capabilitySchema.parse("ReadBlockchain")); // "read_blockchain"
 * ```
 */
export const capabilitySchema: z.ZodType<string, string> = z.string().transform((v, ctx) => {
  const snake = /^[A-Z][A-Za-z0-9]*$/.test(v) ? v.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase() : v;
  if (CAPABILITIES.includes(snake)) return snake;
  ctx.addIssue({ code: "custom", message: `unknown capability ${json(v)}`, input: v });
  return z.NEVER;
});

/**
 * A semver range that `semver.validRange` accepts, for example `^1.2.0` or `>=1.0.0 <2.0.0`.
 *
 * @example
 * ```ts
 * import { semverRangeSchema } from "./rules.ts";
 * console.log(semverRangeSchema.safeParse("^1.2").success, semverRangeSchema.safeParse("one").success); // true false
 * ```
 */
export const semverRangeSchema: z.ZodType<string> = z.string().refine(
  (v) => v.trim() !== "" && semver.validRange(v) !== null,
  { error: (i) => `expected a semver range such as "^1.2.0", got ${json(i.input)}` },
);

/**
 * A network grant, `host` or `host:port` (IPv6 in brackets), never `unix:`.
 *
 * @example
 * ```ts
 * import { netEntrySchema } from "./rules.ts";
 * console.log(netEntrySchema.safeParse("api.example.com:443").success); // true
 * console.log(netEntrySchema.safeParse("unix:/tmp/x.sock").success); // false
 * ```
 */
export const netEntrySchema: z.ZodType<string> = z.string().refine((v) => {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(v);
  return m !== null && !v.startsWith("unix:") && (m[2] === undefined || (+m[2] >= 1 && +m[2] <= 65535));
}, { error: (i) => `expected 'host' or 'host:port', got ${json(i.input)}` });

/**
 * An environment variable name a module may read; `LD_*`, `DYLD_*` and `DENO_*` are refused because
 * they would let the module steer the runtime.
 *
 * @example
 * ```ts
 * import { envNameSchema } from "./rules.ts";
 * console.log(envNameSchema.safeParse("API_KEY").success, envNameSchema.safeParse("LD_PRELOAD").success); // true false
 * ```
 */
export const envNameSchema: z.ZodType<string> = z.string().superRefine((v, ctx) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) {
    ctx.addIssue({ code: "custom", message: `expected an environment variable name, got ${json(v)}`, input: v });
  } else if (/^(LD_|DYLD_|DENO_)/.test(v)) {
    ctx.addIssue({ code: "custom", message: `'${v}' would let the module steer the runtime`, input: v });
  }
});

/**
 * A `Deno.*` system info name from {@link SYS_NAMES}.
 *
 * @example
 * ```ts
 * import { sysNameSchema } from "./rules.ts";
 * console.log(sysNameSchema.safeParse("loadavg").success); // true
 * ```
 */
export const sysNameSchema: z.ZodType<string> = z.string().refine((v) => SYS_NAMES.includes(v), {
  error: (i) => `unknown sys name ${json(i.input)} (one of ${SYS_NAMES.join(", ")})`,
});

/** Why a grant path is unacceptable, or `undefined` if it is fine. */
export function pathProblem(p: string, allowRelative: boolean): string | undefined {
  if (p === "") return "expected a path, got an empty string";
  // A comma would split one flag value into two grants.
  if (p.includes(",") || /[\0\n]/.test(p)) return `path ${json(p)} contains a comma, NUL or newline`;
  if (!isAbsolute(p)) {
    if (!allowRelative) return `expected an absolute path, got ${json(p)}`;
    const n = normalize(p);
    if (n === ".." || n.startsWith("../")) return `relative path ${json(p)} leaves the module folder`;
  } else if (p.split("/").includes("..")) return `path ${json(p)} contains '..'`;
  return undefined;
}

/**
 * An absolute path grant without `..`, commas, NUL or newlines.
 *
 * @example
 * ```ts
 * import { absolutePathSchema } from "./rules.ts";
 * console.log(absolutePathSchema.safeParse("/srv/data").success, absolutePathSchema.safeParse("data").success); // true false
 * ```
 */
export const absolutePathSchema: z.ZodType<string> = z.string().superRefine((v, ctx) => {
  const message = pathProblem(v, false);
  if (message) ctx.addIssue({ code: "custom", message, input: v });
});

/** A manifest path: absolute, or relative to the module folder without leaving it. */
export const requestPath: z.ZodType<string> = z.string().superRefine((v, ctx) => {
  const message = pathProblem(v, true);
  if (message) ctx.addIssue({ code: "custom", message, input: v });
});

/** An event type: one in the catalog, such as `NewBlock`, or a module's own `<module>.<PascalCaseName>`. */
export const eventName: z.ZodType<string> = z.string().refine(
  (v) => eventSpec(v) !== undefined || CUSTOM_EVENT_RE.test(v),
  {
    error: (i) =>
      EVENT_RE.test(String(i.input))
        ? `${json(i.input)} is not in the event catalog (a module's own events are named '<module>.<Name>')`
        : `expected an event type such as "NewBlock" or "mesh.RouteChanged", got ${json(i.input)}`,
  },
);
