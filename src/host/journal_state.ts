/**
 * The delivery journal's state, in SQLite (`state.sqlite`, WAL): each module's cursor (the position it
 * reported processed and the types it covers), the losses recorded for it, the position claimed ahead and
 * the last sequence number of each type trimmed away. Writes go into one transaction that the journal
 * commits at the end of a turn of the event loop.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { LostRange } from "./journal_scope.ts";

/** A module's cursor as stored. */
export interface StoredCursor {
  /** The position up to which it processed every event. */
  acked: number;
  /** The types it covers. */
  types: Set<string>;
  /** Whether it covers every module-defined type. */
  moduleEvents: boolean;
}

/**
 * The state file of one journal.
 *
 * @example
 * ```ts
 * import { JournalState } from "./journal_state.ts";
 * const s = JournalState.open(":memory:");
 * s.begin();
 * s.saveCursor("m", { acked: 4, types: new Set(["NewBlock"]), moduleEvents: false });
 * s.commit();
 * console.log(s.cursors().get("m")?.acked); // 4
 * s.close();
 * ```
 */
export class JournalState {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #inTx = false;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS cursors (module TEXT PRIMARY KEY, acked INTEGER NOT NULL, types TEXT NOT NULL,
        module_events INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS lost (module TEXT NOT NULL, type TEXT NOT NULL, from_seq INTEGER NOT NULL,
        to_seq INTEGER NOT NULL, count INTEGER NOT NULL, upto_pos INTEGER NOT NULL, PRIMARY KEY (module, type));
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
  }

  /**
   * Open (or create) the state file.
   *
   * @param path The SQLite file.
   * @returns The state.
   */
  static open(path: string): JournalState {
    const db = new DatabaseSync(path);
    try {
      return new JournalState(db);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /**
   * Every module's cursor.
   *
   * @returns Module → cursor.
   */
  cursors(): Map<string, StoredCursor> {
    const out = new Map<string, StoredCursor>();
    for (const r of this.#stmt("SELECT module, acked, types, module_events FROM cursors").all()) {
      out.set(String(r.module), {
        acked: Number(r.acked),
        types: new Set(JSON.parse(String(r.types)) as string[]),
        moduleEvents: Number(r.module_events) === 1,
      });
    }
    return out;
  }

  /** Open the transaction the next writes go into (if none is open). */
  begin(): void {
    if (this.#inTx) return;
    this.#db.exec("BEGIN");
    this.#inTx = true;
  }

  /** Commit the open transaction; if that fails, it is rolled back and the commit's error thrown. */
  commit(): void {
    if (!this.#inTx) return;
    this.#inTx = false;
    try {
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#rollback();
      throw e;
    }
  }

  /** Roll the open transaction back (after a failed write). */
  abort(): void {
    if (!this.#inTx) return;
    this.#inTx = false;
    this.#rollback();
  }

  /**
   * The position claimed ahead (0 if none).
   *
   * @returns The position.
   */
  claimed(): number {
    return Number(this.#stmt("SELECT value FROM meta WHERE key = 'last_pos'").get()?.value ?? 0);
  }

  /**
   * Claim positions up to `pos`, durably (synced) and at once (committing the open transaction first).
   *
   * @param pos The position.
   */
  claim(pos: number): void {
    this.commit();
    // Synced, unlike the rest: a claim lost to a power loss could hand the same positions out twice.
    this.#db.exec("PRAGMA synchronous = FULL");
    try {
      this.#stmt(
        "INSERT INTO meta (key, value) VALUES ('last_pos', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(pos);
    } finally {
      this.#db.exec("PRAGMA synchronous = NORMAL");
    }
  }

  /**
   * The last sequence number of each type whose events were trimmed away.
   *
   * @returns Type → seq.
   */
  seqFloors(): Map<string, number> {
    const out = new Map<string, number>();
    for (const f of this.#stmt("SELECT key, value FROM meta WHERE key LIKE 'seq:%'").all()) {
      out.set(String(f.key).slice(4), Number(f.value));
    }
    return out;
  }

  /**
   * Keep `seq` as the last sequence number of `type`, unless a bigger one is kept (in the open transaction).
   *
   * @param type The event type.
   * @param seq Its sequence number.
   */
  raiseSeqFloor(type: string, seq: number): void {
    this.#stmt(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
    ).run(`seq:${type}`, seq);
  }

  /**
   * Write a module's cursor, and drop the losses it has made up for (in the open transaction).
   *
   * @param module The module name.
   * @param c Its cursor.
   */
  saveCursor(module: string, c: StoredCursor): void {
    this.#stmt(
      "INSERT INTO cursors (module, acked, types, module_events) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (module) DO UPDATE SET acked = excluded.acked, types = excluded.types, " +
        "module_events = excluded.module_events",
    ).run(module, c.acked, JSON.stringify([...c.types]), c.moduleEvents ? 1 : 0);
    this.#stmt("DELETE FROM lost WHERE module = ? AND upto_pos <= ?").run(module, c.acked);
  }

  /**
   * Forget a module: its cursor and losses (in the open transaction).
   *
   * @param module The module name.
   */
  deleteModule(module: string): void {
    this.#stmt("DELETE FROM cursors WHERE module = ?").run(module);
    this.#stmt("DELETE FROM lost WHERE module = ?").run(module);
  }

  /**
   * Add losses of a module, merged per type (in the open transaction).
   *
   * @param module The module name.
   * @param ranges Per type: the range, how many, and the last position among them.
   */
  addLosses(module: string, ranges: Iterable<LostRange & { upto: number }>): void {
    const upsert = this.#stmt(
      "INSERT INTO lost (module, type, from_seq, to_seq, count, upto_pos) VALUES (?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (module, type) DO UPDATE SET from_seq = MIN(from_seq, excluded.from_seq), " +
        "to_seq = MAX(to_seq, excluded.to_seq), count = count + excluded.count, upto_pos = excluded.upto_pos",
    );
    for (const r of ranges) upsert.run(module, r.type, r.from_seq, r.to_seq, r.count, r.upto);
  }

  /**
   * A module's losses, which are then deleted (in the open transaction).
   *
   * @param module The module name.
   * @returns The ranges, by type.
   */
  takeLost(module: string): LostRange[] {
    const rows = this.#stmt("SELECT type, from_seq, to_seq, count FROM lost WHERE module = ? ORDER BY type")
      .all(module);
    if (rows.length) this.#stmt("DELETE FROM lost WHERE module = ?").run(module);
    return rows.map((r) => ({
      type: String(r.type),
      from_seq: Number(r.from_seq),
      to_seq: Number(r.to_seq),
      count: Number(r.count),
    }));
  }

  /** Close the file (an open transaction is rolled back). */
  close(): void {
    this.#db.close();
  }

  #rollback(): void {
    try {
      this.#db.exec("ROLLBACK");
    } catch {
      // SQLite already rolled back (a full disk): the error that caused it is the one that matters.
    }
  }

  #stmt(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (!st) this.#statements.set(sql, st = this.#db.prepare(sql));
    return st;
  }
}
