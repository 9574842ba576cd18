import { z } from 'zod';
import { EntityId } from '../punch.js';
import { ClockTime, minutesOfClock } from './local-time.js';

/**
 * A shift as HR writes it: wall-clock times in the site's time zone. An end at or before its
 * start is on the next day (22:00-06:00 crosses midnight); a split shift has several segments,
 * each after the one before; breaks inside a segment are unpaid and not worked.
 */
const Period = z.object({ start: ClockTime, end: ClockTime }).strict();

const shiftNames = {
  id: EntityId,
  name: z.string().trim().min(1, 'name must not be empty').max(80, 'name may be at most 80 characters'),
  nameZh: z.string().trim().min(1).max(80).optional(),
};

export const FixedShift = z
  .object({
    ...shiftNames,
    kind: z.literal('fixed'),
    segments: z.array(Period).min(1, 'a fixed shift needs at least one segment').max(4, 'a shift may have at most 4 segments'),
    breaks: z.array(Period).max(4, 'a shift may have at most 4 breaks').default([]),
  })
  .strict()
  .superRefine((shift, ctx) => {
    const timeline = segmentOffsets(shift.segments);
    const first = timeline[0];
    const last = timeline[timeline.length - 1];
    if (first && last && last.end - first.start > 1440) ctx.addIssue({ code: 'custom', path: ['segments'], message: 'a shift may last at most 24 hours from its first start to its last end' });
    shift.breaks.forEach((period, index) => {
      const offsets = breakOffsets(period, timeline);
      if (!offsets) ctx.addIssue({ code: 'custom', path: ['breaks', index], message: `break ${period.start}-${period.end} is not inside one of the shift's segments` });
    });
  });
export type FixedShift = z.output<typeof FixedShift>;

export const FlexibleShift = z
  .object({
    ...shiftNames,
    kind: z.literal('flexible'),
    /** Arrivals from this time count as the start... */
    earliestStart: ClockTime,
    /** ...and after this one they are late. */
    latestStart: ClockTime,
    requiredMinutes: z.number().int().min(1).max(1440),
    /** Unpaid break taken somewhere in the day: it lengthens the required stay, it is not worked. */
    breakMinutes: z.number().int().min(0).max(480).default(0),
  })
  .strict()
  .superRefine((shift, ctx) => {
    const earliest = minutesOfClock(shift.earliestStart);
    const latest = minutesOfClock(shift.latestStart);
    if (latest < earliest) ctx.addIssue({ code: 'custom', path: ['latestStart'], message: 'latestStart must not be before earliestStart (a flexible start window does not cross midnight)' });
    if (latest - earliest + shift.requiredMinutes + shift.breakMinutes > 1440 + 720) ctx.addIssue({ code: 'custom', path: ['requiredMinutes'], message: 'the start window and the required time together are too long' });
  });
export type FlexibleShift = z.output<typeof FlexibleShift>;

export const Shift = z.discriminatedUnion('kind', [FixedShift, FlexibleShift]);
export type Shift = z.output<typeof Shift>;
export type ShiftInput = z.input<typeof Shift>;

/** A period as minutes after the work day's midnight (the end may pass 1440: the next day). */
export interface Offsets {
  start: number;
  end: number;
}

/** The segments on one timeline: each start after the previous end, rolling over midnight. */
export function segmentOffsets(segments: ReadonlyArray<{ start: string; end: string }>): Offsets[] {
  const timeline: Offsets[] = [];
  let cursor = 0;
  for (const segment of segments) {
    let start = minutesOfClock(segment.start);
    while (start < cursor) start += 1440;
    let end = minutesOfClock(segment.end);
    while (end <= start) end += 1440;
    timeline.push({ start, end });
    cursor = end;
  }
  return timeline;
}

/** A break's offsets, placed inside the segment that holds it; undefined if none does. */
export function breakOffsets(period: { start: string; end: string }, timeline: readonly Offsets[]): Offsets | undefined {
  for (const segment of timeline) {
    for (const shiftDays of [0, 1440]) {
      const start = minutesOfClock(period.start) + shiftDays;
      let end = minutesOfClock(period.end) + shiftDays;
      while (end <= start) end += 1440;
      if (start >= segment.start && end <= segment.end) return { start, end };
    }
  }
  return undefined;
}
