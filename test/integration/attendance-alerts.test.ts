import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hk, startAttendanceDashboard, type AttendanceDashboard, type Json } from '../support/attendance-dashboard.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { waitFor } from '../support/wait.js';

/**
 * Attendance alerts end to end: the scanner computes the day, stores one notification per event
 * (late, early leave, missed punch, absence, punch on leave, shift reminder), a second scan (or a
 * restart) adds nothing, and a real webhook receiver gets each alert once, signed.
 */

describe('attendance alerts', () => {
  let setup: AttendanceDashboard;
  let receiver: WebhookReceiver;
  let now = new Date(hk('2026-11-23 08:50'));
  const api: AttendanceDashboard['api'] = (...args) => setup.api(...args);
  const keys = async (): Promise<string[]> => (await setup.dashboard.db.all<{ key: string }>('SELECT key FROM notifications ORDER BY key')).map((row) => row.key);

  beforeAll(async () => {
    receiver = await new WebhookReceiver(() => 'ok', () => Math.floor(now.getTime() / 1000)).start();
    setup = await startAttendanceDashboard(() => now, [
      { number: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', site: 'mk-01', email: 'taiman@example.hk' },
      { number: 'E002', name: 'Wong Ka Yan', nameZh: '黃嘉欣', site: 'mk-01' },
      { number: 'E003', name: 'Lee Siu Ming', nameZh: '李小明', site: 'mk-01' },
      { number: 'E004', name: 'Ho Mei Ling', nameZh: '何美玲', site: 'mk-01' },
    ]);
    await setup.dashboard.auth.users.create({ username: 'manager-mk', role: 'store-manager', sites: ['mk-01'], password: 'manager-password-0123456789', mustChangePassword: false }, undefined);
    expect((await api('PUT', '/shifts/day', { name: 'Day', kind: 'fixed', segments: [{ start: '09:00', end: '18:00' }] })).status).toBe(200);
    expect((await api('PUT', '/schedules/all', { appliesTo: { everyone: true }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days: { mon: 'day', tue: 'day', wed: 'day', thu: 'day', fri: 'day', sat: null, sun: null } } })).status).toBe(200);
    const hook = await api('POST', '/webhooks', { name: 'HR bridge', url: receiver.url });
    expect(hook.status).toBe(201);
    receiver.secret = hook.body.secret;
  }, 60_000);

  afterAll(async () => {
    await setup?.stop();
    await receiver?.stop();
  });

  it('reminds everyone due within 15 minutes, once', async () => {
    expect(await setup.dashboard.attendance.alerts.scan()).toBe(4);
    expect(await keys()).toEqual(['shift-reminder:0:E001:2026-11-23', 'shift-reminder:0:E002:2026-11-23', 'shift-reminder:0:E003:2026-11-23', 'shift-reminder:0:E004:2026-11-23']);
    expect(await setup.dashboard.attendance.alerts.scan()).toBe(0);
  });

  it('raises late at once, and early leave, missed punch, absence and punch on leave once the day is over; each once', async () => {
    await setup.store([setup.badge('E001', '2026-11-23 09:12'), setup.badge('E001', '2026-11-23 18:00'), setup.badge('E002', '2026-11-23 08:55'), setup.badge('E002', '2026-11-23 17:20'), setup.badge('E003', '2026-11-23 08:58')]);
    expect((await api('POST', '/leave', { employeeNumber: 'E004', type: 'annual', from: '2026-11-24', to: '2026-11-24' })).status).toBe(201);
    now = new Date(hk('2026-11-23 10:00'));
    expect(await setup.dashboard.attendance.alerts.scan()).toBe(1);
    expect(await keys()).toContain('late:0:E001:2026-11-23');
    await setup.store([setup.badge('E004', '2026-11-24 09:00')]);
    // The day is complete six hours after its end (the punch window).
    now = new Date(hk('2026-11-24 01:00'));
    await setup.dashboard.attendance.alerts.scan();
    const all = await keys();
    expect(all).toEqual(
      expect.arrayContaining(['early-leave:0:E002:2026-11-23', 'missed-punch:0:out:E003:2026-11-23', 'absence:E004:2026-11-23', 'punch-on-leave:E004:2026-11-24']),
    );
    expect(all.filter((key) => key.includes('E002:2026-11-23'))).toEqual(['early-leave:0:E002:2026-11-23', 'shift-reminder:0:E002:2026-11-23']);
    const count = all.length;
    expect(await setup.dashboard.attendance.alerts.scan()).toBe(0);
    expect(await keys()).toHaveLength(count);

    const late = await setup.dashboard.db.get<{ body: string }>("SELECT event AS body FROM notifications WHERE key = 'late:0:E001:2026-11-23'");
    const event = JSON.parse(late?.body ?? '{}') as Json;
    expect(event).toMatchObject({ kind: 'late', employee: { employeeNumber: 'E001', nameZh: '陳大文', email: 'taiman@example.hk' }, managers: [{ name: 'manager-mk' }], siteId: 'mk-01', details: { minutesLate: 12, shiftStart: '09:00', punchedAt: '09:12' } });
  });

  it('delivers each alert to the webhook once, signed', async () => {
    const expected = (await keys()).length;
    await waitFor('every alert delivered', async () => (receiver.accepted().length >= expected ? true : undefined), 20_000);
    const ids = receiver.accepted().map((request) => request.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(receiver.requests.every((request) => request.verified.ok)).toBe(true);
    expect(ids).toContain('late:0:E001:2026-11-23');
  });
});
