/**
 * Dependency resolution for modules: which installed modules can load, in which order, and why the others cannot.
 *
 * Hard dependencies must be installed, match their version range and load themselves; otherwise the dependent fails
 * with a sentence naming the whole chain. Optional dependencies only order the load and never fail anything.
 *
 * @module
 */
import semver from "semver";

/** One installed module as the resolver sees it. */
export interface Candidate {
  /** Module name, unique among the candidates. */
  name: string;
  /** The module's own semver version. */
  version: string;
  /** Hard dependencies: module name → semver range. */
  dependencies: Record<string, string>;
  /** Optional dependencies: module name → semver range. They order the load but never block it. */
  optional_dependencies: Record<string, string>;
}

/** The outcome of {@link resolveLoadOrder}. */
export interface Resolution {
  /** Names of the modules that can load, dependencies first. */
  order: string[];
  /** Module name → why it cannot load (a full sentence naming the dependency chain). Sorted by name. */
  failed: Map<string, string>;
  /** Problems that do not stop anything from loading, such as a missing optional dependency. */
  warnings: string[];
}

/** Why a module cannot load, kept structured so that chains render as one readable sentence. */
type Failure =
  | { kind: "external"; reason: string }
  | { kind: "problem"; text: string }
  | { kind: "cycle"; cycle: string[] }
  | { kind: "via"; dep: string; inner: Failure };

const RANGE_OPTIONS = { includePrerelease: true } as const;

/** The failure as a stand-alone sentence. */
function sentence(f: Failure): string {
  switch (f.kind) {
    case "external":
      return f.reason;
    case "problem":
      return f.text;
    case "cycle":
      return `dependency cycle: ${f.cycle.join(" → ")}`;
    case "via":
      return `depends on '${f.dep}', which ${clause(f.inner)}`;
  }
}

/** The failure as it reads after "…, which ". */
function clause(f: Failure): string {
  switch (f.kind) {
    case "external":
      return `failed: ${f.reason}`;
    case "cycle":
      return `is in a dependency cycle: ${f.cycle.join(" → ")}`;
    default:
      return sentence(f);
  }
}

/** Describe why `found` does not satisfy `range`, starting with `verb`; undefined when it does. */
function unmet(verb: string, dep: string, range: string, found: Candidate | undefined): string | undefined {
  if (found === undefined) return `${verb} '${dep}' (${range}), which is not installed`;
  if (semver.validRange(range, RANGE_OPTIONS) === null) {
    return `${verb} '${dep}' with an invalid version range '${range}'`;
  }
  if (semver.valid(found.version) === null) {
    return `${verb} '${dep}' ${range}, but '${dep}' has an invalid version '${found.version}'`;
  }
  if (!semver.satisfies(found.version, range, RANGE_OPTIONS)) {
    return `${verb} '${dep}' ${range}, but '${dep}' is ${found.version}`;
  }
  return undefined;
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedKeys(record: Record<string, string>): string[] {
  return Object.keys(record).sort(byString);
}

/** Strongly connected components (Tarjan), emitted so that every component comes after the ones it depends on. */
function components(names: string[], edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      out.push(scc.sort(byString));
    }
  };
  for (const n of names) if (!index.has(n)) visit(n);
  return out;
}

/** Shortest path `from` → … → `to` along `edges` (neighbours tried in name order), or undefined. */
function path(
  from: string,
  to: string,
  edges: Map<string, Iterable<string>>,
  within?: Set<string>,
): string[] | undefined {
  const parent = new Map<string, string>();
  const queue = [from];
  const seen = new Set([from]);
  for (let i = 0; i < queue.length; i++) {
    const u = queue[i];
    for (const v of [...(edges.get(u) ?? [])].sort(byString)) {
      if (within && !within.has(v)) continue;
      if (v === to) {
        const out = [to, u];
        for (let p = u; p !== from;) out.push(p = parent.get(p)!);
        return out.reverse();
      }
      if (!seen.has(v)) {
        seen.add(v);
        parent.set(v, u);
        queue.push(v);
      }
    }
  }
  return undefined;
}

/** The shortest cycle through `member`, rotated to start (and end) at its smallest name. */
function cycleThrough(member: string, scc: Set<string>, edges: Map<string, string[]>): string[] {
  const closed = path(member, member, edges, scc)!;
  const open = closed.slice(0, -1);
  const start = open.indexOf([...open].sort(byString)[0]);
  const rotated = [...open.slice(start), ...open.slice(0, start)];
  return [...rotated, rotated[0]];
}

/** Insert `name` into the sorted array `ready`. */
function insertSorted(ready: string[], name: string): void {
  let lo = 0;
  let hi = ready.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ready[mid] < name) lo = mid + 1;
    else hi = mid;
  }
  ready.splice(lo, 0, name);
}

