/**
 * What every report export (CSV, XLSX, PDF) renders: a title, columns with headers in English
 * and Traditional Chinese, and rows that arrive one at a time, so a month for 5,000 employees is
 * never held in memory whole. Builders (daily, monthly, payroll) make these; writers render them.
 */
export type Language = 'en' | 'zh-HK';

export interface BilingualText {
  en: string;
  zh: string;
}

export type CellValue = string | number | boolean | null;

export type ColumnKind =
  /** Free text (names, codes): the only kind that can carry a formula-like string. */
  | 'text'
  /** A whole or decimal number. */
  | 'number'
  /** A count of minutes: shown as a number; XLSX may format it. */
  | 'minutes'
  /** Hours with decimals (e.g. 7.5). */
  | 'hours'
  /** A calendar day, YYYY-MM-DD. */
  | 'date'
  /** A local time of day, HH:MM, in the site's time zone. */
  | 'time';

export interface ReportColumn {
  key: string;
  header: BilingualText;
  kind: ColumnKind;
  /** A hint for fixed-width layouts (PDF) and XLSX column widths, in characters. */
  width?: number;
}

/** How a row is marked: exceptions are highlighted (never by colour alone: the status text says it too). */
export type RowEmphasis = 'normal' | 'warning' | 'exception';

export interface ReportRow {
  cells: Record<string, CellValue>;
  emphasis?: RowEmphasis;
}

/** Arrival times around a shift's start, for the late-arrival hotspot chart. */
export interface ArrivalHistogram {
  /** What the chart is of, e.g. "Mong Kok, shift starting 09:00". */
  title: BilingualText;
  /** Bucket width in minutes (e.g. 5). */
  bucketMinutes: number;
  /** Buckets from the earliest, each labelled by its local start time (HH:MM) and with a count. */
  buckets: Array<{ label: string; count: number; /** minutes after the shift's start; negative: early */ offsetMinutes: number }>;
}

export interface ReportTable {
  title: BilingualText;
  /** A line under the title: period, site, when generated. */
  subtitle?: BilingualText;
  columns: ReportColumn[];
  rows: AsyncIterable<ReportRow>;
  /** Charts to put before the table (PDF) or on their own sheet (XLSX); CSV ignores them. */
  charts?: ArrivalHistogram[];
}
