/**
 * Module lifecycle events, published by the module manager. All are node-owned and lossless;
 * `ModuleLoaded` is sticky: a late subscriber gets one per loaded module.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const base = { category: "modules", owner: "node", delivery: "lossless" } as const;

/**
 * The module lifecycle category.
 *
 * @example
 * ```ts
 * import { MODULE_EVENTS } from "@blvm/node/protocol";
 * console.log(MODULE_EVENTS.ModuleLoaded.sticky); // true
 * ```
 */
export const MODULE_EVENTS = {
  ModuleDiscovered: {
    ...base,
    doc: "A module folder with a valid manifest was found.",
    fields: { name: "string", version: "string", path: "string" },
  },
  ModuleLoaded: {
    ...base,
    sticky: true,
    doc: "A module was accepted (dependencies resolved, config built). " +
      "Replayed to late subscribers, one per loaded module.",
    fields: { name: "string", version: "string", lazy: "bool" },
  },
  ModuleStarted: {
    ...base,
    doc: "A module process completed its handshake. `restarts` counts automatic restarts so far.",
    fields: { name: "string", version: "string", pid: "uint", restarts: "uint" },
  },
  ModuleStopped: {
    ...base,
    doc: "A module process ended because it was asked to, or exited cleanly by itself.",
    fields: { name: "string", reason: "string", code: "int?", signal: "string?" },
  },
  ModuleUnloaded: {
    ...base,
    doc: "A module was removed from the host (unload, or the first half of a reload).",
    fields: { name: "string", version: "string", reason: "string" },
  },
  ModuleCrashed: {
    ...base,
    doc: "A module process ended unexpectedly, or failed to start. `action` says what happens next.",
    fields: {
      name: "string",
      reason: "string",
      code: "int?",
      signal: "string?",
      uptime_ms: "uint",
      action: ["restart", "quarantine"],
      restart_in_ms: "uint?",
    },
  },
  ModuleReloaded: {
    ...base,
    doc: "A reload finished; `success` is false if the new version did not start.",
    fields: { name: "string", old_version: "string", new_version: "string", success: "bool", error: "string?" },
  },
  ModuleStateChanged: {
    ...base,
    doc: "A module moved between lifecycle states.",
    fields: { name: "string", old_state: "string", new_state: "string", reason: "string" },
  },
  ModuleHealthChanged: {
    ...base,
    doc: "A module's health changed: `healthy`, `degraded`, `unhealthy` or `unknown`.",
    fields: { name: "string", old_health: "string", new_health: "string", reason: "string" },
  },
  ModuleApiRegistered: {
    ...base,
    doc: "A module registered (or replaced) the API other modules can call through `call_module`.",
    fields: { name: "string", version: "string", methods: "string[]" },
  },
} as const satisfies Record<string, EventSpec>;
