// The content of a module folder as it is signed: the listing, its order, the canonical text, and
// folders that cannot be signed (links, sockets, FIFOs, newlines in names).
import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import {
  canonicalText,
  compareBytewise,
  contentHash,
  describeChange,
  diffListings,
  hashModuleFolder,
  SignatureError,
} from "../../mod.ts";
import { tempModule } from "./_sign.ts";

const hex = (text: string) => bytesToHex(sha256(new TextEncoder().encode(text)));

Deno.test("hashModuleFolder lists every regular file but the top-level module.sig.json, sorted bytewise", async () => {
  await using m = await tempModule("hello", {
    "module.sig.json": "{}",
    "sub/module.sig.json": "nested, so covered",
    ".hidden": "covered too",
    "Z.ts": "upper case sorts first",
    "a b.ts": "space",
    "é.ts": "non-ASCII sorts by its UTF-8 bytes",
  });
  await Deno.mkdir(`${m.dir}/empty`);
  const files = await hashModuleFolder(m.dir);
  deepEqual(Object.keys(files), [
    ".hidden",
    "Z.ts",
    "a b.ts",
    "lib/util.ts",
    "main.ts",
    "module.toml",
    "sub/module.sig.json",
    "é.ts",
  ]);
  equal(files["lib/util.ts"], hex("export const util = 1;\n"));
  equal(files["sub/module.sig.json"], hex("nested, so covered"));
});

Deno.test("compareBytewise orders by UTF-8 bytes, not UTF-16 code units", () => {
  // U+FF5E (EF BD 9E in UTF-8) sorts before U+1F600 (F0 9F 98 80), although its UTF-16 unit is larger.
  deepEqual(["\u{1F600}", "\uFF5E"].sort(compareBytewise), ["\uFF5E", "\u{1F600}"]);
  ok(compareBytewise("a", "a/b") < 0);
  equal(compareBytewise("x", "x"), 0);
});

Deno.test("canonicalText is the format line, name, version and '<sha256>  <path>' lines, each ending in \\n", () => {
  const a = "a".repeat(64), b = "b".repeat(64);
  equal(
    canonicalText("hello", "1.2.3", { "main.ts": b, "lib/x.ts": a }),
    `blvm-module-signature/1\nname hello\nversion 1.2.3\n${a}  lib/x.ts\n${b}  main.ts\n`,
  );
  equal(contentHash("hello", "1.2.3", {}), `sha256:${hex("blvm-module-signature/1\nname hello\nversion 1.2.3\n")}`);
  throws(
    () => canonicalText("he\nllo", "1.0.0", {}),
    (e: Error) => e instanceof SignatureError && e.code === "MALFORMED",
  );
  throws(
    () => canonicalText("hello", "1.0.0", { "a\nb": a }),
    (e: Error) => e instanceof SignatureError && e.code === "BAD_PATH",
  );
});

/** The SignatureError `p` rejects with, checked for its code and that it names `path`. */
async function refused(p: Promise<unknown>, code: string, path: string): Promise<SignatureError> {
  let err: unknown;
  await rejects(p, (e) => (err = e, true));
  ok(err instanceof SignatureError, `expected SignatureError, got ${err}`);
  equal(err.code, code);
  equal(err.details.path, path);
  ok(err.message.includes(path) || err.message.includes(JSON.stringify(path)), err.message);
  return err;
}

Deno.test("a symbolic link anywhere in the folder makes listing fail, naming it", async () => {
  await using m = await tempModule();
  await Deno.symlink("/etc/hostname", `${m.dir}/lib/host.txt`);
  const e = await refused(hashModuleFolder(m.dir), "LINK_IN_FOLDER", "lib/host.txt");
  match(e.message, /lib\/host\.txt is a symbolic link/);
  await Deno.remove(`${m.dir}/lib/host.txt`);
  // A link to a folder inside the module is refused too: it could be re-pointed anywhere.
  await Deno.symlink(`${m.dir}/lib`, `${m.dir}/lib2`);
  await refused(hashModuleFolder(m.dir), "LINK_IN_FOLDER", "lib2");
  await Deno.remove(`${m.dir}/lib2`);
  // Even module.sig.json itself may not be a link.
  await Deno.symlink("/etc/hostname", `${m.dir}/module.sig.json`);
  await refused(hashModuleFolder(m.dir), "LINK_IN_FOLDER", "module.sig.json");
});

Deno.test("a FIFO or a socket in the folder makes listing fail, naming it", async () => {
  await using m = await tempModule();
  const made = await new Deno.Command("mkfifo", { args: [`${m.dir}/lib/pipe`] }).output();
  equal(made.code, 0, "mkfifo");
  const e = await refused(hashModuleFolder(m.dir), "LINK_IN_FOLDER", "lib/pipe");
  match(e.message, /a FIFO/);
  await Deno.remove(`${m.dir}/lib/pipe`);
  const listener = Deno.listen({ transport: "unix", path: `${m.dir}/sock` });
  try {
    match((await refused(hashModuleFolder(m.dir), "LINK_IN_FOLDER", "sock")).message, /a socket/);
  } finally {
    listener.close();
  }
});

Deno.test("a file name with a newline cannot be signed", async () => {
  await using m = await tempModule();
  await Deno.writeTextFile(`${m.dir}/lib/bad\nname.ts`, "x");
  const e = await refused(hashModuleFolder(m.dir), "BAD_PATH", "lib/bad\nname.ts");
  match(e.message, /newline/);
});

Deno.test("the module folder itself may be reached through a symbolic link", async () => {
  await using m = await tempModule();
  const link = `${m.dir}-link`;
  await Deno.symlink(m.dir, link);
  try {
    deepEqual(await hashModuleFolder(link), await hashModuleFolder(m.dir));
  } finally {
    await Deno.remove(link);
  }
});

Deno.test("diffListings and describeChange name every changed, added and missing file", () => {
  const a = "a".repeat(64), b = "b".repeat(64);
  const changes = diffListings({ "main.ts": a, "lib.ts": a, "same.ts": a }, {
    "main.ts": b,
    "extra.ts": a,
    "same.ts": a,
  });
  deepEqual(changes.map(describeChange), [
    "extra.ts was added after signing",
    "lib.ts is missing (it was signed)",
    "main.ts changed after signing",
  ]);
});
