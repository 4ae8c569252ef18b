/**
 * Import graph vetting. Deno's loader reads static and literal `import`s without checking
 * `--allow-read`, so before every start the host lists the module's whole graph with `deno info --json`
 * (under the module runtime's `deno.json`, as the module will run) and refuses the start if any local
 * file lies outside the module's own folder and the module runtime, naming the specifier and the file
 * that imports it. Links are resolved first, so a link inside the folder that points out is caught too.
 *
 * The result is remembered per entry: while none of the graph's files changed (same size, mtime and
 * inode), the graph cannot have changed, and `deno info` is not run again.
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";

/** Inputs to {@link vetImports}. */
export interface VetOptions {
  /** Absolute real path of the entry file. */
  entry: string;
  /** Real path of the module's own folder. */
  root: string;
  /** Real path of the module runtime (SDK and dependencies), and its `deno.json`. */
  runtime: { dir: string; configPath: string };
  /** The deno binary. */
  denoPath: string;
  /** How long `deno info` may take. Default 60 s. */
  timeoutMs?: number;
}

/** The module's code imports something it may not, or its graph cannot be read. */
export class ImportRefusedError extends Error {
  /** The offending specifier (or the entry, when the graph could not be read). */
  readonly specifier: string;
  /** The file that imports it, when known. */
  readonly importer?: string;

  /**
   * Create the error.
   *
   * @param message What was refused and why.
   * @param specifier The offending specifier.
   * @param importer The file that imports it.
   */
  constructor(message: string, specifier: string, importer?: string) {
    super(message);
    this.name = "ImportRefusedError";
    this.specifier = specifier;
    if (importer !== undefined) this.importer = importer;
  }
}

interface Stamp {
  path: string;
  size: number;
  mtime: number;
  ino: number;
}

const vetted = new Map<string, Stamp[]>();

interface InfoDependency {
  specifier: string;
  isDynamic?: boolean;
  code?: { specifier?: string; error?: string };
  type?: { specifier?: string; error?: string };
}

interface InfoModule {
  specifier: string;
  kind?: string;
  error?: string;
  dependencies?: InfoDependency[];
}

/**
 * Check that every file the module can load lies inside its folder or the module runtime.
 *
 * @param o Entry, folder, runtime and deno binary.
 * @returns The local files of the graph (real paths), sorted.
 * @throws {ImportRefusedError} naming the first offending specifier and its importer.
 *
 * @example
 * ```ts ignore
 * await vetImports({ entry, root: "/srv/modules/hello", runtime, denoPath: Deno.execPath() });
 * ```
 */
export function vetImports(o: VetOptions): Promise<string[]> {
  const key = `${o.entry}\0${o.runtime.configPath}\0${o.root}`;
  // Modules started together from the same code share one `deno info`.
  let running = vetting.get(key);
  if (!running) {
    running = vet(o, key).finally(() => vetting.delete(key));
    vetting.set(key, running);
  }
  return running;
}

/** Vettings in progress, by the same key as `vetted`. */
const vetting = new Map<string, Promise<string[]>>();

