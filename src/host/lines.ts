/**
 * Line capture for module stdout and stderr: every byte ends up in a line, none is dropped.
 *
 * @module
 */

/**
 * Read a byte stream as UTF-8 lines and call `onLine` for each (without the newline). A line longer
 * than `maxLine` characters is delivered in pieces; a last line without a newline is delivered at
 * the end.
 *
 * @param stream The stream, for example a child's stdout.
 * @param onLine Called for each line.
 * @param maxLine Longest piece delivered at once. Default 16384.
 * @returns Resolves when the stream ends.
 *
 * @example
 * ```ts
 * import { readLines } from "@blvm/node";
 * const lines: string[] = [];
 * await readLines(ReadableStream.from([new TextEncoder().encode("a\nb")]), (l) => lines.push(l));
 * console.log(lines); // ["a", "b"]
 * ```
 */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  maxLine = 16384,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  const emit = (line: string) => {
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.length === 0) return onLine("");
    while (line.length > 0) {
      const n = line.length > maxLine ? cutAt(line, maxLine) : line.length;
      onLine(line.slice(0, n));
      line = line.slice(n);
    }
  };
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) !== -1) {
      emit(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
    // Deliver an over-long partial line in pieces, holding back a final "\r" (half of a CRLF).
    while (rest.length > maxLine + (rest.endsWith("\r") ? 1 : 0)) {
      const n = cutAt(rest, maxLine);
      onLine(rest.slice(0, n));
      rest = rest.slice(n);
    }
  }
  rest += decoder.decode();
  if (rest.length > 0) emit(rest);
}

/** Where to cut `s` to at most `n` UTF-16 units without splitting a surrogate pair. */
function cutAt(s: string, n: number): number {
  const c = s.charCodeAt(n - 1);
  if (c < 0xd800 || c > 0xdbff) return n;
  return n > 1 ? n - 1 : n + 1;
}
