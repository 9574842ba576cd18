import { addDay, emptyTotals, localClockOf, localDateOf, type AttendanceTotals, type DayResult } from '../../core/attendance/index.js';
import type { AttendanceEmployee, AttendanceQuery, EmployeeDays } from '../attendance/attendance-service.js';
import { FLAG_TEXT, STATUS_TEXT, textIn } from './attendance-labels.js';
import type { ArrivalHistogram, BilingualText, CellValue, ReportColumn, ReportRow, ReportTable } from './report-table.js';

export type ReportLanguage = 'en' | 'zh-HK' | 'both';

/** Where results come from: the attendance service's stream, person by person. */
export type DaysSource = (query: AttendanceQuery) => AsyncIterable<EmployeeDays>;

const col = (key: string, en: string, zh: string, kind: ReportColumn['kind'], width?: number): ReportColumn => ({ key, header: { en, zh }, kind, ...(width ? { width } : {}) });

const PERSON_COLUMNS: ReportColumn[] = [col('employeeNumber', 'Employee no.', '員工編號', 'text', 10), col('name', 'Name', '姓名', 'text', 18), col('nameZh', 'Chinese name', '中文姓名', 'text', 8), col('department', 'Department', '部門', 'text', 10)];

const person = (employee: AttendanceEmployee): Record<string, CellValue> => ({ employeeNumber: employee.employeeNumber, name: employee.name, nameZh: employee.nameZh, department: employee.department });

/** HH:MM on the day's wall clock; "+1" when it is on the next calendar day (a night shift's out). */
function clock(iso: string | null, day: DayResult): string | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  const text = localClockOf(ms, day.timeZone);
  return localDateOf(ms, day.timeZone) > day.workDate ? `${text} +1` : text;
}

function emphasisOf(day: DayResult): ReportRow['emphasis'] {
  if (day.exceptions.length > 0 || day.status === 'Absenteeism') return 'exception';
  return day.flags.length > 0 ? 'warning' : 'normal';
}

export const DAILY_COLUMNS: ReportColumn[] = [
  ...PERSON_COLUMNS,
  col('date', 'Date', '日期', 'date', 10),
  col('site', 'Site', '地點', 'text', 8),
  col('shift', 'Shift', '班次', 'text', 8),
  col('scheduledStart', 'Start', '應到', 'time', 6),
  col('scheduledEnd', 'End', '應退', 'time', 7),
  col('firstIn', 'In', '上班', 'time', 6),
  col('lastOut', 'Out', '下班', 'time', 7),
  col('workedMinutes', 'Worked (min)', '工時(分)', 'minutes', 7),
  col('lateMinutes', 'Late (min)', '遲到(分)', 'minutes', 6),
  col('earlyLeaveMinutes', 'Early (min)', '早退(分)', 'minutes', 6),
  col('overtimeMinutes', 'Overtime (min)', '加班(分)', 'minutes', 6),
  col('status', 'Status', '狀態', 'text', 10),
  col('notes', 'Notes', '備註', 'text', 18),
];

/** One row per person per day: what HR checks each morning for yesterday. */
export function dailyReport(source: DaysSource, query: AttendanceQuery, language: ReportLanguage, title: BilingualText): ReportTable {
  async function* rows(): AsyncGenerator<ReportRow> {
    for await (const { employee, days } of source(query)) {
      for (const day of days) {
        const notes = [...day.flags.map((flag) => textIn(FLAG_TEXT[flag], language)), ...(day.holiday ? [language === 'en' ? day.holiday.name : language === 'zh-HK' ? day.holiday.nameZh : `${day.holiday.name} ${day.holiday.nameZh}`] : [])];
        yield {
          cells: {
            ...person(employee),
            date: day.workDate,
            site: day.sites.join(' ') || day.siteId,
            shift: day.shift ? (language === 'zh-HK' ? (day.shift.nameZh ?? day.shift.name) : day.shift.name) : null,
            scheduledStart: clock(day.scheduledStart, day),
            scheduledEnd: clock(day.scheduledEnd, day),
            firstIn: clock(day.firstIn, day),
            lastOut: clock(day.lastOut, day),
            workedMinutes: day.workedMinutes,
            lateMinutes: day.lateMinutes,
            earlyLeaveMinutes: day.earlyLeaveMinutes,
            overtimeMinutes: day.overtimeMinutes,
            status: textIn(STATUS_TEXT[day.status], language),
            notes: notes.join('; ') || null,
          },
          emphasis: emphasisOf(day),
        };
      }
    }
  }
  return { title, subtitle: { en: `${query.from} to ${query.to}`, zh: `${query.from} 至 ${query.to}` }, columns: DAILY_COLUMNS, rows: rows() };
}

