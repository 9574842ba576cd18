import { parse } from 'csv-parse/sync';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { z } from 'zod';
import { CredentialError, CredentialKind, credentialKey, mistakableFor, normalizeCredential, wiegand26Reading, type Credential } from '../../core/credential.js';
import { EntityId } from '../../core/punch.js';
import { BADGE_SEPARATOR, COLUMN_ZH, IMPORT_COLUMNS, REQUIRED_COLUMNS, SITE_SEPARATOR, columnOf, type ImportColumn } from './columns.js';
import { ImportFileError, decodeImportFile, type ImportEncoding } from './decode-file.js';

/**
 * Validation of an employee/badge import file, every row before anything is written. Pure: what
 * the database knows (departments, sites, badge holders) is passed in by the caller.
 */

/** One thing wrong with one cell (or the header, row 1), in both languages. */
export interface ImportError {
  /** The file's line where the row starts, counting the header as line 1. */
  row: number;
  /** The template column name (English), or `file` for the row as a whole. */
  column: string;
  message: string;
  messageZh: string;
}

export const IMPORT_ROLES = ['admin', 'hr', 'facilities', 'store-manager'] as const;
export type ImportRole = (typeof IMPORT_ROLES)[number];

/** A row that passed every check, in the forms the database stores. */
export interface ValidEmployeeRow {
  row: number;
  /** The columns the record has: an update leaves the others as they are. */
  columns: readonly ImportColumn[];
  employeeNumber: string;
  name: string;
  nameZh: string | null;
  department: string | null;
  rank: string | null;
  /** Console role to grant; null for none. */
  role: ImportRole | null;
  /** E.164, e.g. `+85291234567`. */
  phone: string | null;
  email: string | null;
  sites: string[];
  /** Normalised badges from the `badges` column. */
  badges: Credential[];
  /** The `ble_tag` column as a `ble-tag` credential. */
  bleTag: Credential | null;
  /** Consent to BLE tag tracking: null for none; `date` null means "yes" without a date. */
  bleConsent: { date: string | null } | null;
  activeFrom: string | null;
  activeUntil: string | null;
  status: 'active' | 'inactive';
}

export interface ImportContext {
  /** Department codes that exist; null accepts any. */
  knownDepartments: Set<string> | null;
  /** Site codes that exist. */
  knownSites: Set<string>;
  /** The employee number holding a badge (`kind:UID`, see credentialKey) in the database, if any. */
  badgeHolder(credentialKey: string): string | undefined;
  /** A badge in the database, held by someone other than `employeeNumber`, that a tap of this one can be taken for (core mistakableFor). */
  mistakableHolder(credential: Credential, employeeNumber: string | null): { key: string; holder: string } | undefined;
}

/** The refusal of a badge another employee holds. */
export function heldBadgeMessage(key: string, holder: string): { message: string; messageZh: string } {
  return { message: `badge ${key} is assigned to employee ${holder}; revoke it there first`, messageZh: `員工卡 ${key} 已編配給員工 ${holder}，請先在該員工處撤銷` };
}

/** The refusal of a badge that reads the same as another person's at Wiegand-26 readers (core mistakableFor). */
export function mistakableBadgeMessage(key: string, otherKey: string, holder: string, row?: number): { message: string; messageZh: string } {
  const where = row === undefined ? `employee ${holder}` : `employee ${holder} on row ${row}`;
  const whereZh = row === undefined ? `員工 ${holder}` : `第 ${row} 列員工 ${holder}`;
  return {
    message: `badge ${key} and badge ${otherKey} of ${where} read the same at Wiegand-26 readers: a tap there would be recorded for the wrong person; give one of them to one person only`,
    messageZh: `員工卡 ${key} 與${whereZh} 的員工卡 ${otherKey} 在 Wiegand-26 讀卡器上讀數相同：在該處拍卡會記錄為錯誤的人；兩張卡只可屬於同一人`,
  };
}

export interface ImportValidation {
  /**
   * The rows that passed. The file may be written only when `errors` is empty; the rows are
   * returned even then so that a preview can show what is fine.
   */
  rows: ValidEmployeeRow[];
  errors: ImportError[];
  /** Template columns the file has (a column left out is not the same as an empty one). */
  columns: ImportColumn[];
  delimiter: ',' | '\t';
  /** How the file was read: a text encoding, or an Excel workbook. */
  encoding?: ImportEncoding | 'xlsx';
}

