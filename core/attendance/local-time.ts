import { z } from 'zod';
import { cachedFormat } from '../time.js';

/**
 * Calendar days and wall-clock times in a site's time zone, turned into instants through the
 * zone's rules (Intl), never through a fixed offset: Hong Kong has no daylight saving today, but
 * it had it until 1979, and sites elsewhere have it now.
 */
export const LocalDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date written YYYY-MM-DD')
  .refine((text) => !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text), 'is not a real calendar date');
export type LocalDate = z.infer<typeof LocalDate>;

export const ClockTime = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day written HH:MM (00:00 to 23:59)');
export type ClockTime = z.infer<typeof ClockTime>;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export function minutesOfClock(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

export function clockOfMinutes(minutes: number): string {
  const inDay = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(inDay / 60)).padStart(2, '0')}:${String(inDay % 60).padStart(2, '0')}`;
}

function utcMidnight(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

export function addDays(date: string, days: number): string {
  return new Date(utcMidnight(date) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((utcMidnight(to) - utcMidnight(from)) / DAY_MS);
}

/** 0 = Sunday ... 6 = Saturday. */
export function weekdayOf(date: string): number {
  return new Date(utcMidnight(date)).getUTCDay();
}

export function* eachDay(from: string, to: string): Generator<string> {
  for (let date = from; date <= to; date = addDays(date, 1)) yield date;
}

/**
 * Offsets by zone and quarter hour of UTC. Zones change their offset only at whole quarter hours
 * of UTC (in the tz database since the 1970s; local mean times before 1900 aside), so one lookup
 * serves a quarter hour; formatToParts costs ~6 µs and was 70 % of a monthly
 * report's engine time (docs/benchmarks.md).
 */
const QUARTER_HOUR_MS = 900_000;
const offsets = new Map<string, Map<number, number>>();
const MAX_CACHED_QUARTERS = 200_000;

/** The zone's offset from UTC at an instant, in ms (Hong Kong: +8 h). */
export function zoneOffsetMs(instantMs: number, timeZone: string): number {
  const quarter = Math.floor(instantMs / QUARTER_HOUR_MS);
  let byQuarter = offsets.get(timeZone);
  if (!byQuarter) {
    byQuarter = new Map();
    offsets.set(timeZone, byQuarter);
  }
  const cached = byQuarter.get(quarter);
  if (cached !== undefined) return cached;
  if (byQuarter.size >= MAX_CACHED_QUARTERS) byQuarter.clear();
  const offset = computeZoneOffsetMs(quarter * QUARTER_HOUR_MS, timeZone);
  byQuarter.set(quarter, offset);
  return offset;
}

function computeZoneOffsetMs(instantMs: number, timeZone: string): number {
  const parts = cachedFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(new Date(instantMs));
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return wall - (instantMs - (((instantMs % 1000) + 1000) % 1000));
}

/**
 * The instant when the wall clock in `timeZone` shows `minutes` after midnight of `date`
 * (minutes may pass 1440: the next day's wall clock). In a gap (a spring-forward hour) it gives
 * the instant the same number of minutes after midnight would have had before the change.
 */
export function zonedInstant(date: string, minutes: number, timeZone: string): number {
  const wall = utcMidnight(date) + minutes * MINUTE_MS;
  let instant = wall - zoneOffsetMs(wall, timeZone);
  // A second pass settles instants whose offset differs from the offset at the naive guess.
  instant = wall - zoneOffsetMs(instant, timeZone);
  return instant;
}

/** The local calendar day of an instant. */
export function localDateOf(instantMs: number, timeZone: string): string {
  return new Date(instantMs + zoneOffsetMs(instantMs, timeZone)).toISOString().slice(0, 10);
}

/** Minutes after local midnight (with fractions), as the wall clock shows them. */
export function localMinutesOf(instantMs: number, timeZone: string): number {
  const local = instantMs + zoneOffsetMs(instantMs, timeZone);
  return (((local % DAY_MS) + DAY_MS) % DAY_MS) / MINUTE_MS;
}

/** HH:MM on the wall clock of `timeZone` at an instant. */
export function localClockOf(instantMs: number, timeZone: string): string {
  return clockOfMinutes(Math.floor(localMinutesOf(instantMs, timeZone)));
}
