import { addDays, AttendanceEngine, zonedInstant, type AttendancePunch, type DayResult, type LeaveRecord } from '../../core/attendance/index.js';
import { DEFAULT_TIME_ZONE } from '../../core/time.js';
import type { Database } from '../../platform/sqlite.js';
import type { LeaveRepository } from './leave-repository.js';
import type { ScheduleStore } from './schedule-store.js';

export interface AttendanceQuery {
  from: string;
  to: string;
  employeeNumbers?: readonly string[];
  department?: string;
  /** People listed at any of these sites. */
  siteIds?: readonly string[];
  /** Paging: people whose number sorts after this one, at most `limit` of them. */
  after?: string;
  limit?: number;
}

export interface AttendanceEmployee {
  employeeNumber: string;
  name: string;
  nameZh: string | null;
  department: string | null;
  rank: string | null;
  email: string | null;
  sites: string[];
}

export interface EmployeeDays {
  employee: AttendanceEmployee;
  days: DayResult[];
}

/** People per query of their punches: one indexed query per batch instead of one per person. */
const BATCH = 200;
/** People computed between two turns of the event loop (a few milliseconds of CPU). */
const YIELD_EVERY = 10;

type EmployeeRow = {
  employee_number: string;
  name: string;
  name_zh: string | null;
  department: string | null;
  rank: string | null;
  email: string | null;
  active_from: string | null;
  active_until: string | null;
  sites: string | null;
};

type PunchRow = {
  id: string;
  employee_id: string;
  site_id: string;
  at: string;
  direction: 'in' | 'out' | 'auto';
  method: 'badge' | 'ble' | 'mobile' | 'manual';
  clock_synced: number;
  corrected: number | null;
  accepted: number | null;
  approval_ref: string | null;
};

/**
 * Computes attendance for many people over a range: the schedule book is read once, people are
 * read in batches (their punches with one query per batch, read straight from columns and
 * json_extract, not by parsing each body), and results are yielded person by person, so a
 * month for thousands of people streams instead of being held whole.
 */
export class AttendanceService {
  constructor(
    private readonly reads: Database,
    private readonly schedules: ScheduleStore,
    private readonly leave: LeaveRepository,
    private readonly now: () => Date,
  ) {}