/** Comma or tab, whichever the header line (outside quotes) has more of: Excel's "Unicode text" is tab-separated. */
export function detectDelimiter(text: string): ',' | '\t' {
  let commas = 0;
  let tabs = 0;
  let quoted = false;
  for (const ch of text.replace(/^\uFEFF/, '').replace(/^[\r\n]+/, '')) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && ch === ',') commas++;
    else if (!quoted && ch === '\t') tabs++;
  }
  return tabs > commas ? '\t' : ',';
}

const MAX_LENGTH: Partial<Record<ImportColumn, number>> = { name: 120, name_zh: 60, department: 80, rank: 80, email: 254 };
const HK_LOCAL = /^[2356789]\d{7}$/;
const Email = z.email();
const ISO_DAY = z.iso.date();
const YES = new Set(['yes', 'y', 'true', '1', '是', '同意']);
const NO = new Set(['no', 'n', 'false', '0', '否', '不同意']);
const STATUS: Record<string, 'active' | 'inactive'> = { active: 'active', inactive: 'inactive', 在職: 'active', 離職: 'inactive', 停用: 'inactive' };

/** `YYYY-MM-DD` or `YYYY/M/D` (what Excel may write) to `YYYY-MM-DD`; undefined if not a real day. */
function calendarDay(value: string): string | undefined {
  const match = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$/.exec(value);
  if (!match) return undefined;
  const day = `${match[1]}-${match[2]!.padStart(2, '0')}-${match[3]!.padStart(2, '0')}`;
  return ISO_DAY.safeParse(day).success ? day : undefined;
}

/** Decodes (see decodeImportFile) and validates a file; throws ImportFileError when it cannot be read at all. */
export function validateEmployeeFile(bytes: Buffer, context: ImportContext): ImportValidation {
  const { text, encoding } = decodeImportFile(bytes);
  return { ...validateEmployeeText(text, context), encoding };
}

/**
 * The line each record starts on. csv-parse's own line counts drift on CRLF inside quoted cells,
 * so the record boundaries are found here: a newline outside quotes ends a record (a `""` inside a
 * quoted cell toggles twice, so it changes nothing). Only used to number rows, never to split cells.
 */
function recordStartLines(text: string): number[] {
  const starts: number[] = [];
  let line = 1;
  let quoted = false;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (atStart) {
      starts.push(line);
      atStart = false;
    }
    if (ch === '"') quoted = !quoted;
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      line++;
      if (!quoted) atStart = true;
    }
  }
  return starts;
}

function parseRecords(text: string, delimiter: ',' | '\t'): Array<{ cells: string[]; line: number }> {
  const body = text.replace(/^\uFEFF/, '');
  let records: string[][];
  try {
    // Empty lines are kept here (and skipped below) so that records and start lines stay in step.
    records = parse(body, { delimiter, relax_column_count: true, trim: true }) as string[][];
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ImportFileError(`the file is not valid CSV: ${message}`, `檔案不是有效的 CSV：${message}`);
  }
  const starts = recordStartLines(body);
  const aligned = starts.length === records.length;
  return records
    .map((cells, index) => ({ cells, line: aligned ? starts[index]! : index + 1 }))
    // Blank lines, and the rows of bare separators Excel writes for formatted empty rows.
    .filter(({ cells }) => cells.some((cell) => cell !== ''));
}

