import type { Workbook } from 'exceljs';
import type { ArrivalHistogram } from '../report-table.js';
import { pickText, type ExportLanguage } from './export-options.js';
import { guardFormula } from './formula-guard.js';
import { LABELS } from './labels.js';
import { HEADER_FILL, HEADER_FONT, TITLE_FONT } from './xlsx-style.js';

/** The longest bar, in characters. */
const BAR_WIDTH = 30;
const HEADER_ROW = 3;

/**
 * exceljs cannot draw charts, so an arrival histogram becomes its own sheet: one row per bucket
 * with its start time, its distance from the shift's start, its count as a number (for the
 * reader's own chart) and a bar of block characters to see the shape at a glance. The bucket the
 * shift starts in is marked in words.
 */
export function addChartSheet(workbook: Workbook, chart: ArrivalHistogram, index: number, language: ExportLanguage): void {
  const name = pickText({ en: `${LABELS.chart.en} ${index + 1}`, zh: `${LABELS.chart.zh} ${index + 1}` }, language);
  const sheet = workbook.addWorksheet(name, { views: [{ state: 'frozen', ySplit: HEADER_ROW }] });
  sheet.columns = [{ width: 16 }, { width: 24 }, { width: 10 }, { width: BAR_WIDTH + 2 }, { width: 24 }];

  const title = sheet.addRow([guardFormula(pickText(chart.title, language))]);
  title.getCell(1).font = TITLE_FONT;
  title.commit();
  sheet.addRow([]).commit();

  const header = sheet.addRow([LABELS.bucket, LABELS.offset, LABELS.count, LABELS.bar, LABELS.shiftStart].map((label) => pickText(label, language)));
  header.eachCell((cell) => {
    cell.font = HEADER_FONT;
    cell.fill = HEADER_FILL;
  });
  header.commit();

  const most = Math.max(0, ...chart.buckets.map((bucket) => bucket.count));
  for (const bucket of chart.buckets) {
    const bar = most === 0 ? '' : '█'.repeat(Math.round((bucket.count / most) * BAR_WIDTH));
    const startsShift = bucket.offsetMinutes <= 0 && 0 < bucket.offsetMinutes + chart.bucketMinutes;
    const note = startsShift ? `← ${pickText(LABELS.shiftStart, language)}` : '';
    sheet.addRow([guardFormula(bucket.label), bucket.offsetMinutes, bucket.count, bar, note]).commit();
  }
  if (chart.buckets.length === 0) sheet.addRow([pickText(LABELS.noArrivals, language)]).commit();
  sheet.commit();
}
