// Units for the system readings (proc.ts) and the SIGSTOP/SIGCONT throttle, against real processes.
import { equal, ok } from "node:assert/strict";
import { type ModuleProcess, spawnModuleProcess } from "../../src/host/process.ts";
import { cpuTimeMs, diskSpace, diskUsage } from "../../src/janitor/proc.ts";
import { Throttle, THROTTLE_PERIOD_MS } from "../../src/janitor/throttle.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A temp dir holding a symlink to `sh` whose name has spaces and parentheses (it becomes the comm). */
async function oddShell(): Promise<{ dir: string; sh: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "blvm-proc-" });
  const sh = `${dir}/odd (name) x`;
  await Deno.symlink("/bin/sh", sh);
  return { dir, sh, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }).catch(() => {}) };
}

/** A real child in its own process group running `script` with `sh`; SIGKILLed on dispose. */
function child(sh: string, cwd: string, script: string): ModuleProcess & AsyncDisposable {
  const p = spawnModuleProcess({
    denoPath: sh,
    args: ["-c", script],
    env: { PATH: "/usr/bin:/bin" },
    cwd,
    onLine() {},
  });
  return Object.assign(p, {
    async [Symbol.asyncDispose]() {
      p.signal("SIGCONT");
      p.signal("SIGKILL");
      await p.status;
    },
  });
}

const BUSY = "while :; do :; done";

/** Share of one core the process used over `ms` of wall time. */
async function share(pid: number, ms = 1500): Promise<number> {
  const c0 = cpuTimeMs(pid)!, t0 = performance.now();
  await sleep(ms);
  const c1 = cpuTimeMs(pid)!, t1 = performance.now();
  return (c1 - c0) / (t1 - t0);
}

/** The state letter of `/proc/<pid>/stat` (R, S, T, Z, ...). */
function procState(pid: number): string {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
}

Deno.test("cpuTimeMs() of this process is a number and does not go backwards", () => {
  const a = cpuTimeMs(Deno.pid);
  ok(a !== null && Number.isFinite(a) && a >= 0, `got ${a}`);
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
  ok(x > 0);
  ok(cpuTimeMs(Deno.pid)! >= a);
});

Deno.test("cpuTimeMs() rises for a busy child whose name has spaces and parentheses, not for an idle one", async () => {
  await using odd = await oddShell();
  await using busy = child(odd.sh, odd.dir, BUSY);
  await using idle = child(odd.sh, odd.dir, "sleep 30");
  await sleep(200);
  ok(Deno.readTextFileSync(`/proc/${busy.pid}/stat`).includes("(odd (name) x)"), "comm has the odd name");
  const b0 = cpuTimeMs(busy.pid)!, i0 = cpuTimeMs(idle.pid)!;
  ok(Number.isFinite(b0) && Number.isFinite(i0), `readings ${b0} ${i0}`);
  await sleep(1000);
  const b1 = cpuTimeMs(busy.pid)!, i1 = cpuTimeMs(idle.pid)!;
  ok(b1 - b0 >= 150, `busy child used only ${b1 - b0} ms of CPU in 1 s`);
  ok(i1 - i0 <= 100, `idle child used ${i1 - i0} ms of CPU in 1 s`);
  equal((b1 - b0) % 10, 0, "readings are in whole clock ticks (10 ms)");
});

Deno.test("cpuTimeMs() is null for a process that is gone", async () => {
  await using odd = await oddShell();
  const p = child(odd.sh, odd.dir, "exit 0");
  await p.status;
  equal(cpuTimeMs(p.pid), null);
  equal(cpuTimeMs(-1), null);
});

