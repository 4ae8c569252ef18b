/**
 * Bare Deno process baselines: an empty `deno run` of a file that prints and exits, many of them
 * started together, and the resident memory of an idle one.
 *
 * @module
 */
import { residentBytes } from "../mod.ts";
import { sleep, timed } from "./_stats.ts";

const deno = Deno.execPath();
let files: Promise<{ empty: string; idle: string }> | undefined;

/** The scripts, written once per run to temporary files (removed at exit). */
function scripts(): Promise<{ empty: string; idle: string }> {
  return files ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "blvm-bench-procs-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    await Deno.writeTextFile(`${dir}/empty.ts`, 'console.log("up");\n');
    await Deno.writeTextFile(`${dir}/idle.ts`, 'console.log("up");\nsetInterval(() => {}, 1 << 30);\n');
    return { empty: `${dir}/empty.ts`, idle: `${dir}/idle.ts` };
  })();
}

/**
 * Start `count` empty `deno run` processes together and wait for all of them to exit.
 *
 * @param count Processes.
 * @returns Milliseconds from the first spawn to the last exit.
 */
export async function emptyRuns(count: number): Promise<number> {
  const { empty } = await scripts();
  return await timed(() =>
    Promise.all(
      Array.from({ length: count }, () => new Deno.Command(deno, { args: ["run", empty], stdout: "null" }).output()),
    )
  );
}

/**
 * The resident memory of an idle `deno run` process, `settleMs` after it printed that it is up.
 *
 * @param settleMs How long it idles first.
 * @returns Bytes.
 */
export async function idleDenoRss(settleMs: number): Promise<number> {
  const { idle } = await scripts();
  const child = new Deno.Command(deno, { args: ["run", idle], stdout: "piped" }).spawn();
  try {
    await child.stdout.getReader().read();
    await sleep(settleMs);
    const rss = residentBytes(child.pid);
    if (!rss) throw new Error("no RSS for the idle deno process");
    return rss;
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

/**
 * The resident memory of a process and all its descendants.
 *
 * @param pid The top process.
 * @returns Bytes.
 */
export function treeRss(pid: number): number {
  let total = 0;
  const walk = (p: number) => {
    total += residentBytes(p) ?? 0;
    const kids = Deno.readTextFileSync(`/proc/${p}/task/${p}/children`).trim();
    for (const k of kids ? kids.split(" ").map(Number) : []) walk(k);
  };
  walk(pid);
  return total;
}
