import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCsv, writePdf, writeXlsx, type ExportOptions } from '../../dashboard/reports/export/index.js';
import type { ReportRow, ReportTable } from '../../dashboard/reports/report-table.js';
import { COLUMNS, requireCommand } from './report-export-fixture.js';

const TOTAL = 100_000;
const dir = mkdtempSync(path.join(tmpdir(), 'punchgate-report-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Rows made one at a time, as a database cursor would, counting how many have been made; when it
 * makes the last one it notes how many bytes the output had already taken.
 */
class LazyRows {
  produced = 0;
  bytesWhenLastProduced = -1;

  constructor(private readonly sink: FileSink) {}

  async *rows(): AsyncGenerator<ReportRow> {
    for (let index = 0; index < TOTAL; index += 1) {
      this.produced = index + 1;
      if (this.produced === TOTAL) this.bytesWhenLastProduced = this.sink.received;
      yield {
        cells: { no: `E${String(index).padStart(6, '0')}`, name: index % 2 ? '陳大文' : '黃嘉欣', date: '2024-03-04', in: '09:05', late: (index % 30) - 10, hours: 7.5, punches: 2, status: index % 10 === 0 ? 'Late 遲到' : 'OK' },
        emphasis: index % 10 === 0 ? 'exception' : 'normal',
      };
    }
  }
}

/** A file on disk as `out`, through the thread pool like any real file or socket, noting when bytes arrive. */
class FileSink extends Writable {
  received = 0;
  rowsAtFirstWrite = -1;
  rows: LazyRows | undefined;
  private handle: FileHandle | undefined;

  constructor(readonly file: string) {
    super();
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.file, 'w').then((handle) => {
      this.handle = handle;
      callback();
    }, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.rowsAtFirstWrite < 0) this.rowsAtFirstWrite = this.rows?.produced ?? 0;
    this.received += chunk.length;
    this.handle?.write(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.handle?.close().then(() => callback(), callback);
  }
}

async function stream(format: string, write: (table: ReportTable, out: Writable, options: ExportOptions) => Promise<void>): Promise<{ sink: FileSink; rows: LazyRows }> {
  const sink = new FileSink(path.join(dir, `report.${format}`));
  const rows = new LazyRows(sink);
  sink.rows = rows;
  await write({ title: { en: 'Stream', zh: '串流' }, columns: COLUMNS, rows: rows.rows() }, sink, { language: 'both' });
  return { sink, rows };
}

/** What every format must show: rows were pulled as output went out, not gathered first and written after. */
function expectStreamed({ sink, rows }: { sink: FileSink; rows: LazyRows }): void {
  expect(rows.produced).toBe(TOTAL);
  expect(statSync(sink.file).size).toBe(sink.received);
  expect(sink.rowsAtFirstWrite).toBeLessThan(TOTAL);
  // Most of the file had reached the disk before the last row was even made.
  expect(rows.bytesWhenLastProduced).toBeGreaterThan(sink.received * 0.5);
}

describe('streaming 100,000 rows', () => {
  it('CSV', async () => {
    const result = await stream('csv', writeCsv);
    expectStreamed(result);
    let count = 0;
    let last: string[] = [];
    for await (const record of createReadStream(result.sink.file).pipe(parse({ bom: true }))) {
      count += 1;
      last = record as string[];
    }
    expect(count).toBe(TOTAL + 1);
    expect(last[0]).toBe('E099999');
  }, 120_000);

  it('XLSX', async () => {
    const result = await stream('xlsx', writeXlsx);
    expectStreamed(result);
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(result.sink.file, {});
    let count = 0;
    let last: ExcelJS.Row | undefined;
    for await (const sheet of reader) {
      for await (const row of sheet) {
        count += 1;
        last = row;
      }
      break;
    }
    // Title, subtitle (empty, so not stored) and header rows, then the data.
    expect(count).toBe(TOTAL + 2);
    expect(last?.getCell(1).value).toBe('E099999');
    expect(last?.getCell(5).value).toBe((99_999 % 30) - 10);
  }, 120_000);

  it('PDF', async () => {
    requireCommand('pdfinfo', 'poppler-utils');
    requireCommand('pdftotext', 'poppler-utils');
    const result = await stream('pdf', writePdf);
    expectStreamed(result);
    const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [result.sink.file], { encoding: 'utf8' }))?.[1]);
    expect(pages).toBeGreaterThan(1000);
    const lastPage = execFileSync('pdftotext', ['-f', String(pages), '-l', String(pages), result.sink.file, '-'], { encoding: 'utf8' });
    expect(lastPage).toContain('E099999');
    expect(lastPage).toContain(`Page ${pages}`);
  }, 180_000);
});
