/**
 * The `[modules]` section of the node's `blvm.toml`: where modules live, which run, how they are
 * supervised, and each module's operator overrides in `[modules.<name>]`. Other top-level sections
 * are kept in {@link NodeConfig.raw} and not checked here.
 *
 * @example
 * ```toml
 * [modules]
 * modules_dir = "./modules"
 * disabled = ["experimental"]
 * [modules.restart]
 * max_crashes = 3
 * [modules.hello]
 * version = "^0.1"
 * config = { greeting = "hi" }
 * grants = { net = ["api.example.com:443"], env = ["API_KEY"], capabilities = ["read_mempool"] }
 * env = { API_KEY = "secret" }
 * limits = { heap_mb = 128 }
 * ```
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { z } from "zod";
import type { Grants } from "../host/permissions.ts";
import {
  ConfigFileError,
  type ConfigIssue,
  describeValue,
  fieldPath,
  issuesFromZod,
  isTable,
  readTomlFile,
  suggestKey,
  unknownKeyIssues,
} from "./config_error.ts";
import {
  absolutePathSchema,
  capabilitySchema,
  envNameSchema,
  moduleNameSchema,
  netEntrySchema,
  semverRangeSchema,
  sysNameSchema,
} from "./rules.ts";
import type { RestartPolicy } from "./restart.ts";
import { type BackendConfig, parseBackendConfig } from "./backend_config.ts";
import { type JanitorConfig, parseJanitorConfig } from "../config/janitor_config.ts";
import { type JournalConfig, parseJournalConfig } from "../config/journal_config.ts";
import { applyOverrides, type Override } from "../config/overrides.ts";
import { layoutIssues } from "./layout_rules.ts";
import {
  DEFAULT_SIGNING,
  moduleSigningSchema,
  parseSigningConfig,
  resolveModuleSigning,
} from "../config/signing_config.ts";
import type { SigningSettings } from "../signing/policy.ts";

// One declaration shared with the restart logic, so that `export *` of both files does not clash.
export type { RestartPolicy };

/**
 * The restart policy used when `blvm.toml` sets none.
 *
 * @example
 * ```ts
 * import { DEFAULT_RESTART } from "./node_config.ts";
 * console.log(DEFAULT_RESTART.policy, DEFAULT_RESTART.max_crashes); // "on-failure" 5
 * ```
 */
export const DEFAULT_RESTART: RestartPolicy = Object.freeze({
  policy: "on-failure",
  initial_delay_ms: 1000,
  max_delay_ms: 60000,
  multiplier: 2,
  reset_after_ms: 60000,
  max_crashes: 5,
  window_ms: 60000,
});

/** What the operator grants one module: sandbox grants (absolute paths) and Node API capabilities. */
export interface ModuleGrants extends Required<Grants> {
  /** Capabilities, in snake_case. */
  capabilities: string[];
}

/** The operator's settings for one module, from `[modules.<name>]`. */
export interface ModuleOverrides {
  /** Version pin: a semver range the module's version must satisfy. */
  version?: string;
  /** Whether the node must not run without this module. */
  required: boolean;
  /** `false` forces an eager start even if the manifest has `[activation]`. */
  lazy?: boolean;
  /** Merged over the module's `config.toml`; TOML types are kept. */
  config: Record<string, unknown>;
  /** Grants on top of the default sandbox. */
  grants: ModuleGrants;
  /** Environment passed to the module; every name is also in `grants.env`. */
  env: Record<string, string>;
  /**
   * Resource limits: `heap_mb` (V8 heap cap, integer >= 16), `memory_mb` (resident memory: warning, then
   * restart), `cpu_percent` (share of one core: warning, then `cpu_action`), `disk_mb` (data directory
   * size: warning, then writes refused), `requests_per_second` and `request_burst` (NodeAPI rate limit),
   * `event_queue` (queued events before lossy ones are dropped).
   */
  limits: ModuleLimits;
  /** The global `[modules.restart]` with this module's `restart` keys merged over it. */
  restart: RestartPolicy;
  /** Signing policy, threshold and trusted keys in force: `[modules.<name>.signing]` over `[signing]`. */
  signing: SigningSettings;
  /**
   * Top-level sections of `blvm.toml` this module is shown in `ConfigLoaded`, besides its own settings and
   * `[node]` and `[janitor]` (always shown). Never `modules` or `secret_keys`.
   */
  config_sections?: string[];
}

