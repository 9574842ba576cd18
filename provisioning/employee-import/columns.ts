/**
 * The columns of the employee import template, their Chinese names, and how a header cell is
 * matched to one: case-insensitively, with spaces, underscores and hyphens equivalent, in English
 * or Traditional Chinese.
 */

export const IMPORT_COLUMNS = [
  'employee_number',
  'name',
  'name_zh',
  'department',
  'rank',
  'role',
  'phone',
  'email',
  'sites',
  'badges',
  'ble_tag',
  'ble_consent',
  'start_date',
  'end_date',
  'status',
] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];

/** Columns every file must have, and every row must fill. */
export const REQUIRED_COLUMNS: readonly ImportColumn[] = ['employee_number', 'name'];

export const COLUMN_ZH: Record<ImportColumn, string> = {
  employee_number: '員工編號',
  name: '姓名',
  name_zh: '中文姓名',
  department: '部門',
  rank: '職級',
  role: '角色',
  phone: '電話',
  email: '電郵',
  sites: '地點',
  badges: '員工卡',
  ble_tag: '藍牙標籤',
  ble_consent: '藍牙同意',
  start_date: '入職日期',
  end_date: '離職日期',
  status: '狀態',
};

/** A header cell reduced to the form the lookup uses: lower case, separators as `_`, no surrounding space. */
export function headerKey(cell: string): string {
  return cell
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '_');
}

const BY_HEADER = new Map<string, ImportColumn>();
for (const column of IMPORT_COLUMNS) {
  BY_HEADER.set(column, column);
  BY_HEADER.set(column.replace(/_/g, ''), column);
  BY_HEADER.set(headerKey(COLUMN_ZH[column]), column);
}

/** The template column a header cell names, or undefined. */
export function columnOf(headerCell: string): ImportColumn | undefined {
  return BY_HEADER.get(headerKey(headerCell));
}

/** Separators within the multi-valued cells. */
export const SITE_SEPARATOR = /[;|]/;
export const BADGE_SEPARATOR = /;/;

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The template to download: UTF-8 with a byte-order mark (so Excel opens the Chinese names
 * correctly), the header row and one example row. Encode the string as UTF-8 when sending it.
 */
/** The template's example row. */
export function templateRow(): Record<ImportColumn, string> {
  return {
    employee_number: 'E1001',
    name: 'Chan Tai Man',
    name_zh: '陳大文',
    department: 'OPS',
    rank: 'Supervisor',
    role: 'store-manager',
    phone: '9123 4567',
    email: 'taiman.chan@example.com',
    sites: 'TST;MK',
    badges: 'mifare:04A1B2C3D4E5F6;em4100:0A1B2C3D',
    ble_tag: 'C30000123456',
    ble_consent: '2026-01-02',
    start_date: '2026-01-02',
    end_date: '',
    status: 'active',
  };
}

export function templateCsv(): string {
  const example = templateRow();
  const header = IMPORT_COLUMNS.join(',');
  const row = IMPORT_COLUMNS.map((column) => csvCell(example[column])).join(',');
  return `\uFEFF${header}\r\n${row}\r\n`;
}
