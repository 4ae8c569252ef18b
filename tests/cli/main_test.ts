import { equal, match, ok } from "node:assert/strict";
import { FIXTURES, processAlive } from "../_host_helpers.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** Starts the CLI and resolves the pid of module `name` once it is ready. */
function startCli(dataDir: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--data-dir", dataDir, "--log-format", "json", ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const until = async (match: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = lines.find(match);
      if (found) return found;
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p));
    }
    throw new Error(`CLI output never matched; got ${lines.map((l) => l.message).join(" | ")}`);
  };
  return { child, lines, until, reader };
}

Deno.test("deno task start runs modules, delivers mined blocks, and stops them cleanly on --run-for", async () => {
  const dataDir = await Deno.makeTempDir();
  const cli = startCli(dataDir, [
    "--modules-dir",
    new URL("../../modules", import.meta.url).pathname,
    "--block-interval",
    "0.2",
    "--run-for",
    "1.5",
  ]);
  const block = await cli.until((l) => typeof l.message === "string" && l.message.startsWith("Block 2 "));
  equal((block.properties as Record<string, unknown>).module, "hello");
  await cli.until((l) => l.message === "Host stopped");
  await cli.reader.cancel();
  equal((await cli.child.status).code, 0);
  // The hello module's stop handler saved its state in its data dir.
  const state = JSON.parse(await Deno.readTextFile(`${dataDir}/hello/state.json`));
  ok(state.blocks >= 2, JSON.stringify(state));
  await cli.child.stderr.cancel();
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("Killing the host with SIGKILL leaves no module process alive", async () => {
  const dataDir = await Deno.makeTempDir();
  const cli = startCli(dataDir, ["--modules-dir", "/nonexistent", "--module", `echo=${FIXTURES}echo_module.ts`]);
  const spawned = await cli.until((l) => typeof l.message === "string" && l.message.startsWith("Spawned pid "));
  const pid = Number((spawned.properties as Record<string, unknown>).pid);
  await cli.until((l) => l.message === "ready");
  ok(await processAlive(pid));
  cli.child.kill("SIGKILL");
  await cli.child.status;
  // The module sees its socket close and exits by itself.
  const deadline = Date.now() + 5_000;
  while (await processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  equal(await processAlive(pid), false, `module pid ${pid} outlived its host`);
  await cli.reader.cancel();
  await cli.child.stderr.cancel();
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("deno task start rejects bad options with a message naming the option", async () => {
  const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", MAIN, "--block-interval", "soon"] })
    .output();
  equal(out.code, 2);
  match(new TextDecoder().decode(out.stderr), /--block-interval must be a non-negative number of seconds, got 'soon'/);
});
