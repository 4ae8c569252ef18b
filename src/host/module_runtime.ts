/**
 * The module runtime: the one folder of code every module may load besides its own. It holds a copy of
 * the SDK sources (`@blvm/node/module`, `@blvm/node/protocol` and what they import), the host's pinned npm
 * dependencies installed from the host's lock, and the `deno.json` modules run with. It is built once
 * per content (a hash names the folder), outside any workspace, so a module's own `deno.json` or
 * `package.json` never takes part, and it is mounted read-only into the OS sandbox.
 *
 * @module
 */
import { toHex } from "../node/header.ts";

/** The folders of this package a module may import (through the `@blvm/node/module` and `/protocol` exports). */
export const SDK_FOLDERS: readonly string[] = Object.freeze(["src/module", "src/protocol", "src/transport"]);

/** A built module runtime. */
export interface ModuleRuntime {
  /** Real path of the runtime folder. */
  readonly dir: string;
  /** Its `deno.json`, passed to every module with `--config`. */
  readonly configPath: string;
  /**
   * A Deno cache with the SDK already compiled, for modules that cannot write to it (the OS sandbox
   * mounts the runtime read-only); `undefined` if it could not be prepared.
   */
  readonly denoDir?: string;
}

/** Inputs to {@link prepareModuleRuntime}. */
export interface ModuleRuntimeOptions {
  /** The host's `deno.json`: its `npm:` imports, its `deno.lock` and `package.json` define the dependencies. */
  configPath: string;
  /** Where runtimes are built and kept. */
  cacheDir: string;
  /** The deno binary that installs the dependencies (the modules' binary). */
  denoPath: string;
  /** The package root holding {@link SDK_FOLDERS}. Default: this checkout. */
  packageRoot?: string;
}

/** The runtime could not be prepared; `message` says which input was wrong and what deno said. */
export class ModuleRuntimeError extends Error {
  /**
   * Create the error.
   *
   * @param message What went wrong.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ModuleRuntimeError";
  }
}

/** Part of every runtime's hash: bump it when the way a runtime is built changes. */
const RUNTIME_FORMAT = "blvm-module-runtime/3";
const MARKER = ".complete";
const WARM_DIR = "deno";
const KEEP_UNUSED_MS = 7 * 24 * 3600_000;
const building = new Map<string, Promise<ModuleRuntime>>();

/**
 * The default folder for module runtimes: `$BLVM_CACHE_DIR`, else `$XDG_CACHE_HOME/blvm-node`, else
 * `$HOME/.cache/blvm-node`.
 *
 * @returns An absolute path.
 * @throws {ModuleRuntimeError} when none of those variables is set.
 *
 * @example
 * ```ts ignore
 * console.log(defaultRuntimeCacheDir()); // "/home/op/.cache/blvm-node"
 * ```
 */
export function defaultRuntimeCacheDir(): string {
  const explicit = Deno.env.get("BLVM_CACHE_DIR");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/blvm-node`;
  const home = Deno.env.get("HOME");
  if (home) return `${home}/.cache/blvm-node`;
  throw new ModuleRuntimeError("No cache folder for module runtimes: set BLVM_CACHE_DIR, XDG_CACHE_HOME or HOME");
}

/**
 * Build the module runtime for the host's configuration, or reuse the one already built for the same
 * content. Concurrent calls (several hosts, several processes) share one result.
 *
 * @param o The host's `deno.json`, the cache folder and the deno binary.
 * @returns The runtime.
 * @throws {ModuleRuntimeError} naming the file or the install step that failed.
 *
 * @example
 * ```ts ignore
 * const rt = await prepareModuleRuntime({ configPath: "./deno.json", cacheDir: "/tmp/c", denoPath: Deno.execPath() });
 * console.log(rt.configPath); // "/tmp/c/runtime-…/deno.json"
 * ```
 */
export async function prepareModuleRuntime(o: ModuleRuntimeOptions): Promise<ModuleRuntime> {
  const inputs = await readInputs(o);
  const dir = `${o.cacheDir}/runtime-${inputs.hash.slice(0, 20)}`;
  let pending = building.get(dir);
  if (!pending) {
    building.set(dir, pending = ensureBuilt(dir, inputs, o));
    pending.catch(() => building.delete(dir));
  }
  return await pending;
}

interface Inputs {
  hash: string;
  files: Map<string, Uint8Array>;
}

async function readInputs(o: ModuleRuntimeOptions): Promise<Inputs> {
  const root = o.packageRoot ?? new URL("../../", import.meta.url).pathname;
  const hostDir = o.configPath.slice(0, o.configPath.lastIndexOf("/") + 1);
  const host = await readJson(o.configPath);
  const imports: Record<string, string> = {};
  for (const [k, v] of Object.entries((host.imports ?? {}) as Record<string, unknown>)) {
    if (typeof v === "string" && v.startsWith("npm:")) imports[k] = v;
  }
  imports["@blvm/node/module"] = "./src/module/mod.ts";
  imports["@blvm/node/protocol"] = "./src/protocol/mod.ts";
  const lock = await readJson(`${hostDir}deno.lock`);
  // The host's lock, minus its own workspace's members: the runtime is a package of its own.
  const workspace = (lock.workspace ?? {}) as Record<string, unknown>;
  delete workspace.links;
  delete workspace.members;
  const text = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + "\n");
  const files = new Map<string, Uint8Array>([
    // "manual": modules use the node_modules installed here and never write to it (the folder is shared).
    ["deno.json", text({ imports, nodeModulesDir: "manual", lock: { path: "./deno.lock", frozen: true } })],
    ["deno.lock", text(lock)],
    ["warm.ts", new TextEncoder().encode('import "@blvm/node/module";\nimport "@blvm/node/protocol";\n')],
  ]);
  // Only the host's npm overrides; the name is fixed, so the install does not depend on the folder's name.
  const pkg = await readJson(`${hostDir}package.json`).catch(() => ({} as Record<string, unknown>));
  files.set(
    "package.json",
    text({ name: "blvm-module-runtime", version: "0.0.0", private: true, overrides: pkg.overrides }),
  );
  for (const folder of SDK_FOLDERS) await readTree(`${root}${folder}`, folder, files);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", concat(Deno.version.deno, files)));
  return { hash: toHex(digest), files };
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ModuleRuntimeError(`Cannot read '${path}' for the module runtime: ${(e as Error).message}`, { cause: e });
  }
  try {
    const v = JSON.parse(text);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v;
  } catch (e) {
    throw new ModuleRuntimeError(`'${path}' is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  throw new ModuleRuntimeError(`'${path}' must hold a JSON object`);
}

async function readTree(dir: string, rel: string, out: Map<string, Uint8Array>): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) await readTree(`${dir}/${e.name}`, `${rel}/${e.name}`, out);
    else if (e.isFile && e.name.endsWith(".ts")) out.set(`${rel}/${e.name}`, await Deno.readFile(`${dir}/${e.name}`));
  }
}

