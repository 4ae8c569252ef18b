/**
 * The admin socket's janitorial and configuration methods.
 *
 * | method | params | result |
 * | --- | --- | --- |
 * | `janitor.status` | | schedules, recent runs, acknowledgements, disks, resources, last health |
 * | `janitor.flush` | | the flush report |
 * | `janitor.health` | `last?` | a new health check (or the last one with `last: true`) |
 * | `janitor.cleanup` | `target_age_days?` | the modules' answers to `DataCleanup` |
 * | `janitor.maintenance` | `type`: backup, cleanup or prune | the maintenance report |
 * | `config.show` | | the configuration in force, secrets redacted |
 * | `config.reload` | | what a reload of the file did |
 *
 * @module
 */
import type { LiveConfig } from "../config/live.ts";
import type { Janitor } from "../janitor/janitor.ts";
import type { MaintenanceType } from "../janitor/maintenance.ts";
import { ErrorCode, RemoteError } from "../protocol/errors.ts";
import { shown } from "./params.ts";

/** Every janitorial and configuration admin method. */
export const JANITOR_METHODS = [
  "janitor.status",
  "janitor.flush",
  "janitor.health",
  "janitor.cleanup",
  "janitor.maintenance",
  "config.show",
  "config.reload",
] as const;

const MAINTENANCE: readonly MaintenanceType[] = ["backup", "cleanup", "prune"];

/**
 * Run one janitorial or configuration method.
 *
 * @param janitor The janitor, or `undefined` if the host runs without one.
 * @param live The live configuration, or `undefined`.
 * @param method The method.
 * @param p Its params.
 * @returns The result.
 * @throws {RemoteError} `UNAVAILABLE` without a janitor, `INVALID_PARAMS`, `METHOD_NOT_FOUND`.
 *
 * @example
 * ```ts ignore
 * const report = await dispatchJanitor(janitor, live, "janitor.flush", {});
 * ```
 */
export async function dispatchJanitor(
  janitor: Janitor | undefined,
  live: LiveConfig | undefined,
  method: string,
  p: Record<string, unknown>,
): Promise<unknown> {
  if (method.startsWith("config.")) {
    if (!live) throw new RemoteError(ErrorCode.Unavailable, "This host does not follow a configuration file");
    if (method === "config.reload") return await live.reload();
    if (method === "config.show") {
      return { file: live.current.file ?? null, config: live.redacted() };
    }
  }
  if (!janitor) throw new RemoteError(ErrorCode.Unavailable, "This host runs without a janitor");
  switch (method) {
    case "janitor.status":
      return janitor.status();
    case "janitor.flush":
      return await janitor.flush("manual");
    case "janitor.health":
      return p.last === true ? janitor.status().health : await janitor.healthCheck("manual");
    case "janitor.cleanup": {
      const age = p.target_age_days;
      if (age !== undefined && (!Number.isSafeInteger(age) || (age as number) < 0)) {
        throw new RemoteError(
          ErrorCode.InvalidParams,
          `'target_age_days' must be a whole number of days >= 0, got ${shown(age)}`,
        );
      }
      return await janitor.cleanup("manual", age as number | undefined);
    }
    case "janitor.maintenance": {
      const type = p.type as MaintenanceType;
      if (!MAINTENANCE.includes(type)) {
        throw new RemoteError(
          ErrorCode.InvalidParams,
          `'type' must be one of ${MAINTENANCE.join(", ")}, got ${shown(p.type, "undefined")}`,
        );
      }
      return await janitor.maintenance(type, "manual");
    }
  }
  throw new RemoteError(
    ErrorCode.MethodNotFound,
    `Unknown admin method '${method}'; one of ${JANITOR_METHODS.join(", ")}`,
  );
}
