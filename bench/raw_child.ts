// Raw-bytes baseline child: the same socket, framing and batching as the module path, no codec.
// Usage: raw_child.ts <socket> <mode: pingpong|pipelined|stream> <n> [warmup round trips (pingpong)]
//        [in flight (pipelined)]
const [path, mode, nArg, warmupArg = "1000", inFlightArg = "16"] = Deno.args;
const n = Number(nArg), warmup = Number(warmupArg), inFlight = Number(inFlightArg);
const conn = await Deno.connect({ transport: "unix", path });
const buf = new Uint8Array(256 * 1024);
let start = 0, end = 0;

/** Reads until `count` complete frames arrived, calling `onFrame` for each. */
async function readFrames(count: number, onFrame?: () => void): Promise<void> {
  let got = 0;
  const view = new DataView(buf.buffer);
  while (got < count) {
    if (end === buf.length) {
      buf.copyWithin(0, start, end);
      end -= start;
      start = 0;
    }
    const r = await conn.read(buf.subarray(end));
    if (r === null) throw new Error("closed");
    end += r;
    while (end - start >= 4) {
      const len = view.getUint32(start);
      if (end - start < 4 + len) break;
      start += 4 + len;
      got++;
      onFrame?.();
    }
    if (start === end) start = end = 0;
  }
}

const frame = new Uint8Array(4 + 64);
new DataView(frame.buffer).setUint32(0, 64);

if (mode === "pingpong") {
  const rtts: number[] = [];
  for (let i = 0; i < n + warmup; i++) {
    const t = performance.now();
    await conn.write(frame);
    await readFrames(1);
    if (i >= warmup) rtts.push(performance.now() - t);
  }
  console.log(JSON.stringify({ rtts }));
} else if (mode === "pipelined") {
  let sent = 0, received = 0;
  const t = performance.now();
  const batch = new Uint8Array(frame.length * inFlight);
  for (let i = 0; i < inFlight; i++) batch.set(frame, i * frame.length);
  await conn.write(batch);
  sent = inFlight;
  while (received < n) {
    let replies = 0;
    await readFrames(1, () => replies++);
    received += replies;
    const more = Math.min(replies, n - sent);
    if (more > 0) {
      await conn.write(batch.subarray(0, more * frame.length));
      sent += more;
    }
  }
  console.log(JSON.stringify({ seconds: (performance.now() - t) / 1000, calls: n }));
} else {
  let count = 0;
  await readFrames(n, () => count++);
  await conn.write(frame);
  console.log(JSON.stringify({ count }));
}
conn.close();
