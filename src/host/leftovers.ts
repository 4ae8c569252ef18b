/**
 * Records of the module processes a host runs, so that the next host can end what a killed host left
 * behind. Each running module has a record in the host's folder of the data root
 * (`<data_dir>/.blvm/run/<name>.json`, out of every module's reach): the pid, process group, start time
 * (field 22 of `/proc/<pid>/stat`) and command line of the process the host spawned, and of the module's
 * own process inside the OS sandbox. A host that starts ends every process whose record still matches
 * it in all three (SIGKILL to its process group, then waits until it is gone); a pid that now belongs to
 * another process is never signalled.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";

/** What `/proc` says about one process. */
export interface ProcessInfo {
  /** Process id. */
  pid: number;
  /** One-letter state (`R`, `S`, `D`, `Z`, …). */
  state: string;
  /** Process group id. */
  group: number;
  /** Start time after boot, in clock ticks (field 22 of `/proc/<pid>/stat`), as written there. */
  startTime: string;
  /** Command line (empty for a zombie). */
  cmdline: string[];
}

/**
 * Read a process's state, group, start time and command line from `/proc`.
 *
 * @param pid The process id.
 * @returns Its information, or `undefined` if no such process exists.
 *
 * @example
 * ```ts
 * import { readProcess } from "@blvm/node";
 * const me = readProcess(Deno.pid)!;
 * console.log(me.pid === Deno.pid, /^\d+$/.test(me.startTime)); // true true
 * ```
 */
export function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces and parentheses): field 3 is at index 0.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cmdline = new TextDecoder().decode(Deno.readFileSync(`/proc/${pid}/cmdline`)).split("\0");
    if (cmdline.at(-1) === "") cmdline.pop();
    return { pid, state: f[0], group: Number(f[2]), startTime: f[19], cmdline };
  } catch {
    return undefined;
  }
}

/** One process in a {@link ModuleRunRecord}. */
export interface RecordedProcess {
  /** Process id. */
  pid: number;
  /** Its process group when it was recorded. */
  group: number;
  /** Field 22 of `/proc/<pid>/stat`. */
  start_time: string;
  /** The command lines it may show: what was executed, and the same behind the parent-death wrapper. */
  cmdlines: string[][];
}

/** The record of one running module, as written to `<data_dir>/.blvm/run/<name>.json`. */
export interface ModuleRunRecord {
  /** The module's name. */
  module: string;
  /** The host that started it. */
  host: { pid: number; start_time: string; id: string };
  /** The spawned process first, then the module's own process inside a sandbox, if any. */
  processes: RecordedProcess[];
  /** When the record was written (ISO 8601). */
  written_at: string;
}

/**
 * A process a previous host left running could not be ended: it is still alive after SIGKILL (stuck in
 * the kernel, `D` state). The module is not started again while it lives.
 *
 * @example
 * ```ts
 * import { LeftoverError } from "@blvm/node";
 * const e = new LeftoverError("busy", 4242, 5000);
 * console.log(e.code, e.message.includes("4242")); // "LEFTOVER_RUNNING" true
 * ```
 */
export class LeftoverError extends Error {
  /** Always `LEFTOVER_RUNNING`. */
  readonly code = "LEFTOVER_RUNNING";
  /** The module's name. */
  readonly module: string;
  /** The process that would not die. */
  readonly pid: number;

  /**
   * Create the error.
   *
   * @param module The module's name.
   * @param pid The process that would not die.
   * @param waitedMs How long the host waited after SIGKILL.
   */
  constructor(module: string, pid: number, waitedMs: number) {
    super(
      `A process of module '${module}' left by a previous host (pid ${pid}) is still alive ${waitedMs} ms after SIGKILL; not starting a second copy on its data dir`,
    );
    this.name = "LeftoverError";
    this.module = module;
    this.pid = pid;
  }
}

/** A leftover process that was ended. */
export interface EndedLeftover {
  /** The module's name. */
  module: string;
  /** The process. */
  pid: number;
  /** The host that had started it. */
  hostPid: number;
  /** From SIGKILL until it was gone, in ms. */
  ms: number;
}

