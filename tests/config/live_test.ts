// LiveConfig with a real ModuleManager and real module processes (tests/fixtures/config_module.ts):
// ConfigLoaded at start-up (sticky, redacted, the module's own view: its settings, [node], [janitor] and
// its config_sections; the module sees [custom] because blvm.toml lists it there), live reloads of blvm.toml with the sections that changed,
// rejected edits, no-op edits, module config sent to the running module vs. a restart for new grants,
// and environment / command-line overrides that survive a reload.
import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { fixtureSource } from "../_host_helpers.ts";
import { LiveConfig } from "../../src/config/live.ts";
import { envOverrides, type Override, setOverrides } from "../../src/config/overrides.ts";
import { DevNode, type ModuleLogRecord, ModuleManager } from "../../mod.ts";
import { loadNodeConfig } from "../../src/manager/node_config.ts";
import { waitUntil } from "../_host_helpers.ts";
import { manifest, writeModules } from "../manager/_managed.ts";

const FIXTURE = new URL("../fixtures/config_module.ts", import.meta.url).href;
const NAME = "cfgmod";

/** [modules] settings like those of tests/manager/_managed.ts (module data outside ./data/node), as blvm.toml text. */
const MODULES = `[modules]
modules_dir = "modules"
data_dir = "moddata"
runtime_dir = "run"
watch = false
watch_debounce_ms = 150
stop_timeout_ms = 2000
kill_grace_ms = 500
startup_wait_ms = 0
[modules.restart]
initial_delay_ms = 100
[modules.${NAME}]
`;

/** blvm.toml text: top-level keys, then [modules] (the module is shown `sections`), then more tables. */
const toml = (tables: string, top = "", sections = '["custom"]') =>
  `${top}\n${MODULES}config_sections = ${sections}\n\n${tables}\n`;

interface ConfigEvent {
  seq: number;
  replay: boolean;
  payload: { changed_sections: string[]; config_json: string };
  instance: string;
}

interface ConfigChange {
  config: Record<string, unknown>;
  previous: Record<string, unknown>;
  context: Record<string, unknown>;
  instance: string;
}

/** What the tests use of the running node (shaped like testManager's result). */
interface Node {
  manager: ModuleManager;
  root: string;
  logs: ModuleLogRecord[];
  waitLog(module: string, match: (message: string) => boolean, timeoutMs?: number): Promise<ModuleLogRecord>;
}

interface LiveNode {
  t: Node;
  live: LiveConfig;
  file: string;
  /** ConfigLoaded publications (one per publish, whichever modules it reached) since start-up. */
  published: unknown[];
  /** Replace blvm.toml (write a new file and rename it over the old one, as editors do). */
  write(text: string): Promise<void>;
  events(): Promise<ConfigEvent[]>;
  changes(): Promise<ConfigChange[]>;
  /** Poll a record file until `done` holds. */
  waitEvents(done: (e: ConfigEvent[]) => boolean, what: string): Promise<ConfigEvent[]>;
  waitChanges(done: (c: ConfigChange[]) => boolean, what: string): Promise<ConfigChange[]>;
  pid(): number;
  /** The instance id the module's current process logged at its start. */
  instance(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

async function readLines<T>(file: string): Promise<T[]> {
  const text = await Deno.readTextFile(file).catch((e) => e instanceof Deno.errors.NotFound ? "" : Promise.reject(e));
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
}

async function poll<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
    last = await read();
  }
  return last;
}

/**
 * A manager over one config_module named `cfgmod`, configured from `<root>/blvm.toml` (`text`), with
 * ConfigLoaded published once the manifests are read, as the CLI does.
 */
