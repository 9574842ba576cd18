import { AttendanceEngine, kioskVerdict, type AttendanceSnapshot, type KioskVerdict } from '../core/attendance/index.js';
import type { TapOutcome } from './punch-desk.js';

/** The pushed schedules, ready to judge a punch at the door. */
export interface GatewayAttendance {
  engine: AttendanceEngine;
  people: AttendanceSnapshot['people'];
  timeZone: string;
}

export function gatewayAttendance(snapshot: AttendanceSnapshot, timeZone: string): GatewayAttendance {
  return { engine: new AttendanceEngine(snapshot.book, { timeZoneOf: () => timeZone }), people: snapshot.people, timeZone };
}

/** "late by 4 min" for an accepted in or out of a person with a schedule; undefined otherwise. */
export function verdictOf(attendance: GatewayAttendance | undefined, outcome: TapOutcome): KioskVerdict | undefined {
  const punch = outcome.punch;
  if (!attendance || outcome.result !== 'accepted' || !punch?.employeeId || punch.direction === 'auto') return undefined;
  const person = attendance.people[punch.employeeId];
  return kioskVerdict(attendance.engine, { employeeNumber: punch.employeeId, department: person?.department ?? null, rank: person?.rank ?? null }, punch.at, punch.direction, attendance.timeZone);
}
