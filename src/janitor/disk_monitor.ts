/**
 * The free-space monitor. It reads free space (`node:fs` statfs) of every filesystem holding one of the
 * node's data paths, and publishes `DiskSpaceLow` when the free share falls below the threshold. It
 * neither floods nor stays silent: it fires when a disk goes low, repeats at most every
 * `repeat_seconds` while it stays low, and counts it recovered only above threshold + hysteresis. Each
 * `DiskSpaceLow` is followed by a `DataCleanup` of type `low_disk`.
 *
 * @module
 */
import type { JanitorContext } from "./context.ts";
import { type DiskSpace, diskSpace } from "./proc.ts";

/** One watched filesystem, for `ctl janitor`. */
export interface DiskStatus extends Omit<DiskSpace, "device"> {
  /** Below the threshold (and not yet recovered past the hysteresis). */
  low: boolean;
  /** ISO time of the last `DiskSpaceLow` for it. */
  last_warning: string | null;
  /** `DiskSpaceLow` events published for it. */
  warnings: number;
}

interface DiskState {
  low: boolean;
  lastAt: number;
  warnings: number;
  reading?: DiskSpace;
}

/**
 * Watches free space. Call {@link DiskMonitor.check} on a timer.
 *
 * @example
 * ```ts ignore
 * const disk = new DiskMonitor(ctx, (type) => dataCleanup(ctx, type));
 * await disk.check();
 * console.log(disk.status());
 * ```
 */
export class DiskMonitor {
  readonly #ctx: JanitorContext;
  readonly #onLow: () => void;
  readonly #state = new Map<number, DiskState>();

  /**
   * Create the monitor; it reads nothing until {@link DiskMonitor.check}.
   *
   * @param ctx The janitor context.
   * @param onLow Called after each `DiskSpaceLow` (starts the `low_disk` cleanup).
   */
  constructor(ctx: JanitorContext, onLow: () => void) {
    this.#ctx = ctx;
    this.#onLow = onLow;
  }

  /** The paths watched: the node's and the modules' data folders, the backup folder, and `[janitor.disk] paths`. */
  paths(): string[] {
    const cfg = this.#ctx.config();
    const dirs = [this.#ctx.nodeDataDir, this.#ctx.manager.config.modules.data_dir, cfg.maintenance.backup_dir];
    return [...new Set([...dirs.filter((d): d is string => !!d), ...cfg.disk.paths])];
  }

  /**
   * Read every watched filesystem once and publish what is due.
   *
   * @param now `Date.now()`.
   * @returns The readings, one per filesystem.
   */
  check(now: number = Date.now()): DiskSpace[] {
    const cfg = this.#ctx.config().disk;
    const seen = new Map<number, DiskSpace>();
    for (const p of this.paths()) {
      try {
        const r = diskSpace(p);
        if (!seen.has(r.device)) seen.set(r.device, r);
      } catch (e) {
        this.#ctx.log.warn("Cannot read free space of {path}: {error}", { path: p, error: (e as Error).message });
      }
    }
    for (const [device, r] of seen) {
      let st = this.#state.get(device);
      if (!st) this.#state.set(device, st = { low: false, lastAt: -Infinity, warnings: 0 });
      st.reading = r;
      if (r.percent_free < cfg.threshold_percent) {
        if (!st.low || now - st.lastAt >= cfg.repeat_seconds * 1000) this.#warn(st, r, now);
      } else if (st.low && r.percent_free >= cfg.threshold_percent + cfg.hysteresis_percent) {
        st.low = false;
        this.#ctx.log.info("Free space on {path} recovered: {percent}% free", {
          path: r.path,
          percent: r.percent_free,
        });
      }
    }
    return [...seen.values()];
  }

  /** Paths of the filesystems that are low now. */
  low(): string[] {
    return [...this.#state.values()].filter((s) => s.low && s.reading).map((s) => s.reading!.path);
  }

  /** Every watched filesystem's last reading and state. */
  status(): DiskStatus[] {
    return [...this.#state.values()].filter((s) => s.reading).map((s) => {
      const { device: _, ...r } = s.reading!;
      return {
        ...r,
        low: s.low,
        warnings: s.warnings,
        last_warning: s.warnings ? new Date(s.lastAt).toISOString() : null,
      };
    });
  }

  #warn(st: DiskState, r: DiskSpace, now: number): void {
    st.low = true;
    st.lastAt = now;
    st.warnings++;
    const threshold = this.#ctx.config().disk.threshold_percent;
    this.#ctx.log.warn("Disk space low on {path}: {available} bytes free ({percent}%, threshold {threshold}%)", {
      path: r.path,
      available: r.available_bytes,
      percent: r.percent_free,
      threshold,
    });
    this.#ctx.manager.host.publish("DiskSpaceLow", {
      available_bytes: r.available_bytes,
      total_bytes: r.total_bytes,
      percent_free: r.percent_free,
      disk_path: r.path,
    });
    this.#onLow();
  }
}
