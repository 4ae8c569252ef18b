import assert from "node:assert/strict";
import { journalOption, parseJournalConfig } from "../../src/config/journal_config.ts";
import { ConfigFileError } from "../../src/manager/config_error.ts";

Deno.test("[journal]: defaults, and the host option they make", () => {
  const c = parseJournalConfig(undefined, "blvm.toml", "/srv");
  assert.deepEqual(c, { enabled: true, max_events: 100_000, max_mib: 64, max_age_hours: 24 });
  assert.deepEqual(journalOption(c), { maxEvents: 100_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 24 * 3600_000 });
  assert.equal(journalOption(parseJournalConfig({ enabled: false }, "blvm.toml", "/srv")), false);
  const d = parseJournalConfig({ dir: "j", max_mib: 0.5 + 1 }, "blvm.toml", "/srv");
  assert.equal(d.dir, "/srv/j");
  const option = journalOption(d);
  assert.equal(option && option.path, "/srv/j");
});

Deno.test("[journal]: every bad field is named, with its value", () => {
  let err: unknown;
  try {
    parseJournalConfig({ max_events: 10, max_mib: "lots", bogus: 1 }, "blvm.toml", "/srv");
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigFileError);
  assert.deepEqual(err.issues.map((i) => i.field), ["journal.max_events", "journal.max_mib", "journal.bogus"]);
  assert.match(err.issues[1].message, /"lots"/);
  assert.throws(() => parseJournalConfig(7, "blvm.toml", "/srv"), /expected a \[journal\] table/);
});