  async *days(query: AttendanceQuery): AsyncGenerator<EmployeeDays> {
    const book = await this.schedules.book({ from: addDays(query.from, -1), to: addDays(query.to, 1) });
    const zones = new Map((await this.reads.all<{ id: string; time_zone: string }>('SELECT id, time_zone FROM sites')).map((row) => [row.id, row.time_zone]));
    const engine = new AttendanceEngine(book, { timeZoneOf: (siteId) => (siteId ? (zones.get(siteId) ?? DEFAULT_TIME_ZONE) : DEFAULT_TIME_ZONE) });
    const employees = await this.employees(query);
    const now = this.now().getTime();
    // Punches from a day before (a night shift's window) to two days after (its out), in UTC with margin.
    const punchesFrom = new Date(zonedInstant(addDays(query.from, -2), 0, 'UTC')).toISOString();
    const punchesTo = new Date(zonedInstant(addDays(query.to, 3), 0, 'UTC')).toISOString();
    let computed = 0;
    for (let start = 0; start < employees.length; start += BATCH) {
      const batch = employees.slice(start, start + BATCH);
      const numbers = batch.map((row) => row.employee_number);
      const punches = await this.punchesOf(numbers, punchesFrom, punchesTo);
      const leave = await this.leave.approvedBetween(addDays(query.from, -1), addDays(query.to, 1), numbers);
      const leaveBy = new Map<string, LeaveRecord[]>();
      for (const record of leave) leaveBy.set(record.employeeNumber, [...(leaveBy.get(record.employeeNumber) ?? []), record]);
      for (const row of batch) {
        const employee: AttendanceEmployee = {
          employeeNumber: row.employee_number,
          name: row.name,
          nameZh: row.name_zh,
          department: row.department,
          rank: row.rank,
          email: row.email,
          sites: row.sites ? row.sites.split('\u001f').sort() : [],
        };
        // Only the days the person was employed.
        const from = row.active_from && row.active_from > query.from ? row.active_from : query.from;
        const to = row.active_until && row.active_until < query.to ? row.active_until : query.to;
        const days = engine.days({ employee, leave: leaveBy.get(row.employee_number) ?? [], punches: punches.get(row.employee_number) ?? [], from, to, now });
        yield { employee, days };
        // Give the event loop back now and then: a month for 200 people is about a second of
        // CPU, and ingest, acks and the live feed share this loop (docs/benchmarks.md).
        computed += 1;
        if (computed % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  private async employees(query: AttendanceQuery): Promise<EmployeeRow[]> {
    const where = ['(e.active_from IS NULL OR e.active_from <= ?)', '(e.active_until IS NULL OR e.active_until >= ?)', "(e.status = 'active' OR e.inactive_since IS NULL OR e.inactive_since >= ?)"];
    const params: string[] = [query.to, query.from, query.from];
    if (query.department) (where.push('e.department = ?'), params.push(query.department));
    if (query.after) (where.push('e.employee_number > ?'), params.push(query.after));
    if (query.employeeNumbers) (where.push(query.employeeNumbers.length ? `e.employee_number IN (${query.employeeNumbers.map(() => '?').join(', ')})` : '0'), params.push(...query.employeeNumbers));
    if (query.siteIds) {
      where.push(query.siteIds.length ? `EXISTS (SELECT 1 FROM employee_sites s WHERE s.employee_number = e.employee_number AND s.site_id IN (${query.siteIds.map(() => '?').join(', ')}))` : '0');
      params.push(...query.siteIds);
    }
    return this.reads.all<EmployeeRow>(
      `SELECT e.employee_number, e.name, e.name_zh, e.department, e.rank, e.email, e.active_from, e.active_until,
              (SELECT group_concat(site_id, char(31)) FROM employee_sites s WHERE s.employee_number = e.employee_number) AS sites
       FROM employees e WHERE ${where.join(' AND ')} ORDER BY e.employee_number${query.limit ? ' LIMIT ?' : ''}`,
      query.limit ? [...params, query.limit] : params,
    );
  }

  private async punchesOf(employeeNumbers: readonly string[], from: string, to: string): Promise<Map<string, AttendancePunch[]>> {
    const byEmployee = new Map<string, AttendancePunch[]>();
    if (employeeNumbers.length === 0) return byEmployee;
    const rows = await this.reads.all<PunchRow>(
      `SELECT id, employee_id, site_id, at, direction, method, clock_synced,
              json_extract(body, '$.clock.corrected') AS corrected,
              CASE WHEN json_extract(body, '$.evidence.v') = 1 THEN json_extract(body, '$.evidence.accepted') END AS accepted,
              json_extract(body, '$.approvalRef') AS approval_ref
       FROM punches WHERE employee_id IN (${employeeNumbers.map(() => '?').join(', ')}) AND at >= ? AND at < ?`,
      [...employeeNumbers, from, to],
    );
    for (const row of rows) {
      const punch: AttendancePunch = {
        id: row.id,
        at: row.at,
        siteId: row.site_id,
        direction: row.direction,
        method: row.method,
        clock: row.corrected ? { synced: row.clock_synced === 1, corrected: true } : { synced: row.clock_synced === 1 },
        ...(row.accepted === null ? {} : { location: row.accepted ? ('inside' as const) : ('outside' as const) }),
        ...(row.approval_ref ? { approvalRef: row.approval_ref } : {}),
      };
      const list = byEmployee.get(row.employee_id);
      if (list) list.push(punch);
      else byEmployee.set(row.employee_id, [punch]);
    }
    return byEmployee;
  }
}
