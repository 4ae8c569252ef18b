/**
 * The raw-bytes baselines: bench/raw_child.ts on its own Unix socket, speaking bare length-prefixed
 * frames with no codec, against the host side here (an echo server, or a stream of 256-byte frames in
 * 64 KiB writes).
 *
 * @module
 */
import process from "node:process";
import { median, percentile } from "./_stats.ts";

const here = new URL(".", import.meta.url).pathname;

/** A raw child, connected. */
export interface RawChild {
  /** The accepted connection. */
  conn: Deno.Conn;
  /** The child process; its stdout holds its JSON result. */
  process: Deno.ChildProcess;
}

/**
 * Spawn a raw child and accept its connection.
 *
 * @param dir A directory for the socket.
 * @param name The socket's name: `<dir>/<name>.sock`.
 * @param mode `pingpong`, `pipelined` or `stream`.
 * @param args `n`, then the mode's extra arguments (see bench/raw_child.ts).
 * @returns The child, connected.
 */
export async function spawnRaw(dir: string, name: string, mode: string, ...args: number[]): Promise<RawChild> {
  const path = `${dir}/${name}.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-net=unix:${path}`,
      `--allow-read=${path}`,
      `--allow-write=${path}`,
      `${here}raw_child.ts`,
      path,
      mode,
      ...args.map(String),
    ],
    stdout: "piped",
    stderr: "inherit",
    clearEnv: true,
    env: { NO_COLOR: "1", ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}) },
  }).spawn();
  const conn = await listener.accept();
  listener.close();
  return { conn, process };
}

const FRAME = 260;
const BATCH = (() => {
  const frame = new Uint8Array(FRAME);
  new DataView(frame.buffer).setUint32(0, FRAME - 4);
  const batch = new Uint8Array(64 * 1024 - (64 * 1024) % FRAME);
  for (let o = 0; o < batch.length; o += FRAME) batch.set(frame, o);
  return batch;
})();

/**
 * Write `n` 256-byte frames to a stream-mode child, then wait for its "done".
 *
 * @param conn The child's connection.
 * @param n Frames.
 */
export async function streamRaw(conn: Deno.Conn, n: number): Promise<void> {
  const perBatch = BATCH.length / FRAME;
  for (let sent = 0; sent < n; sent += perBatch) {
    const k = Math.min(perBatch, n - sent) * FRAME;
    for (let off = 0; off < k;) off += await conn.write(BATCH.subarray(off, k));
  }
  await conn.read(new Uint8Array(128));
}

/**
 * This process's CPU time so far, user plus system, all threads.
 *
 * @returns Microseconds.
 */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Run one echo-mode child to its end; returns its JSON result. */
async function echo(mode: "pingpong" | "pipelined", ...args: number[]): Promise<Record<string, unknown>> {
  const dir = await Deno.makeTempDir({ prefix: "blvm-bench-raw-" });
  try {
    const { conn, process: child } = await spawnRaw(dir, "raw", mode, ...args);
    const out = child.output();
    const buf = new Uint8Array(256 * 1024);
    while (true) {
      const r = await conn.read(buf).catch(() => null);
      if (r === null) break;
      for (let off = 0; off < r;) off += await conn.write(buf.subarray(off, r)); // whole frames back
    }
    try {
      conn.close();
    } catch { /* closed by the child */ }
    return JSON.parse(new TextDecoder().decode((await out).stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Round-trip times, in milliseconds. */
export interface RoundTrips {
  /** Median. */
  median: number;
  /** 99th percentile. */
  p99: number;
}

/**
 * Raw echo round trips, one in flight, timed in the child.
 *
 * @param n Timed round trips.
 * @param warmup Untimed round trips first.
 * @returns Median and p99 in milliseconds.
 */
export async function rawPingPong(n: number, warmup: number): Promise<RoundTrips> {
  const { rtts } = await echo("pingpong", n, warmup) as { rtts: number[] };
  return { median: median(rtts), p99: percentile(rtts, 0.99) };
}

/**
 * Raw echo round trips with `inFlight` outstanding at all times.
 *
 * @param n Round trips.
 * @param inFlight Outstanding frames.
 * @returns Round trips per second.
 */
export async function rawPipelined(n: number, inFlight: number): Promise<number> {
  const { seconds, calls } = await echo("pipelined", n, 0, inFlight) as { seconds: number; calls: number };
  return calls / seconds;
}

/** A fan-out measurement. */
export interface FanOut {
  /** Messages per second, all receivers together. */
  perSec: number;
  /** This process's CPU time per message per receiver, in microseconds. */
  cpuPerEventPerSub: number;
}

/**
 * Raw frames to `subs` raw children, each sent the same `n` 256-byte frames in 64 KiB writes.
 *
 * @param subs Children.
 * @param n Frames each.
 * @returns Throughput and host CPU per frame per child.
 */
export async function rawStream(subs: number, n: number): Promise<FanOut> {
  const dir = await Deno.makeTempDir({ prefix: "blvm-bench-raw-" });
  try {
    const children: RawChild[] = [];
    for (let i = 0; i < subs; i++) children.push(await spawnRaw(dir, `raw${i}`, "stream", n));
    const cpu0 = cpuMicros(), t0 = performance.now();
    await Promise.all(children.map((c) => streamRaw(c.conn, n)));
    const seconds = (performance.now() - t0) / 1000, cpu = cpuMicros() - cpu0;
    for (const c of children) c.conn.close();
    for (const { stdout } of await Promise.all(children.map((c) => c.process.output()))) {
      const { count } = JSON.parse(new TextDecoder().decode(stdout));
      if (count !== n) throw new Error(`a raw child saw ${count} of ${n} frames`);
    }
    return { perSec: n * subs / seconds, cpuPerEventPerSub: cpu / (n * subs) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
