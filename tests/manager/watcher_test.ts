// Hot reload's file watcher: which module a path belongs to, and debounced change reports.
import { deepEqual, equal } from "node:assert/strict";
import { moduleOfPath, watchModules } from "../../src/manager/watcher.ts";

const ROOT = "/srv/modules";

Deno.test("moduleOfPath: files inside a module folder, at any depth, name the folder", () => {
  equal(moduleOfPath(ROOT, "/srv/modules/hello/main.ts"), "hello");
  equal(moduleOfPath(ROOT, "/srv/modules/hello/module.toml"), "hello");
  equal(moduleOfPath(ROOT, "/srv/modules/hello/src/lib/deep.ts"), "hello");
  equal(moduleOfPath(ROOT, "/srv/modules/my-mod_2/config.toml"), "my-mod_2");
});

Deno.test("moduleOfPath: paths outside the root, the root itself and root-level entries are no module", () => {
  equal(moduleOfPath(ROOT, "/srv/other/hello/main.ts"), undefined);
  equal(moduleOfPath(ROOT, "/srv/modules-old/hello/main.ts"), undefined, "a sibling sharing the prefix");
  equal(moduleOfPath(ROOT, "/srv/modules"), undefined);
  equal(moduleOfPath(ROOT, "/srv/modules/"), undefined);
  equal(moduleOfPath(ROOT, "/srv/modules/README.md"), undefined);
  // The folder itself (created, removed or moved) is no path inside it: watchModules reports it on its own.
  equal(moduleOfPath(ROOT, "/srv/modules/hello"), undefined);
  equal(moduleOfPath(ROOT, "relative/modules/hello/main.ts"), undefined);
});