/** Validates decoded text: the header, then every row. Throws ImportFileError for an empty or non-CSV file. */
export function validateEmployeeText(text: string, context: ImportContext): ImportValidation {
  const delimiter = detectDelimiter(text);
  const records = parseRecords(text, delimiter);
  const [header, ...body] = records;
  if (!header) throw new ImportFileError('the file is empty: it needs a header row and at least one row', '檔案是空的：需要標題列及最少一列資料');

  const errors: ImportError[] = [];
  const positions = new Map<ImportColumn, number>();
  header.cells.forEach((cell, index) => {
    if (cell === '') return;
    const column = columnOf(cell);
    if (column === undefined) {
      errors.push({ row: header.line, column: cell, message: `unknown column "${cell}" (the template's columns: ${IMPORT_COLUMNS.join(', ')})`, messageZh: `不明欄位「${cell}」（範本欄位：${IMPORT_COLUMNS.map((c) => COLUMN_ZH[c]).join('、')}）` });
    } else if (positions.has(column)) {
      errors.push({ row: header.line, column, message: `the header names column ${column} twice`, messageZh: `標題列重複了「${COLUMN_ZH[column]}」欄` });
    } else {
      positions.set(column, index);
    }
  });
  for (const required of REQUIRED_COLUMNS) {
    if (!positions.has(required)) errors.push({ row: header.line, column: required, message: `the header has no column ${required}`, messageZh: `標題列沒有「${COLUMN_ZH[required]}」欄` });
  }
  const columns = IMPORT_COLUMNS.filter((column) => positions.has(column));
  if (errors.length > 0) return { rows: [], errors, columns, delimiter };
  if (body.length === 0) throw new ImportFileError('the file has a header but no rows', '檔案只有標題列，沒有資料');

  const rows: ValidEmployeeRow[] = [];
  const checker = new EmployeeRecordChecker(context);
  for (const { cells, line: row } of body) {
    const cell = (column: ImportColumn): string | null => {
      const at = positions.get(column);
      const value = at === undefined ? undefined : cells[at];
      return value === undefined || value === '' ? null : value;
    };
    const extra = cells.slice(header.cells.length).filter((value) => value !== '');
    const rowErrors: ImportError[] =
      extra.length > 0
        ? [{ row, column: 'file', message: `the row has ${header.cells.length + extra.length} cells but the header only ${header.cells.length}: a separator inside a value must be quoted`, messageZh: `此列比標題列多出 ${extra.length} 個欄位：值內含分隔符號時須加上引號` }]
        : [];
    const checked = checker.check(row, cell, columns);
    errors.push(...rowErrors, ...checked.errors);
    if (checked.valid && rowErrors.length === 0) rows.push(checked.valid);
  }
  return { rows, errors, columns, delimiter };
}


/**
 * The checks of one employee record, for a file's rows and an HRIS payload's records alike. It
 * remembers the employee numbers and badges of the records checked before, to refuse duplicates.
 */
export class EmployeeRecordChecker {
  private readonly numberRows = new Map<string, number>();
  private readonly badgeOwners = new Map<string, { employeeNumber: string; row: number }>();
  /** The badges claimed so far by what a Wiegand-26 reader reads from them. */
  private readonly readingOwners = new Map<string, Array<{ employeeNumber: string; row: number; credential: Credential }>>();

  constructor(private readonly context: ImportContext) {}

