/**
 * Configuration events. `ConfigLoaded` is node-owned, lossless and sticky: a module that subscribes
 * late still gets the configuration the node is running with.
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
    doc: "The node loaded its configuration: at startup (`changed_sections` lists every section present) and " +
      "after each valid edit of its file (only the top-level sections that changed). `config_json` is the whole " +
      'configuration in force as JSON, with secrets replaced by "[redacted]". Replayed to late subscribers.',
    fields: { changed_sections: "string[]", config_json: "string" },
  },
} as const satisfies Record<string, EventSpec>;
