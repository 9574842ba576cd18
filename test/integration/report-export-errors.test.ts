import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCsv, writePdf, writeXlsx, type ExportOptions } from '../../dashboard/reports/export/index.js';
import type { ReportRow, ReportTable } from '../../dashboard/reports/report-table.js';
import { BufferSink, FailingSink, SAMPLE_ROWS, sampleTable } from './report-export-fixture.js';

type Writer = (table: ReportTable, out: Writable, options: ExportOptions) => Promise<void>;

const dir = mkdtempSync(path.join(tmpdir(), 'punchgate-report-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A row source that gives `count` rows and then fails, as a database read can; it notes whether it was closed. */
class BrokenRows {
  produced = 0;
  closed = false;

  constructor(
    private readonly count: number,
    readonly failure: Error | undefined,
  ) {}

  async *rows(): AsyncGenerator<ReportRow> {
    try {
      for (let index = 0; index < this.count; index += 1) {
        this.produced += 1;
        yield SAMPLE_ROWS[index % SAMPLE_ROWS.length] as ReportRow;
      }
      if (this.failure) throw this.failure;
    } finally {
      this.closed = true;
    }
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What a partial file of each format looks like: never like a whole one. */
const partialChecks: Record<string, (file: string) => Promise<void>> = {
  csv: async () => {},
  xlsx: async (file) => {
    await expect(new ExcelJS.Workbook().xlsx.load(readFileSync(file) as unknown as ExcelJS.Buffer)).rejects.toThrow();
  },
  pdf: async (file) => {
    expect(readFileSync(file).toString('latin1').trimEnd().endsWith('%%EOF')).toBe(false);
  },
};

describe.each([
  ['csv', writeCsv],
  ['xlsx', writeXlsx],
  ['pdf', writePdf],
] as Array<[string, Writer]>)('%s export failures', (format, write) => {
  it('rejects with the rows\' own error when they fail mid-way, and destroys `out` with it: no finish, no whole-looking file', async () => {
    const source = new BrokenRows(3, new Error('database went away'));
    const file = path.join(dir, `broken.${format}`);
    const out = createWriteStream(file);
    let finished = false;
    out.on('finish', () => {
      finished = true;
    });
    await expect(write(sampleTable(undefined, { rows: source.rows() }), out, { language: 'both' })).rejects.toBe(source.failure);
    await settle();
    expect(out.destroyed).toBe(true);
    expect(out.errored).toBe(source.failure);
    expect(finished).toBe(false);
    expect(source.closed).toBe(true);
    await partialChecks[format]?.(file);
  });

  it('rejects when the rows fail before the first one', async () => {
    const source = new BrokenRows(0, new Error('no such report'));
    const out = new BufferSink();
    await expect(write(sampleTable(undefined, { rows: source.rows() }), out, { language: 'en' })).rejects.toBe(source.failure);
    await settle();
    expect(out.errored).toBe(source.failure);
  });

  it('stops asking for rows and rejects with the error of an `out` that fails (a download whose client left)', async () => {
    const source = new BrokenRows(20_000, undefined);
    const out = new FailingSink(4096, new Error('client went away'));
    await expect(write(sampleTable(undefined, { rows: source.rows() }), out, { language: 'both' })).rejects.toBe(out.failure);
    await settle();
    expect(out.destroyed).toBe(true);
    // The row source was closed (its finally ran) long before its end: the writer let go of it.
    expect(source.closed).toBe(true);
    expect(source.produced).toBeLessThan(20_000);
  });
});
