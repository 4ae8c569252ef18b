// Shared helpers for tests that run a real host with real module processes.
import { DevNode, Host, type HostOptions, type ModuleLogRecord, probeOsSandbox, type SandboxKind } from "../mod.ts";

/** A host on a fresh temp data dir, with every module log record captured. */
export interface TestHost {
  host: Host;
  backend: DevNode;
  logs: ModuleLogRecord[];
  dataDir: string;
  /** Resolves with the first record (already seen or future) that matches. */
  waitForLog(match: (r: ModuleLogRecord) => boolean, timeoutMs?: number): Promise<ModuleLogRecord>;
  [Symbol.asyncDispose](): Promise<void>;
}

export const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

export async function testHost(options: Partial<HostOptions> = {}): Promise<TestHost> {
  const backend = DevNode.open();
  const dataDir = await Deno.makeTempDir({ prefix: "blvm-test-" });
  const logs: ModuleLogRecord[] = [];
  const waiters = new Set<() => void>();
  const host = await Host.create({
    backend,
    dataDir,
    onModuleLog: (r) => {
      logs.push(r);
      for (const w of waiters) w();
    },
    ...options,
  });
  return {
    host,
    backend,
    logs,
    dataDir,
    waitForLog: (match, timeoutMs = 10_000) =>
      waitUntil(
        waiters,
        () => logs.find(match),
        timeoutMs,
        () => `No matching module log within ${timeoutMs} ms; got: ${logs.map((l) => l.message).join(" | ")}`,
      ),
    async [Symbol.asyncDispose]() {
      await host.shutdown();
      await backend.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Whether a process with this pid exists (signal 0 via kill(1)). */
export async function processAlive(pid: number): Promise<boolean> {
  const { code } = await new Deno.Command("kill", { args: ["-0", String(pid)], stderr: "null" }).output();
  return code === 0;
}

/** How many processes have `text` (for example a module's entry) in their command line. */
export async function processesUnder(text: string): Promise<number> {
  // The module processes themselves, not the OS sandbox (bwrap) around each, whose command line names it too.
  const { stdout } = await new Deno.Command("ps", { args: ["-eo", "comm:20,args"] }).output();
  return new TextDecoder().decode(stdout).split("\n")
    .filter((l) => l.includes(text) && !/^(ps|bwrap)\s/.test(l)).length;
}

/**
 * Resolve with `find()` once it returns something: now, or after a later call of one of the
 * functions in `wake` (the caller runs them whenever its data grows). Rejects with `why()` on timeout.
 */
export function waitUntil<T>(
  wake: Set<() => void>,
  find: () => T | undefined,
  timeoutMs: number,
  why: () => string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const check = () => {
      const found = find();
      if (found === undefined) return;
      wake.delete(check);
      clearTimeout(timer);
      resolve(found);
    };
    const timer = setTimeout(() => {
      wake.delete(check);
      reject(new Error(why()));
    }, timeoutMs);
    wake.add(check);
    check();
  });
}

/**
 * The source of a fixture module, to be written as a module folder's `main.ts`: a module may import only
 * files inside its own folder (plus the SDK), so tests copy the fixture in instead of importing it.
 */
export function fixtureSource(url: string): string {
  return Deno.readTextFileSync(new URL(url));
}

/** Whether the OS layer (bubblewrap) works here. CI installs it, so there its absence is an error. */
export const OS_SANDBOX = await probeOsSandbox(Deno.execPath());
if (!OS_SANDBOX.available && Deno.env.get("CI")) {
  throw new Error(`CI must test the OS sandbox, but it is unavailable: ${OS_SANDBOX.reason}`);
}

/** The sandbox layers a security test runs under: both, and Deno's flags only (the OS layer forced off). */
export const SANDBOX_LAYERS: { name: string; mode: "require" | "off"; kind: SandboxKind }[] = [
  ...(OS_SANDBOX.available ? [{ name: "OS layer + Deno", mode: "require" as const, kind: "os+deno" as const }] : []),
  { name: "Deno layer only", mode: "off", kind: "deno" },
];
