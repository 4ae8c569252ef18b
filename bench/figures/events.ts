/**
 * Events into one module's handler: NewBlock-sized events published by the real host, counted in the
 * module's `on()` handler. Measured with the delivery journal on (the default) and off, beside raw
 * one-way 256-byte frames into a raw child.
 *
 * @module
 */
import { rawStream } from "../_raw.ts";
import { BenchHost, deliverBlocks } from "../_bench_host.ts";
import { count, type FigureGroup } from "./_group.ts";

const group = "events";

/** Events/s into one module (journal on), against raw frames/s and against the journal off. */
async function intoOne(journal: boolean, n: number): Promise<number> {
  const bench = await BenchHost.create({ journal: journal ? {} : false });
  try {
    const m = await bench.start("events", { subscribe: true });
    const seconds = await deliverBlocks(bench, [m], n);
    const kept = bench.host.journal?.lastPos ?? 0;
    if (journal && kept !== n) throw new Error(`the journal kept ${kept} of ${n} events`);
    return n / seconds;
  } finally {
    await bench.close();
  }
}

/** Events/s into one module, and the journal's cost. */
export const events: FigureGroup = {
  name: group,
  figures: (c) => [
    {
      id: "events_per_s",
      group,
      title: "events/s into one module's handler",
      unit: "events/s",
      baseline: "raw one-way 256 B frames/s over a Deno Unix socket, one raw child",
      method:
        `The host publishes ${count(c.events)} NewBlock events (applying back-pressure past 2048 queued) to one ` +
        "sandboxed module that counts them in its on() handler, with the delivery journal on as by default; the " +
        `baseline writes ${
          count(c.events * c.raw_factor)
        } frames in 64 KiB writes to a child that parses the framing only.`,
      target: { on: "value", op: ">=", limit: 500_000 },
    },
    {
      id: "journal_events_per_s",
      group,
      title: "events/s into one module, journal on",
      unit: "events/s",
      baseline: "the same with the journal off",
      method: "The journal-on run of the figure above against a host with `journal: false`, same round; " +
        "the journal must have kept every event.",
      target: { on: "ratio", op: ">=", limit: 0.85 },
    },
  ],
  open(c) {
    return Promise.resolve({
      async round() {
        const raw = await rawStream(1, c.events * c.raw_factor);
        const on = await intoOne(true, c.events);
        const off = await intoOne(false, c.events);
        return {
          events_per_s: { value: on, baseline: raw.perSec },
          journal_events_per_s: { value: on, baseline: off },
        };
      },
      close: () => Promise.resolve(),
    });
  },
};
