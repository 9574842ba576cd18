/**
 * The attendance report bench's central database (see docs/benchmarks.md, "Attendance: monthly
 * report"): a month of a chain's attendance, in a database whose schema the dashboard's own
 * migrations made (openCentralDb), so that the dashboard can open the file as it is.
 *
 * - Sites `site-01` .. `site-50` (fewer when there are fewer than 50 people), time zone
 *   Asia/Hong_Kong, 4 gateways each; people `E00001` .. spread evenly over them, in 5 departments.
 * - Shifts and schedules through ScheduleStore: `day` 09:00-18:00 with an unpaid 13:00-14:00
 *   break, Mon-Fri, for everyone; `night` 22:00-06:00 with a 02:00-02:30 break, Mon-Fri, for
 *   rank `night` (every 10th person); a 4-on/2-off rotation of `day` for rank `rotation` (the next
 *   10 %). Hong Kong's statutory holidays apply (the default settings).
 * - Leave through LeaveRepository: 3 % of people take 2-3 days of annual leave, 1 % a sick day,
 *   1 % half a day (am) of annual leave.
 * - Punches, written by one INSERT .. SELECT in one transaction, in time order as gateways would
 *   deliver them: on each scheduled work day (not on holidays, not on full days of leave) a badge
 *   tap in, out and back for the break, and out. Jitter from hashes of (person, day, tap):
 *   in: 65 % 08:30-09:00, 22 % 09:00-09:15 (the late cluster), 8 % 09:15-09:45, 4 % 08:00-08:30,
 *   1 % 10:00-13:00; out: 83 % 18:00-18:20, 8 % early 17:30-18:00, 9 % overtime 18:30-20:30;
 *   10 % skip the break taps, 3 % never tap out, 1 % of days nobody comes (absent), 1 % of days
 *   have a double tap at the door (DuplicatePunch), 0.3 % of taps carry an unsynced clock. People
 *   of every 20th number work some Saturdays (10:00-16:00: worked on a rest day).
 * Bodies are the JSON a stored Punch has, so the service's json_extract reads real documents.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sqlite3 from 'sqlite3';
import { addDays, daysBetween, eachDay, HolidayCalendar, HolidaySettings, LeaveRecord, ScheduleAssignment, Shift, weekdayOf, zonedInstant, zoneOffsetMs } from '../../core/attendance/index.js';
import { LeaveRepository } from '../../dashboard/attendance/leave-repository.js';
import { ScheduleStore } from '../../dashboard/attendance/schedule-store.js';
import { openCentralDb } from '../../dashboard/db/central-db.js';
import { SiteRepository } from '../../dashboard/db/site-repository.js';
import { prng } from '../support/prng.js';
import { wifiOnlyPolicy } from '../support/site-policy.js';

export const REPORT_TIME_ZONE = 'Asia/Hong_Kong';
const MAX_SITES = 50;
const DEVICES_PER_SITE = 4;
const ROTATION_ANCHOR = '2020-01-06';
const MIN = 60_000;

export interface ReportSeedOptions {
  /** People (default 5000). */
  employees: number;
  /** The first day of the period, YYYY-MM-DD. */
  from: string;
  /** Days in the period (31 for a long month). */
  days: number;
  /** The leave generator's seed. */
  seed?: number;
}

export interface ReportSeedResult {
  dataDir: string;
  file: string;
  from: string;
  to: string;
  days: number;
  employees: number;
  sites: number;
  punches: number;
  leaveRecords: number;
  /** Statutory holidays in the period (nobody is scheduled on them). */
  holidays: string[];
  /** Punches per kind: day shift (Mon-Fri), rotation, night shift, Saturday work. */
  punchesByKind: Record<string, number>;
  /** Person-days with at least one punch. */
  personDaysWithPunches: number;
  /** Migrations, people/sites/schedules/leave, the punches' INSERT .. SELECT (and back to WAL). */
  migrateMs: number;
  setupMs: number;
  punchSeedMs: number;
  bytes: number;
}

export const employeeNumber = (index: number): string => `E${String(index + 1).padStart(5, '0')}`;
export const reportSiteId = (index: number): string => `site-${String(index + 1).padStart(2, '0')}`;

