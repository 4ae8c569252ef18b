/**
 * Configuration events. `ConfigLoaded` is node-owned, lossless and sticky: a module that subscribes
 * late still gets its view of the configuration the node is running with. Each module gets only its
 * own view (its `[modules.<name>]` settings, `[node]`, `[janitor]` and its `config_sections`).
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

/**
 * The config category.
 *
 * @example
 * ```ts
 * import { CONFIG_EVENTS } from "@blvm/node/protocol";
 * console.log(CONFIG_EVENTS.ConfigLoaded.sticky); // true
 * ```
 */
export const CONFIG_EVENTS = {
  ConfigLoaded: {
    category: "config",
    owner: "node",
    delivery: "lossless",
    sticky: true,
    perModule: true,
    doc: "The node loaded its configuration. `config_json` is this module's own view of the configuration in force " +
      "as JSON: `modules.<name>` (its own settings), `node`, `janitor`, and the top-level sections the operator lists " +
      'in its `config_sections`; never other modules\' settings or `secret_keys`. Secrets are replaced by "[redacted]", ' +
      "also inside values (URL passwords, tokens, private keys). Sent at startup and to late subscribers as a replay " +
      "(`changed_sections` lists every section of the view), and after a valid edit of the file only to modules whose " +
      "view changed (`changed_sections`: the sections of it that changed). A module not told about an edit skips its " +
      "`seq`: a jump is not a lost event.",
    fields: { changed_sections: "string[]", config_json: "string" },
  },
} as const satisfies Record<string, EventSpec>;