/** A module's resource limits, from `[modules.<name>.limits]`. */
export interface ModuleLimits {
  /** V8 heap cap in MiB (`--max-old-space-size`). */
  heap_mb?: number;
  /** Resident memory limit in MiB: a warning at the threshold, a restart at the limit. */
  memory_mb?: number;
  /** CPU limit in percent of one core, averaged over the monitor's interval. */
  cpu_percent?: number;
  /** What happens at the CPU limit: `throttle` (pause it part of each 100 ms, default) or `restart`. */
  cpu_action?: "throttle" | "restart";
  /** Quota for the module's data directory in MiB: a warning at the threshold; at the limit it is restarted read-only. */
  disk_mb?: number;
  /** NodeAPI requests per second. */
  requests_per_second?: number;
  /** NodeAPI request burst. */
  request_burst?: number;
  /** Queued events before lossy ones are dropped. */
  event_queue?: number;
}

/** The validated `[modules]` section. */
export interface NodeModulesConfig {
  /** Absolute folder holding one sub-folder per module. */
  modules_dir: string;
  /** Absolute folder holding each module's data directory. */
  data_dir: string;
  /** Absolute folder for the host's sockets. */
  runtime_dir: string;
  /** If set, only these modules run. */
  enabled?: string[];
  /** These modules never run (wins over `enabled`). */
  disabled: string[];
  /** Whether to watch `modules_dir` for changes. */
  watch: boolean;
  /** Quiet time after a change before reacting. */
  watch_debounce_ms: number;
  /** How long a starting module has to complete its handshake. */
  handshake_timeout_ms: number;
  /** How long a stopping module has to exit after being asked. */
  stop_timeout_ms: number;
  /** How long after SIGTERM before SIGKILL. */
  kill_grace_ms: number;
  /** How long start-up waits for every running module's first subscription before `NodeStartupCompleted`. */
  startup_wait_ms: number;
  /** The global restart policy. */
  restart: RestartPolicy;
  /** The OS layer of the sandbox (bubblewrap): `auto` uses it where it works, `off` never. */
  os_sandbox: "auto" | "off";
  /** Refuse to start modules without the OS layer. */
  require_os_sandbox: boolean;
  /** Per-module settings, by module name. */
  modules: Record<string, ModuleOverrides>;
  /** The top-level `[signing]` settings, for modules without a `[modules.<name>.signing]` table. */
  signing: SigningSettings;
}

/** A loaded `blvm.toml`. */
export interface NodeConfig {
  /** Absolute path of the file, if there was one. */
  file?: string;
  /** The `[modules]` section. */
  modules: NodeModulesConfig;
  /** The `[node]` section: the node backend. */
  node: BackendConfig;
  /** The `[janitor]` section: janitorial schedules, deadlines and monitors. */
  janitor: JanitorConfig;
  /** The `[journal]` section: the delivery journal modules resume from. */
  journal: JournalConfig;
  /** The `[signing]` section: signing policy, threshold and trusted keys (`docs/SIGNING.md`). */
  signing: SigningSettings;
  /** Dotted paths the operator marked secret (top-level `secret_keys`): redacted in `ConfigLoaded`. */
  secret_keys: string[];
  /** The whole parsed file, including sections not checked here. */
  raw: Record<string, unknown>;
}

const uniq = (a: string[]) => [...new Set(a)];
const ms = z.int().min(0);
const dirPath = z.string().refine((v) => v !== "" && !v.includes(",") && !/[\0\n]/.test(v), {
  error: (i) => `expected a path without commas, NUL or newlines, got ${describeValue(i.input)}`,
});

const restartSchema = z.strictObject({
  policy: z.enum(["on-failure", "always", "never"], {
    error: (i) => `expected "on-failure", "always" or "never", got ${describeValue(i.input)}`,
  }).optional(),
  initial_delay_ms: ms.optional(),
  max_delay_ms: ms.optional(),
  multiplier: z.number().min(1).optional(),
  reset_after_ms: ms.optional(),
  max_crashes: z.int().min(0).optional(),
  window_ms: z.int().min(1).optional(),
}).default(() => ({}));

