import { describe, expect, it } from 'vitest';
import { AttendanceEngine, ScheduleBook, type AttendancePunch, type DayResult, type EmployeeRef, type LeaveRecord, type ScheduleBookInput } from '../../core/attendance/index.js';
import type { PunchDirection, PunchMethod } from '../../core/punch.js';

/**
 * The rules engine as HR would check it: one row per case, an employee, their shift and punches,
 * and the day result expected. Times are Hong Kong wall-clock times; the engine is given UTC.
 */

const BOOK: ScheduleBookInput = {
  shifts: [
    { id: 'day', name: 'Day', nameZh: '日更', kind: 'fixed', segments: [{ start: '09:00', end: '18:00' }], breaks: [{ start: '13:00', end: '14:00' }] },
    { id: 'night', name: 'Night', nameZh: '夜更', kind: 'fixed', segments: [{ start: '22:00', end: '06:00' }] },
    { id: 'split', name: 'Split', kind: 'fixed', segments: [{ start: '10:00', end: '14:00' }, { start: '18:00', end: '22:00' }] },
    { id: 'flex', name: 'Flexible', kind: 'flexible', earliestStart: '08:00', latestStart: '10:00', requiredMinutes: 480, breakMinutes: 60 },
  ],
  assignments: [
    { id: 'everyone', appliesTo: { everyone: true }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days: { mon: 'day', tue: 'day', wed: 'day', thu: 'day', fri: 'day', sat: null, sun: null } } },
    { id: 'security', appliesTo: { department: 'security' }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days: { mon: 'night', tue: 'night', wed: 'night', thu: 'night', fri: 'night', sat: 'night', sun: 'night' } } },
    { id: 'designers', appliesTo: { rank: 'designer' }, validFrom: '2026-01-01', holidays: 'general', pattern: { kind: 'weekly', days: { mon: 'flex', tue: 'flex', wed: 'flex', thu: 'flex', fri: 'flex', sat: null, sun: null } } },
    { id: 'four-two', appliesTo: { employeeNumber: 'E-ROT' }, validFrom: '2026-01-01', pattern: { kind: 'rotation', anchorDate: '2026-11-02', cycle: ['day', 'day', 'day', 'day', null, null] } },
    { id: 'part-timer', appliesTo: { employeeNumber: 'E-SPLIT' }, validFrom: '2026-01-01', siteId: 'mk-01', pattern: { kind: 'weekly', days: { mon: 'split', tue: 'split', wed: 'split', thu: 'split', fri: 'split', sat: null, sun: null } } },
  ],
  overrides: [
    { employeeNumber: 'E001', date: '2026-12-26', shiftId: 'day' },
    { employeeNumber: 'E-DES', date: '2026-12-26', shiftId: 'flex' },
  ],
  rules: { lateGraceMinutes: 5, seriousLateMinutes: 30, absentIfLateMinutes: 120, overtime: { minimumMinutes: 30 } },
};

const EMPLOYEES: Record<string, EmployeeRef> = {
  E001: { employeeNumber: 'E001', department: 'retail', rank: 'clerk', sites: ['mk-01'] },
  'E-SEC': { employeeNumber: 'E-SEC', department: 'security', sites: ['mk-01'] },
  'E-DES': { employeeNumber: 'E-DES', department: 'retail', rank: 'designer', sites: ['mk-01'] },
  'E-ROT': { employeeNumber: 'E-ROT', department: 'retail', sites: ['mk-01'] },
  'E-SPLIT': { employeeNumber: 'E-SPLIT', department: 'retail', sites: ['mk-01', 'tst-02'] },
};

const LEAVE: LeaveRecord[] = [
  { id: 'L1', employeeNumber: 'E001', type: 'annual', from: '2026-11-25', to: '2026-11-25', portion: 'full' },
  { id: 'L2', employeeNumber: 'E001', type: 'sick', from: '2026-11-26', to: '2026-11-26', portion: 'am' },
];

/** "2026-11-23 09:03" in Hong Kong, as the UTC instant a punch carries. */
function hk(local: string): string {
  return new Date(`${local.replace(' ', 'T')}${local.length === 16 ? ':00' : ''}+08:00`).toISOString();
}

