/**
 * A module's manifest, `module.toml`: who it is, what it runs, what it may do and what it needs.
 *
 * Unknown keys are warnings, not errors, so that older hosts can load newer manifests.
 *
 * @example
 * ```toml
 * name = "hello"
 * version = "0.1.0"
 * entry_point = "main.ts"
 * capabilities = ["read_blockchain", "SubscribeEvents"]
 * [dependencies]
 * wallet = "^1.2.0"
 * [config_schema]
 * greeting = "Text printed for each block"
 * interval = { type = "integer", default = 10 }
 * [permissions]
 * net = ["api.example.com:443"]
 * [activation]
 * events = ["NewBlock"]
 * [api]
 * callers = ["wallet-ui"]
 * ```
 *
 * @module
 */
import { RESERVED_MODULE_NAMES } from "../host/runtime_dir.ts";
import { bytesToHex } from "@noble/hashes/utils.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { isAbsolute, join, relative } from "node:path";
import semver from "semver";
import { z } from "zod";
import {
  ConfigFileError,
  type ConfigIssue,
  describeValue,
  fieldPath,
  issuesFromZod,
  isTable,
  readTomlSource,
} from "./config_error.ts";
import { CUSTOM_EVENT_RE, eventSpec } from "../protocol/events/mod.ts";
import { type ConfigField, configFieldSchema } from "./module_config.ts";
import {
  capabilitySchema,
  envNameSchema,
  eventName,
  HEX_RE,
  moduleNameSchema,
  netEntrySchema,
  pathProblem,
  requestPath,
  semverRangeSchema,
  sysNameSchema,
} from "./rules.ts";

export type { ConfigField, ConfigFieldType } from "./module_config.ts";
export { CAPABILITIES, SYS_NAMES } from "./rules.ts";

/** Access the module asks the operator for, on top of its sandbox. */
export interface RequestedPermissions {
  /** Paths to read: absolute, or relative to the module folder (resolved by {@link readManifest}). */
  read: string[];
  /** Paths to write, like `read`. */
  write: string[];
  /** Network destinations, `host` or `host:port`. */
  net: string[];
  /** Environment variable names. */
  env: string[];
  /** `Deno.*` system info names. */
  sys: string[];
}

/** When a lazily started module is started. */
export interface Activation {
  /** Event types that start it. */
  events: string[];
  /** Whether the first call of one of its methods (today: `deno task ctl call`) starts it. */
  on_call: boolean;
}

/** The `[api]` table: who may call the methods the module registers with `register_module_api`. */
export interface ModuleApiAccess {
  /** Module names allowed to call it, or `["*"]` for every module holding `call_module`. Default: none. */
  callers: string[];
}

/** Legacy maintainer signatures in the manifest: checked for shape only, never verified, and warned about (use `module.sig.json`). */
export interface Signatures {
  /** `M-of-N`. */
  threshold: string;
  /** Who signed, with hex public keys and signatures. */
  maintainers: { name: string; public_key: string; signature: string }[];
}

/** A validated `module.toml`. */
export interface Manifest {
  /** Module name: letters, digits, `_` and `-`, up to 64 characters, not starting with `_` or `-`. */
  name: string;
  /** Strict semantic version, for example `0.1.0`. */
  version: string;
  /** Entry file, relative to the module folder. */
  entry_point: string;
  /** What the module does. */
  description?: string;
  /** Who wrote it. */
  author?: string;
  /** Declared capabilities, in snake_case, without duplicates. */
  capabilities: string[];
  /** Required modules: name to semver range. */
  dependencies: Record<string, string>;
  /** Modules used when present: name to semver range. */
  optional_dependencies: Record<string, string>;
  /** Declared configuration keys. */
  config_schema: Record<string, ConfigField>;
  /** Requested permissions. */
  permissions: RequestedPermissions;
  /** Present when the module is started lazily, on one of its triggers. */
  activation?: Activation;
  /** Event types the module may publish: module-owned catalog types, or its own `<name>.<Type>`. */
  publishes: string[];
  /** Who may call the API it registers. */
  api: ModuleApiAccess;
  /** Release signatures. */
  signatures?: Signatures;
}