Deno.test("diskUsage() counts files and folders as they take the disk, skips symlinks, 0 for a missing folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "blvm-proc-" });
  const outside = await Deno.makeTempFile({ prefix: "blvm-proc-big-" });
  try {
    const empty = await diskUsage(dir);
    await Deno.writeFile(`${dir}/a.bin`, new Uint8Array(1000));
    await Deno.mkdir(`${dir}/sub/deeper`, { recursive: true });
    await Deno.writeFile(`${dir}/sub/b.bin`, new Uint8Array(2345));
    await Deno.writeFile(`${dir}/sub/deeper/c.bin`, new Uint8Array(7));
    await Deno.writeTextFile(`${dir}/sub/empty.txt`, "");
    await Deno.writeFile(outside, new Uint8Array(1_000_000));
    const withFiles = await diskUsage(dir);
    ok(withFiles >= empty + 1000 + 2345 + 7, `${withFiles}`);
    // Links are not followed: the megabyte they point at does not count.
    await Deno.symlink(outside, `${dir}/link-to-big`);
    await Deno.symlink(`${dir}/sub`, `${dir}/link-to-dir`);
    ok(await diskUsage(dir) < withFiles + 100_000);
    ok(await diskUsage(`${dir}/sub`) >= 2345 + 7);
    equal(await diskUsage(`${dir}/nope`), 0);
    equal(await diskUsage(`${dir}/a.bin/not-a-dir`), 0);
    // A sparse file counts its full size (a copy, a backup, would take it); empty folders count their blocks.
    const f = await Deno.open(`${dir}/sparse`, { write: true, create: true });
    await f.truncate(1 << 30);
    f.close();
    ok(await diskUsage(dir) >= withFiles + (1 << 30));
    for (let i = 0; i < 50; i++) await Deno.mkdir(`${dir}/many/d${i}`, { recursive: true });
    ok(await diskUsage(`${dir}/many`) >= 50 * 512);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside);
  }
});

Deno.test("diskSpace() reads the filesystem of a path, or of its nearest existing parent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "blvm-proc-" });
  try {
    const d = diskSpace(dir);
    equal(d.path, dir);
    ok(d.total_bytes > 0 && d.available_bytes >= 0 && d.available_bytes <= d.total_bytes, JSON.stringify(d));
    ok(d.percent_free >= 0 && d.percent_free <= 100);
    ok(Math.abs(d.percent_free - d.available_bytes / d.total_bytes * 100) < 0.01);
    equal(d.device, Deno.statSync(dir).dev);
    // The same size as df reports for that filesystem.
    const out = await new Deno.Command("df", { args: ["-B1", "--output=size", dir] }).output();
    if (out.code === 0) {
      const size = Number(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1));
      equal(d.total_bytes, size);
    }
    const missing = diskSpace(`${dir}/not/yet/there`);
    equal(missing.path, `${dir}/not/yet/there`);
    equal(missing.device, d.device);
    equal(missing.total_bytes, d.total_bytes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Throttle at share 0.2 clearly lowers a busy child's CPU share, and stop() leaves it running", async () => {
  await using odd = await oddShell();
  await using busy = child(odd.sh, odd.dir, BUSY);
  await sleep(200);
  const free = await share(busy.pid);
  ok(free > 0.3, `unthrottled busy child ran only ${free} of a core`);
  const t = new Throttle(busy, 0.2);
  let throttled: number;
  try {
    equal(t.active, true);
    throttled = await share(busy.pid);
  } finally {
    t.stop();
  }
  ok(throttled < free * 0.6, `throttled share ${throttled} vs unthrottled ${free}`);
  ok(throttled < 0.45, `throttled share ${throttled} (expected about 0.2)`);
  equal(t.active, false);
  // Resumed, and it stays resumed: no pause left scheduled after stop().
  for (let i = 0; i < 8; i++) {
    await sleep(THROTTLE_PERIOD_MS / 2);
    ok(procState(busy.pid) !== "T", `state ${procState(busy.pid)} after stop() (check ${i})`);
  }
  const after = await share(busy.pid, 1000);
  ok(after > throttled, `share after stop() ${after} vs throttled ${throttled}`);
});

Deno.test("Throttle at share 1 never pauses the process; a throttle of an exited process is inactive", async () => {
  await using odd = await oddShell();
  await using busy = child(odd.sh, odd.dir, BUSY);
  const t = new Throttle(busy, 1);
  try {
    for (let i = 0; i < 10; i++) {
      await sleep(THROTTLE_PERIOD_MS / 3);
      ok(procState(busy.pid) !== "T", `stopped at check ${i}`);
    }
  } finally {
    t.stop();
  }
  const gone = child(odd.sh, odd.dir, "exit 0");
  await gone.status;
  const g = new Throttle(gone, 0.2);
  equal(g.active, false);
  g.stop();
});
