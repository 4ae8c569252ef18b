/** Runs `deno task ctl` as a real subprocess, for tests whose admin server answers in-process. */
const CTL = new URL("../../src/cli/ctl.ts", import.meta.url).pathname;
const REPO = new URL("../../", import.meta.url).pathname;

/** A finished ctl run. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run ctl with `args`; the in-process admin server answers while we wait. */
export function ctl(...args: string[]): Promise<Run> {
  return ctlIn(REPO, ...args);
}

/** Run ctl from `cwd` (so `./blvm.toml` there is the default configuration). */
export async function ctlIn(cwd: string, ...args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CTL, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A run, for assertion messages. */
export function show(r: Run): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
