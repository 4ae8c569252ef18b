import { deepEqual, equal, ok } from "node:assert/strict";
import { type Candidate, type Resolution, resolveLoadOrder } from "../../src/manager/resolve.ts";

function mod(
  name: string,
  dependencies: Record<string, string> = {},
  optional_dependencies: Record<string, string> = {},
  version = "1.0.0",
): Candidate {
  return { name, version, dependencies, optional_dependencies };
}

/** Every candidate is in exactly one of order/failed, and order has no duplicates. */
function assertPartition(candidates: Candidate[], r: Resolution): void {
  equal(new Set(r.order).size, r.order.length, `duplicates in order: ${r.order}`);
  for (const c of candidates) {
    const inOrder = r.order.includes(c.name);
    ok(inOrder !== r.failed.has(c.name), `${c.name} must be in exactly one of order/failed`);
  }
}

/** Every hard dependency of a loaded module appears before it. */
function assertDepsFirst(candidates: Candidate[], r: Resolution): void {
  for (const c of candidates) {
    const at = r.order.indexOf(c.name);
    if (at < 0) continue;
    for (const d of Object.keys(c.dependencies)) {
      const dAt = r.order.indexOf(d);
      ok(dAt >= 0 && dAt < at, `${d} must load before ${c.name}`);
    }
  }
}

function resolve(candidates: Candidate[], alreadyFailed?: Map<string, string>): Resolution {
  const r = resolveLoadOrder(candidates, alreadyFailed);
  assertPartition(candidates, r);
  assertDepsFirst(candidates, r);
  return r;
}

Deno.test("resolveLoadOrder() of nothing is empty", () => {
  deepEqual(resolveLoadOrder([]), { order: [], failed: new Map(), warnings: [] });
});

Deno.test("resolveLoadOrder() breaks ties by name with plain < comparison, regardless of input order", () => {
  const cs = [mod("c"), mod("B"), mod("a"), mod("b"), mod("ä")];
  deepEqual(resolve(cs).order, ["B", "a", "b", "c", "ä"]);
  deepEqual(resolve([...cs].reverse()).order, ["B", "a", "b", "c", "ä"]);
});

Deno.test("resolveLoadOrder() loads dependencies first and picks the smallest ready name at each step", () => {
  // z has no deps, a needs z; b and c are free. Smallest-ready-first: b, c, z, then a.
  const cs = [mod("a", { z: "^1.0.0" }), mod("b"), mod("c"), mod("z")];
  deepEqual(resolve(cs).order, ["b", "c", "z", "a"]);
  // Once a dependency loads, its dependent competes with the other ready names.
  const cs2 = [mod("a", { b: "*" }), mod("b"), mod("c")];
  deepEqual(resolve(cs2).order, ["b", "a", "c"]);
});

Deno.test("resolveLoadOrder() handles a chain and a diamond", () => {
  deepEqual(resolve([mod("a", { b: "^1" }), mod("b", { c: "^1" }), mod("c")]).order, ["c", "b", "a"]);
  const diamond = [
    mod("top", { left: "^1", right: "^1" }),
    mod("left", { base: "^1" }),
    mod("right", { base: "^1" }),
    mod("base"),
  ];
  const r = resolve(diamond);
  deepEqual(r.order, ["base", "left", "right", "top"]);
  deepEqual(r.failed, new Map());
  deepEqual(r.warnings, []);
});

Deno.test("resolveLoadOrder() fails a module whose hard dependency is not installed", () => {
  const r = resolve([mod("a", { b: "^1.0.0" }), mod("c")]);
  deepEqual(r.order, ["c"]);
  equal(r.failed.get("a"), "depends on 'b' (^1.0.0), which is not installed");
  equal(r.failed.size, 1);
});

