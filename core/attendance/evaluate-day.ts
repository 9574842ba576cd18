import type { AttendancePunch } from './attendance-punch.js';
import type { DayPlan, Span } from './day-plan.js';
import type { CheckResult, CheckStatus, DayFlag, DayResult, DayStatus } from './day-result.js';
import { zoneOffsetMs } from './local-time.js';
import type { AttendanceRules } from './rules.js';

const MINUTE = 60_000;

/** Worst first: the day's status is the worst of its checks. */
const SEVERITY: CheckStatus[] = ['Absenteeism', 'NotSigned', 'SeriousLate', 'Late', 'Early', 'Pending', 'Normal'];

interface TimedPunch extends AttendancePunch {
  ms: number;
}

function round(ms: number, unitMinutes: number, mode: 'up' | 'down' | 'nearest', timeZone: string): number {
  if (unitMinutes <= 1 && mode !== 'nearest') {
    // Whole minutes: an in at 09:00:40 counts from 09:01 (up), an out at 18:00:40 to 18:00 (down).
    const offset = zoneOffsetMs(ms, timeZone);
    const minutes = (ms + offset) / MINUTE;
    return (mode === 'up' ? Math.ceil(minutes) : Math.floor(minutes)) * MINUTE - offset;
  }
  const offset = zoneOffsetMs(ms, timeZone);
  const units = (ms + offset) / (unitMinutes * MINUTE);
  const rounded = mode === 'up' ? Math.ceil(units) : mode === 'down' ? Math.floor(units) : Math.round(units);
  return rounded * unitMinutes * MINUTE - offset;
}

function overlap(a: Span, b: Span): number {
  return Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));
}

