import type { ReportTable } from '../report-table.js';
import { pickText, type ExportLanguage } from './export-options.js';
import { LABELS, pageLabel } from './labels.js';

/** Names the two embedded faces are registered under. */
export const FONT = { regular: 'punchgate-regular', bold: 'punchgate-bold' } as const;
export const MARGIN = { top: 30, bottom: 34, left: 30, right: 30 } as const;
export const INK = '#000000';

/**
 * The pages of a report: each one gets the report's title at the top and, at the bottom, what the
 * row marks mean and its number. The number is "Page 3", not "3 of 10": pages are sent to `out` as
 * they fill, so the count is not known yet (pdfkit could buffer every page to learn it, which is
 * what streaming is there to avoid).
 */
export class PdfFrame {
  pageNumber = 0;
  /** Where the next thing on the page goes. */
  y = 0;

  constructor(
    private readonly doc: PDFKit.PDFDocument,
    private readonly table: ReportTable,
    private readonly language: ExportLanguage,
  ) {}

  get left(): number {
    return MARGIN.left;
  }

  get width(): number {
    return this.doc.page.width - MARGIN.left - MARGIN.right;
  }

  get bottom(): number {
    return this.doc.page.height - MARGIN.bottom;
  }

  fits(height: number): boolean {
    return this.y + height <= this.bottom;
  }

  newPage(): void {
    const doc = this.doc;
    doc.addPage();
    this.pageNumber += 1;
    this.drawFooter();
    doc.fillColor(INK).font(FONT.bold).fontSize(12);
    doc.text(pickText(this.table.title, this.language), MARGIN.left, MARGIN.top, { width: this.width, height: 32, ellipsis: true });
    let y = MARGIN.top + doc.currentLineHeight(true) + 1;
    if (this.table.subtitle) {
      doc.font(FONT.regular).fontSize(8.5);
      doc.text(pickText(this.table.subtitle, this.language), MARGIN.left, y, { width: this.width, height: 24, ellipsis: true });
      y += doc.currentLineHeight(true) + 1;
    }
    this.y = y + 6;
  }

  private drawFooter(): void {
    const doc = this.doc;
    const y = doc.page.height - MARGIN.bottom + 12;
    doc.fillColor(INK).font(FONT.regular).fontSize(7.5);
    const legend = `!  ${pickText(LABELS.warningMark, this.language)}      !!  ${pickText(LABELS.exceptionMark, this.language)}`;
    // No width: pdfkit wraps (and may start a page) only text given a width, and this sits in the margin.
    doc.text(legend, MARGIN.left, y, { lineBreak: false });
    const number = pickText(pageLabel(this.pageNumber), this.language);
    doc.text(number, doc.page.width - MARGIN.right - doc.widthOfString(number), y, { lineBreak: false });
  }
}
