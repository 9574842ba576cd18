import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClockOf } from '../../core/attendance/index.js';
import { DeviceConfigSnapshot } from '../../core/config-snapshot.js';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { startAttendanceDashboard, type AttendanceDashboard } from '../support/attendance-dashboard.js';
import { testLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';

/**
 * "Late by 4 min" at the door, on loopback: the dashboard pushes the schedules with the roster,
 * the gateway judges each accepted punch with the same engine, and its feedback says so; a change
 * of shift in the console reaches the door within seconds.
 */

const UID = '04A1B2C3';
const HK = 'Asia/Hong_Kong';

describe('attendance verdict at the door', () => {
  let setup: AttendanceDashboard;
  let gateway: Gateway;
  let dir: string;
  const api: AttendanceDashboard['api'] = (...args) => setup.api(...args);
  const minutesFromNow = (minutes: number): string => localClockOf(Date.now() + minutes * 60_000, HK);
  const pushed = async (): Promise<DeviceConfigSnapshot | undefined> => {
    const row = await setup.dashboard.db.get<{ body: string }>('SELECT body FROM device_configs WHERE device_id = ?', ['gw-door']);
    return row ? DeviceConfigSnapshot.parse(JSON.parse(row.body)) : undefined;
  };
  const applied = async (predicate: (snapshot: DeviceConfigSnapshot) => boolean): Promise<void> => {
    await waitFor('the gateway to apply the pushed schedules', async () => {
      const snapshot = await pushed();
      const status = await setup.dashboard.configPush.status('gw-door');
      return snapshot && predicate(snapshot) && status && status.applied === snapshot.version ? true : undefined;
    }, 15_000);
  };
  const tap = async () => {
    const outcome = await gateway.desk.submit({ readerId: 'door', read: { kind: 'mifare', uid: UID } });
    return { outcome, feedback: gateway.feedbackOf(outcome) };
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-kiosk-verdict-'));
    setup = await startAttendanceDashboard(() => new Date(), [{ number: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', site: 'mk-01' }]);
    expect((await api('POST', '/employees/E001/badges', { kind: 'mifare', uid: UID })).status).toBe(201);
    const registered = await api('POST', '/devices', { id: 'gw-door', siteId: 'mk-01' });
    expect(registered.status).toBe(201);
    gateway = await startGateway(
      GatewayConfig.parse({
        deviceId: 'gw-door',
        siteId: 'mk-01',
        dataDir: path.join(dir, 'gateway'),
        http: { port: 0 },
        punch: { debounceSeconds: 0 },
        mqtt: { url: setup.dashboard.brokerUrl, password: registered.body.secret, batch: { ackTimeoutSeconds: 1 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.3 } },
        clock: { syncCommand: null },
      }),
      testLogger(),
      { uplink: { statusMinIntervalMs: 0 } },
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await setup?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('says nothing about time while there are no schedules', async () => {
    await applied((snapshot) => snapshot.roster.length === 1);
    expect((await pushed())?.attendance).toBeUndefined();
    const { outcome, feedback } = await tap();
    expect(outcome.result).toBe('accepted');
    expect(feedback.verdict).toBeUndefined();
    expect(feedback.text).not.toMatch(/late|early|on time/);
  });

  it('says "late" for an in after the shift started, pushed with the roster; a change of shift reaches the door', async () => {
    // A shift that started four minutes ago (every day of the week), no grace.
    const shift = { name: 'Now', kind: 'fixed', segments: [{ start: minutesFromNow(-4), end: minutesFromNow(240) }] };
    expect((await api('PUT', '/shifts/now', shift)).status).toBe(200);
    const days = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => [day, 'now']));
    expect((await api('PUT', '/schedules/all', { appliesTo: { everyone: true }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days } })).status).toBe(200);
    await applied((snapshot) => snapshot.attendance?.book.shifts[0]?.id === 'now' && snapshot.attendance.people.E001 !== undefined);

    // The first tap of the day was the in (earlier test); start over with a fresh in.
    const second = await tap();
    expect(second.outcome.punch?.direction).toBe('out');
    expect(second.feedback.verdict?.kind).toBe('early');
    const third = await tap();
    expect(third.outcome.punch?.direction).toBe('in');
    expect(third.feedback.verdict).toMatchObject({ kind: 'late', minutes: expect.any(Number) });
    expect(third.feedback.verdict?.minutes).toBeGreaterThanOrEqual(3);
    expect(third.feedback.verdict?.minutes).toBeLessThanOrEqual(5);
    expect(third.feedback.text).toMatch(/^IN \d\d:\d\d late [345]m Chan/);

    // HR moves the start to an hour from now: the next in is on time.
    const started = performance.now();
    expect((await api('PUT', '/shifts/now', { ...shift, segments: [{ start: minutesFromNow(60), end: minutesFromNow(300) }] })).status).toBe(200);
    await applied((snapshot) => snapshot.attendance?.book.shifts[0]?.kind === 'fixed' && snapshot.attendance.book.shifts[0].segments[0]?.start === minutesFromNow(60));
    console.info(`[kiosk-verdict] shift change in the console -> applied at the gateway: ${(performance.now() - started).toFixed(0)} ms`);
    await tap(); // out
    const fourth = await tap();
    expect(fourth.outcome.punch?.direction).toBe('in');
    expect(fourth.feedback.verdict).toEqual({ kind: 'on-time' });
    expect(fourth.feedback.text).toMatch(/^IN \d\d:\d\d on time Chan/);
  });
});
