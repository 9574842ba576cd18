import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newBatchId } from '../../core/ids.js';
import { PunchAck, type DeviceStatus } from '../../core/messages.js';
import type { Punch } from '../../core/punch.js';
import { deviceTopic } from '../../core/topics.js';
import type { AuditEntry } from '../../dashboard/auth/audit.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { wifiOnlyPolicy } from '../support/site-policy.js';
import { testPunch } from '../support/punch-fixture.js';
import { testLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';

/**
 * Devices through the real dashboard (HTTP, auth, embedded broker, ingest, SQLite): register with
 * credentials shown once, rename, move to a site, disable (refused at login, punches refused with
 * the reason in the ack) and enable again, every change audited; a device's live state.
 */



interface Json {
  [key: string]: unknown;
}

describe('dashboard devices: register, rename, move, disable/enable, live state', () => {
  let dir: string;
  let dashboard: Dashboard;
  let mkManager: string;
  let tstManager: string;
  let hr: string;
  const clients: MqttClient[] = [];

  async function api(method: string, route: string, body?: unknown, token = dashboard.apiToken): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${dashboard.url}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  async function register(id: string, siteId = 'mk-01'): Promise<{ username: string; clientId: string; password: string; url: string }> {
    const response = await api('POST', '/devices', { id, siteId, name: `Gateway ${id}` });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.mqtt as { username: string; clientId: string; password: string; url: string };
  }

  async function connectAs(credentials: { username: string; clientId: string; password: string; url: string }, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(credentials.url, { clientId: credentials.clientId, username: credentials.username, password: credentials.password, reconnectPeriod: 0, ...options });
    clients.push(client);
    return client;
  }

  async function auditOf(deviceId: string): Promise<AuditEntry[]> {
    return (await dashboard.auth.audit.list({ entity: 'device', entityId: deviceId, limit: 100 })).entries.reverse();
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-devices-'));
    dashboard = await startDashboard(DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } }), testLogger(), { onFirstAdmin: () => undefined });
    for (const id of ['mk-01', 'tst-02']) await dashboard.sites.put({ id, name: id, nameZh: null, timeZone: 'Asia/Hong_Kong', policy: wifiOnlyPolicy(id), beacons: [] }, new Date());
    mkManager = (await dashboard.auth.tokens.create({ name: 'mk manager', role: 'store-manager', sites: ['mk-01'] }, undefined)).secret;
    tstManager = (await dashboard.auth.tokens.create({ name: 'tst manager', role: 'store-manager', sites: ['tst-02'] }, undefined)).secret;
    hr = (await dashboard.auth.tokens.create({ name: 'hr', role: 'hr' }, undefined)).secret;
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true).catch(() => undefined);
    await dashboard.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the MQTT credentials once at registration, and never again', async () => {
    const credentials = await register('gw-1');
    expect(credentials).toEqual({ username: 'gw-1', clientId: 'gw-1', password: expect.stringMatching(/.{20,}/), url: dashboard.brokerUrl });
    // They work, and nothing shows them again.
    await connectAs(credentials);
    const read = await api('GET', '/devices/gw-1');
    const list = await api('GET', '/devices');
    for (const body of [read.body, list.body]) expect(JSON.stringify(body)).not.toContain(credentials.password);
    expect(JSON.stringify(await auditOf('gw-1'))).not.toContain(credentials.password);
    expect((await api('POST', '/devices', { id: 'gw-1', siteId: 'mk-01' })).status).toBe(409);
  });

  it('lists devices a page at a time, within the sites the principal reaches', async () => {
    for (const id of ['gw-a', 'gw-b', 'gw-c']) await register(id);
    await register('gw-t', 'tst-02');
    const first = await api('GET', '/devices?limit=2');
    expect((first.body.devices as Json[]).map((d) => d.id)).toEqual(['gw-a', 'gw-b']);
    const second = await api('GET', `/devices?limit=2&cursor=${String(first.body.nextCursor)}`);
    expect((second.body.devices as Json[]).map((d) => d.id)).toEqual(['gw-c', 'gw-t']);
    expect(second.body.nextCursor).toBeNull();
    expect(((await api('GET', '/devices?siteId=tst-02')).body.devices as Json[]).map((d) => d.id)).toEqual(['gw-t']);
    expect(((await api('GET', '/devices', undefined, tstManager)).body.devices as Json[]).map((d) => d.id)).toEqual(['gw-t']);
    const bad = await api('GET', '/devices?cursor=nonsense');
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual([{ in: 'querystring', field: 'cursor', message: expect.any(String) }]);
  });

  it('renames a device and moves it to another site, audited, and pushes the new site\'s config', async () => {
    await register('gw-1');
    const renamed = await api('PATCH', '/devices/gw-1', { name: 'Front door' });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expect(renamed.body).toMatchObject({ changed: ['name'], device: { id: 'gw-1', name: 'Front door', siteId: 'mk-01', enabled: true } });

    const nowhere = await api('PATCH', '/devices/gw-1', { siteId: 'nowhere-9' });
    expect(nowhere.status).toBe(400);
    expect(nowhere.body.issues).toEqual([{ in: 'body', field: 'siteId', message: 'site nowhere-9 does not exist' }]);

    const moved = await api('PATCH', '/devices/gw-1', { siteId: 'tst-02', name: null });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body).toMatchObject({ changed: ['name', 'siteId'], device: { siteId: 'tst-02', name: null } });
    expect((await dashboard.devices.get('gw-1'))?.siteId).toBe('tst-02');
    // The config push publishes the new site's config within seconds.
    await waitFor('the config of the new site', async () => {
      const row = await dashboard.db.get<{ body: string }>('SELECT body FROM device_configs WHERE device_id = ?', ['gw-1']);
      return row !== undefined && (JSON.parse(row.body) as { site: { id: string } }).site.id === 'tst-02';
    });

    // Nothing changed: nothing audited.
    expect((await api('PATCH', '/devices/gw-1', { siteId: 'tst-02' })).body).toMatchObject({ changed: [] });
    const audit = await auditOf('gw-1');
    expect(audit.map((entry) => entry.action)).toEqual(['device.register', 'device.rename', 'device.rename', 'device.assign-site']);
    expect(audit[1]).toMatchObject({ actor: { kind: 'token' }, before: { name: 'Gateway gw-1' }, after: { name: 'Front door' } });
    expect(audit[3]).toMatchObject({ before: { siteId: 'mk-01' }, after: { siteId: 'tst-02' } });

    // The manager of the old site no longer reaches it; the new site's manager does.
    expect((await api('GET', '/devices/gw-1', undefined, mkManager)).status).toBe(404);
    expect((await api('GET', '/devices/gw-1', undefined, tstManager)).status).toBe(200);
  });

  it('validates changes field by field, and checks who may make them', async () => {
    await register('gw-1');
    const empty = await api('PATCH', '/devices/gw-1', {});
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatch(/change at least one of name, siteId, enabled/);
    const bad = await api('PATCH', '/devices/gw-1', { name: '', enabled: 'no', colour: 'red' });
    expect(bad.status).toBe(400);
    expect((bad.body.issues as Array<{ field: string }>).map((issue) => issue.field).sort()).toEqual(['colour', 'enabled', 'name']);
    const reason = await api('PATCH', '/devices/gw-1', { name: 'x', reason: 'because' });
    expect(reason.body.issues).toEqual([{ in: 'body', field: 'reason', message: 'a reason goes with enabled: false' }]);
    expect((await api('PATCH', '/devices/gw-404', { name: 'x' })).status).toBe(404);
    expect((await api('PATCH', '/devices/gw-1', { name: 'x' }, hr)).status).toBe(403);
    expect((await api('GET', '/devices/gw-1', undefined, tstManager)).status).toBe(404);
    expect((await api('GET', '/devices/not a device')).status).toBe(400);
  });

  it('disables a device: its connection is closed, its logins refused, its punches refused with the reason in the ack; enabling restores it', async () => {
    const credentials = await register('gw-1');
    const client = await connectAs(credentials);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));

    const disabled = await api('PATCH', '/devices/gw-1', { enabled: false, reason: 'stolen from the shop' });
    expect(disabled.status, JSON.stringify(disabled.body)).toBe(200);
    expect(disabled.body).toMatchObject({ changed: ['enabled'], device: { enabled: false, disabledAt: expect.any(String), disabledReason: 'stolen from the shop' } });
    await closed;
    await expect(connectAs(credentials)).rejects.toThrow(/Not authorized/i);
    // A wrong secret is still just a wrong secret: nobody learns the device is disabled.
    await expect(connectAs({ ...credentials, password: 'wrong' })).rejects.toThrow(/Bad username or password/i);

    // Through another way in (an external broker would not ask the dashboard): ingest refuses.
    // Simulated by a connection made before the disable reached the broker.
    await api('PATCH', '/devices/gw-1', { enabled: true });
    const again = await connectAs(credentials);
    await dashboard.db.transaction(() => dashboard.devices.updateInTransaction('gw-1', { disabled: { at: new Date().toISOString(), reason: 'stolen from the shop' } }));
    const acks: PunchAck[] = [];
    again.on('message', (topic, payload) => {
      if (topic === deviceTopic('gw-1', 'acks')) acks.push(PunchAck.parse(JSON.parse(payload.toString())));
    });
    await again.subscribeAsync(deviceTopic('gw-1', 'acks'), { qos: 1 });
    const refused = testPunch({ deviceId: 'gw-1', seq: 1 });
    await again.publishAsync(deviceTopic('gw-1', 'punches'), JSON.stringify({ batchId: newBatchId(), deviceId: 'gw-1', punches: [refused] }), { qos: 1 });
    await waitFor('the ack', () => acks.length === 1);
    expect(acks[0]?.accepted).toEqual([]);
    expect(acks[0]?.rejected).toEqual([{ id: refused.id, reason: expect.stringMatching(/^device gw-1 is disabled in the console since .+ \(stolen from the shop\): its punches are refused until it is enabled again$/) }]);
    expect(await dashboard.punches.get(refused.id)).toBeUndefined();

    // Enabled again: punches are stored.
    const enabled = await api('PATCH', '/devices/gw-1', { enabled: true });
    expect(enabled.body).toMatchObject({ changed: ['enabled'], device: { enabled: true, disabledAt: null, disabledReason: null } });
    const accepted = testPunch({ deviceId: 'gw-1', seq: 2 });
    await again.publishAsync(deviceTopic('gw-1', 'punches'), JSON.stringify({ batchId: newBatchId(), deviceId: 'gw-1', punches: [accepted] }), { qos: 1 });
    await waitFor('the second ack', () => acks.length === 2);
    expect(acks[1]?.accepted).toEqual([accepted.id]);
    expect(await dashboard.punches.get(accepted.id)).toMatchObject({ id: accepted.id });

    const audit = await auditOf('gw-1');
    expect(audit.map((entry) => entry.action)).toEqual(['device.register', 'device.disable', 'device.enable', 'device.enable']);
    expect(audit[1]).toMatchObject({
      before: { enabled: true, disabledAt: null, disabledReason: null },
      after: { enabled: false, disabledAt: expect.any(String), disabledReason: 'stolen from the shop' },
    });
  });

  it('shows a device\'s live state from its status and the config push', async () => {
    const credentials = await register('gw-1');
    const never = await api('GET', '/devices/gw-1');
    expect(never.status).toBe(200);
    expect(never.body.live).toMatchObject({ connection: 'never-connected', lastSeen: null, softwareVersion: null, attention: ['never-connected'] });

    const client = await connectAs(credentials, {
      will: { topic: deviceTopic('gw-1', 'status'), payload: Buffer.from(JSON.stringify({ online: false })), qos: 1, retain: true },
    });
    await waitFor('a config pushed', async () => (await dashboard.configs.published('gw-1')) !== undefined, 5000);
    const requested = (await dashboard.configs.published('gw-1'))?.version as number;
    const oldest = new Date(Date.now() - 30 * 60_000).toISOString();
    const status: DeviceStatus = {
      online: true,
      version: '0.1.0',
      configVersion: requested - 1,
      backlog: 7,
      oldestPendingAt: oldest,
      rejected: 1,
      clock: { synced: false, source: 'rtc' },
      readers: [
        { id: 'door', protocol: 'em4100-ascii', state: 'ready' },
        { id: 'back', protocol: 'pn532', state: 'disconnected', detail: 'ENOENT /dev/ttyUSB1' },
      ],
      presence: {
        scanner: { state: 'scanning' },
        advertiser: { state: 'unavailable', reason: 'BLE unavailable: no adapter' },
        wifi: { state: 'not-configured', reason: 'the site lists no expected Wi-Fi BSSIDs' },
        handsFree: { enabled: false, clockedIn: 0 },
      },
      alarms: ['tamper'],
    };
    await client.publishAsync(deviceTopic('gw-1', 'status'), JSON.stringify(status), { qos: 1, retain: true });
    await waitFor('the status', async () => (await dashboard.devices.get('gw-1'))?.status?.backlog === 7);

    const live = (await api('GET', '/devices/gw-1')).body.live as Json;
    expect(live).toMatchObject({
      connection: 'online',
      lastSeen: expect.any(String),
      softwareVersion: '0.1.0',
      backlog: { pending: 7, oldestPendingAt: oldest, rejected: 1 },
      clock: { synced: false, source: 'rtc' },
      config: { requested, applied: requested - 1, pending: true, error: null },
      health: {
        readers: { level: 'degraded', state: 'partly-ready', reason: 'back: disconnected (ENOENT /dev/ttyUSB1)' },
        bleScanner: { level: 'ok', state: 'scanning' },
        bleAdvertiser: { level: 'degraded', state: 'unavailable', reason: 'BLE unavailable: no adapter' },
        wifi: { level: 'off', state: 'not-configured' },
        handsFree: { enabled: false, clockedIn: 0 },
      },
      alarms: ['tamper'],
      attention: ['backlog', 'behind', 'clock-unsynced', 'config-pending', 'reader-fault', 'alarm'],
    });
    expect((live.backlog as { behindSeconds: number }).behindSeconds).toBeGreaterThanOrEqual(30 * 60 - 5);
    // A tighter threshold is the caller's choice; a looser one leaves 'behind' out.
    expect(((await api('GET', '/devices/gw-1?behindMinutes=60')).body.live as Json).attention).not.toContain('behind');

    // Applied, caught up, clock synced, readers fixed: nothing wants attention.
    await client.publishAsync(
      deviceTopic('gw-1', 'status'),
      JSON.stringify({ ...status, configVersion: requested, backlog: 0, oldestPendingAt: undefined, clock: { synced: true, source: 'ntp' }, readers: [status.readers?.[0]], alarms: [] }),
      { qos: 1, retain: true },
    );
    await waitFor('the second status', async () => (await dashboard.devices.get('gw-1'))?.status?.backlog === 0);
    expect((await api('GET', '/devices/gw-1')).body.live).toMatchObject({ config: { pending: false, applied: requested }, attention: [], health: { readers: { level: 'ok' } } });

    // Gone: the will says offline.
    client.stream.destroy();
    await waitFor('offline', async () => (await dashboard.devices.get('gw-1'))?.online === false, 10_000);
    expect((await api('GET', '/devices/gw-1')).body.live).toMatchObject({ connection: 'offline', attention: ['offline'] });
    await sleep(0);
  });
});
