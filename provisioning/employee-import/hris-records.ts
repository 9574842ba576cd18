import { z } from 'zod';
import { CredentialKind } from '../../core/credential.js';
import type { ImportColumn } from './columns.js';
import { EmployeeRecordChecker, type ImportContext, type ImportError, type ValidEmployeeRow } from './validate-rows.js';

/**
 * An HRIS sync payload: the same records as an import file, as JSON. A field left out is left as
 * it is (incremental); `null` clears it. Each record goes through the import's own checks, so a
 * file and an HRIS say the same thing about the same data.
 */

const text = (max: number) => z.string().max(max * 4).nullable().optional();

export const HrisRecord = z
  .object({
    employeeNumber: z.string({ error: 'employeeNumber is required' }).min(1, 'employeeNumber is required').max(64),
    name: z.string({ error: 'name is required' }).max(480),
    nameZh: text(60),
    department: text(80),
    rank: text(80),
    role: z.string().max(40).nullable().optional(),
    phone: z.string().max(40).nullable().optional(),
    email: z.string().max(254).nullable().optional(),
    sites: z.array(z.string().max(64)).max(200).nullable().optional(),
    badges: z.array(z.object({ kind: CredentialKind, uid: z.string().min(1).max(64) }).strict()).max(20).nullable().optional(),
    bleTag: z.string().max(64).nullable().optional(),
    /** true, false, or the day consent was given (`YYYY-MM-DD`). */
    bleConsent: z.union([z.boolean(), z.string().max(10)]).nullable().optional(),
    startDate: z.string().max(10).nullable().optional(),
    endDate: z.string().max(10).nullable().optional(),
    status: z.enum(['active', 'inactive']).optional(),
  })
  .strict();
export type HrisRecord = z.infer<typeof HrisRecord>;

export const MAX_HRIS_RECORDS = 50_000;

export const HrisPayload = z
  .object({
    /** `upsert` (default): these records only. `full`: also deactivates every active employee not in `records`. */
    mode: z.enum(['upsert', 'full']).default('upsert'),
    records: z.array(HrisRecord).min(1, 'records must not be empty').max(MAX_HRIS_RECORDS, `at most ${MAX_HRIS_RECORDS} records per request`),
  })
  .strict();
export type HrisPayload = z.infer<typeof HrisPayload>;

/** The JSON field each template column comes from. */
export const FIELD_OF_COLUMN: Record<ImportColumn, keyof HrisRecord> = {
  employee_number: 'employeeNumber',
  name: 'name',
  name_zh: 'nameZh',
  department: 'department',
  rank: 'rank',
  role: 'role',
  phone: 'phone',
  email: 'email',
  sites: 'sites',
  badges: 'badges',
  ble_tag: 'bleTag',
  ble_consent: 'bleConsent',
  start_date: 'startDate',
  end_date: 'endDate',
  status: 'status',
};

/** A record's fields as the import's cells: what the checker reads. */
function cellsOf(record: HrisRecord): Map<ImportColumn, string | null> {
  const cells = new Map<ImportColumn, string | null>();
  for (const [column, field] of Object.entries(FIELD_OF_COLUMN) as Array<[ImportColumn, keyof HrisRecord]>) {
    if (!(field in record)) continue;
    const value = record[field];
    let cell: string | null;
    if (value === null || value === undefined) cell = null;
    else if (field === 'sites') cell = (value as string[]).join(';');
    else if (field === 'badges') cell = (value as Array<{ kind: string; uid: string }>).map((badge) => `${badge.kind}:${badge.uid}`).join(';');
    else if (typeof value === 'boolean') cell = value ? 'yes' : 'no';
    else cell = String(value).trim();
    cells.set(column, cell === '' ? null : cell);
  }
  return cells;
}

/**
 * Checks every record. Rows are 1-based positions in `records`; each error's `column` is the JSON
 * field name, so that an HRIS developer finds it in the payload.
 */
export function checkHrisRecords(records: readonly HrisRecord[], context: ImportContext): { rows: ValidEmployeeRow[]; errors: ImportError[] } {
  const checker = new EmployeeRecordChecker(context);
  const rows: ValidEmployeeRow[] = [];
  const errors: ImportError[] = [];
  records.forEach((record, index) => {
    const cells = cellsOf(record);
    const checked = checker.check(index + 1, (column) => cells.get(column) ?? null, [...cells.keys()]);
    for (const error of checked.errors) {
      const field = FIELD_OF_COLUMN[error.column as ImportColumn] ?? error.column;
      errors.push({ ...error, column: field });
    }
    if (checked.valid) rows.push(checked.valid);
  });
  return { rows, errors };
}
