// Child of journal_enospc_test.ts, run on a small tmpfs: a bus with a journal on that disk publishes
// module events until the disk is full and goes on; then the journal is closed and opened again.
// Prints one JSON line: what was published, delivered live and kept, the losses recorded for the module
// (events the journal could not keep), and the errors reported.
import { EventBus, EventJournal } from "../../mod.ts";

const dir = `${Deno.args[0]}/journal`;
const reported: string[] = [];
const journal = EventJournal.open(dir, { maxEvents: 1_000_000, maxBytes: 1 << 30 }, (e) => {
  reported.push(`background: ${(e as Error).message}`);
});
const bus = new EventBus({}, { journal, onJournalError: (_t, e) => reported.push(`append: ${(e as Error).message}`) });
let delivered = 0;
const sub = { sendFrame: () => (delivered++, true) };
bus.subscribe(sub, { types: ["x.Big"] });
journal.track("m", bus.coverage(sub));
const payload = { data: "x".repeat(8000) };
let published = 0;
for (let i = 0; i < 300; i++) {
  bus.publish("x.Big", { ...payload, i });
  published++;
  if (i % 5 === 4) await new Promise((r) => setTimeout(r, 1)); // the journal writes at the end of each turn
}
const lost = journal.takeLost("m").reduce((n, r) => n + r.count, 0);
journal.close();
const again = EventJournal.open(dir, { maxEvents: 1_000_000, maxBytes: 1 << 30 });
const kept = again.read(again.cursor("m")!.acked, Infinity).entries.map((e) => e.pos);
again.close();
console.log(
  JSON.stringify({ published, delivered, reported: reported.length, first: reported.slice(0, 2), kept, lost }),
);