const sectionSchema = z.object({
  modules_dir: dirPath.default("./modules"),
  data_dir: dirPath.default("./data/modules"),
  runtime_dir: dirPath.default("./data/run"),
  enabled: z.array(moduleNameSchema).transform(uniq).optional(),
  disabled: z.array(moduleNameSchema).default(() => []).transform(uniq),
  watch: z.boolean().default(true),
  watch_debounce_ms: ms.default(300),
  handshake_timeout_ms: z.int().min(1).default(10000),
  stop_timeout_ms: z.int().min(1).default(5000),
  kill_grace_ms: ms.default(2000),
  startup_wait_ms: ms.default(5000),
  os_sandbox: z.enum(["auto", "off"], {
    error: (i) => `expected "auto" (bubblewrap when it works) or "off", got ${describeValue(i.input)}`,
  }).default("auto"),
  require_os_sandbox: z.boolean().default(false),
  restart: restartSchema,
});

const emptyGrants = (): ModuleGrants => ({ read: [], write: [], net: [], env: [], sys: [], capabilities: [] });

/** Top-level sections `config_sections` may not list, and why. */
const UNSHOWABLE: Record<string, string> = {
  modules: "it holds the host's settings and every module's; a module is always shown its own",
  secret_keys: "the list of secret paths is never shown to modules",
};
const configSectionsSchema = z.array(
  z.string({ error: (i) => `expected a top-level section name such as "custom", got ${describeValue(i.input)}` })
    .refine((v) => v !== "" && !Object.hasOwn(UNSHOWABLE, v), {
      error: (i) =>
        i.input === ""
          ? 'expected a top-level section name such as "custom", got an empty string'
          : `'${i.input}' cannot be shown to a module: ${UNSHOWABLE[i.input as string]}`,
    }),
  { error: (i) => `expected a list of top-level section names such as ["custom"], got ${describeValue(i.input)}` },
).transform(uniq);

const moduleSchema = z.object({
  version: semverRangeSchema.optional(),
  required: z.boolean().default(false),
  lazy: z.boolean().optional(),
  config: z.record(z.string(), z.unknown()).default(() => ({})),
  grants: z.strictObject({
    read: z.array(absolutePathSchema).default(() => []).transform(uniq),
    write: z.array(absolutePathSchema).default(() => []).transform(uniq),
    net: z.array(netEntrySchema).default(() => []).transform(uniq),
    env: z.array(envNameSchema).default(() => []).transform(uniq),
    sys: z.array(sysNameSchema).default(() => []).transform(uniq),
    capabilities: z.array(capabilitySchema).default(() => []).transform(uniq),
  }).default(emptyGrants),
  env: z.record(envNameSchema, z.string()).default(() => ({})),
  limits: z.strictObject({
    heap_mb: z.int().min(16).optional(),
    memory_mb: z.number().positive().optional(),
    cpu_percent: z.number().positive().max(6400).optional(),
    cpu_action: z.enum(["throttle", "restart"]).optional(),
    disk_mb: z.number().positive().optional(),
    requests_per_second: z.number().positive().optional(),
    request_burst: z.int().min(1).optional(),
    event_queue: z.int().min(16).max(10_000_000).optional(),
  }).default(() => ({})),
  restart: restartSchema,
  config_sections: configSectionsSchema.optional(),
  signing: moduleSigningSchema.optional(),
});

/**
 * The keys of `[modules]` that are settings; every other key is a module's own table.
 *
 * @example
 * ```ts
 * import { RESERVED_KEYS } from "./node_config.ts";
 * console.log(RESERVED_KEYS.includes("restart"), RESERVED_KEYS.includes("hello")); // true false
 * ```
 */
export const RESERVED_KEYS: readonly string[] = Object.freeze(Object.keys(sectionSchema.shape));

const MODULE_KEYS: readonly string[] = Object.keys(moduleSchema.shape);

function mergeRestart(
  base: RestartPolicy,
  over: Partial<RestartPolicy>,
  file: string,
  field: string,
  issues: ConfigIssue[],
): RestartPolicy {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) if (v !== undefined) Object.assign(out, { [k]: v });
  if (out.initial_delay_ms > out.max_delay_ms) {
    issues.push({
      file,
      field: `${field}.initial_delay_ms`,
      message: `${out.initial_delay_ms} is larger than max_delay_ms (${out.max_delay_ms})`,
    });
  }
  return out;
}

