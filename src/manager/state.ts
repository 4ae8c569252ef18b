/**
 * The lifecycle state machine of one managed module, and the health each state implies.
 *
 * ```
 * discovered ─▶ starting ─▶ running ─▶ stopping ─▶ stopped ─▶ starting …
 *      │            │          │ │                    ▲
 *      ▼            ▼          │ └── clean exit ──────┘
 *    failed      crashed ◀─────┘
 *                   │
 *                   ├─▶ starting (restart after back-off)
 *                   ├─▶ quarantined (crash loop; until the operator reloads it)
 *                   └─▶ stopped (the operator stopped it during the back-off)
 *
 * any state but starting and stopping ─▶ missing (its folder was deleted)
 * ```
 *
 * `failed` is a module that cannot be started at all: a broken manifest, a missing or failed
 * dependency, a version pin it does not meet, or a required module whose first start failed.
 *
 * `missing` is a module whose folder is gone: it has no process, is never restarted or started by a
 * trigger, and leaves the state only as a new record, when its folder is loaded again.
 *
 * @module
 */

/** Every lifecycle state. */
export const MODULE_STATES = [
  "discovered",
  "starting",
  "running",
  "stopping",
  "stopped",
  "crashed",
  "quarantined",
  "failed",
  "missing",
] as const;

/** One lifecycle state. */
export type ModuleState = typeof MODULE_STATES[number];

/** Health as seen by the operator and other modules. */
export type ModuleHealth = "healthy" | "degraded" | "unhealthy" | "unknown";

const NEXT: Record<ModuleState, readonly ModuleState[]> = {
  discovered: ["starting", "failed", "missing"],
  starting: ["running", "crashed", "failed", "stopping", "stopped"],
  running: ["stopping", "crashed", "stopped", "missing"],
  stopping: ["stopped", "crashed"],
  stopped: ["starting", "failed", "missing"],
  crashed: ["starting", "quarantined", "stopped", "failed", "stopping", "missing"],
  quarantined: ["starting", "stopped", "failed", "missing"],
  failed: ["starting", "stopped", "failed", "missing"],
  missing: [],
};

/**
 * Whether the state machine allows moving from `from` to `to`.
 *
 * @param from Current state.
 * @param to Wanted state.
 * @returns `true` if allowed.
 *
 * @example
 * ```ts
 * import { canTransition } from "@blvm/node";
 * console.log(canTransition("running", "stopping")); // true
 * console.log(canTransition("stopped", "running")); // false: it must start first
 * ```
 */
export function canTransition(from: ModuleState, to: ModuleState): boolean {
  return NEXT[from].includes(to);
}

/**
 * The health a state implies: running is healthy; crashed, quarantined, failed and missing are
 * unhealthy; everything else is unknown.
 *
 * @param state A lifecycle state.
 * @returns Its health.
 *
 * @example
 * ```ts
 * import { healthOf } from "@blvm/node";
 * console.log(healthOf("quarantined")); // "unhealthy"
 * ```
 */
export function healthOf(state: ModuleState): ModuleHealth {
  if (state === "running") return "healthy";
  if (state === "crashed" || state === "quarantined" || state === "failed" || state === "missing") return "unhealthy";
  return "unknown";
}
