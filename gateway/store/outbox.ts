import { Punch } from '../../core/punch.js';
import type { Database, SqlValue } from '../../platform/sqlite.js';

export interface RefusedTap {
  id: string;
  at: string;
  readerId: string;
  credentialKey: string;
  employeeId: string | null;
  reason: string;
}

/** A punch about to be committed: everything but `seq`, which the outbox assigns. */
export type NewPunch = Omit<Punch, 'seq'>;

export interface PunchToCommit {
  punch: NewPunch;
  credentialKey: string;
  localDay: string;
  /** The boot and CLOCK_MONOTONIC reading at the tap, to correct `at` if the clock was not synced. */
  bootId: string;
  monoMs: number;
}

/** A pending punch as stored: its body is sent as it is, unless `problem` says it cannot be. */
export interface PendingRow {
  seq: number;
  id: string;
  body: string;
  /**
   * Why the stored body cannot go on the wire (not JSON, or another id than its row's: the server
   * acks by the body's id, the outbox settles by the row's), or null. Checked by SQLite in its own
   * thread: the body was validated by zod when the desk committed it, and the server validates
   * every punch again; re-parsing each body on the event loop cost the drain a tenth of its CPU.
   */
  problem: string | null;
}

export interface PendingPage {
  /** Sendable rows in seq order (held rows are left out). */
  rows: PendingRow[];
  /** Held rows the query stepped over: they stay pending and are sent once the hold lifts. */
  held: number;
  /** The highest seq the query looked at, held rows included: the next page starts after it. */
  lastSeq: number | undefined;
  /** The query returned fewer rows than asked: nothing pending lies beyond `lastSeq` (yet). */
  end: boolean;
}

export interface ServerVerdicts {
  accepted: readonly string[];
  rejected: ReadonlyArray<{ id: string; reason: string }>;
}

/** SQLite's bound-parameter limit is far above this; the chunks keep each statement small. */
const ID_CHUNK = 500;

/** Who a day's punch count is of: the employee, or for a badge of nobody on the roster, the badge. */
export function dayCountKey(employeeId: string | null, credentialKey: string): string {
  return employeeId === null ? `credential:${credentialKey}` : `employee:${employeeId}`;
}

/**
 * The punch outbox: every punch is a row here before anyone is told it counted, and stays until
 * the server has acknowledged it (and local retention has passed).
 */
export class Outbox {
  private constructor(
    private readonly db: Database,
    private nextSeq: number,
  ) {}

  static async open(db: Database): Promise<Outbox> {
    const row = await db.get<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'punches'");
    return new Outbox(db, (row?.seq ?? 0) + 1);
  }

  /**
   * Writes punches and refused taps in one transaction; resolves when they are on disk.
   * The caller must serialise calls (the punch desk does), because seq numbers are handed out here.
   */
  async commit(punches: readonly PunchToCommit[], refused: readonly RefusedTap[]): Promise<Punch[]> {
    const firstSeq = this.nextSeq;
    const statements: Array<{ sql: string; params: SqlValue[] }> = [];
    const committed: Punch[] = punches.map((item, index) => {
      const punch: Punch = Punch.parse({ ...item.punch, seq: firstSeq + index });
      statements.push({
        sql: 'INSERT INTO punches (seq, id, credential_key, employee_id, at, local_day, direction, body, clock_synced, boot_id, mono_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        params: [punch.seq, punch.id, item.credentialKey, punch.employeeId, punch.at, item.localDay, punch.direction, JSON.stringify(punch), punch.clock.synced ? 1 : 0, item.bootId, item.monoMs],
      });
      return punch;
    });
    for (const tap of refused) {
      statements.push({
        sql: 'INSERT INTO refused_taps (id, at, reader_id, credential_key, employee_id, reason) VALUES (?, ?, ?, ?, ?, ?)',
        params: [tap.id, tap.at, tap.readerId, tap.credentialKey, tap.employeeId, tap.reason],
      });
    }
    // On failure nothing was written and the seq numbers stay free. A lone tap (the usual case)
    // is one statement, durable on its own: no BEGIN/COMMIT round trips before the beep.
    const [only] = statements;
    if (statements.length === 1 && only) {
      await this.db.write(only.sql, only.params);
    } else if (statements.length > 1) {
      await this.db.transaction(async () => {
        for (const statement of statements) await this.db.run(statement.sql, statement.params);
      });
    }
    this.nextSeq = firstSeq + committed.length;
    return committed;
  }