Deno.test("resolveLoadOrder() fails a module whose hard dependency has a non-matching version", () => {
  const cases: [range: string, version: string, ok: boolean][] = [
    ["^2.0.0", "1.3.0", false],
    ["^1.0.0", "1.3.0", true],
    ["^1.0.0", "2.0.0", false],
    ["^0.2.0", "0.2.9", true],
    ["^0.2.0", "0.3.0", false],
    ["~1.2.0", "1.2.9", true],
    ["~1.2.0", "1.3.0", false],
    [">=1.2.0 <2.0.0", "1.2.0", true],
    [">=1.2.0 <2.0.0", "1.9.9", true],
    [">=1.2.0 <2.0.0", "2.0.0", false],
    [">=1.2.0 <2.0.0", "1.1.9", false],
    ["1.2.3", "1.2.3", true],
    ["1.2.3", "1.2.4", false],
    ["*", "0.0.1", true],
    // Prereleases match because of includePrerelease.
    ["^1.0.0", "1.1.0-beta.1", true],
    ["*", "3.0.0-rc.1", true],
    [">=2.0.0-alpha", "2.0.0-beta", true],
    ["^2.0.0", "2.0.0-rc.1", false], // a prerelease sorts below its release
    ["^1.0.0", "2.0.0-rc.1", false],
  ];
  for (const [range, version, satisfied] of cases) {
    const r = resolve([mod("a", { b: range }), mod("b", {}, {}, version)]);
    if (satisfied) {
      deepEqual(r.order, ["b", "a"], `${version} should satisfy ${range}`);
    } else {
      deepEqual(r.order, ["b"], `${version} should not satisfy ${range}`);
      equal(r.failed.get("a"), `depends on 'b' ${range}, but 'b' is ${version}`);
    }
  }
});

Deno.test("resolveLoadOrder() names an invalid range or version instead of calling it a mismatch", () => {
  const r = resolve([mod("a", { b: "not a range" }), mod("b"), mod("c", { d: "^1" }), mod("d", {}, {}, "banana")]);
  equal(r.failed.get("a"), "depends on 'b' with an invalid version range 'not a range'");
  equal(r.failed.get("c"), "depends on 'd' ^1, but 'd' has an invalid version 'banana'");
  deepEqual(r.order, ["b", "d"]);
});

Deno.test("resolveLoadOrder() propagates failures and names every module on the chain", () => {
  const r = resolve([mod("a", { b: "^1" }), mod("b", { c: "^1.0.0" }), mod("x")]);
  equal(r.failed.get("b"), "depends on 'c' (^1.0.0), which is not installed");
  equal(r.failed.get("a"), "depends on 'b', which depends on 'c' (^1.0.0), which is not installed");
  deepEqual(r.order, ["x"]);

  const long = resolve([
    mod("a", { b: "*" }),
    mod("b", { c: "*" }),
    mod("c", { d: "*" }),
    mod("d", { e: "^2.0.0" }),
    mod("e"),
  ]);
  equal(
    long.failed.get("a"),
    "depends on 'b', which depends on 'c', which depends on 'd', which depends on 'e' ^2.0.0, but 'e' is 1.0.0",
  );
  deepEqual(long.order, ["e"]);
});

Deno.test("resolveLoadOrder() fails a diamond top when one side fails, and keeps the healthy side", () => {
  const r = resolve([
    mod("top", { left: "^1", right: "^1" }),
    mod("left", { base: "^1" }),
    mod("right", { missing: "^3" }),
    mod("base"),
  ]);
  deepEqual(r.order, ["base", "left"]);
  equal(r.failed.get("right"), "depends on 'missing' (^3), which is not installed");
  equal(r.failed.get("top"), "depends on 'right', which depends on 'missing' (^3), which is not installed");
});

Deno.test("resolveLoadOrder() reports a module's own problem before a failure inherited from a dependency", () => {
  const r = resolve([mod("a", { b: "*", z: "^1" }), mod("b", { gone: "*" })]);
  equal(r.failed.get("a"), "depends on 'z' (^1), which is not installed");
});

Deno.test("resolveLoadOrder() fails candidates in alreadyFailed and their dependents", () => {
  const alreadyFailed = new Map([["b", "its manifest is invalid: missing 'entry'"]]);
  const r = resolve([mod("a", { b: "^1" }), mod("b"), mod("c", { a: "^1" }), mod("d")], alreadyFailed);
  deepEqual(r.order, ["d"]);
  equal(r.failed.get("b"), "its manifest is invalid: missing 'entry'");
  equal(r.failed.get("a"), "depends on 'b', which failed: its manifest is invalid: missing 'entry'");
  equal(
    r.failed.get("c"),
    "depends on 'a', which depends on 'b', which failed: its manifest is invalid: missing 'entry'",
  );
});

