import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { buildDenoArgs, type DenoArgsOptions, type Grants } from "../../src/host/permissions.ts";

const BASE: DenoArgsOptions = {
  entry: "/srv/modules/hello/main.ts",
  socketPath: "/run/blvm/hello.sock",
  dataDir: "/var/lib/blvm/hello",
  configPath: "/srv/deno.json",
};

function withGrants(grants: Grants, extra: Partial<DenoArgsOptions> = {}): string[] {
  return buildDenoArgs({ ...BASE, ...extra, grants });
}

/** Value of the single `--flag=` argument, or undefined. */
function flag(args: string[], name: string): string | undefined {
  const hits = args.filter((a) => a.startsWith(`--${name}=`));
  ok(hits.length <= 1, `--${name} appears ${hits.length} times`);
  return hits[0]?.slice(name.length + 3);
}

Deno.test("buildDenoArgs() builds the exact default argument list", () => {
  deepEqual(buildDenoArgs(BASE), [
    "run",
    "--no-prompt",
    "--no-remote",
    "--cached-only",
    "--frozen",
    "--config=/srv/deno.json",
    "--allow-net=unix:/run/blvm/hello.sock",
    "--allow-read=/run/blvm/hello.sock,/var/lib/blvm/hello",
    "--allow-write=/run/blvm/hello.sock,/var/lib/blvm/hello",
    "--allow-env=BLVM_MODULE_ID,BLVM_SOCKET,BLVM_TOKEN",
    "/srv/modules/hello/main.ts",
  ]);
});

Deno.test("buildDenoArgs() default grants no run, ffi, sys, import or all access", () => {
  const args = buildDenoArgs(BASE);
  for (const a of args) {
    ok(!/^--allow-(run|ffi|sys|import|all|hrtime)\b/.test(a), a);
    ok(a !== "-A", a);
  }
});

Deno.test("buildDenoArgs() default has --no-prompt, --no-remote, --cached-only and --frozen", () => {
  const args = buildDenoArgs(BASE);
  for (const f of ["--no-prompt", "--no-remote", "--cached-only", "--frozen"]) ok(args.includes(f), f);
});

Deno.test("buildDenoArgs() default net is exactly unix:<socket>", () => {
  equal(flag(buildDenoArgs(BASE), "allow-net"), "unix:/run/blvm/hello.sock");
});

Deno.test("buildDenoArgs() default read and write are exactly the socket and the data dir", () => {
  const args = buildDenoArgs(BASE);
  equal(flag(args, "allow-read"), "/run/blvm/hello.sock,/var/lib/blvm/hello");
  equal(flag(args, "allow-write"), "/run/blvm/hello.sock,/var/lib/blvm/hello");
});

Deno.test("buildDenoArgs() default env is exactly the three BLVM names", () => {
  equal(flag(buildDenoArgs(BASE), "allow-env"), "BLVM_MODULE_ID,BLVM_SOCKET,BLVM_TOKEN");
});

Deno.test("buildDenoArgs() puts run first and the entry last", () => {
  const args = buildDenoArgs(BASE);
  equal(args[0], "run");
  equal(args[args.length - 1], BASE.entry);
});

Deno.test("buildDenoArgs() appends extra read, write, net and env grants after the defaults", () => {
  const args = withGrants({
    read: ["/etc/blvm/ca.pem"],
    write: ["/tmp/out", "/tmp/out2"],
    net: ["example.com:443", "127.0.0.1"],
    env: ["MY_VAR"],
  });
  equal(flag(args, "allow-read"), "/run/blvm/hello.sock,/var/lib/blvm/hello,/etc/blvm/ca.pem");
  equal(flag(args, "allow-write"), "/run/blvm/hello.sock,/var/lib/blvm/hello,/tmp/out,/tmp/out2");
  equal(flag(args, "allow-net"), "unix:/run/blvm/hello.sock,example.com:443,127.0.0.1");
  equal(flag(args, "allow-env"), "BLVM_MODULE_ID,BLVM_SOCKET,BLVM_TOKEN,MY_VAR");
  equal(flag(args, "allow-sys"), undefined);
});

Deno.test("buildDenoArgs() adds --allow-sys only for granted sys names", () => {
  const args = withGrants({ sys: ["loadavg", "hostname"] });
  equal(flag(args, "allow-sys"), "loadavg,hostname");
  equal(args[args.length - 1], BASE.entry);
});

Deno.test("buildDenoArgs() accepts an IPv6 net grant", () => {
  equal(flag(withGrants({ net: ["[::1]:8332"] }), "allow-net"), "unix:/run/blvm/hello.sock,[::1]:8332");
});

Deno.test("buildDenoArgs() empty grant lists add nothing", () => {
  deepEqual(withGrants({ read: [], write: [], net: [], env: [], sys: [] }), buildDenoArgs(BASE));
});

