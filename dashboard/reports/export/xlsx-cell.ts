import type { CellValue, ColumnKind } from '../report-table.js';
import { cellText } from './cell-text.js';
import type { ExportLanguage } from './export-options.js';
import { guardFormula } from './formula-guard.js';

export interface XlsxCell {
  /** null leaves the cell empty; a string is always written as text, never as a formula. */
  value: string | number | Date | null;
  numFmt?: string;
  /** Text with a line break, shown on several lines. */
  wrap?: boolean;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * A cell as Excel should hold it: counts, minutes and hours as numbers (so SUM works), days as
 * dates and times of day as times (so sorting and filtering work), and everything else as text,
 * formula-guarded. A value that does not fit its column's kind is kept as guarded text rather than
 * dropped, so nothing a builder produced is lost.
 */
export function xlsxCell(value: CellValue | undefined, kind: ColumnKind, language: ExportLanguage): XlsxCell {
  if (value === undefined || value === null) return { value: null };
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (kind === 'minutes') return { value, numFmt: '0' };
    if (kind === 'hours') return { value, numFmt: '0.00' };
    if (kind === 'number') return { value };
  }
  if (typeof value === 'string') {
    if (kind === 'date') {
      const date = excelDate(value);
      if (date) return { value: date, numFmt: 'yyyy-mm-dd' };
    }
    if (kind === 'time') {
      const match = TIME.exec(value);
      // Excel keeps a time of day as a fraction of a day.
      if (match) return { value: (Number(match[1]) * 60 + Number(match[2])) / 1440, numFmt: 'hh:mm' };
    }
  }
  const text = cellText(value, kind, language);
  if (text === '') return { value: null };
  // Excel's own line break in a cell is LF; a CR would be lost anyway, since XML reads CRLF and
  // CR as LF. Guarded first, so "\r=1+1" still gets its quote.
  const guarded = guardFormula(text).replace(/\r\n?/g, '\n');
  return guarded.includes('\n') ? { value: guarded, wrap: true } : { value: guarded };
}

/** A YYYY-MM-DD day as the UTC midnight exceljs turns into an Excel serial day; undefined if it is no real day. */
function excelDate(text: string): Date | undefined {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  // 2024-02-30 would roll over to March: that is not the day the builder meant.
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? date : undefined;
}
