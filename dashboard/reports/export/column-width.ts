import type { ColumnKind, ReportColumn } from '../report-table.js';
import { pickText, type ExportLanguage } from './export-options.js';

/** Widths in characters when a column gives none: enough for a date, a time, a count, a name. */
const DEFAULT_WIDTH: Record<ColumnKind, number> = {
  text: 18,
  number: 8,
  minutes: 8,
  hours: 8,
  date: 11,
  time: 7,
};

/** How many character cells a string takes: a CJK character is as wide as two Latin ones. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|[\u{20000}-\u{3fffd}]/u.test(char) ? 2 : 1;
  return width;
}

/**
 * A column's width in characters: its hint (or the default for its kind), widened to fit its
 * header's longest word-group so "Employee no. 員工編號" is not cut, but never past 40.
 */
export function columnWidth(column: ReportColumn, language: ExportLanguage): number {
  const hint = column.width ?? DEFAULT_WIDTH[column.kind];
  const header = pickText(column.header, language);
  return Math.max(hint, Math.min(displayWidth(header) + 2, 40));
}
