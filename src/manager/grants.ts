/**
 * Effective sandbox grants of a module: what its manifest requests intersected with what the operator grants, and
 * whether an update would widen them.
 *
 * Coverage rules, used throughout: a path covers itself and every path under it (segment-aware, after resolving
 * `.` and `..`); a network grant `host` covers `host` and any `host:port`, while `host:port` covers only itself;
 * environment variables, `sys` names and capabilities match exactly.
 *
 * @module
 */
import { DEFAULT_CAPABILITIES } from "../protocol/api.ts";
import type { Grants } from "../host/permissions.ts";
import type { Manifest } from "./manifest.ts";

/** Capabilities every module has, whether or not it requests them. */
export { DEFAULT_CAPABILITIES };

/** A set of permissions: sandbox grants plus NodeAPI capabilities (paths absolute). */
export interface PermissionSet {
  /** Paths to read (a granted path covers everything under it). */
  read: string[];
  /** Paths to write (a granted path covers everything under it). */
  write: string[];
  /** Network destinations, `host` (any port, when granted) or `host:port`. */
  net: string[];
  /** Environment variable names. */
  env: string[];
  /** `Deno.*` system info names. */
  sys: string[];
  /** Node API capabilities. */
  capabilities: string[];
}

/** What a module's manifest asks for. */
export type Requested = PermissionSet;

/** What the operator grants a module in `blvm.toml`. */
export type Granted = PermissionSet;

/** What a module actually gets. */
export interface Effective {
  /** Sandbox grants: the requested entries that a grant covers, sorted and de-duplicated. */
  grants: Required<Grants>;
  /** {@link DEFAULT_CAPABILITIES} plus the requested capabilities that are granted, sorted. */
  capabilities: string[];
  /** Requested but not granted, as `kind:value` (`net:api.example.com:443`, `capability:send_transactions`), sorted. */
  ungranted: string[];
}

type Kind = "read" | "write" | "net" | "env" | "sys";
const KINDS: readonly Kind[] = ["read", "write", "net", "env", "sys"];

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Resolve `.`, `..`, repeated and trailing slashes of an absolute path; undefined for a relative one. */
function normalizePath(p: string): string | undefined {
  if (!p.startsWith("/")) return undefined;
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return "/" + out.join("/");
}

function pathCovers(grant: string, wanted: string): boolean {
  const g = normalizePath(grant);
  const w = normalizePath(wanted);
  if (g === undefined || w === undefined) return false;
  return w === g || w.startsWith(g === "/" ? "/" : g + "/");
}

/** Split `host:port`, `[v6]:port`, `host` or a bare IPv6 address into a lower-cased host and an optional port. */
function splitNet(entry: string): { host: string; port?: string } {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1].toLowerCase(), port: bracketed[2] };
  const colons = entry.split(":").length - 1;
  if (colons !== 1) return { host: entry.toLowerCase() };
  const [host, port] = entry.split(":");
  return { host: host.toLowerCase(), port };
}

function netCovers(grant: string, wanted: string): boolean {
  const g = splitNet(grant);
  const w = splitNet(wanted);
  return g.host === w.host && (g.port === undefined || g.port === w.port);
}

function covers(kind: Kind, grant: string, wanted: string): boolean {
  if (kind === "read" || kind === "write") return pathCovers(grant, wanted);
  if (kind === "net") return netCovers(grant, wanted);
  return grant === wanted;
}

/** The entry as it is kept in an effective list (paths normalized). */
function canonical(kind: Kind, value: string): string {
  return kind === "read" || kind === "write" ? normalizePath(value) ?? value : value;
}

/**
 * Intersect what a manifest requests with what the operator grants.
 *
 * A requested entry is effective when some grant covers it, and it is the requested (narrower) entry that becomes
 * effective. The default capabilities are always effective.
 *
 * @param requested What the manifest asks for.
 * @param granted What the operator grants.
 * @returns The effective grants and capabilities, and what was requested but not granted.
 *
 * @example
 * ```ts
 * import { effectivePermissions } from "./grants.ts";
 * const e = effectivePermissions(
 *   { read: ["/srv/chain/blocks"], write: [], net: ["api.example.com:443", "evil.example"], env: [], sys: [],
 *     capabilities: ["send_transactions"] },
 *   { read: ["/srv/chain"], write: [], net: ["api.example.com"], env: [], sys: [], capabilities: [] },
 * );
 * console.log(e.grants.read); // ["/srv/chain/blocks"]
 * console.log(e.grants.net); // ["api.example.com:443"]
 * console.log(e.ungranted); // ["capability:send_transactions", "net:evil.example"]
 * ```
 */
