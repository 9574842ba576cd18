import { z } from 'zod';
import type { Database } from '../../platform/sqlite.js';

/**
 * Department codes: what an employee import is checked against, so that a typo in a file does not
 * put 37 people's punches under a department nobody reports on. None defined: any name is taken
 * (as before departments existed).
 */

export const DepartmentCode = z
  .string({ error: 'must be a string' })
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 _.&/-]{0,79}$/, 'must be 1-80 characters: letters, digits, spaces and _ . & / - (starting with a letter or digit)');

export const DepartmentBody = z
  .object({
    name: z.string({ error: 'name must be a string' }).trim().min(1, 'name must not be empty').max(120, 'name may be at most 120 characters'),
    nameZh: z.string({ error: 'nameZh must be a string or null' }).trim().min(1, 'nameZh must not be empty; send null').max(60, 'nameZh may be at most 60 characters').nullable().optional(),
  })
  .strict();
export type DepartmentBody = z.infer<typeof DepartmentBody>;

export const DepartmentView = z.object({ code: z.string(), name: z.string(), nameZh: z.string().nullable(), employees: z.number().int(), createdAt: z.string(), updatedAt: z.string() });
export type DepartmentView = z.infer<typeof DepartmentView>;

interface DepartmentRow {
  code: string;
  name: string;
  name_zh: string | null;
  employees: number;
  created_at: string;
  updated_at: string;
  [column: string]: string | number | null;
}

const SELECT = `SELECT d.*, (SELECT count(*) FROM employees e WHERE e.department = d.code) AS employees FROM departments d`;
const view = (row: DepartmentRow): DepartmentView => ({ code: row.code, name: row.name, nameZh: row.name_zh, employees: row.employees, createdAt: row.created_at, updatedAt: row.updated_at });

export class DepartmentRepository {
  constructor(private readonly db: Database) {}

  async list(): Promise<DepartmentView[]> {
    return (await this.db.all<DepartmentRow>(`${SELECT} ORDER BY d.code`)).map(view);
  }

  async get(code: string): Promise<DepartmentView | undefined> {
    const row = await this.db.get<DepartmentRow>(`${SELECT} WHERE d.code = ?`, [code]);
    return row ? view(row) : undefined;
  }

  /** The codes an import is checked against; null when none is defined (any name is taken). */
  async knownCodes(): Promise<Set<string> | null> {
    const rows = await this.db.all<{ code: string }>('SELECT code FROM departments');
    return rows.length === 0 ? null : new Set(rows.map((row) => row.code));
  }

  /** Inside the caller's transaction. */
  async put(code: string, body: DepartmentBody, at: string): Promise<void> {
    await this.db.run(
      `INSERT INTO departments (code, name, name_zh, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(code) DO UPDATE SET name = excluded.name, name_zh = excluded.name_zh, updated_at = excluded.updated_at`,
      [code, body.name, body.nameZh ?? null, at, at],
    );
  }

  /** Inside the caller's transaction. */
  async delete(code: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM departments WHERE code = ?', [code])).changes === 1;
  }
}
