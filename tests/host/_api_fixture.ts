// Shared by the tests that drive tests/fixtures/api_module.ts under a bare host: start modules, make one
// module run a NodeAPI call, and the outcome it reports.
import { DEFAULT_CAPABILITIES, type ModuleSpec } from "../../mod.ts";
import { FIXTURES, type TestHost } from "../_host_helpers.ts";

export const API = `${FIXTURES}api_module.ts`;
/** Capabilities of a module that calls others, of one that serves an API, and of one that does both. */
export const CALLER = [...DEFAULT_CAPABILITIES, "call_module"];
export const PROVIDER = [...DEFAULT_CAPABILITIES, "register_module_api"];
export const BOTH = [...CALLER, "register_module_api"];

/** What the fixture's `run` returns for one NodeAPI call. */
export interface Outcome {
  ok: boolean;
  result?: unknown;
  code?: string;
  message?: string;
  data?: Record<string, unknown> | null;
}

/** Start fixture modules in parallel and wait until each has registered its API and logged "ready". */
export async function start(t: TestHost, ...specs: Omit<ModuleSpec, "entry">[]): Promise<void> {
  await Promise.all(specs.map((s) => t.host.startModule({ entry: API, ...s })));
  await Promise.all(specs.map((s) => t.waitForLog((r) => r.module === s.name && r.message === "ready", 20_000)));
}

/** Ask module `name` to make one NodeAPI call and report how it went. */
export function run(
  t: TestHost,
  name: string,
  method: string,
  params: unknown = {},
  timeoutMs?: number,
): Promise<Outcome> {
  return t.host.module(name)!.session.invoke("run", { method, params, timeoutMs }, 30_000) as Promise<Outcome>;
}