interface P {
  at: string;
  dir?: PunchDirection;
  site?: string;
  method?: PunchMethod;
  synced?: boolean;
  outside?: boolean;
  approvalRef?: string;
}

let counter = 0;
function punch(p: P): AttendancePunch {
  counter += 1;
  return {
    id: `p-${String(counter).padStart(4, '0')}`,
    at: hk(p.at),
    siteId: p.site ?? 'mk-01',
    direction: p.dir ?? 'auto',
    method: p.method ?? 'badge',
    clock: { synced: p.synced ?? true },
    ...(p.outside !== undefined ? { location: p.outside ? ('outside' as const) : ('inside' as const) } : {}),
    ...(p.approvalRef ? { approvalRef: p.approvalRef } : {}),
  };
}

const engine = new AttendanceEngine(ScheduleBook.parse(BOOK), { timeZoneOf: () => 'Asia/Hong_Kong' });
const AFTER = Date.parse('2027-01-15T00:00:00Z');

function day(employee: string, date: string, punches: P[], now = AFTER): DayResult {
  const results = engine.days({ employee: EMPLOYEES[employee]!, leave: LEAVE.filter((l) => l.employeeNumber === employee), punches: punches.map(punch), from: date, to: date, now });
  expect(results).toHaveLength(1);
  return results[0]!;
}

type Expected = Partial<Pick<DayResult, 'status' | 'lateMinutes' | 'earlyLeaveMinutes' | 'workedMinutes' | 'overtimeMinutes' | 'exceptions' | 'sites' | 'scheduledMinutes' | 'complete'>> & {
  flags?: string[];
  checks?: string[];
  firstIn?: string | null;
  lastOut?: string | null;
  shift?: string | null;
};