  /**
   * Checks one record. `cell` answers a column's value (null when empty or absent); `columns` are
   * the columns the record has (absent ones are left as they are by an update).
   */
  check(row: number, cell: (column: ImportColumn) => string | null, columns: readonly ImportColumn[]): { valid?: ValidEmployeeRow; errors: ImportError[] } {
    const context = this.context;
    const numberRows = this.numberRows;
    const badgeOwners = this.badgeOwners;
    const rowErrors: ImportError[] = [];
    const fail = (column: string, message: string, messageZh: string) => rowErrors.push({ row, column, message, messageZh });

    for (const required of REQUIRED_COLUMNS) {
      if (cell(required) === null) fail(required, `${required} is required`, `${COLUMN_ZH[required]}：必須填寫`);
    }
    for (const [column, max] of Object.entries(MAX_LENGTH) as Array<[ImportColumn, number]>) {
      const value = cell(column);
      if (value !== null && value.length > max) fail(column, `${column} may be at most ${max} characters`, `${COLUMN_ZH[column]}：最多 ${max} 個字元`);
    }

    const employeeNumber = cell('employee_number');
    if (employeeNumber !== null) {
      if (!EntityId.safeParse(employeeNumber).success) {
        fail('employee_number', `employee_number "${employeeNumber}" may hold only letters, digits, "_", "." and "-", starting with a letter or digit (at most 64)`, `員工編號「${employeeNumber}」只可包含英文字母、數字、「_」、「.」及「-」，並以字母或數字開首（最多 64 個字元）`);
      } else {
        const earlier = numberRows.get(employeeNumber);
        if (earlier !== undefined) fail('employee_number', `employee number ${employeeNumber} is already on row ${earlier}`, `員工編號 ${employeeNumber} 已在第 ${earlier} 列出現`);
        else numberRows.set(employeeNumber, row);
      }
    }

    const department = cell('department');
    if (department !== null && context.knownDepartments !== null && !context.knownDepartments.has(department)) {
      fail('department', `there is no department ${department}`, `沒有部門「${department}」`);
    }

    const sites: string[] = [];
    const siteEntries = (cell('sites') ?? '').split(SITE_SEPARATOR).map((s) => s.trim()).filter((s) => s !== '');
    for (const site of siteEntries) {
      if (sites.includes(site)) fail('sites', `lists site ${site} twice`, `地點「${site}」重複`);
      else if (!context.knownSites.has(site)) fail('sites', `there is no site ${site}`, `沒有地點「${site}」`);
      else sites.push(site);
    }

    let role: ImportRole | null = null;
    const roleCell = cell('role');
    if (roleCell !== null) {
      const key = roleCell.toLowerCase().replace(/[\s_]+/g, '-');
      if ((IMPORT_ROLES as readonly string[]).includes(key)) role = key as ImportRole;
      else fail('role', `unknown role "${roleCell}" (roles: ${IMPORT_ROLES.join(', ')}, or empty for none)`, `不明角色「${roleCell}」（角色：${IMPORT_ROLES.join('、')}，或留空表示沒有）`);
      if (role === 'store-manager' && siteEntries.length === 0) {
        fail('sites', 'a store-manager needs at least one site', '店舖經理必須最少有一個地點');
      }
    }

    const phone = checkPhone(cell('phone'), fail);

    const email = cell('email');
    if (email !== null && !Email.safeParse(email).success) fail('email', `"${email}" is not an e-mail address`, `「${email}」不是有效的電郵地址`);

    const badges: Credential[] = [];
    const claim = (credential: Credential, column: ImportColumn) => {
      const key = credentialKey(credential);
      const owner = badgeOwners.get(key);
      if (owner !== undefined && (owner.employeeNumber !== employeeNumber || owner.row !== row)) {
        fail(column, `badge ${key} is also given to employee ${owner.employeeNumber} on row ${owner.row}`, `員工卡 ${key} 亦已在第 ${owner.row} 列編配給員工 ${owner.employeeNumber}`);
        return false;
      }
      if (owner !== undefined) {
        fail(column, `badge ${key} is listed twice`, `員工卡 ${key} 重複列出`);
        return false;
      }
      const holder = context.badgeHolder(key);
      if (holder !== undefined && holder !== employeeNumber) {
        const { message, messageZh } = heldBadgeMessage(key, holder);
        fail(column, message, messageZh);
        return false;
      }
      const reading = wiegand26Reading(credential);
      const lookalike = reading === undefined ? undefined : this.readingOwners.get(reading)?.find((other) => other.employeeNumber !== employeeNumber && mistakableFor(other.credential, credential));
      if (lookalike) {
        const { message, messageZh } = mistakableBadgeMessage(key, credentialKey(lookalike.credential), lookalike.employeeNumber, lookalike.row);
        fail(column, message, messageZh);
        return false;
      }
      const held = context.mistakableHolder(credential, employeeNumber);
      if (held) {
        const { message, messageZh } = mistakableBadgeMessage(key, held.key, held.holder);
        fail(column, message, messageZh);
        return false;
      }
      if (employeeNumber !== null) {
        badgeOwners.set(key, { employeeNumber, row });
        if (reading !== undefined) this.readingOwners.set(reading, [...(this.readingOwners.get(reading) ?? []), { employeeNumber, row, credential }]);
      }
      return true;
    };
    for (const entry of (cell('badges') ?? '').split(BADGE_SEPARATOR).map((s) => s.trim()).filter((s) => s !== '')) {
      const at = entry.indexOf(':');
      const kind = CredentialKind.safeParse(at < 0 ? '' : entry.slice(0, at).trim().toLowerCase());
      if (at < 0 || !kind.success) {
        fail('badges', `badge "${entry}" must look like kind:uid with kind one of ${CredentialKind.options.join(', ')}`, `員工卡「${entry}」格式應為「類別:編號」，類別為 ${CredentialKind.options.join('、')} 之一`);
        continue;
      }
      const credential = credentialOf(kind.data, entry.slice(at + 1).trim(), 'badges', fail);
      if (credential && claim(credential, 'badges')) badges.push(credential);
    }

    let bleTag: Credential | null = null;
    const tagCell = cell('ble_tag');
    if (tagCell !== null) {
      // A tag's id is often written as a MAC address: C3:00:00:12:34:56.
      const credential = credentialOf('ble-tag', tagCell.replace(/[:\s-]/g, ''), 'ble_tag', fail);
      if (credential && claim(credential, 'ble_tag')) bleTag = credential;
    }

    let bleConsent: { date: string | null } | null = null;
    const consentCell = cell('ble_consent');
    if (consentCell !== null) {
      const lower = consentCell.toLowerCase();
      const day = calendarDay(consentCell);
      if (YES.has(lower)) bleConsent = { date: null };
      else if (day !== undefined) bleConsent = { date: day };
      else if (!NO.has(lower)) fail('ble_consent', `ble_consent "${consentCell}" must be yes, no or the date consent was given (YYYY-MM-DD)`, `藍牙同意「${consentCell}」須為 yes、no 或同意日期（YYYY-MM-DD）`);
      const hasTag = tagCell !== null || badges.some((badge) => badge.kind === 'ble-tag');
      if (bleConsent !== null && !hasTag) fail('ble_consent', 'consent to BLE tracking is given but the row has no ble_tag', '已填寫藍牙同意，但此列沒有藍牙標籤');
    }

    const day = (column: 'start_date' | 'end_date'): string | null => {
      const value = cell(column);
      if (value === null) return null;
      const parsed = calendarDay(value);
      if (parsed === undefined) fail(column, `${column} "${value}" is not a date YYYY-MM-DD`, `${COLUMN_ZH[column]}「${value}」不是 YYYY-MM-DD 格式的日期`);
      return parsed ?? null;
    };
    const activeFrom = day('start_date');
    const activeUntil = day('end_date');
    if (activeFrom !== null && activeUntil !== null && activeUntil < activeFrom) {
      fail('end_date', `end_date ${activeUntil} is before start_date ${activeFrom}`, `離職日期 ${activeUntil} 早於入職日期 ${activeFrom}`);
    }

    let status: 'active' | 'inactive' = 'active';
    const statusCell = cell('status');
    if (statusCell !== null) {
      const parsed = STATUS[statusCell.toLowerCase()];
      if (parsed === undefined) fail('status', `status "${statusCell}" must be active or inactive`, `狀態「${statusCell}」須為 active 或 inactive`);
      else status = parsed;
    }

    if (rowErrors.length > 0 || employeeNumber === null) return { errors: rowErrors };
    return {
      errors: [],
      valid: {
        row,
        columns,
        employeeNumber,
        name: cell('name') ?? '',
        nameZh: cell('name_zh'),
        department,
        rank: cell('rank'),
        role,
        phone,
        email,
        sites,
        badges,
        bleTag,
        bleConsent,
        activeFrom,
        activeUntil,
        status,
      },
    };
  }
}

