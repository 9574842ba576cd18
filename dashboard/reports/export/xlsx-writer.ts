import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { ReportRow, ReportTable } from '../report-table.js';
import { cellOf } from './cell-text.js';
import { columnWidth } from './column-width.js';
import { pickText, type ExportOptions } from './export-options.js';
import { guardFormula } from './formula-guard.js';
import { LABELS } from './labels.js';
import { failOutput, outputFailure, reportErrorsThroughPromise } from './output-stream.js';
import { addChartSheet } from './xlsx-charts.js';
import { xlsxCell } from './xlsx-cell.js';
import { keepPace } from './xlsx-pace.js';
import { emphasisFill, emphasisFont, HEADER_FILL, HEADER_FONT, TITLE_FONT } from './xlsx-style.js';

/** Row 1 the title, row 2 the subtitle (or empty), row 3 the headers, data from row 4: fixed, so a macro can rely on it. */
export const XLSX_HEADER_ROW = 3;

/**
 * An .xlsx workbook, streamed: exceljs's WorkbookWriter writes each row into the zip as soon as it
 * is committed, so a month for thousands of employees never sits in memory. The report sheet
 * comes first, its header row bold and frozen with a filter on it; each arrival histogram follows on
 * a sheet of its own. Strings are inline (no shared-strings table, which would grow with the rows).
 */
export async function writeXlsx(table: ReportTable, out: Writable, options: ExportOptions): Promise<void> {
  const { language, logger } = options;
  reportErrorsThroughPromise(out);
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  workbook.creator = 'punchgate';
  workbook.title = pickText(table.title, language);
  const columnCount = table.columns.length;
  const sheet = workbook.addWorksheet(pickText(LABELS.report, language), {
    views: [{ state: 'frozen', ySplit: XLSX_HEADER_ROW }],
  });
  // The streaming sheet writes its filter when it is committed, so setting it here is in time.
  if (columnCount > 0) sheet.autoFilter = { from: { row: XLSX_HEADER_ROW, column: 1 }, to: { row: XLSX_HEADER_ROW, column: columnCount } };
  sheet.columns = table.columns.map((column) => ({ key: column.key, width: columnWidth(column, language) }));

  let rowCount = 0;
  try {
    const title = sheet.addRow([guardFormula(pickText(table.title, language))]);
    title.getCell(1).font = TITLE_FONT;
    title.commit();
    sheet.addRow(table.subtitle ? [guardFormula(pickText(table.subtitle, language))] : []).commit();
    const header = sheet.addRow(table.columns.map((column) => guardFormula(pickText(column.header, language))));
    header.eachCell((cell) => {
      cell.font = HEADER_FONT;
      cell.fill = HEADER_FILL;
    });
    header.commit();

    for await (const row of table.rows) {
      const failure = outputFailure(out);
      if (failure) throw failure;
      addDataRow(sheet, table, row, language);
      rowCount += 1;
      await keepPace(sheet, out);
    }
    sheet.commit();
    (table.charts ?? []).forEach((chart, index) => addChartSheet(workbook, chart, index, language));
    // Resolves once `out` has emitted 'finish'.
    await workbook.commit();
  } catch (error) {
    logger?.warn({ err: error, rows: rowCount }, 'XLSX export failed');
    throw failOutput(out, error);
  }
  logger?.debug({ rows: rowCount }, 'XLSX export written');
}

function addDataRow(sheet: ExcelJS.Worksheet, table: ReportTable, row: ReportRow, language: ExportOptions['language']): void {
  const cells = table.columns.map((column) => xlsxCell(cellOf(row, column), column.kind, language));
  const added = sheet.addRow(cells.map((cell) => cell.value));
  const fill = emphasisFill(row.emphasis);
  const font = emphasisFont(row.emphasis);
  cells.forEach((cell, index) => {
    // getCell makes the cell if it is empty, so a highlighted row is filled across, gaps included.
    const target = added.getCell(index + 1);
    if (cell.numFmt) target.numFmt = cell.numFmt;
    if (cell.wrap) target.alignment = { wrapText: true, vertical: 'top' };
    if (fill) target.fill = fill;
    if (font) target.font = font;
  });
  added.commit();
}
