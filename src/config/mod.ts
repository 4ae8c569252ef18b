/**
 * Node configuration while the host runs: overrides from the environment and the command line,
 * secret redaction, the `[janitor]` section, each module's view of the configuration, and live reload
 * with `ConfigLoaded`.
 *
 * @module
 */
export * from "./janitor_config.ts";
export * from "./journal_config.ts";
export * from "./overrides.ts";
export * from "./redact.ts";
export * from "./module_view.ts";
export * from "./live.ts";
