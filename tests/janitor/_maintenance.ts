// Helpers shared by the tests that run tests/fixtures/maintenance_module.ts under a real manager.
import { type FolderSpec, manifest, type TestManager } from "../manager/_managed.ts";
import { fixtureSource } from "../_host_helpers.ts";

export const MODULE = new URL("../fixtures/maintenance_module.ts", import.meta.url).href;

/** One event the fixture recorded in its events.jsonl. */
export interface Rec {
  type: string;
  payload: Record<string, unknown>;
  at: number;
}

/** A module folder running the maintenance fixture with this config.toml text. */
export function folder(name: string, config: string): FolderSpec {
  return { manifest: manifest(name), config, main: fixtureSource(MODULE) };
}

/** Wait until each module logged `ready` (its subscriptions are in place). */
export async function ready(t: TestManager, ...names: string[]): Promise<void> {
  for (const n of names) await t.waitLog(n, (m) => m === "ready");
}

/** Everything the module recorded so far, optionally only events of one type. */
export async function events(t: TestManager, name: string, type?: string): Promise<Rec[]> {
  const text = await Deno.readTextFile(`${t.manager.config.modules.data_dir}/${name}/events.jsonl`).catch(() => "");
  const recs = text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Rec);
  return type === undefined ? recs : recs.filter((r) => r.type === type);
}
