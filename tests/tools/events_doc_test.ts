import { equal, ok } from "node:assert/strict";
import { EVENT_CATALOG, EVENT_CATEGORIES } from "../../src/protocol/events/mod.ts";
import { eventsDoc } from "../../tools/events_doc.ts";

const DOC = new URL("../../docs/EVENTS.md", import.meta.url);

Deno.test("docs/EVENTS.md is what tools/events_doc.ts generates", async () => {
  const committed = await Deno.readTextFile(DOC);
  equal(committed, eventsDoc(), "docs/EVENTS.md is out of date: run deno run tools/events_doc.ts > docs/EVENTS.md");
});

Deno.test("eventsDoc() has one row per catalog event and one section per category", () => {
  const doc = eventsDoc();
  for (const type of Object.keys(EVENT_CATALOG)) ok(doc.includes(`\n| \`${type}\` `), `no row for ${type}`);
  for (const category of Object.keys(EVENT_CATEGORIES)) ok(doc.includes(`\n## ${category}\n`), `no ${category}`);
});

Deno.test("eventsDoc() writes optional fields with '?' and enums with '|'", () => {
  const doc = eventsDoc();
  ok(doc.includes("`code?: int`"));
  ok(doc.includes("`action: restart\\|quarantine`"));
});
