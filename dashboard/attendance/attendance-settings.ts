import { z } from 'zod';
import { AttendanceRules, HolidaySettings } from '../../core/attendance/index.js';

/** When a make-up punch (補卡) request needs HR after the store manager has approved it. */
export const MakeupPolicy = z
  .object({
    /** A person's requests in the same month beyond this many go to HR too. */
    hrReviewAfterPerMonth: z.number().int().min(0).max(31).default(2),
    /** A request for a punch more than this many days back goes to HR too. */
    hrReviewAfterDays: z.number().int().min(0).max(366).default(7),
  })
  .strict();
export type MakeupPolicy = z.output<typeof MakeupPolicy>;

/** The company's attendance settings: one document, `PUT /api/v1/attendance/settings`. */
export const AttendanceSettings = z
  .object({
    rules: AttendanceRules.default(AttendanceRules.parse({})),
    holidays: HolidaySettings.default(HolidaySettings.parse({})),
    makeup: MakeupPolicy.default(MakeupPolicy.parse({})),
  })
  .strict();
export type AttendanceSettings = z.output<typeof AttendanceSettings>;
export type AttendanceSettingsInput = z.input<typeof AttendanceSettings>;

export const DEFAULT_ATTENDANCE_SETTINGS: AttendanceSettings = AttendanceSettings.parse({});
