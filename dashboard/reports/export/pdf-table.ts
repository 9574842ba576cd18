import type { ColumnKind, ReportColumn, ReportRow, RowEmphasis } from '../report-table.js';
import { cellOf, cellText, isNumericKind } from './cell-text.js';
import { columnWidth } from './column-width.js';
import { pickText, type ExportLanguage } from './export-options.js';
import { FONT, INK, type PdfFrame } from './pdf-frame.js';

const FONT_SIZE = 8;
const PAD_X = 3;
const PAD_Y = 2.5;
/** A cell longer than this many lines is cut with an ellipsis, so one row can never outgrow a page. */
const MAX_LINES = 3;
const MARK_WIDTH = 16;
const HEADER_SHADE = '#d0d0d0';
/** Greys, not colours: a report is often printed in black and white. Bold and the mark say it too. */
const ROW_SHADE: Record<Exclude<RowEmphasis, 'normal'>, string> = { exception: '#d9d9d9', warning: '#eeeeee' };
const MARK: Record<RowEmphasis, string> = { normal: '', warning: '!', exception: '!!' };
const RULE = '#9a9a9a';

interface Cell {
  text: string;
  x: number;
  width: number;
  align: 'left' | 'right';
}

/**
 * The report's table on A4 landscape pages: a narrow first column with a mark ("!" warning,
 * "!!" exception) so an emphasised row is told apart without colour, then the report's columns,
 * their widths in proportion to each column's width hint. The header is drawn again at the top of
 * every page; long text wraps up to three lines.
 */
export class PdfTable {
  private readonly xs: number[] = [];
  private readonly widths: number[] = [];

  constructor(
    private readonly doc: PDFKit.PDFDocument,
    private readonly frame: PdfFrame,
    private readonly columns: ReportColumn[],
    private readonly language: ExportLanguage,
  ) {
    const hints = columns.map((column) => columnWidth(column, language));
    const total = hints.reduce((sum, hint) => sum + hint, 0) || 1;
    const share = (frame.width - MARK_WIDTH) / total;
    let x = frame.left + MARK_WIDTH;
    for (const hint of hints) {
      this.xs.push(x);
      this.widths.push(hint * share);
      x += hint * share;
    }
  }

  /** Starts the table where the page is, or on a new page if not even the header and one row fit. */
  begin(): void {
    if (!this.frame.fits(this.headerHeight() + this.lineHeight(1) * 2)) this.frame.newPage();
    this.drawHeader();
  }

  drawRow(row: ReportRow): void {
    const emphasis = row.emphasis ?? 'normal';
    const font = emphasis === 'exception' ? FONT.bold : FONT.regular;
    const cells = this.columns.map((column, index) => this.cell(pdfText(cellText(cellOf(row, column), column.kind, this.language)), index, column.kind));
    const height = this.rowHeight(cells, font);
    if (!this.frame.fits(height)) {
      this.frame.newPage();
      this.drawHeader();
    }
    const y = this.frame.y;
    const doc = this.doc;
    if (emphasis !== 'normal') doc.rect(this.frame.left, y, this.frame.width, height).fill(ROW_SHADE[emphasis]);
    doc.fillColor(INK);
    this.drawText(MARK[emphasis], { text: MARK[emphasis], x: this.frame.left, width: MARK_WIDTH, align: 'left' }, y, FONT.bold);
    for (const cell of cells) this.drawText(cell.text, cell, y, font);
    this.rule(y + height, 0.3);
    this.frame.y = y + height;
  }

  private drawHeader(): void {
    const doc = this.doc;
    const y = this.frame.y;
    const height = this.headerHeight();
    doc.rect(this.frame.left, y, this.frame.width, height).fill(HEADER_SHADE);
    doc.fillColor(INK);
    this.columns.forEach((column, index) => {
      const cell = this.cell(pdfText(pickText(column.header, this.language)), index, column.kind);
      this.drawText(cell.text, cell, y, FONT.bold);
    });
    this.rule(y + height, 0.8);
    this.frame.y = y + height;
  }

  private headerHeight(): number {
    const cells = this.columns.map((column, index) => this.cell(pdfText(pickText(column.header, this.language)), index, column.kind));
    return this.rowHeight(cells, FONT.bold);
  }

  private cell(text: string, index: number, kind: ColumnKind): Cell {
    return { text, x: this.xs[index] ?? this.frame.left, width: this.widths[index] ?? 0, align: isNumericKind(kind) ? 'right' : 'left' };
  }

  private rowHeight(cells: Cell[], font: string): number {
    this.doc.font(font).fontSize(FONT_SIZE);
    let lines = 1;
    for (const cell of cells) lines = Math.max(lines, this.linesOf(cell));
    return this.lineHeight(lines);
  }

  private lineHeight(lines: number): number {
    return this.doc.fontSize(FONT_SIZE).currentLineHeight(true) * lines + PAD_Y * 2;
  }

  /** How many lines a cell wraps to (at most MAX_LINES); measured only when it cannot fit on one. */
  private linesOf(cell: Cell): number {
    const inner = Math.max(cell.width - PAD_X * 2, 1);
    if (!cell.text.includes('\n') && this.doc.widthOfString(cell.text) <= inner) return 1;
    const height = this.doc.heightOfString(cell.text, { width: inner });
    return Math.min(MAX_LINES, Math.max(1, Math.round(height / this.doc.currentLineHeight(true))));
  }

  private drawText(text: string, cell: Cell, y: number, font: string): void {
    if (text === '') return;
    const doc = this.doc.font(font).fontSize(FONT_SIZE);
    const inner = Math.max(cell.width - PAD_X * 2, 1);
    const top = y + PAD_Y;
    const textWidth = doc.widthOfString(text);
    if (!text.includes('\n') && textWidth <= inner) {
      // One line: placed by hand, which is much cheaper than pdfkit's line wrapper over 100,000 rows.
      const x = cell.align === 'right' ? cell.x + cell.width - PAD_X - textWidth : cell.x + PAD_X;
      doc.text(text, x, top, { lineBreak: false });
      return;
    }
    // With a height, pdfkit's wrapper stops there (ellipsis) instead of starting a page of its own.
    doc.text(text, cell.x + PAD_X, top, { width: inner, height: doc.currentLineHeight(true) * MAX_LINES, ellipsis: true, align: cell.align });
  }

  private rule(y: number, lineWidth: number): void {
    this.doc.save().moveTo(this.frame.left, y).lineTo(this.frame.left + this.frame.width, y).lineWidth(lineWidth).strokeColor(RULE).stroke().restore();
  }
}

/** pdfkit breaks lines only at LF and draws a CR or a tab as a missing-glyph box: make them a line break and a space. */
function pdfText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/\t/g, ' ');
}