async function vet(o: VetOptions, key: string): Promise<string[]> {
  const known = vetted.get(key);
  if (known && await unchanged(known)) return known.map((s) => s.path);
  vetted.delete(key);
  const info = await denoInfo(o);
  const files = new Set<string>();
  const inside = (real: string) =>
    [o.root, o.runtime.dir].some((dir) => real === dir || real.startsWith(dir.endsWith("/") ? dir : `${dir}/`));
  const importers = new Map<string, string>();
  for (const m of info.modules) {
    for (const d of m.dependencies ?? []) {
      for (const target of [d.code, d.type]) {
        if (!target) continue;
        if (target.error && !d.isDynamic) {
          throw new ImportRefusedError(
            `Import '${d.specifier}' in ${show(m.specifier)} cannot be resolved: ${target.error}`,
            d.specifier,
            m.specifier,
          );
        }
        if (target.specifier && !importers.has(target.specifier)) importers.set(target.specifier, m.specifier);
      }
    }
  }
  const pinned = await pinnedPackages(o.runtime.dir);
  for (const m of info.modules) {
    const importer = importers.get(m.specifier);
    const from = importer ? ` (imported by ${show(importer)})` : "";
    const scheme = m.specifier.slice(0, m.specifier.indexOf(":") + 1);
    if (scheme === "npm:") {
      // Listed without resolving (no registry is asked); the package must be one the runtime pins.
      const pkg = m.specifier.slice(4).replace(/^\//, "").match(/^(@?[^@/]+(?:\/[^@/]+)?@[^/]+)/)?.[1];
      if (pkg && (pinned.has(pkg) || pinned.has(`npm:${pkg}`))) continue;
      throw new ImportRefusedError(
        `Import of ${m.specifier}${from} refused: it is not one of the host's pinned npm dependencies`,
        m.specifier,
        importer,
      );
    }
    if (m.error) {
      throw new ImportRefusedError(`Cannot load ${show(m.specifier)}${from}: ${m.error}`, m.specifier, importer);
    }
    if (scheme === "node:" || scheme === "data:") continue;
    if (scheme !== "file:") {
      throw new ImportRefusedError(
        `Import of ${m.specifier}${from} refused: modules may load only local files and the host's pinned dependencies`,
        m.specifier,
        importer,
      );
    }
    const path = fromFileUrl(m.specifier);
    const real = await Deno.realPath(path).catch(() => path);
    if (!inside(real)) {
      throw new ImportRefusedError(
        `Import of '${path}'${
          real === path ? "" : ` (a link to '${real}')`
        }${from} refused: it lies outside the module's folder '${o.root}'`,
        m.specifier,
        importer,
      );
    }
    files.add(real);
  }
  const list = [...files].sort();
  const stamps = await Promise.all(list.map(stamp));
  if (stamps.every((s) => s !== undefined)) vetted.set(key, stamps as Stamp[]);
  return list;
}

/** `name@version` of every npm package in the runtime's lock, and every `npm:` specifier it resolves. */
async function pinnedPackages(dir: string): Promise<Set<string>> {
  const lock = JSON.parse(await Deno.readTextFile(`${dir}/deno.lock`));
  return new Set([...Object.keys(lock.npm ?? {}), ...Object.keys(lock.specifiers ?? {})]);
}

function show(specifier: string): string {
  return specifier.startsWith("file://") ? `'${fromFileUrl(specifier)}'` : specifier;
}

async function denoInfo(o: VetOptions): Promise<{ modules: InfoModule[] }> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const child = new Deno.Command(o.denoPath, {
    args: ["info", "--json", "--no-remote", "--no-npm", `--config=${o.runtime.configPath}`, o.entry],
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const out = await child.output().finally(() => clearTimeout(timer));
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 8).join(" ");
    throw new ImportRefusedError(
      out.signal
        ? `Listing the imports of '${o.entry}' took over ${timeoutMs} ms`
        : `Cannot list the imports of '${o.entry}': ${why}`,
      o.entry,
    );
  }
  try {
    const parsed = JSON.parse(text);
    if (!Array.isArray(parsed?.modules)) throw new Error("no 'modules' list");
    return parsed;
  } catch (e) {
    throw new ImportRefusedError(`Cannot read the import graph of '${o.entry}': ${(e as Error).message}`, o.entry);
  }
}

async function stamp(path: string): Promise<Stamp | undefined> {
  const st = await Deno.stat(path).catch(() => undefined);
  if (!st) return undefined;
  return { path, size: st.size, mtime: st.mtime?.getTime() ?? 0, ino: st.ino ?? 0 };
}

async function unchanged(stamps: Stamp[]): Promise<boolean> {
  for (const s of stamps) {
    const now = await stamp(s.path);
    if (!now || now.size !== s.size || now.mtime !== s.mtime || now.ino !== s.ino) return false;
  }
  return true;
}
