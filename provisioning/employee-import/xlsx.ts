import ExcelJS from 'exceljs';
import { stringify } from 'csv-stringify/sync';
import { COLUMN_ZH, IMPORT_COLUMNS, templateRow } from './columns.js';
import { ImportFileError } from './decode-file.js';

/**
 * The import in Excel's own format: the template to download (the columns, an example row and the
 * role-based access matrix on a second sheet) and reading an uploaded workbook's first sheet into
 * the same CSV text the CSV path checks, so that both go through one validator.
 */

/** One permission of the console with the roles that have it: the matrix on the template's "Roles" sheet. */
export interface RoleMatrixRow {
  permission: string;
  description: string;
  roles: Record<string, boolean>;
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** Whether the bytes are a ZIP container (an .xlsx workbook), not text. */
export function isXlsx(bytes: Buffer): boolean {
  return bytes.subarray(0, 4).equals(ZIP_MAGIC);
}

export async function templateXlsx(roles: readonly string[], matrix: readonly RoleMatrixRow[]): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Employees 員工');
  sheet.addRow([...IMPORT_COLUMNS]);
  sheet.addRow(IMPORT_COLUMNS.map((column) => COLUMN_ZH[column]));
  // The Chinese names are a second header for people; the import takes either, so it skips this row as a note.
  sheet.getRow(2).font = { italic: true, color: { argb: 'FF666666' } };
  sheet.addRow(IMPORT_COLUMNS.map((column) => templateRow()[column]));
  sheet.getRow(1).font = { bold: true };
  // Text, so that Excel keeps phone numbers, badge UIDs and dates as typed (no 9.12E+07).
  IMPORT_COLUMNS.forEach((_, index) => {
    const column = sheet.getColumn(index + 1);
    column.numFmt = '@';
    column.width = 18;
  });
  sheet.views = [{ state: 'frozen', ySplit: 2 }];

  const matrixSheet = workbook.addWorksheet('Roles 角色');
  matrixSheet.addRow(['permission 權限', 'what it allows', ...roles]);
  matrixSheet.getRow(1).font = { bold: true };
  for (const row of matrix) matrixSheet.addRow([row.permission, row.description, ...roles.map((role) => (row.roles[role] ? 'yes' : '—'))]);
  matrixSheet.getColumn(1).width = 24;
  matrixSheet.getColumn(2).width = 70;
  matrixSheet.addRow([]);
  matrixSheet.addRow(['role column', 'admin, hr, facilities, store-manager (its sites: the sites column), or empty for no console account']);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** A cell's value as the text a CSV would hold: dates as YYYY-MM-DD, formulas as their result. */
function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'object') {
    if ('result' in value) return cellText(value.result as ExcelJS.CellValue);
    if ('richText' in value) return value.richText.map((part) => part.text).join('');
    if ('text' in value) return String(value.text);
    if ('error' in value) return String(value.error);
    return '';
  }
  return String(value);
}

/**
 * The first sheet of an uploaded workbook as CSV text (UTF-8), without the template's row of
 * Chinese column names. Throws ImportFileError when the bytes are not a workbook.
 */
export async function xlsxToCsvText(bytes: Buffer): Promise<string> {
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  } catch (error) {
    throw new ImportFileError(`the file is not a readable Excel workbook (${(error as Error).message})`, `檔案不是可讀取的 Excel 活頁簿（${(error as Error).message}）`);
  }
  const sheet = workbook.worksheets[0];
  if (!sheet) throw new ImportFileError('the workbook has no sheet', '活頁簿沒有工作表');
  const rows: string[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row, number) => {
    const cells: string[] = [];
    for (let column = 1; column <= row.cellCount; column++) cells.push(cellText(row.getCell(column).value).trim());
    while (rows.length < number - 1) rows.push([]);
    rows.push(cells);
  });
  const chineseHeader = IMPORT_COLUMNS.map((column) => COLUMN_ZH[column]);
  if (rows[1] && rows[1].length > 0 && rows[1].every((cell, index) => cell === '' || cell === chineseHeader[index])) rows[1] = [];
  return stringify(rows);
}