const SCENARIOS: Array<[name: string, employee: string, date: string, punches: P[], expected: Expected]> = [
  ['on time', 'E001', '2026-11-23', [{ at: '2026-11-23 08:55' }, { at: '2026-11-23 18:02' }], { status: 'Normal', lateMinutes: 0, earlyLeaveMinutes: 0, workedMinutes: 480, overtimeMinutes: 0, scheduledMinutes: 480, checks: ['in Normal', 'out Normal'], firstIn: '2026-11-23 08:55', lastOut: '2026-11-23 18:02', flags: [] }],
  ['late within grace (5 min)', 'E001', '2026-11-23', [{ at: '2026-11-23 09:05:30' }, { at: '2026-11-23 18:00' }], { status: 'Normal', lateMinutes: 0, workedMinutes: 474, checks: ['in Normal', 'out Normal'] }],
  ['late', 'E001', '2026-11-23', [{ at: '2026-11-23 09:20' }, { at: '2026-11-23 18:00' }], { status: 'Late', lateMinutes: 20, workedMinutes: 460, exceptions: ['Late'], checks: ['in Late 20', 'out Normal'] }],
  ['serious late (over 30 min)', 'E001', '2026-11-23', [{ at: '2026-11-23 09:45' }, { at: '2026-11-23 18:00' }], { status: 'SeriousLate', lateMinutes: 45, checks: ['in SeriousLate 45', 'out Normal'] }],
  ['absent: later than 120 min', 'E001', '2026-11-23', [{ at: '2026-11-23 11:30' }, { at: '2026-11-23 18:00' }], { status: 'Absenteeism', lateMinutes: 150, checks: ['in Absenteeism 150', 'out Normal'] }],
  ['absent: no punch all day', 'E001', '2026-11-23', [], { status: 'Absenteeism', workedMinutes: 0, exceptions: ['Absenteeism', 'NotSigned'], checks: ['in NotSigned', 'out NotSigned'] }],
  ['early leave', 'E001', '2026-11-23', [{ at: '2026-11-23 08:59' }, { at: '2026-11-23 17:30' }], { status: 'Early', earlyLeaveMinutes: 30, workedMinutes: 450, checks: ['in Normal', 'out Early 30'] }],
  ['late and early on one day: the worse status, both exceptions', 'E001', '2026-11-23', [{ at: '2026-11-23 09:10' }, { at: '2026-11-23 17:50' }], { status: 'Late', exceptions: ['Late', 'Early'], lateMinutes: 10, earlyLeaveMinutes: 10 }],
  ['missing out punch', 'E001', '2026-11-23', [{ at: '2026-11-23 08:58', dir: 'in' }], { status: 'NotSigned', workedMinutes: 0, checks: ['in Normal', 'out NotSigned'], lastOut: null }],
  ['missing in punch (a lone out)', 'E001', '2026-11-23', [{ at: '2026-11-23 18:01', dir: 'out' }], { status: 'NotSigned', checks: ['in NotSigned', 'out Normal'], firstIn: null }],
  ['overtime after the end, over the 30-min minimum', 'E001', '2026-11-23', [{ at: '2026-11-23 08:58' }, { at: '2026-11-23 19:10' }], { status: 'Normal', workedMinutes: 480, overtimeMinutes: 70 }],
  ['overtime under the minimum is not counted', 'E001', '2026-11-23', [{ at: '2026-11-23 08:58' }, { at: '2026-11-23 18:25' }], { status: 'Normal', overtimeMinutes: 0 }],
  ['double tap at the door: one check, flagged', 'E001', '2026-11-23', [{ at: '2026-11-23 08:58:00' }, { at: '2026-11-23 08:58:20' }, { at: '2026-11-23 18:00' }], { status: 'Normal', flags: ['DuplicatePunch'], workedMinutes: 480 }],
  ['cross-midnight night shift: in on one calendar day, out on the next', 'E-SEC', '2026-11-23', [{ at: '2026-11-23 21:50' }, { at: '2026-11-24 06:05' }], { status: 'Normal', workedMinutes: 480, firstIn: '2026-11-23 21:50', lastOut: '2026-11-24 06:05', shift: 'night' }],
  ['cross-midnight: the gateway called the 06:00 punch an "in" (new calendar day)', 'E-SEC', '2026-11-23', [{ at: '2026-11-23 22:10', dir: 'in' }, { at: '2026-11-24 05:40', dir: 'in' }], { status: 'Late', lateMinutes: 10, earlyLeaveMinutes: 20, exceptions: ['Late', 'Early'], checks: ['in Late 10', 'out Early 20'] }],
  ['cross-midnight: the next work day does not take the previous night\'s out', 'E-SEC', '2026-11-24', [{ at: '2026-11-24 06:05' }, { at: '2026-11-24 21:58' }, { at: '2026-11-25 06:01' }], { status: 'Normal', firstIn: '2026-11-24 21:58', lastOut: '2026-11-25 06:01' }],
  ['flexible shift: any start in 08:00-10:00, 8 h + 1 h break', 'E-DES', '2026-11-23', [{ at: '2026-11-23 09:30' }, { at: '2026-11-23 18:45' }], { status: 'Normal', lateMinutes: 0, workedMinutes: 495, overtimeMinutes: 0, scheduledMinutes: 480 }],
  ['flexible shift: late after the window', 'E-DES', '2026-11-23', [{ at: '2026-11-23 10:12' }, { at: '2026-11-23 19:00' }], { status: 'Late', lateMinutes: 12, earlyLeaveMinutes: 0 }],
  ['flexible shift: left before the required hours', 'E-DES', '2026-11-23', [{ at: '2026-11-23 08:30' }, { at: '2026-11-23 16:30' }], { status: 'Early', earlyLeaveMinutes: 60 }],
  ['rotation 4 on / 2 off: a work day', 'E-ROT', '2026-11-23', [{ at: '2026-11-23 09:00' }, { at: '2026-11-23 18:00' }], { status: 'Normal', shift: 'day' }],
  ['rotation 4 on / 2 off: an off day (Tuesday)', 'E-ROT', '2026-11-24', [], { status: 'Rest', shift: null, exceptions: [] }],
  ['rotation: working on the off day is shown', 'E-ROT', '2026-11-25', [{ at: '2026-11-25 10:00' }, { at: '2026-11-25 14:00' }], { status: 'Rest', workedMinutes: 240, flags: ['WorkedOnRestDay'] }],
  ['statutory holiday (day following Chung Yeung, 2026)', 'E001', '2026-10-19', [], { status: 'Holiday', exceptions: [] }],
  ['a general holiday that is not statutory in 2026 is a work day for statutory staff', 'E001', '2026-12-26', [{ at: '2026-12-26 09:00' }, { at: '2026-12-26 18:00' }], { status: 'Normal' }],
  ['... and a day off for staff entitled to general holidays', 'E-DES', '2026-12-26', [], { status: 'Holiday' }],
  ['working on a holiday is shown', 'E001', '2026-12-25', [{ at: '2026-12-25 09:00' }, { at: '2026-12-25 13:00' }], { status: 'Holiday', workedMinutes: 240, flags: ['WorkedOnHoliday'] }],
  ['leave day with a punch: on leave, and a warning', 'E001', '2026-11-25', [{ at: '2026-11-25 09:02' }], { status: 'OnLeave', flags: ['PunchOnLeave'], exceptions: [] }],
  ['half day of leave (am): expected from the middle of the shift', 'E001', '2026-11-26', [{ at: '2026-11-26 13:33' }, { at: '2026-11-26 18:00' }], { status: 'Normal', lateMinutes: 0, scheduledMinutes: 240, workedMinutes: 240 }],
  ['half day of leave (am): late for the afternoon half', 'E001', '2026-11-26', [{ at: '2026-11-26 13:50' }, { at: '2026-11-26 18:00' }], { status: 'Late', lateMinutes: 20 }],
  ['make-up punch approved: a manual out completes the day, flagged', 'E001', '2026-11-27', [{ at: '2026-11-27 08:57' }, { at: '2026-11-27 18:00', method: 'manual', dir: 'out', approvalRef: 'MU-1' }], { status: 'Normal', workedMinutes: 480, flags: ['ManualPunch'] }],
  ['make-up punch rejected: the out stays missing', 'E001', '2026-11-27', [{ at: '2026-11-27 08:57' }], { status: 'NotSigned', flags: [] }],
  ['split shift at two sites on one day', 'E-SPLIT', '2026-11-23', [{ at: '2026-11-23 09:58', site: 'mk-01' }, { at: '2026-11-23 14:01', site: 'mk-01' }, { at: '2026-11-23 17:55', site: 'tst-02' }, { at: '2026-11-23 22:03', site: 'tst-02' }], { status: 'Normal', workedMinutes: 480, sites: ['mk-01', 'tst-02'], checks: ['in Normal', 'out Normal', 'in Normal', 'out Normal'] }],
  ['split shift: missed the second half', 'E-SPLIT', '2026-11-23', [{ at: '2026-11-23 09:58' }, { at: '2026-11-23 14:01' }], { status: 'NotSigned', workedMinutes: 240, checks: ['in Normal', 'out Normal', 'in NotSigned', 'out NotSigned'] }],
  ['in at one site, out at another', 'E001', '2026-11-23', [{ at: '2026-11-23 08:50', site: 'mk-01' }, { at: '2026-11-23 18:00', site: 'tst-02' }], { status: 'Normal', sites: ['mk-01', 'tst-02'], workedMinutes: 480 }],
  ['unsynced-clock punch: counted and flagged', 'E001', '2026-11-23', [{ at: '2026-11-23 09:00', synced: false }, { at: '2026-11-23 18:00' }], { status: 'Normal', flags: ['UnsyncedClock'] }],
  ['a stray punch outside the shift window: shown, not counted', 'E001', '2026-11-23', [{ at: '2026-11-23 03:00' }, { at: '2026-11-23 09:00' }, { at: '2026-11-23 18:00' }], { status: 'Normal', flags: ['StrayPunch'], firstIn: '2026-11-23 09:00' }],
  ['weekend with no schedule: rest day', 'E001', '2026-11-29', [], { status: 'Rest', exceptions: [] }],
];

