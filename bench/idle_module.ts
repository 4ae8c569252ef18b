// An idle module for bench/monitor_bench.ts, bench/sandbox_bench.ts and bench/figures/startup.ts: connects,
// answers the host's janitorial requests, and otherwise does nothing.
import { connect } from "@blvm/node/module";

const mod = await connect();
await mod.onHealthCheck(() => ({ status: "healthy" }));
await mod.onFlush(() => {});
