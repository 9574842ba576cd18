import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Feedback } from '../../core/feedback.js';
import { deviceTopic } from '../../core/topics.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { hashDeviceSecret, newDeviceSecret } from '../../provisioning/device-secrets.js';
import { testLogger } from '../support/logger.js';
import { PtyPair } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';

const roster = [
  { credential: { kind: 'em4100' as const, uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man' },
  { credential: { kind: 'mifare' as const, uid: '04A1B2C3D4E5F6' }, employeeId: 'E002', name: 'Wong Siu Ming' },
];

describe('store-and-forward: gateway -> MQTT -> dashboard, and config back', () => {
  let dir: string;
  let pair: PtyPair;
  let link: SerialLink;
  let device: BridgeDeviceSimulator;
  let dashboard: Dashboard;
  let gateway: Gateway;
  const feedback: Feedback[] = [];

  const dashboardConfig = (mqttPort = 0): DashboardConfig =>
    DashboardConfig.parse({ dataDir: path.join(dir, 'dashboard'), apiToken: 'test-token-0123456789', http: { port: 0 }, mqtt: { mode: 'embedded', port: mqttPort } });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-saf-'));
    feedback.length = 0;
    dashboard = await startDashboard(dashboardConfig(), testLogger());
    const secret = newDeviceSecret();
    await dashboard.devices.register({ id: 'gw-1', siteId: 'mk-01', secretHash: await hashDeviceSecret(secret), createdAt: new Date().toISOString() });
    pair = await PtyPair.create(path.join(dir, 'pty'));
    gateway = await startGateway(
      GatewayConfig.parse({
        deviceId: 'gw-1',
        siteId: 'mk-01',
        dataDir: path.join(dir, 'gateway'),
        readers: [{ id: 'door', path: pair.a, protocol: 'punchgate' }],
        http: { port: 0 },
        mqtt: { url: dashboard.brokerUrl, password: secret, batch: { ackTimeoutSeconds: 1 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.3 } },
        clock: { syncCommand: null },
      }),
      testLogger(),
      { readerRetryMs: { min: 20, max: 200 } },
    );
    link = new SerialLink({ path: pair.b, baudRate: 115200, logger: testLogger() });
    await link.start();
    device = new BridgeDeviceSimulator({ port: link });
    device.on('feedback', (item) => feedback.push(item));
    await device.start();
    await waitFor('the reader', () => gateway.readers[0]?.status().state === 'ready' && gateway.readers[0].status().firmware !== undefined);
  });

  afterEach(async () => {
    await device.stop();
    await link.stop();
    await gateway.stop();
    await dashboard.stop();
    await pair.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers taps to the central database once, marks them acked at the gateway, and applies pushed config', async () => {
    const published = await dashboard.configs.publish('gw-1', { site: { id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong' }, roster });
    expect(published.version).toBe(1);
    await waitFor('the pushed config', async () => (await gateway.health()).config.version === 1);

    await device.tap({ kind: 'em4100', uid: '62E3086CED' });
    await waitFor('feedback', () => feedback.length === 1);
    expect(feedback[0]?.kind).toBe('accepted');
    await waitFor('the punch centrally', async () => (await dashboard.punches.count()) === 1);
    await waitFor('the ack at the gateway', async () => (await gateway.store.outbox.counts()).acked === 1);
    const [central] = (await dashboard.punches.query({ limit: 10 })).punches;
    const [local] = await gateway.store.outbox.recent(1);
    expect(central).toEqual(local);
    expect(central?.employeeId).toBe('E001');

    await waitFor('the registry to show the config version', async () => (await dashboard.devices.get('gw-1'))?.status?.configVersion === 1);
  });

  it('refuses a bad pushed config and keeps the last good one running', async () => {
    await dashboard.configs.publish('gw-1', { site: { id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong' }, roster });
    await waitFor('v1', async () => (await gateway.health()).config.version === 1);

    const bad = JSON.stringify({ version: 2, issuedAt: new Date().toISOString(), deviceId: 'gw-1', site: { id: 'mk-01', name: 'Mong Kok', timeZone: 'Mars/Olympus' }, roster: [] });
    await dashboard.mqtt.publishAsync(deviceTopic('gw-1', 'config'), bad, { qos: 1, retain: true });
    await waitFor('the refusal', async () => (await gateway.health()).config.error !== null);
    const health = await gateway.health();
    expect(health.config).toEqual({ version: 1, error: expect.stringMatching(/site\.timeZone/) });
    expect(health.roster.entries).toBe(2);
    await waitFor('configError at the dashboard', async () => /site\.timeZone/.test((await dashboard.devices.get('gw-1'))?.status?.configError ?? ''));

    await device.tap({ kind: 'mifare', uid: '04A1B2C3D4E5F6' });
    await waitFor('feedback', () => feedback.length === 1);
    expect(feedback[0]?.kind).toBe('accepted');
  });

  it('sends commands to the gateway over MQTT and returns its reply', async () => {
    const command = (id: string, body: unknown): Promise<Response> =>
      fetch(`${dashboard.url}/api/v1/devices/${id}/commands`, {
        method: 'POST',
        headers: { authorization: 'Bearer test-token-0123456789', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await waitFor('the uplink', () => gateway.uplink?.connected);

    const identify = await command('gw-1', { command: 'identify', waitSeconds: 10 });
    expect(identify.status).toBe(200);
    expect(await identify.json()).toMatchObject({ reply: { ok: true, result: { readers: 1, acknowledged: 1 } } });
    expect(feedback.map((item) => item.kind)).toContain('identify');

    const resync = await command('gw-1', { command: 'resync' });
    expect(resync.status).toBe(200);
    expect(await resync.json()).toMatchObject({ reply: { ok: true, result: { pending: 0 } } });

    const reload = await command('gw-1', { command: 'reload' });
    expect(await reload.json()).toMatchObject({ reply: { ok: false, error: expect.stringMatching(/no rosterFile/) } });

    expect((await command('gw-9', { command: 'identify' })).status).toBe(404);
    expect((await command('gw-1', { command: 'reboot' })).status).toBe(400);
  });

  it('keeps recording while the dashboard is down and delivers everything after it returns', async () => {
    const port = Number(new URL(dashboard.brokerUrl).port);
    await dashboard.stop();
    for (const uid of ['11111111', '22222222', '33333333']) {
      await device.tap({ kind: 'mifare', uid });
      await waitFor(`feedback for ${uid}`, () => feedback.some((item) => item.kind === 'unknown') && feedback.length >= 1);
    }
    await waitFor('three feedbacks', () => feedback.length === 3);
    expect((await gateway.store.outbox.counts()).pending).toBe(3);

    dashboard = await startDashboard(dashboardConfig(port), testLogger());
    await waitFor('all three centrally', async () => (await dashboard.punches.count()) === 3, 15_000);
    await waitFor('all three acked', async () => (await gateway.store.outbox.counts()).acked === 3, 15_000);
  });
});
