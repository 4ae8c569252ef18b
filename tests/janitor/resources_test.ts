// The resource monitor against real module processes: memory, CPU, disk quota and request-rate limits,
// the ResourceLimitWarning each module receives, and the actions the host takes.
import { deepEqual, equal, fail, match, ok } from "node:assert/strict";
import { fixtureSource } from "../_host_helpers.ts";
import { parseJanitorConfig } from "../../src/config/janitor_config.ts";
import { Janitor } from "../../src/janitor/janitor.ts";
import type { ResourceAction } from "../../src/janitor/resource_monitor.ts";
import { manifest, type TestManager, testManager } from "../manager/_managed.ts";

const FIXTURE = new URL("../fixtures/resource_module.ts", import.meta.url).href;
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A module folder running the resource fixture with this config.toml. */
const folder = (name: string, config: string) => ({ manifest: manifest(name), config, main: fixtureSource(FIXTURE) });

type Warning = Record<string, unknown>;

/**
 * A janitor whose only schedule is the resource monitor (`interval_seconds` 0 = checks on call only),
 * once every module has subscribed (warnings published before that never reach it).
 */
async function janitorFor(t: TestManager, resources: Record<string, number>) {
  for (const m of t.manager.list()) await t.waitLog(m.name, (l) => l.startsWith("started id="));
  const janitor = new Janitor({ manager: t.manager, backend: t.backend, config: janitorConfig(t, resources) });
  // Every warning published, as the host's bus sees it.
  const published: Warning[] = [];
  const unwatch = t.manager.host.bus.watch("ResourceLimitWarning", (p) => published.push(p as Warning));
  return Object.assign(janitor, {
    published,
    [Symbol.dispose]() {
      unwatch();
      janitor.stop();
    },
  });
}

/** `[janitor]` with every schedule off but the resource monitor's. */
function janitorConfig(t: TestManager, resources: Record<string, number>) {
  return parseJanitorConfig(
    {
      flush: { interval_seconds: 0 },
      health: { interval_seconds: 0 },
      cleanup: { interval_hours: 0 },
      maintenance: { cleanup_interval_hours: 0 },
      disk: { interval_seconds: 0 },
      resources: { interval_seconds: 0, ...resources },
    },
    "blvm.toml",
    t.root,
  );
}

/** Poll `find` every 100 ms (running `tick` first, e.g. a resource check) until it returns something. */
async function until<T>(
  what: string,
  find: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
  tick?: () => Promise<unknown>,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    await tick?.();
    const v = await find();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await sleep(tick ? 250 : 100);
  }
}

const actions = (j: Janitor, module: string, resource?: string): ResourceAction[] =>
  j.status().resources.actions.filter((a) => a.module === module && (!resource || a.resource === resource));
const actionOf = (j: Janitor, module: string, resource: string, action: string) =>
  actions(j, module, resource).find((a) => a.action === action);