/** A manifest read from disk by {@link readManifest}. */
export interface LoadedManifest {
  /** The manifest, with relative permission paths resolved against `dir`. */
  manifest: Manifest;
  /** Real path of the module folder. */
  dir: string;
  /** Absolute path of `module.toml`. */
  file: string;
  /** Real path of the entry file, a regular file inside `dir`. */
  entry: string;
  /** Non-fatal findings, such as unknown keys. */
  warnings: string[];
  /** Hex SHA-256 of the `module.toml` bytes, to detect changes. */
  hash: string;
}

/** Largest `module.toml` accepted: 64 KiB. */
export const MAX_MANIFEST_BYTES = 64 * 1024;

const json = (v: unknown) => describeValue(v);
/** The caller name of `deno task ctl call`; no module may take it. */
const OPERATOR = "operator";
const uniq = (a: string[]) => [...new Set(a)];

const emptyPermissions = (): RequestedPermissions => ({ read: [], write: [], net: [], env: [], sys: [] });

const manifestSchema = z.object({
  name: moduleNameSchema.refine((v) => !RESERVED_MODULE_NAMES.includes(v.toLowerCase()), {
    error: (i) =>
      String(i.input).toLowerCase() === OPERATOR
        ? `'operator' is reserved: callees see it as the caller of 'deno task ctl call'`
        : `${json(i.input)} is a reserved name (${
          RESERVED_MODULE_NAMES.join(", ")
        }): it names the operator or a part of the host`,
  }),
  version: z.string().refine((v) => semver.valid(v) === v, {
    error: (i) => `expected a semantic version such as "0.1.0", got ${json(i.input)}`,
  }),
  entry_point: z.string().refine(
    (v) => v !== "" && !v.startsWith("/") && !v.split("/").includes("..") && !v.includes("\0"),
    {
      error: (i) => `expected a relative path inside the module folder, without '..', got ${json(i.input)}`,
    },
  ),
  description: z.string().optional(),
  author: z.string().optional(),
  capabilities: z.array(capabilitySchema).default(() => []).transform(uniq),
  dependencies: z.record(moduleNameSchema, semverRangeSchema).default(() => ({})),
  optional_dependencies: z.record(moduleNameSchema, semverRangeSchema).default(() => ({})),
  config_schema: z.record(z.string(), configFieldSchema).default(() => ({})),
  permissions: z.object({
    read: z.array(requestPath).default(() => []),
    write: z.array(requestPath).default(() => []),
    net: z.array(netEntrySchema).default(() => []),
    env: z.array(envNameSchema).default(() => []),
    sys: z.array(sysNameSchema).default(() => []),
  }).default(emptyPermissions),
  activation: z.object({
    events: z.array(eventName).default(() => []).transform(uniq),
    on_call: z.boolean().default(false),
  }).refine((a) => a.events.length > 0 || a.on_call, {
    error: "a lazily started module needs a trigger: a non-empty 'events' list or 'on_call = true'",
  }).optional(),
  publishes: z.array(z.string()).default(() => []).transform(uniq),
  api: z.object({
    callers: z.array(z.union([z.literal("*"), moduleNameSchema])).default(() => []).transform(uniq),
  }).default(() => ({ callers: [] })),
  signatures: z.object({
    threshold: z.string().refine((v) => {
      const m = /^([1-9]\d{0,2})-of-([1-9]\d{0,2})$/.exec(v);
      return m !== null && +m[1] <= +m[2];
    }, { error: (i) => `expected 'M-of-N' with 1 <= M <= N, got ${json(i.input)}` }),
    maintainers: z.array(z.object({
      name: z.string().min(1),
      public_key: z.string().regex(HEX_RE, "expected hex"),
      signature: z.string().regex(HEX_RE, "expected hex"),
    })).min(1, "expected at least one maintainer"),
  }).optional(),
});

const KNOWN: Record<string, readonly string[]> = {
  "": Object.keys(manifestSchema.shape),
  permissions: ["read", "write", "net", "env", "sys"],
  activation: ["events", "on_call"],
  api: ["callers"],
  signatures: ["threshold", "maintainers"],
};