/** Every figure payroll may take, by key; a payroll export picks its columns from these. */
export const TOTAL_COLUMNS: Record<string, { column: ReportColumn; value: (totals: AttendanceTotals) => number }> = {
  scheduledDays: { column: col('scheduledDays', 'Scheduled days', '應出勤日數', 'number', 6), value: (t) => t.scheduledDays },
  workedHours: { column: col('workedHours', 'Worked hours', '工作時數', 'hours', 7), value: (t) => Math.round((t.workedMinutes / 60) * 100) / 100 },
  workedMinutes: { column: col('workedMinutes', 'Worked (min)', '工時(分)', 'minutes', 7), value: (t) => t.workedMinutes },
  overtimeHours: { column: col('overtimeHours', 'Overtime hours', '加班時數', 'hours', 7), value: (t) => Math.round((t.overtimeMinutes / 60) * 100) / 100 },
  overtimeMinutes: { column: col('overtimeMinutes', 'Overtime (min)', '加班(分)', 'minutes', 7), value: (t) => t.overtimeMinutes },
  lateCount: { column: col('lateCount', 'Late (times)', '遲到次數', 'number', 5), value: (t) => t.lateCount },
  lateMinutes: { column: col('lateMinutes', 'Late (min)', '遲到(分)', 'minutes', 6), value: (t) => t.lateMinutes },
  seriousLateCount: { column: col('seriousLateCount', 'Seriously late (times)', '嚴重遲到次數', 'number', 5), value: (t) => t.seriousLateCount },
  earlyLeaveCount: { column: col('earlyLeaveCount', 'Left early (times)', '早退次數', 'number', 5), value: (t) => t.earlyLeaveCount },
  earlyLeaveMinutes: { column: col('earlyLeaveMinutes', 'Early (min)', '早退(分)', 'minutes', 6), value: (t) => t.earlyLeaveMinutes },
  absenceDays: { column: col('absenceDays', 'Absent days', '曠工日數', 'number', 5), value: (t) => t.absenceDays },
  missedPunches: { column: col('missedPunches', 'Missed punches', '缺卡次數', 'number', 5), value: (t) => t.notSignedCount },
  leaveDays: { column: col('leaveDays', 'Leave days', '請假日數', 'number', 5), value: (t) => t.leaveDays },
  annualLeaveDays: { column: col('annualLeaveDays', 'Annual leave days', '年假日數', 'number', 5), value: (t) => t.leaveDaysByType.annual ?? 0 },
  sickLeaveDays: { column: col('sickLeaveDays', 'Sick leave days', '病假日數', 'number', 5), value: (t) => t.leaveDaysByType.sick ?? 0 },
  holidayDays: { column: col('holidayDays', 'Holidays', '假期日數', 'number', 5), value: (t) => t.holidayDays },
  restDays: { column: col('restDays', 'Rest days', '休息日數', 'number', 5), value: (t) => t.restDays },
  offDayWorkedHours: { column: col('offDayWorkedHours', 'Worked on days off (h)', '休息日／假期工時', 'hours', 7), value: (t) => Math.round((t.offDayWorkedMinutes / 60) * 100) / 100 },
  flaggedDays: { column: col('flaggedDays', 'Days to check', '需覆核日數', 'number', 5), value: (t) => t.flaggedDays },
};

export const MONTHLY_TOTALS = ['scheduledDays', 'workedHours', 'overtimeHours', 'lateCount', 'lateMinutes', 'seriousLateCount', 'earlyLeaveCount', 'earlyLeaveMinutes', 'absenceDays', 'missedPunches', 'leaveDays', 'holidayDays', 'flaggedDays'] as const;
export const PAYROLL_DEFAULT = ['workedHours', 'overtimeHours', 'lateCount', 'lateMinutes', 'absenceDays', 'leaveDays', 'annualLeaveDays', 'sickLeaveDays', 'offDayWorkedHours'] as const;

