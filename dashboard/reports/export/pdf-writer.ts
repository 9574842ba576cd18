import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setImmediate } from 'node:timers/promises';
import PDFDocument from 'pdfkit';
import type { ReportTable } from '../report-table.js';
import { cjkFontFiles } from './cjk-font.js';
import { pickText, type ExportOptions } from './export-options.js';
import { failOutput, outputFailure, reportErrorsThroughPromise, waitForDrain } from './output-stream.js';
import { CHART_HEIGHT, drawHistogram } from './pdf-chart.js';
import { FONT, MARGIN, PdfFrame } from './pdf-frame.js';
import { PdfTable } from './pdf-table.js';

/**
 * A4 landscape PDF: title, the arrival charts, then the table, its header repeated on each page.
 * Every glyph, Latin and Chinese, comes from the embedded Noto Sans TC (see cjk-font.ts), subset
 * by pdfkit to the characters used, so 陳大文 prints the same on any machine.
 *
 * pdfkit finishes a page's content when the next page starts, and sends it to `out` then; the
 * writer waits for `out` to drain before it asks for more rows.
 */
export async function writePdf(table: ReportTable, out: Writable, options: ExportOptions): Promise<void> {
  const { language, logger } = options;
  reportErrorsThroughPromise(out);
  let rowCount = 0;
  try {
    const fonts = cjkFontFiles();
    const doc = new PDFDocument({
      size: 'A4',
      layout: 'landscape',
      margins: MARGIN,
      autoFirstPage: false,
      // Buffered pages would keep the whole report in memory until the end.
      bufferPages: false,
      lang: language === 'zh-HK' ? 'zh-HK' : 'en',
      displayTitle: true,
      info: { Title: pickText(table.title, language), Creator: 'punchgate' },
    });
    // By hand rather than doc.pipe(out): the row loop below must see `out` fill up (pipe would
    // pause pdfkit instead, which does not stop pdfkit making pages, only its output).
    doc.on('data', (chunk: Buffer) => {
      if (!out.destroyed) out.write(chunk);
    });
    const docEnded = new Promise<void>((resolve) => doc.once('end', resolve));
    doc.registerFont(FONT.regular, fonts.regular);
    doc.registerFont(FONT.bold, fonts.bold);

    const frame = new PdfFrame(doc, table, language);
    frame.newPage();
    for (const chart of table.charts ?? []) {
      if (!frame.fits(CHART_HEIGHT)) frame.newPage();
      drawHistogram(doc, chart, { x: frame.left, y: frame.y, width: frame.width, height: CHART_HEIGHT }, language);
      frame.y += CHART_HEIGHT + 14;
    }
    const pdfTable = new PdfTable(doc, frame, table.columns, language);
    pdfTable.begin();
    for await (const row of table.rows) {
      const failure = outputFailure(out);
      if (failure) throw failure;
      pdfTable.drawRow(row);
      rowCount += 1;
      // A finished page sits in pdfkit's own buffer until the event loop turns (rows from an async
      // generator arrive on microtasks only, which never let it): without this turn the whole PDF
      // would pile up there and reach `out` only at the end. It happens once a page.
      if (doc.readableLength > 0) await setImmediate();
      if (out.writableNeedDrain) await waitForDrain(out);
    }
    doc.end();
    await docEnded;
    out.end();
    await finished(out);
  } catch (error) {
    logger?.warn({ err: error, rows: rowCount }, 'PDF export failed');
    throw failOutput(out, error);
  }
  logger?.debug({ rows: rowCount }, 'PDF export written');
}
