/**
 * Events that ask for an answer. The host publishes a request event (a catalog type with
 * `acknowledge: true`, for example `StorageFlush`) once, to every subscriber, and waits until each
 * module that was subscribed at that moment has sent its `event_ack`, or the deadline passes, or the
 * module has gone. It keeps, per module and type, how many requests it was sent, answered, failed or
 * missed, and how fast it answered.
 *
 * @module
 */
import type { EventAckMessage } from "../protocol/messages.ts";
import type { EventBus } from "./events.ts";
import type { ModuleHandle } from "./spec.ts";

/** One module's answer to one request. */
export interface Answer {
  /** `answered`, `failed` (it answered `ok: false`), `missed` (deadline) or `gone` (disconnected first). */
  outcome: "answered" | "failed" | "missed" | "gone";
  /** Milliseconds from publishing to its answer; `null` unless it answered. */
  ms: number | null;
  /** Its message, for a failure. */
  message?: string;
  /** Its answer data (a `HealthCheck` answer is `{status, message?}`). */
  data?: unknown;
}

/** What came of one request. */
export interface RequestOutcome {
  /** Event type. */
  type: string;
  /** Its sequence number. */
  seq: number;
  /** Answers by module name, for every module that was subscribed. */
  answers: Record<string, Answer>;
  /** Whether every subscribed module answered `ok` in time. */
  all_ok: boolean;
  /** Milliseconds until the last answer or the deadline. */
  duration_ms: number;
}

/** Per module and event type: how it has answered requests since the host started. */
export interface AckStats {
  /** Requests sent to it. */
  asked: number;
  /** Answered `ok` in time. */
  answered: number;
  /** Answered with `ok: false`. */
  failed: number;
  /** No answer by the deadline. */
  missed: number;
  /** Its last answer time in ms, if any. */
  last_ms: number | null;
  /** Its slowest answer in ms. */
  max_ms: number;
  /** Mean answer time in ms over the answered requests. */
  mean_ms: number | null;
}

interface Waiting {
  start: number;
  left: Set<string>;
  answers: Record<string, Answer>;
  done: () => void;
}

/**
 * Publishes request events and collects the answers.
 *
 * @example
 * ```ts ignore
 * const outcome = await host.requests.publish("StorageFlush", { reason: "manual" }, 5_000);
 * for (const [module, a] of Object.entries(outcome.answers)) console.log(module, a.outcome, a.ms);
 * ```
 */
export class EventRequests {
  readonly #bus: EventBus;
  readonly #modules: () => ModuleHandle[];
  readonly #waiting = new Map<string, Waiting>();
  readonly #stats = new Map<string, Map<string, AckStats & { total: number }>>();

  /**
   * Create the collector; the host makes one (`host.requests`).
   *
   * @param bus The event bus to publish on.
   * @param modules The running modules.
   */
  constructor(bus: EventBus, modules: () => ModuleHandle[]) {
    this.#bus = bus;
    this.#modules = modules;
  }

  /**
   * Publish a request event with `deadline_ms` added to its payload, and wait for the answers.
   *
   * @param type The event type.
   * @param payload Its payload, without `deadline_ms`.
   * @param deadlineMs How long modules have to answer.
   * @returns The answers of every module that was subscribed.
   */
  async publish(type: string, payload: Record<string, unknown>, deadlineMs: number): Promise<RequestOutcome> {
    const asked = this.#modules().filter((h) => this.#bus.isSubscribed(h.session.connection, type));
    const start = performance.now();
    const { seq } = this.#bus.publish(type, { ...payload, deadline_ms: Math.max(0, Math.round(deadlineMs)) });
    const answers: Record<string, Answer> = {};
    if (asked.length) {
      const key = `${type}#${seq}`;
      let done!: () => void;
      const finished = new Promise<void>((r) => done = r);
      const w: Waiting = { start, left: new Set(asked.map((h) => h.name)), answers, done };
      this.#waiting.set(key, w);
      for (const h of asked) {
        h.session.closed.then(() => this.#settle(key, h.name, { outcome: "gone", ms: null }));
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([finished, new Promise<void>((r) => timer = setTimeout(r, deadlineMs))]);
      clearTimeout(timer);
      this.#waiting.delete(key);
      for (const name of w.left) answers[name] = { outcome: "missed", ms: null };
      for (const h of asked) this.#count(h.name, type, answers[h.name]);
    }
    const all_ok = Object.values(answers).every((a) => a.outcome === "answered");
    return { type, seq, answers, all_ok, duration_ms: Math.round(performance.now() - start) };
  }

  /**
   * Record a module's `event_ack`. An answer to a request that is no longer waited for is ignored.
   *
   * @param module The module that sent it.
   * @param ack The message.
   */
  ack(module: string, ack: EventAckMessage): void {
    const w = this.#waiting.get(`${ack.type}#${ack.seq}`);
    if (!w) return;
    const answer: Answer = { outcome: ack.ok ? "answered" : "failed", ms: Math.round(performance.now() - w.start) };
    if (ack.message !== undefined) answer.message = ack.message;
    if (ack.data !== undefined) answer.data = ack.data;
    this.#settle(`${ack.type}#${ack.seq}`, module, answer);
  }

  /**
   * How each module has answered, by module then event type.
   *
   * @returns A snapshot.
   */
  stats(): Record<string, Record<string, AckStats>> {
    const out: Record<string, Record<string, AckStats>> = {};
    for (const [module, byType] of this.#stats) {
      out[module] = {};
      for (const [type, { total, ...s }] of byType) {
        out[module][type] = {
          ...s,
          mean_ms: s.answered + s.failed ? Math.round(total / (s.answered + s.failed)) : null,
        };
      }
    }
    return out;
  }

  #settle(key: string, module: string, answer: Answer): void {
    const w = this.#waiting.get(key);
    if (!w || !w.left.delete(module)) return;
    w.answers[module] = answer;
    if (!w.left.size) w.done();
  }

  #count(module: string, type: string, a: Answer): void {
    let byType = this.#stats.get(module);
    if (!byType) this.#stats.set(module, byType = new Map());
    let s = byType.get(type);
    if (!s) {
      byType.set(
        type,
        s = { asked: 0, answered: 0, failed: 0, missed: 0, last_ms: null, max_ms: 0, mean_ms: null, total: 0 },
      );
    }
    s.asked++;
    if (a.outcome === "answered") s.answered++;
    else if (a.outcome === "failed") s.failed++;
    else if (a.outcome === "missed") s.missed++;
    if (a.ms !== null) {
      s.last_ms = a.ms;
      s.max_ms = Math.max(s.max_ms, a.ms);
      s.total += a.ms;
    }
  }
}
