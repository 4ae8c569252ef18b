/**
 * A dev node process that crashes at the wrong moment: it opens the node in `dir`, arms a hook that
 * SIGKILLs this process when a chosen block is about to be recorded as connected (inside the store
 * transaction that stores and connects it), then does one thing: submit blocks, or `dev.reorg`.
 * Run by crash_test.ts as `deno run -A _crash_child.ts PLAN.json`; it must die by SIGKILL.
 *
 * @module
 */
import { DevNode } from "../../../src/node/dev/node.ts";
import { storeHooks } from "../../../src/node/dev/test_hooks.ts";

/** What the child does. */
export interface CrashPlan {
  /** The node's data dir. */
  dir: string;
  /** Die when the block with this hash, or any block at this height not in `keep`, is being connected. */
  killAt: { hash?: string; height?: number; keep?: string[] };
  /** Submit these blocks (hex) in order... */
  submit?: string[];
  /** ...or run `dev.reorg(depth)`. */
  reorg?: number;
}

const plan = JSON.parse(await Deno.readTextFile(Deno.args[0])) as CrashPlan;
const node = DevNode.open({ dataDir: plan.dir });
storeHooks.beforeConnect = (hash, height) => {
  const { killAt } = plan;
  if (hash === killAt.hash || (height === killAt.height && !killAt.keep?.includes(hash))) {
    Deno.kill(Deno.pid, "SIGKILL");
  }
};
for (const hex of plan.submit ?? []) console.log(JSON.stringify(await node.submitBlock(hex)));
if (plan.reorg !== undefined) console.log(JSON.stringify(node.dev.reorg(plan.reorg)));
await node.close();
