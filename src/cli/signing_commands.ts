/**
 * `deno task ctl keygen | sign | verify`: module signing from the command line. These commands work on
 * files only, without a running host.
 *
 * ```
 * deno task ctl keygen --out FILE [--force]             new Ed25519 key: PKCS#8 PEM, mode 0600
 * deno task ctl sign DIR --key FILE                     add a signature to DIR/module.sig.json
 * deno task ctl verify DIR [--config blvm.toml] [--key ed25519:HEX ...] [--threshold N]
 * ```
 *
 * Every command takes `--json`. Exit codes: 0 success (verify: verified), 1 failed (verify: not
 * verified), 2 bad usage or an invalid configuration file.
 *
 * @module
 */
import { basename, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigFileError } from "../manager/config_error.ts";
import { loadNodeConfig, moduleOverrides } from "../manager/node_config.ts";
import {
  generateSigningKey,
  normalizePublicKey,
  readPrivateKeyFile,
  shortKey,
  writePrivateKeyFile,
} from "../signing/keys.ts";
import { signModule } from "../signing/sign.ts";
import { inspectModuleSignature, readManifestIdentity, type VerificationReport } from "../signing/verify.ts";
import { SignatureError } from "../signing/errors.ts";
import type { SigningPolicy } from "../signing/policy.ts";
import { toJson } from "./format.ts";

/**
 * The signing commands, which `ctl` hands to {@link runSigningCommand}.
 *
 * @example
 * ```ts
 * import { SIGNING_COMMANDS } from "./signing_commands.ts";
 * console.log(SIGNING_COMMANDS); // ["keygen", "sign", "verify"]
 * ```
 */
export const SIGNING_COMMANDS: readonly string[] = Object.freeze(["keygen", "sign", "verify"]);

/**
 * Usage lines of the signing commands, for `ctl --help`.
 *
 * @example
 * ```ts
 * import { SIGNING_USAGE } from "./signing_commands.ts";
 * console.log(SIGNING_USAGE.split("\n")[0].trim().startsWith("keygen")); // true
 * ```
 */
export const SIGNING_USAGE =
  `  keygen --out FILE [--force]  new Ed25519 signing key (PKCS#8 PEM, mode 0600); prints its public key
  sign DIR --key FILE       sign module folder DIR (adds a signature to DIR/module.sig.json)
  verify DIR                verify DIR against [signing] of --config (default ./blvm.toml), or against
                            --key ed25519:HEX (repeatable) with --threshold N; exit 0 verified, 1 not`;

const VALUE_OPTIONS = new Set(["--config", "--socket", "--out", "--key", "--threshold", "--address", "--fee-rate"]);

/**
 * The signing command named by a `ctl` command line, if it names one: its first positional argument
 * (skipping the values of options such as `--config FILE`).
 *
 * @param args The arguments after `ctl`.
 * @returns `keygen`, `sign` or `verify`, or `undefined` for the host commands.
 *
 * @example
 * ```ts
 * import { signingCommandOf } from "./signing_commands.ts";
 * console.log(signingCommandOf(["--config", "x.toml", "verify", "modules/hello"])); // "verify"
 * console.log(signingCommandOf(["list", "--json"])); // undefined
 * ```
 */
export function signingCommandOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") return SIGNING_COMMANDS.includes(args[i + 1]) ? args[i + 1] : undefined;
    if (a.startsWith("-")) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    return SIGNING_COMMANDS.includes(a) ? a : undefined;
  }
  return undefined;
}

/** Bad usage: exit 2, with the usage text. */
class UsageError extends Error {}
/** The configuration file is invalid: exit 2. */
class BadConfig extends Error {}

const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Run `ctl keygen`, `ctl sign` or `ctl verify`, printing the result (JSON with `--json`).
 *
 * @param args The arguments after `ctl`, the command among them.
 * @returns The exit code: 0 success (verified), 1 failure (not verified), 2 bad usage or configuration.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await runSigningCommand(["verify", "modules/hello", "--json"]));
 * ```
 */
export async function runSigningCommand(args: readonly string[]): Promise<number> {
  let json = args.includes("--json");
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...args],
        allowPositionals: true,
        options: {
          json: { type: "boolean", default: false },
          out: { type: "string" },
          force: { type: "boolean", default: false },
          key: { type: "string", multiple: true },
          config: { type: "string" },
          threshold: { type: "string" },
          help: { type: "boolean", short: "h", default: false },
        },
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const { values: opt, positionals } = parsed;
    json = opt.json;
    if (opt.help) {
      console.log(`Usage: deno task ctl <command> [args] [--json]\n${SIGNING_USAGE}`);
      return EXIT.ok;
    }
    const [command, ...rest] = positionals;
    const only = (allowed: string[]) => {
      for (const o of ["out", "force", "key", "config", "threshold"] as const) {
        const set = o === "force" ? opt.force : opt[o] !== undefined;
        if (set && !allowed.includes(o)) throw new UsageError(`--${o} does not apply to '${command}'`);
      }
    };
    const arity = (n: number) => {
      if (rest.length !== n) throw new UsageError(`'${command}' takes ${n} argument(s), got ${rest.length}`);
    };
    if (command === "keygen") {
      only(["out", "force"]);
      arity(0);
      if (!opt.out) throw new UsageError("'keygen' needs --out FILE");
      return await keygen(opt.out, opt.force, json);
    }
    if (command === "sign") {
      only(["key"]);
      arity(1);
      if (opt.key?.length !== 1) throw new UsageError("'sign' needs exactly one --key FILE (the private key)");
      return await sign(rest[0], opt.key[0], json);
    }
    if (command === "verify") {
      only(["key", "config", "threshold"]);
      arity(1);
      return await verify(rest[0], opt.key ?? [], opt.config, opt.threshold, json);
    }
    throw new UsageError(`unknown signing command '${command}'`);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n\nUsage: deno task ctl <command> [args] [--json]\n${SIGNING_USAGE}`);
      return EXIT.usage;
    }
    const code = e instanceof SignatureError
      ? e.code
      : e instanceof BadConfig
      ? "INVALID_CONFIG"
      : e instanceof ConfigFileError
      ? "INVALID_MANIFEST"
      : e instanceof Deno.errors.NotFound
      ? "NOT_FOUND"
      : e instanceof Deno.errors.AlreadyExists
      ? "ALREADY_EXISTS"
      : "ERROR";
    if (json) console.log(toJson({ error: { code, message: (e as Error).message } }, 2));
    else console.error(`error [${code}]: ${(e as Error).message}`);
    return e instanceof BadConfig ? EXIT.usage : EXIT.failed;
  }
}

