// Per-module ConfigLoaded with real module processes (tests/fixtures/config_view_module.ts): each module
// receives only its own view of blvm.toml, secrets inside values redacted; a reload reaches only the
// modules whose view changed; a module subscribing late gets its own view replayed.
import { deepEqual, equal } from "node:assert/strict";
import { LiveConfig } from "../../src/config/live.ts";
import { DevNode, type ModuleLogRecord, ModuleManager } from "../../mod.ts";
import { loadNodeConfig } from "../../src/manager/node_config.ts";
import { waitUntil } from "../_host_helpers.ts";
import { manifest, writeModules } from "../manager/_managed.ts";

/** The fixture's source: a module may import only files in its own folder (plus the SDK), so it is copied in. */
const FIXTURE = Deno.readTextFileSync(new URL("../fixtures/config_view_module.ts", import.meta.url));
const SECRET = "S3CRETPW";

const toml = (p: { greeting?: string; interval?: number; shared?: string } = {}) => `
secret_keys = ["custom.api_token_url"]
[custom]
shared = "${p.shared ?? "for beta"}"
api_token_url = "https://hooks.example/only-the-operator"
[modules]
modules_dir = "modules"
data_dir = "moddata"
runtime_dir = "run"
watch = false
stop_timeout_ms = 2000
kill_grace_ms = 500
startup_wait_ms = 0
[modules.alpha.config]
upstream_url = "http://alice:${SECRET}@feed.example/v1"
greeting = "${p.greeting ?? "hi"}"
[modules.beta]
config_sections = ["custom"]
[modules.gamma]
config = { late = true }
[janitor.flush]
interval_seconds = ${p.interval ?? 300}
`;

interface ConfigEvent {
  seq: number;
  replay: boolean;
  payload: { changed_sections: string[]; config_json: string };
}

type View = Record<string, Record<string, Record<string, Record<string, unknown>>>>;
const view = (e: ConfigEvent) => JSON.parse(e.payload.config_json) as View;
const live = (events: ConfigEvent[]) => events.filter((e) => !e.replay);

