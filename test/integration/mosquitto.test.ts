import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Feedback } from '../../core/feedback.js';
import { deviceTopic, TOPIC_PREFIX } from '../../core/topics.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { hashDeviceSecret, newDeviceSecret } from '../../provisioning/device-secrets.js';
import { mosquittoAclFile } from '../../provisioning/mosquitto.js';
import { testLogger } from '../support/logger.js';
import { MosquittoBroker } from '../support/mosquitto.js';
import { PtyPair } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';

const dashboardPassword = newDeviceSecret();
const secrets = { 'gw-a': newDeviceSecret(), 'gw-b': newDeviceSecret(), 'gw-1': newDeviceSecret(), 'gw-2': newDeviceSecret() };

describe('Mosquitto with the ACL provisioning writes', () => {
  let broker: MosquittoBroker;
  const clients: MqttClient[] = [];

  async function connect(username: string, password: string, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(broker.url, { clientId: username, username, password, protocolVersion: 4, reconnectPeriod: 0, clean: true, ...extra });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    broker = await MosquittoBroker.start({ acl: mosquittoAclFile({ dashboardUsername: 'dashboard' }), users: { dashboard: dashboardPassword, ...secrets } });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('refuses a wrong password and anonymous clients', async () => {
    await expect(mqtt.connectAsync(broker.url, { clientId: 'gw-a', username: 'gw-a', password: secrets['gw-b'], reconnectPeriod: 0 })).rejects.toThrow(/Not authorized|Bad username or password/i);
    await expect(mqtt.connectAsync(broker.url, { clientId: 'anon', reconnectPeriod: 0 })).rejects.toThrow(/Not authorized|Bad username or password/i);
  });

  it("keeps device A to its own topics: nothing it publishes under B's arrives, and it cannot read B's", async () => {
    const watcher = await connect('dashboard', dashboardPassword, { clientId: 'watcher' });
    const seen: { topic: string; payload: string }[] = [];
    watcher.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    await watcher.subscribeAsync({ [`${TOPIC_PREFIX}/devices/#`]: { qos: 1 } });

    const a = await connect('gw-a', secrets['gw-a']);
    const b = await connect('gw-b', secrets['gw-b']);
    const aGot: string[] = [];
    const bGot: string[] = [];
    a.on('message', (topic) => aGot.push(topic));
    b.on('message', (topic) => bGot.push(topic));

    // A's subscriptions: its own acks granted. B's acks and config, and a wildcard over every
    // device, are either refused (SUBACK 0x80) or, as Mosquitto 2.0 does for an ACL `read` miss,
    // granted but never delivered: checked below by what actually reaches A.
    const granted = await a.subscribeAsync({
      [deviceTopic('gw-a', 'acks')]: { qos: 1 },
      [deviceTopic('gw-b', 'acks')]: { qos: 1 },
      [deviceTopic('gw-b', 'config')]: { qos: 1 },
      [`${TOPIC_PREFIX}/devices/+/acks`]: { qos: 1 },
    });
    expect(granted.find((grant) => grant.topic === deviceTopic('gw-a', 'acks'))?.qos).toBe(1);
    await b.subscribeAsync({ [deviceTopic('gw-b', 'acks')]: { qos: 1 } });

    // A publishes as B (Mosquitto acks and drops them for MQTT 3.1.1), then on its own topic;
    // one connection delivers in order, so once A's own punch arrives the forged ones would have.
    for (const channel of ['punches', 'status', 'telemetry', 'acks'] as const) {
      await a.publishAsync(deviceTopic('gw-b', channel), `forged-${channel}`, { qos: 1 });
    }
    // A may not write to its own inbound channels either (only the dashboard does).
    await a.publishAsync(deviceTopic('gw-a', 'config'), 'self-config', { qos: 1 });
    await a.publishAsync(deviceTopic('gw-a', 'punches'), 'own-punch', { qos: 1 });
    await waitFor("A's own punch at the dashboard", () => seen.some((message) => message.payload === 'own-punch'));
    expect(seen).toEqual([{ topic: deviceTopic('gw-a', 'punches'), payload: 'own-punch' }]);

    // The dashboard writes to both devices' acks: only each device's own reaches it.
    await watcher.publishAsync(deviceTopic('gw-b', 'config'), 'config-for-b', { qos: 1, retain: true });
    await watcher.publishAsync(deviceTopic('gw-b', 'acks'), 'ack-for-b', { qos: 1 });
    await watcher.publishAsync(deviceTopic('gw-a', 'acks'), 'ack-for-a', { qos: 1 });
    await waitFor('A to get its own ack', () => aGot.includes(deviceTopic('gw-a', 'acks')));
    await waitFor('B to get its ack', () => bGot.includes(deviceTopic('gw-b', 'acks')));
    await sleep(100);
    expect(aGot).toEqual([deviceTopic('gw-a', 'acks')]);
    expect(bGot).toEqual([deviceTopic('gw-b', 'acks')]);
  });

  describe('end to end: gateway -> Mosquitto -> dashboard (external mode), and config back', () => {
    let dir: string;
    let pair: PtyPair;
    let link: SerialLink;
    let device: BridgeDeviceSimulator;
    let dashboard: Dashboard;
    let gateway: Gateway;
    const feedback: Feedback[] = [];

    afterEach(async () => {
      await device?.stop();
      await link?.stop();
      await gateway?.stop();
      await dashboard?.stop();
      await pair?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it.each([
      // A device each: the broker (and its retained config) outlives one case.
      { name: 'a plain subscription (MQTT 3.1.1)', deviceId: 'gw-1' as const, group: undefined },
      { name: 'a shared subscription (MQTT v5 $share/ingest/...)', deviceId: 'gw-2' as const, group: 'ingest' },
    ])('delivers a tap to the central database, acks it at the gateway, and applies a pushed config, with $name', async ({ deviceId, group }) => {
      feedback.length = 0;
      dir = await mkdtemp(path.join(tmpdir(), 'punchgate-mosq-e2e-'));
      dashboard = await startDashboard(
        DashboardConfig.parse({
          dataDir: path.join(dir, 'dashboard'),
          apiToken: 'test-token-0123456789',
          http: { port: 0 },
          mqtt: { mode: 'external', url: broker.url, username: 'dashboard', password: dashboardPassword, ...(group ? { sharedSubscriptionGroup: group } : {}) },
          log: { level: 'silent' },
        }),
        testLogger(),
      );
      expect(dashboard.brokerUrl).toBe(broker.url);
      if (group) await waitFor('the shared subscription at Mosquitto', async () => (await broker.log()).includes(`$share/${group}/${TOPIC_PREFIX}/devices/+/punches`));
      await dashboard.devices.register({ id: deviceId, siteId: 'mk-01', secretHash: await hashDeviceSecret(secrets[deviceId]), createdAt: new Date().toISOString() });
      pair = await PtyPair.create(path.join(dir, 'pty'));
      gateway = await startGateway(
        GatewayConfig.parse({
          deviceId,
          siteId: 'mk-01',
          dataDir: path.join(dir, 'gateway'),
          readers: [{ id: 'door', path: pair.a, protocol: 'punchgate' }],
          http: { port: 0 },
          mqtt: { url: broker.url, username: deviceId, password: secrets[deviceId], batch: { ackTimeoutSeconds: 1 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.3 } },
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

      const published = await dashboard.configs.publish(deviceId, {
        site: { id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong' },
        roster: [{ credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man' }],
      });
      expect(published.version).toBe(1);
      await waitFor('the pushed config at the gateway', async () => (await gateway.health()).config.version === 1);

      await device.tap({ kind: 'em4100', uid: '62E3086CED' });
      await waitFor('feedback', () => feedback.length === 1);
      expect(feedback[0]?.kind).toBe('accepted');
      await waitFor('the punch centrally', async () => (await dashboard.punches.count()) === 1);
      await waitFor('the ack at the gateway', async () => (await gateway.store.outbox.counts()).acked === 1);
      const [central] = (await dashboard.punches.query({ limit: 10 })).punches;
      const [local] = await gateway.store.outbox.recent(1);
      expect(central).toEqual(local);
      expect(central?.employeeId).toBe('E001');
      await waitFor('the registry to show the config version', async () => (await dashboard.devices.get(deviceId))?.status?.configVersion === 1);
    });
  });
});