const exec = (db: sqlite3.Database, sql: string): Promise<void> => new Promise((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
const run = (db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<void> =>
  new Promise((resolve, reject) => db.run(sql, params, (error: Error | null) => (error ? reject(error) : resolve())));
function all<T>(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => db.all(sql, params, (error: Error | null, rows: T[]) => (error ? reject(error) : resolve(rows))));
}

const SURNAMES = [
  ['Chan', '陳'],
  ['Wong', '黃'],
  ['Lee', '李'],
  ['Cheung', '張'],
  ['Lau', '劉'],
  ['Ho', '何'],
  ['Ng', '吳'],
  ['Leung', '梁'],
] as const;
const GIVEN = [
  ['Tai Man', '大文'],
  ['Siu Ming', '小明'],
  ['Ka Yan', '嘉欣'],
  ['Wing Sze', '詠詩'],
  ['Chi Keung', '志強'],
  ['Mei Ling', '美玲'],
] as const;
const DEPARTMENTS = ['Retail', 'Warehouse', 'Office', 'Logistics', 'Service'] as const;

/** An SQL CASE picking from a list by an integer expression. */
const pick = (expression: string, values: readonly string[]): string => `CASE ${expression} ${values.map((value, index) => `WHEN ${index} THEN '${value}'`).join(' ')} END`;

/** Creates DATADIR/dashboard.sqlite: the dashboard's schema, and a month of a chain's attendance. */
export async function seedAttendance(dataDir: string, options: ReportSeedOptions): Promise<ReportSeedResult> {
  const { employees, from, days } = options;
  if (employees < 1 || employees > 99_999) throw new Error(`employees must be 1..99999, got ${employees}`);
  if (days < 1 || days > 62) throw new Error(`days must be 1..62, got ${days}`);
  const to = addDays(from, days - 1);
  const sites = Math.min(MAX_SITES, employees);
  const perSite = Math.ceil(employees / sites);
  const at = new Date().toISOString();

  const migrateStarted = performance.now();
  const { db: central, file } = await openCentralDb(dataDir);
  const migrateMs = performance.now() - migrateStarted;
  const setupStarted = performance.now();
  const holidays: string[] = [];
  let leaveRecords = 0;
  try {
    // Sites, shifts and schedules through the dashboard's own stores (they validate what they store).
    const siteRepository = new SiteRepository(central);
    for (let index = 0; index < sites; index += 1) {
      const id = reportSiteId(index);
      await siteRepository.put({ id, name: `Store ${index + 1}`, nameZh: `分店 ${index + 1}`, timeZone: REPORT_TIME_ZONE, policy: wifiOnlyPolicy(id), beacons: undefined }, new Date(at));
    }
    const schedules = new ScheduleStore(central);
    await schedules.putShift(Shift.parse({ id: 'day', name: 'Day', nameZh: '日班', kind: 'fixed', segments: [{ start: '09:00', end: '18:00' }], breaks: [{ start: '13:00', end: '14:00' }] }), at);
    await schedules.putShift(Shift.parse({ id: 'night', name: 'Night', nameZh: '夜班', kind: 'fixed', segments: [{ start: '22:00', end: '06:00' }], breaks: [{ start: '02:00', end: '02:30' }] }), at);
    const weekly = (shift: string) => ({ kind: 'weekly' as const, days: { sun: null, mon: shift, tue: shift, wed: shift, thu: shift, fri: shift, sat: null } });
    await schedules.putSchedule(ScheduleAssignment.parse({ id: 'week-day', appliesTo: { everyone: true }, pattern: weekly('day'), validFrom: '2020-01-01' }), at);
    await schedules.putSchedule(ScheduleAssignment.parse({ id: 'week-night', appliesTo: { rank: 'night' }, pattern: weekly('night'), validFrom: '2020-01-01' }), at);
    await schedules.putSchedule(
      ScheduleAssignment.parse({ id: 'rotation-4-2', appliesTo: { rank: 'rotation' }, pattern: { kind: 'rotation', anchorDate: ROTATION_ANCHOR, cycle: ['day', 'day', 'day', 'day', null, null] }, validFrom: '2020-01-01' }),
      at,
    );

    // People: one statement.
    const name = `${pick('(i % 8)', SURNAMES.map(([en]) => en))} || ' ' || ${pick('((i / 8) % 6)', GIVEN.map(([en]) => en))}`;
    const nameZh = `${pick('(i % 8)', SURNAMES.map(([, zh]) => zh))} || ${pick('((i / 8) % 6)', GIVEN.map(([, zh]) => zh))}`;
    await central.transaction(async () => {
      await central.run(
        `WITH RECURSIVE e(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM e WHERE i + 1 < ?)
         INSERT INTO employees (employee_number, name, name_zh, department, rank, phone, email, active_from, active_until, status, inactive_since, created_at, updated_at)
         SELECT printf('E%05d', i + 1), ${name}, ${nameZh}, ${pick('(i % 5)', DEPARTMENTS)},
                CASE i % 10 WHEN 0 THEN 'night' WHEN 1 THEN 'rotation' ELSE 'staff' END,
                NULL, NULL, '2020-01-01', NULL, 'active', NULL, ?, ? FROM e`,
        [employees, at, at],
      );
      await central.run(
        `WITH RECURSIVE e(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM e WHERE i + 1 < ?)
         INSERT INTO employee_sites (employee_number, site_id) SELECT printf('E%05d', i + 1), printf('site-%02d', i / ? + 1) FROM e`,
        [employees, perSite],
      );
      // Leave through the repository.
      const leave = new LeaveRepository(central);
      const random = prng(options.seed ?? 20261101);
      for (let index = 0; index < employees; index += 1) {
        const roll = random();
        const start = addDays(from, Math.floor(random() * days));
        const length = random() < 0.5 ? 2 : 3;
        const record =
          roll < 0.03
            ? { type: 'annual', from: start, to: addDays(start, length - 1), portion: 'full' }
            : roll < 0.04
              ? { type: 'sick', from: start, to: start, portion: 'full' }
              : roll < 0.05
                ? { type: 'annual', from: start, to: start, portion: 'am' }
                : undefined;
        if (!record) continue;
        const parsed = LeaveRecord.parse({ id: `LV-${employeeNumber(index)}-${start}`, employeeNumber: employeeNumber(index), ...record });
        if (await leave.insert(parsed, { note: null, source: 'api', at, by: null })) leaveRecords += 1;
      }
    });

    // The calendar: which days each pattern works (nobody works a statutory holiday).
    const calendar = new HolidayCalendar(HolidaySettings.parse({}));
    const calendarRows: Array<[number, string, number, number, number, number]> = [];
    let d = 0;
    for (const date of eachDay(from, to)) {
      const midnight = zonedInstant(date, 0, REPORT_TIME_ZONE);
      // Hong Kong has no summer time: the offsets below assume a fixed +08:00.
      if (zoneOffsetMs(midnight, REPORT_TIME_ZONE) !== 8 * 3_600_000 || zoneOffsetMs(midnight + 86_400_000 + 6 * 3_600_000, REPORT_TIME_ZONE) !== 8 * 3_600_000) throw new Error(`${REPORT_TIME_ZONE} is not at +08:00 on ${date}`);
      const holiday = calendar.dayOff(date, { entitlement: 'statutory' }) !== undefined;
      if (holiday) holidays.push(date);
      const weekday = weekdayOf(date);
      const rotationDay = ((daysBetween(ROTATION_ANCHOR, date) % 6) + 6) % 6;
      calendarRows.push([d, date, midnight, !holiday && weekday >= 1 && weekday <= 5 ? 1 : 0, !holiday && rotationDay < 4 ? 1 : 0, !holiday && weekday === 6 ? 1 : 0]);
      d += 1;
    }
    await central.close();

    // Punches: one INSERT .. SELECT on a raw connection, journal off, like console-seed.ts.
    const setupMs = performance.now() - setupStarted;
    const punchStarted = performance.now();
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const opened = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (error) => (error ? reject(error) : resolve(opened)));
    });
    try {
      await exec(db, 'PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;');
      await exec(db, 'CREATE TEMP TABLE bench_days (d INTEGER PRIMARY KEY, date TEXT NOT NULL, midnight INTEGER NOT NULL, weekly INTEGER NOT NULL, rot INTEGER NOT NULL, sat INTEGER NOT NULL)');
      for (const row of calendarRows) await run(db, 'INSERT INTO temp.bench_days VALUES (?, ?, ?, ?, ?, ?)', row);
      await exec(db, 'BEGIN');
      await run(db, punchesSql(), [employees, perSite]);
      await exec(db, 'COMMIT');
      await exec(db, 'DROP TABLE temp.bench_days');
      await exec(db, 'PRAGMA journal_mode = WAL');
      const punchSeedMs = performance.now() - punchStarted;
      // Read back by what the generator did: group = (number - 1) % 10; a Saturday is rest-day work;
      // a person-day is the local date an hour after UTC+8 minus 8 h, so a night shift's 06:00 out
      // stays on the day it started.
      const byKind = await all<{ kind: string; n: number }>(
        db,
        `SELECT CASE WHEN (CAST(substr(employee_id, 2) AS INTEGER) - 1) % 10 = 0 THEN 'night'
                     WHEN (CAST(substr(employee_id, 2) AS INTEGER) - 1) % 10 = 1 THEN 'rotation'
                     WHEN strftime('%w', at, '+8 hours') = '6' THEN 'saturday'
                     ELSE 'day' END AS kind, count(*) AS n
         FROM punches GROUP BY 1`,
      );
      const [counts] = await all<{ punches: number; personDays: number }>(db, "SELECT count(*) AS punches, count(DISTINCT employee_id || date(at, '+1 hours')) AS personDays FROM punches");
      const [size] = await all<{ bytes: number }>(db, 'SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()');
      return {
        dataDir,
        file,
        from,
        to,
        days,
        employees,
        sites,
        punches: counts?.punches ?? 0,
        leaveRecords,
        holidays,
        punchesByKind: Object.fromEntries(byKind.map((row) => [row.kind, row.n])),
        personDaysWithPunches: counts?.personDays ?? 0,
        migrateMs,
        setupMs,
        punchSeedMs,
        bytes: size?.bytes ?? 0,
      };
    } finally {
      await new Promise<void>((resolve) => db.close(() => resolve()));
    }
  } catch (error) {
    await central.close().catch(() => undefined);
    throw error;
  }
}