/**
 * One row per person with their totals over the period: the monthly report (all figures) and
 * the payroll export (the columns payroll asked for, in its order).
 */
export function totalsReport(source: DaysSource, query: AttendanceQuery, columns: readonly string[], title: BilingualText): ReportTable {
  const picked = columns.map((key) => {
    const total = TOTAL_COLUMNS[key];
    if (!total) throw new Error(`no total column ${key}`);
    return total;
  });
  async function* rows(): AsyncGenerator<ReportRow> {
    for await (const { employee, days } of source(query)) {
      const totals = days.reduce(addDay, emptyTotals(employee.employeeNumber));
      const cells: Record<string, CellValue> = person(employee);
      for (const total of picked) cells[total.column.key] = total.value(totals);
      const exceptional = totals.lateCount + totals.earlyLeaveCount + totals.absenceDays + totals.notSignedCount > 0;
      yield { cells, emphasis: exceptional ? 'exception' : totals.flaggedDays > 0 ? 'warning' : 'normal' };
    }
  }
  return { title, subtitle: { en: `${query.from} to ${query.to}`, zh: `${query.from} 至 ${query.to}` }, columns: [...PERSON_COLUMNS, ...picked.map((total) => total.column)], rows: rows() };
}

export interface Hotspot {
  siteId: string;
  /** The scheduled start, HH:MM local. */
  shiftStart: string;
  histogram: ArrivalHistogram;
  arrivals: number;
  late: number;
}

/**
 * Late-arrival hotspots: for each site and shift start, how many first-ins fell in each bucket
 * around the start (e.g. the 09:00-09:15 cluster), from 30 minutes before to 60 after.
 */
export async function arrivalHotspots(source: DaysSource, query: AttendanceQuery, bucketMinutes: number, siteNames: Map<string, string>): Promise<Hotspot[]> {
  const before = 30;
  const after = 60;
  const groups = new Map<string, { siteId: string; start: string; counts: number[]; arrivals: number; late: number }>();
  for await (const { days } of source(query)) {
    for (const day of days) {
      const check = day.checks.find((candidate) => candidate.kind === 'in' && candidate.segment === 0);
      if (!check?.at || day.scheduledStart === null || day.shift?.kind !== 'fixed') continue;
      const siteId = check.siteId ?? day.siteId ?? 'unknown';
      if (query.siteIds && !query.siteIds.includes(siteId)) continue;
      const start = localClockOf(Date.parse(check.scheduledAt), day.timeZone);
      const offset = (Date.parse(check.at) - Date.parse(check.scheduledAt)) / 60_000;
      const key = `${siteId}|${start}`;
      const group = groups.get(key) ?? { siteId, start, counts: new Array<number>(Math.ceil((before + after) / bucketMinutes)).fill(0), arrivals: 0, late: 0 };
      groups.set(key, group);
      group.arrivals += 1;
      if (check.status !== 'Normal') group.late += 1;
      if (offset < -before || offset >= after) continue;
      const bucket = Math.floor((offset + before) / bucketMinutes);
      group.counts[bucket] = (group.counts[bucket] ?? 0) + 1;
    }
  }
  return [...groups.values()]
    .sort((a, b) => a.siteId.localeCompare(b.siteId) || a.start.localeCompare(b.start))
    .map((group) => {
      const [hours, minutes] = group.start.split(':').map(Number);
      const startMinutes = (hours ?? 0) * 60 + (minutes ?? 0);
      const site = siteNames.get(group.siteId) ?? group.siteId;
      return {
        siteId: group.siteId,
        shiftStart: group.start,
        arrivals: group.arrivals,
        late: group.late,
        histogram: {
          title: { en: `${site}, shift starting ${group.start}`, zh: `${site}，${group.start} 開始的班次` },
          bucketMinutes,
          buckets: group.counts.map((count, index) => {
            const offsetMinutes = index * bucketMinutes - before;
            const at = (((startMinutes + offsetMinutes) % 1440) + 1440) % 1440;
            return { label: `${String(Math.floor(at / 60)).padStart(2, '0')}:${String(at % 60).padStart(2, '0')}`, count, offsetMinutes };
          }),
        },
      };
    });
}
