import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XLSX_HEADER_ROW } from '../../dashboard/reports/export/index.js';
import { preparePhaseScript, runPhaseChild } from '../bench/attendance-report.js';
import { employeeNumber, seedAttendance, type ReportSeedResult } from '../bench/attendance-report-seed.js';

/**
 * Keeps the attendance report bench (test/bench/attendance-report*.ts) from rotting: its seeding,
 * and one phase (the monthly XLSX) in a child process on dist/, at 50 people x 3 days.
 */
describe('attendance report bench, small', () => {
  let dir: string;
  let seed: ReportSeedResult;
  let script: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-bench-report-'));
    seed = await seedAttendance(path.join(dir, 'dashboard'), { employees: 50, from: '2026-10-05', days: 3 });
    script = await preparePhaseScript();
  });

  afterAll(async () => {
    await rm(script, { force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it('seeds people, leave and a punch for most scheduled days', () => {
    expect(seed.employees).toBe(50);
    expect(seed.to).toBe('2026-10-07');
    // Mon-Wed: 4 taps a day for most; the rotation's rest days and the absences make fewer.
    expect(seed.punches).toBeGreaterThan(50 * 3 * 2);
    expect(seed.punches).toBeLessThan(50 * 3 * 5);
    expect(seed.personDaysWithPunches).toBeGreaterThan(100);
  });

  it('runs the monthly XLSX phase in a child and the file has a row per person', async () => {
    const output = path.join(dir, 'monthly.xlsx');
    const run = await runPhaseChild(script, { phase: 'monthly-xlsx', file: seed.file, dataDir: seed.dataDir, from: seed.from, to: seed.to, output }, { logFile: path.join(dir, 'children.log') });
    expect(run.result.rows).toBe(50);
    expect(run.result.people).toBe(50);
    expect(run.result.days).toBe(150);
    expect(run.result.peakRss).toBeGreaterThanOrEqual(run.result.rssAfterLoad);
    expect(run.result.samples.length).toBeGreaterThan(0);
    expect(run.cpu.machineBusyPct).toBeGreaterThan(0);

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(output);
    const sheet = workbook.worksheets[0];
    if (!sheet) throw new Error('no sheet');
    const numbers: string[] = [];
    sheet.eachRow((row, index) => {
      if (index > XLSX_HEADER_ROW) numbers.push(String(row.getCell(1).value));
    });
    expect(numbers).toHaveLength(50);
    expect(numbers[0]).toBe(employeeNumber(0));
    expect(numbers[49]).toBe(employeeNumber(49));
  }, 20_000);
});