Deno.test("resolveLoadOrder() treats an alreadyFailed name that is not a candidate as failed, not missing", () => {
  const alreadyFailed = new Map([["b", "its pinned hash does not match"]]);
  const r = resolve([mod("a", { b: "^1" }), mod("c")], alreadyFailed);
  equal(r.failed.get("a"), "depends on 'b', which failed: its pinned hash does not match");
  equal(r.failed.get("b"), "its pinned hash does not match", "alreadyFailed entries are kept in failed");
  deepEqual(r.order, ["c"]);
  // The caller's map is not modified.
  deepEqual([...alreadyFailed.keys()], ["b"]);
});

Deno.test("resolveLoadOrder() fails every member of a 2- or 3-cycle with the same text, from the smallest name", () => {
  const two = resolve([mod("y", { x: "*" }), mod("x", { y: "*" }), mod("free")]);
  deepEqual(two.order, ["free"]);
  equal(two.failed.get("x"), "dependency cycle: x → y → x");
  equal(two.failed.get("y"), "dependency cycle: x → y → x");

  const three = resolve([mod("c", { a: "*" }), mod("b", { c: "*" }), mod("a", { b: "*" })]);
  deepEqual(three.order, []);
  for (const n of ["a", "b", "c"]) equal(three.failed.get(n), "dependency cycle: a → b → c → a");

  // Direction matters: b → a → c → b listed from a is a → c → b → a.
  const reversed = resolve([mod("b", { a: "*" }), mod("a", { c: "*" }), mod("c", { b: "*" })]);
  for (const n of ["a", "b", "c"]) equal(reversed.failed.get(n), "dependency cycle: a → c → b → a");
});

Deno.test("resolveLoadOrder() treats a self-dependency as a cycle", () => {
  const r = resolve([mod("a", { a: "^1" }), mod("b")]);
  equal(r.failed.get("a"), "dependency cycle: a → a");
  deepEqual(r.order, ["b"]);
});

Deno.test("resolveLoadOrder() fails dependents of a cycle through the chain, and spares independent modules", () => {
  const r = resolve([
    mod("app", { lib: "*" }),
    mod("lib", { p: "*" }),
    mod("p", { q: "*" }),
    mod("q", { p: "*", base: "*" }),
    mod("base"),
  ]);
  deepEqual(r.order, ["base"]);
  equal(r.failed.get("p"), "dependency cycle: p → q → p");
  equal(r.failed.get("lib"), "depends on 'p', which is in a dependency cycle: p → q → p");
  equal(r.failed.get("app"), "depends on 'lib', which depends on 'p', which is in a dependency cycle: p → q → p");
});

Deno.test("resolveLoadOrder() gives each member of a tangled cycle a real cycle through itself", () => {
  // a ⇄ b and b ⇄ c: one strongly connected component, no single simple cycle through all three.
  const r = resolve([mod("a", { b: "*" }), mod("b", { a: "*", c: "*" }), mod("c", { b: "*" })]);
  equal(r.failed.get("a"), "dependency cycle: a → b → a");
  equal(r.failed.get("b"), "dependency cycle: a → b → a");
  equal(r.failed.get("c"), "dependency cycle: b → c → b");
});

Deno.test("resolveLoadOrder() fails duplicate names", () => {
  const r = resolveLoadOrder([mod("a"), mod("a", {}, {}, "2.0.0"), mod("b", { a: "*" })]);
  equal(r.failed.get("a"), "more than one installed module is named 'a'");
  equal(r.failed.get("b"), "depends on 'a', which failed: more than one installed module is named 'a'");
  deepEqual(r.order, []);
});

Deno.test("resolveLoadOrder() orders an installed optional dependency first without requiring it", () => {
  const r = resolve([mod("a", {}, { z: "^1" }), mod("z")]);
  deepEqual(r.order, ["z", "a"]);
  deepEqual(r.warnings, []);
  deepEqual(r.failed, new Map());
});

