import { equal, match, ok, rejects, throws } from "node:assert/strict";
import { createRuntimeDir, prepareDataDir, socketPathFor } from "../../src/host/runtime_dir.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "blvm-rt-test-" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("createRuntimeDir() creates a fresh temp dir with mode 0700", async () => {
  const dir = await createRuntimeDir();
  try {
    const info = await Deno.stat(dir);
    ok(info.isDirectory);
    equal(info.mode! & 0o777, 0o700);
    equal(dir, await Deno.realPath(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createRuntimeDir() creates a given nested path with mode 0700", async () => {
  await withTempDir(async (base) => {
    const dir = await createRuntimeDir(`${base}/a/run`);
    equal(dir, `${base}/a/run`);
    equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  });
});

Deno.test("createRuntimeDir() tightens an existing dir to mode 0700", async () => {
  await withTempDir(async (base) => {
    const path = `${base}/open`;
    await Deno.mkdir(path);
    await Deno.chmod(path, 0o755);
    await createRuntimeDir(path);
    equal((await Deno.stat(path)).mode! & 0o777, 0o700);
  });
});

Deno.test("createRuntimeDir() returns the real path when given a path through a symlink", async () => {
  await withTempDir(async (base) => {
    await Deno.mkdir(`${base}/real`);
    await Deno.symlink(`${base}/real`, `${base}/link`);
    equal(await createRuntimeDir(`${base}/link`), `${base}/real`);
  });
});

Deno.test("socketPathFor() joins the runtime dir and name with .sock", () => {
  equal(socketPathFor("/run/blvm", "hello"), "/run/blvm/hello.sock");
});

Deno.test("socketPathFor() accepts a path of exactly 107 bytes", () => {
  const dir = "/" + "d".repeat(95); // 96 bytes + "/" + "hello" + ".sock" = 107
  const path = socketPathFor(dir, "hello");
  equal(new TextEncoder().encode(path).length, 107);
});

Deno.test("socketPathFor() throws RangeError for a path of 108 bytes", () => {
  const dir = "/" + "d".repeat(96);
  throws(() => socketPathFor(dir, "hello"), (e: unknown) => {
    ok(e instanceof RangeError);
    match(e.message, /108 bytes/);
    match(e.message, /hello/);
    return true;
  });
});

Deno.test("socketPathFor() counts UTF-8 bytes, not characters", () => {
  // 60 x "é" = 60 characters but 120 bytes.
  throws(() => socketPathFor("/run", "é".repeat(60)), RangeError);
});

Deno.test("prepareDataDir() creates the module dir with mode 0700 and returns its real path", async () => {
  await withTempDir(async (base) => {
    const dir = await prepareDataDir(base, "hello");
    equal(dir, `${base}/hello`);
    const info = await Deno.stat(dir);
    ok(info.isDirectory);
    equal(info.mode! & 0o777, 0o700);
  });
});

Deno.test("prepareDataDir() tightens an existing data dir to 0700 and keeps its files", async () => {
  await withTempDir(async (base) => {
    await Deno.mkdir(`${base}/hello/sub`, { recursive: true });
    await Deno.chmod(`${base}/hello`, 0o777);
    await Deno.writeTextFile(`${base}/hello/sub/state.json`, "{}");
    const dir = await prepareDataDir(base, "hello");
    equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    equal(await Deno.readTextFile(`${dir}/sub/state.json`), "{}");
  });
});

Deno.test("prepareDataDir() refuses a symlink planted inside the data dir, naming the link", async () => {
  await withTempDir(async (base) => {
    await Deno.mkdir(`${base}/hello`);
    await Deno.symlink("/etc", `${base}/hello/escape`);
    await rejects(prepareDataDir(base, "hello"), (e: unknown) => {
      ok(e instanceof Error);
      ok(e.message.includes(`${base}/hello/escape`), e.message);
      match(e.message, /symbolic link/);
      return true;
    });
  });
});

Deno.test("prepareDataDir() refuses a symlink nested deeper inside the data dir", async () => {
  await withTempDir(async (base) => {
    await Deno.mkdir(`${base}/hello/a/b`, { recursive: true });
    await Deno.symlink("/etc/passwd", `${base}/hello/a/b/pw`);
    await rejects(prepareDataDir(base, "hello"), (e: unknown) => {
      ok(e instanceof Error);
      ok(e.message.includes(`${base}/hello/a/b/pw`), e.message);
      return true;
    });
  });
});

Deno.test("prepareDataDir() refuses a data dir that is itself a symlink", async () => {
  await withTempDir(async (base) => {
    await Deno.mkdir(`${base}/elsewhere`);
    await Deno.symlink(`${base}/elsewhere`, `${base}/hello`);
    await rejects(prepareDataDir(base, "hello"), (e: unknown) => {
      ok(e instanceof Error);
      match(e.message, /symbolic link/);
      ok(e.message.includes(`${base}/hello`), e.message);
      return true;
    });
  });
});

Deno.test("prepareDataDir() refuses a dangling symlink inside the data dir", async () => {
  await withTempDir(async (base) => {
    await Deno.mkdir(`${base}/hello`);
    await Deno.symlink(`${base}/nowhere`, `${base}/hello/dangling`);
    await rejects(prepareDataDir(base, "hello"), /dangling/);
  });
});
