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
  /**
   * The command is a sandbox around the module (bubblewrap), which exits with 128 + N when the module
   * dies of signal N: the status then reports that signal, as for an unwrapped module.
   */
  wrapped?: boolean;
  /**
   * Give the child a process group of its own by forking (`setsid` in the child). Default `true`. Pass
   * `false` only when the command itself starts a new group (util-linux's `setsid` in front of it): the
   * fork is the slow part of a spawn from a large host.
   */
  detached?: boolean;
}

/** Linux signal numbers, for a wrapper's 128 + N exit codes. */
const SIGNALS: readonly Deno.Signal[] = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** A running module process. */
export interface ModuleProcess {
  /** Process id of what was spawned (the module, or the OS sandbox around it), also its process group id. */
  readonly pid: number;
  /** The module's own process: {@link ModuleProcess.pid} until {@link ModuleProcess.adopt} names another. */
  readonly modulePid: number;
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
  /**
   * Name the module's own process inside a sandbox that was spawned around it. From then on signals
   * other than SIGKILL go to that process's group (the sandbox would die of them at once, killing the
   * module without its SIGTERM handler); SIGKILL goes to both groups.
   *
   * @param pid The module's process id, a descendant of {@link ModuleProcess.pid}.
   */
  adopt(pid: number): void;
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
    detached: o.detached ?? true,
  }).spawn();
  let exited = false;
  const out = readLines(child.stdout, (l) => o.onLine("stdout", l));
  const err = readLines(child.stderr, (l) => o.onLine("stderr", l));
  const raw = child.status.then((s) => {
    exited = true;
    const signal = o.wrapped && s.signal === null && s.code > 128 ? SIGNALS[s.code - 129] : undefined;
    return signal ? { ...s, signal } : s;
  });
  const status = Promise.all([raw, out.catch(() => {}), err.catch(() => {})]).then(([s]) => s);
  let inner: { pid: number; group: number } | undefined;
  const kill = (group: number, signal: Deno.Signal) => {
    try {
      Deno.kill(-group, signal);
      return true;
    } catch {
      // Spawned a moment ago behind setsid, which has not made the group yet: the process itself is all of it.
      if (group !== child.pid || exited) return false;
      try {
        Deno.kill(child.pid, signal);
        return true;
      } catch {
        return false;
      }
    }
  };
  return {
    pid: child.pid,
    get modulePid() {
      return inner?.pid ?? child.pid;
    },
    status,
    get exited() {
      return exited;
    },
    signal(signal: Deno.Signal): boolean {
      if (exited) return false;
      if (!inner) return kill(child.pid, signal);
      if (signal !== "SIGKILL") return kill(inner.group, signal);
      const a = kill(inner.group, signal), b = kill(child.pid, signal);
      return a || b;
    },
    adopt(pid: number): void {
      if (pid === child.pid) return;
      try {
        const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
        inner = { pid, group: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) };
      } catch { /* gone already: signals keep going to the spawned group */ }
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
