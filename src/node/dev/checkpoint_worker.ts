/**
 * The dev node's background checkpointer (see `checkpointer.ts`): a worker thread with its own
 * connection to `node.sqlite` that copies the write-ahead log into the database file when asked
 * (`PRAGMA wal_checkpoint(PASSIVE)`), so that neither the copy nor its fsyncs run on the event loop
 * the host serves modules on. A passive checkpoint never blocks the node's own connection: it copies
 * what is committed and leaves the rest for the next one.
 *
 * Messages in: `{ op: "open", path }`, `{ op: "checkpoint" }`, `{ op: "close" }`. Out: `{ op: "done" }`
 * after each checkpoint (with `error` if it failed), `{ op: "closed" }`.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { DatabaseSync } from "node:sqlite";

type Message = { op: "open"; path: string } | { op: "checkpoint" } | { op: "close" };

let db: DatabaseSync | undefined;

self.onmessage = (e: MessageEvent<Message>) => {
  const m = e.data;
  if (m.op === "open") {
    db = new DatabaseSync(m.path);
  } else if (m.op === "checkpoint") {
    try {
      db?.prepare("PRAGMA wal_checkpoint(PASSIVE)").get();
      self.postMessage({ op: "done" });
    } catch (error) {
      self.postMessage({ op: "done", error: String(error) });
    }
  } else if (m.op === "close") {
    try {
      db?.close();
    } finally {
      db = undefined;
      self.postMessage({ op: "closed" });
      self.close();
    }
  }
};