/**
 * Decide which modules can load and in which order.
 *
 * - A hard dependency that is missing, of a non-matching version (prereleases match, via `includePrerelease`) or
 *   itself failed makes the dependent fail; failures propagate with a reason naming every module on the chain.
 * - Every member of a hard-dependency cycle (a self-dependency included) fails with `dependency cycle: a → b → a`,
 *   listed from the smallest name; modules that depend on a cycle fail through the chain.
 * - Optional dependencies that are installed, matching and loadable are loaded first, unless that edge would close a
 *   cycle; anything wrong with an optional dependency is only a warning.
 * - Among modules that are ready at the same step, the smallest name (plain `<`) loads first, so the order is the
 *   lexicographically smallest valid one.
 *
 * @param candidates The installed modules. If two share a name, that name fails.
 * @param alreadyFailed Modules the caller has already rejected (a broken manifest, a pin mismatch) → reason. They
 *   fail whether or not they are among the candidates, are copied into {@link Resolution.failed} and fail their
 *   dependents.
 * @returns Every candidate appears in exactly one of `order` and `failed`.
 *
 * @example
 * ```ts
 * import { resolveLoadOrder } from "./resolve.ts";
 * const r = resolveLoadOrder([
 *   { name: "wallet", version: "1.0.0", dependencies: { index: "^2.0.0" }, optional_dependencies: {} },
 *   { name: "index", version: "2.1.0", dependencies: {}, optional_dependencies: { metrics: "^1" } },
 *   { name: "alerts", version: "0.1.0", dependencies: { mailer: "^1.0.0" }, optional_dependencies: {} },
 * ]);
 * console.log(r.order); // ["index", "wallet"]
 * console.log(r.failed.get("alerts")); // "depends on 'mailer' (^1.0.0), which is not installed"
 * console.log(r.warnings); // ["'index' optionally depends on 'metrics' (^1), which is not installed"]
 * ```
 */
export function resolveLoadOrder(
  candidates: Candidate[],
  alreadyFailed: Map<string, string> = new Map(),
): Resolution {
  const failures = new Map<string, Failure>();
  for (const [name, reason] of alreadyFailed) failures.set(name, { kind: "external", reason });

  const byName = new Map<string, Candidate>();
  for (const c of candidates) {
    if (!byName.has(c.name)) byName.set(c.name, c);
    else if (!failures.has(c.name)) {
      failures.set(c.name, { kind: "external", reason: `more than one installed module is named '${c.name}'` });
    }
  }
  const names = [...byName.keys()].sort(byString);

  // Hard edges between installed modules: name → the names it must load after.
  const hard = new Map<string, string[]>();
  for (const n of names) hard.set(n, sortedKeys(byName.get(n)!.dependencies).filter((d) => byName.has(d)));

  for (const scc of components(names, hard)) {
    const members = new Set(scc);
    const cyclic = scc.length > 1 || hard.get(scc[0])!.includes(scc[0]);
    for (const m of scc) {
      if (failures.has(m)) continue;
      if (cyclic) {
        failures.set(m, { kind: "cycle", cycle: cycleThrough(m, members, hard) });
        continue;
      }
      const deps = byName.get(m)!.dependencies;
      let failure: Failure | undefined;
      for (const d of sortedKeys(deps)) {
        if (!byName.has(d) && failures.has(d)) continue; // rejected by the caller: reported through the chain below
        const text = unmet("depends on", d, deps[d], byName.get(d));
        if (text !== undefined) {
          failure = { kind: "problem", text };
          break;
        }
      }
      if (failure === undefined) {
        const d = sortedKeys(deps).find((d) => failures.has(d));
        if (d !== undefined) failure = { kind: "via", dep: d, inner: failures.get(d)! };
      }
      if (failure !== undefined) failures.set(m, failure);
    }
  }

  // Load-order edges among loadable modules: all hard ones, plus optional ones that do not close a cycle.
  const loadable = names.filter((n) => !failures.has(n));
  const after = new Map<string, Set<string>>();
  for (const n of loadable) after.set(n, new Set(hard.get(n)));
  const warnings: string[] = [];
  for (const m of loadable) {
    const c = byName.get(m)!;
    for (const d of sortedKeys(c.optional_dependencies)) {
      if (Object.hasOwn(c.dependencies, d)) continue;
      const range = c.optional_dependencies[d];
      const found = byName.get(d);
      const failed = failures.get(d);
      if (failed !== undefined) {
        warnings.push(`'${m}' optionally depends on '${d}', which ${clause(failed)}`);
        continue;
      }
      const text = unmet("optionally depends on", d, range, found);
      if (text !== undefined) {
        warnings.push(`'${m}' ${text}`);
        continue;
      }
      const back = d === m ? [m] : path(d, m, after);
      if (back !== undefined) {
        const cycle = [m, ...back].join(" → ");
        warnings.push(
          `optional dependency of '${m}' on '${d}' ignored for load order: it would form the cycle ${cycle}`,
        );
        continue;
      }
      after.get(m)!.add(d);
    }
  }

  // Kahn's algorithm, smallest ready name first.
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const n of loadable) {
    waiting.set(n, after.get(n)!.size);
    for (const d of after.get(n)!) dependents.set(d, [...(dependents.get(d) ?? []), n]);
  }
  const ready = loadable.filter((n) => waiting.get(n) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    const n = ready.shift()!;
    order.push(n);
    for (const x of dependents.get(n) ?? []) {
      const left = waiting.get(x)! - 1;
      waiting.set(x, left);
      if (left === 0) insertSorted(ready, x);
    }
  }
  if (order.length !== loadable.length) throw new Error("resolveLoadOrder: unexpected cycle among loadable modules");

  const failed = new Map<string, string>();
  for (const n of [...failures.keys()].sort(byString)) failed.set(n, sentence(failures.get(n)!));
  return { order, failed, warnings };
}
