// Shared pieces of the security tests: a host per sandbox layer, a bystander module that must keep being
// served whatever the attacker does, and the attacker fixture (tests/fixtures/attack_module.ts).
import { equal, ok } from "node:assert/strict";
import { FIXTURES, SANDBOX_LAYERS, type TestHost, testHost } from "../_host_helpers.ts";
import type { HostOptions, ModuleHandle, ModuleSpec } from "../../mod.ts";

export { SANDBOX_LAYERS };
export type Layer = (typeof SANDBOX_LAYERS)[number];

/** An attacker's answer: what happened when it tried. */
export type Answer = { ok: true; value?: unknown } | { ok: false; error: string; message: string };

/** A host under one sandbox layer, with a bystander module running. */
export async function hostWithBystander(layer: Layer, options: Partial<HostOptions> = {}): Promise<TestHost> {
  const t = await testHost({ osSandbox: layer.mode, ...options });
  try {
    const b = await t.host.startModule({ name: "bystander", entry: `${FIXTURES}echo_module.ts` });
    equal(b.sandbox, layer.kind);
    await t.waitForLog((r) => r.module === "bystander" && r.message === "ready");
  } catch (e) {
    await t[Symbol.asyncDispose]();
    throw e;
  }
  return t;
}

let pings = 0;

/**
 * The bystander is still served: an event reaches it, and the NodeAPI calls it makes for it are answered
 * (it logs "pong" only after both calls returned); the host also reaches it with a call.
 */
export async function assertBystanderServed(t: TestHost): Promise<void> {
  const n = ++pings;
  ok(t.host.publish("test.Ping", { n }) >= 1, "the bystander is no longer subscribed");
  await t.waitForLog((r) =>
    r.module === "bystander" && r.message === "pong" &&
    (r.fields?.payload as Record<string, unknown> | undefined)?.n === n
  );
  const echo = await t.host.module("bystander")!.session.invoke("echo", { n }) as { params: unknown };
  equal((echo.params as { n: number }).n, n);
}

/** Start the attacker fixture (or another entry) with the capability to serve methods. */
export async function startAttacker(t: TestHost, spec: Partial<ModuleSpec> = {}): Promise<ModuleHandle> {
  const name = spec.name ?? "attacker";
  const h = await t.host.startModule({
    name,
    entry: `${FIXTURES}attack_module.ts`,
    capabilities: ["read_blockchain", "read_chain_state", "subscribe_events", "register_module_api"],
    ...spec,
  });
  await t.waitForLog((r) => r.module === name && r.message === "attacker ready");
  return h;
}

/** Ask the attacker to try something. */
export async function ask(t: TestHost, method: string, params: Record<string, unknown> = {}, name = "attacker") {
  const m = t.host.module(name);
  ok(m, `${name} is not running`);
  return await m.session.invoke(method, params) as Answer;
}

/** A module folder of its own (in a temp dir), holding `main.ts` and any other files given. */
export async function moduleFolder(files: Record<string, string>): Promise<string> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "blvm-attack-" }));
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${name}`.slice(0, `${dir}/${name}`.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

/**
 * The attacker fixture's files, to copy into a module folder of its own: `<dir>main.ts` (its source, with
 * `prefix` prepended) and the helper it imports beside it.
 */
export function attackerFiles(prefix = "", dir = ""): Record<string, string> {
  return {
    [`${dir}main.ts`]: prefix + Deno.readTextFileSync(`${FIXTURES}attack_module.ts`),
    [`${dir}_tree_size.ts`]: Deno.readTextFileSync(`${FIXTURES}_tree_size.ts`),
  };
}

/** A file outside every module's reach, holding a secret. */
export async function secretFile(): Promise<{ path: string; dir: string; text: string }> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "blvm-secret-" }));
  const text = `secret-${crypto.randomUUID()}`;
  await Deno.writeTextFile(`${dir}/secret.txt`, text);
  return { path: `${dir}/secret.txt`, dir, text };
}
