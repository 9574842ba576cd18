import { Punch } from '../../core/punch.js';
import type { Database } from './database.js';

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
    const committed: Punch[] = [];
    // On failure nothing was written and the seq numbers stay free.
    await this.db.transaction(async () => {
        let seq = firstSeq;
        for (const item of punches) {
          const punch: Punch = Punch.parse({ ...item.punch, seq });
          await this.db.run(
            'INSERT INTO punches (seq, id, credential_key, employee_id, at, local_day, direction, body, clock_synced, boot_id, mono_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [seq, punch.id, item.credentialKey, punch.employeeId, punch.at, item.localDay, punch.direction, JSON.stringify(punch), punch.clock.synced ? 1 : 0, item.bootId, item.monoMs],
          );
          committed.push(punch);
          seq += 1;
        }
        for (const tap of refused) {
          await this.db.run(
            'INSERT INTO refused_taps (id, at, reader_id, credential_key, employee_id, reason) VALUES (?, ?, ?, ?, ?, ?)',
            [tap.id, tap.at, tap.readerId, tap.credentialKey, tap.employeeId, tap.reason],
          );
        }
    });
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

  /** Newest first. */
  async recent(limit: number): Promise<Punch[]> {
    const rows = await this.db.all<{ body: string }>('SELECT body FROM punches ORDER BY seq DESC LIMIT ?', [limit]);
    return rows.map((row) => Punch.parse(JSON.parse(row.body)));
  }

  /** Punches of the last `sinceIso` onwards, oldest first: seeds the debounce window after a restart. */
  async since(sinceIso: string): Promise<Array<{ credentialKey: string; at: string }>> {
    const rows = await this.db.all<{ credential_key: string; at: string }>('SELECT credential_key, at FROM punches WHERE at >= ? ORDER BY seq', [sinceIso]);
    return rows.map((row) => ({ credentialKey: row.credential_key, at: row.at }));
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
