// The delivery journal on a disk that fills up for real (a 1 MiB tmpfs, tests/_tmpfs.ts): every event is
// still delivered live, the failure is reported (never thrown into the event loop), and the journal opens
// again with the batches written before the disk was full, in order.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { runOnTmpfs, TMPFS_SKIPPED, tmpfsSkipNote } from "../_tmpfs.ts";

const CHILD = new URL("./_journal_enospc_child.ts", import.meta.url).pathname;

Deno.test({
  name: `the journal on a full disk (ENOSPC on a tmpfs) reports it, delivers live and stays readable${tmpfsSkipNote()}`,
  ignore: TMPFS_SKIPPED,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "journal-enospc-" });
    try {
      await Deno.mkdir(`${dir}/disk`);
      const out = await runOnTmpfs(`${dir}/disk`, 1024 * 1024, CHILD, [`${dir}/disk`]);
      equal(out.code, 0, `the child failed:\n${out.stdout}\n${out.stderr}`);
      const r = JSON.parse(out.stdout.trim().split("\n").at(-1)!) as {
        published: number;
        delivered: number;
        reported: number;
        first: string[];
        kept: number[];
        lost: number;
      };
      equal(r.delivered, r.published, "every event was delivered live");
      ok(r.reported > 0, "the full disk was reported");
      match(r.first[0], /No space left|disk is full|ENOSPC/i);
      ok(r.kept.length > 0 && r.kept.length < r.published, `kept ${r.kept.length} of ${r.published}`);
      deepEqual(r.kept.slice(0, 3), [1, 2, 3], "the first ones kept");
      ok(r.kept.every((p, i) => i === 0 || p > r.kept[i - 1]), "in order, none torn");
      equal(r.kept.length + r.lost, r.published, "every event the journal could not keep is a recorded loss");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