function concat(version: string, files: Map<string, Uint8Array>): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [enc.encode(`${RUNTIME_FORMAT}\ndeno ${version}\n`)];
  for (const name of [...files.keys()].sort()) {
    const body = files.get(name)!;
    parts.push(enc.encode(`${name}\0${body.length}\0`), body);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

async function ensureBuilt(dir: string, inputs: Inputs, o: ModuleRuntimeOptions): Promise<ModuleRuntime> {
  const done = async (): Promise<ModuleRuntime | undefined> => {
    try {
      const now = new Date();
      await Deno.utime(`${dir}/${MARKER}`, now, now); // in use: keeps it from being pruned
      const real = await Deno.realPath(dir);
      const warm = await Deno.stat(`${real}/${WARM_DIR}`).then(() => `${real}/${WARM_DIR}`, () => undefined);
      return { dir: real, configPath: `${real}/deno.json`, denoDir: warm };
    } catch {
      return undefined;
    }
  };
  const ready = await done();
  if (ready) return ready;
  await Deno.mkdir(o.cacheDir, { recursive: true, mode: 0o700 });
  const tmp = await Deno.makeTempDir({ dir: o.cacheDir, prefix: ".build-" });
  try {
    for (const [name, body] of inputs.files) {
      const path = `${tmp}/${name}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(path, body);
    }
    const out = await new Deno.Command(o.denoPath, {
      // Every pinned package, so that a module's process never has anything to install here.
      args: ["install", "--frozen", "--cached-only", "--quiet"],
      cwd: tmp,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const why = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 12).join("\n");
      throw new ModuleRuntimeError(
        `Cannot install the module runtime's dependencies from '${o.configPath}' and its deno.lock (run 'deno install --frozen' next to it first): ${why}`,
      );
    }
    await Deno.writeTextFile(`${tmp}/${MARKER}`, new Date().toISOString());
    await Deno.rename(tmp, dir).catch(async (e) => {
      // Another process built the same content first: use theirs.
      if (!(await done())) throw e;
    });
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  await pruneUnused(o.cacheDir, dir);
  await warmCache(dir, o.denoPath).catch(() => {/* modules then compile the SDK themselves */});
  const built = await done();
  if (!built) throw new ModuleRuntimeError(`Module runtime '${dir}' vanished while it was being prepared`);
  return built;
}

/**
 * Compile the SDK once into `<runtime>/deno`, by loading it as a module would (cache keys are the files'
 * final paths, so this runs after the folder has its name). Built beside and renamed into place.
 */
async function warmCache(dir: string, denoPath: string): Promise<void> {
  if (await Deno.stat(`${dir}/${WARM_DIR}`).then(() => true, () => false)) return;
  const tmp = await Deno.makeTempDir({ dir, prefix: ".warm-" });
  const warm = () =>
    new Deno.Command(denoPath, {
      args: ["run", "--no-prompt", "--no-remote", "--cached-only", "--frozen", "--config=deno.json", "warm.ts"],
      cwd: dir,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DENO_DIR: tmp },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
  try {
    // Twice: the first run compiles and stores the transpiled code, the second the V8 code cache. Measured
    // under the OS layer, a module then starts in about a third of the time it takes after one run.
    if ((await warm()).success && (await warm()).success) await Deno.rename(tmp, `${dir}/${WARM_DIR}`);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/**
 * Remove runtimes no host has used for a week (a host touches its runtime's marker at every start), and
 * builds a crashed process left behind.
 */
async function pruneUnused(cacheDir: string, keep: string): Promise<void> {
  for await (const e of Deno.readDir(cacheDir)) {
    const dir = `${cacheDir}/${e.name}`;
    if (!e.isDirectory || dir === keep) continue;
    const stamp = e.name.startsWith("runtime-") ? `${dir}/${MARKER}` : e.name.startsWith(".build-") ? dir : undefined;
    if (stamp === undefined) continue;
    const used = (await Deno.stat(stamp).catch(() => undefined))?.mtime?.getTime() ?? 0;
    if (Date.now() - used > KEEP_UNUSED_MS) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A module's own Deno cache, as {@link prepareModuleCache} made it. */
export interface ModuleCache {
  /** The folder (the module's `DENO_DIR`). */
  readonly dir: string;
  /** Bytes of the precompiled copy it started from; only what it grew beyond counts as the module's. */
  readonly seedBytes: number;
}

/**
 * Make a module's own Deno cache: a folder of the host's, out of every grant of the module, seeded with a
 * copy of the runtime's precompiled cache so the module starts warm. (A read-only cache would do for
 * reading, but Deno then tries, and slowly fails, to cache the module's own files on every start.) A
 * cache seeded from another runtime is emptied and seeded again.
 *
 * @param dir Where the module's cache lives.
 * @param runtime The runtime the module runs with.
 * @returns The cache.
 *
 * @example
 * ```ts ignore
 * const cache = await prepareModuleCache(`${runtimeDir}/cache/hello`, runtime);
 * env.DENO_DIR = cache.dir;
 * ```
 */
export async function prepareModuleCache(dir: string, runtime: ModuleRuntime): Promise<ModuleCache> {
  const marker = `${dir}/.seeded-from`;
  const seededFrom = await Deno.readTextFile(marker).catch(() => undefined);
  const seed = runtime.denoDir;
  if (seededFrom === undefined || seededFrom !== (seed ?? "")) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    if (seed) await copyFolder(seed, dir);
    await Deno.writeTextFile(marker, seed ?? "");
  }
  return { dir, seedBytes: seed ? await seedSize(seed) : 0 };
}

const seedSizes = new Map<string, Promise<number>>();
function seedSize(dir: string): Promise<number> {
  let size = seedSizes.get(dir);
  if (!size) seedSizes.set(dir, size = folderSize(dir));
  return size;
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    const st = await Deno.lstat(`${dir}/${e.name}`);
    total += e.isFile ? Math.max(st.size, (st.blocks ?? 0) * 512) : (st.blocks ?? 0) * 512;
    if (e.isDirectory) total += await folderSize(`${dir}/${e.name}`);
  }
  return total;
}

async function copyFolder(from: string, to: string): Promise<void> {
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) {
      await Deno.mkdir(`${to}/${e.name}`, { mode: 0o700 });
      await copyFolder(`${from}/${e.name}`, `${to}/${e.name}`);
    } else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}