async function node() {
  const root = await Deno.makeTempDir({ prefix: "blvm-view-" });
  const file = `${root}/blvm.toml`;
  const backend = DevNode.open();
  const logs: ModuleLogRecord[] = [];
  const wake = new Set<() => void>();
  let manager: ModuleManager | undefined;
  let liveConfig: LiveConfig | undefined;
  const dispose = async () => {
    liveConfig?.close();
    await manager?.shutdown("test over");
    await backend.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  try {
    await writeModules(root, {
      alpha: { manifest: manifest("alpha"), main: FIXTURE },
      beta: { manifest: manifest("beta"), main: FIXTURE },
      gamma: { manifest: manifest("gamma"), main: FIXTURE },
    });
    await Deno.writeTextFile(file, toml());
    manager = await ModuleManager.create({
      config: await loadNodeConfig(file, root),
      backend,
      onModuleLog: (r) => {
        logs.push(r);
        for (const w of wake) w();
      },
      // As the CLI does: published once the manifests are read, before any module runs.
      onDiscovered: () => liveConfig!.publish(),
    });
    liveConfig = new LiveConfig(manager, undefined, { path: file, cwd: root, overrides: [] });
    await manager.start();
    const waitLog = (module: string, message: string) =>
      waitUntil(
        wake,
        () => logs.find((r) => r.module === module && r.message.startsWith(message)),
        30_000,
        () => `no '${message}' from ${module}; got: ${logs.map((r) => `${r.module}: ${r.message}`).join(" | ")}`,
      );
    for (const name of ["alpha", "beta", "gamma"]) await waitLog(name, "ready pid=");
    const events = async (name: string): Promise<ConfigEvent[]> => {
      const text = await Deno.readTextFile(`${root}/moddata/${name}/config_events.jsonl`).catch(() => "");
      return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
    };
    const waitEvents = async (name: string, done: (e: ConfigEvent[]) => boolean, what: string) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const got = await events(name);
        if (done(got)) return got;
        if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; ${name} has ${JSON.stringify(got)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const rewrite = async (text: string) => {
      await Deno.writeTextFile(`${file}.new`, text);
      await Deno.rename(`${file}.new`, file);
      return await liveConfig!.reload();
    };
    return { manager, live: liveConfig, events, waitEvents, waitLog, rewrite, [Symbol.asyncDispose]: dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

Deno.test("Each module gets only its own view; reloads reach only the modules whose view changed", async () => {
  await using n = await node();

  // Start-up: each module's own view, replayed when it subscribed, with every section of it.
  const [alphaStart] = await n.waitEvents("alpha", (e) => e.length >= 1, "alpha's start-up ConfigLoaded");
  const [betaStart] = await n.waitEvents("beta", (e) => e.length >= 1, "beta's start-up ConfigLoaded");
  equal(alphaStart.replay, true);
  deepEqual(alphaStart.payload.changed_sections, ["janitor", "modules", "node"]);
  deepEqual(betaStart.payload.changed_sections, ["custom", "janitor", "modules", "node"]);
  const a = view(alphaStart), b = view(betaStart);
  deepEqual(Object.keys(a.modules), ["alpha"]);
  deepEqual(Object.keys(b.modules), ["beta"]);
  // Alpha sees its URL with the password redacted; nobody sees the password.
  equal(a.modules.alpha.config.upstream_url, "http://alice:[redacted]@feed.example/v1");
  equal(a.modules.alpha.config.greeting, "hi");
  for (const e of [alphaStart, betaStart]) equal(e.payload.config_json.includes(SECRET), false, e.payload.config_json);
  // Beta never sees alpha's name, settings or URL; only beta is given [custom] (its marked path redacted).
  for (const hidden of ["alpha", "upstream_url", "feed.example", "greeting"]) {
    equal(betaStart.payload.config_json.includes(hidden), false, `${hidden} in beta's view`);
  }
  deepEqual(b.custom, { shared: "for beta", api_token_url: "[redacted]" });
  equal(a.custom, undefined);
  // Neither sees the host's [modules] keys, the secret_keys list or the third module.
  for (const e of [alphaStart, betaStart]) {
    for (const hidden of ["modules_dir", "runtime_dir", "secret_keys", "gamma"]) {
      equal(e.payload.config_json.includes(hidden), false, `${hidden} in ${e.payload.config_json}`);
    }
  }
  deepEqual(view(alphaStart), n.live.viewOf("alpha"));

  // Only alpha's settings change: alpha is told, beta is not.
  const onlyAlpha = await n.rewrite(toml({ greeting: "hello" }));
  deepEqual(onlyAlpha.changed_sections, ["modules"]);
  deepEqual(onlyAlpha.notified, { alpha: ["modules"] });
  // Only [custom], which beta alone is given: beta is told, alpha is not.
  const onlyCustom = await n.rewrite(toml({ greeting: "hello", shared: "changed" }));
  deepEqual(onlyCustom.changed_sections, ["custom"]);
  deepEqual(onlyCustom.notified, { beta: ["custom"] });
  // [janitor] reaches both, as one event: the same sequence number for each.
  const janitor = await n.rewrite(toml({ greeting: "hello", shared: "changed", interval: 60 }));
  deepEqual(janitor.notified, { alpha: ["janitor"], beta: ["janitor"] });

  // Events on one connection arrive in order: once the [janitor] one is there, anything before it is too.
  const alpha = live(await n.waitEvents("alpha", (e) => live(e).length >= 2, "alpha's two live ConfigLoaded"));
  const beta = live(await n.waitEvents("beta", (e) => live(e).length >= 2, "beta's two live ConfigLoaded"));
  deepEqual(alpha.map((e) => e.payload.changed_sections), [["modules"], ["janitor"]]);
  deepEqual(beta.map((e) => e.payload.changed_sections), [["custom"], ["janitor"]]);
  equal(view(alpha[0]).modules.alpha.config.greeting, "hello");
  equal(view(beta[0]).custom.shared as unknown, "changed");
  equal(alpha[1].seq, beta[1].seq);
  equal(beta[0].seq, alpha[0].seq + 1);
  equal((view(alpha[1]).janitor.flush as unknown as { interval_seconds: number }).interval_seconds, 60);
  for (const e of beta) equal(e.payload.config_json.includes("alpha"), false);
  for (const e of alpha) equal(e.payload.config_json.includes(SECRET), false);
  equal((await n.events("alpha")).length, 3);
  equal((await n.events("beta")).length, 3);

  // Gamma has not subscribed to ConfigLoaded yet: it got nothing so far.
  deepEqual(await n.events("gamma"), []);
  // It subscribes now: its own view of the configuration in force is replayed to it.
  n.manager.host.publish("test.SubscribeConfig", {});
  await n.waitLog("gamma", "subscribed late");
  const [gamma] = await n.waitEvents("gamma", (e) => e.length >= 1, "gamma's replayed ConfigLoaded");
  equal(gamma.replay, true);
  equal(gamma.seq, alpha[1].seq);
  deepEqual(gamma.payload.changed_sections, ["janitor", "modules", "node"]);
  const g = view(gamma);
  deepEqual(Object.keys(g.modules), ["gamma"]);
  deepEqual(g.modules.gamma.config, { late: true });
  equal((g.janitor.flush as unknown as { interval_seconds: number }).interval_seconds, 60);
  for (const hidden of ["alpha", "beta", SECRET, "shared"]) equal(gamma.payload.config_json.includes(hidden), false);
});
