import { equal, match, ok } from "node:assert/strict";
import { processAlive } from "../_host_helpers.ts";
import { manifest, writeModules } from "../manager/_managed.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const CTL = new URL("../../src/cli/ctl.ts", import.meta.url).pathname;

/** Starts the CLI with its data and runtime dirs under `dataDir`, logging JSON lines. */
function startCli(dataDir: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "--data-dir",
      `${dataDir}/data`,
      "--runtime-dir",
      `${dataDir}/run`,
      "--node-dir",
      `${dataDir}/node`,
      "--log-format",
      "json",
      ...args,
    ],
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
  // Demo traffic mined 101 blocks before the modules started; hello sees the ones after (which one first
  // depends on how long the module took to start, so any height above 101).
  const block = await cli.until((l) => typeof l.message === "string" && /^Block \d+ /.test(l.message));
  equal((block.properties as Record<string, unknown>).module, "hello");
  ok(Number(/^Block (\d+) /.exec(block.message as string)![1]) > 101, String(block.message));
  await cli.until((l) => l.message === "Host stopped");
  await cli.reader.cancel();
  equal((await cli.child.status).code, 0);
  // The hello module's stop handler saved its state in its data dir: at least the blocks it logged (how
  // many fit in --run-for depends on the machine's speed, so not a fixed number).
  const state = JSON.parse(await Deno.readTextFile(`${dataDir}/data/hello/state.json`));
  const logged = cli.lines.filter((l) =>
    (l.properties as Record<string, unknown> | undefined)?.module === "hello" &&
    typeof l.message === "string" && /^Block \d+ /.test(l.message)
  );
  ok(logged.length >= 1 && state.blocks >= logged.length, `${JSON.stringify(state)}, ${logged.length} logged`);
  await cli.child.stderr.cancel();
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("Killing the host with SIGKILL leaves no module process alive", async () => {
  const dataDir = await Deno.makeTempDir();
  await writeModules(dataDir, { lone: { manifest: manifest("lone") } });
  const cli = startCli(dataDir, ["--modules-dir", `${dataDir}/modules`, "--block-interval", "0"]);
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

Deno.test("A required module that cannot start fails the host's start-up with exit code 1", async () => {
  const dir = await Deno.makeTempDir();
  await writeModules(dir, {
    core: { manifest: 'name = "core"\nversion = "1.0.0"\nentry_point = "main.ts"\n', main: "Deno.exit(4);\n" },
  });
  await Deno.writeTextFile(`${dir}/blvm.toml`, "[modules.core]\nrequired = true\n");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--config", `${dir}/blvm.toml`, "--log-format", "json", "--block-interval", "0"],
    cwd: dir,
  }).output();
  equal(out.code, 1);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  match(text, /Required modules failed to start: core: [^"]*exit/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task ctl stop stops a running host cleanly through its admin socket", async () => {
  const dir = await Deno.makeTempDir();
  await writeModules(dir, { lone: { manifest: manifest("lone") } });
  const cli = startCli(dir, ["--modules-dir", `${dir}/modules`, "--block-interval", "0"]);
  await cli.until((l) => l.message === "ready");
  const ctl = (...a: string[]) =>
    new Deno.Command(Deno.execPath(), { args: ["run", "-A", CTL, "--socket", `${dir}/run/admin.sock`, ...a] }).output();
  const list = await ctl("list", "--json");
  equal(list.code, 0);
  const rows = JSON.parse(new TextDecoder().decode(list.stdout));
  equal(rows[0].name, "lone");
  equal(rows[0].state, "running");
  equal((await ctl("stop", "testing")).code, 0);
  await cli.until((l) => l.message === "Host stopped");
  equal((await cli.child.status).code, 0);
  equal(await processAlive(rows[0].pid), false);
  await cli.reader.cancel();
  await cli.child.stderr.cancel();
  await Deno.remove(dir, { recursive: true });
});
