// A small tmpfs of a test's own, mounted by bubblewrap in a user namespace (no root needed), for tests that
// fill a disk for real. Without bubblewrap such tests are skipped, saying so, except under CI (CI set),
// where they fail.

/** Whether `bwrap` can mount a tmpfs of its own here; why not if it cannot. */
async function probeTmpfs(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const dir = await Deno.makeTempDir({ prefix: "enospc-probe-" });
  try {
    const out = await new Deno.Command("bwrap", {
      args: ["--dev-bind", "/", "/", "--size", "65536", "--tmpfs", dir, "true"],
      stdout: "null",
      stderr: "piped",
    }).output();
    return out.success
      ? { ok: true }
      : { ok: false, reason: `bwrap cannot mount a tmpfs: ${new TextDecoder().decode(out.stderr).trim()}` };
  } catch (e) {
    return { ok: false, reason: `bwrap is not installed (${(e as Error).message})` };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The probe's outcome. */
export const TMPFS = await probeTmpfs();
/** Whether tests needing a tmpfs are skipped (never under CI). */
export const TMPFS_SKIPPED = !TMPFS.ok && !Deno.env.get("CI");
if (TMPFS_SKIPPED) console.warn(`SKIPPING the full-disk tests: ${!TMPFS.ok && TMPFS.reason}; install bubblewrap`);

/** The test-name suffix saying why it was skipped, or "". */
export const tmpfsSkipNote = (): string => TMPFS_SKIPPED ? ` [skipped: ${!TMPFS.ok && TMPFS.reason}]` : "";

/**
 * Run `deno run -A script ...args` with a tmpfs of `bytes` mounted at `mount` (which must exist).
 *
 * @returns Its exit code, stdout and stderr.
 */
export async function runOnTmpfs(
  mount: string,
  bytes: number,
  script: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!TMPFS.ok) throw new Error(`CI must run the full-disk tests, but ${TMPFS.reason}`);
  const out = await new Deno.Command("bwrap", {
    args: [
      "--dev-bind",
      "/",
      "/",
      "--size",
      String(bytes),
      "--tmpfs",
      mount,
      Deno.execPath(),
      "run",
      "-A",
      script,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}
