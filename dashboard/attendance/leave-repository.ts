import { LeaveRecord } from '../../core/attendance/index.js';
import type { Database } from '../../platform/sqlite.js';
import { decodeCursor, keysetPage } from '../db/keyset-cursor.js';
import { WhereClause } from '../db/where-clause.js';

export type LeaveSource = 'api' | 'csv' | 'console';

export interface LeaveView extends LeaveRecord {
  status: 'approved' | 'cancelled';
  note: string | null;
  source: LeaveSource;
  createdAt: string;
  createdBy: string | null;
  cancelledAt: string | null;
  cancelledBy: string | null;
}

type LeaveRow = {
  id: string;
  employee_number: string;
  type: string;
  from_date: string;
  to_date: string;
  portion: string;
  status: string;
  note: string | null;
  source: string;
  created_at: string;
  created_by: string | null;
  cancelled_at: string | null;
  cancelled_by: string | null;
};

function toView(row: LeaveRow): LeaveView {
  const record = LeaveRecord.parse({ id: row.id, employeeNumber: row.employee_number, type: row.type, from: row.from_date, to: row.to_date, portion: row.portion });
  return {
    ...record,
    status: row.status === 'cancelled' ? 'cancelled' : 'approved',
    note: row.note,
    source: row.source as LeaveSource,
    createdAt: row.created_at,
    createdBy: row.created_by,
    cancelledAt: row.cancelled_at,
    cancelledBy: row.cancelled_by,
  };
}

/** Approved leave, entered in the console, posted by API or imported from CSV. Cancelling keeps the record. */
export class LeaveRepository {
  constructor(private readonly db: Database) {}

  async get(id: string): Promise<LeaveView | undefined> {
    const row = await this.db.get<LeaveRow>('SELECT * FROM leave_records WHERE id = ?', [id]);
    return row ? toView(row) : undefined;
  }

  /** Stores a record unless its id is stored already; true when it was new. Run inside a transaction to group several. */
  async insert(record: LeaveRecord, meta: { note: string | null; source: LeaveSource; at: string; by: string | null }): Promise<boolean> {
    const result = await this.db.run(
      `INSERT INTO leave_records (id, employee_number, type, from_date, to_date, portion, status, note, source, created_at, created_by)
       VALUES (?, ?, ?, ?, ?, ?, 'approved', ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
      [record.id, record.employeeNumber, record.type, record.from, record.to, record.portion, meta.note, meta.source, meta.at, meta.by],
    );
    return result.changes > 0;
  }

  async cancel(id: string, at: string, by: string): Promise<boolean> {
    return (await this.db.run("UPDATE leave_records SET status = 'cancelled', cancelled_at = ?, cancelled_by = ? WHERE id = ? AND status = 'approved'", [at, by, id])).changes > 0;
  }

  /** Approved leave overlapping [from, to], of these people (all when absent). */
  async approvedBetween(from: string, to: string, employeeNumbers?: readonly string[]): Promise<LeaveRecord[]> {
    if (employeeNumbers && employeeNumbers.length === 0) return [];
    const params: string[] = [to, from];
    let sql = "SELECT * FROM leave_records WHERE status = 'approved' AND from_date <= ? AND to_date >= ?";
    if (employeeNumbers && employeeNumbers.length <= 500) {
      sql += ` AND employee_number IN (${employeeNumbers.map(() => '?').join(', ')})`;
      params.push(...employeeNumbers);
    }
    const rows = await this.db.all<LeaveRow>(sql, params);
    const wanted = employeeNumbers && employeeNumbers.length > 500 ? new Set(employeeNumbers) : undefined;
    return rows.filter((row) => !wanted || wanted.has(row.employee_number)).map((row) => toView(row));
  }

  async list(query: { employeeNumber?: string; from?: string; to?: string; status?: 'approved' | 'cancelled'; employeeNumbers?: readonly string[]; limit: number; cursor?: string }): Promise<{ leave: LeaveView[]; nextCursor: string | null }> {
    const where = new WhereClause()
      .add('employee_number = ?', query.employeeNumber)
      .addIn('employee_number', query.employeeNumbers)
      .add('to_date >= ?', query.from)
      .add('from_date <= ?', query.to)
      .add('status = ?', query.status);
    if (query.cursor) where.add('(from_date, id) < (?, ?)', ...decodeCursor(query.cursor, 'string', 'string'));
    const rows = await this.db.all<LeaveRow>(`SELECT * FROM leave_records ${where.sql} ORDER BY from_date DESC, id DESC LIMIT ?`, [...where.params, query.limit + 1]);
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.from_date, row.id]);
    return { leave: page.map(toView), nextCursor };
  }
}
