/**
 * `@blvm/hello`: an example module. It follows the chain tip, checks each new block's header
 * through the NodeAPI, and keeps a count of the blocks it has seen in its data directory, so the
 * count survives restarts. It saves the count on every `StorageFlush` and at `NodeShutdown`, and
 * answers `HealthCheck` with it.
 *
 * Run it under the host with `deno task start`.
 *
 * @example Start it from your own host
 * ```ts ignore
 * import { Host, DevNode } from "@blvm/node";
 * const host = await Host.create({ backend: DevNode.open(), dataDir: "./data" });
 * await host.startModule({ name: "hello", entry: "./modules/hello/main.ts" });
 * ```
 *
 * @module
 */
import { connect } from "@blvm/node/module";

const mod = await connect();
const stateFile = `${mod.context.dataDir}/state.json`;
const state: { blocks: number } = await Deno.readTextFile(stateFile).then(JSON.parse, () => ({ blocks: 0 }));

mod.on("NewBlock", async (e) => {
  const header = await mod.api.getBlockHeader({ hash: e.payload.hash });
  state.blocks++;
  mod.log.info(`Block ${e.payload.height} ${e.payload.hash.slice(0, 16)}…`, {
    nonce: header.nonce,
    seen: state.blocks,
  });
});
const save = () => Deno.writeTextFile(stateFile, JSON.stringify(state));
mod.onStop(save);

await mod.subscribe(["NewBlock"]);
// Janitorial requests: the handler finishing is the acknowledgement the host waits for.
await mod.onFlush(save);
await mod.onShutdown(save);
await mod.onHealthCheck(() => ({ status: "healthy", message: `${state.blocks} blocks seen` }));
const tip = await mod.api.getChainTip();
mod.log.info(`Hello from ${mod.context.moduleId}: tip is ${tip.height}`, { seen_before: state.blocks });