async function liveNode(
  text: string,
  opts: { manifestExtra?: string; overrides?: Override[] } = {},
): Promise<LiveNode> {
  const root = await Deno.makeTempDir({ prefix: "blvm-live-" });
  const file = `${root}/blvm.toml`;
  const overrides = opts.overrides ?? [];
  const backend = DevNode.open();
  const logs: ModuleLogRecord[] = [];
  const wake = new Set<() => void>();
  let manager: ModuleManager | undefined;
  let live: LiveConfig | undefined;
  const dispose = async () => {
    live?.close();
    await manager?.shutdown("test over");
    await backend.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  try {
    await writeModules(root, {
      [NAME]: { manifest: manifest(NAME, "1.0.0", opts.manifestExtra ?? ""), main: fixtureSource(FIXTURE) },
    });
    await Deno.writeTextFile(file, text);
    manager = await ModuleManager.create({
      config: await loadNodeConfig(file, root, overrides),
      backend,
      onModuleLog: (r) => {
        logs.push(r);
        for (const w of wake) w();
      },
      onDiscovered: () => live!.publish(),
    });
    live = new LiveConfig(manager, undefined, { path: file, cwd: root, overrides });
    const t: Node = {
      manager,
      root,
      logs,
      waitLog: (module, match, timeoutMs = 20_000) =>
        waitUntil(
          wake,
          () => logs.find((r) => r.module === module && match(r.message)),
          timeoutMs,
          () => `no matching log of ${module}; got: ${logs.map((r) => r.message).join(" | ")}`,
        ),
    };
    await manager.start();
    const published: unknown[] = [];
    const bus = manager.host.bus;
    const publishEach = bus.publishEach.bind(bus);
    bus.publishEach = (type, payloadFor, options) => {
      if (type === "ConfigLoaded") published.push(options);
      return publishEach(type, payloadFor, options);
    };
    const dataDir = `${root}/moddata/${NAME}`;
    const events = () => readLines<ConfigEvent>(`${dataDir}/config_events.jsonl`);
    const changes = () => readLines<ConfigChange>(`${dataDir}/config_changes.jsonl`);
    const node: LiveNode = {
      t,
      live,
      file,
      published,
      // Replaced in one step, so a watcher never reads a half-written file.
      write: async (text) => {
        await Deno.writeTextFile(`${file}.new`, text);
        await Deno.rename(`${file}.new`, file);
      },
      events,
      changes,
      waitEvents: (done, what) => poll(events, done, what),
      waitChanges: (done, what) => poll(changes, done, what),
      pid: () => {
        const pid = t.manager.inspect(NAME).pid;
        ok(pid !== null, `${NAME} is not running: ${t.manager.inspect(NAME).reason}`);
        return pid;
      },
      instance: () => {
        const starts = t.logs.filter((r) => r.module === NAME && r.message.startsWith("started id="));
        ok(starts.length, `${NAME} logged no start`);
        return starts.at(-1)!.message.slice("started id=".length);
      },
      [Symbol.asyncDispose]: dispose,
    };
    await t.waitLog(NAME, (m) => m.startsWith("ready id="));
    // The start-up ConfigLoaded, replayed when it subscribed.
    await node.waitEvents((e) => e.length >= 1, "the start-up ConfigLoaded");
    return node;
  } catch (e) {
    await dispose();
    throw e;
  }
}

const shown = (e: ConfigEvent) => JSON.parse(e.payload.config_json) as Record<string, Record<string, unknown>>;
const flushOf = (e: ConfigEvent) => (shown(e).janitor as Record<string, Record<string, unknown>>).flush;
const live = (events: ConfigEvent[]) => events.filter((e) => !e.replay);

Deno.test("At start-up the module gets its own view as a replay, every section of it, secrets redacted", async () => {
  const manifestExtra = `[config_schema]
greeting = { type = "string" }
webhook = { type = "string", secret = true }
[permissions]
env = ["API_KEY"]
`;
  await using n = await liveNode(
    toml(
      `[modules.${NAME}.grants]
env = ["API_KEY"]
[modules.${NAME}.env]
API_KEY = "hunter2"
[modules.${NAME}.config]
greeting = "hi"
webhook = "https://hooks.example/hunter2"
[node_extra]
rpc_password = "hunter2"
rpc_user = "alice"
[custom]
url = "https://bob:hunter2@example.com"
mirror = "https://bob:hunter2@mirror.example/feed?page=2"
label = "shown"
[hidden]
note = "not for modules"
[janitor.flush]
interval_seconds = 120
`,
      'secret_keys = ["custom.url"]',
      '["node_extra", "custom"]',
    ),
    { manifestExtra },
  );
  const events = await n.events();
  equal(events.length, 1, JSON.stringify(events));
  const [e] = events;
  equal(e.replay, true);
  equal(e.instance, n.instance());
  const config = shown(e);
  deepEqual(e.payload.changed_sections, Object.keys(config).sort());
  deepEqual(e.payload.changed_sections, ["custom", "janitor", "modules", "node", "node_extra"]);
  deepEqual(config.node_extra, { rpc_password: "[redacted]", rpc_user: "alice" });
  // A marked path as a whole; a password inside another URL on its own.
  deepEqual(config.custom, {
    url: "[redacted]",
    mirror: "https://bob:[redacted]@mirror.example/feed?page=2",
    label: "shown",
  });
  // Neither sections it is not given, nor which paths are secret, nor the host's [modules] keys.
  equal(config.hidden, undefined);
  equal(config.secret_keys, undefined);
  deepEqual(Object.keys(config.modules), [NAME]);
  const mod = (config.modules as Record<string, Record<string, Record<string, unknown>>>)[NAME];
  deepEqual(mod.config_sections, ["node_extra", "custom"]);
  deepEqual(mod.env, { API_KEY: "[redacted]" });
  deepEqual(mod.config, { greeting: "hi", webhook: "[redacted]" });
  equal(flushOf(e).interval_seconds, 120);
  equal(e.payload.config_json.includes("hunter2"), false, e.payload.config_json);
  // What the module got is what LiveConfig shows as its view.
  deepEqual(config, n.live.viewOf(NAME));
});

Deno.test("An edit applied with reload() reaches the module live with changed_sections exactly [custom, janitor]", async () => {
  await using n = await liveNode(toml("[janitor.flush]\ninterval_seconds = 300\n"));
  const [start] = await n.events();
  equal(flushOf(start).interval_seconds, 300);

  await n.write(toml('[janitor.flush]\ninterval_seconds = 60\n[custom]\nnote = "x"\n'));
  deepEqual(await n.live.reload(), {
    applied: true,
    changed_sections: ["custom", "janitor"],
    modules: {},
    notified: { [NAME]: ["custom", "janitor"] },
  });
  const events = await n.waitEvents((e) => live(e).length >= 1, "a live ConfigLoaded");
  equal(events.length, 2);
  const [edit] = live(events);
  deepEqual(edit.payload.changed_sections, ["custom", "janitor"]);
  equal(edit.seq, start.seq + 1);
  equal(flushOf(edit).interval_seconds, 60);
  deepEqual(shown(edit).custom, { note: "x" });
  equal(n.live.current.janitor.flush.interval_seconds, 60);
  equal(n.t.manager.config.janitor.flush.interval_seconds, 60);
  equal(n.published.length, 1);
});

Deno.test("live.watch() reloads after an edit of the file in place, and after an editor's rename over it", async () => {
  await using n = await liveNode(toml("[janitor.flush]\ninterval_seconds = 300\n"));
  n.live.watch(100);
  await Deno.writeTextFile(n.file, toml('[janitor.flush]\ninterval_seconds = 60\n[custom]\nnote = "x"\n'));
  let events = await n.waitEvents((e) => live(e).length >= 1, "a ConfigLoaded after the edit");
  deepEqual(live(events)[0].payload.changed_sections, ["custom", "janitor"]);
  equal(flushOf(live(events)[0]).interval_seconds, 60);
  equal(n.live.current.janitor.flush.interval_seconds, 60);

  await n.write(toml('[janitor.flush]\ninterval_seconds = 60\n[custom]\nnote = "y"\n'));
  events = await n.waitEvents((e) => live(e).length >= 2, "a ConfigLoaded after the rename");
  deepEqual(live(events)[1].payload.changed_sections, ["custom"]);
  deepEqual(shown(live(events)[1]).custom, { note: "y" });
  equal(live(events).length, 2, JSON.stringify(live(events).map((e) => e.payload.changed_sections)));
});

Deno.test("A broken edit is rejected naming the file or key; no ConfigLoaded is sent and the old values stay", async () => {
  await using n = await liveNode(toml("[janitor.flush]\ninterval_seconds = 300\n"));
  await n.write(toml("[janitor.flush\ninterval_seconds = 60\n"));
  const syntax = await n.live.reload();
  equal(syntax.applied, false);
  deepEqual(syntax.changed_sections, []);
  ok(syntax.error?.includes(n.file), syntax.error);
  match(syntax.error!, /invalid TOML at line \d+, column \d+/);

  await n.write(toml("[janitor.flush]\ninterval_seconds = -1\n[custom]\nnote = 1\n"));
  const value = await n.live.reload();
  equal(value.applied, false);
  deepEqual(value.changed_sections, []);
  ok(value.error?.includes(`${n.file}: janitor.flush.interval_seconds: `), value.error);

  equal(n.published.length, 0);
  equal(n.live.current.janitor.flush.interval_seconds, 300);
  equal(n.live.current.raw.custom, undefined);
  equal((n.live.redacted().janitor as Record<string, Record<string, unknown>>).flush.interval_seconds, 300);

  // The next good edit is compared with the configuration kept, and is the only live event the module got.
  await n.write(toml("[janitor.flush]\ninterval_seconds = 301\n"));
  deepEqual(await n.live.reload(), {
    applied: true,
    changed_sections: ["janitor"],
    modules: {},
    notified: { [NAME]: ["janitor"] },
  });
  const events = await n.waitEvents((e) => live(e).length >= 1, "the ConfigLoaded of the good edit");
  deepEqual(live(events).map((e) => [e.payload.changed_sections, flushOf(e).interval_seconds]), [[["janitor"], 301]]);
});

Deno.test("A broken edit seen by watch() sends nothing; the next good edit does", async () => {
  await using n = await liveNode(toml("[janitor.flush]\ninterval_seconds = 300\n"));
  n.live.watch(100);
  await n.write(toml("[janitor.flush]\ninterval_seconds = -1\n"));
  await new Promise((r) => setTimeout(r, 1000));
  await n.write(toml("[janitor.flush\n"));
  await new Promise((r) => setTimeout(r, 1000));
  equal(n.published.length, 0);
  equal(n.live.current.janitor.flush.interval_seconds, 300);
  await n.write(toml("[janitor.flush]\ninterval_seconds = 5\n"));
  const events = await n.waitEvents((e) => live(e).length >= 1, "the ConfigLoaded of the good edit");
  deepEqual(live(events).map((e) => [e.payload.changed_sections, flushOf(e).interval_seconds]), [[["janitor"], 5]]);
});

Deno.test("Rewriting the file with the same content, or the same values written differently, sends nothing", async () => {
  const text = toml(`[janitor.flush]\ninterval_seconds = 300\n[custom]\na = 1\nb = "two"\n`);
  await using n = await liveNode(text);
  await n.write(text);
  deepEqual(await n.live.reload(), { applied: false, changed_sections: [] });
  // Comments, key order and inline tables do not matter.
  await n.write(toml(`[janitor]\nflush = { interval_seconds = 300 }\n`, `# a comment\ncustom = { b = "two", a = 1 }`));
  deepEqual(await n.live.reload(), { applied: false, changed_sections: [] });
  equal(n.published.length, 0);

  n.live.watch(100);
  await n.write(text);
  await new Promise((r) => setTimeout(r, 1000));
  equal(n.published.length, 0);
  await n.write(toml(`[janitor.flush]\ninterval_seconds = 300\n[custom]\na = 2\nb = "two"\n`));
  const events = await n.waitEvents((e) => live(e).length >= 1, "the ConfigLoaded of a real change");
  deepEqual(live(events).map((e) => e.payload.changed_sections), [["custom"]]);
});

Deno.test("A module config change is sent to the running module (same pid); new grants restart it (new pid)", async () => {
  const manifestExtra = '[permissions]\nnet = ["example.com:443"]\n';
  const text = (config: string, grants = "") => toml(`[modules.${NAME}.config]\n${config}\n${grants}`);
  await using n = await liveNode(text('greeting = "hi"'), { manifestExtra });
  const pid = n.pid();
  const instance = n.instance();
  ok(n.t.manager.inspect(NAME).ungranted.includes("net:example.com:443"));

  await n.write(text('greeting = "hello"\nextra = 5'));
  deepEqual(await n.live.reload(), {
    applied: true,
    changed_sections: ["modules"],
    modules: { [NAME]: "config" },
    notified: { [NAME]: ["modules"] },
  });
  const [change] = await n.waitChanges((c) => c.length >= 1, "onConfig in the module");
  deepEqual(change, {
    config: { greeting: "hello", extra: 5 },
    previous: { greeting: "hi" },
    context: { greeting: "hello", extra: 5 },
    instance,
  });
  await n.t.waitLog(NAME, (m) => m === "config changed greeting=hello");
  equal(n.pid(), pid);
  equal(n.t.manager.inspect(NAME).restarts, 0);
  equal(n.t.logs.filter((r) => r.module === NAME && r.message.startsWith("started id=")).length, 1);
  deepEqual(n.t.manager.inspect(NAME).config, { greeting: "hello", extra: 5 });
  const events = await n.waitEvents((e) => live(e).length >= 1, "ConfigLoaded for the module change");
  deepEqual(live(events)[0].payload.changed_sections, ["modules"]);

  const netFlag = () => n.t.manager.inspect(NAME).command?.find((a) => a.startsWith("--allow-net=")) ?? "";
  equal(netFlag().split(",").includes("example.com:443"), false, netFlag());
  await n.write(text('greeting = "hello"\nextra = 5', `[modules.${NAME}.grants]\nnet = ["example.com:443"]\n`));
  const outcome = await n.live.reload();
  equal(outcome.applied, true);
  deepEqual(outcome.changed_sections, ["modules"]);
  equal(outcome.modules?.[NAME], "restarted");
  const started = await n.t.waitLog(NAME, (m) => m.startsWith("started id=") && m !== `started id=${instance}`);
  notEqual(n.pid(), pid);
  const newInstance = n.instance();
  equal(started.message, `started id=${newInstance}`);
  ok(netFlag().split(",").includes("example.com:443"), netFlag());
  deepEqual(n.t.manager.inspect(NAME).ungranted, []);
  deepEqual(n.t.manager.inspect(NAME).grants?.net, ["example.com:443"]);
  // No onConfig for a restart: the new process starts with the configuration.
  equal((await n.changes()).length, 1);
  // The new process learns the configuration in force, grants included.
  const after = await n.waitEvents(
    (e) => e.some((x) => x.instance === newInstance && x.payload.config_json.includes("example.com:443")),
    "the new grants in a ConfigLoaded of the new process",
  );
  const last = after.filter((x) => x.instance === newInstance).at(-1)!;
  const mod = (shown(last).modules as Record<string, Record<string, Record<string, unknown>>>)[NAME];
  deepEqual(mod.grants.net, ["example.com:443"]);
});

Deno.test("Environment and --set overrides apply over the file, and again after every reload", async () => {
  const overrides = [
    ...envOverrides({
      PATH: "/usr/bin",
      BLVM_CONFIG: "/elsewhere.toml",
      BLVM_JANITOR__FLUSH__INTERVAL_SECONDS: "7",
      BLVM_JANITOR__HEALTH__INTERVAL_SECONDS: "8",
    }),
    ...setOverrides(["janitor.health.interval_seconds=9", "custom.from_cli=true"]),
  ];
  const file = (flush: string) =>
    toml(`[janitor.flush]\n${flush}\n[janitor.health]\ninterval_seconds = 60\n[custom]\nfrom_file = 1\n`);
  await using n = await liveNode(file("interval_seconds = 300\ndeadline_ms = 4000"), { overrides });
  const [start] = await n.events();
  deepEqual(flushOf(start), { interval_seconds: 7, deadline_ms: 4000 });
  equal((shown(start).janitor.health as Record<string, unknown>).interval_seconds, 9);
  deepEqual(shown(start).custom, { from_file: 1, from_cli: true });
  equal(n.live.current.janitor.flush.interval_seconds, 7);

  // Editing only a key an override masks changes nothing.
  await n.write(file("interval_seconds = 100\ndeadline_ms = 4000"));
  deepEqual(await n.live.reload(), { applied: false, changed_sections: [] });
  equal(n.published.length, 0);

  await n.write(file("interval_seconds = 100\ndeadline_ms = 4500"));
  deepEqual(await n.live.reload(), {
    applied: true,
    changed_sections: ["janitor"],
    modules: {},
    notified: { [NAME]: ["janitor"] },
  });
  deepEqual(n.live.current.janitor.flush, { interval_seconds: 7, deadline_ms: 4500 });
  equal(n.live.current.janitor.health.interval_seconds, 9);
  const events = await n.waitEvents((e) => live(e).length >= 1, "the ConfigLoaded of the reload");
  const [edit] = live(events);
  deepEqual(flushOf(edit), { interval_seconds: 7, deadline_ms: 4500 });
  deepEqual(shown(edit).custom, { from_file: 1, from_cli: true });
});
