// Helpers for tests that run a real ModuleManager over a temporary modules directory.
import { waitUntil } from "../_host_helpers.ts";
import { fixtureSource } from "../_host_helpers.ts";
import { DevNode, type ModuleLogRecord, ModuleManager, parseNodeConfig } from "../../mod.ts";

export const FIXTURE = new URL("../fixtures/managed_module.ts", import.meta.url).href;

/** A module folder to create: its manifest (TOML text), optional config.toml and main.ts. */
export interface FolderSpec {
  manifest: string;
  config?: string;
  main?: string;
}

/** A manifest for the fixture module, plus extra TOML lines. */
export function manifest(name: string, version = "1.0.0", extra = ""): string {
  return `name = "${name}"\nversion = "${version}"\nentry_point = "main.ts"\n${extra}\n`;
}

/** Write `modules/<name>/…` under `root`. */
export async function writeModules(root: string, folders: Record<string, FolderSpec>): Promise<void> {
  for (const [name, f] of Object.entries(folders)) {
    const dir = `${root}/modules/${name}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/module.toml`, f.manifest);
    await Deno.writeTextFile(`${dir}/main.ts`, f.main ?? fixtureSource(FIXTURE));
    if (f.config !== undefined) await Deno.writeTextFile(`${dir}/config.toml`, f.config);
  }
}

export interface Published {
  type: string;
  payload: Record<string, unknown>;
  at: number;
}

export interface TestManager {
  manager: ModuleManager;
  backend: DevNode;
  root: string;
  events: Published[];
  logs: ModuleLogRecord[];
  fatal: Error[];
  /** Resolves with the first matching event (already seen or future). */
  waitEvent(type: string, match?: (p: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Published>;
  /** Resolves with the first matching module log record. */
  waitLog(module: string, match: (message: string) => boolean, timeoutMs?: number): Promise<ModuleLogRecord>;
  /** Events of one type, optionally for one module. */
  of(type: string, name?: string): Published[];
  [Symbol.asyncDispose](): Promise<void>;
}

const LIFECYCLE = [
  "ModuleDiscovered",
  "ModuleLoaded",
  "ModuleStarted",
  "ModuleStopped",
  "ModuleUnloaded",
  "ModuleCrashed",
  "ModuleReloaded",
  "ModuleStateChanged",
  "ModuleHealthChanged",
];

/**
 * A manager over `<tmp>/modules` with the given folders. `modulesToml` is the body of the
 * `[modules]` table (and sub-tables), appended after the test defaults.
 */
export async function testManager(
  folders: Record<string, FolderSpec>,
  modulesToml = "",
  opts: { start?: boolean; watch?: boolean; stopMs?: number } = {},
): Promise<TestManager> {
  const root = await Deno.makeTempDir({ prefix: "blvm-mgr-" });
  await writeModules(root, folders);
  const { parse } = await import("smol-toml");
  const text = `[modules]
modules_dir = "modules"
data_dir = "data"
runtime_dir = "run"
watch = ${opts.watch ?? false}
watch_debounce_ms = 150
stop_timeout_ms = ${opts.stopMs ?? 2000}
kill_grace_ms = ${opts.stopMs ?? 500}
${modulesToml.includes("startup_wait_ms") ? "" : "startup_wait_ms = 0\n"}${
    modulesToml.includes("[modules.restart]") ? "" : "[modules.restart]\ninitial_delay_ms = 100\n"
  }
${modulesToml}
[node]
data_dir = "node"
`;
  let config;
  try {
    config = parseNodeConfig(parse(text) as Record<string, unknown>, `${root}/blvm.toml`, root);
  } catch (e) {
    await Deno.remove(root, { recursive: true });
    throw e;
  }
  const events: Published[] = [];
  const logs: ModuleLogRecord[] = [];
  const fatal: Error[] = [];
  const wake = new Set<() => void>();
  const backend = DevNode.open();
  const manager = await ModuleManager.create({
    config,
    backend,
    onModuleLog: (r) => {
      logs.push(r);
      for (const w of wake) w();
    },
    onFatal: (e) => fatal.push(e),
  });
  for (const type of LIFECYCLE) {
    manager.host.bus.watch(type, (payload) => {
      events.push({ type, payload: payload as Record<string, unknown>, at: Date.now() });
      for (const w of wake) w();
    });
  }
  const waitFor = <T>(find: () => T | undefined, what: string, timeoutMs: number) =>
    waitUntil(
      wake,
      find,
      timeoutMs,
      () => `Timed out waiting for ${what}; events: ${events.map((e) => e.type).join(",")}`,
    );
  const t: TestManager = {
    manager,
    backend,
    root,
    events,
    logs,
    fatal,
    waitEvent: (type, match = () => true, timeoutMs = 15_000) =>
      waitFor(() => events.find((e) => e.type === type && match(e.payload)), type, timeoutMs),
    waitLog: (module, match, timeoutMs = 15_000) =>
      waitFor(() => logs.find((r) => r.module === module && match(r.message)), `log of ${module}`, timeoutMs),
    of: (type, name) => events.filter((e) => e.type === type && (name === undefined || e.payload.name === name)),
    async [Symbol.asyncDispose]() {
      await manager.shutdown("test over");
      await backend.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
  if (opts.start !== false) await manager.start();
  return t;
}
