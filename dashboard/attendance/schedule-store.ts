import { ScheduleAssignment, ScheduleBook, ScheduleOverride, Shift } from '../../core/attendance/index.js';
import type { Database } from '../../platform/sqlite.js';
import { keysetPage, decodeCursor } from '../db/keyset-cursor.js';
import { WhereClause } from '../db/where-clause.js';
import { AttendanceSettings, DEFAULT_ATTENDANCE_SETTINGS } from './attendance-settings.js';

export class ShiftInUseError extends Error {
  override name = 'ShiftInUseError';
  constructor(
    readonly shiftId: string,
    readonly usedBy: string[],
  ) {
    super(`shift ${shiftId} is still used by ${usedBy.join(', ')}`);
  }
}

export class UnknownShiftError extends Error {
  override name = 'UnknownShiftError';
  constructor(
    readonly shiftIds: string[],
    readonly path: Array<string | number>,
  ) {
    super(`no shift has the id ${shiftIds.join(', ')}`);
  }
}

/**
 * Shifts, schedules, per-day overrides and the company's settings, stored in parts and read back
 * as one {@link ScheduleBook} for the engine. Every write validates what it stores; a schedule
 * that names a shift that does not exist is refused, and so is deleting a shift still named.
 */
export class ScheduleStore {
  constructor(private readonly db: Database) {}

  async settings(): Promise<AttendanceSettings> {
    const row = await this.db.get<{ body: string }>('SELECT body FROM attendance_settings WHERE id = 1');
    return row ? AttendanceSettings.parse(JSON.parse(row.body)) : DEFAULT_ATTENDANCE_SETTINGS;
  }

  async putSettings(settings: AttendanceSettings, at: string): Promise<void> {
    await this.db.run('INSERT INTO attendance_settings (id, body, updated_at) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at', [JSON.stringify(settings), at]);
  }

  async shifts(): Promise<Shift[]> {
    return (await this.db.all<{ body: string }>('SELECT body FROM shifts ORDER BY id')).map((row) => Shift.parse(JSON.parse(row.body)));
  }

  async shift(id: string): Promise<Shift | undefined> {
    const row = await this.db.get<{ body: string }>('SELECT body FROM shifts WHERE id = ?', [id]);
    return row ? Shift.parse(JSON.parse(row.body)) : undefined;
  }

  async putShift(shift: Shift, at: string): Promise<void> {
    await this.db.run('INSERT INTO shifts (id, body, updated_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at', [shift.id, JSON.stringify(shift), at]);
  }

  /** Deletes a shift no schedule or override names; ShiftInUseError otherwise. */
  async deleteShift(id: string): Promise<boolean> {
    const usedBy = [
      ...(await this.schedules()).filter((schedule) => shiftIdsOf(schedule).includes(id)).map((schedule) => `schedule ${schedule.id}`),
      ...(await this.db.all<{ employee_number: string; date: string }>('SELECT employee_number, date FROM schedule_overrides WHERE shift_id = ? ORDER BY date LIMIT 5', [id])).map((row) => `the override of ${row.employee_number} on ${row.date}`),
    ];
    if (usedBy.length > 0) throw new ShiftInUseError(id, usedBy);
    return (await this.db.run('DELETE FROM shifts WHERE id = ?', [id])).changes > 0;
  }

  async schedules(): Promise<ScheduleAssignment[]> {
    return (await this.db.all<{ body: string }>('SELECT body FROM schedules ORDER BY id')).map((row) => ScheduleAssignment.parse(JSON.parse(row.body)));
  }

  async schedule(id: string): Promise<ScheduleAssignment | undefined> {
    const row = await this.db.get<{ body: string }>('SELECT body FROM schedules WHERE id = ?', [id]);
    return row ? ScheduleAssignment.parse(JSON.parse(row.body)) : undefined;
  }

  async putSchedule(schedule: ScheduleAssignment, at: string): Promise<void> {
    await this.requireShifts(shiftIdsOf(schedule), ['pattern']);
    await this.db.run('INSERT INTO schedules (id, body, updated_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at', [schedule.id, JSON.stringify(schedule), at]);
  }

  async deleteSchedule(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM schedules WHERE id = ?', [id])).changes > 0;
  }

  async overrides(query: { employeeNumber?: string; from?: string; to?: string; limit: number; cursor?: string }): Promise<{ overrides: ScheduleOverride[]; nextCursor: string | null }> {
    const where = new WhereClause().add('employee_number = ?', query.employeeNumber).add('date >= ?', query.from).add('date <= ?', query.to);
    if (query.cursor) where.add('(employee_number, date) > (?, ?)', ...decodeCursor(query.cursor, 'string', 'string'));
    const rows = await this.db.all<OverrideRow>(`SELECT * FROM schedule_overrides ${where.sql} ORDER BY employee_number, date LIMIT ?`, [...where.params, query.limit + 1]);
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.employee_number, row.date]);
    return { overrides: page.map(toOverride), nextCursor };
  }

  async override(employeeNumber: string, date: string): Promise<ScheduleOverride | undefined> {
    const row = await this.db.get<OverrideRow>('SELECT * FROM schedule_overrides WHERE employee_number = ? AND date = ?', [employeeNumber, date]);
    return row ? toOverride(row) : undefined;
  }

  async putOverride(override: ScheduleOverride, at: string): Promise<void> {
    if (override.shiftId !== null) await this.requireShifts([override.shiftId], ['shiftId']);
    await this.db.run(
      'INSERT INTO schedule_overrides (employee_number, date, shift_id, site_id, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(employee_number, date) DO UPDATE SET shift_id = excluded.shift_id, site_id = excluded.site_id, updated_at = excluded.updated_at',
      [override.employeeNumber, override.date, override.shiftId, override.siteId, at],
    );
  }

  async deleteOverride(employeeNumber: string, date: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM schedule_overrides WHERE employee_number = ? AND date = ?', [employeeNumber, date])).changes > 0;
  }

  /**
   * The whole book for the engine, overrides limited to [from, to] (a month's report does not
   * need every override ever written).
   */
  async book(range?: { from: string; to: string }): Promise<ScheduleBook> {
    const settings = await this.settings();
    const overrides = range
      ? await this.db.all<OverrideRow>('SELECT * FROM schedule_overrides WHERE date >= ? AND date <= ?', [range.from, range.to])
      : await this.db.all<OverrideRow>('SELECT * FROM schedule_overrides');
    return ScheduleBook.parse({ shifts: await this.shifts(), assignments: await this.schedules(), overrides: overrides.map(toOverride), rules: settings.rules, holidays: settings.holidays });
  }

  private async requireShifts(ids: readonly string[], path: Array<string | number>): Promise<void> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return;
    const found = new Set((await this.db.all<{ id: string }>(`SELECT id FROM shifts WHERE id IN (${unique.map(() => '?').join(', ')})`, unique)).map((row) => row.id));
    const missing = unique.filter((id) => !found.has(id));
    if (missing.length > 0) throw new UnknownShiftError(missing, path);
  }
}

type OverrideRow = {
  employee_number: string;
  date: string;
  shift_id: string | null;
  site_id: string | null;
};

function toOverride(row: OverrideRow): ScheduleOverride {
  return { employeeNumber: row.employee_number, date: row.date, shiftId: row.shift_id, siteId: row.site_id };
}

export function shiftIdsOf(schedule: ScheduleAssignment): string[] {
  const ids = schedule.pattern.kind === 'weekly' ? Object.values(schedule.pattern.days) : schedule.pattern.cycle;
  return [...new Set(ids.filter((id): id is string => id !== null))];
}
