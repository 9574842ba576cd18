import { z } from 'zod';

/** ISO-8601 instant in UTC with a Z suffix, as every timestamp on the wire and in storage. */
export const UtcInstant = z.iso.datetime({ offset: false, precision: 3 });

export function toUtcInstant(date: Date): string {
  return date.toISOString();
}

export const DEFAULT_TIME_ZONE = 'Asia/Hong_Kong';

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar day (YYYY-MM-DD) of an instant in a time zone: the site's "day" for in/out. */
export function localDay(instant: Date, timeZone: string): string {
  // Building a DateTimeFormat costs ~0.2 ms, a sixth of a tap's CPU (docs/benchmarks.md): keep one per zone.
  let format = dayFormats.get(timeZone);
  if (!format) {
    // en-CA formats as YYYY-MM-DD.
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timeZone, format);
  }
  return format.format(instant);
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}

export const TimeZone = z.string().refine(isValidTimeZone, { message: 'is not an IANA time zone (e.g. Asia/Hong_Kong)' });
