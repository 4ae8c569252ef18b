/**
 * Modules die with the host. Every module command starts with `setpriv --pdeathsig KILL --`
 * (util-linux), which sets the parent-death signal and then executes the command in the same process,
 * so the pid, the process group, the signals the host sends and the exit status are the module's own.
 * When the host dies, however it dies, the kernel sends SIGKILL to the module at once, whatever the
 * module is doing (a busy loop, a blocking call). The parent-death signal fires when the *thread* that
 * spawned the process ends: Deno spawns on the thread running the host's JavaScript, which lives as long
 * as the host. The OS layer's `bwrap --die-with-parent` does the same for the sandbox; with setpriv the
 * Deno layer alone has it too.
 *
 * Where setpriv is missing the host says so loudly and modules run without it: a module would then
 * outlive a killed host until the next host ends it (see `leftovers.ts`).
 *
 * In front of setpriv, util-linux's `setsid` gives the module a process group (and session) of its own,
 * again in the same process. Deno can do that itself (`detached: true`), but only by forking the whole
 * host, which costs 10 to 30 ms of the host's event loop per start; without `detached` it spawns cheaply.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { findInPath, tryRun } from "./executables.ts";

/** Whether modules can be given a parent-death signal here. */
export interface ParentDeathProbe {
  /** `true` when a trial `setpriv --pdeathsig KILL -- setpriv --version` worked. */
  available: boolean;
  /** The setpriv binary, when found. */
  setpriv?: string;
  /** util-linux's setsid, when it works here: the module's own process group without a forking spawn. */
  setsid?: string;
  /** Why it is not available. */
  reason?: string;
}

/**
 * The arguments that make a command die with its parent (put them in front of the command).
 *
 * @param setpriv The setpriv binary.
 * @returns `[setpriv, "--pdeathsig", "KILL", "--"]`.
 *
 * @example
 * ```ts
 * import { parentDeathArgs } from "@blvm/node";
 * console.log(parentDeathArgs("/usr/bin/setpriv").join(" ")); // "/usr/bin/setpriv --pdeathsig KILL --"
 * ```
 */
export function parentDeathArgs(setpriv: string): string[] {
  return [setpriv, "--pdeathsig", "KILL", "--"];
}

/**
 * Find setpriv and check that it sets a parent-death signal and executes a command (itself) after it.
 *
 * @param setpriv The setpriv binary. Default: `setpriv` from `PATH`, else `/usr/bin/setpriv`.
 * @param log If given, told loudly (at error level) when it does not work.
 * @returns Whether it works, and why not.
 *
 * @example
 * ```ts ignore
 * const probe = await probeParentDeath();
 * if (!probe.available) console.error(`modules would outlive a killed host: ${probe.reason}`);
 * ```
 */
export async function probeParentDeath(setpriv?: string, log?: Logger): Promise<ParentDeathProbe> {
  const probe = await trial(setpriv);
  if (!probe.available) {
    log?.error(
      "Modules will NOT die with the host if it is killed ({reason}): under Deno's flags alone a module outlives a killed host until the next host ends it. Install util-linux (setpriv).",
      { reason: probe.reason },
    );
  }
  return probe;
}

async function trial(setpriv?: string): Promise<ParentDeathProbe> {
  const bin = setpriv ?? findInPath("setpriv") ?? "/usr/bin/setpriv";
  try {
    const out = await tryRun(bin, [...parentDeathArgs(bin).slice(1), bin, "--version"]);
    if (out.success && out.stdout.includes("setpriv")) {
      return { available: true, setpriv: bin, setsid: await sessionProgram(bin) };
    }
    const why = out.stderr.trim().split("\n")[0] || `exit code ${out.code}`;
    return { available: false, setpriv: bin, reason: `a trial 'setpriv --pdeathsig KILL' failed: ${why}` };
  } catch (e) {
    const missing = e instanceof Deno.errors.NotFound;
    return {
      available: false,
      reason: missing ? `setpriv (util-linux) is not installed (looked for '${bin}')` : String(e),
    };
  }
}

/** util-linux's setsid, if a trial `setsid -- setpriv --version` (the chain modules start with) works. */
async function sessionProgram(setpriv: string): Promise<string | undefined> {
  const bin = findInPath("setsid");
  if (!bin) return undefined;
  const out = await tryRun(bin, ["--", setpriv, "--version"]).catch(() => undefined);
  return out?.success && out.stdout.includes("setpriv") ? bin : undefined;
}
