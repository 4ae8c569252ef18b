/**
 * Spawning a module process in its own process group, and signalling that group.
 *
 * @module
 */
import type { Logger } from "./log.ts";
import { readLines } from "./lines.ts";

/** Inputs to {@link spawnModuleProcess}. */
export interface SpawnOptions {
  /** The deno binary. Default: the one running the host. */
  denoPath?: string;
  /** Arguments from `buildDenoArgs`. */
  args: string[];
  /** The complete environment of the child (nothing is inherited). */
  env: Record<string, string>;
  /** Working directory, normally the module's data directory. */
  cwd: string;
  /** Called for each line the child writes to stdout or stderr. */
  onLine: (stream: "stdout" | "stderr", line: string) => void;
}

/** A running module process. */
export interface ModuleProcess {
  /** Process id, which is also its process group id. */
  readonly pid: number;
  /** Resolves with the exit status once the process has exited and its output has been read. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Whether the process has exited. */
  readonly exited: boolean;
  /**
   * Send a signal to the whole process group. Does nothing once the process has exited, so a
   * recycled pid is never signalled.
   *
   * @returns `true` if the signal was sent.
   */
  signal(signal: Deno.Signal): boolean;
}

/**
 * Start a module process: cleared environment, no stdin, own process group, output captured line
 * by line.
 *
 * @param o What to run and where its output goes.
 * @returns The process handle.
 *
 * @example
 * ```ts ignore
 * import { spawnModuleProcess } from "@blvm/node";
 * const p = spawnModuleProcess({ args: ["eval", "console.log(1)"], env: {}, cwd: "/tmp", onLine: console.log });
 * console.log((await p.status).code); // 0
 * ```
 */
export function spawnModuleProcess(o: SpawnOptions): ModuleProcess {
  const child = new Deno.Command(o.denoPath ?? Deno.execPath(), {
    args: o.args,
    env: o.env,
    clearEnv: true,
    cwd: o.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  let exited = false;
  const out = readLines(child.stdout, (l) => o.onLine("stdout", l));
  const err = readLines(child.stderr, (l) => o.onLine("stderr", l));
  const raw = child.status.then((s) => {
    exited = true;
    return s;
  });
  const status = Promise.all([raw, out.catch(() => {}), err.catch(() => {})]).then(([s]) => s);
  return {
    pid: child.pid,
    status,
    get exited() {
      return exited;
    },
    signal(signal: Deno.Signal): boolean {
      if (exited) return false;
      try {
        Deno.kill(-child.pid, signal);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/**
 * Wait up to `ms` for a process to exit.
 *
 * @param proc The process.
 * @param ms How long to wait.
 * @returns `true` if it exited in time.
 *
 * @example
 * ```ts ignore
 * if (!(await waitForExit(proc, 5000))) proc.signal("SIGTERM");
 * ```
 */
export function waitForExit(proc: ModuleProcess, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([proc.status.then(() => true), new Promise<false>((r) => timer = setTimeout(() => r(false), ms))])
    .finally(() => clearTimeout(timer));
}

/** Options for {@link terminate}. */
export interface TerminateOptions {
  /** How long the process has to exit by itself (after a stop message), in ms. */
  graceMs: number;
  /** How long it has between SIGTERM and SIGKILL, in ms. */
  killGraceMs: number;
  /** Why it is being stopped, for the log. */
  why: string;
  /** Where escalations are logged. */
  logger: Logger;
}

/**
 * Wait for a process to exit; if it does not within `graceMs`, send SIGTERM to its group, and if it
 * still has not exited `killGraceMs` later, SIGKILL.
 *
 * @param proc The process.
 * @param o Deadlines, reason and logger.
 * @returns The exit status.
 *
 * @example
 * ```ts ignore
 * session.stop("operator", 5000);
 * const status = await terminate(proc, { graceMs: 5000, killGraceMs: 2000, why: "operator", logger });
 * ```
 */
export async function terminate(proc: ModuleProcess, o: TerminateOptions): Promise<Deno.CommandStatus> {
  if (!(await waitForExit(proc, o.graceMs))) {
    o.logger.warn("Still running {ms} ms after {why}; sending SIGTERM", { ms: o.graceMs, why: o.why });
    proc.signal("SIGTERM");
    if (!(await waitForExit(proc, o.killGraceMs))) {
      o.logger.warn("Ignored SIGTERM; sending SIGKILL to process group {pid}", { pid: proc.pid });
      proc.signal("SIGKILL");
    }
  }
  return await proc.status;
}