function defaultOverrides(restart: RestartPolicy, signing: SigningSettings = DEFAULT_SIGNING): ModuleOverrides {
  return {
    required: false,
    config: {},
    grants: emptyGrants(),
    env: {},
    limits: {},
    restart: { ...restart },
    signing: { ...signing, keys: { ...signing.keys } },
  };
}

function checkModuleTable(
  name: string,
  value: unknown,
  file: string,
  restart: RestartPolicy | undefined,
  issues: ConfigIssue[],
  signing: SigningSettings | undefined,
): ModuleOverrides | undefined {
  const field = fieldPath([name], "modules");
  if (!isTable(value)) {
    const near = suggestKey(name, RESERVED_KEYS);
    const message = near
      ? `unknown setting '${name}' (did you mean '${near}'?)`
      : `expected a [modules.${name}] table for module '${name}', got ${describeValue(value)}`;
    issues.push({ file, field, message });
    return undefined;
  }
  if (!moduleNameSchema.safeParse(name).success) {
    issues.push({
      file,
      field,
      message:
        `'${name}' is not a valid module name (letters, digits, '_' and '-', at most 64, starting with a letter or digit)`,
    });
  }
  issues.push(...unknownKeyIssues(file, value, MODULE_KEYS, field));
  // The environment a module receives must also be granted to it, or Deno would refuse to read it.
  const granted = isTable(value.grants) && Array.isArray(value.grants.env) ? value.grants.env : [];
  if (isTable(value.env)) {
    for (const k of Object.keys(value.env)) {
      if (!granted.includes(k)) {
        issues.push({
          file,
          field: fieldPath(["env", k], field),
          message: `'${k}' is not in ${field}.grants.env (grant it there to pass it to the module)`,
        });
      }
    }
  }
  const r = moduleSchema.safeParse(value, { reportInput: true });
  if (!r.success) {
    issues.push(...issuesFromZod(file, r.error, field));
    return undefined;
  }
  const { restart: own, signing: ownSigning, ...rest } = r.data;
  const merged = restart ? mergeRestart(restart, own, file, `${field}.restart`, issues) : { ...DEFAULT_RESTART };
  const sign = signing
    ? resolveModuleSigning(signing, ownSigning, file, `${field}.signing`, issues)
    : { ...DEFAULT_SIGNING, keys: {} };
  return { ...rest, restart: merged, signing: sign };
}

/**
 * Validate a parsed `blvm.toml` and return its `[modules]` settings with paths made absolute.
 *
 * @param data The parsed TOML (the whole file).
 * @param file The file's path, used in errors; `undefined` when there is no file (errors then say `blvm.toml`).
 * @param baseDir The folder relative paths are resolved against (the file's folder, or the cwd).
 * @returns The configuration.
 * @throws {ConfigFileError} listing every problem in `[modules]`.
 *
 * @example
 * ```ts
 * import { parseNodeConfig } from "./node_config.ts";
 * const cfg = parseNodeConfig({ modules: { hello: { grants: { net: ["example.com:443"] } } } }, undefined, "/srv/blvm");
 * console.log(cfg.modules.modules_dir, cfg.modules.modules.hello.grants.net); // "/srv/blvm/modules" ["example.com:443"]
 * ```
 */
