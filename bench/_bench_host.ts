/**
 * A host for the benches: the real {@link Host} on a {@link DevNode}, with bench/module_child.ts
 * started under it (default sandbox), each ready once it logged "ready".
 *
 * @module
 */
import { DevNode, Host, type HostOptions, type ModuleHandle, type ModuleLogRecord } from "../mod.ts";

const CHILD = new URL("./module_child.ts", import.meta.url).pathname;
/** Generous deadlines: the benches run on loaded machines, and the timings never depend on them. */
const SLACK_MS = 600_000;

/** What went wrong but was recovered from during the run; the report lists them. */
export const BENCH_WARNINGS: string[] = [];

/** What a bench host is created with. */
export interface BenchHostOptions extends Partial<Omit<HostOptions, "dataDir" | "onModuleLog">> {
  /** The node; default a fresh in-memory {@link DevNode}, closed with the host. */
  backend?: DevNode;
}

/** A host with bench modules. */
export class BenchHost {
  /** The host. */
  readonly host: Host;
  readonly #dataDir: string;
  readonly #ownNode?: DevNode;
  readonly #ready = new Map<string, () => void>();

  private constructor(host: Host, dataDir: string, ownNode: DevNode | undefined, ready: Map<string, () => void>) {
    this.host = host;
    this.#dataDir = dataDir;
    this.#ownNode = ownNode;
    this.#ready = ready;
  }

  /**
   * Create a host on a fresh data directory.
   *
   * @param options Host options; `dataDir` and `onModuleLog` are the bench's own.
   * @returns The host.
   */
  static async create(options: BenchHostOptions = {}): Promise<BenchHost> {
    const dataDir = await Deno.makeTempDir({ prefix: "blvm-bench-" });
    const ownNode = options.backend ? undefined : DevNode.open();
    const ready = new Map<string, () => void>();
    const onModuleLog = (r: ModuleLogRecord) => {
      if (r.message === "ready") ready.get(r.module)?.();
      else if (r.level === "error") console.error(`[${r.module}] ${r.message}`);
    };
    const host = await Host.create({
      handshakeTimeoutMs: 60_000,
      callTimeoutMs: SLACK_MS,
      ...options,
      backend: options.backend ?? ownNode!,
      dataDir,
      onModuleLog,
    });
    return new BenchHost(host, dataDir, ownNode, ready);
  }

  /**
   * Start bench/module_child.ts and wait until it logged "ready".
   *
   * @param name The module's name.
   * @param config Its config: `subscribe` (to NewBlock), `poll_ms` (poll mode).
   * @returns The started module.
   */
  async start(name: string, config: Record<string, unknown> = {}): Promise<ModuleHandle> {
    const ready = new Promise<void>((r) => this.#ready.set(name, r));
    const handle = await this.host.startModule({ name, entry: CHILD, config });
    await ready;
    this.#ready.delete(name);
    return handle;
  }

  /**
   * Start `count` bench modules, a few at a time (their start-up is not what is measured). A start that
   * fails is retried once, and the failure recorded in {@link BENCH_WARNINGS}.
   *
   * @param count Modules, named `<prefix>0` … .
   * @param config Their config.
   * @param prefix Name prefix.
   * @returns The started modules.
   */
  async startMany(count: number, config: Record<string, unknown>, prefix = "bench"): Promise<ModuleHandle[]> {
    const out: ModuleHandle[] = [];
    for (let i = 0; i < count; i += 4) {
      const names = Array.from({ length: Math.min(4, count - i) }, (_, k) => `${prefix}${i + k}`);
      out.push(
        ...await Promise.all(names.map((n) =>
          this.start(n, config).catch(async (e) => {
            const warning = `start of module ${n} failed, retried once: ${(e as Error).message ?? e}`;
            BENCH_WARNINGS.push(warning);
            console.error(`[bench] ${warning}`);
            await this.host.stopModule(n).catch(() => {});
            return await this.start(n, config);
          })
        )),
      );
    }
    return out;
  }

  /**
   * Shut the host down, close its own node and remove its data directory.
   */
  async close(): Promise<void> {
    await this.host.shutdown("bench done");
    await this.#ownNode?.close();
    await Deno.remove(this.#dataDir, { recursive: true });
  }
}

/**
 * Invoke a bench module's method with a deadline out of the way.
 *
 * @param m The module.
 * @param method The method (see bench/module_child.ts).
 * @param params Its params.
 * @returns The result.
 */
export function invoke<T>(m: ModuleHandle, method: string, params: Record<string, unknown> = {}): Promise<T> {
  return m.session.invoke(method, params, SLACK_MS) as Promise<T>;
}

/**
 * Publish `n` NewBlock-sized events with back-pressure as a real producer applies it: every 256
 * events, wait while any subscriber has more than 2048 queued.
 *
 * @param bench The host.
 * @param mods The subscribed modules.
 * @param n Events.
 */
export async function publishBlocks(bench: BenchHost, mods: ModuleHandle[], n: number): Promise<void> {
  const { host } = bench;
  const conns = mods.map((m) => m.session.connection);
  const payload = { hash: "ab".repeat(32), height: 0, prev_hash: "cd".repeat(32), time: 1_700_000_000 };
  for (let i = 1; i <= n; i++) {
    payload.height = i;
    host.publish("NewBlock", payload);
    if ((i & 255) === 0) {
      for (const c of conns) {
        while (host.bus.backlog(c) > 2048) await c.drained(256 << 10).then(() => new Promise((r) => setTimeout(r, 0)));
      }
    }
  }
}

/**
 * Deliver `n` NewBlock events to subscribed bench modules and wait until each counted all of them in
 * its handler; checks that none was lost.
 *
 * @param bench The host.
 * @param mods Modules started with `subscribe: true`.
 * @param n Events.
 * @returns Seconds from the first publish to the last module's count.
 */
export async function deliverBlocks(bench: BenchHost, mods: ModuleHandle[], n: number): Promise<number> {
  const counted = mods.map((m) => invoke<{ count: number }>(m, "count", { n }));
  const t0 = performance.now();
  await publishBlocks(bench, mods, n);
  const counts = await Promise.all(counted);
  const seconds = (performance.now() - t0) / 1000;
  if (counts.some((c) => c.count !== n)) throw new Error(`modules saw ${counts.map((c) => c.count)} of ${n} events`);
  for (const m of mods) {
    const dropped = bench.host.bus.stats(m.session.connection)?.dropped_total;
    if (dropped) throw new Error(`NewBlock is lossless, yet ${dropped} were dropped`);
  }
  return seconds;
}
