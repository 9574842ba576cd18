import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { LeaveRecord } from '../../core/attendance/index.js';

/** One thing wrong with one row of a leave file, in both languages. */
export interface LeaveImportError {
  /** The file's line of the row, counting the header as line 1. */
  row: number;
  column: string;
  message: string;
  messageZh: string;
}

export const LEAVE_COLUMNS = ['employee_number', 'type', 'from', 'to', 'portion', 'note', 'id'] as const;
const REQUIRED = ['employee_number', 'type', 'from', 'to'] as const;

const ZH: Record<string, string> = {
  employee_number: '員工編號',
  type: '假期類別',
  from: '開始日期',
  to: '結束日期',
  portion: '全日／半日',
  note: '備註',
  id: '編號',
  file: '檔案',
};

export class LeaveFileError extends Error {
  override name = 'LeaveFileError';
  constructor(
    message: string,
    readonly messageZh: string,
  ) {
    super(message);
  }
}

export interface ParsedLeave {
  record: LeaveRecord;
  note: string | null;
  row: number;
}

/**
 * Reads a leave CSV (UTF-8, with or without a byte-order mark) into records, checking every row
 * before anything is written: a file with any bad row yields only errors. A row without an `id`
 * gets one made from its content, so importing the same file twice adds nothing the second time.
 */
export function parseLeaveCsv(file: Buffer, knownEmployee: (employeeNumber: string) => boolean): { leave: ParsedLeave[]; errors: LeaveImportError[] } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(file);
  } catch {
    throw new LeaveFileError('the file is not UTF-8 text: save it from Excel as "CSV UTF-8"', '檔案不是 UTF-8 文字：請在 Excel 以「CSV UTF-8」格式儲存');
  }
  let rows: string[][];
  try {
    rows = parse(text, { relax_column_count: true, skip_empty_lines: true, trim: true }) as string[][];
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new LeaveFileError(`the file is not valid CSV: ${message}`, `檔案不是有效的 CSV：${message}`);
  }
  const [header, ...body] = rows;
  if (!header) throw new LeaveFileError('the file is empty: it needs a header row and at least one row', '檔案是空的：需要標題列及最少一列資料');
  const columns = header.map((name) => name.trim().toLowerCase().replace(/[\s-]+/g, '_').replace(/^employeenumber$/, 'employee_number'));
  const errors: LeaveImportError[] = [];
  for (const required of REQUIRED) {
    if (!columns.includes(required)) errors.push({ row: 1, column: required, message: `the header has no column "${required}"`, messageZh: `標題列沒有「${required}」欄` });
  }
  columns.forEach((name) => {
    if (!(LEAVE_COLUMNS as readonly string[]).includes(name)) errors.push({ row: 1, column: name, message: `unknown column "${name}" (known: ${LEAVE_COLUMNS.join(', ')})`, messageZh: `不明欄位「${name}」` });
  });
  if (errors.length > 0) return { leave: [], errors };
  if (body.length === 0) throw new LeaveFileError('the file has a header but no rows', '檔案只有標題列，沒有資料');

  const leave: ParsedLeave[] = [];
  const seenIds = new Map<string, number>();
  body.forEach((cells, index) => {
    const row = index + 2;
    const cell = (name: string): string | undefined => {
      const at = columns.indexOf(name);
      const value = at >= 0 ? cells[at] : undefined;
      return value === undefined || value === '' ? undefined : value;
    };
    const fields = { employeeNumber: cell('employee_number'), type: cell('type')?.toLowerCase(), from: cell('from'), to: cell('to') ?? cell('from'), portion: cell('portion')?.toLowerCase() ?? 'full' };
    const id = cell('id') ?? `csv-${createHash('sha256').update([fields.employeeNumber, fields.type, fields.from, fields.to, fields.portion].join('|')).digest('hex').slice(0, 24)}`;
    const parsed = LeaveRecord.safeParse({ id, ...fields });
    if (!parsed.success) {
      // An empty `to` means "the same day as from": a bad `from` is reported once, on from.
      const toGiven = cell('to') !== undefined;
      for (const issue of parsed.error.issues) {
        const field = String(issue.path[0] ?? 'id');
        if (field === 'to' && !toGiven) continue;
        const column = field === 'employeeNumber' ? 'employee_number' : field;
        const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.code === 'invalid_value' ? `must be one of ${issue.values.join(', ')}` : issue.message;
        errors.push({ row, column, message: `${column} ${message}`, messageZh: `${ZH[column] ?? column}：${issue.code === 'invalid_type' && issue.input === undefined ? '必須填寫' : '格式不正確'}（${message}）` });
      }
      return;
    }
    if (!knownEmployee(parsed.data.employeeNumber)) {
      errors.push({ row, column: 'employee_number', message: `no employee has the number ${parsed.data.employeeNumber}`, messageZh: `沒有員工編號為 ${parsed.data.employeeNumber} 的員工` });
      return;
    }
    const earlier = seenIds.get(parsed.data.id);
    if (earlier !== undefined) {
      errors.push({ row, column: 'id', message: `the same leave is already on row ${earlier}`, messageZh: `與第 ${earlier} 列的假期重複` });
      return;
    }
    seenIds.set(parsed.data.id, row);
    leave.push({ record: parsed.data, note: cell('note') ?? null, row });
  });
  return errors.length > 0 ? { leave: [], errors } : { leave, errors };
}
