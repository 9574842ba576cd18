import type { DayResult } from './day-result.js';
import type { LeaveType } from './leave.js';

/** A person's figures over a period, what payroll takes. */
export interface AttendanceTotals {
  employeeNumber: string;
  days: number;
  scheduledDays: number;
  scheduledMinutes: number;
  workedMinutes: number;
  overtimeMinutes: number;
  lateCount: number;
  lateMinutes: number;
  seriousLateCount: number;
  earlyLeaveCount: number;
  earlyLeaveMinutes: number;
  absenceDays: number;
  notSignedCount: number;
  leaveDays: number;
  leaveDaysByType: Partial<Record<LeaveType, number>>;
  holidayDays: number;
  restDays: number;
  /** Worked on rest days, holidays or days of leave: paid by the customer's own rules. */
  offDayWorkedMinutes: number;
  /** Days with a flag (unsynced clock, make-up punch, outside location...) for HR to look at. */
  flaggedDays: number;
}

export function emptyTotals(employeeNumber: string): AttendanceTotals {
  return {
    employeeNumber,
    days: 0,
    scheduledDays: 0,
    scheduledMinutes: 0,
    workedMinutes: 0,
    overtimeMinutes: 0,
    lateCount: 0,
    lateMinutes: 0,
    seriousLateCount: 0,
    earlyLeaveCount: 0,
    earlyLeaveMinutes: 0,
    absenceDays: 0,
    notSignedCount: 0,
    leaveDays: 0,
    leaveDaysByType: {},
    holidayDays: 0,
    restDays: 0,
    offDayWorkedMinutes: 0,
    flaggedDays: 0,
  };
}

/** Adds one day into running totals (so a month can be summed as its days stream past). */
export function addDay(totals: AttendanceTotals, day: DayResult): AttendanceTotals {
  totals.days += 1;
  const onShift = day.shift !== null && (day.status !== 'Holiday' && day.status !== 'OnLeave' && day.status !== 'Rest' && day.status !== 'Unscheduled');
  if (onShift) {
    totals.scheduledDays += 1;
    totals.scheduledMinutes += day.scheduledMinutes;
    totals.workedMinutes += day.workedMinutes;
  } else {
    totals.offDayWorkedMinutes += day.workedMinutes;
  }
  totals.overtimeMinutes += day.overtimeMinutes;
  for (const check of day.checks) {
    if (check.kind === 'in' && (check.status === 'Late' || check.status === 'SeriousLate')) {
      totals.lateCount += 1;
      totals.lateMinutes += check.minutes;
      if (check.status === 'SeriousLate') totals.seriousLateCount += 1;
    }
    if (check.kind === 'out' && check.status === 'Early') {
      totals.earlyLeaveCount += 1;
      totals.earlyLeaveMinutes += check.minutes;
    }
    if (check.status === 'NotSigned') totals.notSignedCount += 1;
  }
  if (day.status === 'Absenteeism') totals.absenceDays += 1;
  if (day.leave && day.leave.days > 0) {
    totals.leaveDays += day.leave.days;
    totals.leaveDaysByType[day.leave.type] = (totals.leaveDaysByType[day.leave.type] ?? 0) + day.leave.days;
  }
  if (day.status === 'Holiday') totals.holidayDays += 1;
  if (day.status === 'Rest') totals.restDays += 1;
  if (day.flags.length > 0) totals.flaggedDays += 1;
  return totals;
}