  /** How many punches this person (or, for an unknown badge, this credential) has on a local day. */
  async countOnDay(who: { employeeId: string | null; credentialKey: string }, localDay: string): Promise<number> {
    const row = who.employeeId
      ? await this.db.get<{ n: number }>('SELECT count(*) AS n FROM punches WHERE employee_id = ? AND local_day = ?', [who.employeeId, localDay])
      : await this.db.get<{ n: number }>('SELECT count(*) AS n FROM punches WHERE employee_id IS NULL AND credential_key = ? AND local_day = ?', [who.credentialKey, localDay]);
    return row?.n ?? 0;
  }

  /** Punches per person on a local day, by dayCountKey. One query, when the desk's day begins. */
  async countsOnDay(localDay: string): Promise<Map<string, number>> {
    const rows = await this.db.all<{ employee_id: string | null; credential_key: string; n: number }>(
      `SELECT employee_id, credential_key, count(*) AS n FROM punches WHERE local_day = ?
        GROUP BY employee_id, CASE WHEN employee_id IS NULL THEN credential_key END`,
      [localDay],
    );
    return new Map(rows.map((row) => [dayCountKey(row.employee_id, row.credential_key), row.n]));
  }

  /** Newest first. */
  async recent(limit: number): Promise<Punch[]> {
    const rows = await this.db.all<{ body: string }>('SELECT body FROM punches ORDER BY seq DESC LIMIT ?', [limit]);
    return rows.map((row) => Punch.parse(JSON.parse(row.body)));
  }

  /** The latest punches taken between two instants, oldest first: seeds the debounce window after a restart. */
  async since(sinceIso: string, untilIso: string, limit = 5000): Promise<Array<{ credentialKey: string; at: string }>> {
    // The newest rows by seq (the primary key), bounded: a backlog stamped in the future by a clock
    // that ran ahead must not be loaded whole at start.
    const rows = await this.db.all<{ credential_key: string; at: string }>('SELECT credential_key, at FROM punches ORDER BY seq DESC LIMIT ?', [limit]);
    return rows
      .filter((row) => row.at >= sinceIso && row.at <= untilIso)
      .reverse()
      .map((row) => ({ credentialKey: row.credential_key, at: row.at }));
  }

  async counts(): Promise<{ pending: number; acked: number; rejected: number; total: number }> {
    const rows = await this.db.all<{ state: string; n: number }>('SELECT state, count(*) AS n FROM punches GROUP BY state');
    const counts = { pending: 0, acked: 0, rejected: 0, total: 0 };
    for (const row of rows) {
      if (row.state === 'pending' || row.state === 'acked' || row.state === 'rejected') counts[row.state] = row.n;
      counts.total += row.n;
    }
    return counts;
  }

  /**
   * Keyset page of pending punches after `afterSeq`, oldest first, at most `limit` rows looked at.
   * Rows with `clock_synced = 0` taken in boot `holdBootId` are stepped over without their body:
   * their time may still be corrected once the clock syncs. The drain streams the backlog this
   * way, one page at a time, so a backlog of any size costs one page of memory.
   */
  async pendingAfter(afterSeq: number, limit: number, holdBootId: string | null = null): Promise<PendingPage> {
    // `boot_id = NULL` is never true, so a null hold holds nothing.
    const rows = await this.db.all<{ seq: number; id: string; body: string | null; problem: string | null }>(
      `SELECT seq, id, body,
         CASE WHEN body IS NULL THEN NULL
              WHEN NOT json_valid(body) THEN 'not JSON'
              WHEN json_extract(body, '$.id') IS NOT id THEN 'its body carries id ' || coalesce(json_extract(body, '$.id'), 'none') || ', its row ' || id
         END AS problem
       FROM (SELECT seq, id, CASE WHEN clock_synced = 0 AND boot_id = ? THEN NULL ELSE body END AS body
             FROM punches WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT ?)`,
      [holdBootId, afterSeq, limit],
    );
    const sendable: PendingRow[] = [];
    for (const row of rows) if (row.body !== null) sendable.push({ seq: row.seq, id: row.id, body: row.body, problem: row.problem });
    return { rows: sendable, held: rows.length - sendable.length, lastSeq: rows.at(-1)?.seq, end: rows.length < limit };
  }

