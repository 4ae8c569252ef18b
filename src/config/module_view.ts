/**
 * What one module is shown of the node configuration in `ConfigLoaded`: its own `[modules.<name>]`
 * settings, `[node]` and `[janitor]`, and the other top-level sections the operator lists for it in
 * `[modules.<name>] config_sections`. Never the host-level keys of `[modules]` (folders, timeouts),
 * never another module's settings, never `secret_keys`; secrets redacted as everywhere else.
 *
 * ```json
 * {
 *   "modules": { "<name>": { "config": {}, "grants": {}, "env": { "KEY": "[redacted]" }, "limits": {}, "restart": {} } },
 *   "node": { "backend": "dev" },
 *   "janitor": { "flush": { "interval_seconds": 300 } },
 *   "custom": {}
 * }
 * ```
 *
 * @module
 */
import { moduleOverrides, type NodeConfig } from "../manager/node_config.ts";
import { changedSections, redactConfig } from "./redact.ts";

/**
 * The top-level sections every module is shown.
 *
 * @example
 * ```ts
 * import { ALWAYS_SHOWN } from "./module_view.ts";
 * console.log(ALWAYS_SHOWN); // ["node", "janitor"]
 * ```
 */
export const ALWAYS_SHOWN: readonly string[] = Object.freeze(["node", "janitor"]);

/** What `ConfigLoaded` carries. */
export interface ConfigLoadedPayload {
  /** The sections of the module's view that changed (all of them at start-up and on replay), sorted. */
  changed_sections: string[];
  /** The module's view as JSON, secrets redacted. */
  config_json: string;
}

/**
 * One module's view of a configuration, not redacted: `modules.<name>` (its effective settings,
 * defaults filled in if it has no table), `node`, `janitor`, and its `config_sections` present in the file.
 *
 * @param c The configuration.
 * @param name The module name.
 * @returns The view, sharing values with `c` (do not modify it).
 *
 * @example
 * ```ts
 * import { moduleView } from "./module_view.ts";
 * import { parseNodeConfig } from "../manager/node_config.ts";
 * const c = parseNodeConfig({ custom: { a: 1 }, other: {}, modules: { a: { config_sections: ["custom"] }, b: {} } }, undefined, "/srv");
 * console.log(Object.keys(moduleView(c, "a")), Object.keys(moduleView(c, "b"))); // ["modules", "node", "janitor", "custom"] ["modules", "node", "janitor"]
 * ```
 */
export function moduleView(c: NodeConfig, name: string): Record<string, unknown> {
  const own = moduleOverrides(c.modules, name);
  const entries: [string, unknown][] = [["modules", { [name]: own }], ["node", c.node], ["janitor", c.janitor]];
  for (const section of own.config_sections ?? []) {
    const shown = section === "modules" || section === "secret_keys" || entries.some(([k]) => k === section);
    if (!shown && Object.hasOwn(c.raw, section)) entries.push([section, c.raw[section]]);
  }
  // fromEntries makes own properties even of odd names such as `__proto__`.
  return Object.fromEntries(entries);
}

/**
 * The secret paths of the whole configuration, as they read in a module's view: a path under the
 * effective `modules.modules.<name>` also as `modules.<name>`.
 *
 * @param marked Dotted paths marked secret (`secret_keys` and secret module config keys).
 * @returns The paths, both spellings.
 *
 * @example
 * ```ts
 * import { viewSecretPaths } from "./module_view.ts";
 * console.log(viewSecretPaths(["custom.url", "modules.modules.a.config.k"])); // ["custom.url", "modules.modules.a.config.k", "modules.a.config.k"]
 * ```
 */
export function viewSecretPaths(marked: Iterable<string>): string[] {
  const out: string[] = [];
  for (const p of marked) {
    out.push(p);
    if (p.startsWith("modules.modules.")) out.push(p.slice("modules.".length));
  }
  return out;
}

/**
 * One module's view, redacted ({@link redactConfig}).
 *
 * @param c The configuration.
 * @param name The module name.
 * @param marked Dotted paths marked secret in the whole configuration (see `secretPaths`).
 * @returns The view, a JSON-safe copy.
 *
 * @example
 * ```ts
 * import { redactedModuleView } from "./module_view.ts";
 * import { parseNodeConfig } from "../manager/node_config.ts";
 * const c = parseNodeConfig({ modules: { a: { config: { url: "http://u:pw@h/" } } } }, undefined, "/srv");
 * const view = redactedModuleView(c, "a") as { modules: { a: { config: unknown } } };
 * console.log(view.modules.a.config); // { url: "http://u:[redacted]@h/" }
 * ```
 */
export function redactedModuleView(
  c: NodeConfig,
  name: string,
  marked: Iterable<string> = [],
): Record<string, unknown> {
  return redactConfig(moduleView(c, name), viewSecretPaths(marked)) as Record<string, unknown>;
}

/**
 * The `ConfigLoaded` payload for one module. Without `before` (start-up, or a module subscribing late)
 * every section of its view is listed as changed. With it, only the sections whose values or whose
 * redacted form changed; `undefined` if none did, and the module is sent nothing.
 *
 * @param after The configuration in force.
 * @param name The module name.
 * @param marked Secret paths of `after`.
 * @param before The previous configuration and its secret paths.
 * @returns The payload, or `undefined`.
 *
 * @example
 * ```ts
 * import { configLoadedFor } from "./module_view.ts";
 * import { parseNodeConfig } from "../manager/node_config.ts";
 * const v1 = parseNodeConfig({ modules: { a: {} }, janitor: {} }, undefined, "/srv");
 * const v2 = parseNodeConfig({ modules: { a: {} }, janitor: { flush: { interval_seconds: 9 } } }, undefined, "/srv");
 * console.log(configLoadedFor(v2, "a", [])!.changed_sections); // ["janitor", "modules", "node"]
 * console.log(configLoadedFor(v2, "a", [], { config: v1, marked: [] })!.changed_sections); // ["janitor"]
 * console.log(configLoadedFor(v2, "a", [], { config: v2, marked: [] })); // undefined
 * ```
 */
export function configLoadedFor(
  after: NodeConfig,
  name: string,
  marked: readonly string[],
  before?: { config: NodeConfig; marked: readonly string[] },
): ConfigLoadedPayload | undefined {
  const shown = redactedModuleView(after, name, marked);
  let changed = Object.keys(shown).sort();
  if (before) {
    // A new value behind "[redacted]" is a change; so is a value newly marked secret.
    const raw = changedSections(moduleView(before.config, name), moduleView(after, name));
    const redacted = changedSections(redactedModuleView(before.config, name, before.marked), shown);
    changed = [...new Set([...raw, ...redacted])].sort();
    if (!changed.length) return undefined;
  }
  return { changed_sections: changed, config_json: JSON.stringify(shown) };
}
