// A real full disk: a dev node on an 8 MiB tmpfs (mounted by bubblewrap in a user namespace, so no
// root is needed) pays until the disk is full. SQLite meets ENOSPC when it commits, and the payment and
// the admin socket's `node.send` report "database or disk is full" (the old code reported "cannot
// rollback - no transaction is active"); every payment made before is kept, and with room again the
// node pays and mines them all. Without bubblewrap the test is skipped, saying so, except under CI
// (CI set), where it fails.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { DISK_FULL } from "./_store_faults.ts";
import { runOnTmpfs, TMPFS_SKIPPED, tmpfsSkipNote } from "../../_tmpfs.ts";

const CHILD = new URL("./_enospc_child.ts", import.meta.url).pathname;
const DISK_BYTES = 8 * 1024 * 1024;

interface Report {
  paid: string[];
  error?: { name: string; message: string; sqliteCode?: string; cause: string };
  admin: { ok: boolean; code?: string; message?: string };
  inMemory: string[];
  tip: string;
  reopened: { mempool: string[]; tip: string };
  after: string;
  mined: string[];
}

Deno.test({
  name: `payments on a disk that fills up (ENOSPC on a tmpfs) report the real cause and lose nothing${tmpfsSkipNote()}`,
  ignore: TMPFS_SKIPPED,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "enospc-" });
    try {
      await Deno.mkdir(`${dir}/disk`);
      const out = await runOnTmpfs(`${dir}/disk`, DISK_BYTES, CHILD, [`${dir}/disk`]);
      equal(out.code, 0, `the child failed:\n${out.stdout}\n${out.stderr}`);
      const stdout = out.stdout;
      const r = JSON.parse(stdout.trim().split("\n").at(-1)!) as Report;

      ok(r.error, "the disk filled up during the payments");
      deepEqual([r.error.name, r.error.sqliteCode], ["StoreWriteError", "SQLITE_FULL"]);
      match(r.error.message, DISK_FULL);
      ok(!r.error.message.includes("rollback"), r.error.message);
      match(r.error.cause, /database or disk is full/);
      equal(r.admin.ok, false);
      equal(r.admin.code, "UNAVAILABLE");
      match(r.admin.message!, DISK_FULL);

      ok(r.paid.length > 3, `payments were made after the filler too: ${r.paid.length}`);
      deepEqual(r.inMemory, r.paid, "the mempool holds every payment made, and not the failed ones");
      deepEqual(r.reopened, { mempool: r.paid, tip: r.tip }, "the file holds them too");
      deepEqual(r.mined, [...r.paid, r.after].sort(), "with room again, all of them are paid and mined");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
