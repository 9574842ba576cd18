import { describe, expect, it } from 'vitest';
import { AttendanceEngine, kioskVerdict, ScheduleBook, verdictText } from '../../core/attendance/index.js';

/** The verdict a gateway gives at the door, from the pushed schedule book. */

const book = ScheduleBook.parse({
  shifts: [
    { id: 'day', name: 'Day', kind: 'fixed', segments: [{ start: '09:00', end: '18:00' }] },
    { id: 'night', name: 'Night', kind: 'fixed', segments: [{ start: '22:00', end: '06:00' }] },
    { id: 'flex', name: 'Flex', kind: 'flexible', earliestStart: '08:00', latestStart: '10:00', requiredMinutes: 480 },
    { id: 'early', name: 'After midnight', kind: 'fixed', segments: [{ start: '00:30', end: '08:30' }] },
  ],
  assignments: [
    { id: 'all', appliesTo: { everyone: true }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days: { mon: 'day', tue: 'day', wed: 'day', thu: 'day', fri: 'day', sat: null, sun: null } } },
    { id: 'sec', appliesTo: { department: 'security' }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days: { mon: 'night', tue: 'night', wed: 'night', thu: 'night', fri: 'night', sat: 'night', sun: 'night' } } },
    { id: 'cln', appliesTo: { department: 'cleaning' }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days: { mon: 'early', tue: 'early', wed: 'early', thu: 'early', fri: 'early', sat: 'early', sun: 'early' } } },
    { id: 'des', appliesTo: { rank: 'designer' }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days: { mon: 'flex', tue: 'flex', wed: 'flex', thu: 'flex', fri: 'flex', sat: null, sun: null } } },
  ],
  rules: { lateGraceMinutes: 5 },
});
const engine = new AttendanceEngine(book, { timeZoneOf: () => 'Asia/Hong_Kong' });
const hk = (local: string) => new Date(`${local.replace(' ', 'T')}:00+08:00`).toISOString();
const clerk = { employeeNumber: 'E001', department: 'retail', rank: 'clerk' };

describe('kiosk verdict', () => {
  it.each([
    ['in within grace', clerk, '2026-11-23 09:05', 'in', { kind: 'on-time' }, 'on time'],
    ['in late', clerk, '2026-11-23 09:14', 'in', { kind: 'late', minutes: 14 }, 'late 14m'],
    ['out early', clerk, '2026-11-23 17:30', 'out', { kind: 'early', minutes: 30 }, 'early 30m'],
    ['out after the end', clerk, '2026-11-23 18:03', 'out', { kind: 'on-time' }, 'on time'],
    ['a night shift out after midnight belongs to yesterday', { employeeNumber: 'E2', department: 'security' }, '2026-11-24 05:40', 'out', { kind: 'early', minutes: 20 }, 'early 20m'],
    ['a night shift in', { employeeNumber: 'E2', department: 'security' }, '2026-11-23 22:20', 'in', { kind: 'late', minutes: 20 }, 'late 20m'],
    // Before, only yesterday's and today's shifts were looked at: an in at 23:50 for a shift starting
    // at 00:30 said nothing at the door, though the report counts it for the next day, on time.
    ['an in before midnight for a shift starting after it belongs to tomorrow', { employeeNumber: 'E4', department: 'cleaning' }, '2026-11-23 23:50', 'in', { kind: 'on-time' }, 'on time'],
    ['that shift, in late after midnight', { employeeNumber: 'E4', department: 'cleaning' }, '2026-11-24 00:41', 'in', { kind: 'late', minutes: 11 }, 'late 11m'],
    ['flexible: any start in the window is on time', { employeeNumber: 'E3', rank: 'designer' }, '2026-11-23 09:55', 'in', { kind: 'on-time' }, 'on time'],
    ['flexible: after the window', { employeeNumber: 'E3', rank: 'designer' }, '2026-11-23 10:30', 'in', { kind: 'late', minutes: 30 }, 'late 30m'],
  ] as const)('%s', (_name, employee, at, direction, expected, text) => {
    const verdict = kioskVerdict(engine, employee, hk(at), direction, 'Asia/Hong_Kong');
    expect(verdict).toEqual(expected);
    expect(verdictText(verdict, 'en')).toBe(text);
  });

  it('says nothing on a rest day, outside any shift window, or for the unscheduled', () => {
    expect(kioskVerdict(engine, clerk, hk('2026-11-22 10:00'), 'in', 'Asia/Hong_Kong')).toBeUndefined();
    expect(kioskVerdict(engine, clerk, hk('2026-11-23 02:00'), 'in', 'Asia/Hong_Kong')).toBeUndefined();
    const none = new AttendanceEngine(ScheduleBook.parse({ shifts: [], assignments: [] }), { timeZoneOf: () => 'Asia/Hong_Kong' });
    expect(kioskVerdict(none, clerk, hk('2026-11-23 09:30'), 'in', 'Asia/Hong_Kong')).toBeUndefined();
    expect(verdictText(undefined, 'en')).toBe('');
  });

  it('a statutory holiday is an off day', () => {
    expect(kioskVerdict(engine, clerk, hk('2026-12-25 09:30'), 'in', 'Asia/Hong_Kong')).toEqual({ kind: 'off-day' });
    expect(verdictText({ kind: 'late', minutes: 4 }, 'zh-HK')).toBe('遲到4分');
  });
});
