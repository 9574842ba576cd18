import type { Holiday, HolidayCalendar, HolidayEntitlement } from './holidays.js';
import type { LeaveRecord } from './leave.js';
import { addDays, minutesOfClock, zonedInstant } from './local-time.js';
import type { AttendanceRules } from './rules.js';
import type { EmployeeRef, SchedulePlanner } from './schedule.js';
import { breakOffsets, segmentOffsets, type Shift } from './shift.js';

/** A period as instants (epoch ms). */
export interface Span {
  start: number;
  end: number;
}

export interface FlexiblePlan {
  earliest: number;
  latest: number;
  requiredMs: number;
  breakMs: number;
}

/** One person's day before any punch is looked at: what they should work, and which punches it claims. */
export interface DayPlan {
  date: string;
  timeZone: string;
  siteId: string | null;
  kind: 'work' | 'rest' | 'holiday' | 'leave' | 'unscheduled';
  shift: Shift | null;
  holiday: (Holiday & { entitlement: HolidayEntitlement }) | null;
  leave: { record: LeaveRecord; portion: 'full' | 'am' | 'pm'; days: number } | null;
  /** Fixed shifts: the segments still to be worked (a half day of leave removes half). */
  segments: Span[];
  breaks: Span[];
  flexible: FlexiblePlan | null;
  /** The whole scheduled span; null without a shift. */
  span: Span | null;
  /** Punches in here belong to this day (a shift's window; else the calendar day). */
  window: Span;
}

const MINUTE = 60_000;

function leaveOn(leave: readonly LeaveRecord[], date: string): { record: LeaveRecord; portion: 'full' | 'am' | 'pm' } | null {
  const records = leave.filter((record) => record.from <= date && record.to >= date);
  const full = records.find((record) => record.portion === 'full');
  if (full) return { record: full, portion: 'full' };
  const am = records.find((record) => record.portion === 'am');
  const pm = records.find((record) => record.portion === 'pm');
  if (am && pm) return { record: am, portion: 'full' };
  const half = am ?? pm;
  return half ? { record: half, portion: half.portion } : null;
}

export interface PlanContext {
  planner: SchedulePlanner;
  holidays: HolidayCalendar;
  rules: AttendanceRules;
  timeZoneOf: (siteId: string | null) => string;
}

export function planDay(context: PlanContext, employee: EmployeeRef, leave: readonly LeaveRecord[], date: string): DayPlan {
  const planned = context.planner.planFor(employee, date);
  const siteId = planned?.siteId ?? employee.sites?.[0] ?? null;
  const timeZone = context.timeZoneOf(siteId);
  const calendarDay: Span = { start: zonedInstant(date, 0, timeZone), end: zonedInstant(addDays(date, 1), 0, timeZone) };
  const entitlement = planned?.holidays ?? 'statutory';
  const dayOff = context.holidays.dayOff(date, { department: employee.department ?? null, entitlement });
  const holiday = dayOff ? { ...dayOff, entitlement } : null;
  const shift = planned?.shift ?? null;
  const onLeave = leaveOn(leave, date);
  const base = { date, timeZone, siteId, shift, holiday };
  if (!shift) {
    const kind = !planned ? 'unscheduled' : holiday ? 'holiday' : 'rest';
    return { ...base, kind, leave: onLeave ? { ...onLeave, days: 0 } : null, segments: [], breaks: [], flexible: null, span: null, window: calendarDay };
  }
  const at = (minutes: number): number => zonedInstant(date, minutes, timeZone);
  let segments: Span[] = [];
  let breaks: Span[] = [];
  let flexible: FlexiblePlan | null = null;
  let span: Span;
  if (shift.kind === 'fixed') {
    const timeline = segmentOffsets(shift.segments);
    segments = timeline.map((offsets) => ({ start: at(offsets.start), end: at(offsets.end) }));
    breaks = shift.breaks.flatMap((period) => {
      const offsets = breakOffsets(period, timeline);
      return offsets ? [{ start: at(offsets.start), end: at(offsets.end) }] : [];
    });
    span = { start: segments[0]?.start ?? calendarDay.start, end: segments[segments.length - 1]?.end ?? calendarDay.end };
  } else {
    const earliest = at(minutesOfClock(shift.earliestStart));
    const latest = at(minutesOfClock(shift.latestStart));
    flexible = { earliest, latest, requiredMs: shift.requiredMinutes * MINUTE, breakMs: shift.breakMinutes * MINUTE };
    span = { start: earliest, end: latest + flexible.requiredMs + flexible.breakMs };
  }
  const window: Span = { start: span.start - context.rules.punchWindow.beforeStartMinutes * MINUTE, end: span.end + context.rules.punchWindow.afterEndMinutes * MINUTE };
  if (holiday) return { ...base, kind: 'holiday', leave: onLeave ? { ...onLeave, days: 0 } : null, segments, breaks, flexible, span, window };
  if (onLeave?.portion === 'full') return { ...base, kind: 'leave', leave: { ...onLeave, days: 1 }, segments, breaks, flexible, span, window };
  if (onLeave) {
    // Half a day off: the first (am) or second (pm) half of the shift is not expected.
    if (flexible) {
      const half = Math.round(flexible.requiredMs / 2 / MINUTE) * MINUTE;
      flexible = onLeave.portion === 'am' ? { ...flexible, earliest: flexible.earliest + half, latest: flexible.latest + half, requiredMs: flexible.requiredMs - half } : { ...flexible, requiredMs: flexible.requiredMs - half };
    } else if (segments.length > 1) {
      segments = onLeave.portion === 'am' ? segments.slice(1) : segments.slice(0, -1);
    } else if (segments[0]) {
      const only = segments[0];
      const middle = only.start + Math.round((only.end - only.start) / 2 / MINUTE) * MINUTE;
      segments = [onLeave.portion === 'am' ? { start: middle, end: only.end } : { start: only.start, end: middle }];
    }
    return { ...base, kind: 'work', leave: { ...onLeave, days: 0.5 }, segments, breaks, flexible, span, window };
  }
  return { ...base, kind: 'work', leave: null, segments, breaks, flexible, span, window };
}
