/**
 * Run by enospc_test.ts inside bubblewrap, with `Deno.args[0]` a small tmpfs of its own: a dev node
 * there mines its first blocks, pays a few times, then a filler file takes all but a little of the
 * disk and the payments go on until the disk is full (ENOSPC under SQLite). It prints one JSON line:
 * what the failing payment threw, what the admin socket's `node.send` answered, and what the node
 * held before and after (in memory, on disk after a restart, and with room again).
 *
 * @module
 */
import { dispatchNode } from "../../../src/admin/node_commands.ts";
import { DevNode } from "../../../src/node/dev/node.ts";
import { StoreWriteError } from "../../../src/node/dev/store_errors.ts";

const disk = Deno.args[0];
const data = `${disk}/node`;
const OTHER = "bcrt1q2vrjxm3d2pc58hjzr95wkk8qmc2v0re0fr63h3";
/** Free space left on the disk before the payments that fill it, bytes. */
const SLACK = 64 * 1024;

/** Fill the disk with `${disk}/filler` until ENOSPC, then give `SLACK` bytes back. */
function fill(): number {
  const chunk = new Uint8Array(64 * 1024).fill(1);
  const file = Deno.openSync(`${disk}/filler`, { create: true, write: true });
  let size = 0;
  try {
    for (;;) size += file.writeSync(chunk);
  } catch (e) {
    if (!/os error 28/.test(String(e))) throw e; // ENOSPC: the disk is full
  }
  file.truncateSync(Math.max(0, size - SLACK));
  file.close();
  return size;
}

const mempool = (node: DevNode) => node.dev.mempool().map((e) => e.txid).sort();

let node = DevNode.open({ dataDir: data });
node.dev.generate(101);
await node.flush();
const paid: string[] = [];
for (let i = 0; i < 3; i++) paid.push(node.dev.send(OTHER, 10_000 + i, 2).txid);
const filled = fill();
let error: { name: string; message: string; sqliteCode?: string; cause?: string } | undefined;
for (let i = 0; i < 10_000 && !error; i++) {
  try {
    paid.push(node.dev.send(OTHER, 20_000 + i, 2).txid);
  } catch (e) {
    const err = e as Error;
    error = {
      name: err.name,
      message: err.message,
      sqliteCode: e instanceof StoreWriteError ? e.sqliteCode : undefined,
      cause: String(err.cause),
    };
  }
}
const admin = await dispatchNode(node, "node.send", { address: OTHER, amount_sats: 30_000, fee_rate: 2 }).then(
  () => ({ ok: true }),
  (e) => ({ ok: false, code: (e as { code?: string }).code, message: (e as Error).message }),
);
const inMemory = mempool(node);
const tip = (await node.getTip()).hash;
let closeError: string | undefined;
await node.close().catch((e) => closeError = String(e));
await Deno.remove(`${disk}/filler`);

node = DevNode.open({ dataDir: data });
const reopened = { mempool: mempool(node), tip: (await node.getTip()).hash };
const after = node.dev.send(OTHER, 40_000, 2).txid;
const [block] = node.dev.generate(1);
const mined = (await node.getBlock(block.hash))!.txids.slice(1).sort();
await node.close();
console.log(
  JSON.stringify({ filled, paid: paid.sort(), error, admin, inMemory, tip, closeError, reopened, after, mined }),
);
