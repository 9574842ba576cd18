/**
 * Report exports: a ReportTable rendered as CSV, XLSX or PDF onto a Writable, streaming its rows.
 * Each writer resolves when `out` has finished; on failure (the rows throw, `out` fails) it rejects
 * with that error and destroys `out` with it, so a partial file is never taken for a whole one.
 */
import type { Writable } from 'node:stream';
import type { ReportTable } from '../report-table.js';
import { writeCsv } from './csv-writer.js';
import type { ExportOptions } from './export-options.js';
import { writePdf } from './pdf-writer.js';
import { writeXlsx } from './xlsx-writer.js';

export { writeCsv } from './csv-writer.js';
export { writeXlsx, XLSX_HEADER_ROW } from './xlsx-writer.js';
export { writePdf } from './pdf-writer.js';
export { guardFormula, looksLikeFormula } from './formula-guard.js';
export { cjkFontFiles } from './cjk-font.js';
export { pickText, type ExportLanguage, type ExportOptions } from './export-options.js';

export type ExportFormat = 'csv' | 'xlsx' | 'pdf';

export interface ExportFormatInfo {
  contentType: string;
  extension: string;
  write(table: ReportTable, out: Writable, options: ExportOptions): Promise<void>;
}

/** What a download route needs per format. */
export const EXPORT_FORMATS: Record<ExportFormat, ExportFormatInfo> = {
  csv: { contentType: 'text/csv; charset=utf-8', extension: 'csv', write: writeCsv },
  xlsx: { contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', extension: 'xlsx', write: writeXlsx },
  pdf: { contentType: 'application/pdf', extension: 'pdf', write: writePdf },
};
