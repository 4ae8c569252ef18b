import { deepEqual, equal, ok } from "node:assert/strict";
import {
  DEFAULT_CAPABILITIES,
  describePermissions,
  type Effective,
  effectivePermissions,
  type Granted,
  type Requested,
  widening,
} from "../../src/manager/grants.ts";

const NONE = { read: [], write: [], net: [], env: [], sys: [], capabilities: [] };
const DEFAULTS = ["read_blockchain", "read_chain_state", "subscribe_events"];

function req(r: Partial<Requested>): Requested {
  return { ...NONE, ...r };
}

function grant(g: Partial<Granted>): Granted {
  return { ...NONE, ...g };
}

/** Effective permissions for a single kind of request. */
function eff(r: Partial<Requested>, g: Partial<Granted>): Effective {
  return effectivePermissions(req(r), grant(g));
}

Deno.test("DEFAULT_CAPABILITIES lists the read-only capabilities", () => {
  deepEqual([...DEFAULT_CAPABILITIES], DEFAULTS);
});

Deno.test("effectivePermissions() of nothing is only the default capabilities", () => {
  deepEqual(eff({}, {}), {
    grants: { read: [], write: [], net: [], env: [], sys: [] },
    capabilities: DEFAULTS,
    ungranted: [],
  });
});

Deno.test("effectivePermissions() grants nothing that is not requested, however much is granted", () => {
  const e = eff({}, {
    read: ["/"],
    write: ["/"],
    net: ["example.com"],
    env: ["HOME"],
    sys: ["cpus"],
    capabilities: ["x"],
  });
  deepEqual(e.grants, { read: [], write: [], net: [], env: [], sys: [] });
  deepEqual(e.capabilities, DEFAULTS);
});

Deno.test("effectivePermissions() keeps the narrower requested path under a granted one", () => {
  const e = eff({ read: ["/srv/chain/blocks/idx", "/srv/chain"] }, { read: ["/srv/chain"] });
  deepEqual(e.grants.read, ["/srv/chain", "/srv/chain/blocks/idx"]);
  deepEqual(e.ungranted, []);
});

Deno.test("effectivePermissions() does not grant a requested path wider than the grant", () => {
  const e = eff({ read: ["/srv"] }, { read: ["/srv/chain"] });
  deepEqual(e.grants.read, []);
  deepEqual(e.ungranted, ["read:/srv"]);
});

Deno.test("effectivePermissions() compares paths by segment, not by string prefix", () => {
  const e = eff({ read: ["/srv/ab", "/srv/a-b", "/srv/a.b", "/srv/a/b"] }, { read: ["/srv/a"] });
  deepEqual(e.grants.read, ["/srv/a/b"]);
  deepEqual(e.ungranted, ["read:/srv/a-b", "read:/srv/a.b", "read:/srv/ab"]);
});

Deno.test("effectivePermissions() normalizes trailing slashes, dots and repeated slashes", () => {
  const e = eff({ read: ["/srv/a/", "/srv//a/./b", "/srv/a/x/../y"] }, { read: ["/srv/a/"] });
  deepEqual(e.grants.read, ["/srv/a", "/srv/a/b", "/srv/a/y"]);
});

Deno.test("effectivePermissions() does not let .. escape a granted directory", () => {
  const e = eff({ read: ["/srv/a/../secret", "/srv/a/../../etc/passwd"] }, { read: ["/srv/a"] });
  deepEqual(e.grants.read, []);
  deepEqual(e.ungranted, ["read:/etc/passwd", "read:/srv/secret"]);
});

Deno.test("effectivePermissions() lets a grant of / cover every absolute path, but no relative one", () => {
  const e = eff({ write: ["/", "/tmp/x", "relative/path"] }, { write: ["/"] });
  deepEqual(e.grants.write, ["/", "/tmp/x"]);
  deepEqual(e.ungranted, ["write:relative/path"]);
});

Deno.test("effectivePermissions() keeps read and write separate", () => {
  const e = eff({ read: ["/data"], write: ["/data"] }, { read: ["/data"] });
  deepEqual(e.grants.read, ["/data"]);
  deepEqual(e.grants.write, []);
  deepEqual(e.ungranted, ["write:/data"]);
});

Deno.test("effectivePermissions() lets a host grant cover every port, and host:port only itself", () => {
  const e = eff(
    { net: ["a.example", "a.example:443", "a.example:8080", "b.example:443", "b.example:80", "b.example"] },
    { net: ["a.example", "b.example:443"] },
  );
  deepEqual(e.grants.net, ["a.example", "a.example:443", "a.example:8080", "b.example:443"]);
  deepEqual(e.ungranted, ["net:b.example", "net:b.example:80"]);
});

Deno.test("effectivePermissions() does not treat a subdomain or a suffix as the granted host", () => {
  const e = eff({ net: ["api.a.example:443", "xa.example", "a.example.evil:443"] }, { net: ["a.example"] });
  deepEqual(e.grants.net, []);
  equal(e.ungranted.length, 3);
});

Deno.test("effectivePermissions() compares host names case-insensitively and handles IPv6", () => {
  const e = eff(
    { net: ["API.Example.com:443", "[::1]:8080", "[::1]:9090", "[fe80::1]:80"] },
    { net: ["api.example.COM", "[::1]:8080", "fe80::1"] },
  );
  deepEqual(e.grants.net, ["API.Example.com:443", "[::1]:8080", "[fe80::1]:80"]);
  deepEqual(e.ungranted, ["net:[::1]:9090"]);
});

