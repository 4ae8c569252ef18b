// module.sig.json: every malformed field is named; the file is written in a stable form.
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { formatSignatureFile, parseSignatureFile, SignatureError, type SignatureFile } from "../../mod.ts";

const VALID: SignatureFile = {
  format: "blvm-module-signature/1",
  name: "hello",
  version: "1.0.0",
  files: { "main.ts": "a".repeat(64), "module.toml": "b".repeat(64) },
  signatures: [{ key: `ed25519:${"c".repeat(64)}`, signature: "d".repeat(128), signed_at: "2025-01-31T12:00:00Z" }],
};

/** The MALFORMED error for `data`, checked to name `field` first. */
function malformed(data: unknown, field: string | undefined, message: RegExp): SignatureError {
  let err: unknown;
  throws(() => parseSignatureFile(typeof data === "string" ? data : JSON.stringify(data)), (e) => (err = e, true));
  ok(err instanceof SignatureError, `expected SignatureError, got ${err}`);
  equal(err.code, "MALFORMED");
  equal(err.details.field, field, err.message);
  match(err.message, message);
  return err;
}

Deno.test("a valid signature file parses and formats back to the same data", () => {
  const text = formatSignatureFile(VALID);
  deepEqual(parseSignatureFile(text), VALID);
  ok(text.endsWith("}\n"));
  deepEqual(Object.keys(JSON.parse(text)), ["format", "name", "version", "files", "signatures"]);
});

Deno.test("every malformed field is named in the error", () => {
  malformed("{not json", undefined, /module\.sig\.json is not valid JSON/);
  malformed([], "", /\(top level\): expected an object/);
  malformed({ ...VALID, format: "blvm-module-signature/2" }, "format", /format: expected "blvm-module-signature\/1"/);
  const { name: _, ...noName } = VALID;
  malformed(noName, "name", /name: is required/);
  malformed({ ...VALID, version: "1.0\n" }, "version", /line break/);
  malformed({ ...VALID, files: [] }, "files", /files: expected an object/);
  malformed({ ...VALID, files: { "main.ts": "XYZ" } }, 'files."main.ts"', /SHA-256 as 64 lowercase hex/);
  malformed({ ...VALID, files: { "../etc/passwd": "a".repeat(64) } }, 'files."../etc/passwd"', /'\.\.' segments/);
  malformed({ ...VALID, files: { "/etc/passwd": "a".repeat(64) } }, 'files."/etc/passwd"', /relative/);
  malformed({ ...VALID, files: { "module.sig.json": "a".repeat(64) } }, 'files."module.sig.json"', /never listed/);
  malformed({ ...VALID, signatures: {} }, "signatures", /expected an array/);
  const sig = VALID.signatures[0];
  malformed({ ...VALID, signatures: [{ ...sig, key: "c".repeat(64) }] }, "signatures[0].key", /'ed25519:'/);
  malformed({ ...VALID, signatures: [sig, { ...sig, signature: "d".repeat(127) }] }, "signatures[1].signature", /128/);
  malformed({ ...VALID, signatures: [{ ...sig, signed_at: "yesterday" }] }, "signatures[0].signed_at", /RFC 3339/);
  malformed({ ...VALID, signatures: [{ ...sig, extra: 1 }] }, "signatures[0].extra", /unknown key 'extra'/);
  malformed({ ...VALID, comment: "hi" }, "comment", /unknown key 'comment'/);
});

Deno.test("every problem is listed, not just the first", () => {
  const e = malformed({ ...VALID, name: 5, version: 6 }, "name", /name: expected a string, got 5/);
  match(e.message, /version: expected a string, got 6/);
  equal(e.details.problems?.length, 2);
});
