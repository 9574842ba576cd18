import { z } from 'zod';
import { EntityId } from '../punch.js';
import { HolidayEntitlement, HolidaySettings } from './holidays.js';
import { daysBetween, LocalDate, weekdayOf } from './local-time.js';
import { AttendanceRules } from './rules.js';
import { Shift } from './shift.js';

/** A day's shift id, or null for a rest day. */
const ShiftRef = EntityId.nullable();

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

export const WeeklyPattern = z
  .object({
    kind: z.literal('weekly'),
    days: z.object(Object.fromEntries(WEEKDAYS.map((day) => [day, ShiftRef])) as Record<(typeof WEEKDAYS)[number], typeof ShiftRef>).strict(),
  })
  .strict();

/** A cycle of days from an anchor date, e.g. 4 on / 2 off: [D, D, D, D, null, null]. */
export const RotationPattern = z
  .object({
    kind: z.literal('rotation'),
    anchorDate: LocalDate,
    cycle: z.array(ShiftRef).min(1, 'a rotation needs at least one day').max(366, 'a rotation may be at most 366 days long'),
  })
  .strict();

export const SchedulePattern = z.discriminatedUnion('kind', [WeeklyPattern, RotationPattern]);
export type SchedulePattern = z.output<typeof SchedulePattern>;

/** Who a schedule is for; the most specific one wins: employee, then rank, then department, then everyone. */
export const ScheduleTarget = z.union([
  z.object({ employeeNumber: EntityId }).strict(),
  z.object({ rank: z.string().min(1).max(64) }).strict(),
  z.object({ department: z.string().min(1).max(64) }).strict(),
  z.object({ everyone: z.literal(true) }).strict(),
]);
export type ScheduleTarget = z.output<typeof ScheduleTarget>;

export const ScheduleAssignment = z
  .object({
    id: EntityId,
    appliesTo: ScheduleTarget,
    pattern: SchedulePattern,
    validFrom: LocalDate,
    validTo: LocalDate.nullable().default(null),
    /** Where the shifts are worked: its time zone places them. Absent: the employee's first site. */
    siteId: EntityId.nullable().default(null),
    holidays: HolidayEntitlement.default('statutory'),
  })
  .strict()
  .superRefine((assignment, ctx) => {
    if (assignment.validTo !== null && assignment.validTo < assignment.validFrom) ctx.addIssue({ code: 'custom', path: ['validTo'], message: 'validTo must not be before validFrom' });
  });
export type ScheduleAssignment = z.output<typeof ScheduleAssignment>;

/** One day changed for one person: another shift, or a rest day (null). */
export const ScheduleOverride = z
  .object({
    employeeNumber: EntityId,
    date: LocalDate,
    shiftId: ShiftRef,
    siteId: EntityId.nullable().default(null),
  })
  .strict();
export type ScheduleOverride = z.output<typeof ScheduleOverride>;

export const ScheduleBook = z
  .object({
    shifts: z.array(Shift).max(1000),
    assignments: z.array(ScheduleAssignment).max(10_000),
    overrides: z.array(ScheduleOverride).max(200_000).default([]),
    rules: AttendanceRules.default(AttendanceRules.parse({})),
    holidays: HolidaySettings.default(HolidaySettings.parse({})),
  })
  .strict()
  .superRefine((book, ctx) => {
    const ids = new Set<string>();
    book.shifts.forEach((shift, index) => {
      if (ids.has(shift.id)) ctx.addIssue({ code: 'custom', path: ['shifts', index, 'id'], message: `shift ${shift.id} is defined twice` });
      ids.add(shift.id);
    });
    const check = (shiftId: string | null, path: Array<string | number>): void => {
      if (shiftId !== null && !ids.has(shiftId)) ctx.addIssue({ code: 'custom', path, message: `no shift has the id ${shiftId}` });
    };
    book.assignments.forEach((assignment, index) => {
      if (assignment.pattern.kind === 'weekly') for (const day of WEEKDAYS) check(assignment.pattern.days[day], ['assignments', index, 'pattern', 'days', day]);
      else assignment.pattern.cycle.forEach((shiftId, day) => check(shiftId, ['assignments', index, 'pattern', 'cycle', day]));
    });
    book.overrides.forEach((override, index) => check(override.shiftId, ['overrides', index, 'shiftId']));
  });
