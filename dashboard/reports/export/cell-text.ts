import type { CellValue, ColumnKind, ReportColumn, ReportRow } from '../report-table.js';
import { pickText, type ExportLanguage } from './export-options.js';
import { LABELS } from './labels.js';

/** Kinds whose numbers stay numbers in CSV and XLSX (and are never formula-guarded). */
export function isNumericKind(kind: ColumnKind): boolean {
  return kind === 'number' || kind === 'minutes' || kind === 'hours';
}

/**
 * A cell as text, the same in CSV and PDF. A missing cell (a builder that left a key out) and null
 * are empty, never "undefined" or "null". Hours show two decimals (7.50) so that a column lines up
 * and payroll reads one format; other numbers are shown as they are, without thousands separators
 * that a CSV reader could take for a delimiter.
 */
export function cellText(value: CellValue | undefined, kind: ColumnKind, language: ExportLanguage): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'boolean') return pickText(value ? LABELS.yes : LABELS.no, language);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return '';
    return kind === 'hours' ? value.toFixed(2) : String(value);
  }
  return value;
}

/**
 * The value of a row's cell for a column. Own keys only: a column keyed "constructor" must not
 * pick up Object.prototype's function from a row that lacks it.
 */
export function cellOf(row: ReportRow, column: ReportColumn): CellValue | undefined {
  return Object.hasOwn(row.cells, column.key) ? row.cells[column.key] : undefined;
}