/** What the module wrote to its warnings.jsonl (warnings it received). */
async function received(t: TestManager, name: string): Promise<Warning[]> {
  const text = await Deno.readTextFile(`${t.root}/data/${name}/warnings.jsonl`).catch(() => "");
  return text.split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

/** Module log lines containing `text`, from index `from` of `t.logs`. */
const logsOf = (t: TestManager, name: string, text: string, from = 0) =>
  t.logs.slice(from).filter((r) => r.module === name && r.message.includes(text)).map((r) => r.message);

const moduleStatus = (j: Janitor, name: string) => j.status().resources.modules.find((m) => m.module === name);

/** The instance id the module's `n`-th process (0 = first) logged at its start. */
async function instanceId(t: TestManager, name: string, n: number): Promise<string> {
  await until(`start ${n + 1} of ${name}`, () => logsOf(t, name, "started id=").length > n, 20_000);
  return logsOf(t, name, "started id=")[n].split(" ")[1].slice("id=".length);
}

function procState(pid: number): string {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
}

const allowWrite = (command: string[]) =>
  command.find((a) => a.startsWith("--allow-write="))!.slice("--allow-write=".length).split(",");

Deno.test("A module over its memory limit is warned first, then restarted (scheduled checks)", async () => {
  await using t = await testManager(
    { hog: folder("hog", `mode = "hog"\nonce = true\nmax_mb = 400\nstep_mb = 10\nstep_ms = 100\n`) },
    "[modules.hog.limits]\nmemory_mb = 150\n",
  );
  using j = await janitorFor(t, { interval_seconds: 0.25 });
  const first = t.manager.list()[0].pid!;
  const firstId = await instanceId(t, "hog", 0);
  await j.start();
  await until("a memory restart", () => actionOf(j, "hog", "memory", "restart"));
  await t.waitEvent("ModuleStarted", (p) => p.name === "hog" && p.restarts === 1, 20_000);
  await instanceId(t, "hog", 1);

  // The first process itself received the warning, with the documented fields.
  const got = (await received(t, "hog")).filter((w) => w.module === "hog" && w.resource_type === "memory");
  ok(got.length >= 1, `warnings received: ${JSON.stringify(await received(t, "hog"))}`);
  const w = got[0];
  equal(w.instance, firstId, "received by the process that was over, before its restart");
  equal(w.limit, 150 * MiB);
  equal(w.threshold_percent, 80);
  ok((w.usage_percent as number) >= 80, `usage_percent ${w.usage_percent}`);
  ok((w.current_usage as number) >= 0.8 * 150 * MiB, `current_usage ${w.current_usage}`);
  ok(
    logsOf(t, "hog", `warning memory `).some((m) => m.includes(`id=${firstId}`)),
    "warning logged by the first process",
  );

  // Restarted: a new pid, two starts, a counted restart; the warning came before the restart.
  const starts = logsOf(t, "hog", "started id=");
  ok(starts.length >= 2, starts.join(" | "));
  ok(t.of("ModuleStarted", "hog").length >= 2);
  const status = t.manager.list()[0];
  ok(status.restarts >= 1);
  ok(status.pid !== first);
  const kinds = actions(j, "hog", "memory").map((a) => a.action);
  ok(kinds.indexOf("warning") >= 0 && kinds.indexOf("warning") < kinds.indexOf("restart"), kinds.join(","));
  // The restarted module (it hogs only once) stays up: no second restart.
  await sleep(1500);
  equal(actions(j, "hog", "memory").filter((a) => a.action === "restart").length, 1);
  equal(t.manager.list()[0].state, "running");
  equal(t.manager.list()[0].restarts, 1);
  // The restart went through the restart policy as a crash named by the limit, with the policy's first delay.
  const crashes = t.of("ModuleCrashed", "hog");
  equal(crashes.length, 1);
  equal(crashes[0].payload.action, "restart");
  equal(crashes[0].payload.restart_in_ms, 100);
  match(crashes[0].payload.reason as string, /^resident memory [\d.]+ MiB over its limit 150 MiB$/);
});

Deno.test("Memory-limit restarts follow the restart back-off like any crash, and a loop of them is quarantined", async () => {
  // It goes over its limit on every run.
  await using t = await testManager(
    { hog: folder("hog", `mode = "hog"\nmax_mb = 400\nstep_mb = 10\nstep_ms = 50\n`) },
    "[modules.restart]\ninitial_delay_ms = 300\nmultiplier = 2\nmax_crashes = 4\nwindow_ms = 600000\n" +
      "[modules.hog.limits]\nmemory_mb = 120\n",
  );
  using j = await janitorFor(t, { interval_seconds: 0.2 });
  await j.start();
  await t.waitEvent("ModuleStateChanged", (p) => p.name === "hog" && p.new_state === "quarantined", 90_000);
  j.stop();

  // Each restart was scheduled by the policy with a growing delay, and the fourth crash quarantined it.
  const crashes = t.of("ModuleCrashed", "hog");
  deepEqual(crashes.map((c) => c.payload.action), ["restart", "restart", "restart", "quarantine"]);
  deepEqual(crashes.map((c) => c.payload.restart_in_ms), [300, 600, 1200, null]);
  for (const c of crashes) match(c.payload.reason as string, /^resident memory [\d.]+ MiB over its limit 120 MiB$/);
  // No start came before its delay had passed (the timer's lower bound, whatever the machine's speed).
  const starts = t.of("ModuleStarted", "hog");
  deepEqual(starts.map((s) => s.payload.restarts), [0, 1, 2, 3]);
  for (let i = 0; i < 3; i++) {
    const gap = starts[i + 1].at - crashes[i].at;
    ok(gap >= (crashes[i].payload.restart_in_ms as number), `restart ${i + 1} came ${gap} ms after its crash`);
  }
  // Each was a restart action of the monitor, logged before its crash.
  equal(actions(j, "hog", "memory").filter((a) => a.action === "restart").length, 4);
  const status = t.manager.list()[0];
  deepEqual([status.state, status.pid, status.restart_in_ms], ["quarantined", null, null]);
  match(status.reason, /^crashed 4 times within 600 s \(last: resident memory [\d.]+ MiB over its limit 120 MiB\)$/);
  // It stays down until the operator acts.
  await sleep(500);
  equal(t.of("ModuleStarted", "hog").length, 4);
});

Deno.test("A busy module over cpu_percent is warned and throttled; stop() resumes it", async () => {
  await using t = await testManager(
    { busy: folder("busy", `mode = "busy"\n`) },
    "[modules.busy.limits]\ncpu_percent = 20\n",
  );
  using j = await janitorFor(t, { repeat_seconds: 600 });
  const tick = () => j.resources.check();
  await until("a cpu throttle", () => actionOf(j, "busy", "cpu", "throttle"), 20_000, tick);
  const warning = actionOf(j, "busy", "cpu", "warning");
  ok(warning, "a cpu warning was logged");
  const pid = t.manager.list()[0].pid!;
  // The module itself got the warning (it still answers while throttled).
  await t.waitLog("busy", (m) => m.startsWith("warning cpu ") && m.includes("module=busy"), 20_000);
  const w = (await received(t, "busy")).find((r) => r.resource_type === "cpu")!;
  equal(w.limit, 20);
  ok((w.usage_percent as number) >= 80 && (w.current_usage as number) >= 16, JSON.stringify(w));
  await tick(); // status holds what the latest check saw
  ok(moduleStatus(j, "busy")?.throttled, "status shows it throttled");
  // It really is paused part of the time.
  const seen = new Set<string>();
  for (let i = 0; i < 60 && !seen.has("T"); i++) {
    seen.add(procState(pid));
    await sleep(17);
  }
  ok(seen.has("T"), `states seen while throttled: ${[...seen]}`);
  equal(actions(j, "busy", "cpu").filter((a) => a.action === "restart").length, 0);
  j.stop();
  for (let i = 0; i < 5; i++) {
    await sleep(60);
    ok(procState(pid) !== "T", "resumed after the janitor stopped");
  }
});

Deno.test("With cpu_action = restart a busy module over its CPU limit is restarted", async () => {
  await using t = await testManager(
    { busy: folder("busy", `mode = "busy"\nonce = true\n`) },
    `[modules.busy.limits]\ncpu_percent = 20\ncpu_action = "restart"\n`,
  );
  using j = await janitorFor(t, {});
  const tick = () => j.resources.check();
  await until("a cpu restart", () => actionOf(j, "busy", "cpu", "restart"), 20_000, tick);
  ok(actionOf(j, "busy", "cpu", "warning"));
  equal(actionOf(j, "busy", "cpu", "throttle"), undefined);
  await t.waitEvent("ModuleStarted", (p) => p.name === "busy" && p.restarts === 1, 20_000);
  ok(t.manager.list()[0].restarts >= 1);
});

Deno.test("A module over its disk quota is restarted read-only, and writable again once under it", async () => {
  await using t = await testManager(
    { writer: folder("writer", `mode = "writer"\nonce = true\nwrite_mb = 2\n`) },
    "[modules.writer.limits]\ndisk_mb = 1\n",
  );
  await t.waitLog("writer", (m) => m === "wrote 2 MB");
  await t.waitLog("writer", (m) => m === "write ok");
  using j = await janitorFor(t, { interval_seconds: 0.25 });
  await j.start();
  await until("a read-only action", () => actionOf(j, "writer", "disk", "read-only"));
  const kinds = actions(j, "writer", "disk").map((a) => a.action);
  ok(kinds.indexOf("warning") >= 0 && kinds.indexOf("warning") < kinds.indexOf("read-only"), kinds.join(","));
  let got: Warning[] = [];
  const w = await until("the disk warning at the module", async () => {
    got = await received(t, "writer");
    return got.find((r) => r.resource_type === "disk");
  }, 5000).catch((e) => fail(`${e.message}; received ${JSON.stringify(got)}`));
  equal(w.limit, MiB);
  ok((w.current_usage as number) >= 2 * MiB && (w.usage_percent as number) >= 200, JSON.stringify(w));

  // Restarted with a read-only data dir: its writes fail, the command line lacks the grant.
  await t.waitEvent("ModuleStarted", (p) => p.name === "writer" && p.restarts === 1, 20_000);
  const mark = t.logs.length;
  await until("a denied write", () => logsOf(t, "writer", "write denied: ", mark).length > 0);
  const denied = logsOf(t, "writer", "write denied: ", mark);
  ok(denied.length >= 1 && logsOf(t, "writer", "write ok", mark).length === 0, denied.join(" | "));
  const dataDir = t.manager.get("writer")!.handle!.dataDir;
  const command = t.manager.inspect("writer").command!;
  ok(!allowWrite(command).includes(dataDir), command.join(" "));
  ok(command.some((a) => a.startsWith("--allow-read=") && a.split(/[=,]/).includes(dataDir)), "still readable");
  const st = await until(
    "status read_only",
    () => moduleStatus(j, "writer")?.read_only ? moduleStatus(j, "writer") : undefined,
  );
  ok(st.read_only!.includes("quota"), st.read_only!);
  equal(t.manager.get("writer")!.readOnly, st.read_only);

  // The operator frees space: the next checks make it writable again, and its writes succeed.
  await Deno.remove(`${dataDir}/blob.bin`);
  await until("a writable action", () => actionOf(j, "writer", "disk", "writable"));
  await t.waitEvent("ModuleStarted", (p) => p.name === "writer" && p.restarts === 2, 20_000);
  const mark2 = t.logs.length;
  await until("a write that succeeds", () => logsOf(t, "writer", "write ok", mark2).length > 0);
  equal(logsOf(t, "writer", "write denied", mark2).length, 0);
  ok(allowWrite(t.manager.inspect("writer").command!).includes(dataDir));
  equal(t.manager.get("writer")!.readOnly, undefined);
  await until("status writable", () => moduleStatus(j, "writer")?.read_only === null);
  // Switching the data folder's mode is a change of flags, not a crash: at once, no back-off.
  equal(t.of("ModuleCrashed", "writer").length, 0);
});

Deno.test("A module over requests_per_second is warned and its excess requests are recorded as rate-limited", async () => {
  await using t = await testManager(
    { chatty: folder("chatty", `mode = "chatty"\n`) },
    "[modules.chatty.limits]\nrequests_per_second = 50\n",
  );
  using j = await janitorFor(t, {});
  const tick = () => j.resources.check();
  await until("a network warning", () => actionOf(j, "chatty", "network", "warning"), 20_000, tick);
  await until("a rate-limited action", () => actionOf(j, "chatty", "network", "rate-limited"), 20_000, tick);
  await t.waitLog("chatty", (m) => m.startsWith("warning network ") && m.includes("module=chatty"), 20_000);
  const w = (await received(t, "chatty")).find((r) => r.resource_type === "network")!;
  equal(w.limit, 50);
  ok((w.current_usage as number) >= 40, JSON.stringify(w));
  ok((t.manager.inspect("chatty").traffic?.requests.rate_limited ?? 0) > 0);
  // Network is never acted on by a restart.
  equal(actions(j, "chatty").filter((a) => a.action === "restart").length, 0);
  equal(t.manager.list()[0].restarts, 0);
});

Deno.test("Modules without limits get no warnings and no actions", async () => {
  await using t = await testManager({
    busy: folder("busy", `mode = "busy"\n`),
    chatty: folder("chatty", `mode = "chatty"\nrps = 100\n`),
    writer: folder("writer", `mode = "writer"\nwrite_mb = 2\n`),
  });
  using j = await janitorFor(t, { warn_percent: 1, repeat_seconds: 0 });
  await t.waitLog("writer", (m) => m === "wrote 2 MB");
  for (let i = 0; i < 5; i++) {
    await j.resources.check();
    await sleep(250);
  }
  deepEqual(j.status().resources.actions, []);
  deepEqual(j.published, []);
  equal(logsOf(t, "busy", "warning ").length + logsOf(t, "chatty", "warning ").length, 0);
  for (const name of ["busy", "chatty", "writer"]) {
    const s = moduleStatus(j, name)!;
    ok(s, `status of ${name}`);
    deepEqual(s.limits, { memory: null, cpu: null, disk: null, network: null });
    ok((s.usage.memory ?? 0) > MiB, `${name} memory ${s.usage.memory}`);
    ok(s.usage.cpu !== null && s.usage.network !== null, JSON.stringify(s.usage));
    equal(s.usage.disk, null, "no quota, no folder walk");
    equal(s.throttled, false);
    equal(s.read_only, null);
  }
  ok(moduleStatus(j, "busy")!.usage.cpu! > 10, "the busy module is measured busy");
  ok(moduleStatus(j, "chatty")!.usage.network! > 10, "the chatty module is measured chatty");
});

Deno.test("A warning is not repeated within repeat_seconds while over the threshold, and is with 0", async () => {
  await using t = await testManager(
    { busy: folder("busy", `mode = "busy"\n`) },
    // Limits far away, a threshold of 1 %: always warned about, never acted on.
    "[modules.busy.limits]\nmemory_mb = 2000\ncpu_percent = 1000\n",
  );
  using j = await janitorFor(t, { warn_percent: 1, repeat_seconds: 600 });
  const count = (list: Warning[], type: string) =>
    list.filter((w) => w.module === "busy" && w.resource_type === type).length;
  for (let i = 0; i < 8; i++) {
    await j.resources.check();
    await sleep(250);
  }
  equal(count(j.published, "memory"), 1, JSON.stringify(j.published));
  equal(count(j.published, "cpu"), 1, JSON.stringify(j.published));
  await t.waitLog("busy", (m) => m.startsWith("warning cpu "), 20_000);
  await t.waitLog("busy", (m) => m.startsWith("warning memory "), 20_000);
  await sleep(300);
  const got = await received(t, "busy");
  equal(count(got, "memory"), 1, JSON.stringify(got));
  equal(count(got, "cpu"), 1, JSON.stringify(got));
  equal(actions(j, "busy").filter((a) => a.action !== "warning").length, 0);

  // With repeat_seconds = 0 every check warns again.
  j.reconfigure(janitorConfig(t, { warn_percent: 1, repeat_seconds: 0 }));
  for (let i = 0; i < 3; i++) {
    await j.resources.check();
    await sleep(100);
  }
  ok(count(j.published, "memory") >= 4, `memory warnings ${count(j.published, "memory")}`);
});

Deno.test({
  name: "With cpu_action = restart every restarted process is warned before its own restart",
  async fn() {
    await using t = await testManager(
      { busy: folder("busy", `mode = "busy"\n`) },
      `[modules.busy.limits]\ncpu_percent = 20\ncpu_action = "restart"\n`,
    );
    using j = await janitorFor(t, { repeat_seconds: 600 });
    const restarts = () => actions(j, "busy", "cpu").filter((a) => a.action === "restart").length;
    await until("two cpu restarts", () => restarts() >= 2, 20_000, () => j.resources.check());
    j.stop();
    await t.waitEvent("ModuleStarted", (p) => p.name === "busy" && p.restarts === 2, 20_000);
    const second = await instanceId(t, "busy", 1);
    const got = await until("a warning at the second process", async () => {
      const list = await received(t, "busy");
      return list.some((w) => w.resource_type === "cpu" && w.instance === second) && list;
    }, 5000);
    ok(got.length >= 2, JSON.stringify(got));
    const warnings = actions(j, "busy", "cpu").filter((a) => a.action === "warning").length;
    ok(warnings >= restarts(), `${warnings} warnings for ${restarts()} restarts`);
  },
});

Deno.test({
  name: "status() shows a module throttled as soon as the check that throttled it returns",
  async fn() {
    await using t = await testManager(
      { busy: folder("busy", `mode = "busy"\n`) },
      "[modules.busy.limits]\ncpu_percent = 20\n",
    );
    using j = await janitorFor(t, {});
    await until("a cpu throttle", () => actionOf(j, "busy", "cpu", "throttle"), 20_000, () => j.resources.check());
    equal(moduleStatus(j, "busy")?.throttled, true);
  },
});
