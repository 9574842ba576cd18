import type { AttendancePunch } from './attendance-punch.js';
import { planDay, type DayPlan, type PlanContext } from './day-plan.js';
import type { DayResult } from './day-result.js';
import { evaluateDay } from './evaluate-day.js';
import { HolidayCalendar } from './holidays.js';
import type { LeaveRecord } from './leave.js';
import { addDays, eachDay, localDateOf } from './local-time.js';
import type { AttendanceRules } from './rules.js';
import { SchedulePlanner, type EmployeeRef, type ScheduleBook } from './schedule.js';

export interface EngineOptions {
  /** A site's time zone; null: the company's default. */
  timeZoneOf: (siteId: string | null) => string;
}

export interface EmployeeDaysInput {
  employee: EmployeeRef;
  /** Approved leave of this person. */
  leave: readonly LeaveRecord[];
  /**
   * This person's punches from a day before `from` to two days after `to` (a night shift's out
   * falls on the next calendar day; punches outside the range are ignored).
   */
  punches: readonly AttendancePunch[];
  from: string;
  to: string;
  /** Now, epoch ms: days not over yet are not complete and their missing checks are Pending. */
  now: number;
}

/**
 * The attendance rules engine: pure, no I/O. Built once per schedule book (shifts, schedules,
 * overrides, rules, holidays) and asked for one person's days at a time, by the dashboard's
 * reports and by a gateway for its kiosk's verdict.
 */
export class AttendanceEngine {
  private readonly context: PlanContext;

  constructor(book: ScheduleBook, options: EngineOptions) {
    this.context = { planner: new SchedulePlanner(book), holidays: new HolidayCalendar(book.holidays), rules: book.rules, timeZoneOf: options.timeZoneOf };
  }

  get rules(): AttendanceRules {
    return this.context.rules;
  }

  plan(employee: EmployeeRef, leave: readonly LeaveRecord[], date: string): DayPlan {
    return planDay(this.context, employee, leave, date);
  }

  days(input: EmployeeDaysInput): DayResult[] {
    const { employee, leave, from, to } = input;
    if (to < from) return [];
    // The days around the range too: their shifts may claim punches near its edges.
    const plans = new Map<string, DayPlan>();
    for (const date of eachDay(addDays(from, -1), addDays(to, 1))) plans.set(date, this.plan(employee, leave, date));
    const claimed = new Map<string, AttendancePunch[]>();
    const strays = new Map<string, AttendancePunch[]>();
    const push = (map: Map<string, AttendancePunch[]>, date: string, punch: AttendancePunch): void => {
      const list = map.get(date) ?? [];
      list.push(punch);
      map.set(date, list);
    };
    const withShift = [...plans.values()].filter((plan) => plan.span !== null);
    const homeZone = this.context.timeZoneOf(employee.sites?.[0] ?? null);
    for (const punch of input.punches) {
      const ms = Date.parse(punch.at);
      const owner = owningPlan(withShift, ms);
      if (owner) {
        push(claimed, owner.date, punch);
        continue;
      }
      // The calendar day, in the zone of that day's plan (which may be another site's).
      const date = localDateOf(ms, plans.get(localDateOf(ms, homeZone))?.timeZone ?? homeZone);
      const plan = plans.get(date);
      if (!plan) continue;
      // A work day's calendar day outside its shift's window: shown, not counted.
      push(plan.span ? strays : claimed, date, punch);
    }
    const results: DayResult[] = [];
    for (const date of eachDay(from, to)) {
      const plan = plans.get(date);
      if (!plan) continue;
      results.push(evaluateDay(employee.employeeNumber, plan, claimed.get(date) ?? [], strays.get(date) ?? [], { rules: this.context.rules, now: input.now }));
    }
    return results;
  }
}

/**
 * The day a punch at `ms` belongs to: of the plans whose shift window holds it, the one whose
 * shift is nearest (a punch at 23:50 belongs to a shift starting at 00:30 the next day, not to
 * one that ended at 18:00). Undefined when no shift's window holds it.
 */
export function owningPlan(plans: Iterable<DayPlan>, ms: number): DayPlan | undefined {
  let owner: DayPlan | undefined;
  let ownerDistance = Number.POSITIVE_INFINITY;
  for (const plan of plans) {
    if (!plan.span || ms < plan.window.start || ms >= plan.window.end) continue;
    const distance = ms < plan.span.start ? plan.span.start - ms : ms > plan.span.end ? ms - plan.span.end : 0;
    if (distance < ownerDistance) {
      owner = plan;
      ownerDistance = distance;
    }
  }
  return owner;
}
