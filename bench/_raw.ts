// The raw-bytes baseline shared by the benches: spawn bench/raw_child.ts on its own socket, and stream
// 256-byte frames to it in 64 KiB writes (the measured floor's method).
const here = new URL(".", import.meta.url).pathname;

/** A raw child, connected. */
export interface RawChild {
  conn: Deno.Conn;
  process: Deno.ChildProcess;
}

/** Spawn a raw child in `mode` for `n` messages on `<dir>/<name>.sock` and accept its connection. */
export async function spawnRaw(dir: string, name: string, mode: string, n: number): Promise<RawChild> {
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
      String(n),
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

/** Write `n` 256-byte frames to a stream-mode child, then wait for its "done". */
export async function streamRaw(conn: Deno.Conn, n: number): Promise<void> {
  const perBatch = BATCH.length / FRAME;
  for (let sent = 0; sent < n; sent += perBatch) {
    const k = Math.min(perBatch, n - sent) * FRAME;
    for (let off = 0; off < k;) off += await conn.write(BATCH.subarray(off, k));
  }
  await conn.read(new Uint8Array(128));
}
