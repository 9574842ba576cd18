import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newPunchId } from '../../core/ids.js';
import type { DeviceStatus } from '../../core/messages.js';
import type { Punch } from '../../core/punch.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { dayWindow } from '../../dashboard/live/day-window.js';
import type { Overview } from '../../dashboard/live/overview.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { wifiOnlyPolicy } from '../support/site-policy.js';
import { testLogger } from '../support/logger.js';

/**
 * GET /api/v1/overview on a real dashboard (SQLite file, auth): device counts and the devices
 * wanting attention, today's punches per site in each site's own time zone, the latest punches,
 * all within the principal's sites.
 */

// 23:30 in Hong Kong on 2 March, 15:30 in London: the two sites' "today" differ.
const NOW = new Date('2026-03-02T15:30:00.000Z');


function punchAt(siteId: string, deviceId: string, at: string, seq: number): Punch {
  return {
    id: newPunchId(),
    deviceId,
    siteId,
    credential: { kind: 'mifare', uid: '04A1B2C3' },
    employeeId: null,
    at,
    clock: { synced: true },
    method: 'badge',
    direction: 'auto',
    seq,
  };
}

describe('dashboard overview', () => {
  let dir: string;
  let dashboard: Dashboard;
  let mkManager: string;

  async function overview(query = '', token = dashboard.apiToken): Promise<{ status: number; body: Overview }> {
    const response = await dashboard.http.inject({ method: 'GET', url: `/api/v1/overview${query}`, headers: { authorization: `Bearer ${token}` } });
    return { status: response.statusCode, body: response.json<Overview>() };
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-overview-'));
    dashboard = await startDashboard(DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } }), testLogger(), {
      onFirstAdmin: () => undefined,
      now: () => NOW,
    });
    for (const [id, timeZone] of [
      ['mk-01', 'Asia/Hong_Kong'],
      ['ldn-01', 'Europe/London'],
      ['tst-02', 'Asia/Hong_Kong'],
    ] as const) {
      await dashboard.sites.put({ id, name: `Site ${id}`, nameZh: null, timeZone, policy: wifiOnlyPolicy(id), beacons: [] }, NOW);
    }
    mkManager = (await dashboard.auth.tokens.create({ name: 'mk manager', role: 'store-manager', sites: ['mk-01'] }, undefined)).secret;

    const at = (minutesAgo: number): string => new Date(NOW.getTime() - minutesAgo * 60_000).toISOString();
    const devices: Array<[string, string, DeviceStatus | undefined]> = [
      ['gw-online', 'mk-01', { online: true, version: '0.1.0', configVersion: 1000, backlog: 0 }],
      ['gw-behind', 'mk-01', { online: true, version: '0.1.0', configVersion: 1000, backlog: 5, oldestPendingAt: at(30) }],
      ['gw-backlog', 'ldn-01', { online: true, version: '0.1.0', configVersion: 1000, backlog: 2, oldestPendingAt: at(1) }],
      ['gw-offline', 'mk-01', { online: false }],
      ['gw-never', 'tst-02', undefined],
      ['gw-disabled', 'ldn-01', undefined],
    ];
    for (const [id, siteId] of devices) await dashboard.devices.register({ id, siteId, secretHash: 'x', createdAt: at(600) });
    // The config push publishes each new device's first config on its own schedule; had it done so
    // after the statuses below, the online devices would look "config pending" (published above
    // applied) and the expectations would race it. Publish now, so their statuses come after.
    dashboard.configPush.devicesChanged(devices.map(([id]) => id));
    const report = await dashboard.configPush.flush();
    expect(report.published).toBeGreaterThan(0);
    for (const [id, , status] of devices) {
      // The offline one was seen before its will came.
      if (id === 'gw-offline') await dashboard.devices.recordStatus(id, { online: true }, at(120));
      if (status) await dashboard.devices.recordStatus(id, status, at(2));
    }
    await dashboard.db.transaction(() => dashboard.devices.updateInTransaction('gw-disabled', { disabled: { at: at(60), reason: 'retired' } }));

    await dashboard.punches.insertBatch(
      [
        punchAt('mk-01', 'gw-online', '2026-03-01T15:59:59.999Z', 1), // 23:59:59 on 1 March in Hong Kong: yesterday
        punchAt('mk-01', 'gw-online', '2026-03-01T16:00:00.000Z', 2), // midnight in Hong Kong: today
        punchAt('mk-01', 'gw-online', '2026-03-02T15:00:00.000Z', 3),
        punchAt('ldn-01', 'gw-backlog', '2026-03-01T17:00:00.000Z', 1), // 1 March in London: yesterday
        punchAt('ldn-01', 'gw-backlog', '2026-03-02T00:00:00.000Z', 2),
        punchAt('ldn-01', 'gw-backlog', '2026-03-02T15:29:00.000Z', 3),
        punchAt('tst-02', 'gw-never', '2026-03-02T10:00:00.000Z', 1),
      ],
      NOW.toISOString(),
    );
  });

  afterAll(async () => {
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts devices, lists those wanting attention (offline and behind first), counts today per site in its time zone, and shows the latest punches', async () => {
    const { status, body } = await overview('?recent=3');
    expect(status).toBe(200);
    expect(body.generatedAt).toBe(NOW.toISOString());
    expect(body.devices).toEqual({ total: 6, online: 3, offline: 2, neverConnected: 1, disabled: 1, attention: 5 });
    expect(body.attention.map((device) => [device.id, device.reasons])).toEqual([
      ['gw-offline', ['offline']],
      ['gw-never', ['never-connected']],
      ['gw-behind', ['backlog', 'behind']],
      ['gw-backlog', ['backlog']],
      ['gw-disabled', ['disabled']],
    ]);
    expect(body.attention[2]).toMatchObject({ siteId: 'mk-01', connection: 'online', backlog: 5, behindSeconds: 30 * 60, enabled: true });
    expect(body.attention[0]).toMatchObject({ connection: 'offline', lastSeen: new Date(NOW.getTime() - 120 * 60_000).toISOString() });

    expect(body.punchesToday.sites).toEqual([
      { siteId: 'ldn-01', name: 'Site ldn-01', timeZone: 'Europe/London', day: '2026-03-02', from: '2026-03-02T00:00:00.000Z', to: '2026-03-03T00:00:00.000Z', punches: 2 },
      { siteId: 'mk-01', name: 'Site mk-01', timeZone: 'Asia/Hong_Kong', day: '2026-03-02', from: '2026-03-01T16:00:00.000Z', to: '2026-03-02T16:00:00.000Z', punches: 2 },
      { siteId: 'tst-02', name: 'Site tst-02', timeZone: 'Asia/Hong_Kong', day: '2026-03-02', from: '2026-03-01T16:00:00.000Z', to: '2026-03-02T16:00:00.000Z', punches: 1 },
    ]);
    expect(body.punchesToday.total).toBe(5);
    expect(body.recentPunches.map((punch) => punch.at)).toEqual(['2026-03-02T15:29:00.000Z', '2026-03-02T15:00:00.000Z', '2026-03-02T10:00:00.000Z']);
  });

  it('shows a store manager only its own sites', async () => {
    const { status, body } = await overview('', mkManager);
    expect(status).toBe(200);
    expect(body.devices).toEqual({ total: 3, online: 2, offline: 1, neverConnected: 0, disabled: 0, attention: 2 });
    expect(body.attention.map((device) => device.id)).toEqual(['gw-offline', 'gw-behind']);
    expect(body.punchesToday).toEqual({ total: 2, sites: [expect.objectContaining({ siteId: 'mk-01', punches: 2 })] });
    expect(new Set(body.recentPunches.map((punch) => punch.siteId))).toEqual(new Set(['mk-01']));
    expect(body.recentPunches).toHaveLength(3);
  });

  it('takes its thresholds from the query, validated', async () => {
    const { body } = await overview('?behindMinutes=45&attentionLimit=2&recent=0');
    expect(body.attention.map((device) => [device.id, device.reasons])).toEqual([
      ['gw-offline', ['offline']],
      ['gw-never', ['never-connected']],
    ]);
    expect(body.devices.attention).toBe(5);
    expect(body.recentPunches).toEqual([]);
    const bad = await dashboard.http.inject({ method: 'GET', url: '/api/v1/overview?recent=-1&colour=red', headers: { authorization: `Bearer ${dashboard.apiToken}` } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ issues: Array<{ field: string }> }>().issues.map((issue) => issue.field).sort()).toEqual(['colour', 'recent']);
  });

  it('finds the day of a site across daylight-saving changes', () => {
    // London springs forward at 01:00 UTC on 29 March 2026: a day of 23 hours.
    expect(dayWindow(new Date('2026-03-29T12:00:00Z'), 'Europe/London')).toEqual({ day: '2026-03-29', from: '2026-03-29T00:00:00.000Z', to: '2026-03-29T23:00:00.000Z' });
    // New York falls back on 1 November 2026: a day of 25 hours.
    expect(dayWindow(new Date('2026-11-01T12:00:00Z'), 'America/New_York')).toEqual({ day: '2026-11-01', from: '2026-11-01T04:00:00.000Z', to: '2026-11-02T05:00:00.000Z' });
    expect(dayWindow(new Date('2026-03-01T16:00:00.000Z'), 'Asia/Hong_Kong')).toEqual({ day: '2026-03-02', from: '2026-03-01T16:00:00.000Z', to: '2026-03-02T16:00:00.000Z' });
  });
});
