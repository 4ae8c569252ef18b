import { equal, match, ok, rejects, throws } from "node:assert/strict";
import {
  clearSocketPath,
  createRuntimeDir,
  moduleSocketPath,
  prepareDataDir,
  sealSocketPath,
} from "../../src/host/runtime_dir.ts";

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

Deno.test("moduleSocketPath() puts the socket in the host's folder inside the module's data dir", () => {
  equal(moduleSocketPath("/var/lib/blvm/hello"), "/var/lib/blvm/hello/.blvm/run/sock");
});

Deno.test("moduleSocketPath() accepts a path of exactly 107 bytes", () => {
  const dir = "/" + "d".repeat(91); // 92 bytes + "/.blvm/run/sock" (15) = 107
  equal(new TextEncoder().encode(moduleSocketPath(dir)).length, 107);
});

Deno.test("moduleSocketPath() throws RangeError for a path of 108 bytes, naming the path", () => {
  const dir = "/" + "d".repeat(92);
  throws(() => moduleSocketPath(dir), (e: unknown) => {
    ok(e instanceof RangeError);
    match(e.message, /108 bytes/);
    match(e.message, /shorter data dir/);
    return true;
  });
});

Deno.test("moduleSocketPath() counts UTF-8 bytes, not characters", () => {
  // 46 x "é" = 46 characters but 92 bytes: 108 in all.
  throws(() => moduleSocketPath("/" + "é".repeat(46)), RangeError);
});

Deno.test("clearSocketPath() removes a folder a module made at the socket path", async () => {
  await withTempDir(async (base) => {
    const sock = moduleSocketPath(base);
    await Deno.mkdir(`${sock}/inside`, { recursive: true });
    await Deno.writeTextFile(`${sock}/inside/junk`, "x".repeat(1000));
    await clearSocketPath(sock);
    equal(await Deno.stat(sock).then(() => true, () => false), false);
    ok((await Deno.stat(`${base}/.blvm/run`)).isDirectory);
    const l = Deno.listen({ transport: "unix", path: sock });
    l.close();
  });
});

Deno.test("sealSocketPath() leaves a file where the socket's folder was, so the path cannot become a folder", async () => {
  await withTempDir(async (base) => {
    const sock = moduleSocketPath(base);
    await clearSocketPath(sock);
    Deno.listen({ transport: "unix", path: sock }).close();
    sealSocketPath(sock);
    ok((await Deno.lstat(`${base}/.blvm/run`)).isFile);
    await rejects(Deno.mkdir(sock, { recursive: true }));
    await rejects(Deno.writeTextFile(sock, "x"));
  });
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

Deno.test("prepareDataDir() refuses a hard link inside the data dir, naming it", async () => {
  await withTempDir(async (base) => {
    await Deno.mkdir(`${base}/hello/sub`, { recursive: true });
    await Deno.writeTextFile(`${base}/outside.txt`, "secret");
    await Deno.link(`${base}/outside.txt`, `${base}/hello/sub/innocent.txt`);
    await rejects(prepareDataDir(base, "hello"), (e: unknown) => {
      match((e as Error).message, /innocent\.txt' is a hard link/);
      return true;
    });
  });
});

Deno.test("prepareDataDir() finds a symlink however deep it is nested", async () => {
  await withTempDir(async (base) => {
    const deep = `${base}/hello/${Array.from({ length: 40 }, (_, i) => `d${i}`).join("/")}`;
    await Deno.mkdir(deep, { recursive: true });
    await Deno.symlink("/etc", `${deep}/etc`);
    await rejects(prepareDataDir(base, "hello"), /symbolic link/);
  });
});

Deno.test("prepareDataDir() clears set-id and world-write bits a module left on its files", async () => {
  await withTempDir(async (base) => {
    await Deno.mkdir(`${base}/hello/open`, { recursive: true });
    await Deno.writeTextFile(`${base}/hello/tool`, "#!/bin/sh\n");
    await Deno.chmod(`${base}/hello/tool`, 0o6777);
    await Deno.chmod(`${base}/hello/open`, 0o777);
    await prepareDataDir(base, "hello");
    equal((await Deno.stat(`${base}/hello/tool`)).mode! & 0o7777, 0o775);
    equal((await Deno.stat(`${base}/hello/open`)).mode! & 0o7777, 0o775);
  });
});