function render(result: DayResult): Expected {
  const local = (iso: string | null): string | null => (iso === null ? null : new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ').replace(/:00$/, ''));
  return {
    status: result.status,
    lateMinutes: result.lateMinutes,
    earlyLeaveMinutes: result.earlyLeaveMinutes,
    workedMinutes: result.workedMinutes,
    overtimeMinutes: result.overtimeMinutes,
    scheduledMinutes: result.scheduledMinutes,
    exceptions: result.exceptions,
    sites: result.sites,
    complete: result.complete,
    flags: result.flags,
    checks: result.checks.map((check) => `${check.kind} ${check.status}${check.minutes ? ` ${check.minutes}` : ''}`),
    firstIn: local(result.firstIn),
    lastOut: local(result.lastOut),
    shift: result.shift?.id ?? null,
  };
}

describe('attendance scenarios (employee, shift, punches -> day result)', () => {
  it.each(SCENARIOS)('%s', (_name, employee, date, punches, expected) => {
    const actual = render(day(employee, date, punches));
    const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, actual[key as keyof Expected]]));
    expect(picked).toEqual(expected);
  });
});

describe('attendance engine details', () => {
  it('a day still in progress is not complete, and its missing checks are pending, not missing', () => {
    const now = Date.parse(hk('2026-11-23 12:00'));
    const result = day('E001', '2026-11-23', [{ at: '2026-11-23 08:59' }], now);
    expect(result).toMatchObject({ status: 'Pending', complete: false, exceptions: [] });
    expect(result.checks.map((check) => check.status)).toEqual(['Normal', 'Pending']);
    const late = day('E001', '2026-11-23', [{ at: '2026-11-23 09:40' }], now);
    expect(late).toMatchObject({ status: 'SeriousLate', complete: false });
  });

  it('reports a holiday with its Chinese name and whether it is statutory', () => {
    expect(day('E001', '2026-10-19', []).holiday).toEqual({ name: 'The day following Chung Yeung Festival', nameZh: '重陽節翌日', statutory: true, entitlement: 'statutory' });
    expect(day('E-DES', '2026-12-26', []).holiday).toMatchObject({ statutory: false, entitlement: 'general' });
  });

  it('statutory holidays follow the Employment Ordinance year by year (Good Friday from 2026, the day after from 2028)', () => {
    const book = ScheduleBook.parse({ ...BOOK, assignments: [{ id: 'all-week', appliesTo: { everyone: true }, validFrom: '2020-01-01', pattern: { kind: 'weekly', days: { mon: 'day', tue: 'day', wed: 'day', thu: 'day', fri: 'day', sat: 'day', sun: 'day' } } }] });
    const allWeek = new AttendanceEngine(book, { timeZoneOf: () => 'Asia/Hong_Kong' });
    const status = (date: string) => allWeek.days({ employee: EMPLOYEES.E001!, leave: [], punches: [], from: date, to: date, now: AFTER })[0]?.status;
    expect(status('2025-04-18')).toBe('Absenteeism'); // Good Friday 2025: general, not yet statutory
    expect(status('2026-04-03')).toBe('Holiday'); // Good Friday 2026: statutory
    expect(status('2026-04-04')).toBe('Absenteeism'); // the day following Good Friday: statutory only from 2028
    expect(status('2028-04-15')).toBe('Holiday');
    expect(status('2026-02-17')).toBe('Holiday'); // Lunar New Year's Day
  });

  it('company holidays for one department only', () => {
    const book = ScheduleBook.parse({ ...BOOK, holidays: { companyHolidays: [{ date: '2026-11-23', name: 'Stocktake day', nameZh: '盤點日', departments: ['retail'] }] } });
    const withHoliday = new AttendanceEngine(book, { timeZoneOf: () => 'Asia/Hong_Kong' });
    const one = (employee: string) => withHoliday.days({ employee: EMPLOYEES[employee]!, leave: [], punches: [], from: '2026-11-23', to: '2026-11-23', now: AFTER })[0];
    expect(one('E001')).toMatchObject({ status: 'Holiday', holiday: { name: 'Stocktake day', nameZh: '盤點日' } });
    expect(one('E-SEC')?.status).toBe('Absenteeism');
  });

  it('places shifts by the site time zone rules, not a fixed offset (London, across the change to summer time)', () => {
    const london = new AttendanceEngine(ScheduleBook.parse(BOOK), { timeZoneOf: () => 'Europe/London' });
    const [winter, summer] = london.days({ employee: EMPLOYEES.E001!, leave: [], punches: [], from: '2026-03-27', to: '2026-03-30', now: AFTER }).filter((result) => result.shift !== null);
    expect(winter?.scheduledStart).toBe('2026-03-27T09:00:00.000Z');
    expect(summer?.scheduledStart).toBe('2026-03-30T08:00:00.000Z');
  });

  it('a range of days: each punch is counted once, on the work day its shift decides', () => {
    const punches = [
      { at: '2026-11-23 21:55' },
      { at: '2026-11-24 06:02' },
      { at: '2026-11-24 21:59' },
      { at: '2026-11-25 06:00' },
    ].map(punch);
    const results = engine.days({ employee: EMPLOYEES['E-SEC']!, leave: [], punches, from: '2026-11-23', to: '2026-11-25', now: AFTER });
    expect(results.map((result) => [result.workDate, result.status, result.punchIds.length])).toEqual([
      ['2026-11-23', 'Normal', 2],
      ['2026-11-24', 'Normal', 2],
      ['2026-11-25', 'Absenteeism', 0],
    ]);
  });

  it('location: a punch whose evidence was refused marks the day outside and flags it', () => {
    const result = day('E001', '2026-11-23', [{ at: '2026-11-23 09:00', outside: false, method: 'mobile' }, { at: '2026-11-23 18:00', outside: true, method: 'mobile' }]);
    expect(result.location).toBe('outside');
    expect(result.flags).toContain('OutsideLocation');
    expect(result.checks.map((check) => check.location)).toEqual(['inside', 'outside']);
    expect(day('E001', '2026-11-23', [{ at: '2026-11-23 09:00' }]).location).toBeNull();
  });

  it('rounding to 15 minutes: in up, out down', () => {
    const book = ScheduleBook.parse({ ...BOOK, rules: { ...BOOK.rules, rounding: { unitMinutes: 15 } } });
    const rounded = new AttendanceEngine(book, { timeZoneOf: () => 'Asia/Hong_Kong' });
    const [result] = rounded.days({ employee: EMPLOYEES.E001!, leave: [], punches: [{ at: '2026-11-23 09:03' }, { at: '2026-11-23 17:58' }].map(punch), from: '2026-11-23', to: '2026-11-23', now: AFTER });
    // 09:15 to 17:45, less the hour's break.
    expect(result?.workedMinutes).toBe(450);
    expect(result?.lateMinutes).toBe(0);
  });
});

