/**
 * Turning a manifest into what a module runs with: its typed config, its effective permissions, and
 * the outcome of its signature check under the operator's signing policy.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type Effective, effectivePermissions } from "./grants.ts";
import type { ManagedModule } from "./managed.ts";
import type { LoadedManifest } from "./manifest.ts";
import { buildModuleConfig } from "./module_config.ts";
import { ManagerError } from "./errors.ts";
import { checkModuleSignature, type SignatureOutcome } from "../signing/policy.ts";
import { contentHash, hashModuleFolder } from "../signing/content.ts";

/** A manifest with the config and permissions it resolves to, not yet applied. */
export interface Prepared {
  /** The manifest. */
  loaded: LoadedManifest;
  /** The merged, typed config. */
  config: Record<string, unknown>;
  /** Requested ∩ granted permissions. */
  effective: Effective;
  /** The signature check under the module's signing policy. */
  signature: SignatureOutcome;
}

/**
 * Verify a module's signature under its signing policy, then build its config and effective permissions
 * from a manifest and the operator's settings, logging every requested permission the operator has not
 * granted. A module that is not verified is refused under policy `require` and logged as a warning
 * under `warn`; `allow` does not check.
 *
 * @param m The module record (for its operator settings).
 * @param loaded The manifest.
 * @param log Where ungranted requests and signature warnings are reported.
 * @returns The prepared values.
 * @throws {ConfigFileError} if the config is invalid.
 * @throws {ManagerError} `SIGNATURE_INVALID` if the policy is `require` and the module is not verified.
 *
 * @example
 * ```ts ignore
 * applyPrepared(m, await prepareModule(m, await readManifest(m.dir), log));
 * ```
 */
export async function prepareModule(m: ManagedModule, loaded: LoadedManifest, log: Logger): Promise<Prepared> {
  const signature = await checkSignature(m, loaded, log);
  const config = await buildModuleConfig(loaded, m.overrides.config);
  const { permissions, capabilities } = loaded.manifest;
  const effective = effectivePermissions({ ...permissions, capabilities }, m.overrides.grants);
  for (const u of effective.ungranted) {
    log.warn("Module {module} asks for {permission}, which is not granted in [modules.{module}.grants]", {
      module: m.name,
      permission: u,
    });
  }
  for (const name of Object.keys(m.overrides.env)) {
    if (!effective.grants.env.includes(name)) {
      log.warn(
        "[modules.{module}.env] sets {name}, but the manifest does not request it in [permissions].env; not passed",
        {
          module: m.name,
          name,
        },
      );
    }
  }
  if (m.overrides.lazy === true && !loaded.manifest.activation) {
    log.warn("[modules.{module}].lazy = true has no effect: its manifest declares no [activation] triggers", {
      module: m.name,
    });
  }
  return { loaded, config, effective, signature };
}

/** The signature check of `prepareModule`: refuse under `require`, warn under `warn`. */
async function checkSignature(m: ManagedModule, loaded: LoadedManifest, log: Logger): Promise<SignatureOutcome> {
  const { name, version } = loaded.manifest;
  const policy = m.overrides.signing.policy;
  const outcome = await checkModuleSignature(loaded.dir, m.overrides.signing, { name, version, hash: loaded.hash });
  if (outcome.status === "verified") {
    log.info("Module {module} {version}: signature verified ({keys})", {
      module: name,
      version,
      keys: outcome.keys.join(", "),
    });
  }
  if (outcome.status === "verified" || outcome.status === "unchecked") return outcome;
  if (policy === "require") {
    throw new ManagerError(
      "SIGNATURE_INVALID",
      m.name,
      `Module '${m.name}' ${version} refused: its signing policy is "require" and it is ${outcome.status}: ${outcome.detail}`,
    );
  }
  log.warn(
    "SIGNATURE NOT VERIFIED: module {module} {version} is {status}: {detail}. It runs anyway because its signing " +
      'policy is "warn" (docs/SIGNING.md)',
    { module: name, version, status: outcome.status, detail: outcome.detail },
  );
  return outcome;
}

/**
 * Make prepared values the module's own: manifest, config, permissions and laziness.
 *
 * @param m The module record.
 * @param p The prepared values.
 *
 * @example
 * ```ts ignore
 * applyPrepared(m, prepared);
 * ```
 */
export function applyPrepared(m: ManagedModule, p: Prepared): void {
  m.loaded = p.loaded;
  m.config = p.config;
  m.effective = p.effective;
  m.signature = p.signature;
  m.lazy = p.loaded.manifest.activation !== undefined && m.overrides.lazy !== false;
  m.pendingApproval = undefined;
}

/**
 * Whether a module verified at its last load has different files now.
 *
 * @param m The module record.
 * @returns Why it must not start, or `undefined` when it was not verified or nothing changed.
 *
 * @example
 * ```ts ignore
 * const why = await changedSinceVerified(m);
 * if (why) setState(ctx, m, "failed", why);
 * ```
 */
export async function changedSinceVerified(m: ManagedModule): Promise<string | undefined> {
  const hash = m.signature?.status === "verified" ? m.signature.content_hash : undefined;
  if (!hash || !m.loaded) return undefined;
  const { name, version } = m.loaded.manifest;
  const now = await hashModuleFolder(m.loaded.dir).then((files) => contentHash(name, version, files), (e) => String(e));
  if (now === hash) return undefined;
  return `its files changed after their signature was verified (${hash.slice(0, 19)}…, now ${
    now.slice(0, 19)
  }…); not started. Check them again with: deno task ctl reload ${m.name}`;
}
