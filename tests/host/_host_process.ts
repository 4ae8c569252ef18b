// A host running in a process of its own (tests/fixtures/host_process.ts), for tests that kill it.
import { readProcess } from "../../mod.ts";
import { waitUntil } from "../_host_helpers.ts";

const HOST = new URL("../fixtures/host_process.ts", import.meta.url).pathname;

/** A module the host process started. */
export interface Started {
  name: string;
  /** The module's own process. */
  pid: number;
  /** What the host spawned (the module, or the OS sandbox around it). */
  spawned: number;
  sandbox: string;
}

export interface HostProcess {
  child: Deno.ChildProcess;
  /** Every JSON line it printed. */
  lines: Record<string, unknown>[];
  /** The first line (already printed or future) that matches. */
  until(match: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Waits for the modules to be started and to have printed their "ready" line. */
  ready(timeoutMs?: number): Promise<Started[]>;
  /** Writes one line to its stdin. */
  send(line: string): Promise<void>;
  /** SIGKILL (if still running) and wait for it. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Start `deno run -A host_process.ts dataDir mode ...modules` (modules as `name=busy|blocked|echo`). */
export function spawnHostProcess(dataDir: string, mode: string, modules: string[]): HostProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", HOST, dataDir, mode, ...modules],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const modes = new Map(modules.map((m) => m.split("=") as [string, string]));
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const writer = child.stdin.getWriter();
  (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      for (const p of parts) {
        if (!p.startsWith("{")) continue;
        lines.push(JSON.parse(p));
        for (const w of waiters) w();
      }
    }
  })();
  const until = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 60_000) =>
    waitUntil(
      waiters,
      () => lines.find(match),
      timeoutMs,
      () => `host process printed no matching line in ${timeoutMs} ms; got ${JSON.stringify(lines)}`,
    );
  return {
    child,
    lines,
    until,
    async ready(timeoutMs = 60_000) {
      const started = (await until((l) => "ready" in l || "error" in l, timeoutMs)).ready as Started[];
      if (!started) throw new Error(`the host process failed: ${JSON.stringify(lines)}`);
      for (const m of started) {
        const want = modes.get(m.name) === "echo" ? "ready" : `${modes.get(m.name)} ready`;
        await until((l) => l.module === m.name && l.log === want, timeoutMs);
      }
      return started;
    },
    async send(line: string) {
      await writer.write(new TextEncoder().encode(`${line}\n`));
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await writer.close().catch(() => {});
      await child.status;
    },
  };
}

/** Whether a process is gone: no such pid, or a zombie waiting to be reaped. */
export function gone(pid: number): boolean {
  const p = readProcess(pid);
  return p === undefined || p.state === "Z" || p.state === "X";
}

/**
 * Poll until every pid is gone, at most `timeoutMs`; returns, per pid, how long after `since` it was seen gone
 * (`undefined` if still running at the deadline).
 */
export async function whenGone(
  pids: number[],
  since: number,
  timeoutMs = 10_000,
): Promise<Map<number, number | undefined>> {
  const out = new Map<number, number | undefined>(pids.map((p) => [p, undefined]));
  while (performance.now() - since < timeoutMs) {
    for (const p of pids) if (out.get(p) === undefined && gone(p)) out.set(p, Math.round(performance.now() - since));
    if ([...out.values()].every((v) => v !== undefined)) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  return out;
}