export function effectivePermissions(requested: Requested, granted: Granted): Effective {
  const grants: Required<Grants> = { read: [], write: [], net: [], env: [], sys: [] };
  const ungranted: string[] = [];
  for (const kind of KINDS) {
    const ok: string[] = [];
    for (const wanted of requested[kind]) {
      if (granted[kind].some((g) => covers(kind, g, wanted))) ok.push(canonical(kind, wanted));
      else ungranted.push(`${kind}:${canonical(kind, wanted)}`);
    }
    grants[kind] = sortedUnique(ok);
  }
  const capabilities = [...DEFAULT_CAPABILITIES];
  for (const c of requested.capabilities) {
    if (DEFAULT_CAPABILITIES.includes(c) || granted.capabilities.includes(c)) capabilities.push(c);
    else ungranted.push(`capability:${c}`);
  }
  return { grants, capabilities: sortedUnique(capabilities), ungranted: sortedUnique(ungranted) };
}

/**
 * What `after` allows that `before` did not, for example when an update requests more.
 *
 * An entry of `after` that an entry of `before` covers (a path under an already effective path, `host:port` under an
 * effective `host`) is not a widening.
 *
 * @param before The effective permissions the operator accepted.
 * @param after The new effective permissions.
 * @returns The new entries as `kind:value`, sorted; empty when nothing widens.
 *
 * @example
 * ```ts
 * import { type Effective, widening } from "./grants.ts";
 * const before: Effective = {
 *   grants: { read: ["/srv/chain"], write: [], net: ["api.example.com"], env: [], sys: [] },
 *   capabilities: ["read_blockchain"],
 *   ungranted: [],
 * };
 * const after: Effective = {
 *   grants: { read: ["/srv/chain/blocks", "/etc"], write: [], net: ["api.example.com:443"], env: [], sys: [] },
 *   capabilities: ["read_blockchain", "send_transactions"],
 *   ungranted: [],
 * };
 * console.log(widening(before, after)); // ["capability:send_transactions", "read:/etc"]
 * ```
 */
export function widening(before: Effective, after: Effective): string[] {
  const out: string[] = [];
  for (const kind of KINDS) {
    for (const v of after.grants[kind]) {
      if (!before.grants[kind].some((b) => covers(kind, b, v))) out.push(`${kind}:${canonical(kind, v)}`);
    }
  }
  for (const c of after.capabilities) if (!before.capabilities.includes(c)) out.push(`capability:${c}`);
  return sortedUnique(out);
}

/**
 * Everything a module effectively gets, as a flat `kind:value` list for display.
 *
 * @param e Effective permissions.
 * @returns Sorted, de-duplicated `kind:value` entries, capabilities included.
 *
 * @example
 * ```ts
 * import { describePermissions, effectivePermissions } from "./grants.ts";
 * const none = { read: [], write: [], net: [], env: [], sys: [], capabilities: [] };
 * const e = effectivePermissions({ ...none, env: ["TZ"] }, { ...none, env: ["TZ"] });
 * console.log(describePermissions(e));
 * // ["capability:read_blockchain", "capability:read_chain_state", "capability:subscribe_events", "env:TZ"]
 * ```
 */
export function describePermissions(e: Effective): string[] {
  const out: string[] = [];
  for (const kind of KINDS) for (const v of e.grants[kind]) out.push(`${kind}:${v}`);
  for (const c of e.capabilities) out.push(`capability:${c}`);
  return sortedUnique(out);
}

/**
 * What a new manifest lets a module do that the old one did not, beyond its permissions: publish more
 * event types, be started by more events or by calls, and be called by more modules. Like
 * {@link widening}, these hold an update until the operator approves it.
 *
 * @param before The manifest in force.
 * @param after The new manifest.
 * @returns New entries as `kind:value` (`publishes:alerts.Fired`, `activation:event:NewBlock`,
 * `activation:on_call`, `api_callers:*`), sorted; empty when nothing widens.
 *
 * @example
 * ```ts ignore
 * console.log(manifestWidening(old, next)); // ["activation:on_call", "publishes:alerts.Fired"]
 * ```
 */
export function manifestWidening(
  before: Pick<Manifest, "publishes" | "activation" | "api">,
  after: Pick<Manifest, "publishes" | "activation" | "api">,
): string[] {
  const added = (kind: string, a: string[], b: string[]) => b.filter((v) => !a.includes(v)).map((v) => `${kind}:${v}`);
  const out = [
    ...added("publishes", before.publishes, after.publishes),
    ...added("activation:event", before.activation?.events ?? [], after.activation?.events ?? []),
    ...(after.activation?.on_call && !before.activation?.on_call ? ["activation:on_call"] : []),
  ];
  // Callers: "*" already admits every module.
  if (!before.api.callers.includes("*")) out.push(...added("api_callers", before.api.callers, after.api.callers));
  return sortedUnique(out);
}
