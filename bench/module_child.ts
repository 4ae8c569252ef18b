// Benchmark module: runs under the real host and sandbox. Config { mode, n }.
import { connect } from "@blvm/node/module";

const mod = await connect();
const { mode, n } = mod.context.config as { mode: string; n: number };

if (mode === "pingpong") {
  const rtts: number[] = [];
  for (let i = 0; i < n + 1000; i++) {
    const t = performance.now();
    await mod.api.getBlockHeight();
    if (i >= 1000) rtts.push(performance.now() - t);
  }
  // The summary, not every sample: the host keeps at most 16 KiB of a log record's fields.
  rtts.sort((a, b) => a - b);
  mod.log.info("result", { median: rtts[Math.floor(rtts.length / 2)], p99: rtts[Math.floor(rtts.length * 0.99)] });
} else if (mode === "pipelined") {
  let sent = 0;
  const t = performance.now();
  const worker = async () => {
    while (sent < n) {
      sent++;
      await mod.api.getBlockHeight();
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  mod.log.info("result", { seconds: (performance.now() - t) / 1000, calls: n });
} else {
  let count = 0, sum = 0;
  mod.on("NewBlock", (e) => {
    count++;
    sum += (e.payload as { height: number }).height;
    if (e.seq === n) mod.log.info("result", { count, sum });
  });
  await mod.subscribe(["NewBlock"]);
  mod.log.info("subscribed");
}
