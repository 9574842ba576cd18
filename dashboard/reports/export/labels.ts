import type { BilingualText } from '../report-table.js';

/** The few words the writers add themselves; everything else comes from the table. */
export const LABELS = {
  yes: { en: 'Yes', zh: '是' },
  no: { en: 'No', zh: '否' },
  page: { en: 'Page', zh: '頁' },
  report: { en: 'Report', zh: '報表' },
  chart: { en: 'Chart', zh: '圖表' },
  bucket: { en: 'Arrived from', zh: '到達時間' },
  offset: { en: 'Minutes from shift start', zh: '與上班時間相差（分鐘）' },
  count: { en: 'Arrivals', zh: '人數' },
  bar: { en: 'Bar', zh: '棒形' },
  shiftStart: { en: 'Shift start', zh: '上班時間' },
  noArrivals: { en: 'No arrivals in this period', zh: '此期間沒有到達記錄' },
  warningMark: { en: 'warning', zh: '注意' },
  exceptionMark: { en: 'exception', zh: '異常' },
  beforeStart: { en: 'before shift start', zh: '上班前' },
  fromStart: { en: 'from shift start', zh: '上班後' },
} satisfies Record<string, BilingualText>;

/** "Page 3", "第3頁", or both: the page number alone, since a streamed PDF does not know its page count yet. */
export function pageLabel(page: number): BilingualText {
  return { en: `${LABELS.page.en} ${page}`, zh: `第${page}${LABELS.page.zh}` };
}