function wholeMinutes(ms: number): number {
  return Math.max(0, Math.floor(ms / MINUTE));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Nearest span to an instant (0 inside); ties go to the earlier span. */
function nearest(spans: readonly Span[], ms: number): number {
  let best = 0;
  let bestDistance = Number.POSITIVE_INFINITY;
  spans.forEach((span, index) => {
    const distance = ms < span.start ? span.start - ms : ms > span.end ? ms - span.end : 0;
    if (distance < bestDistance) {
      best = index;
      bestDistance = distance;
    }
  });
  return best;
}

interface Checked {
  in: TimedPunch | null;
  out: TimedPunch | null;
}

/**
 * The in and the out of a group of punches. The first punch is the in and the last the out,
 * whatever direction the gateway gave them: a gateway that alternates by calendar day calls the
 * 06:00 punch of a night shift an "in", and a restarted hands-free gateway may send a second
 * "in". Direction decides only for a lone punch ('auto': whichever scheduled time is nearer).
 */
function inAndOut(punches: readonly TimedPunch[], span: Span): Checked {
  const first = punches[0];
  const last = punches[punches.length - 1];
  if (!first || !last) return { in: null, out: null };
  if (first !== last) return { in: first, out: last };
  const isIn = first.direction === 'in' || (first.direction === 'auto' && Math.abs(first.ms - span.start) <= Math.abs(first.ms - span.end));
  return isIn ? { in: first, out: null } : { in: null, out: first };
}

function lateStatus(lateMinutes: number, rules: AttendanceRules): { status: CheckStatus; minutes: number } {
  if (lateMinutes <= rules.lateGraceMinutes) return { status: 'Normal', minutes: 0 };
  if (rules.absentIfLateMinutes !== null && lateMinutes > rules.absentIfLateMinutes) return { status: 'Absenteeism', minutes: lateMinutes };
  if (lateMinutes > rules.seriousLateMinutes) return { status: 'SeriousLate', minutes: lateMinutes };
  return { status: 'Late', minutes: lateMinutes };
}

function earlyStatus(earlyMinutes: number, rules: AttendanceRules): { status: CheckStatus; minutes: number } {
  if (earlyMinutes <= rules.earlyLeaveGraceMinutes) return { status: 'Normal', minutes: 0 };
  return { status: 'Early', minutes: earlyMinutes };
}

export interface EvaluateOptions {
  rules: AttendanceRules;
  now: number;
}

/** Turns one day's plan and the punches it claimed into the day's result. */
export function evaluateDay(employeeNumber: string, plan: DayPlan, claimed: readonly AttendancePunch[], strays: readonly AttendancePunch[], options: EvaluateOptions): DayResult {
  const { rules, now } = options;
  const flags = new Set<DayFlag>();
  const sorted: TimedPunch[] = claimed.map((punch) => ({ ...punch, ms: Date.parse(punch.at) })).sort((a, b) => a.ms - b.ms || a.id.localeCompare(b.id));
  const kept: TimedPunch[] = [];
  for (const punch of sorted) {
    const previous = kept[kept.length - 1];
    if (previous && punch.ms - previous.ms < rules.minimumGapMinutes * MINUTE) {
      flags.add('DuplicatePunch');
      continue;
    }
    kept.push(punch);
  }
  for (const punch of [...claimed, ...strays]) {
    if (!punch.clock.synced) flags.add('UnsyncedClock');
    if (punch.clock.corrected) flags.add('CorrectedClock');
    if (punch.method === 'manual') flags.add('ManualPunch');
    if (punch.location === 'outside') flags.add('OutsideLocation');
  }
  if (strays.length > 0) flags.add('StrayPunch');
  const roundIn = (ms: number) => round(ms, rules.rounding.unitMinutes, rules.rounding.in, plan.timeZone);
  const roundOut = (ms: number) => round(ms, rules.rounding.unitMinutes, rules.rounding.out, plan.timeZone);
  const complete = now >= plan.window.end;
  const checks: CheckResult[] = [];
  let worked = 0;
  let overtime = 0;
  let scheduledMinutes = 0;
  let scheduledStart: number | null = plan.span?.start ?? null;
  let scheduledEnd: number | null = plan.span?.end ?? null;
  const checkOf = (segment: number, kind: 'in' | 'out', scheduledAt: number, punch: TimedPunch | null, status: CheckStatus, minutes: number): CheckResult => ({
    segment,
    kind,
    status,
    scheduledAt: iso(scheduledAt),
    punchId: punch?.id ?? null,
    at: punch?.at ?? null,
    siteId: punch?.siteId ?? null,
    minutes,
    location: punch?.location ?? null,
  });
  const missing = (deadline: number): CheckStatus => (now < deadline ? 'Pending' : 'NotSigned');
  const afterEnd = rules.punchWindow.afterEndMinutes * MINUTE;
  const workedBetween = (from: number, to: number, within: Span): number => {
    const start = roundIn(from);
    const end = roundOut(to);
    return end > start ? overlap({ start, end }, within) : 0;
  };

  if (plan.kind === 'work' && plan.flexible) {
    const flexible = plan.flexible;
    const { in: inPunch, out: outPunch } = inAndOut(kept, { start: flexible.latest, end: flexible.latest + flexible.requiredMs + flexible.breakMs });
    const effectiveStart = inPunch ? Math.min(Math.max(inPunch.ms, flexible.earliest), flexible.latest) : flexible.latest;
    const requiredEnd = effectiveStart + flexible.requiredMs + flexible.breakMs;
    scheduledStart = effectiveStart;
    scheduledEnd = requiredEnd;
    scheduledMinutes = wholeMinutes(flexible.requiredMs);
    const late = inPunch ? lateStatus(wholeMinutes(inPunch.ms - flexible.latest), rules) : { status: missing(flexible.latest + flexible.requiredMs), minutes: 0 };
    checks.push(checkOf(0, 'in', flexible.latest, inPunch, late.status, late.minutes));
    const early = outPunch ? earlyStatus(wholeMinutes(requiredEnd - outPunch.ms), rules) : { status: missing(requiredEnd + afterEnd), minutes: 0 };
    checks.push(checkOf(0, 'out', requiredEnd, outPunch, early.status, early.minutes));
    if (inPunch && outPunch) {
      const present = workedBetween(inPunch.ms, outPunch.ms, { start: flexible.earliest, end: Number.POSITIVE_INFINITY });
      worked = Math.max(0, present - flexible.breakMs);
      overtime = Math.max(0, roundOut(outPunch.ms) - requiredEnd);
    }
  } else if (plan.kind === 'work') {
    const bySegment: TimedPunch[][] = plan.segments.map(() => []);
    for (const punch of kept) bySegment[nearest(plan.segments, punch.ms)]?.push(punch);
    scheduledStart = plan.segments[0]?.start ?? scheduledStart;
    scheduledEnd = plan.segments[plan.segments.length - 1]?.end ?? scheduledEnd;
    plan.segments.forEach((segment, index) => {
      const breakMs = plan.breaks.reduce((sum, period) => sum + overlap(period, segment), 0);
      scheduledMinutes += wholeMinutes(segment.end - segment.start - breakMs);
      const { in: inPunch, out: outPunch } = inAndOut(bySegment[index] ?? [], segment);
      const late = inPunch ? lateStatus(wholeMinutes(inPunch.ms - segment.start), rules) : { status: missing(segment.end), minutes: 0 };
      checks.push(checkOf(index, 'in', segment.start, inPunch, late.status, late.minutes));
      const early = outPunch ? earlyStatus(wholeMinutes(segment.end - outPunch.ms), rules) : { status: missing(segment.end + afterEnd), minutes: 0 };
      checks.push(checkOf(index, 'out', segment.end, outPunch, early.status, early.minutes));
      if (inPunch && outPunch) {
        // Present within the segment, less the unpaid breaks in that time.
        const inside = { start: Math.max(roundIn(inPunch.ms), segment.start), end: Math.min(roundOut(outPunch.ms), segment.end) };
        if (inside.end > inside.start) worked += inside.end - inside.start - plan.breaks.reduce((sum, period) => sum + overlap(inside, period), 0);
        const isFirst = index === 0;
        const isLast = index === plan.segments.length - 1;
        if (isLast) overtime += Math.max(0, roundOut(outPunch.ms) - segment.end);
        if (isFirst && rules.overtime.beforeStart) overtime += Math.max(0, segment.start - roundIn(inPunch.ms));
      }
    });
  } else if (kept.length > 0) {
    // A rest day, a holiday, leave or no schedule: time on site is worked, and HR is told.
    const first = kept[0];
    const last = kept[kept.length - 1];
    if (first && last && first !== last) worked = workedBetween(first.ms, last.ms, { start: Number.NEGATIVE_INFINITY, end: Number.POSITIVE_INFINITY });
    if (plan.kind === 'rest') flags.add('WorkedOnRestDay');
    if (plan.kind === 'holiday') flags.add('WorkedOnHoliday');
    if (plan.kind === 'leave') flags.add('PunchOnLeave');
  }
  const overtimeMinutes = wholeMinutes(overtime);
  const countedOvertime = overtimeMinutes >= rules.overtime.minimumMinutes && overtimeMinutes > 0 ? Math.floor(overtimeMinutes / rules.overtime.unitMinutes) * rules.overtime.unitMinutes : 0;
  const exceptions = SEVERITY.filter((status) => status !== 'Normal' && status !== 'Pending' && checks.some((check) => check.status === status));
  let status: DayStatus;
  if (plan.kind === 'leave') status = 'OnLeave';
  else if (plan.kind === 'holiday') status = 'Holiday';
  else if (plan.kind === 'rest') status = 'Rest';
  else if (plan.kind === 'unscheduled') status = 'Unscheduled';
  else if (kept.length === 0 && complete) status = 'Absenteeism';
  else status = exceptions[0] ?? (checks.some((check) => check.status === 'Pending') ? 'Pending' : 'Normal');
  if (status === 'Absenteeism' && !exceptions.includes('Absenteeism')) exceptions.unshift('Absenteeism');

  const used = checks.flatMap((check) => (check.punchId ? [check.punchId] : []));
  const usedPunches = kept.filter((punch) => used.includes(punch.id));
  const withEvidence = (plan.kind === 'work' ? usedPunches : kept).filter((punch) => punch.location !== undefined);
  const inPunch = plan.kind === 'work' ? (checks.find((check) => check.kind === 'in' && check.at)?.at ?? null) : (kept[0]?.at ?? null);
  const outChecks = checks.filter((check) => check.kind === 'out' && check.at);
  const lastOutAt = plan.kind === 'work' ? (outChecks[outChecks.length - 1]?.at ?? null) : kept.length > 1 ? (kept[kept.length - 1]?.at ?? null) : null;
  const all = [...claimed, ...strays];
  const shift = plan.shift;
  return {
    employeeNumber,
    workDate: plan.date,
    timeZone: plan.timeZone,
    status,
    exceptions: plan.kind === 'work' ? exceptions : [],
    shift: shift ? { id: shift.id, name: shift.name, nameZh: shift.nameZh ?? null, kind: shift.kind } : null,
    siteId: plan.siteId,
    scheduledStart: scheduledStart === null ? null : iso(scheduledStart),
    scheduledEnd: scheduledEnd === null ? null : iso(scheduledEnd),
    scheduledMinutes: plan.kind === 'work' ? scheduledMinutes : 0,
    firstIn: inPunch,
    lastOut: lastOutAt,
    workedMinutes: wholeMinutes(worked),
    lateMinutes: checks.filter((check) => check.kind === 'in').reduce((sum, check) => sum + check.minutes, 0),
    earlyLeaveMinutes: checks.filter((check) => check.kind === 'out').reduce((sum, check) => sum + check.minutes, 0),
    overtimeMinutes: plan.kind === 'work' ? countedOvertime : 0,
    checks,
    holiday: plan.holiday ? { name: plan.holiday.name, nameZh: plan.holiday.nameZh, statutory: plan.holiday.statutory, entitlement: plan.holiday.entitlement } : null,
    leave: plan.leave ? { id: plan.leave.record.id, type: plan.leave.record.type, portion: plan.leave.portion, days: plan.leave.days } : null,
    location: withEvidence.length === 0 ? null : withEvidence.some((punch) => punch.location === 'outside') ? 'outside' : 'inside',
    flags: [...flags].sort(),
    sites: [...new Set(all.map((punch) => punch.siteId))].sort(),
    punchIds: all.map((punch) => punch.id).sort(),
    complete,
  };
}