Deno.test("resolveLoadOrder() only warns about a missing, mismatched or failed optional dependency", () => {
  const r = resolve([
    mod("a", {}, { gone: "^1.0.0", old: "^2.0.0", broken: "*" }),
    mod("old", {}, {}, "1.3.0"),
    mod("broken", { nope: "^1" }),
  ]);
  deepEqual(r.order, ["a", "old"], "a mismatched optional dependency does not order the load");
  deepEqual([...r.failed.keys()], ["broken"]);
  deepEqual(r.warnings, [
    "'a' optionally depends on 'broken', which depends on 'nope' (^1), which is not installed",
    "'a' optionally depends on 'gone' (^1.0.0), which is not installed",
    "'a' optionally depends on 'old' ^2.0.0, but 'old' is 1.3.0",
  ]);
});

Deno.test("resolveLoadOrder() warns about an optional dependency the caller already rejected", () => {
  const r = resolve([mod("a", {}, { b: "*" })], new Map([["b", "its manifest is invalid"]]));
  deepEqual(r.order, ["a"]);
  deepEqual(r.warnings, ["'a' optionally depends on 'b', which failed: its manifest is invalid"]);
});

Deno.test("resolveLoadOrder() does not warn about optional dependencies of a module that fails", () => {
  const r = resolve([mod("a", { gone: "*" }, { alsoGone: "*" })]);
  deepEqual(r.warnings, []);
});

Deno.test("resolveLoadOrder() ignores an optional edge that would close a cycle through hard edges, with a warning", () => {
  // b hard-depends on a; a optionally depends on b: the optional edge goes.
  const r = resolve([mod("a", {}, { b: "*" }), mod("b", { a: "*" })]);
  deepEqual(r.order, ["a", "b"]);
  deepEqual(r.failed, new Map());
  deepEqual(r.warnings, [
    "optional dependency of 'a' on 'b' ignored for load order: it would form the cycle a → b → a",
  ]);
});

Deno.test("resolveLoadOrder() keeps the first of two mutually optional edges (by name) and drops the other", () => {
  const r = resolve([mod("b", {}, { a: "*" }), mod("a", {}, { b: "*" })]);
  deepEqual(r.order, ["b", "a"], "a's optional edge on b is accepted first");
  deepEqual(r.warnings, [
    "optional dependency of 'b' on 'a' ignored for load order: it would form the cycle b → a → b",
  ]);
});

Deno.test("resolveLoadOrder() names the whole cycle an optional edge would close", () => {
  const r = resolve([mod("a", {}, { c: "*" }), mod("c", { b: "*" }), mod("b", { a: "*" })]);
  deepEqual(r.order, ["a", "b", "c"]);
  deepEqual(r.warnings, [
    "optional dependency of 'a' on 'c' ignored for load order: it would form the cycle a → c → b → a",
  ]);
});

Deno.test("resolveLoadOrder() ignores an optional self-dependency with a warning", () => {
  const r = resolve([mod("a", {}, { a: "*" })]);
  deepEqual(r.order, ["a"]);
  deepEqual(r.warnings, ["optional dependency of 'a' on 'a' ignored for load order: it would form the cycle a → a"]);
});

Deno.test("resolveLoadOrder() treats a name listed as both hard and optional as hard", () => {
  const r = resolve([mod("a", { b: "^2" }, { b: "*" }), mod("b")]);
  equal(r.failed.get("a"), "depends on 'b' ^2, but 'b' is 1.0.0");
  deepEqual(r.warnings, []);
});

Deno.test("resolveLoadOrder() produces a valid, deterministic order for a larger graph", () => {
  const cs: Candidate[] = [];
  for (let i = 0; i < 60; i++) {
    const deps: Record<string, string> = {};
    for (let j = 0; j < i; j++) if ((i * 7 + j * 13) % 5 === 0) deps[`m${String(j).padStart(2, "0")}`] = "^1";
    cs.push(mod(`m${String(i).padStart(2, "0")}`, deps));
  }
  const r = resolve(cs);
  equal(r.order.length, 60);
  deepEqual(resolve([...cs].reverse()).order, r.order);
});
