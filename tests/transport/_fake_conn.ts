// An in-memory Deno.Conn for driving a Connection with scripted input, and helpers shared by the fuzz
// tests of the read loop.
import { fail } from "node:assert/strict";
import fc from "fast-check";
import type { CloseInfo, Connection } from "../../src/transport/connection.ts";

/** How the scripted input ends: the peer closes, the socket fails, or the peer goes quiet. */
export type End = "eof" | "error" | "hang";

/**
 * A fake socket that hands out `chunks` one read at a time (a read gets at most one chunk, less if the
 * buffer is smaller), then ends as `end` says. Writes are recorded, optionally accepted only in part.
 * Like a real socket, close() fails a pending read and a second close() throws.
 */
export class FakeConn {
  /** Everything written, in order. */
  readonly written: Uint8Array[] = [];
  /** Whether close() was called. */
  closed = false;
  /** Resolves when every chunk has been read and the reader asks for more in `hang` mode. */
  readonly starved: Promise<void>;
  #starve!: () => void;
  #chunks: Uint8Array[];
  #i = 0;
  #offset = 0;
  #end: End;
  #maxWrite: number;
  #failRead: ((e: Error) => void) | undefined;
  #holdAfter: number;
  #hold: Promise<void> | undefined;
  #release!: () => void;

  /**
   * @param chunks The reads, in order.
   * @param end What happens after the last chunk.
   * @param options `maxWrite`: accept at most this many bytes per write() (partial writes);
   * `holdAfter`: wait for {@link FakeConn.release} before handing out chunk number `holdAfter`.
   */
  constructor(chunks: Uint8Array[], end: End, options: { maxWrite?: number; holdAfter?: number } = {}) {
    this.#chunks = chunks;
    this.#end = end;
    this.#maxWrite = options.maxWrite ?? Infinity;
    this.#holdAfter = options.holdAfter ?? -1;
    this.#hold = new Promise((r) => this.#release = r);
    this.starved = new Promise((r) => this.#starve = r);
  }

  /** Lets reads past `holdAfter` go on. */
  release(): void {
    this.#release();
  }

  async read(p: Uint8Array): Promise<number | null> {
    if (this.closed) throw new Deno.errors.BadResource("Bad resource ID");
    if (this.#i === this.#holdAfter) await this.#hold;
    else await Promise.resolve();
    if (this.closed) throw new Deno.errors.BadResource("Bad resource ID");
    if (this.#i < this.#chunks.length) {
      const c = this.#chunks[this.#i];
      const n = Math.min(p.length, c.length - this.#offset);
      p.set(c.subarray(this.#offset, this.#offset + n));
      this.#offset += n;
      if (this.#offset === c.length) {
        this.#i++;
        this.#offset = 0;
      }
      return n;
    }
    if (this.#end === "eof") return null;
    if (this.#end === "error") throw new Deno.errors.ConnectionReset("Connection reset by peer (fake)");
    this.#starve();
    return await new Promise<number | null>((_, reject) => this.#failRead = reject);
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.closed) throw new Deno.errors.BadResource("Bad resource ID");
    await Promise.resolve();
    if (this.closed) throw new Deno.errors.BadResource("Bad resource ID");
    const n = Math.max(1, Math.min(p.length, this.#maxWrite));
    this.written.push(p.slice(0, n));
    return n;
  }

  close(): void {
    if (this.closed) throw new Deno.errors.BadResource("Bad resource ID");
    this.closed = true;
    this.#failRead?.(new Deno.errors.BadResource("Bad resource ID"));
    this.#release();
  }

  /** This fake as the type Connection takes. */
  get conn(): Deno.Conn {
    return this as unknown as Deno.Conn;
  }
}

/**
 * Waits until `conn` has closed. If the fake went quiet (`hang`) with the connection still open, closes
 * it as its owner would. Rejects (failing the test, never hanging it) if nothing happens for a long time.
 */
export async function settle(fake: FakeConn, conn: Connection): Promise<CloseInfo> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error("the connection neither closed nor read on for 10 s")), 10_000)
  );
  try {
    const first = await Promise.race([conn.closed, fake.starved.then(() => undefined), stuck]);
    return first ?? await Promise.race([conn.close(), stuck]);
  } finally {
    clearTimeout(timer);
  }
}

/** Unhandled promise rejections seen since the last {@link takeUnhandled} (the listener prevents the crash). */
const unhandled: unknown[] = [];
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  unhandled.push(e.reason);
});

/**
 * Lets pending rejections surface, then returns and clears them. Deno reports an unhandled rejection in
 * its timer phase, so this waits for a timer (a MessageChannel message or an I/O op is not enough).
 */
export async function takeUnhandled(): Promise<unknown[]> {
  await new Promise((r) => setTimeout(r, 0));
  return unhandled.splice(0);
}

/** Fails if a promise rejection went unhandled since the last check. */
export async function noUnhandled(): Promise<void> {
  const seen = await takeUnhandled();
  if (seen.length) fail(`unhandled rejection: ${seen.map((e) => (e as Error)?.stack ?? String(e)).join("\n")}`);
}

/**
 * fc.assert() of an async property that must also leave no promise rejection unhandled. Waiting for a
 * timer after every run would cost a millisecond a run, so the runs go at full speed and the check is
 * made once at the end; only if it finds something are the runs repeated (same seed) with a check after
 * each, which pins down, and shrinks, the run responsible.
 */
export async function assertAsync<T>(
  arb: fc.Arbitrary<T>,
  run: (value: T) => Promise<void>,
  params: fc.Parameters<[T]>,
): Promise<void> {
  let each = false;
  const property = fc.asyncProperty(arb, async (value) => {
    await run(value);
    if (each) await noUnhandled();
  });
  await takeUnhandled();
  await fc.assert(property, params);
  const late = await takeUnhandled();
  if (late.length === 0) return;
  each = true;
  await fc.assert(property, params);
  fail(`unhandled rejection that no single run leaves behind: ${late.map(String).join("; ")}`);
}
