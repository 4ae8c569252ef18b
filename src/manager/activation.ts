/**
 * Lazy activation: a module whose manifest declares `[activation]` is started by its first trigger
 * event or call, and gets the trigger events once it subscribes.
 *
 * @module
 */
import type { Subscriber } from "../host/events.ts";
import type { Host } from "../host/host.ts";
import { ManagerError } from "./errors.ts";
import { type ManagedModule, MAX_PENDING_EVENTS } from "./managed.ts";
import { serial, spawn, type SupervisorContext } from "./supervisor.ts";

/**
 * Start a lazily loaded module now (its trigger fired). Does nothing if it already runs.
 *
 * @param ctx The manager context.
 * @param m The module.
 * @param why The trigger, for the log.
 * @throws {ManagerError} `UNAVAILABLE` if it could not be started.
 *
 * @example
 * ```ts ignore
 * await activate(ctx, m, "first call of 'status'");
 * ```
 */
export async function activate(ctx: SupervisorContext, m: ManagedModule, why: string): Promise<void> {
  if (ctx.closing) throw new ManagerError("UNAVAILABLE", m.name, "The host is shutting down");
  await serial(m, async () => {
    if (m.handle || !(m.state === "discovered" || m.state === "stopped")) return;
    ctx.log.info("Activating {module}: {why}", { module: m.name, why });
    await spawn(ctx, m, false);
  });
  if (!m.handle) {
    throw new ManagerError("UNAVAILABLE", m.name, `Module '${m.name}' is ${m.state}${m.reason ? `: ${m.reason}` : ""}`);
  }
}

/**
 * Watch a lazy module's trigger events: the first one starts it, and every trigger event published
 * before it has subscribed is kept (up to {@link MAX_PENDING_EVENTS}) and delivered once it does.
 *
 * @param ctx The manager context.
 * @param m The module; its manifest has `[activation]`.
 *
 * @example
 * ```ts ignore
 * armActivation(ctx, m);
 * ```
 */
export function armActivation(ctx: SupervisorContext, m: ManagedModule): void {
  m.unwatch?.();
  const bus = ctx.host.bus;
  const offs = (m.loaded?.manifest.activation?.events ?? []).map((type) =>
    bus.watch(type, (payload) => {
      if (m.handle && bus.isSubscribed(m.handle.session.connection, type)) return;
      if (m.pending.push({ type, payload }) > MAX_PENDING_EVENTS) m.pending.shift();
      if (!m.handle && (m.state === "discovered" || m.state === "stopped")) {
        activate(ctx, m, `event ${type}`).catch((e) =>
          ctx.log.warn("Activation of {module} failed: {error}", { module: m.name, error: (e as Error).message })
        );
      }
    })
  );
  m.unwatch = () => offs.forEach((off) => off());
}

/**
 * Deliver the trigger events that waited for a lazily started module to subscribe.
 *
 * @param host The host (its bus sends to the one subscriber).
 * @param modules Every module record.
 * @param sub The subscriber that gained types.
 * @param added The types it did not have before.
 *
 * @example
 * ```ts ignore
 * host.bus.onSubscribe((sub, added) => deliverPending(host, modules.values(), sub, added));
 * ```
 */
export function deliverPending(
  host: Host,
  modules: Iterable<ManagedModule>,
  sub: Subscriber,
  added: string[],
): void {
  let owner: ManagedModule | undefined;
  for (const m of modules) if (m.handle?.session.connection === sub) owner = m;
  if (!owner?.pending.length) return;
  const now = owner.pending.filter((e) => added.includes(e.type));
  owner.pending = owner.pending.filter((e) => !added.includes(e.type));
  for (const e of now) host.bus.sendTo(sub, e.type, e.payload);
}