function unknownKeyWarnings(data: Record<string, unknown>): string[] {
  const out: string[] = [];
  const check = (table: unknown, known: readonly string[], path: (string | number)[]) => {
    if (!isTable(table)) return;
    for (const k of Object.keys(table)) {
      if (!known.includes(k)) out.push(`unknown key '${fieldPath([...path, k])}' (ignored)`);
    }
  };
  check(data, KNOWN[""], []);
  for (const t of ["permissions", "activation", "api", "signatures"]) check(data[t], KNOWN[t], [t]);
  const sigs = isTable(data.signatures) ? data.signatures.maintainers : undefined;
  if (Array.isArray(sigs)) {
    sigs.forEach((m, i) => check(m, ["name", "public_key", "signature"], ["signatures", "maintainers", i]));
  }
  if (isTable(data.config_schema)) {
    for (const [k, f] of Object.entries(data.config_schema)) {
      check(f, ["type", "description", "default", "required", "secret"], ["config_schema", k]);
    }
  }
  return out;
}

function crossIssues(data: Record<string, unknown>, file: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const deps = isTable(data.dependencies) ? data.dependencies : {};
  const opt = isTable(data.optional_dependencies) ? data.optional_dependencies : {};
  for (const k of Object.keys(opt)) {
    if (Object.hasOwn(deps, k)) {
      out.push({
        file,
        field: fieldPath([k], "optional_dependencies"),
        message: `'${k}' is also listed in [dependencies]`,
      });
    }
  }
  const publishes = Array.isArray(data.publishes) ? data.publishes : [];
  publishes.forEach((type, i) => {
    const problem = publishProblem(type, data.name);
    if (problem) out.push({ file, field: `publishes[${i}]`, message: problem });
  });
  for (const [table, t] of [["dependencies", deps], ["optional_dependencies", opt]] as const) {
    if (typeof data.name === "string" && Object.hasOwn(t, data.name)) {
      out.push({ file, field: fieldPath([data.name], table), message: "a module cannot depend on itself" });
    }
  }
  return out;
}

/** Why a module may not declare `type` in `publishes`, or `undefined` if it may. */
function publishProblem(type: unknown, name: unknown): string | undefined {
  if (typeof type !== "string") return `expected an event type name, got ${json(type)}`;
  const spec = eventSpec(type);
  if (spec?.owner === "node") return `${json(type)} is published by the node only; a module can never publish it`;
  if (spec) return undefined;
  if (!CUSTOM_EVENT_RE.test(type)) {
    return `${json(type)} is not a catalog event; a module's own events are named '${
      typeof name === "string" ? name : "<module>"
    }.<PascalCaseName>'`;
  }
  if (typeof name === "string" && type.slice(0, type.indexOf(".")) !== name) {
    return `${json(type)} is in another module's namespace; this module's own events are named '${name}.<Name>'`;
  }
  return undefined;
}

function validate(data: Record<string, unknown>, file: string) {
  const r = manifestSchema.safeParse(data, { reportInput: true });
  const issues = [...(r.success ? [] : issuesFromZod(file, r.error)), ...crossIssues(data, file)];
  const warnings = unknownKeyWarnings(data);
  if (data.signatures !== undefined) {
    warnings.push(
      "[signatures] in module.toml is not verified and proves nothing; sign the folder with 'deno task ctl sign' " +
        "(module.sig.json, see docs/SIGNING.md)",
    );
  }
  return { manifest: r.success ? r.data as Manifest : undefined, issues, warnings };
}

/**
 * Validate a parsed `module.toml`. Pure: permission paths stay as written and the entry file is not
 * looked at (see {@link readManifest}).
 *
 * @param data The parsed TOML.
 * @param file The file name used in errors.
 * @returns The manifest and warnings (unknown keys).
 * @throws {ConfigFileError} listing every problem.
 *
 * @example
 * ```ts
 * import { parseManifest } from "./manifest.ts";
 * const { manifest, warnings } = parseManifest(
 *   { name: "hello", version: "0.1.0", entry_point: "main.ts", capabilities: ["ReadBlockchain"], colour: "red" },
 *   "module.toml",
 * );
 * console.log(manifest.capabilities, warnings); // ["read_blockchain"] ["unknown key 'colour' (ignored)"]
 * ```
 */