Deno.test("moduleOfPath: editor swap files, backups and hidden files are ignored", () => {
  for (
    const p of [
      "/srv/modules/hello/main.ts~",
      "/srv/modules/hello/.main.ts.swp",
      "/srv/modules/hello/main.ts.swp",
      "/srv/modules/hello/.main.ts.swx",
      "/srv/modules/hello/main.ts.tmp",
      "/srv/modules/hello/#main.ts#",
      "/srv/modules/hello/4913",
      "/srv/modules/hello/.env",
      "/srv/modules/hello/.git/index",
      "/srv/modules/.hidden/main.ts",
      "/srv/modules/hello/src/.cache/x.ts",
    ]
  ) {
    equal(moduleOfPath(ROOT, p), undefined, p);
  }
  // Names merely containing those patterns are not ignored.
  equal(moduleOfPath(ROOT, "/srv/modules/hello/swp.ts"), "hello");
  equal(moduleOfPath(ROOT, "/srv/modules/hello/a~b.ts"), "hello");
  equal(moduleOfPath(ROOT, "/srv/modules/hello/49130"), "hello");
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("watchModules reports a burst of writes to two modules once, after the debounce; close() stops it", async () => {
  const root = await Deno.makeTempDir({ prefix: "blvm-watch-" });
  for (const m of ["alpha", "beta", "gamma"]) await Deno.mkdir(`${root}/${m}`);
  const DEBOUNCE = 400;
  const calls: string[][] = [];
  let wake = () => {};
  const w = watchModules(root, DEBOUNCE, (names) => {
    calls.push([...names].sort());
    wake();
  });
  try {
    await sleep(100); // let the watcher settle
    for (let i = 0; i < 5; i++) {
      await Deno.writeTextFile(`${root}/alpha/main.ts`, `// ${i}\n`);
      await Deno.writeTextFile(`${root}/beta/module.toml`, `# ${i}\n`);
    }
    await Deno.mkdir(`${root}/beta/src`);
    await Deno.writeTextFile(`${root}/beta/src/lib.ts`, "export {};\n");
    // Ignored files and root-level files add nothing.
    await Deno.writeTextFile(`${root}/gamma/.main.ts.swp`, "x");
    await Deno.writeTextFile(`${root}/gamma/main.ts~`, "x");
    await Deno.writeTextFile(`${root}/notes.txt`, "x");

    if (!calls.length) await new Promise<void>((r) => wake = r);
    deepEqual(calls, [["alpha", "beta"]]);
    // Nothing else arrives: the burst was one report.
    await sleep(DEBOUNCE * 2);
    deepEqual(calls, [["alpha", "beta"]]);

    // Only ignored files: no report.
    await Deno.writeTextFile(`${root}/gamma/.main.ts.swp`, "y");
    await Deno.writeTextFile(`${root}/gamma/4913`, "y");
    await sleep(DEBOUNCE * 2);
    deepEqual(calls, [["alpha", "beta"]]);

    // A later change is a new report.
    await Deno.writeTextFile(`${root}/gamma/main.ts`, "export {};\n");
    if (calls.length < 2) await new Promise<void>((r) => wake = r);
    deepEqual(calls, [["alpha", "beta"], ["gamma"]]);
  } finally {
    w.close();
  }
  // After close(), changes are not reported.
  await Deno.writeTextFile(`${root}/alpha/main.ts`, "// after close\n");
  await sleep(DEBOUNCE * 2);
  equal(calls.length, 2);
  w.close(); // closing twice is harmless
  await Deno.remove(root, { recursive: true });
});

Deno.test("close() during the debounce cancels the pending report", async () => {
  const root = await Deno.makeTempDir({ prefix: "blvm-watch-" });
  await Deno.mkdir(`${root}/alpha`);
  const calls: string[][] = [];
  const w = watchModules(root, 300, (names) => calls.push([...names]));
  try {
    await sleep(100);
    await Deno.writeTextFile(`${root}/alpha/main.ts`, "// x\n");
    await sleep(100); // the event is in; its report is not due yet
  } finally {
    w.close();
  }
  await sleep(900);
  deepEqual(calls, []);
  await Deno.remove(root, { recursive: true });
});

Deno.test("watchModules on a missing folder returns a handle that does nothing", () => {
  const w = watchModules("/nonexistent/blvm/modules", 10, () => {
    throw new Error("must not be called");
  });
  w.close();
});

/** Collects reports; `next(n)` resolves once there are `n` of them (or rejects after a generous deadline). */
function reports() {
  const calls: string[][] = [];
  let wake = () => {};
  return {
    calls,
    push: (names: Set<string>) => {
      calls.push([...names].sort());
      wake();
    },
    async next(n: number, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (calls.length < n) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for report ${n}; got ${JSON.stringify(calls)}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
      return calls[n - 1];
    },
  };
}

Deno.test("watchModules reports a module folder deleted, moved away and moved back, but not files directly in root", async () => {
  const root = await Deno.makeTempDir({ prefix: "blvm-watch-" });
  const away = await Deno.makeTempDir({ prefix: "blvm-away-" });
  for (const m of ["alpha", "beta"]) {
    await Deno.mkdir(`${root}/${m}/src`, { recursive: true });
    await Deno.writeTextFile(`${root}/${m}/module.toml`, "x");
  }
  const r = reports();
  // The poll is off: these come from the folders' own events.
  const w = watchModules(root, 100, r.push, [], 0);
  try {
    await sleep(100);
    await Deno.writeTextFile(`${root}/README.md`, "root-level files are no module");
    await Deno.remove(`${root}/alpha`, { recursive: true });
    deepEqual(await r.next(1), ["alpha"]);
    // A move out of the tree is a single event, for the folder itself.
    await Deno.rename(`${root}/beta`, `${away}/beta`);
    deepEqual(await r.next(2), ["beta"]);
    await Deno.rename(`${away}/beta`, `${root}/beta`);
    deepEqual(await r.next(3), ["beta"]);
    await sleep(300);
    equal(r.calls.length, 3, JSON.stringify(r.calls));
  } finally {
    w.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(away, { recursive: true });
  }
});

Deno.test("watchModules' look at the folders finds what its events cannot: a modules directory deleted and made again", async () => {
  const parent = await Deno.makeTempDir({ prefix: "blvm-watch-" });
  const root = `${parent}/modules`;
  await Deno.mkdir(`${root}/alpha`, { recursive: true });
  await Deno.writeTextFile(`${root}/alpha/module.toml`, "x");
  const r = reports();
  const w = watchModules(root, 100, r.push, [], 200);
  try {
    await sleep(100);
    await Deno.remove(root, { recursive: true });
    deepEqual(await r.next(1), ["alpha"]);
    // The kernel's watch ended with the directory: only the periodic look sees the new folders.
    await Deno.mkdir(`${root}/gamma`, { recursive: true });
    await Deno.writeTextFile(`${root}/gamma/module.toml`, "x");
    deepEqual(await r.next(2), ["gamma"]);
  } finally {
    w.close();
    await Deno.remove(parent, { recursive: true });
  }
});
