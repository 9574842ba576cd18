import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hk, startAttendanceDashboard, type AttendanceDashboard, type Json } from '../support/attendance-dashboard.js';

/**
 * Attendance through the real dashboard (SQLite file, embedded broker, inject()): shifts and
 * schedules with their validation, results per person per day, leave (one record, and CSV
 * imports that are all-or-nothing and idempotent), and make-up punch requests through both
 * approval tiers, each role as its own API token.
 */

const NOW = new Date('2026-12-10T04:00:00.000Z');

describe('attendance in the dashboard', () => {
  let setup: AttendanceDashboard;
  const api: AttendanceDashboard['api'] = (...args) => setup.api(...args);
  const count = (table: string) => setup.count(table);
  const store: AttendanceDashboard['store'] = (punches) => setup.store(punches);
  const badge: AttendanceDashboard['badge'] = (...args) => setup.badge(...args);

  beforeAll(async () => {
    setup = await startAttendanceDashboard(NOW, [
      { number: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', site: 'mk-01' },
      { number: 'E002', name: 'Wong Ka Yan', nameZh: '黃嘉欣', site: 'mk-01' },
      { number: 'E003', name: 'Lee Siu Ming', nameZh: '李小明', site: 'tst-02' },
    ]);
  }, 60_000);

  afterAll(async () => {
    await setup?.stop();
  });

  it('stores shifts and schedules, refusing unknown shifts, bad times and deleting a shift in use, with field-level errors', async () => {
    const badShift = await api('PUT', '/shifts/day', { name: 'Day', kind: 'fixed', segments: [{ start: '9:00', end: '18:00' }] });
    expect(badShift.status).toBe(400);
    expect(badShift.body.issues).toEqual([expect.objectContaining({ in: 'body', field: 'segments.0.start', message: expect.stringContaining('HH:MM') })]);
    expect((await api('PUT', '/shifts/day', { name: 'Day', nameZh: '日更', kind: 'fixed', segments: [{ start: '09:00', end: '18:00' }], breaks: [{ start: '13:00', end: '14:00' }] })).status).toBe(200);
    const unknown = await api('PUT', '/schedules/retail', { appliesTo: { department: 'retail' }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days: { mon: 'day', tue: 'day', wed: 'night', thu: 'day', fri: 'day', sat: null, sun: null } } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.issues[0]).toMatchObject({ field: 'pattern', message: 'no shift has the id night' });
    expect(await count('schedules')).toBe(0);
    const schedule = await api('PUT', '/schedules/retail', { appliesTo: { department: 'retail' }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days: { mon: 'day', tue: 'day', wed: 'day', thu: 'day', fri: 'day', sat: null, sun: null } } });
    expect(schedule.status).toBe(200);
    expect(schedule.body.schedule).toMatchObject({ id: 'retail', holidays: 'statutory', validTo: null });
    const inUse = await api('DELETE', '/shifts/day');
    expect(inUse).toMatchObject({ status: 409, body: { error: 'shift day is still used by schedule retail' } });
    const settings = await api('PUT', '/attendance/settings', { rules: { lateGraceMinutes: 5 }, makeup: { hrReviewAfterPerMonth: 1 } });
    expect(settings.status).toBe(200);
    expect(settings.body.settings).toMatchObject({ rules: { lateGraceMinutes: 5, seriousLateMinutes: 30 }, makeup: { hrReviewAfterPerMonth: 1, hrReviewAfterDays: 7 }, holidays: { region: 'HK' } });
    expect((await api('PUT', '/attendance/settings', { rules: { lateGraceMinutes: -1 } })).body.issues[0]).toMatchObject({ field: 'rules.lateGraceMinutes' });
    expect((await api('PUT', '/shifts/x', { name: 'X', kind: 'fixed', segments: [] }, 'mgr-mk')).status).toBe(403);
    const audit = await api('GET', '/audit?entity=schedule&entityId=retail');
    expect(audit.body.entries.map((entry: Json) => entry.action)).toEqual(['schedule.put']);
  });

  it('lists, overrides and deletes: shifts, schedules and per-day overrides, each refused by field when wrong', async () => {
    expect((await api('PUT', '/shifts/late', { name: 'Late', kind: 'fixed', segments: [{ start: '14:00', end: '23:00' }] })).status).toBe(200);
    expect((await api('GET', '/shifts', undefined, 'mgr-mk')).body.shifts.map((shift: Json) => shift.id)).toEqual(['day', 'late']);
    expect((await api('GET', '/schedules', undefined, 'hr')).body.schedules.map((schedule: Json) => schedule.id)).toEqual(['retail']);
    expect((await api('PUT', '/schedules/temp', { appliesTo: { employeeNumber: 'E003' }, validFrom: '2027-01-01', pattern: { kind: 'rotation', anchorDate: '2027-01-01', cycle: ['late', null] } })).status).toBe(200);
    expect((await api('PUT', '/schedules/temp', { appliesTo: { nobody: true }, validFrom: '2027-01-01', pattern: { kind: 'rotation', anchorDate: '2027-01-01', cycle: [] } })).body.issues.map((issue: Json) => issue.field)).toEqual(expect.arrayContaining(['appliesTo', 'pattern.cycle']));
    expect((await api('DELETE', '/schedules/temp')).body).toEqual({ deleted: true });
    expect((await api('DELETE', '/schedules/temp')).status).toBe(404);
    expect((await api('DELETE', '/schedules/bad%20id')).body.issues[0]).toMatchObject({ in: 'params', field: 'id' });

    const override = await api('PUT', '/schedule-overrides/E001/2026-11-28', { shiftId: 'late' });
    expect(override.body.override).toEqual({ employeeNumber: 'E001', date: '2026-11-28', shiftId: 'late', siteId: null });
    expect((await api('PUT', '/schedule-overrides/E001/2026-11-29', { shiftId: 'ghost' })).body.issues[0]).toMatchObject({ field: 'shiftId', message: 'no shift has the id ghost' });
    expect((await api('PUT', '/schedule-overrides/E001/2026-13-01', { shiftId: null })).body.issues[0]).toMatchObject({ in: 'params', field: 'date' });
    expect((await api('GET', '/schedule-overrides?employeeNumber=E001')).body.overrides).toHaveLength(1);
    expect((await api('GET', '/schedule-overrides?from=yesterday')).body.issues[0]).toMatchObject({ field: 'from' });
    expect((await api('DELETE', '/shifts/late')).status).toBe(409);
    expect((await api('DELETE', '/schedule-overrides/E001/2026-11-28')).body).toEqual({ deleted: true });
    expect((await api('DELETE', '/schedule-overrides/E001/2026-11-28')).status).toBe(404);
    expect((await api('DELETE', '/shifts/late')).body).toEqual({ deleted: true });
    expect((await api('DELETE', '/shifts/late')).status).toBe(404);
    expect((await api('DELETE', '/shifts/bad%20id')).body.issues[0]).toMatchObject({ in: 'params', field: 'id' });
    expect((await api('GET', '/attendance/settings', undefined, 'mgr-mk')).body.settings.rules.lateGraceMinutes).toBe(5);
  });

  it('computes each person\'s days and totals from their punches, scoped to a store manager\'s sites', async () => {
    await store([badge('E001', '2026-11-23 08:58'), badge('E001', '2026-11-23 18:01'), badge('E001', '2026-11-24 09:20'), badge('E001', '2026-11-24 18:00'), badge('E002', '2026-11-23 09:00')]);
    const result = await api('GET', '/attendance?from=2026-11-23&to=2026-11-24&siteId=mk-01');
    expect(result.status).toBe(200);
    const [e001, e002] = result.body.employees;
    expect(e001.employee).toMatchObject({ employeeNumber: 'E001', nameZh: '陳大文' });
    expect(e001.days.map((day: Json) => [day.workDate, day.status, day.lateMinutes, day.workedMinutes])).toEqual([
      ['2026-11-23', 'Normal', 0, 480],
      ['2026-11-24', 'Late', 20, 460],
    ]);
    expect(e001.totals).toMatchObject({ lateCount: 1, lateMinutes: 20, workedMinutes: 940, scheduledDays: 2 });
    expect(e002.days.map((day: Json) => day.status)).toEqual(['NotSigned', 'Absenteeism']);
    const asManager = await api('GET', '/attendance?from=2026-11-23&to=2026-11-23', undefined, 'mgr-tst');
    expect(asManager.body.employees.map((entry: Json) => entry.employee.employeeNumber)).toEqual(['E003']);
    expect((await api('GET', '/attendance?from=2026-11-23&to=2026-11-23&siteId=mk-01', undefined, 'mgr-tst')).status).toBe(403);
    expect((await api('GET', '/attendance?from=2026-11-23&to=2026-11-23', undefined, 'facilities')).status).toBe(403);
    const paged = await api('GET', '/attendance?from=2026-11-23&to=2026-11-23&limit=1');
    expect(paged.body.employees).toHaveLength(1);
    const next = await api('GET', `/attendance?from=2026-11-23&to=2026-11-23&limit=1&cursor=${paged.body.nextCursor}`);
    expect(next.body.employees[0].employee.employeeNumber).toBe('E002');
  });

  it('refuses attendance queries it cannot answer, naming the field', async () => {
    expect((await api('GET', '/attendance?from=2026-11-24&to=2026-11-23')).body.issues).toEqual([{ in: 'querystring', field: 'to', message: 'must not be before from' }]);
    expect((await api('GET', '/attendance?from=2026-01-01&to=2026-06-30')).body.issues[0]).toMatchObject({ field: 'to', message: 'a range may be at most 62 days' });
    expect((await api('GET', '/attendance?from=2026-02-30&to=2026-03-01')).body.issues[0]).toMatchObject({ field: 'from' });
    expect((await api('GET', '/attendance?from=2026-11-01&to=2026-11-02&cursor=nonsense')).body.issues[0]).toMatchObject({ field: 'cursor' });
  });

  it('takes leave one at a time (idempotent by id) and changes the day to on leave', async () => {
    const created = await api('POST', '/leave', { id: 'HR-77', employeeNumber: 'E002', type: 'annual', from: '2026-11-24', to: '2026-11-24' });
    expect(created.status).toBe(201);
    expect((await api('POST', '/leave', { id: 'HR-77', employeeNumber: 'E002', type: 'annual', from: '2026-11-24', to: '2026-11-24' })).status).toBe(200);
    expect((await api('POST', '/leave', { employeeNumber: 'E404', type: 'annual', from: '2026-11-24', to: '2026-11-24' })).body.issues[0]).toMatchObject({ field: 'employeeNumber', message: 'no employee has the number E404' });
    expect((await api('POST', '/leave', { employeeNumber: 'E002', type: 'holiday', from: '2026-11-24', to: '2026-11-23' })).body.issues.map((issue: Json) => issue.field)).toContain('type');
    expect((await api('POST', '/leave', { employeeNumber: 'E002', type: 'sick', from: '2026-11-24', to: '2026-11-25', portion: 'am' })).body.issues[0]).toMatchObject({ field: 'portion' });
    const day = await api('GET', '/attendance?from=2026-11-24&to=2026-11-24&employeeNumber=E002');
    expect(day.body.employees[0].days[0]).toMatchObject({ status: 'OnLeave', leave: { id: 'HR-77', type: 'annual', days: 1 } });
    expect((await api('POST', '/leave/HR-77/cancel')).body.leave).toMatchObject({ status: 'cancelled', cancelledBy: 'admin' });
    expect((await api('GET', '/attendance?from=2026-11-24&to=2026-11-24&employeeNumber=E002')).body.employees[0].days[0].status).toBe('Absenteeism');
    expect((await api('POST', '/leave/HR-77/cancel')).status).toBe(409);
    expect((await api('POST', `/leave/${'x'.repeat(65)}/cancel`)).body.issues[0]).toMatchObject({ in: 'params', field: 'id' });
    expect((await api('GET', '/leave?status=pending')).body.issues[0]).toMatchObject({ field: 'status' });
    expect((await api('GET', '/leave?employeeNumber=E002&status=cancelled', undefined, 'mgr-mk')).body.leave.map((record: Json) => record.id)).toEqual(['HR-77']);
    expect((await api('GET', '/leave', undefined, 'mgr-tst')).body.leave).toEqual([]);
  });

  it('imports leave from CSV: every bad row reported in both languages and nothing written; a dry run writes nothing; the same file twice adds nothing', async () => {
    const csv = { 'content-type': 'text/csv' };
    const before = await count('leave_records');
    const bad = ['employee_number,type,from,to,portion', 'E001,annual,2026-11-25,2026-11-25,full', 'E404,annual,2026-11-25,2026-11-25,', 'E002,vacation,2026-11-25,2026-11-25,', 'E002,sick,2026-11-26,2026-11-25,', 'E003,sick,2026-11-31,,'].join('\r\n');
    const refused = await api('POST', '/leave/import', bad, 'hr', csv);
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((error: Json) => [error.row, error.column])).toEqual([
      [3, 'employee_number'],
      [4, 'type'],
      [5, 'to'],
      [6, 'from'],
    ]);
    expect(refused.body.errors[0].messageZh).toContain('員工編號');
    expect(await count('leave_records')).toBe(before);

    const good = `\uFEFFemployee_number,type,from,to,portion,note\r\nE001,annual,2026-11-25,2026-11-25,full,"Wedding, family"\r\nE002,sick,2026-11-26,2026-11-26,am,\r\n`;
    const dry = await api('POST', '/leave/import?dryRun=true', good, 'hr', csv);
    expect(dry.body).toEqual({ dryRun: true, rows: 2, created: 2, unchanged: 0 });
    expect(await count('leave_records')).toBe(before);
    expect((await api('POST', '/leave/import', good, 'hr', csv)).body).toEqual({ dryRun: false, rows: 2, created: 2, unchanged: 0 });
    expect((await api('POST', '/leave/import', good, 'hr', csv)).body).toEqual({ dryRun: false, rows: 2, created: 0, unchanged: 2 });
    expect(await count('leave_records')).toBe(before + 2);
    const notes = await api('GET', '/leave?employeeNumber=E001');
    expect(notes.body.leave[0]).toMatchObject({ note: 'Wedding, family', source: 'csv', createdBy: 'hr' });

    const latin1 = Buffer.from('employee_number,type,from,to\r\nE001,annual,2026-11-27,2026-11-27\r\nE002,other,2026-11-27,2026-11-27\r\n\xe9', 'latin1');
    const encoding = await api('POST', '/leave/import', latin1, 'hr', csv);
    expect(encoding.status).toBe(400);
    expect(encoding.body).toMatchObject({ error: expect.stringContaining('not UTF-8'), errorZh: expect.stringContaining('UTF-8') });
    expect((await api('POST', '/leave/import', 'employee_number,type\r\n', 'hr', csv)).body.errors[0]).toMatchObject({ row: 1, column: 'from' });
    expect((await api('POST', '/leave/import', { rows: [] }, 'hr')).status).toBe(415);
    expect((await api('POST', '/leave/import?dryRun=maybe', good, 'hr', csv)).body.issues[0]).toMatchObject({ field: 'dryRun' });
    expect((await api('POST', '/leave/import', good, 'mgr-mk', csv)).status).toBe(403);
    expect(await count('leave_records')).toBe(before + 2);
  });

  it('make-up punch: a manager files, another approves, and the punch completes the day', async () => {
    const filed = await api('POST', '/makeup-requests', { employeeNumber: 'E002', siteId: 'mk-01', at: hk('2026-11-23 18:00'), direction: 'out', reason: 'forgot to tap out, seen on CCTV' }, 'mgr-mk');
    expect(filed.status).toBe(201);
    expect(filed.body.request).toMatchObject({ status: 'pending-manager', needsHr: true, hrReason: expect.stringContaining('days back') });
    const id = filed.body.request.id as string;
    expect((await api('POST', `/makeup-requests/${id}/approve`, {}, 'mgr-mk')).body.error).toBe('a request is decided by someone other than who filed it');
    expect((await api('POST', `/makeup-requests/${id}/approve`, {}, 'mgr-tst')).status).toBe(403);
    const first = await api('POST', `/makeup-requests/${id}/approve`, { note: 'checked CCTV' }, 'mgr-mk-2');
    expect(first.body).toMatchObject({ request: { status: 'pending-hr' }, punchId: null });
    expect((await api('POST', `/makeup-requests/${id}/approve`, {}, 'mgr-mk-2')).body.error).toContain('waits for HR');
    const punchesBefore = await count('punches');
    const second = await api('POST', `/makeup-requests/${id}/approve`, {}, 'hr');
    expect(second.body.request).toMatchObject({ status: 'approved', decisions: [{ tier: 'manager', byName: 'mgr-mk-2', note: 'checked CCTV' }, { tier: 'hr', byName: 'hr' }] });
    expect(await count('punches')).toBe(punchesBefore + 1);
    const punch = await setup.dashboard.punches.get(second.body.punchId);
    expect(punch).toMatchObject({ method: 'manual', direction: 'out', employeeId: 'E002', deviceId: 'makeup', approvalRef: id, at: hk('2026-11-23 18:00') });
    const day = await api('GET', '/attendance?from=2026-11-23&to=2026-11-23&employeeNumber=E002');
    expect(day.body.employees[0].days[0]).toMatchObject({ status: 'Normal', flags: ['ManualPunch'], workedMinutes: 480 });
    expect((await api('POST', `/makeup-requests/${id}/approve`, {}, 'hr2')).status).toBe(409);
    expect((await api('GET', `/makeup-requests/${id}`, undefined, 'mgr-mk')).body.request).toMatchObject({ id, status: 'approved', punchId: second.body.punchId });
    expect((await api('GET', `/makeup-requests/${id}`, undefined, 'mgr-tst')).status).toBe(404);
    expect((await api('GET', '/makeup-requests?status=approved', undefined, 'mgr-mk')).body.requests.map((request: Json) => request.id)).toEqual([id]);
    expect((await api('GET', '/makeup-requests?status=done')).body.issues[0]).toMatchObject({ field: 'status' });
    const audit = await api('GET', `/audit?entity=makeup-request&entityId=${id}`);
    expect(audit.body.entries.map((entry: Json) => entry.action)).toEqual(['makeup.approve', 'makeup.approve', 'makeup.file']);
  });

  it('make-up punch: a rejection stores nothing; the manager tier alone suffices within the policy; bad requests are refused by field', async () => {
    const recent = await api('POST', '/makeup-requests', { employeeNumber: 'E001', siteId: 'mk-01', at: hk('2026-12-09 09:00'), direction: 'in', reason: 'reader was down' }, 'hr');
    expect(recent.body.request).toMatchObject({ status: 'pending-manager', needsHr: false });
    const punchesBefore = await count('punches');
    expect((await api('POST', `/makeup-requests/${recent.body.request.id}/reject`, { note: 'n'.repeat(501) }, 'mgr-mk')).body.issues[0]).toMatchObject({ field: 'note' });
    expect((await api('POST', `/makeup-requests/${recent.body.request.id}/approve`, { extra: 1 }, 'mgr-mk')).body.issues[0]).toMatchObject({ field: 'extra' });
    const rejected = await api('POST', `/makeup-requests/${recent.body.request.id}/reject`, { note: 'no evidence' }, 'mgr-mk');
    expect(rejected.body).toMatchObject({ request: { status: 'rejected' }, punchId: null });
    expect(await count('punches')).toBe(punchesBefore);
    const again = await api('POST', '/makeup-requests', { employeeNumber: 'E001', siteId: 'mk-01', at: hk('2026-12-09 09:00'), direction: 'in', reason: 'reader was down, second try' }, 'hr');
    const approved = await api('POST', `/makeup-requests/${again.body.request.id}/approve`, {}, 'mgr-mk');
    expect(approved.body.request.status).toBe('approved');
    expect(await count('punches')).toBe(punchesBefore + 1);
    // A second one in December for E001 is over the policy's 1 a month: HR must look too.
    const third = await api('POST', '/makeup-requests', { employeeNumber: 'E001', siteId: 'mk-01', at: hk('2026-12-09 18:00'), direction: 'out', reason: 'reader was down' }, 'hr');
    expect(third.body.request).toMatchObject({ needsHr: true, hrReason: expect.stringContaining('request 2 this month') });

    const bad = await api('POST', '/makeup-requests', { employeeNumber: 'E001', siteId: 'mk-01', at: '2026-12-09 09:00', direction: 'sideways', reason: '' }, 'hr');
    expect(bad.body.issues.map((issue: Json) => issue.field).sort()).toEqual(['at', 'direction', 'reason']);
    expect((await api('POST', '/makeup-requests', { employeeNumber: 'E001', siteId: 'mk-01', at: '2027-01-01T00:00:00.000Z', direction: 'in', reason: 'future' }, 'hr')).body.issues[0]).toMatchObject({ field: 'at' });
    expect((await api('POST', '/makeup-requests', { employeeNumber: 'E404', siteId: 'mk-01', at: hk('2026-12-09 09:00'), direction: 'in', reason: 'who' }, 'hr')).body.issues[0]).toMatchObject({ field: 'employeeNumber' });
    expect((await api('POST', '/makeup-requests', { employeeNumber: 'E003', siteId: 'tst-02', at: hk('2026-12-09 09:00'), direction: 'in', reason: 'not mine' }, 'mgr-mk')).status).toBe(403);
    expect((await api('GET', '/makeup-requests', undefined, 'mgr-tst')).body.requests).toEqual([]);
    expect((await api('GET', '/makeup-requests/nonsense')).body.issues[0]).toMatchObject({ field: 'id' });
    expect((await api('POST', '/makeup-requests/mu-00000000-0000-7000-8000-000000000000/approve', {}, 'hr')).status).toBe(404);
  });
});