/** Whether `rec` is a well-formed record (a damaged one is ignored, never acted on). */
function valid(rec: ModuleRunRecord): rec is ModuleRunRecord {
  const strings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === "string");
  return typeof rec?.host?.id === "string" && typeof rec.host.pid === "number" && Array.isArray(rec.processes) &&
    rec.processes.every((p) =>
      Number.isSafeInteger(p?.pid) && p.pid > 1 && Number.isSafeInteger(p.group) && p.group > 1 &&
      typeof p.start_time === "string" && Array.isArray(p.cmdlines) && p.cmdlines.every(strings)
    );
}

/** Whether `p` is the process `r` recorded: same start time and one of its command lines. */
function same(r: RecordedProcess, p: ProcessInfo | undefined): boolean {
  if (!p || p.state === "Z" || p.state === "X" || p.startTime !== r.start_time) return false;
  return r.cmdlines.some((c) => c.length === p.cmdline.length && c.every((a, i) => a === p.cmdline[i]));
}

/**
 * The run records of one data root, and the ending of what a previous host left behind.
 *
 * @example
 * ```ts
 * import { RunRecords } from "@blvm/node";
 * const dir = await Deno.makeTempDir();
 * const records = new RunRecords(dir);
 * records.record("hello", Deno.pid, [Deno.execPath()]);
 * console.log(records.names()); // [] (a record of this host is not a leftover)
 * records.release("hello", Deno.pid);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class RunRecords {
  /** The folder holding the records. */
  readonly dir: string;
  readonly #host: ModuleRunRecord["host"];

  /**
   * Use `dir` (created mode 0700 if missing) for the records.
   *
   * @param dir The folder, normally `<data_dir>/.blvm/run`.
   */
  constructor(dir: string) {
    this.dir = dir;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#host = { pid: Deno.pid, start_time: readProcess(Deno.pid)?.startTime ?? "", id: crypto.randomUUID() };
  }

  /**
   * Record a process just spawned for a module (replacing the module's earlier record).
   *
   * @param name The module's name.
   * @param pid The spawned process (also its process group).
   * @param command The command line it runs once started.
   * @param wrapper Arguments in front of `command` while wrappers (`setsid -- setpriv … --`) have not yet
   * executed it; each wrapper's arguments end with `--`.
   * @param group Its process group, when known ahead (the spawn makes one of its own, but `setsid` may not
   * have run yet); default: read from `/proc`.
   */
  record(name: string, pid: number, command: string[], wrapper: string[] = [], group?: number): void {
    const info = readProcess(pid);
    if (!info) return; // already gone
    // Each wrapper (setsid, setpriv) executes the next in the same process: any tail of the chain may show.
    const cmdlines = [command];
    for (let i = wrapper.length - 1; i >= 0; i--) {
      if (i === 0 || wrapper[i - 1] === "--") cmdlines.push([...wrapper.slice(i), ...command]);
    }
    this.#write({
      module: name,
      host: this.#host,
      processes: [{ pid, group: group ?? info.group, start_time: info.startTime, cmdlines }],
      written_at: new Date().toISOString(),
    });
  }

  /**
   * Add the module's own process (inside a sandbox) to its record.
   *
   * @param name The module's name.
   * @param spawned The spawned process the record is for.
   * @param pid The module's process.
   */
  adopt(name: string, spawned: number, pid: number): void {
    const rec = this.#read(name);
    const info = readProcess(pid);
    if (!rec || rec.processes[0]?.pid !== spawned || !info || pid === spawned) return;
    rec.processes.push({ pid, group: info.group, start_time: info.startTime, cmdlines: [info.cmdline] });
    this.#write(rec);
  }

  /**
   * Remove a module's record once its process has exited (if the record is still that process's).
   *
   * @param name The module's name.
   * @param spawned The spawned process that exited.
   */
  release(name: string, spawned: number): void {
    const rec = this.#read(name);
    if (rec && rec.processes[0]?.pid !== spawned) return;
    this.#remove(name);
  }

  /**
   * The modules with a record written by another host (or an earlier host in this process).
   *
   * @returns Module names.
   */
  names(): string[] {
    const out: string[] = [];
    for (const e of Deno.readDirSync(this.dir)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      const name = e.name.slice(0, -5);
      if (this.#read(name)?.host.id !== this.#host.id) out.push(name);
    }
    return out.sort();
  }

  /**
   * End what a previous host left of one module: every recorded process that is still the same process
   * (pid, start time and command line) gets SIGKILL to its process group, and the host waits until it is
   * gone. Records of processes that are gone or are now other processes are just removed.
   *
   * @param name The module's name.
   * @param log Where to report what was ended or left alone.
   * @param waitMs How long to wait for a killed process to go.
   * @returns What was ended.
   * @throws {LeftoverError} if a process is still alive after `waitMs`.
   */
  async end(name: string, log?: Logger, waitMs = 5_000): Promise<EndedLeftover[]> {
    const rec = this.#read(name);
    if (!rec) {
      // Unreadable or damaged: it can name nothing safely.
      if (this.#exists(name)) this.#remove(name);
      return [];
    }
    if (rec.host.id === this.#host.id) return [];
    const ended: EndedLeftover[] = [];
    for (const p of rec.processes) {
      const live = p.pid === Deno.pid ? undefined : readProcess(p.pid);
      if (!live || !same(p, live)) {
        if (live && live.state !== "Z") {
          log?.info("Record of module {module} names pid {pid}, now another process: left alone", {
            module: name,
            pid: p.pid,
          });
        }
        continue;
      }
      const t0 = performance.now();
      // The group id cannot have been reused while its recorded member is alive in it; never the host's own.
      const group = live.group === p.group && p.group !== readProcess(Deno.pid)?.group;
      try {
        Deno.kill(group ? -p.group : p.pid, "SIGKILL");
      } catch { /* gone meanwhile */ }
      while (same(p, readProcess(p.pid))) {
        if (performance.now() - t0 > waitMs) throw new LeftoverError(name, p.pid, waitMs);
        await new Promise((r) => setTimeout(r, 10));
      }
      const e = { module: name, pid: p.pid, hostPid: rec.host.pid, ms: Math.round(performance.now() - t0) };
      log?.warn("Ended process {pid} of module {module}, left running by a previous host (pid {hostPid})", e);
      ended.push(e);
    }
    this.#remove(name);
    return ended;
  }

  /**
   * {@link RunRecords.end} for every module with a record of another host, all at once.
   *
   * @param log Where to report.
   * @returns What was ended, and the modules whose leftovers would not die (they stay recorded).
   */
  async endAll(log?: Logger): Promise<{ ended: EndedLeftover[]; stuck: LeftoverError[] }> {
    const ended: EndedLeftover[] = [], stuck: LeftoverError[] = [];
    await Promise.all(
      this.names().map(async (name) => {
        try {
          ended.push(...await this.end(name, log));
        } catch (e) {
          if (!(e instanceof LeftoverError)) throw e;
          log?.error("{error}", { error: e.message });
          stuck.push(e);
        }
      }),
    );
    return { ended, stuck };
  }

  #path(name: string): string {
    return `${this.dir}/${name}.json`;
  }

  #exists(name: string): boolean {
    try {
      return Deno.lstatSync(this.#path(name)).isFile;
    } catch {
      return false;
    }
  }

  #remove(name: string): void {
    try {
      Deno.removeSync(this.#path(name));
    } catch { /* gone already */ }
  }

  #read(name: string): ModuleRunRecord | undefined {
    try {
      const rec = JSON.parse(Deno.readTextFileSync(this.#path(name)));
      return valid(rec) ? rec : undefined;
    } catch {
      return undefined;
    }
  }

  #write(rec: ModuleRunRecord): void {
    const tmp = `${this.dir}/.${rec.module}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(rec), { mode: 0o600 });
    Deno.renameSync(tmp, this.#path(rec.module));
  }
}