describe('schedule book validation', () => {
  it('names what is wrong: unknown shift ids, a split shift longer than a day, a break outside the shift, an inverted window', () => {
    const bad = ScheduleBook.safeParse({
      shifts: [
        { id: 'long', name: 'Too long', kind: 'fixed', segments: [{ start: '08:00', end: '20:00' }, { start: '21:00', end: '09:00' }] },
        { id: 'brk', name: 'Bad break', kind: 'fixed', segments: [{ start: '09:00', end: '12:00' }], breaks: [{ start: '13:00', end: '14:00' }] },
        { id: 'flex', name: 'Flex', kind: 'flexible', earliestStart: '10:00', latestStart: '09:00', requiredMinutes: 480 },
      ],
      assignments: [{ id: 'a', appliesTo: { everyone: true }, validFrom: '2026-01-01', validTo: '2025-01-01', pattern: { kind: 'rotation', anchorDate: '2026-02-30', cycle: ['nope'] } }],
    });
    expect(bad.success).toBe(false);
    const issues = bad.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        'shifts.0.segments: a shift may last at most 24 hours from its first start to its last end',
        'shifts.1.breaks.0: break 13:00-14:00 is not inside one of the shift\'s segments',
        'shifts.2.latestStart: latestStart must not be before earliestStart (a flexible start window does not cross midnight)',
        'assignments.0.pattern.anchorDate: is not a real calendar date',
        'assignments.0.validTo: validTo must not be before validFrom',
      ]),
    );
  });

  it('refuses a reference to a shift that does not exist', () => {
    const bad = ScheduleBook.safeParse({ shifts: [], assignments: [{ id: 'a', appliesTo: { everyone: true }, validFrom: '2026-01-01', pattern: { kind: 'rotation', anchorDate: '2026-01-01', cycle: ['ghost'] } }] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toContain('assignments.0.pattern.cycle.0: no shift has the id ghost');
  });
});
