import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newBatchId } from '../../core/ids.js';
import { PunchAck } from '../../core/messages.js';
import type { Punch } from '../../core/punch.js';
import { deviceTopic } from '../../core/topics.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { testPunch } from '../support/punch-fixture.js';
import { testLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';


const punch = (deviceId: string, overrides: Partial<Punch> = {}): Punch => testPunch({ deviceId, ...overrides });

describe('dashboard: embedded broker, ingest with acks, device registry, REST', () => {
  let dir: string;
  let dashboard: Dashboard;
  const clients: MqttClient[] = [];

  const api = (route: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${dashboard.url}/api/v1${route}`, { ...init, headers: { authorization: `Bearer ${dashboard.apiToken}`, 'content-type': 'application/json', ...init.headers } });

  async function enrol(id: string): Promise<string> {
    const response = await api('/devices', { method: 'POST', body: JSON.stringify({ id, siteId: 'mk-01', name: `Gateway ${id}` }) });
    expect(response.status).toBe(201);
    return ((await response.json()) as { secret: string }).secret;
  }

  async function connectAs(id: string, secret: string, clientId = id): Promise<MqttClient> {
    const client = await mqtt.connectAsync(dashboard.brokerUrl, { clientId, username: id, password: secret, reconnectPeriod: 0 });
    clients.push(client);
    return client;
  }

  /** Publishes a payload on a device's punch topic and collects what comes back on its acks topic. */
  async function exchange(client: MqttClient, deviceId: string, payload: string | Buffer): Promise<PunchAck[]> {
    const acks: PunchAck[] = [];
    client.on('message', (topic, message) => {
      if (topic === deviceTopic(deviceId, 'acks')) acks.push(PunchAck.parse(JSON.parse(message.toString())));
    });
    await client.subscribeAsync(deviceTopic(deviceId, 'acks'), { qos: 1 });
    await client.publishAsync(deviceTopic(deviceId, 'punches'), payload, { qos: 1 });
    return acks;
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-dash-'));
    dashboard = await startDashboard(DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } }), testLogger());
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true).catch(() => undefined);
    await dashboard.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores a batch once and acknowledges it after the commit, also when it arrives twice', async () => {
    const secret = await enrol('gw-a');
    const client = await connectAs('gw-a', secret);
    const punches = [punch('gw-a', { seq: 1 }), punch('gw-a', { seq: 2, direction: 'out' })];
    const batch = JSON.stringify({ batchId: newBatchId(), deviceId: 'gw-a', punches });
    const acks = await exchange(client, 'gw-a', batch);
    await waitFor('the ack', () => acks.length === 1);
    expect(acks[0]?.accepted.sort()).toEqual(punches.map((item) => item.id).sort());
    expect(acks[0]?.rejected).toEqual([]);
    expect(await dashboard.punches.count()).toBe(2);

    await client.publishAsync(deviceTopic('gw-a', 'punches'), batch, { qos: 1 });
    await waitFor('the second ack', () => acks.length === 2);
    expect(acks[1]?.accepted.sort()).toEqual(punches.map((item) => item.id).sort());
    expect(await dashboard.punches.count()).toBe(2);
  });

  it('rejects bad punches by id with a reason and keeps the good ones of the same batch', async () => {
    const client = await connectAs('gw-a', await enrol('gw-a'));
    const good = punch('gw-a');
    const foreign = punch('gw-b');
    const broken = { ...punch('gw-a'), at: 'yesterday' };
    const acks = await exchange(client, 'gw-a', JSON.stringify({ batchId: newBatchId(), deviceId: 'gw-a', punches: [good, foreign, broken] }));
    await waitFor('the ack', () => acks.length === 1);
    expect(acks[0]?.accepted).toEqual([good.id]);
    expect(acks[0]?.rejected).toEqual([
      { id: foreign.id, reason: 'punch is from device gw-b, not gw-a' },
      { id: broken.id, reason: expect.stringMatching(/^at: /) },
    ]);
    expect(await dashboard.punches.count()).toBe(1);
  });

  it('drops malformed messages without an ack and goes on ingesting', async () => {
    const client = await connectAs('gw-a', await enrol('gw-a'));
    const acks = await exchange(client, 'gw-a', '{"batchId": nope');
    await client.publishAsync(deviceTopic('gw-a', 'punches'), JSON.stringify({ deviceId: 'gw-a', punches: [] }), { qos: 1 });
    const good = punch('gw-a');
    await client.publishAsync(deviceTopic('gw-a', 'punches'), JSON.stringify({ batchId: newBatchId(), deviceId: 'gw-a', punches: [good] }), { qos: 1 });
    await waitFor('the ack of the good batch', () => acks.length === 1);
    expect(acks[0]?.accepted).toEqual([good.id]);
    expect(dashboard.ingest.counters).toMatchObject({ malformed: 2, batches: 1, accepted: 1 });
  });

  it('refuses a batch claiming another device on this device topic', async () => {
    const client = await connectAs('gw-a', await enrol('gw-a'));
    const spoofed = punch('gw-b');
    const acks = await exchange(client, 'gw-a', JSON.stringify({ batchId: newBatchId(), deviceId: 'gw-b', punches: [spoofed] }));
    await waitFor('the ack', () => acks.length === 1);
    expect(acks[0]?.accepted).toEqual([]);
    expect(acks[0]?.rejected[0]?.reason).toMatch(/batch is from device gw-b but was published on device gw-a's topic/);
    expect(await dashboard.punches.count()).toBe(0);
  });

  it("keeps device A out of device B's topics", async () => {
    const a = await connectAs('gw-a', await enrol('gw-a'));
    const b = await connectAs('gw-b', await enrol('gw-b'));
    const seenByA: string[] = [];
    a.on('message', (topic) => seenByA.push(topic));
    // The broker answers SUBACK 0x80 (refused); mqtt.js turns that into a rejection.
    for (const topic of [deviceTopic('gw-b', 'acks'), deviceTopic('gw-b', 'config'), 'punchgate/v1/devices/+/acks', '#', deviceTopic('gw-a', 'punches')]) {
      await expect(a.subscribeAsync(topic, { qos: 1 }), topic).rejects.toThrow(/Subscribe error/);
    }
    expect(await a.subscribeAsync(deviceTopic('gw-a', 'config'), { qos: 1 })).toEqual([{ topic: deviceTopic('gw-a', 'config'), qos: 1 }]);

    // A's publish on B's topic is refused by the broker; Aedes closes A's connection for it.
    a.publish(deviceTopic('gw-b', 'punches'), JSON.stringify({ batchId: newBatchId(), deviceId: 'gw-b', punches: [punch('gw-b')] }), { qos: 1 });
    await sleep(300);
    expect(await dashboard.punches.count()).toBe(0);

    const acksForB = await exchange(b, 'gw-b', JSON.stringify({ batchId: newBatchId(), deviceId: 'gw-b', punches: [punch('gw-b')] }));
    await waitFor("B's own ack", () => acksForB.length === 1);
    expect(seenByA).toEqual([]);
  });

  it('refuses wrong secrets, unknown devices and a client id that is not the device id', async () => {
    const secret = await enrol('gw-a');
    await expect(mqtt.connectAsync(dashboard.brokerUrl, { clientId: 'gw-a', username: 'gw-a', password: 'wrong', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/i);
    await expect(mqtt.connectAsync(dashboard.brokerUrl, { clientId: 'gw-z', username: 'gw-z', password: secret, reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/i);
    await expect(mqtt.connectAsync(dashboard.brokerUrl, { clientId: 'gw-other', username: 'gw-a', password: secret, reconnectPeriod: 0 })).rejects.toThrow(/Not authorized/i);
    await expect(mqtt.connectAsync(dashboard.brokerUrl, { clientId: 'x', username: '$dashboard', password: secret, reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/i);
  });

  it('tracks devices from their retained status and last will', async () => {
    const secret = await enrol('gw-a');
    const client = await mqtt.connectAsync(dashboard.brokerUrl, {
      clientId: 'gw-a',
      username: 'gw-a',
      password: secret,
      reconnectPeriod: 0,
      will: { topic: deviceTopic('gw-a', 'status'), payload: Buffer.from(JSON.stringify({ online: false })), qos: 1, retain: true },
    });
    clients.push(client);
    await client.publishAsync(deviceTopic('gw-a', 'status'), JSON.stringify({ online: true, version: '0.1.0', backlog: 12, configVersion: 3 }), { qos: 1, retain: true });
    await waitFor('online', async () => (await dashboard.devices.get('gw-a'))?.online === true);
    expect((await dashboard.devices.get('gw-a'))?.status).toMatchObject({ backlog: 12, configVersion: 3 });

    client.stream.destroy();
    await waitFor('the will', async () => (await dashboard.devices.get('gw-a'))?.online === false, 10_000);
    // The bare will keeps what the last full status said: how far behind the terminal went offline.
    expect((await dashboard.devices.get('gw-a'))?.status).toEqual({ online: false, version: '0.1.0', backlog: 12, configVersion: 3 });
  });

  it('serves punches with filters and paging, and devices, only with the token', async () => {
    const client = await connectAs('gw-a', await enrol('gw-a'));
    const base = Date.parse('2026-11-23T01:00:00.000Z');
    const punches = Array.from({ length: 5 }, (_, index) =>
      punch('gw-a', { seq: index + 1, at: new Date(base + index * 60_000).toISOString(), employeeId: index % 2 === 0 ? 'E001' : 'E002' }),
    );
    const acks = await exchange(client, 'gw-a', JSON.stringify({ batchId: newBatchId(), deviceId: 'gw-a', punches }));
    await waitFor('the ack', () => acks.length === 1);

    const first = (await (await api('/punches?limit=2')).json()) as { punches: Punch[]; nextCursor: string | null };
    expect(first.punches.map((item) => item.seq)).toEqual([5, 4]);
    const second = (await (await api(`/punches?limit=2&cursor=${first.nextCursor}`)).json()) as { punches: Punch[]; nextCursor: string | null };
    expect(second.punches.map((item) => item.seq)).toEqual([3, 2]);
    const third = (await (await api(`/punches?limit=2&cursor=${second.nextCursor}`)).json()) as { punches: Punch[]; nextCursor: string | null };
    expect(third).toMatchObject({ nextCursor: null });
    expect(third.punches.map((item) => item.seq)).toEqual([1]);

    const filtered = (await (await api('/punches?employeeId=E002&from=2026-11-23T01:00:00.000Z&to=2026-11-23T01:02:00.000Z')).json()) as { punches: Punch[] };
    expect(filtered.punches.map((item) => item.seq)).toEqual([2]);
    expect((await api('/punches?deviceId=gw-b')).status).toBe(200);
    expect((await api('/punches?from=yesterday')).status).toBe(400);
    expect((await api('/punches?cursor=garbage')).status).toBe(400);
    expect((await fetch(`${dashboard.url}/api/v1/punches`)).status).toBe(401);
    expect((await fetch(`${dashboard.url}/api/v1/devices`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);

    const devices = (await (await api('/devices')).json()) as { devices: Array<{ id: string; lastSeen: string | null }> };
    expect(devices.devices).toEqual([expect.objectContaining({ id: 'gw-a', lastSeen: expect.any(String) })]);
    expect((await api('/devices', { method: 'POST', body: JSON.stringify({ id: 'gw-a', siteId: 'mk-01' }) })).status).toBe(409);
    expect((await api('/devices', { method: 'POST', body: JSON.stringify({ id: 'bad/id', siteId: 'mk-01' }) })).status).toBe(400);
  });
});