Deno.test("buildDenoArgs() adds the V8 heap cap", () => {
  const args = buildDenoArgs({ ...BASE, heapMb: 128 });
  ok(args.includes("--v8-flags=--max-old-space-size=128"));
  equal(args[args.length - 1], BASE.entry);
});

Deno.test("buildDenoArgs() accepts heapMb of exactly 16", () => {
  ok(buildDenoArgs({ ...BASE, heapMb: 16 }).includes("--v8-flags=--max-old-space-size=16"));
});

Deno.test("buildDenoArgs() throws TypeError for heapMb below 16 or not an integer", () => {
  for (const heapMb of [15, 0, -1, 64.5, NaN]) {
    throws(() => buildDenoArgs({ ...BASE, heapMb }), (e: unknown) => {
      ok(e instanceof TypeError, `heapMb ${heapMb}`);
      match(e.message, /heapMb/);
      return true;
    });
  }
});

Deno.test("buildDenoArgs() throws TypeError for relative base paths, naming the field", () => {
  for (const field of ["entry", "socketPath", "dataDir", "configPath"] as const) {
    throws(() => buildDenoArgs({ ...BASE, [field]: "relative/path" }), (e: unknown) => {
      ok(e instanceof TypeError, field);
      match(e.message, new RegExp(field));
      return true;
    });
  }
});

Deno.test("buildDenoArgs() throws TypeError for a relative read or write grant", () => {
  throws(() => withGrants({ read: ["etc/passwd"] }), /read\[0\]/);
  throws(() => withGrants({ write: ["/ok", "./x"] }), /write\[1\]/);
  throws(() => withGrants({ read: [""] }), TypeError);
});

Deno.test("buildDenoArgs() throws TypeError for a path containing a comma (flag injection)", () => {
  throws(() => withGrants({ read: ["/data,/etc"] }), (e: unknown) => {
    ok(e instanceof TypeError);
    match(e.message, /comma/);
    return true;
  });
  throws(() => buildDenoArgs({ ...BASE, dataDir: "/var/lib/blvm/x,/" }), TypeError);
  throws(() => buildDenoArgs({ ...BASE, socketPath: "/run/a.sock,/" }), TypeError);
});

Deno.test("buildDenoArgs() throws TypeError for a path containing NUL or newline", () => {
  throws(() => withGrants({ read: ["/data\0x"] }), TypeError);
  throws(() => withGrants({ write: ["/data\nx"] }), TypeError);
});

Deno.test("buildDenoArgs() throws TypeError for a path containing '..'", () => {
  throws(() => withGrants({ read: ["/var/lib/blvm/../../etc"] }), /'\.\.'/);
  throws(() => buildDenoArgs({ ...BASE, dataDir: "/var/lib/blvm/.." }), TypeError);
});

Deno.test("buildDenoArgs() accepts names that merely contain dots", () => {
  const args = withGrants({ read: ["/srv/..hidden", "/srv/a..b"] });
  equal(flag(args, "allow-read"), "/run/blvm/hello.sock,/var/lib/blvm/hello,/srv/..hidden,/srv/a..b");
});

Deno.test("buildDenoArgs() throws TypeError for bad env names", () => {
  for (const name of ["1ABC", "A-B", "A,B", "", "A B", "A=B"]) {
    throws(() => withGrants({ env: [name] }), TypeError, JSON.stringify(name));
  }
});

Deno.test("buildDenoArgs() throws TypeError for LD_, DYLD_ and DENO_ env names", () => {
  for (const name of ["LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "DENO_DIR", "DENO_CERT"]) {
    throws(() => withGrants({ env: [name] }), (e: unknown) => {
      ok(e instanceof TypeError, name);
      match(e.message, new RegExp(name));
      return true;
    });
  }
});

Deno.test("buildDenoArgs() throws TypeError for a unix: net grant", () => {
  throws(() => withGrants({ net: ["unix:/run/other.sock"] }), TypeError);
  throws(() => withGrants({ net: ["unix:sock"] }), TypeError);
});

Deno.test("buildDenoArgs() throws TypeError for net grants with commas, slashes or spaces", () => {
  for (const v of ["a.com,b.com", "http://a.com", "a.com 443", ""]) {
    throws(() => withGrants({ net: [v] }), TypeError, JSON.stringify(v));
  }
});

Deno.test("buildDenoArgs() throws TypeError for unknown sys names", () => {
  throws(() => withGrants({ sys: ["loadavg", "everything"] }), (e: unknown) => {
    ok(e instanceof TypeError);
    match(e.message, /sys\[1\]/);
    match(e.message, /everything/);
    return true;
  });
  throws(() => withGrants({ sys: ["loadavg,hostname"] }), TypeError);
});

Deno.test("buildDenoArgs() throws TypeError when a grant is not a list", () => {
  throws(() => withGrants({ read: "/etc" as unknown as string[] }), TypeError);
});

Deno.test("buildDenoArgs() throws TypeError for a non-string path grant", () => {
  throws(() => withGrants({ read: [42 as unknown as string] }), TypeError);
});
