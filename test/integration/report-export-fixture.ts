import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import type { ArrivalHistogram, ReportColumn, ReportRow, ReportTable } from '../../dashboard/reports/report-table.js';

/** Shared by the report-export tests: a small attendance table, row sources and output sinks. */

export const COLUMNS: ReportColumn[] = [
  { key: 'no', header: { en: 'Employee no.', zh: '員工編號' }, kind: 'text', width: 10 },
  { key: 'name', header: { en: 'Name', zh: '姓名' }, kind: 'text', width: 20 },
  { key: 'date', header: { en: 'Date', zh: '日期' }, kind: 'date' },
  { key: 'in', header: { en: 'In', zh: '上班' }, kind: 'time' },
  { key: 'late', header: { en: 'Late (min)', zh: '遲到（分鐘）' }, kind: 'minutes' },
  { key: 'hours', header: { en: 'Hours', zh: '工時' }, kind: 'hours' },
  { key: 'punches', header: { en: 'Punches', zh: '打卡次數' }, kind: 'number' },
  { key: 'status', header: { en: 'Status', zh: '狀態' }, kind: 'text' },
];

export const SAMPLE_ROWS: ReportRow[] = [
  { cells: { no: 'E001', name: '陳大文', date: '2024-03-04', in: '08:55', late: -5, hours: 8.5, punches: 2, status: 'OK 正常' } },
  { cells: { no: 'E002', name: '黃嘉欣', date: '2024-03-04', in: '09:17', late: 17, hours: 7.75, punches: 2, status: 'Late 遲到' }, emphasis: 'exception' },
  { cells: { no: 'E003', name: 'Chan, Tai Man "Danny"', date: '2024-03-04', in: '09:02', late: 2, hours: 7.5, punches: 3, status: 'Grace 寬限' }, emphasis: 'warning' },
  { cells: { no: 'E004', name: 'Line one\r\nline two\nthree', date: '2024-03-04', in: '09:00', late: 0, hours: 8, punches: 2, status: 'OK 正常' } },
];

/** An arrival histogram around a 09:00 start: five-minute buckets from 08:30 to 09:25, a late bulge at 09:05. */
export const HISTOGRAM: ArrivalHistogram = {
  title: { en: 'Mong Kok, shift starting 09:00', zh: '旺角，09:00 開始的班次' },
  bucketMinutes: 5,
  buckets: [3, 5, 9, 14, 18, 11, 6, 9, 4, 2, 1, 0].map((count, index) => {
    const offsetMinutes = -30 + index * 5;
    const minutes = 9 * 60 + offsetMinutes;
    return { label: `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`, count, offsetMinutes };
  }),
};

/** Yields the given rows one at a time, as a builder reading a database would. */
export async function* rowsOf(rows: ReportRow[]): AsyncGenerator<ReportRow> {
  for (const row of rows) yield row;
}

export function sampleTable(rows: ReportRow[] = SAMPLE_ROWS, extra: Partial<ReportTable> = {}): ReportTable {
  return {
    title: { en: 'Daily attendance', zh: '每日出勤' },
    subtitle: { en: 'Mong Kok, 2024-03-04', zh: '旺角，2024-03-04' },
    columns: COLUMNS,
    rows: rowsOf(rows),
    ...extra,
  };
}

/** A Writable that keeps what it is given, for reading the export back. */
export class BufferSink extends Writable {
  private readonly chunks: Buffer[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    callback();
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A Writable that fails once it has been given `limit` bytes: a download whose client went away. */
export class FailingSink extends Writable {
  received = 0;

  constructor(
    private readonly limit: number,
    readonly failure: Error,
  ) {
    super({ highWaterMark: 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.received += chunk.length;
    // Later, as a socket would: the writer is by then waiting or working, not inside write().
    setImmediate(() => callback(this.received > this.limit ? this.failure : null));
  }
}

/** Fails the test, naming the Debian package, when a command these tests drive is missing (they never skip). */
export function requireCommand(command: string, debianPackage: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'pipe' });
  } catch {
    throw new Error(`${command} is not installed: the report export tests need the Debian package ${debianPackage} (apt-get install ${debianPackage}; scripts/ensure-test-packages.sh installs it)`);
  }
}
