import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { ReportColumn, ReportRow, ReportTable } from '../report-table.js';
import { cellOf, cellText, isNumericKind } from './cell-text.js';
import { pickText, type ExportLanguage, type ExportOptions } from './export-options.js';
import { guardFormula } from './formula-guard.js';
import { reportErrorsThroughPromise } from './output-stream.js';

/**
 * CSV for Excel and for payroll systems: RFC 4180 quoting, CRLF line ends, UTF-8 with a BOM (without
 * it Excel reads the file as the local code page and Chinese names turn into mojibake). One header
 * row, then one record per row; no title lines and no charts, so a program can read it as it is.
 */
export async function writeCsv(table: ReportTable, out: Writable, options: ExportOptions): Promise<void> {
  const { language, logger } = options;
  reportErrorsThroughPromise(out);
  let rowCount = 0;
  // Readable.from pulls this generator one record at a time, only when the stringifier and `out`
  // have room: that is the backpressure, and no row is held after it is written.
  async function* records(): AsyncGenerator<string[]> {
    yield table.columns.map((column) => guardFormula(pickText(column.header, language)));
    for await (const row of table.rows) {
      rowCount += 1;
      yield csvRecord(row, table.columns, language);
    }
  }
  const stringifier = stringify({
    bom: true,
    record_delimiter: 'windows',
    // csv-stringify quotes a field with a comma or a quote but not one with a bare line break;
    // RFC 4180 requires that too, or a note with a newline would split its row in two.
    quoted_match: /[\r\n]/,
  });
  try {
    // pipeline ends `out` when done and, on any failure, destroys it with the error.
    await pipeline(records, stringifier, out);
  } catch (error) {
    logger?.warn({ err: error, rows: rowCount }, 'CSV export failed');
    throw error;
  }
  logger?.debug({ rows: rowCount }, 'CSV export written');
}

function csvRecord(row: ReportRow, columns: ReportColumn[], language: ExportLanguage): string[] {
  return columns.map((column) => {
    const value = cellOf(row, column);
    const text = cellText(value, column.kind, language);
    // A real number is data, not a formula: "-15" minutes must stay a number Excel can add up.
    return isNumericKind(column.kind) && typeof value === 'number' ? text : guardFormula(text);
  });
}