  /**
   * Records the server's verdicts in one transaction. Only rows still pending change, so a late or
   * duplicate ack changes nothing and every punch is acknowledged exactly once.
   */
  async settle(verdicts: ServerVerdicts, atIso: string): Promise<{ acked: number; rejected: number }> {
    let acked = 0;
    let rejected = 0;
    await this.db.transaction(async () => {
      for (let start = 0; start < verdicts.accepted.length; start += ID_CHUNK) {
        const ids = verdicts.accepted.slice(start, start + ID_CHUNK);
        // `+state`: with a long IN list SQLite's planner otherwise walks every pending row through
        // the state index (measured: 45 ms instead of 3 ms per 500 ids, worse with the backlog).
        const result = await this.db.run(
          `UPDATE punches SET state = 'acked', acked_at = ? WHERE +state = 'pending' AND id IN (${ids.map(() => '?').join(',')})`,
          [atIso, ...ids],
        );
        acked += result.changes;
      }
      for (const { id, reason } of verdicts.rejected) {
        const result = await this.db.run("UPDATE punches SET state = 'rejected', reject_reason = ?, acked_at = ? WHERE +state = 'pending' AND id = ?", [reason, atIso, id]);
        rejected += result.changes;
      }
    });
    return { acked, rejected };
  }

  /** Rejects rows the gateway itself cannot send (a body that no longer parses): kept, never re-read forever. */
  async rejectLocally(rows: ReadonlyArray<{ seq: number; reason: string }>, atIso: string): Promise<number> {
    let changed = 0;
    await this.db.transaction(async () => {
      for (const { seq, reason } of rows) {
        changed += (await this.db.run("UPDATE punches SET state = 'rejected', reject_reason = ?, acked_at = ? WHERE +state = 'pending' AND seq = ?", [reason, atIso, seq])).changes;
      }
    });
    return changed;
  }

  /** Puts rejected punches back to pending (an operator's resync after fixing the server side). */
  async requeueRejected(): Promise<number> {
    return (await this.db.run("UPDATE punches SET state = 'pending', reject_reason = NULL, acked_at = NULL WHERE state = 'rejected'")).changes;
  }

  /**
   * Deletes at most `limit` acknowledged punches acked before `cutoffIso`, oldest first; returns how
   * many. Small chunks keep each write transaction short, so a tap never waits long behind a prune.
   */
  async pruneAcked(cutoffIso: string, limit: number): Promise<number> {
    // INDEXED BY: left to itself the planner takes the state index and sorts every acked row.
    const result = await this.db.run(
      "DELETE FROM punches WHERE seq IN (SELECT seq FROM punches INDEXED BY punches_acked_at WHERE state = 'acked' AND acked_at < ? ORDER BY acked_at LIMIT ?)",
      [cutoffIso, limit],
    );
    return result.changes;
  }

  /** The oldest punch not yet acknowledged, by seq (the order punches were taken). */
  async oldestPending(): Promise<{ seq: number; at: string } | undefined> {
    return this.db.get<{ seq: number; at: string }>("SELECT seq, at FROM punches WHERE state = 'pending' ORDER BY seq LIMIT 1");
  }

  async pendingCount(): Promise<number> {
    return (await this.db.get<{ n: number }>("SELECT count(*) AS n FROM punches WHERE state = 'pending'"))?.n ?? 0;
  }

  /** What the device status reports about the outbox; each part is one index lookup or scan. */
  async uplinkCounts(): Promise<{ pending: number; rejected: number; oldestPendingAt: string | null }> {
    const pending = await this.pendingCount();
    const rejected = (await this.db.get<{ n: number }>("SELECT count(*) AS n FROM punches WHERE state = 'rejected'"))?.n ?? 0;
    const oldest = pending > 0 ? await this.oldestPending() : undefined;
    return { pending, rejected, oldestPendingAt: oldest?.at ?? null };
  }

  async refusedTaps(limit: number): Promise<RefusedTap[]> {
    const rows = await this.db.all<{ id: string; at: string; reader_id: string; credential_key: string; employee_id: string | null; reason: string }>(
      'SELECT * FROM refused_taps ORDER BY at DESC LIMIT ?',
      [limit],
    );
    return rows.map((row) => ({
      id: row.id,
      at: row.at,
      readerId: row.reader_id,
      credentialKey: row.credential_key,
      employeeId: row.employee_id,
      reason: row.reason,
    }));
  }
}
