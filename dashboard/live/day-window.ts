import { cachedFormat, localDay } from '../../core/time.js';

/** Wall-clock minus UTC at an instant in a time zone, in ms (e.g. +8 h for Asia/Hong_Kong). */
export function zoneOffsetMs(instantMs: number, timeZone: string): number {
  const parts = cachedFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instantMs));
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return wall - (instantMs - (((instantMs % 1000) + 1000) % 1000));
}

/** The UTC instant (ms) at which a calendar day (YYYY-MM-DD) starts in a time zone. */
export function startOfDayMs(day: string, timeZone: string): number {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const wallMidnight = Date.UTC(year, month - 1, date);
  // Twice: the offset at the guess may differ from the one at the true start (a DST change that day).
  const guess = wallMidnight - zoneOffsetMs(wallMidnight, timeZone);
  return wallMidnight - zoneOffsetMs(guess, timeZone);
}

/** The site-local day containing `now`, and its bounds as UTC instants [from, to). */
export function dayWindow(now: Date, timeZone: string): { day: string; from: string; to: string } {
  const day = localDay(now, timeZone);
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const next = new Date(Date.UTC(year, month - 1, date + 1)).toISOString().slice(0, 10);
  return { day, from: new Date(startOfDayMs(day, timeZone)).toISOString(), to: new Date(startOfDayMs(next, timeZone)).toISOString() };
}
