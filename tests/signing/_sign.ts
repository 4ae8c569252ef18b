// Shared by the signing tests: temporary module folders and keys.
import { generateSigningKey, type SigningKey } from "../../mod.ts";

/** A temporary module folder `<tmp>/<name>` with a manifest, `main.ts` and `lib/util.ts`, removed on dispose. */
export interface TempModule {
  /** The module folder. */
  dir: string;
  /** Write a file relative to the folder (creating its parent folders). */
  write(path: string, text: string): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A valid manifest for `name`. */
export const manifestText = (name: string, version = "1.0.0") =>
  `name = "${name}"\nversion = "${version}"\nentry_point = "main.ts"\n`;

/** Create a module folder; `files` are written over the defaults. */
export async function tempModule(name = "hello", files: Record<string, string> = {}): Promise<TempModule> {
  const root = await Deno.makeTempDir({ prefix: "blvm-sign-" });
  const dir = `${root}/${name}`;
  const write = async (path: string, text: string) => {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, text);
  };
  const all = {
    "module.toml": manifestText(name),
    "main.ts": 'import { util } from "./lib/util.ts";\nconsole.log(util);\n',
    "lib/util.ts": "export const util = 1;\n",
    ...files,
  };
  for (const [p, t] of Object.entries(all)) await write(p, t);
  return { dir, write, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

/** `n` fresh keys. */
export function keys(n: number): Promise<SigningKey[]> {
  return Promise.all(Array.from({ length: n }, () => generateSigningKey()));
}

/** Trusted keys by name from named signing keys. */
export function trust(named: Record<string, SigningKey>): Record<string, string> {
  return Object.fromEntries(Object.entries(named).map(([n, k]) => [n, k.publicKey]));
}
