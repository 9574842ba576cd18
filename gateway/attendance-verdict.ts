import { AttendanceEngine, kioskVerdict, localDateOf, type AttendanceSnapshot, type KioskVerdict } from '../core/attendance/index.js';
import type { TapOutcome } from './punch-desk.js';

/** The pushed schedules, ready to judge a punch at the door. */
export interface GatewayAttendance {
  engine: AttendanceEngine;
  people: AttendanceSnapshot['people'];
  timeZone: string;
}

/**
 * Built when a config is applied, and warmed there: the first plan loads the holiday calendar
 * (date-holidays, about 0.1 s and 25 MB), which must not happen between a tap and its feedback.
 */
export function gatewayAttendance(snapshot: AttendanceSnapshot, timeZone: string, now: Date = new Date()): GatewayAttendance {
  const engine = new AttendanceEngine(snapshot.book, { timeZoneOf: () => timeZone });
  engine.plan({ employeeNumber: 'warm-up' }, [], localDateOf(now.getTime(), timeZone));
  return { engine, people: snapshot.people, timeZone };
}

/** "late by 4 min" for an accepted in or out of a person with a schedule; undefined otherwise. */
export function verdictOf(attendance: GatewayAttendance | undefined, outcome: TapOutcome): KioskVerdict | undefined {
  const punch = outcome.punch;
  if (!attendance || outcome.result !== 'accepted' || !punch?.employeeId || punch.direction === 'auto') return undefined;
  const person = attendance.people[punch.employeeId];
  return kioskVerdict(attendance.engine, { employeeNumber: punch.employeeId, department: person?.department ?? null, rank: person?.rank ?? null }, punch.at, punch.direction, attendance.timeZone);
}
