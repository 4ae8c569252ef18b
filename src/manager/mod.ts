/**
 * The module manager: discovery, manifests, dependency order, supervision with restart back-off and
 * quarantine, lazy activation, hot reload, and the operator's load, unload and reload.
 *
 * @example
 * ```ts ignore
 * import { loadNodeConfig, DevNode, ModuleManager } from "@blvm/node";
 * const manager = await ModuleManager.create({ config: await loadNodeConfig(), backend: DevNode.open() });
 * await manager.start();
 * ```
 *
 * @module
 */
export * from "./activation.ts";
export * from "./backend_config.ts";
export * from "./config_error.ts";
export * from "./discovery.ts";
export * from "./errors.ts";
export * from "./folder.ts";
export * from "./grants.ts";
export * from "./limit_restart.ts";
export * from "./managed.ts";
export * from "./manager.ts";
export * from "./manifest.ts";
export * from "./missing.ts";
export * from "./module_config.ts";
export * from "./node_config.ts";
export * from "./prepare.ts";
export * from "./reconfigure.ts";
export * from "./resolve.ts";
export * from "./restart.ts";
export * from "./rules.ts";
export * from "./state.ts";
export * from "./supervisor.ts";
export * from "./watcher.ts";