type Fail = (column: string, message: string, messageZh: string) => void;

function credentialOf(kind: CredentialKind, uid: string, column: ImportColumn, fail: Fail): Credential | undefined {
  try {
    return normalizeCredential({ kind, uid });
  } catch (error) {
    if (!(error instanceof CredentialError)) throw error;
    fail(column, error.message, `${COLUMN_ZH[column]}編號不正確（${error.message}）`);
    return undefined;
  }
}

/**
 * Hong Kong numbers as 8 digits (spaces, dashes and brackets allowed; 852 or +852 in front too),
 * other countries as full international numbers; stored as E.164.
 */
function checkPhone(value: string | null, fail: Fail): string | null {
  if (value === null) return null;
  if (/^\d(?:\.\d+)?E\+\d+$/i.test(value)) {
    fail('phone', `phone "${value}" was turned into a number by Excel: format the column as Text and type the number again`, `電話「${value}」已被 Excel 轉成數值：請將該欄設為「文字」格式後重新輸入`);
    return null;
  }
  const compact = value.replace(/[\s().-]/g, '');
  const hk = /^(?:\+?852)?(\d{8})$/.exec(compact);
  if (hk) {
    const local = hk[1]!;
    const parsed = HK_LOCAL.test(local) ? parsePhoneNumberFromString(local, 'HK') : undefined;
    if (parsed?.isValid()) return parsed.number;
    fail('phone', `phone "${value}" is not a Hong Kong number (8 digits starting with 2, 3, 5, 6, 7, 8 or 9)`, `電話「${value}」不是有效的香港號碼（以 2、3、5、6、7、8 或 9 開首的 8 位數字）`);
    return null;
  }
  const parsed = compact.startsWith('+') ? parsePhoneNumberFromString(compact) : undefined;
  if (parsed?.isValid()) return parsed.number;
  fail('phone', `phone "${value}" must be a Hong Kong number of 8 digits or a full international number starting with + and the country code`, `電話「${value}」須為 8 位數字的香港號碼，或以「+」及國家代碼開首的完整國際號碼`);
  return null;
}
