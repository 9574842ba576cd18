import { decodeCursor, encodeCursor, keysetPage } from './keyset-cursor.js';
import { WhereClause } from './where-clause.js';
import type { Credential } from '../../core/credential.js';
import { Punch, type PunchMethod } from '../../core/punch.js';
import type { Database, SqlValue } from '../../platform/sqlite.js';

const COLUMNS = ['id', 'device_id', 'site_id', 'employee_id', 'credential_kind', 'credential_uid', 'at', 'direction', 'method', 'seq', 'clock_synced', 'body', 'received_at'] as const;
// SQLite allows 32766 bound variables per statement; 13 columns x 1000 rows stays well inside.
const ROWS_PER_STATEMENT = 1000;

export interface PunchQuery {
  deviceId?: string;
  siteId?: string;
  /** Only punches at these sites (a site-scoped principal's reach); an empty list matches none. */
  siteIds?: readonly string[];
  employeeId?: string;
  method?: PunchMethod;
  /** true: only punches of unknown badges (no employee); false: only punches with an employee. */
  unknown?: boolean;
  from?: string;
  to?: string;
  limit: number;
  /** Opaque keyset cursor from the previous page. */
  cursor?: string;
}

export interface PunchPage {
  punches: Punch[];
  nextCursor: string | null;
}




const ROW_PLACEHOLDERS = `(${COLUMNS.map(() => '?').join(', ')})`;

function insertSql(rows: number): string {
  return `INSERT INTO punches (${COLUMNS.join(', ')}) VALUES ${Array.from({ length: rows }, () => ROW_PLACEHOLDERS).join(', ')} ON CONFLICT(id) DO NOTHING`;
}

function insertParams(punches: readonly Punch[], receivedAt: string): SqlValue[] {
  const params: SqlValue[] = [];
  for (const punch of punches) {
    params.push(
      punch.id,
      punch.deviceId,
      punch.siteId,
      punch.employeeId,
      punch.credential.kind,
      punch.credential.uid,
      punch.at,
      punch.direction,
      punch.method,
      punch.seq,
      punch.clock.synced ? 1 : 0,
      JSON.stringify(punch),
      receivedAt,
    );
  }
  return params;
}

/** The central punch table: exactly one row per punch id, whatever arrives how often. */
export class PunchRepository {
  /**
   * `reads` serves searches and counts: a read-only connection of its own, so a slow search
   * never holds up ingest's commits (node-sqlite3 runs one statement at a time per connection)
   * and never sees rows of a transaction still open. Writes and reads inside a write stay on `db`.
   */
  constructor(
    private readonly db: Database,
    private readonly reads: Database = db,
  ) {}

  /**
   * Inserts valid punches in one transaction, ignoring ids already stored; resolves after the
   * commit is on disk. Returns the ids that are now stored (new or already there).
   * `alsoInTransaction` runs its statements in the same transaction (e.g. the device's last_seen).
   */
  async insertBatch(punches: readonly Punch[], receivedAt: string, alsoInTransaction?: () => Promise<void>): Promise<string[]> {
    await this.storeBatch(punches, receivedAt, { alsoInTransaction });
    return punches.map((punch) => punch.id);
  }

  /**
   * {@link insertBatch}, and with `reportNew` the punches that were new (not stored before), in
   * batch order, once the commit is on disk: what a live feed announces. Without it, an empty list
   * (and no RETURNING clause: nobody is listening).
   */
  async storeBatch(punches: readonly Punch[], receivedAt: string, options: { alsoInTransaction?: (() => Promise<void>) | undefined; reportNew?: boolean } = {}): Promise<Punch[]> {
    if (punches.length === 0) return [];
    return this.db.transaction(async () => {
      // In the same transaction: one durable commit per batch, not one per statement.
      await options.alsoInTransaction?.();
      if (!options.reportNew) {
        await this.insertInTransaction(punches, receivedAt);
        return [];
      }
      return this.insertNewInTransaction(punches, receivedAt);
    });
  }

  /**
   * The INSERT .. ON CONFLICT(id) DO NOTHING statements of {@link insertBatch} alone, for a caller
   * that already holds a transaction (`Database.transaction`) and commits it. Returns how many
   * rows were new.
   */
  async insertInTransaction(punches: readonly Punch[], receivedAt: string): Promise<number> {
    let inserted = 0;
    for (let start = 0; start < punches.length; start += ROWS_PER_STATEMENT) {
      const chunk = punches.slice(start, start + ROWS_PER_STATEMENT);
      inserted += (await this.db.run(insertSql(chunk.length), insertParams(chunk, receivedAt))).changes;
    }
    return inserted;
  }

