import { z } from 'zod';
import { HolidayEntitlement } from './holidays.js';
import { LeaveType } from './leave.js';

/** One check (an in or an out of a shift segment), with DingTalk's vocabulary. */
export const CheckStatus = z.enum(['Normal', 'Late', 'SeriousLate', 'Early', 'Absenteeism', 'NotSigned', 'Pending']);
export type CheckStatus = z.infer<typeof CheckStatus>;

export const DayStatus = z.enum(['Normal', 'Late', 'SeriousLate', 'Early', 'Absenteeism', 'NotSigned', 'OnLeave', 'Holiday', 'Rest', 'Unscheduled', 'Pending']);
export type DayStatus = z.infer<typeof DayStatus>;

/** Things HR should see, none of which hides a punch. */
export const DayFlag = z.enum([
  /** A punch taken before the gateway's clock was confirmed. */
  'UnsyncedClock',
  /** A punch whose time was recomputed once the clock synced. */
  'CorrectedClock',
  /** A make-up punch (補卡) from an approved request. */
  'ManualPunch',
  /** Taps within the minimum gap of the one before: not counted again. */
  'DuplicatePunch',
  /** A punch outside every shift's window on a work day: listed, not used. */
  'StrayPunch',
  /** A punch on a day of approved leave: a warning for HR to resolve, not an error. */
  'PunchOnLeave',
  'WorkedOnRestDay',
  'WorkedOnHoliday',
  /** A punch whose location evidence was refused. */
  'OutsideLocation',
]);
export type DayFlag = z.infer<typeof DayFlag>;

export const CheckResult = z.object({
  segment: z.number().int().nonnegative(),
  kind: z.enum(['in', 'out']),
  status: CheckStatus,
  /** The scheduled time of this check (UTC). */
  scheduledAt: z.string(),
  /** The punch used, if any. */
  punchId: z.string().nullable(),
  at: z.string().nullable(),
  siteId: z.string().nullable(),
  /** Late minutes for an in, early-leave minutes for an out (0 when Normal). */
  minutes: z.number().int().nonnegative(),
  location: z.enum(['inside', 'outside']).nullable(),
});
export type CheckResult = z.infer<typeof CheckResult>;

export const DayResult = z.object({
  employeeNumber: z.string(),
  /** The work day a result is for: decided by the shift, so a night shift's punches after midnight belong to the day it started. */
  workDate: z.string(),
  timeZone: z.string(),
  status: DayStatus,
  /** Every non-Normal check status of the day, worst first. */
  exceptions: z.array(CheckStatus),
  shift: z.object({ id: z.string(), name: z.string(), nameZh: z.string().nullable(), kind: z.enum(['fixed', 'flexible']) }).nullable(),
  siteId: z.string().nullable(),
  scheduledStart: z.string().nullable(),
  scheduledEnd: z.string().nullable(),
  scheduledMinutes: z.number().int().nonnegative(),
  firstIn: z.string().nullable(),
  lastOut: z.string().nullable(),
  workedMinutes: z.number().int().nonnegative(),
  lateMinutes: z.number().int().nonnegative(),
  earlyLeaveMinutes: z.number().int().nonnegative(),
  overtimeMinutes: z.number().int().nonnegative(),
  checks: z.array(CheckResult),
  holiday: z.object({ name: z.string(), nameZh: z.string(), statutory: z.boolean(), entitlement: HolidayEntitlement }).nullable(),
  leave: z.object({ id: z.string(), type: LeaveType, portion: z.enum(['full', 'am', 'pm']), days: z.number() }).nullable(),
  /** Location verdict over the day's punches with evidence: outside if any was refused; null without evidence. */
  location: z.enum(['inside', 'outside']).nullable(),
  flags: z.array(DayFlag),
  sites: z.array(z.string()),
  punchIds: z.array(z.string()),
  /** False while the day's last check can still happen: statuses may still change. */
  complete: z.boolean(),
});
export type DayResult = z.infer<typeof DayResult>;