Deno.test("effectivePermissions() matches env and sys names exactly", () => {
  const e = eff({ env: ["HOME", "home", "HOMEPATH"], sys: ["cpus", "loadavg"] }, { env: ["HOME"], sys: ["loadavg"] });
  deepEqual(e.grants.env, ["HOME"]);
  deepEqual(e.grants.sys, ["loadavg"]);
  deepEqual(e.ungranted, ["env:HOMEPATH", "env:home", "sys:cpus"]);
});

Deno.test("effectivePermissions() always includes the default capabilities and adds granted requested ones", () => {
  const e = eff(
    { capabilities: ["send_transactions", "read_blockchain", "mine_blocks"] },
    { capabilities: ["send_transactions", "admin"] },
  );
  deepEqual(e.capabilities, ["read_blockchain", "read_chain_state", "send_transactions", "subscribe_events"]);
  deepEqual(e.ungranted, ["capability:mine_blocks"]);
  ok(!e.capabilities.includes("admin"), "granted but not requested is not effective");
});

Deno.test("effectivePermissions() sorts and de-duplicates every list", () => {
  const e = eff(
    {
      read: ["/z", "/a", "/z", "/a/"],
      net: ["b.example", "a.example", "b.example", "c.example", "c.example"],
      capabilities: ["y", "x", "y", "read_blockchain"],
      env: ["B", "A", "B"],
    },
    { read: ["/"], net: ["a.example", "b.example"], capabilities: ["x", "y"], env: ["A", "B"] },
  );
  deepEqual(e.grants.read, ["/a", "/z"]);
  deepEqual(e.grants.net, ["a.example", "b.example"]);
  deepEqual(e.grants.env, ["A", "B"]);
  deepEqual(e.capabilities, ["read_blockchain", "read_chain_state", "subscribe_events", "x", "y"]);
  deepEqual(e.ungranted, ["net:c.example"]);
});

Deno.test("effectivePermissions() does not modify its inputs", () => {
  const r = req({ read: ["/b", "/a"], capabilities: ["x"] });
  const g = grant({ read: ["/"] });
  effectivePermissions(r, g);
  deepEqual(r.read, ["/b", "/a"]);
  deepEqual(g.read, ["/"]);
  deepEqual([...DEFAULT_CAPABILITIES], DEFAULTS);
});

Deno.test("widening() is empty for identical or narrower permissions", () => {
  const wide = eff(
    { read: ["/srv"], write: ["/var/x"], net: ["a.example"], env: ["TZ"], sys: ["cpus"], capabilities: ["send"] },
    { read: ["/"], write: ["/"], net: ["a.example"], env: ["TZ"], sys: ["cpus"], capabilities: ["send"] },
  );
  deepEqual(widening(wide, wide), []);
  const narrow = eff(
    { read: ["/srv/chain"], write: ["/var/x/y"], net: ["a.example:443"] },
    { read: ["/"], write: ["/"], net: ["a.example"] },
  );
  deepEqual(widening(wide, narrow), []);
  deepEqual(widening(narrow, eff({}, {})), []);
});

Deno.test("widening() lists every new entry as kind:value, sorted", () => {
  const before = eff({ read: ["/srv/a"], net: ["a.example:443"] }, { read: ["/"], net: ["a.example"] });
  const after = eff(
    {
      read: ["/srv/a/deeper", "/srv/ab", "/srv"],
      write: ["/srv/a"],
      net: ["a.example:443", "a.example", "a.example:80"],
      env: ["TZ"],
      sys: ["cpus"],
      capabilities: ["send_transactions", "read_chain_state"],
    },
    { read: ["/"], write: ["/"], net: ["a.example"], env: ["TZ"], sys: ["cpus"], capabilities: ["send_transactions"] },
  );
  deepEqual(widening(before, after), [
    "capability:send_transactions",
    "env:TZ",
    "net:a.example",
    "net:a.example:80",
    "read:/srv",
    "read:/srv/ab",
    "sys:cpus",
    "write:/srv/a",
  ]);
  deepEqual(widening(after, before), []);
});

Deno.test("widening() reports capabilities missing from a hand-built earlier set", () => {
  const before: Effective = {
    grants: { read: [], write: [], net: [], env: [], sys: [] },
    capabilities: ["read_blockchain"],
    ungranted: [],
  };
  deepEqual(widening(before, eff({}, {})), ["capability:read_chain_state", "capability:subscribe_events"]);
  deepEqual(widening(eff({}, {}), eff({}, {})), []);
});

Deno.test("describePermissions() lists grants and capabilities as sorted kind:value entries", () => {
  const e = eff(
    {
      read: ["/srv/chain"],
      write: ["/var/lib/x"],
      net: ["a.example:443"],
      env: ["TZ"],
      sys: ["cpus"],
      capabilities: ["z"],
    },
    { read: ["/srv"], write: ["/var/lib"], net: ["a.example"], env: ["TZ"], sys: ["cpus"], capabilities: ["z"] },
  );
  deepEqual(describePermissions(e), [
    "capability:read_blockchain",
    "capability:read_chain_state",
    "capability:subscribe_events",
    "capability:z",
    "env:TZ",
    "net:a.example:443",
    "read:/srv/chain",
    "sys:cpus",
    "write:/var/lib/x",
  ]);
  deepEqual(describePermissions(eff({}, {})), DEFAULTS.map((c) => `capability:${c}`));
});