export function parseNodeConfig(data: Record<string, unknown>, file: string | undefined, baseDir: string): NodeConfig {
  const label = file ?? "blvm.toml";
  const issues: ConfigIssue[] = [];
  const section = data.modules ?? {};
  if (!isTable(section)) {
    throw new ConfigFileError(label, [
      { file: label, field: "modules", message: `expected a [modules] table, got ${describeValue(section)}` },
    ]);
  }
  const settings: Record<string, unknown> = {};
  const tables: [string, unknown][] = [];
  for (const [k, v] of Object.entries(section)) {
    if (RESERVED_KEYS.includes(k)) settings[k] = v;
    else tables.push([k, v]);
  }
  const r = sectionSchema.safeParse(settings, { reportInput: true });
  if (!r.success) issues.push(...issuesFromZod(label, r.error, "modules"));
  const restart = r.success
    ? mergeRestart(DEFAULT_RESTART, r.data.restart, label, "modules.restart", issues)
    : undefined;
  let signing: SigningSettings | undefined;
  try {
    signing = parseSigningConfig(data.signing, label);
  } catch (e) {
    if (!(e instanceof ConfigFileError)) throw e;
    issues.push(...e.issues);
  }
  const modules: Record<string, ModuleOverrides> = {};
  for (const [name, value] of tables) {
    const o = checkModuleTable(name, value, label, restart, issues, signing);
    if (o) modules[name] = o;
  }
  let node: BackendConfig | undefined;
  let janitor: JanitorConfig | undefined;
  let journal: JournalConfig | undefined;
  try {
    node = parseBackendConfig(data.node, label, baseDir);
  } catch (e) {
    if (!(e instanceof ConfigFileError)) throw e;
    issues.push(...e.issues);
  }
  try {
    janitor = parseJanitorConfig(data.janitor, label, baseDir);
  } catch (e) {
    if (!(e instanceof ConfigFileError)) throw e;
    issues.push(...e.issues);
  }
  try {
    journal = parseJournalConfig(data.journal, label, baseDir);
  } catch (e) {
    if (!(e instanceof ConfigFileError)) throw e;
    issues.push(...e.issues);
  }
  const secrets = data.secret_keys ?? [];
  if (!Array.isArray(secrets) || secrets.some((k) => typeof k !== "string" || !k)) {
    issues.push({
      file: label,
      field: "secret_keys",
      message: `expected a list of dotted key paths such as "node.rpc_password", got ${describeValue(secrets)}`,
    });
  }
  if (r.success) issues.push(...layoutIssues(label, r.data, node?.data_dir, baseDir));
  if (!r.success || issues.length) throw new ConfigFileError(label, issues);
  const s = r.data;
  return {
    file,
    raw: data,
    node: node!,
    janitor: janitor!,
    journal: journal!,
    signing: signing!,
    secret_keys: secrets as string[],
    modules: {
      ...s,
      modules_dir: resolve(baseDir, s.modules_dir),
      data_dir: resolve(baseDir, s.data_dir),
      runtime_dir: resolve(baseDir, s.runtime_dir),
      restart: restart!,
      modules,
      signing: signing!,
    },
  };
}

/**
 * Load the node configuration. With a path, that file must exist. Without one, `<cwd>/blvm.toml` is
 * used if present; otherwise every setting has its default (`modules_dir` `./modules`, `data_dir`
 * `./data/modules`, `runtime_dir` `./data/run`, resolved against `cwd`). Relative paths in a file are
 * resolved against the file's folder.
 *
 * @param path The configuration file.
 * @param cwd The working directory. Default: `Deno.cwd()`.
 * @param overrides Environment and command-line overrides applied over the file (see `overrides.ts`).
 * @returns The configuration.
 * @throws {ConfigFileError} if the given file is missing, not valid TOML, or its `[modules]` is invalid.
 *
 * @example
 * ```ts
 * import { loadNodeConfig } from "./node_config.ts";
 * const dir = await Deno.makeTempDir();
 * const cfg = await loadNodeConfig(undefined, dir);
 * console.log(cfg.file, cfg.modules.data_dir === `${dir}/data/modules`); // undefined true
 * await Deno.remove(dir);
 * ```
 */
export async function loadNodeConfig(
  path?: string,
  cwd: string = Deno.cwd(),
  overrides: readonly Override[] = [],
): Promise<NodeConfig> {
  const file = resolve(cwd, path ?? "blvm.toml");
  let data: Record<string, unknown>;
  try {
    data = await readTomlFile(file);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    if (path === undefined) return parseNodeConfig(applyOverrides({}, overrides), undefined, resolve(cwd));
    throw new ConfigFileError(file, [{ file, field: "", message: "file not found" }], { cause: e });
  }
  return parseNodeConfig(applyOverrides(data, overrides), file, dirname(file));
}

/**
 * A module's overrides, or the defaults (nothing granted, the global restart policy) if it has no
 * `[modules.<name>]` table.
 *
 * @param cfg The `[modules]` settings.
 * @param name The module name.
 * @returns The overrides.
 *
 * @example
 * ```ts
 * import { moduleOverrides, parseNodeConfig } from "./node_config.ts";
 * const cfg = parseNodeConfig({ modules: { restart: { max_crashes: 9 } } }, undefined, "/srv");
 * console.log(moduleOverrides(cfg.modules, "hello").restart.max_crashes); // 9
 * ```
 */
export function moduleOverrides(cfg: NodeModulesConfig, name: string): ModuleOverrides {
  return Object.hasOwn(cfg.modules, name) ? cfg.modules[name] : defaultOverrides(cfg.restart, cfg.signing);
}