export function parseManifest(data: Record<string, unknown>, file: string): { manifest: Manifest; warnings: string[] } {
  const { manifest, issues, warnings } = validate(data, file);
  if (!manifest || issues.length) throw new ConfigFileError(file, issues);
  return { manifest, warnings };
}

const inside = (dir: string, p: string) => {
  const rel = relative(dir, p);
  return rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel);
};

async function entryIssues(dir: string, entry: unknown, file: string): Promise<ConfigIssue[]> {
  if (typeof entry !== "string" || entry === "" || entry.startsWith("/") || entry.split("/").includes("..")) return [];
  const issue = (message: string) => [{ file, field: "entry_point", message }];
  let real: string;
  try {
    real = await Deno.realPath(join(dir, entry));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return issue(`file ${json(entry)} not found in the module folder`);
    return issue(`cannot resolve ${json(entry)}: ${(e as Error).message}`);
  }
  if (!inside(dir, real)) {
    return issue(`${json(entry)} resolves to ${real}, outside the module folder (symbolic link)`);
  }
  if (!(await Deno.stat(real)).isFile) return issue(`${json(entry)} is not a regular file`);
  return [];
}

async function linkIssues(dir: string, data: Record<string, unknown>, file: string): Promise<ConfigIssue[]> {
  const out: ConfigIssue[] = [];
  const perms = isTable(data.permissions) ? data.permissions : {};
  for (const kind of ["read", "write"]) {
    const list = Array.isArray(perms[kind]) ? perms[kind] : [];
    for (const [i, p] of list.entries()) {
      if (typeof p !== "string" || isAbsolute(p) || pathProblem(p, true)) continue;
      const real = await Deno.realPath(join(dir, p)).catch(() => undefined);
      if (real !== undefined && !inside(dir, real)) {
        out.push({
          file,
          field: `permissions.${kind}[${i}]`,
          message: `${json(p)} resolves to ${real}, outside the module folder`,
        });
      }
    }
  }
  return out;
}

/**
 * Read and validate `<dir>/module.toml` (at most 64 KiB), check that the entry file is a regular
 * file inside the folder (after following symbolic links), and resolve relative permission paths
 * against the folder (they must stay inside it).
 *
 * @param dir The module folder.
 * @returns The manifest, its location, warnings and the file's hash.
 * @throws {ConfigFileError} (file `<dir>/module.toml`) listing every problem, including a missing file.
 * @throws {Deno.errors.NotFound} if `dir` itself does not exist.
 *
 * @example
 * ```ts ignore
 * import { readManifest } from "./manifest.ts";
 * const loaded = await readManifest("./modules/hello");
 * console.log(loaded.manifest.name, loaded.entry, loaded.hash);
 * for (const w of loaded.warnings) console.warn(`${loaded.file}: ${w}`);
 * ```
 */
export async function readManifest(dir: string): Promise<LoadedManifest> {
  const real = await Deno.realPath(dir);
  const file = join(real, "module.toml");
  let source: { data: Record<string, unknown>; bytes: Uint8Array };
  try {
    source = await readTomlSource(file, MAX_MANIFEST_BYTES);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigFileError(file, [{ file, field: "", message: "no module.toml" }], { cause: e });
    }
    throw e;
  }
  const { manifest, issues, warnings } = validate(source.data, file);
  issues.push(...await entryIssues(real, source.data.entry_point, file), ...await linkIssues(real, source.data, file));
  if (!manifest || issues.length) throw new ConfigFileError(file, issues);
  const p = manifest.permissions;
  p.read = p.read.map((x) => isAbsolute(x) ? x : join(real, x));
  p.write = p.write.map((x) => isAbsolute(x) ? x : join(real, x));
  return {
    manifest,
    dir: real,
    file,
    entry: await Deno.realPath(join(real, manifest.entry_point)),
    warnings,
    hash: bytesToHex(sha256(source.bytes)),
  };
}