export type ScheduleBook = z.output<typeof ScheduleBook>;
export type ScheduleBookInput = z.input<typeof ScheduleBook>;

export interface EmployeeRef {
  employeeNumber: string;
  department?: string | null;
  rank?: string | null;
  /** The employee's sites, first = home: places the days of schedules without a site. */
  sites?: readonly string[];
}

export interface PlannedShift {
  shift: Shift | null;
  siteId: string | null;
  holidays: HolidayEntitlement;
  /** What decided it, for people reading a result ("override", "schedule wk-retail"). */
  source: string;
}

function shiftIdOn(pattern: SchedulePattern, date: string): string | null {
  if (pattern.kind === 'weekly') return pattern.days[WEEKDAYS[weekdayOf(date)] ?? 'sun'];
  const length = pattern.cycle.length;
  const index = ((daysBetween(pattern.anchorDate, date) % length) + length) % length;
  return pattern.cycle[index] ?? null;
}

/** Looks up what each person works on each day: overrides first, then the most specific schedule in force. */
export class SchedulePlanner {
  private readonly shifts: Map<string, Shift>;
  private readonly overrides = new Map<string, ScheduleOverride>();

  private readonly byEmployee = new Map<string, ScheduleAssignment[]>();
  private readonly byRank = new Map<string, ScheduleAssignment[]>();
  private readonly byDepartment = new Map<string, ScheduleAssignment[]>();
  private readonly forEveryone: ScheduleAssignment[] = [];

  constructor(book: ScheduleBook) {
    this.shifts = new Map(book.shifts.map((shift) => [shift.id, shift]));
    for (const override of book.overrides) this.overrides.set(`${override.employeeNumber}|${override.date}`, override);
    const add = (map: Map<string, ScheduleAssignment[]>, key: string, assignment: ScheduleAssignment): void => {
      const list = map.get(key) ?? [];
      list.push(assignment);
      map.set(key, list);
    };
    for (const assignment of book.assignments) {
      const target = assignment.appliesTo;
      if ('employeeNumber' in target) add(this.byEmployee, target.employeeNumber, assignment);
      else if ('rank' in target) add(this.byRank, target.rank, assignment);
      else if ('department' in target) add(this.byDepartment, target.department, assignment);
      else this.forEveryone.push(assignment);
    }
  }

  shift(id: string): Shift | undefined {
    return this.shifts.get(id);
  }

  /** Undefined: no schedule reaches this person on this day (not a rest day: unscheduled). */
  planFor(employee: EmployeeRef, date: string): PlannedShift | undefined {
    const assignment = this.assignmentFor(employee, date);
    const override = this.overrides.get(`${employee.employeeNumber}|${date}`);
    if (override) {
      return {
        shift: override.shiftId === null ? null : (this.shifts.get(override.shiftId) ?? null),
        siteId: override.siteId ?? assignment?.siteId ?? null,
        holidays: assignment?.holidays ?? 'statutory',
        source: 'override',
      };
    }
    if (!assignment) return undefined;
    const shiftId = shiftIdOn(assignment.pattern, date);
    return { shift: shiftId === null ? null : (this.shifts.get(shiftId) ?? null), siteId: assignment.siteId, holidays: assignment.holidays, source: `schedule ${assignment.id}` };
  }

  private assignmentFor(employee: EmployeeRef, date: string): ScheduleAssignment | undefined {
    // Most specific first; within a level, the one in force that started last.
    const levels = [
      this.byEmployee.get(employee.employeeNumber),
      employee.rank != null ? this.byRank.get(employee.rank) : undefined,
      employee.department != null ? this.byDepartment.get(employee.department) : undefined,
      this.forEveryone,
    ];
    for (const level of levels) {
      let best: ScheduleAssignment | undefined;
      for (const assignment of level ?? []) {
        if (assignment.validFrom > date || (assignment.validTo !== null && assignment.validTo < date)) continue;
        if (!best || assignment.validFrom > best.validFrom) best = assignment;
      }
      if (best) return best;
    }
    return undefined;
  }
}
