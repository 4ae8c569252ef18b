// The human-readable output of `deno task ctl`.
import { deepEqual, equal, ok } from "node:assert/strict";
import { bytes, duration, inspectText, listTable, table } from "../../src/cli/format.ts";
import type { ModuleDetail, ModuleStatus } from "../../src/manager/managed.ts";

function status(over: Partial<ModuleStatus> = {}): ModuleStatus {
  return {
    name: "hello",
    version: "1.0.0",
    state: "running",
    health: "healthy",
    reason: "",
    pid: 4242,
    uptime_ms: 62_000,
    restarts: 0,
    memory_bytes: 52_428_800,
    lazy: false,
    required: false,
    pending_approval: [],
    sandbox: "os+deno",
    restart_in_ms: null,
    ...over,
  };
}

function detail(over: Partial<ModuleDetail> = {}): ModuleDetail {
  return {
    ...status(),
    dir: "/srv/modules/hello",
    manifest: {
      name: "hello",
      version: "1.0.0",
      entry_point: "main.ts",
      description: "Says hello",
      dependencies: { lib: "^1.2" },
      optional_dependencies: { extra: "*" },
      permissions: { read: [], write: [], net: [], env: [], sys: [] },
      capabilities: ["read_chain"],
      config_schema: {},
      publishes: [],
      api: { callers: [] },
    },
    config: { greeting: "hi" },
    grants: { read: [], write: [], net: ["api.example.com:443"], env: [], sys: [] },
    capabilities: ["read_chain"],
    ungranted: [],
    command: ["/usr/bin/deno", "run", "--allow-net=unix:/run/hello.sock", "/srv/modules/hello/main.ts"],
    warnings: [],
    logs: ["l1", "l2"],
    traffic: null,
    journal: null,
    signature: null,
    ...over,
  };
}

Deno.test("table pads every column to its widest cell, two spaces apart, without trailing blanks", () => {
  const t = table(["NAME", "STATE", "NOTE"], [["hello", "running", ""], ["a", "crashed", "exit 1"]]);
  deepEqual(t.split("\n"), [
    "NAME   STATE    NOTE",
    "hello  running",
    "a      crashed  exit 1",
  ]);
  // A header wider than its cells sets the width.
  equal(table(["LONGHEADER", "X"], [["a", "b"]]), "LONGHEADER  X\na           b");
  // No rows: just the header.
  equal(table(["A", "B"], []), "A  B");
});

Deno.test("duration: milliseconds, tenths of seconds, minutes and hours", () => {
  equal(duration(null), "-");
  equal(duration(0), "0ms");
  equal(duration(1), "1ms");
  equal(duration(999), "999ms");
  equal(duration(1000), "1.0s");
  equal(duration(5_240), "5.2s");
  equal(duration(59_900), "59.9s");
  equal(duration(60_000), "1m00s");
  equal(duration(62_000), "1m02s");
  equal(duration(3_599_999), "59m59s");
  equal(duration(3_600_000), "1h00m");
  equal(duration(3_720_000), "1h02m");
  equal(duration(90_061_000), "25h01m");
});

Deno.test("duration just below a minute never prints 60.0s, and bytes never prints 1024.0", () => {
  equal(duration(59_999), "59.9s");
  equal(duration(59_950), "59.9s");
  equal(bytes(1_048_575), "1.0 MiB");
});

Deno.test("bytes: binary units with one decimal, plain bytes below 1 KiB", () => {
  equal(bytes(null), "-");
  equal(bytes(0), "0 B");
  equal(bytes(1023), "1023 B");
  equal(bytes(1024), "1.0 KiB");
  equal(bytes(1536), "1.5 KiB");
  equal(bytes(52_428_800), "50.0 MiB");
  equal(bytes(1024 ** 3), "1.0 GiB");
  // GiB is the largest unit.
  equal(bytes(2 * 1024 ** 4), "2048.0 GiB");
});

Deno.test("listTable: header, values, and the NOTE column", () => {
  equal(listTable([]), "No modules.");
  const lines = listTable([
    status(),
    status({
      name: "lazybones",
      version: "0.2.0",
      state: "discovered",
      reason: "waiting for its trigger",
      pid: null,
      uptime_ms: null,
      memory_bytes: null,
      sandbox: null,
      lazy: true,
    }),
    status({
      name: "crashy",
      state: "crashed",
      reason: "exit code 1",
      pid: null,
      uptime_ms: null,
      memory_bytes: null,
      sandbox: null,
      restarts: 3,
      restart_in_ms: 1_500,
    }),
    status({ name: "wider", pending_approval: ["net:example.com:443", "env:TOKEN"], sandbox: "deno" }),
    status({
      name: "broken",
      version: null,
      state: "failed",
      reason: "bad manifest",
      pid: null,
      uptime_ms: null,
      memory_bytes: null,
      sandbox: null,
    }),
  ]).split("\n");
  equal(lines.length, 6);
  equal(lines[0], "NAME       VERSION  STATE              PID   SANDBOX  UPTIME  RESTARTS  MEMORY    NOTE");
  equal(lines[1], "hello      1.0.0    running            4242  os+deno  1m02s   0         50.0 MiB");
  equal(
    lines[2],
    "lazybones  0.2.0    discovered (lazy)  -     -        -       0         -         waiting for its trigger",
  );
  equal(
    lines[3],
    "crashy     1.0.0    crashed            -     -        -       3         -         restart in 1.5s: exit code 1",
  );
  equal(
    lines[4],
    "wider      1.0.0    running            4242  deno     1m02s   0         50.0 MiB  reload waits for approval: +net:example.com:443, +env:TOKEN",
  );
  equal(lines[5], "broken     -        failed             -     -        -       0         -         bad manifest");
  // A running lazy module is just "running".
  ok(listTable([status({ lazy: true })]).split("\n")[1].includes("running  "));
  ok(!listTable([status({ lazy: true })]).includes("(lazy)"));
});