  /**
   * {@link insertInTransaction}, returning the punches that were new (`RETURNING id` reports only
   * the rows ON CONFLICT DO NOTHING did insert), in the order given.
   */
  async insertNewInTransaction(punches: readonly Punch[], receivedAt: string): Promise<Punch[]> {
    const fresh = new Set<string>();
    for (let start = 0; start < punches.length; start += ROWS_PER_STATEMENT) {
      const chunk = punches.slice(start, start + ROWS_PER_STATEMENT);
      for (const row of await this.db.all<{ id: string }>(`${insertSql(chunk.length)} RETURNING id`, insertParams(chunk, receivedAt))) fresh.add(row.id);
    }
    return fresh.size === 0 ? [] : punches.filter((punch) => fresh.has(punch.id));
  }

  /** One stored punch by id. */
  async get(id: string): Promise<Punch | undefined> {
    const row = await this.db.get<{ body: string }>('SELECT body FROM punches WHERE id = ?', [id]);
    return row ? Punch.parse(JSON.parse(row.body)) : undefined;
  }

  /**
   * The next `seq` of a device whose punches the server makes itself (the mobile API's pseudo
   * device): 1, 2, 3 ... never reused. Must run inside the transaction that inserts the punch, so
   * that a rolled-back punch gives its number back rather than leaving a gap.
   */
  async nextServerSeq(deviceId: string): Promise<number> {
    const row = await this.db.get<{ seq: number }>(
      'INSERT INTO punch_sequences (device_id, seq) VALUES (?, 1) ON CONFLICT(device_id) DO UPDATE SET seq = seq + 1 RETURNING seq',
      [deviceId],
    );
    if (!row) throw new Error(`no sequence number for ${deviceId}`);
    return row.seq;
  }

  /** Newest first, keyset-paged by (at, id). */
  async query(query: PunchQuery): Promise<PunchPage> {
    const where = new WhereClause()
      .add('device_id = ?', query.deviceId)
      .add('site_id = ?', query.siteId)
      .addIn('site_id', query.siteIds)
      .add('employee_id = ?', query.employeeId)
      .add('method = ?', query.method)
      .add('at >= ?', query.from)
      .add('at < ?', query.to);
    if (query.unknown !== undefined) where.add(query.unknown ? 'employee_id IS NULL' : 'employee_id IS NOT NULL');
    // A row value, so SQLite bounds the index range with it instead of walking every row before
    // the cursor (a page 500,000 rows deep: ~1 ms instead of ~50 ms, docs/benchmarks.md).
    if (query.cursor) where.add('(at, id) < (?, ?)', ...decodeCursor(query.cursor, 'string', 'string'));
    const sql = `SELECT body, at, id FROM punches ${where.sql} ORDER BY at DESC, id DESC LIMIT ?`;
    const rows = await this.reads.all<{ body: string; at: string; id: string }>(sql, [...where.params, query.limit + 1]);
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.at, row.id]);
    return { punches: page.map((row) => Punch.parse(JSON.parse(row.body))), nextCursor };
  }

  /**
   * Gives the punches of an unknown badge to an employee: every punch with this credential and no
   * employee (optionally within [from, to) and at some sites) gets `employee_id`, and its stored
   * JSON `body` the same `employeeId`, in one statement. Returns how many punches changed. Run it
   * inside the caller's transaction when the change must be audited with it.
   */
  async assignUnknown(query: { credential: Credential; employeeId: string; from?: string; to?: string; siteIds?: readonly string[] }): Promise<number> {
    if (query.siteIds !== undefined && query.siteIds.length === 0) return 0;
    const where = ['employee_id IS NULL', 'credential_kind = ?', 'credential_uid = ?'];
    const params: SqlValue[] = [query.employeeId, query.employeeId, query.credential.kind, query.credential.uid];
    if (query.from) (where.push('at >= ?'), params.push(query.from));
    if (query.to) (where.push('at < ?'), params.push(query.to));
    if (query.siteIds) (where.push(`site_id IN (${query.siteIds.map(() => '?').join(', ')})`), params.push(...query.siteIds));
    const result = await this.db.run(`UPDATE punches SET employee_id = ?, body = json_set(body, '$.employeeId', ?) WHERE ${where.join(' AND ')}`, params);
    return result.changes;
  }

  async count(): Promise<number> {
    const row = await this.reads.get<{ n: number }>('SELECT count(*) AS n FROM punches');
    return row?.n ?? 0;
  }

  /** Punches at a site with `at` in [from, to): an index-only count (punches_by_site). */
  async countAtSite(siteId: string, from: string, to: string): Promise<number> {
    const row = await this.reads.get<{ n: number }>('SELECT count(*) AS n FROM punches WHERE site_id = ? AND at >= ? AND at < ?', [siteId, from, to]);
    return row?.n ?? 0;
  }
}
