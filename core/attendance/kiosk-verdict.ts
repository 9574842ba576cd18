import { z } from 'zod';
import { EntityId } from '../punch.js';
import { owningPlan, type AttendanceEngine } from './attendance-engine.js';
import { addDays, localDateOf } from './local-time.js';
import { ScheduleBook } from './schedule.js';

/**
 * What a gateway needs to tell a person at the door "late by 4 min": the schedule book (shifts,
 * schedules, the overrides of the people on its roster, rules and holidays) and, for the people
 * whose schedule follows their department or rank, those two. Pushed in the device config; the
 * gateway runs the same engine as the dashboard, so it keeps answering offline.
 */
export const AttendanceSnapshot = z
  .object({
    book: ScheduleBook,
    /** Employee id -> department and rank, for the people on the roster. */
    people: z.record(EntityId, z.object({ department: z.string().max(80).nullable(), rank: z.string().max(80).nullable() }).strict()),
  })
  .strict();
export type AttendanceSnapshot = z.output<typeof AttendanceSnapshot>;
export type AttendanceSnapshotInput = z.input<typeof AttendanceSnapshot>;

export type KioskVerdict =
  | { kind: 'on-time' }
  | { kind: 'late'; minutes: number }
  | { kind: 'early'; minutes: number }
  /** Not working today (rest day, holiday): nothing to say about time. */
  | { kind: 'off-day' };

/**
 * The verdict for one punch as it happens: an in is compared with the start of the nearest
 * shift segment, an out with the end, within the grace periods. Undefined when the person has no
 * schedule, or the punch is outside every shift's window: the kiosk then says nothing about time.
 */
export function kioskVerdict(engine: AttendanceEngine, employee: { employeeNumber: string; department?: string | null; rank?: string | null; sites?: readonly string[] }, at: string, direction: 'in' | 'out', timeZone: string): KioskVerdict | undefined {
  const ms = Date.parse(at);
  const date = localDateOf(ms, timeZone);
  // Yesterday's night shift may still be running, and tomorrow's may start soon after midnight:
  // the punch is judged against the day the attendance report will give it to.
  const plan = owningPlan([-1, 0, 1].map((offset) => engine.plan(employee, [], addDays(date, offset))), ms);
  if (!plan?.span) return undefined;
  if (plan.kind === 'holiday' || plan.kind === 'rest') return { kind: 'off-day' };
  const rules = engine.rules;
  if (plan.flexible) {
    if (direction === 'in') {
      const late = Math.floor((ms - plan.flexible.latest) / 60_000);
      return late > rules.lateGraceMinutes ? { kind: 'late', minutes: late } : { kind: 'on-time' };
    }
    return undefined;
  }
  const nearest = plan.segments.reduce((best, segment) => (Math.abs((direction === 'in' ? segment.start : segment.end) - ms) < Math.abs((direction === 'in' ? best.start : best.end) - ms) ? segment : best), plan.segments[0] ?? plan.span);
  if (direction === 'in') {
    const late = Math.floor((ms - nearest.start) / 60_000);
    return late > rules.lateGraceMinutes ? { kind: 'late', minutes: late } : { kind: 'on-time' };
  }
  const early = Math.floor((nearest.end - ms) / 60_000);
  return early > rules.earlyLeaveGraceMinutes ? { kind: 'early', minutes: early } : { kind: 'on-time' };
}

/** The verdict in a few words for a reader's one-line display and the kiosk. */
export function verdictText(verdict: KioskVerdict | undefined, language: 'en' | 'zh-HK'): string {
  if (!verdict || verdict.kind === 'off-day') return '';
  if (verdict.kind === 'on-time') return language === 'en' ? 'on time' : '準時';
  if (verdict.kind === 'late') return language === 'en' ? `late ${verdict.minutes}m` : `遲到${verdict.minutes}分`;
  return language === 'en' ? `early ${verdict.minutes}m` : `早退${verdict.minutes}分`;
}
