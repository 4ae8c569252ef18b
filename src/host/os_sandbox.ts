/**
 * The OS layer of the sandbox: bubblewrap (`bwrap`) around every module process, in addition to Deno's
 * permission flags. The module sees only the Deno binary, the system libraries under `/usr`, its own
 * folder and the module runtime (read-only), its data directory (read-write, or read-only over its
 * quota), its socket, its Deno cache, the paths the operator granted, a small private `/tmp`, and
 * minimal `/dev` and `/proc`. It runs in new user, pid, ipc, uts, cgroup and (unless `net` is granted) network namespaces,
 * with no capabilities, cannot create further user namespaces, and dies with the host.
 *
 * @module
 */
import { findInPath, tryRun } from "./executables.ts";

/** How the host uses the OS layer: `auto` uses it when it works, `off` never, `require` refuses modules without it. */
export type OsSandboxMode = "auto" | "off" | "require";

/** What a module runs under: both layers, or Deno's flags only. */
export type SandboxKind = "os+deno" | "deno";

/** Whether the OS layer works on this machine. */
export interface OsSandboxProbe {
  /** `true` when a trial sandbox ran the Deno binary. */
  available: boolean;
  /** The bwrap binary, when found. */
  bwrap?: string;
  /** Why it is not available. */
  reason?: string;
}

/** Inputs to {@link bwrapArgs}. */
export interface BwrapOptions {
  /** Real path of the Deno binary. */
  denoPath: string;
  /** Real paths mounted read-only: the module's folder and the module runtime. */
  readOnly: string[];
  /** The module's data directory (its working directory). */
  dataDir: string;
  /** The module's Deno cache, bound read-write: Deno writes it, the module's code has no grant for it. */
  cacheDir?: string;
  /** Mount the data directory read-only (the module is over its quota). */
  readOnlyData?: boolean;
  /** The socket, inside the data directory: bound read-write so the module can connect even when its data is read-only. */
  socketPath: string;
  /** Paths the operator granted for reading. */
  grantedRead?: string[];
  /** Paths the operator granted for writing. */
  grantedWrite?: string[];
  /** Whether the module was granted network access (keeps the host's network namespace). */
  network?: boolean;
  /** Size of the private `/tmp` in bytes. Default 16 MiB. */
  tmpBytes?: number;
}

/** Files a process with network access needs to resolve names and check TLS certificates. */
const NET_FILES = [
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/nsswitch.conf",
  "/etc/gai.conf",
  "/etc/ssl",
  "/etc/ca-certificates",
];

/**
 * The bwrap arguments that wrap one module's `deno` command (append `denoPath` and its arguments).
 * Paths keep their host names inside, so Deno's flags name the same paths in both layers.
 *
 * @param o Paths and grants.
 * @returns Arguments for `bwrap`, ending with `--`.
 *
 * @example
 * ```ts
 * import { bwrapArgs } from "@blvm/node";
 * const args = bwrapArgs({
 *   denoPath: "/usr/bin/deno",
 *   readOnly: ["/srv/modules/hello", "/var/cache/blvm/runtime-1"],
 *   dataDir: "/var/lib/blvm/hello",
 *   socketPath: "/var/lib/blvm/hello/.blvm/run/sock",
 * });
 * console.log(args.includes("--unshare-net"), args.at(-1)); // true "--"
 * ```
 */
export function bwrapArgs(o: BwrapOptions): string[] {
  const args = [
    "--unshare-all",
    "--unshare-user",
    "--disable-userns",
    ...(o.network ? ["--share-net"] : ["--unshare-net"]),
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--hostname",
    "blvm-module",
    ...systemMounts(),
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    // The private /tmp first: binds below it (data dirs often are) must come after.
    "--size",
    String(o.tmpBytes ?? 16 * 1024 * 1024),
    "--tmpfs",
    "/tmp",
    "--ro-bind",
    o.denoPath,
    o.denoPath,
  ];
  for (const p of o.readOnly) args.push("--ro-bind", p, p);
  for (const p of o.grantedRead ?? []) args.push("--ro-bind-try", p, p);
  for (const p of o.grantedWrite ?? []) args.push("--bind-try", p, p);
  if (o.network) { for (const p of NET_FILES) args.push("--ro-bind-try", p, p); }
  if (o.cacheDir) args.push("--bind", o.cacheDir, o.cacheDir);
  args.push(o.readOnlyData ? "--ro-bind" : "--bind", o.dataDir, o.dataDir);
  args.push("--bind", o.socketPath, o.socketPath, "--chdir", o.dataDir, "--");
  return args;
}

/** `/usr` read-only, and `/bin`, `/lib`, `/lib64`, `/sbin` as the host has them (links on merged-/usr systems). */
function systemMounts(): string[] {
  const out = ["--ro-bind", "/usr", "/usr"];
  for (const p of ["/bin", "/sbin", "/lib", "/lib32", "/lib64"]) {
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymlink) out.push("--symlink", Deno.readLinkSync(p), p);
    else if (st.isDirectory) out.push("--ro-bind", p, p);
  }
  return out;
}

/**
 * Find bwrap and run a trial sandbox with the Deno binary in it, as the modules will run.
 *
 * @param denoPath The Deno binary modules run with.
 * @param bwrap The bwrap binary. Default: `bwrap` from `PATH`, else `/usr/bin/bwrap`.
 * @returns Whether it works, and why not.
 *
 * @example
 * ```ts ignore
 * const probe = await probeOsSandbox(Deno.execPath());
 * if (!probe.available) console.warn(`Deno layer only: ${probe.reason}`);
 * ```
 */
export async function probeOsSandbox(denoPath: string, bwrap?: string): Promise<OsSandboxProbe> {
  const bin = bwrap ?? findInPath("bwrap") ?? "/usr/bin/bwrap";
  const real = await Deno.realPath(denoPath).catch(() => denoPath);
  const dir = await Deno.makeTempDir({ prefix: "blvm-probe-" });
  try {
    const sock = `${dir}/sock`;
    await Deno.writeFile(sock, new Uint8Array(0));
    const wrap = bwrapArgs({ denoPath: real, readOnly: [], dataDir: dir, socketPath: sock });
    const out = await tryRun(bin, [...wrap, real, "--version"]);
    if (out.success && out.stdout.startsWith("deno ")) return { available: true, bwrap: bin };
    const why = out.stderr.trim().split("\n")[0] || `exit code ${out.code}`;
    return { available: false, bwrap: bin, reason: `a trial sandbox failed: ${why}` };
  } catch (e) {
    const missing = e instanceof Deno.errors.NotFound;
    return {
      available: false,
      reason: missing ? `bwrap (bubblewrap) is not installed (looked for '${bin}')` : String(e),
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
