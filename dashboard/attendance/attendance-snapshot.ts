import { addDays, type AttendanceSnapshotInput } from '../../core/attendance/index.js';
import type { Database } from '../../platform/sqlite.js';
import type { ScheduleStore } from './schedule-store.js';

/** Overrides this many days ahead go to gateways; the config push's reconcile moves the window daily. */
export const SNAPSHOT_OVERRIDE_DAYS = 14;

/**
 * The attendance part of a site's device config: the schedule book with only the overrides of
 * the people on the roster (from yesterday to two weeks ahead), and those people's department
 * and rank. Undefined when the company has no schedules at all: the gateway then says nothing
 * about time.
 */
export async function attendanceSnapshot(store: ScheduleStore, db: Database, employeeIds: readonly string[], today: string): Promise<AttendanceSnapshotInput | undefined> {
  const book = await store.book({ from: addDays(today, -1), to: addDays(today, SNAPSHOT_OVERRIDE_DAYS) });
  if (book.assignments.length === 0 && book.overrides.length === 0) return undefined;
  const ids = new Set(employeeIds);
  const people: AttendanceSnapshotInput['people'] = {};
  const list = [...ids];
  for (let start = 0; start < list.length; start += 500) {
    const chunk = list.slice(start, start + 500);
    const rows = await db.all<{ employee_number: string; department: string | null; rank: string | null }>(`SELECT employee_number, department, rank FROM employees WHERE employee_number IN (${chunk.map(() => '?').join(', ')})`, chunk);
    for (const row of rows) people[row.employee_number] = { department: row.department, rank: row.rank };
  }
  return { book: { ...book, overrides: book.overrides.filter((override) => ids.has(override.employeeNumber)) }, people };
}
