import { deepEqual, equal, ok } from "node:assert/strict";
import { readLines } from "../../src/host/lines.ts";

const utf8 = new TextEncoder();

/** Run readLines over the given chunks (strings are UTF-8 encoded) and collect every delivered line. */
async function lines(chunks: (string | Uint8Array)[], maxLine?: number): Promise<string[]> {
  const out: string[] = [];
  const stream = ReadableStream.from(chunks.map((c) => typeof c === "string" ? utf8.encode(c) : c));
  await readLines(stream, (l) => out.push(l), maxLine);
  return out;
}

Deno.test("readLines() splits one chunk into lines", async () => {
  deepEqual(await lines(["a\nbb\nccc\n"]), ["a", "bb", "ccc"]);
});

Deno.test("readLines() joins a line split across chunks", async () => {
  deepEqual(await lines(["hel", "lo\nwor", "ld\n"]), ["hello", "world"]);
});

Deno.test("readLines() joins a line split across many one-byte chunks", async () => {
  const text = "first line\nsecond\n";
  deepEqual(await lines([...text]), ["first line", "second"]);
});

Deno.test("readLines() strips CR from CRLF line endings", async () => {
  deepEqual(await lines(["a\r\nb\r\n"]), ["a", "b"]);
});

Deno.test("readLines() strips CR when CR and LF arrive in different chunks", async () => {
  deepEqual(await lines(["a\r", "\nb\r", "\n"]), ["a", "b"]);
});

Deno.test("readLines() keeps a CR that is not at the end of a line", async () => {
  deepEqual(await lines(["a\rb\n"]), ["a\rb"]);
});

Deno.test("readLines() decodes a multi-byte UTF-8 character split across chunks", async () => {
  const bytes = utf8.encode("€uro 😀\n");
  // "€" is e2 82 ac: split after its first byte; "😀" is 4 bytes: split in its middle.
  const emoji = bytes.indexOf(0xf0);
  const chunks = [bytes.subarray(0, 1), bytes.subarray(1, emoji + 2), bytes.subarray(emoji + 2)];
  deepEqual(await lines(chunks), ["€uro 😀"]);
});

Deno.test("readLines() decodes every split of a 4-byte UTF-8 character", async () => {
  const bytes = utf8.encode("x😀y\n");
  for (let i = 1; i < bytes.length; i++) {
    deepEqual(await lines([bytes.subarray(0, i), bytes.subarray(i)]), ["x😀y"], `split at ${i}`);
  }
});

Deno.test("readLines() delivers a final line without a newline", async () => {
  deepEqual(await lines(["a\nlast"]), ["a", "last"]);
  deepEqual(await lines(["only"]), ["only"]);
});

Deno.test("readLines() strips CR from a final line without a newline", async () => {
  deepEqual(await lines(["a\nb\r"]), ["a", "b"]);
});

Deno.test("readLines() delivers nothing for an empty stream", async () => {
  deepEqual(await lines([]), []);
  deepEqual(await lines([""]), []);
});

Deno.test("readLines() preserves empty lines", async () => {
  deepEqual(await lines(["\n\na\n\nb\n"]), ["", "", "a", "", "b"]);
  deepEqual(await lines(["\r\n"]), [""]);
});

Deno.test("readLines() delivers an over-long line in a single chunk in pieces with no bytes lost", async () => {
  const long = "abcdefghij".repeat(5); // 50 characters
  const out = await lines([long + "\nshort\n"], 16);
  deepEqual(out, [long.slice(0, 16), long.slice(16, 32), long.slice(32, 48), long.slice(48), "short"]);
  ok(out.slice(0, -1).every((p) => p.length <= 16));
  equal(out.slice(0, -1).join(""), long);
});

Deno.test("readLines() delivers an over-long line spread over chunks in pieces with no bytes lost", async () => {
  const long = Array.from({ length: 1000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
  const chunks: string[] = [];
  const text = long + "\nnext\n";
  for (let i = 0; i < text.length; i += 7) chunks.push(text.slice(i, i + 7));
  const out = await lines(chunks, 64);
  equal(out[out.length - 1], "next");
  const pieces = out.slice(0, -1);
  ok(pieces.length >= Math.ceil(1000 / 64), `got ${pieces.length} pieces`);
  ok(pieces.every((p) => p.length <= 64 && p.length > 0));
  equal(pieces.join(""), long);
});

Deno.test("readLines() delivers an over-long final line without newline with no bytes lost", async () => {
  const long = "z".repeat(100);
  const out = await lines([long.slice(0, 30), long.slice(30)], 32);
  ok(out.every((p) => p.length <= 32));
  equal(out.join(""), long);
});

Deno.test("readLines() delivers a line of exactly maxLine characters as one piece", async () => {
  deepEqual(await lines(["abcd\nefgh"], 4), ["abcd", "efgh"]);
});

Deno.test("readLines() uses a default maxLine of 16384", async () => {
  const long = "q".repeat(16384 + 10);
  const out = await lines([long + "\n"]);
  deepEqual(out.map((p) => p.length), [16384, 10]);
});

Deno.test({
  name: "readLines() gives the same lines for an over-long CRLF line whatever the chunking",
  async fn() {
    deepEqual(await lines(["aaaa\r\nbb\n"], 4), ["aaaa", "bb"]);
    deepEqual(await lines(["aaaa\r", "\nbb\n"], 4), ["aaaa", "bb"]);
  },
});

Deno.test({
  name: "readLines() never splits a surrogate pair between pieces of an over-long line",
  async fn() {
    const out = await lines(["abc😀def\n"], 4);
    equal(out.join(""), "abc😀def");
    ok(out.every((p) => p.isWellFormed()), JSON.stringify(out));
  },
});
