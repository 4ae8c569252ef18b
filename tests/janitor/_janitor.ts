// Helpers shared by the tests that run tests/fixtures/janitor_module.ts under a real manager.
import { Janitor, parseJanitorConfig } from "../../mod.ts";
import { fixtureSource } from "../_host_helpers.ts";
import { type FolderSpec, manifest, type TestManager } from "../manager/_managed.ts";

export const FIXTURE = new URL("../fixtures/janitor_module.ts", import.meta.url).href;

/** One line of the fixture's events.jsonl: an event it received, or a `_marker` it wrote. */
export interface Rec {
  type: string;
  seq?: number;
  replay?: boolean;
  payload?: Record<string, unknown>;
  at: number;
  [key: string]: unknown;
}

/** A module folder running the janitor fixture with this config.toml text. */
export const folder = (name: string, config: string): FolderSpec => ({
  manifest: manifest(name),
  main: fixtureSource(FIXTURE),
  config,
});

/** A module's data folder under the test manager. */
export const dataDir = (t: TestManager, name: string): string => `${t.root}/data/${name}`;

/** What the module has recorded so far, optionally only lines of one type. */
export async function recorded(t: TestManager, name: string, type?: string): Promise<Rec[]> {
  const text = await Deno.readTextFile(`${dataDir(t, name)}/events.jsonl`).catch(() => "");
  const recs = text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Rec);
  return type === undefined ? recs : recs.filter((r) => r.type === type);
}

/** Poll `find` until it returns something, or fail after `ms`. */
export async function until<T>(what: string, find: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await find();
    if (r !== undefined) return r;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Wait until each module has every subscription in place. */
export const ready = (t: TestManager, ...names: string[]): Promise<Rec[]> =>
  Promise.all(
    names.map((name) => until(`${name} to subscribe`, async () => (await recorded(t, name, "_subscribed"))[0])),
  );

export const sleep = (ms: number): Promise<unknown> => new Promise((r) => setTimeout(r, ms));

/** A janitor with nothing scheduled but what `janitor` sets (tables are merged); stopped on dispose. */
export function janitorFor(t: TestManager, janitor: Record<string, unknown> = {}): Janitor & Disposable {
  const config: Record<string, unknown> = {
    flush: { interval_seconds: 0 },
    health: { interval_seconds: 0 },
    cleanup: { interval_hours: 0 },
    maintenance: { cleanup_interval_hours: 0 },
    disk: { interval_seconds: 0 },
    resources: { interval_seconds: 0 },
  };
  for (const [k, v] of Object.entries(janitor)) {
    config[k] = typeof v === "object" && v !== null ? { ...config[k] as object, ...v } : v;
  }
  const j = new Janitor({
    manager: t.manager,
    backend: t.backend,
    config: parseJanitorConfig(config, `${t.root}/blvm.toml`, t.root),
  }) as Janitor & Disposable;
  j[Symbol.dispose] = () => j.stop();
  return j;
}
