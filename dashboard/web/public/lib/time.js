// @ts-check
/** Calendar days in a site's time zone, as the UTC instants the API takes. */

export const DEFAULT_TIME_ZONE = 'Asia/Hong_Kong';

/** The calendar day (YYYY-MM-DD) an instant falls on in a time zone. @param {Date} at @param {string} timeZone */
export function dayOf(at, timeZone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** How far the zone's wall clock is ahead of UTC at an instant, ms. @param {Date} at @param {string} timeZone */
function offsetAt(at, timeZone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  );
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return wall - Math.floor(at.getTime() / 1000) * 1000;
}

/** The UTC instant at which `day` (YYYY-MM-DD) begins in a time zone. @param {string} day @param {string} timeZone */
export function startOfDay(day, timeZone) {
  const midnightUtc = new Date(`${day}T00:00:00Z`);
  const first = new Date(midnightUtc.getTime() - offsetAt(midnightUtc, timeZone));
  // Once more with the offset in force at that instant (a DST change near midnight).
  return new Date(midnightUtc.getTime() - offsetAt(first, timeZone));
}

/** The UTC instant at which the day after `day` begins. @param {string} day @param {string} timeZone */
export function startOfNextDay(day, timeZone) {
  const next = new Date(`${day}T12:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return startOfDay(next.toISOString().slice(0, 10), timeZone);
}

/** Midnight today in a time zone. @param {string} [timeZone] */
export function startOfToday(timeZone = DEFAULT_TIME_ZONE) {
  return startOfDay(dayOf(new Date(), timeZone), timeZone);
}

/** The calendar day `days` after (or before) `day`, both YYYY-MM-DD. @param {string} day @param {number} days */
export function addDays(day, days) {
  const at = new Date(`${day}T12:00:00Z`);
  at.setUTCDate(at.getUTCDate() + days);
  return at.toISOString().slice(0, 10);
}

/** Yesterday's calendar day in a time zone. @param {string} [timeZone] */
export function yesterday(timeZone = DEFAULT_TIME_ZONE) {
  return addDays(dayOf(new Date(), timeZone), -1);
}

/**
 * The UTC instant of a wall-clock time (HH:MM) on a day in a time zone: what a person at the
 * site's clock means by "23 Nov, 18:00".
 * @param {string} day YYYY-MM-DD
 * @param {string} clock HH:MM
 * @param {string} timeZone
 */
export function zonedInstant(day, clock, timeZone) {
  const [hours, minutes] = clock.split(':').map(Number);
  const wall = new Date(`${day}T00:00:00Z`).getTime() + ((hours ?? 0) * 60 + (minutes ?? 0)) * 60_000;
  const first = new Date(wall - offsetAt(new Date(wall), timeZone));
  return new Date(wall - offsetAt(first, timeZone));
}
