/**
 * The admin socket: the running host's control channel for `deno task ctl`.
 *
 * @example
 * ```ts ignore
 * import { connectAdmin } from "@blvm/node";
 * const admin = await connectAdmin("./data/run/admin.sock");
 * console.log(await admin.call("list"));
 * await admin.close();
 * ```
 *
 * @module
 */
export * from "./client.ts";
export * from "./server.ts";
export * from "./node_commands.ts";
export * from "./janitor_commands.ts";