/**
 * The punches: people x days x 5 tap slots (in, break out, break in, out, a double tap at the door),
 * each slot's offset from the local midnight computed from hashes, NULL when there is no tap.
 * The CTEs are MATERIALIZED so that each row's hashes and offset are computed once (a plain CTE's
 * column is inlined into every place that uses it). Parameters: people, people per site.
 */
function punchesSql(): string {
  // Per (person, day): h1, h2; per tap: h3 (Weyl sequences: times a large odd constant, mod 2^32).
  const pd = '(e.i * 64 + b.d)';
  const slot = `(${pd} * 8 + t.k)`;
  const off = `CASE
      WHEN kind IS NULL OR (h1 >> 24) % 100 = 0 THEN NULL
      WHEN k = 4 THEN CASE WHEN (h1 >> 16) % 100 = 0 THEN in_off + 15000 + h3 % 30000 END
      WHEN kind = 'sat' THEN CASE k WHEN 0 THEN 600 * ${MIN} + (h2 >> 3) % (10 * ${MIN}) WHEN 3 THEN 960 * ${MIN} + h3 % (10 * ${MIN}) END
      WHEN k = 0 THEN in_off
      WHEN k IN (1, 2) AND (h1 >> 8) % 10 = 0 THEN NULL
      WHEN k = 3 AND (h2 >> 16) % 1000 < 30 THEN NULL
      WHEN kind = 'night' THEN CASE k
        WHEN 1 THEN 1560 * ${MIN} + h3 % (5 * ${MIN})
        WHEN 2 THEN 1585 * ${MIN} + h3 % (10 * ${MIN})
        ELSE 1800 * ${MIN} + h3 % (20 * ${MIN}) END
      ELSE CASE k
        WHEN 1 THEN 780 * ${MIN} + h3 % (5 * ${MIN})
        WHEN 2 THEN 835 * ${MIN} + h3 % (10 * ${MIN})
        ELSE CASE WHEN (h2 >> 6) % 1000 < 80 THEN 1050 * ${MIN} + h3 % (30 * ${MIN})
                  WHEN (h2 >> 6) % 1000 < 170 THEN 1110 * ${MIN} + h3 % (120 * ${MIN})
                  ELSE 1080 * ${MIN} + h3 % (20 * ${MIN}) END END
    END`;
  // The in tap's offset, per person-day (the double tap repeats it).
  const inOff = `CASE WHEN kind = 'night' THEN
        CASE WHEN (h1 >> 4) % 1000 < 800 THEN 1300 * ${MIN} + (h2 >> 3) % (20 * ${MIN}) ELSE 1320 * ${MIN} + (h2 >> 3) % (15 * ${MIN}) END
      ELSE CASE
        WHEN (h1 >> 4) % 1000 < 650 THEN 510 * ${MIN} + (h2 >> 3) % (30 * ${MIN})
        WHEN (h1 >> 4) % 1000 < 870 THEN 540 * ${MIN} + (h2 >> 3) % (15 * ${MIN})
        WHEN (h1 >> 4) % 1000 < 950 THEN 555 * ${MIN} + (h2 >> 3) % (30 * ${MIN})
        WHEN (h1 >> 4) % 1000 < 990 THEN 480 * ${MIN} + (h2 >> 3) % (30 * ${MIN})
        ELSE 600 * ${MIN} + (h2 >> 3) % (180 * ${MIN}) END
    END`;
  const ms = 'p.midnight + p.off';
  return `WITH RECURSIVE e(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM e WHERE i + 1 < ?1),
    t(k) AS (VALUES (0), (1), (2), (3), (4)),
    s AS MATERIALIZED (
      SELECT e.i AS i, b.d AS d, b.date AS date, b.midnight AS midnight, t.k AS k,
        CASE WHEN e.i % 10 = 0 THEN CASE WHEN b.weekly THEN 'night' END
             WHEN e.i % 10 = 1 THEN CASE WHEN b.rot THEN 'day' END
             WHEN b.weekly THEN 'day'
             WHEN b.sat AND e.i % 20 = 7 THEN 'sat' END AS kind,
        (${pd} * 2654435761) % 4294967296 AS h1,
        (${pd} * 2246822519) % 4294967296 AS h2,
        (${slot} * 3266489917) % 4294967296 AS h3,
        ${slot} AS n
      FROM e CROSS JOIN temp.bench_days b CROSS JOIN t
    ),
    q AS MATERIALIZED (SELECT *, ${inOff} AS in_off FROM s),
    p AS MATERIALIZED (
      SELECT i, d, date, midnight, k, kind, h1, h2, h3, n, ${off} AS off, printf('E%05d', i + 1) AS emp, i / ?2 AS site FROM q
    )
    INSERT INTO punches (id, device_id, site_id, employee_id, credential_kind, credential_uid, at, direction, method, seq, clock_synced, body, received_at)
    SELECT id, device, site_id, emp, 'em4100', uid, at, 'auto', 'badge', n, synced,
      json_object('id', id, 'deviceId', device, 'siteId', site_id, 'credential', json_object('kind', 'em4100', 'uid', uid), 'employeeId', emp,
        'at', at, 'clock', json_object('synced', json(CASE WHEN synced THEN 'true' ELSE 'false' END)), 'method', 'badge', 'direction', 'auto', 'seq', n),
      at
    FROM (
      SELECT p.*, ${ms} AS ms,
        printf('%08x-%04x-7%03x-%x%03x-%012x', (${ms}) >> 16, (${ms}) & 65535, (h3 >> 4) & 4095, 8 + (h1 & 3), (h2 >> 12) & 4095, n) AS id,
        printf('gw-%03d', site * ${DEVICES_PER_SITE} + (h3 >> 20) % ${DEVICES_PER_SITE} + 1) AS device,
        printf('site-%02d', site + 1) AS site_id,
        printf('%08X', 268435456 + i) AS uid,
        strftime('%Y-%m-%dT%H:%M:%fZ', (${ms}) / 1000.0, 'unixepoch') AS at,
        CASE WHEN (h3 >> 8) % 1000 < 3 THEN 0 ELSE 1 END AS synced
      FROM p
      WHERE p.off IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM leave_records l WHERE l.employee_number = p.emp AND l.portion = 'full' AND l.status = 'approved' AND l.from_date <= p.date AND l.to_date >= p.date)
    )
    ORDER BY ms, id`;
}

export const reportDbFile = (dataDir: string): string => path.join(dataDir, 'dashboard.sqlite');
