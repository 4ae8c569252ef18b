/**
 * CPU throttling without cgroups: the module's process group is paused (SIGSTOP) for part of every
 * 100 ms and resumed (SIGCONT) for the rest, like a CPU quota. Stopping the throttle always resumes
 * the process.
 *
 * @module
 */
import type { ModuleProcess } from "../host/process.ts";

/** Length of one run-and-pause cycle. */
export const THROTTLE_PERIOD_MS = 100;

/**
 * A running duty cycle on one process group.
 *
 * @example
 * ```ts ignore
 * const t = new Throttle(handle.process, 0.5); // runs 50 ms of every 100 ms
 * setTimeout(() => t.stop(), 10_000);
 * ```
 */
export class Throttle {
  readonly #proc: ModuleProcess;
  readonly #run: number;
  #timer?: ReturnType<typeof setTimeout>;
  #active = true;

  /**
   * Start throttling.
   *
   * @param proc The process.
   * @param share The share of each period it may run, 0.05 to 1.
   */
  constructor(proc: ModuleProcess, share: number) {
    this.#proc = proc;
    this.#run = Math.round(THROTTLE_PERIOD_MS * Math.min(1, Math.max(0.05, share)));
    this.#resume();
  }

  /** Whether it still throttles. */
  get active(): boolean {
    return this.#active && !this.#proc.exited;
  }

  /** Stop throttling and let the process run. */
  stop(): void {
    this.#active = false;
    clearTimeout(this.#timer);
    this.#proc.signal("SIGCONT");
  }

  #resume(): void {
    if (!this.active) return;
    this.#proc.signal("SIGCONT");
    this.#timer = setTimeout(() => this.#pause(), this.#run);
  }

  #pause(): void {
    if (!this.active) return;
    if (this.#run < THROTTLE_PERIOD_MS) this.#proc.signal("SIGSTOP");
    this.#timer = setTimeout(() => this.#resume(), THROTTLE_PERIOD_MS - this.#run);
  }
}
