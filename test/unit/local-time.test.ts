import { describe, expect, it } from 'vitest';
import { localDateOf, localMinutesOf, zonedInstant, zoneOffsetMs } from '../../core/attendance/index.js';

/** Zone offsets (cached by quarter hour) against the zone's rules, across changes of offset. */

const HOUR = 3_600_000;

describe('zone offsets', () => {
  it.each([
    ['Asia/Hong_Kong', '2026-11-23T01:07:13.250Z', 8 * HOUR],
    ['Europe/London', '2026-03-29T00:59:59.999Z', 0],
    ['Europe/London', '2026-03-29T01:00:00.000Z', HOUR],
    ['Europe/London', '2026-10-25T00:59:59.000Z', HOUR],
    ['Europe/London', '2026-10-25T01:00:00.000Z', 0],
    ['America/New_York', '2026-03-08T06:59:00.000Z', -5 * HOUR],
    ['America/New_York', '2026-03-08T07:00:00.000Z', -4 * HOUR],
    ['Asia/Kolkata', '2026-11-23T10:14:59.000Z', 5.5 * HOUR],
    ['Australia/Lord_Howe', '2026-10-03T15:30:00.000Z', 11 * HOUR],
    ['Australia/Lord_Howe', '2026-10-03T15:29:59.000Z', 10.5 * HOUR],
  ])('%s at %s', (zone, instant, expected) => {
    // Twice: the second answer comes from the cache.
    expect(zoneOffsetMs(Date.parse(instant), zone)).toBe(expected);
    expect(zoneOffsetMs(Date.parse(instant), zone)).toBe(expected);
  });

  it('agrees with Intl on every quarter hour of a year in London and Hong Kong', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    for (const zone of ['Europe/London', 'Asia/Hong_Kong']) {
      const format = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
      for (let at = start; at < start + 365 * 24 * HOUR; at += 900_000 + 7_000) {
        expect(localDateOf(at, zone)).toBe(format.format(new Date(at)));
      }
    }
  });

  it('places wall-clock times by the rules of the day, and reads them back', () => {
    expect(new Date(zonedInstant('2026-03-30', 9 * 60, 'Europe/London')).toISOString()).toBe('2026-03-30T08:00:00.000Z');
    expect(new Date(zonedInstant('2026-03-27', 9 * 60, 'Europe/London')).toISOString()).toBe('2026-03-27T09:00:00.000Z');
    expect(localMinutesOf(Date.parse('2026-11-23T01:07:00Z'), 'Asia/Hong_Kong')).toBe(9 * 60 + 7);
  });
});
