import { z } from 'zod';

/**
 * Tolerances HR sets once for the company (and may override per schedule). Defaults follow
 * common practice in Hong Kong retail; every one can be changed.
 */
export const AttendanceRules = z
  .object({
    /** Late by at most this many minutes is still on time (status Normal, 0 late minutes). */
    lateGraceMinutes: z.number().int().min(0).max(240).default(0),
    /** Leaving at most this many minutes early is still Normal. */
    earlyLeaveGraceMinutes: z.number().int().min(0).max(240).default(0),
    /** Late by more than this: SeriousLate. */
    seriousLateMinutes: z.number().int().min(1).max(1440).default(30),
    /** Late by more than this: the check counts as Absenteeism. null: never. */
    absentIfLateMinutes: z.number().int().min(1).max(1440).nullable().default(240),
    /** A punch this close after the previous one is a duplicate (a double tap), not a new check. */
    minimumGapMinutes: z.number().int().min(0).max(120).default(1),
    /** Worked time is counted from the in punch rounded and to the out punch rounded, on the wall clock. */
    rounding: z
      .object({
        unitMinutes: z.union([z.literal(1), z.literal(5), z.literal(6), z.literal(10), z.literal(15), z.literal(30), z.literal(60)]).default(1),
        in: z.enum(['up', 'down', 'nearest']).default('up'),
        out: z.enum(['up', 'down', 'nearest']).default('down'),
      })
      .strict()
      .default({ unitMinutes: 1, in: 'up', out: 'down' }),
    overtime: z
      .object({
        /** Less than this after the end (or before the start) is not overtime. */
        minimumMinutes: z.number().int().min(0).max(600).default(30),
        /** Overtime is counted in whole units, rounded down. */
        unitMinutes: z.number().int().min(1).max(60).default(1),
        /** Count time worked before the scheduled start as overtime too. */
        beforeStart: z.boolean().default(false),
      })
      .strict()
      .default({ minimumMinutes: 30, unitMinutes: 1, beforeStart: false }),
    /** Which punches belong to a shift: from this long before its start to this long after its end. */
    punchWindow: z
      .object({
        beforeStartMinutes: z.number().int().min(0).max(720).default(240),
        afterEndMinutes: z.number().int().min(0).max(720).default(360),
      })
      .strict()
      .default({ beforeStartMinutes: 240, afterEndMinutes: 360 }),
  })
  .strict();
export type AttendanceRules = z.output<typeof AttendanceRules>;
export type AttendanceRulesInput = z.input<typeof AttendanceRules>;

export const DEFAULT_RULES: AttendanceRules = AttendanceRules.parse({});
