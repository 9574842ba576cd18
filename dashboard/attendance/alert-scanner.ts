import type { Logger } from 'pino';
import { addDays, localClockOf, localDateOf, type DayResult } from '../../core/attendance/index.js';
import { DEFAULT_TIME_ZONE } from '../../core/time.js';
import type { Database } from '../../platform/sqlite.js';
import type { AlertEventInput } from '../notifications/alert-event.js';
import type { AttendanceEmployee, AttendanceService } from './attendance-service.js';

export interface AlertSink {
  enqueue(events: readonly AlertEventInput[]): Promise<{ created: number }>;
}

export interface AlertScannerOptions {
  attendance: AttendanceService;
  db: Database;
  notifications: AlertSink;
  now: () => Date;
  logger: Logger;
  scanSeconds: number;
  reminderMinutesBeforeShift: number;
}

/**
 * Turns attendance into alerts. Every `scanSeconds` it computes, for everyone, the last two days,
 * today and tomorrow (night shifts; reminders after midnight), and hands the notifications part
 * one event per thing that happened. A dashboard down for more than two days does not raise the
 * alerts of the days it missed. Each event's key says what happened and to whom
 * (`late:0:E001:2026-11-20`), so a scan that sees it again, or a scan after a restart, creates
 * nothing new. What can still change waits for the day to be complete: an early leave (the person
 * may come back), a missed punch, an absence. A late arrival is final once the first in is there.
 * Reminders go for shifts starting within the reminder lead time.
 */
export class AlertScanner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: AlertScannerOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.scan().catch((error: unknown) => this.options.logger.error({ err: error }, 'attendance alert scan failed')), this.options.scanSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One scan; concurrent calls share the one running. Returns how many new alerts were stored. */
  async scan(): Promise<number> {
    if (this.running) {
      await this.running;
      return 0;
    }
    let created = 0;
    this.running = (async () => {
      const now = this.options.now();
      const today = localDateOf(now.getTime(), DEFAULT_TIME_ZONE);
      const managers = await this.managersBySite();
      const events: AlertEventInput[] = [];
      for await (const { employee, days } of this.options.attendance.days({ from: addDays(today, -2), to: addDays(today, 1) })) {
        for (const day of days) events.push(...this.eventsOf(employee, day, now.getTime(), managers));
        if (events.length >= 500) created += (await this.options.notifications.enqueue(events.splice(0))).created;
      }
      if (events.length > 0) created += (await this.options.notifications.enqueue(events)).created;
      if (created > 0) this.options.logger.info({ created }, 'attendance alerts raised');
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
    return created;
  }

  private eventsOf(employee: AttendanceEmployee, day: DayResult, now: number, managersBySite: Map<string, string[]>): AlertEventInput[] {
    const siteId = day.siteId ?? employee.sites[0];
    const managers = [...new Set(employee.sites.flatMap((site) => managersBySite.get(site) ?? []))].slice(0, 20).map((name) => ({ name }));
    const base = (key: string, kind: AlertEventInput['kind'], occurredAt: string, details: Record<string, string | number | null>): AlertEventInput => ({
      key: `${key}:${employee.employeeNumber}:${day.workDate}`,
      kind,
      occurredAt,
      employee: { employeeNumber: employee.employeeNumber, name: employee.name, nameZh: employee.nameZh, email: employee.email },
      managers,
      ...(siteId ? { siteId } : {}),
      workDate: day.workDate,
      details,
    });
    const events: AlertEventInput[] = [];
    const local = (iso: string) => localClockOf(Date.parse(iso), day.timeZone);
    for (const check of day.checks) {
      const shiftTime = local(check.scheduledAt);
      if (check.kind === 'in' && check.at && (check.status === 'Late' || check.status === 'SeriousLate')) {
        events.push(base(`late:${check.segment}`, check.status === 'Late' ? 'late' : 'serious-late', check.at, { minutesLate: check.minutes, shiftStart: shiftTime, punchedAt: local(check.at) }));
      }
      if (check.kind === 'in' && check.status === 'Pending' && !check.at) {
        const startsIn = Date.parse(check.scheduledAt) - now;
        if (startsIn > 0 && startsIn <= this.options.reminderMinutesBeforeShift * 60_000) {
          events.push(base(`shift-reminder:${check.segment}`, 'shift-reminder', check.scheduledAt, { shiftStart: shiftTime, shift: day.shift?.name ?? null }));
        }
      }
      if (!day.complete || day.status === 'Absenteeism') continue;
      if (check.kind === 'out' && check.at && check.status === 'Early') events.push(base(`early-leave:${check.segment}`, 'early-leave', check.at, { minutesEarly: check.minutes, shiftEnd: shiftTime, punchedAt: local(check.at) }));
      if (check.status === 'NotSigned') events.push(base(`missed-punch:${check.segment}:${check.kind}`, 'missed-punch', check.scheduledAt, { check: check.kind, scheduledAt: shiftTime }));
    }
    if (day.complete && day.status === 'Absenteeism') events.push(base('absence', 'absence', day.scheduledStart ?? day.checks[0]?.scheduledAt ?? new Date(now).toISOString(), { shiftStart: day.scheduledStart ? local(day.scheduledStart) : null }));
    if (day.flags.includes('PunchOnLeave')) events.push(base('punch-on-leave', 'punch-on-leave', day.firstIn ?? day.lastOut ?? new Date(now).toISOString(), { leaveType: day.leave?.type ?? null }));
    return events;
  }

  /** Store managers (by user name) of each site: the people told about their staff. */
  private async managersBySite(): Promise<Map<string, string[]>> {
    const rows = await this.options.db.all<{ username: string; sites: string | null }>("SELECT username, sites FROM users WHERE role = 'store-manager' AND disabled = 0");
    const bySite = new Map<string, string[]>();
    for (const row of rows) {
      const sites = row.sites ? (JSON.parse(row.sites) as unknown) : [];
      if (!Array.isArray(sites)) continue;
      for (const site of sites) if (typeof site === 'string') bySite.set(site, [...(bySite.get(site) ?? []), row.username]);
    }
    return bySite;
  }
}
