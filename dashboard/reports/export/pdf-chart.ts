import type { ArrivalHistogram } from '../report-table.js';
import { pickText, type ExportLanguage } from './export-options.js';
import { LABELS } from './labels.js';
import { FONT, INK } from './pdf-frame.js';

export const CHART_HEIGHT = 190;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Light for arrivals before the shift's start, dark from it on; the dashed line marks the start, so shade is never the only sign. */
const BEFORE_FILL = '#b8b8b8';
const FROM_FILL = '#3c3c3c';
const GRID = '#d6d6d6';
const SMALL = 6.5;

/**
 * An arrival histogram as a vector bar chart: one bar per bucket, its count above it, the bucket's
 * start time under it, a dashed line where the shift starts. Late-arrival hotspots show as tall
 * dark bars to the right of the line.
 */
export function drawHistogram(doc: PDFKit.PDFDocument, chart: ArrivalHistogram, box: Box, language: ExportLanguage): void {
  doc.fillColor(INK).font(FONT.bold).fontSize(10);
  doc.text(pickText(chart.title, language), box.x, box.y, { lineBreak: false });
  drawLegend(doc, box, language);

  const plot = { left: box.x + 30, right: box.x + box.width - 6, top: box.y + 34, bottom: box.y + box.height - 22 };
  const buckets = chart.buckets;
  if (buckets.length === 0) {
    doc.font(FONT.regular).fontSize(9).text(pickText(LABELS.noArrivals, language), plot.left, plot.top + 20, { lineBreak: false });
    return;
  }
  const most = Math.max(1, ...buckets.map((bucket) => bucket.count));
  const heightOf = (count: number): number => ((plot.bottom - plot.top) * count) / most;

  // Grid and count axis: 0, half and the highest count.
  doc.font(FONT.regular).fontSize(SMALL);
  for (const tick of [...new Set([0, Math.round(most / 2), most])]) {
    const y = plot.bottom - heightOf(tick);
    doc.save().moveTo(plot.left, y).lineTo(plot.right, y).lineWidth(0.4).strokeColor(GRID).stroke().restore();
    const label = String(tick);
    doc.fillColor(INK).text(label, plot.left - 4 - doc.widthOfString(label), y - SMALL / 2, { lineBreak: false });
  }
  doc.text(pickText(LABELS.count, language), box.x, plot.top - 14, { lineBreak: false });

  const slot = (plot.right - plot.left) / buckets.length;
  const barWidth = Math.max(1, slot * 0.72);
  const labelEvery = Math.max(1, Math.ceil((doc.widthOfString('00:00') + 4) / slot));
  buckets.forEach((bucket, index) => {
    const center = plot.left + slot * index + slot / 2;
    const height = heightOf(bucket.count);
    if (height > 0) {
      doc.rect(center - barWidth / 2, plot.bottom - height, barWidth, height).fill(bucket.offsetMinutes < 0 ? BEFORE_FILL : FROM_FILL);
    }
    doc.fillColor(INK).font(FONT.regular).fontSize(SMALL);
    if (bucket.count > 0) {
      const count = String(bucket.count);
      doc.text(count, center - doc.widthOfString(count) / 2, plot.bottom - height - SMALL - 2, { lineBreak: false });
    }
    if (index % labelEvery === 0) doc.text(bucket.label, center - doc.widthOfString(bucket.label) / 2, plot.bottom + 4, { lineBreak: false });
  });
  doc.save().moveTo(plot.left, plot.bottom).lineTo(plot.right, plot.bottom).moveTo(plot.left, plot.bottom).lineTo(plot.left, plot.top).lineWidth(0.8).strokeColor(INK).stroke().restore();

  drawShiftStart(doc, chart, plot, slot, language);
}

/** The dashed line at the shift's start: where offset 0 falls among the buckets (between bars when a bucket starts on it). */
function drawShiftStart(doc: PDFKit.PDFDocument, chart: ArrivalHistogram, plot: { left: number; right: number; top: number; bottom: number }, slot: number, language: ExportLanguage): void {
  const first = chart.buckets[0];
  if (!first || chart.bucketMinutes <= 0) return;
  const x = plot.left + ((0 - first.offsetMinutes) / chart.bucketMinutes) * slot;
  if (x < plot.left || x > plot.right) return;
  // Labelled under the time axis: above the plot it would collide with the tallest bar's count.
  const labelY = plot.bottom + 13;
  doc.save().moveTo(x, plot.top - 4).lineTo(x, labelY + SMALL).lineWidth(1.2).dash(3, { space: 2 }).strokeColor(INK).stroke().undash().restore();
  doc.fillColor(INK).font(FONT.bold).fontSize(SMALL);
  const label = pickText(LABELS.shiftStart, language);
  const labelX = Math.min(x + 3, plot.right - doc.widthOfString(label));
  doc.text(label, labelX, labelY, { lineBreak: false });
}

function drawLegend(doc: PDFKit.PDFDocument, box: Box, language: ExportLanguage): void {
  doc.font(FONT.regular).fontSize(7.5);
  const entries: Array<[string, string]> = [
    [BEFORE_FILL, pickText(LABELS.beforeStart, language)],
    [FROM_FILL, pickText(LABELS.fromStart, language)],
  ];
  let x = box.x + box.width - entries.reduce((sum, [, text]) => sum + 18 + doc.widthOfString(text), 0);
  const y = box.y + 2;
  for (const [fill, text] of entries) {
    doc.rect(x, y, 8, 8).fill(fill);
    doc.fillColor(INK).text(text, x + 11, y, { lineBreak: false });
    x += 18 + doc.widthOfString(text);
  }
}