/** A TOML key name for the key, from the file name: `keys/alice.pem` → `alice`. */
function keyName(file: string): string {
  const stem = basename(file).split(".")[0].replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^[-_]+/, "").slice(0, 64);
  return stem || "my-key";
}

async function keygen(out: string, force: boolean, json: boolean): Promise<number> {
  const key = await generateSigningKey();
  const file = await writePrivateKeyFile(out, key, { force });
  const toml = `${keyName(file)} = "${key.publicKey}"`;
  if (json) {
    console.log(toJson({ public_key: key.publicKey, private_key_file: file, toml }, 2));
    return EXIT.ok;
  }
  console.log(`public key:  ${key.publicKey}
private key: ${file} (PKCS#8 PEM, mode 0600: keep it secret, never inside a module folder)
To trust this key, add it to the operator's blvm.toml:
[signing.keys]
${toml}`);
  return EXIT.ok;
}

async function sign(dir: string, keyFile: string, json: boolean): Promise<number> {
  const { key, looseMode } = await readPrivateKeyFile(keyFile);
  const warnings = looseMode ? [`${resolve(keyFile)} can be read by group or others; run: chmod 600 ${keyFile}`] : [];
  const r = await signModule(dir, key);
  if (r.dropped.length) {
    warnings.push(
      `the content changed since the last signing: dropped ${r.dropped.length} earlier signature(s) by ${
        r.dropped.map(shortKey).join(", ")
      }; they must sign again`,
    );
  }
  if (json) {
    console.log(toJson({ ...r, warnings }, 2));
    return EXIT.ok;
  }
  for (const w of warnings) console.error(`warning: ${w}`);
  console.log(`Signed ${r.name} ${r.version} (${r.files} files)
  content hash: ${r.content_hash}
  signer:       ${r.key}${r.action === "replaced" ? " (replaced its earlier signature)" : ""}
  signatures:   ${r.signers.length} in ${r.file}`);
  return EXIT.ok;
}

async function verify(
  dir: string,
  keys: string[],
  config: string | undefined,
  threshold: string | undefined,
  json: boolean,
): Promise<number> {
  if (threshold !== undefined && !/^[1-9]\d{0,5}$/.test(threshold)) {
    throw new UsageError(`--threshold must be a whole number of at least 1, got '${threshold}'`);
  }
  let trusted: Record<string, string> = {};
  let need = threshold === undefined ? undefined : Number(threshold);
  let policy: SigningPolicy | null = null;
  let source: string;
  if (keys.length) {
    if (config !== undefined) throw new UsageError("give either --key or --config, not both");
    for (const k of keys) {
      try {
        const key = normalizePublicKey(k);
        trusted[key] = key;
      } catch (e) {
        throw new UsageError(`--key: ${(e as Error).message}`);
      }
    }
    need ??= 1;
    source = "--key";
    const distinct = Object.keys(trusted).length;
    if (need > distinct) throw new UsageError(`--threshold ${need} is more than the ${distinct} distinct keys given`);
  } else {
    const cfg = await loadNodeConfig(config).catch((e) => {
      throw e instanceof ConfigFileError ? new BadConfig(e.message, { cause: e }) : e;
    });
    const { name } = await readManifestIdentity(await Deno.realPath(dir));
    const settings = moduleOverrides(cfg.modules, name).signing;
    trusted = settings.keys;
    need ??= settings.threshold;
    policy = settings.policy;
    source = cfg.file ?? "defaults (no blvm.toml)";
  }
  const report = await inspectModuleSignature(dir, { keys: trusted, threshold: need });
  if (json) console.log(toJson({ ...report, policy, trusted_keys: trusted, keys_from: source }, 2));
  else console.log(verifyText(report, source, Object.keys(trusted).length));
  return report.verified ? EXIT.ok : EXIT.failed;
}

function verifyText(r: VerificationReport, source: string, trusted: number): string {
  const lines = [
    `${r.name} ${r.version} in ${r.dir}: ${r.verified ? "VERIFIED" : `NOT VERIFIED (${r.code})`}`,
    `  content hash: ${r.content_hash ?? "-"}`,
    `  trusted keys: ${trusted} from ${source}; ${r.threshold} must sign`,
    `  signed by:    ${r.signers.map(shortKey).join(", ") || "-"}`,
  ];
  r.signatures.forEach((s, i) => {
    const who = s.name && s.name !== s.key ? `${s.name} (${shortKey(s.key)})` : shortKey(s.key);
    lines.push(`  signature ${i + 1}:  ${s.status.padEnd(9)} ${who}, signed at ${s.signed_at}`);
  });
  for (const p of r.problems) lines.push(`  problem:      ${p}`);
  return lines.join("\n");
}