Deno.test("inspectText: summary, grants, dependencies, command and the last 20 log lines", () => {
  const text = inspectText(detail({ logs: Array.from({ length: 25 }, (_, i) => `line ${i}`) }));
  const lines = text.split("\n");
  equal(lines[0], "hello 1.0.0");
  equal(lines[1], "  state:        running (healthy)");
  ok(lines.includes("  folder:       /srv/modules/hello"));
  ok(lines.includes("  pid:          4242   uptime: 1m02s   restarts: 0   memory: 50.0 MiB"));
  ok(lines.includes("  description:  Says hello"));
  ok(lines.includes("  dependencies: lib ^1.2, extra * (optional)"));
  ok(lines.includes("  capabilities: read_chain"));
  ok(lines.includes("  grant net     api.example.com:443"));
  // Empty grant kinds are not listed.
  ok(!lines.some((l) => l.startsWith("  grant read")), text);
  ok(!text.includes("NOT granted"));
  ok(!text.includes("warning:"));
  ok(lines.includes(`  config:       {"greeting":"hi"}`));
  ok(lines.includes("  command:      /usr/bin/deno run --allow-net=unix:/run/hello.sock /srv/modules/hello/main.ts"));
  const logAt = lines.indexOf("  recent log (25 lines):");
  ok(logAt > 0, text);
  deepEqual(lines.slice(logAt + 1), Array.from({ length: 20 }, (_, i) => `    line ${i + 5}`));
});

Deno.test("inspectText: NOT granted, pending approval, warnings, failed state and no process", () => {
  const text = inspectText(detail({
    version: null,
    manifest: null,
    state: "failed",
    health: "unhealthy",
    reason: "depends on 'ghost'",
    pid: null,
    uptime_ms: null,
    memory_bytes: null,
    grants: null,
    capabilities: [],
    ungranted: ["env:API_KEY", "capability:read_mempool"],
    pending_approval: ["net:example.com:443"],
    warnings: ["module.toml: colour: unknown key", "module.toml: extra: unknown key"],
    command: null,
    logs: [],
    traffic: null,
    journal: null,
  }));
  const lines = text.split("\n");
  equal(lines[0], "hello");
  equal(lines[1], "  state:        failed (unhealthy) — depends on 'ghost'");
  ok(lines.includes("  pid:          -   uptime: -   restarts: 0   memory: -"));
  ok(!text.includes("description:"), "no manifest, no description line");
  ok(lines.includes("  capabilities: -"));
  ok(lines.includes("  NOT granted:  env:API_KEY, capability:read_mempool"));
  ok(lines.includes("  reload waits for approval of: net:example.com:443"));
  ok(lines.includes("  warning:      module.toml: colour: unknown key"));
  ok(lines.includes("  warning:      module.toml: extra: unknown key"));
  ok(lines.includes("  command:      -"));
  equal(lines.at(-1), "  recent log (0 lines):");
});

Deno.test("inspectText shell-quotes command arguments that need it", () => {
  const text = inspectText(detail({
    command: [
      "/opt/my deno/bin/deno",
      "run",
      "--allow-read=/srv/data,/srv/it's here",
      "--v8-flags=--max-old-space-size=64",
      "",
      "/srv/modules/hello/main.ts",
    ],
  }));
  const line = text.split("\n").find((l) => l.startsWith("  command:"));
  equal(
    line,
    "  command:      '/opt/my deno/bin/deno' run '--allow-read=/srv/data,/srv/it'\\''s here' " +
      "--v8-flags=--max-old-space-size=64 '' /srv/modules/hello/main.ts",
  );
});

Deno.test("inspectText shows the sandbox layers and the signature check", () => {
  const verified = inspectText(
    detail({ signature: { status: "verified", policy: "require", keys: ["alice", "bob"] } }),
  );
  ok(verified.includes("  sandbox:      os+deno"), verified);
  ok(verified.includes("  signature:    verified (alice, bob) (policy require)"), verified);
  const bare = inspectText(detail({ sandbox: "deno", signature: null }));
  ok(bare.includes("  sandbox:      deno (Deno's permission flags only, no OS layer)"), bare);
  ok(!bare.includes("signature:"));
});

Deno.test("inspectText: the module's place in the delivery journal", () => {
  const text = inspectText(detail({
    journal: { processed: 1842, behind: 1, types: ["BlockDisconnected", "NewBlock"], module_events: true },
  }));
  ok(
    text.split("\n").includes(
      "  journal:      processed up to 1842, 1 position since; resumes 2 types and module events",
    ),
  );
  ok(!inspectText(detail()).includes("journal:"), "no line without a cursor");
});
