import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Feedback } from '../../core/feedback.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { hashDeviceSecret, newDeviceSecret } from '../../provisioning/device-secrets.js';
import { nobleWithFakeBinding, recordedFrames, type FakeNobleBinding } from '../support/fake-noble-binding.js';
import { testLogger } from '../support/logger.js';
import { scrape, samplesOf, valueOf, type MetricFamily } from '../support/prometheus-text.js';
import { PtyPair } from '../support/pty-pair.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

/**
 * Prometheus metrics end to end (docs/metrics.md): a real dashboard (embedded Aedes broker,
 * SQLite, HTTP on a real port), a real gateway connected to it through a TCP proxy that can break
 * the link, a bridge reader on a real pty tapping badges, noble over a fake binding hearing BLE
 * adverts. Both /metrics are scraped with real HTTP requests (fetch) and the answers parsed as
 * the Prometheus text format (test/support/prometheus-text.ts), never matched line by line.
 */

const STAFF_TAG = 'E2C56DB5DFFB48D2B060D0F5A71096E0000100C8';
const API_TOKEN = 'metrics-test-token-0123456789';
const roster = [
  { credential: { kind: 'mifare' as const, uid: '04A1B2C3' }, employeeId: 'E001', name: 'Chan Tai Man' },
  { credential: { kind: 'mifare' as const, uid: '0A0B0C0D' }, employeeId: 'E003', name: 'Ho Wing Sze', status: 'revoked' as const },
  { credential: { kind: 'ble-tag' as const, uid: STAFF_TAG }, employeeId: 'E001', name: 'Chan Tai Man' },
];

describe('metrics: a real gateway and dashboard, scraped over HTTP', () => {
  let dir: string;
  let dashboard: Dashboard;
  let gateway: Gateway | undefined;
  let proxy: TcpProxy;
  let pair: PtyPair;
  let link: SerialLink | undefined;
  let reader: BridgeDeviceSimulator | undefined;
  let binding: FakeNobleBinding;
  let pinnedVersion: number;
  const feedback: Feedback[] = [];
  const logger = testLogger();

  const gatewayMetrics = (): Promise<Map<string, MetricFamily>> => scrape(`${gateway!.url}/metrics`);
  const dashboardMetrics = (token = API_TOKEN): Promise<Map<string, MetricFamily>> => scrape(`${dashboard.url}/metrics`, { authorization: `Bearer ${token}` });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-metrics-'));
    feedback.length = 0;
    dashboard = await startDashboard(
      DashboardConfig.parse({ dataDir: path.join(dir, 'dashboard'), apiToken: API_TOKEN, http: { host: '127.0.0.1', port: 0 }, mqtt: { mode: 'embedded', host: '127.0.0.1', port: 0 } }),
      logger,
      { onFirstAdmin: () => undefined },
    );
    const broker = new URL(dashboard.brokerUrl);
    proxy = await TcpProxy.start({ host: broker.hostname, port: Number(broker.port) });
    const secret = newDeviceSecret();
    await dashboard.devices.register({ id: 'gw-1', siteId: 'mk-01', secretHash: await hashDeviceSecret(secret), createdAt: new Date().toISOString() });
    // Published whole (pinned), as an integration would: the roster the gateway will run.
    pinnedVersion = (await dashboard.configs.publish('gw-1', { site: { id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong' }, roster, punch: { debounceSeconds: 60 } })).version;

    pair = await PtyPair.create(path.join(dir, 'door'));
    const fake = nobleWithFakeBinding('poweredOn');
    binding = fake.binding;
    gateway = await startGateway(
      GatewayConfig.parse({
        deviceId: 'gw-1',
        siteId: 'mk-01',
        dataDir: path.join(dir, 'gateway'),
        readers: [{ id: 'door', path: pair.a, protocol: 'punchgate' }],
        http: { port: 0 },
        mqtt: { url: proxy.url, password: secret, batch: { ackTimeoutSeconds: 1 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.3 } },
        clock: { syncCommand: null },
        presence: { ble: { scan: true, advertise: false }, wifi: { enabled: false } },
      }),
      logger,
      { readerRetryMs: { min: 20, max: 200 }, uplink: { statusMinIntervalMs: 0 }, presence: { noble: fake.noble } },
    );
    link = new SerialLink({ path: pair.b, baudRate: 115200, logger, minRetryMs: 20, maxRetryMs: 200 });
    await link.start();
    reader = new BridgeDeviceSimulator({ port: link });
    reader.on('feedback', (item) => feedback.push(item));
    await reader.start();
    await waitFor('the reader ready', () => gateway!.readers[0]?.status().state === 'ready');
    await waitFor('the pinned config applied', async () => (await gateway!.health()).config.version === pinnedVersion, 10_000);
    await waitFor('the device online at the dashboard', async () => (await dashboard.devices.get('gw-1'))?.online === true);
  });

  afterEach(async () => {
    await reader?.stop();
    await link?.stop();
    await gateway?.stop();
    gateway = undefined;
    await pair?.close();
    await proxy?.stop();
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function tap(uid: string): Promise<Feedback> {
    const before = feedback.length;
    await reader!.tap({ kind: 'mifare', uid });
    return waitFor(`feedback for ${uid}`, () => feedback[before]);
  }

  it('counts real taps, uploads, acks, reader, BLE, clock and config at the gateway, and ingest, acks, pushes and the fleet at the dashboard', async () => {
    expect((await tap('04A1B2C3')).kind).toBe('accepted');
    expect((await tap('DEADBEEF')).kind).toBe('unknown');
    expect((await tap('0A0B0C0D')).kind).toBe('revoked');
    expect((await tap('04A1B2C3')).kind).toBe('duplicate');
    // BLE: five adverts from the staff tag on the roster, three from a phone that is not (both
    // non-connectable: noble reports each at once, not after a scan response).
    for (let index = 0; index < 5; index += 1) expect(binding.advertise({ address: 'c4:be:84:12:34:56', addressType: 'public', eventType: 3, eir: recordedFrames.STAFF_IBEACON, rssi: -60 })).toBe(true);
    for (let index = 0; index < 3; index += 1) expect(binding.advertise({ address: '5a:11:22:33:44:55', addressType: 'random', eventType: 3, eir: recordedFrames.PHONE_NOISE, rssi: -70 })).toBe(true);
    await waitFor('both punches acknowledged', async () => (await gateway!.health()).outbox.pending === 0 && dashboard.ingest.counters.accepted === 2);
    await waitFor('both acks confirmed by the broker', () => dashboard.ingest.counters.acksPublished === dashboard.ingest.counters.batches);

    const gw = await gatewayMetrics();
    expect(Object.fromEntries(samplesOf(gw, 'punchgate_gateway_taps_total').map((sample) => [sample.labels.result, sample.value]))).toEqual({ accepted: 1, unknown: 1, revoked: 1, duplicate: 1, error: 0 });
    expect(valueOf(gw, 'punchgate_gateway_info')).toBe(1);
    expect(samplesOf(gw, 'punchgate_gateway_info')[0]?.labels).toMatchObject({ device_id: 'gw-1', site_id: 'mk-01' });
    expect(valueOf(gw, 'punchgate_gateway_outbox_punches', { state: 'pending' })).toBe(0);
    expect(valueOf(gw, 'punchgate_gateway_outbox_punches', { state: 'rejected' })).toBe(0);
    expect(valueOf(gw, 'punchgate_gateway_outbox_oldest_pending_age_seconds')).toBe(0);
    expect(valueOf(gw, 'punchgate_gateway_mqtt_connected')).toBe(1);
    expect(samplesOf(gw, 'punchgate_gateway_mqtt_state').filter((sample) => sample.value === 1).map((sample) => sample.labels.state)).toEqual(['connected']);
    expect(valueOf(gw, 'punchgate_gateway_mqtt_connects_total')).toBe(1);
    expect(valueOf(gw, 'punchgate_gateway_uplink_punches_total', { result: 'acked' })).toBe(2);
    expect(valueOf(gw, 'punchgate_gateway_uplink_punches_total', { result: 'rejected' })).toBe(0);
    expect(valueOf(gw, 'punchgate_gateway_uplink_batches_total', { kind: 'sent' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(gw, 'punchgate_gateway_uplink_batches_in_flight')).toBe(0);
    expect(valueOf(gw, 'punchgate_gateway_reader_state', { reader: 'door', state: 'ready' })).toBe(1);
    expect(samplesOf(gw, 'punchgate_gateway_reader_state', { reader: 'door' }).reduce((sum, sample) => sum + sample.value, 0)).toBe(1);
    expect(valueOf(gw, 'punchgate_gateway_reader_reads_total', { reader: 'door' })).toBe(4);
    expect(valueOf(gw, 'punchgate_gateway_reader_bad_frames_total', { reader: 'door' })).toBe(0);
    expect(valueOf(gw, 'punchgate_gateway_ble_adverts_total', { kind: 'seen' })).toBe(8);
    expect(valueOf(gw, 'punchgate_gateway_ble_adverts_total', { kind: 'accepted' })).toBe(5);
    expect(valueOf(gw, 'punchgate_gateway_ble_scanner_state', { state: 'scanning' })).toBe(1);
    expect(valueOf(gw, 'punchgate_gateway_clock_synced')).toBe(1);
    expect(valueOf(gw, 'punchgate_gateway_clock_verdict', { verdict: 'trusted' })).toBe(1);
    expect(valueOf(gw, 'punchgate_gateway_punches_clock_unsynced_total')).toBe(0);
    expect(valueOf(gw, 'punchgate_gateway_config_version')).toBe(pinnedVersion);
    expect(valueOf(gw, 'punchgate_gateway_config_refused')).toBe(0);
    expect(valueOf(gw, 'punchgate_gateway_roster_entries')).toBe(3);
    expect(valueOf(gw, 'punchgate_gateway_storage_alarms')).toBe(0);

    const db = await dashboardMetrics();
    expect(valueOf(db, 'punchgate_dashboard_ingest_punches_total', { result: 'accepted' })).toBe(2);
    expect(valueOf(db, 'punchgate_dashboard_ingest_punches_total', { result: 'rejected' })).toBe(0);
    const batches = valueOf(db, 'punchgate_dashboard_ingest_batches_total', { result: 'stored' });
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(valueOf(db, 'punchgate_dashboard_acks_published_total', { result: 'ok' })).toBe(batches);
    expect(valueOf(db, 'punchgate_dashboard_acks_published_total', { result: 'error' })).toBe(0);
    expect(valueOf(db, 'punchgate_dashboard_config_pushes_total', { result: 'pinned' })).toBe(1);
    expect(valueOf(db, 'punchgate_dashboard_config_pushes_total', { result: 'failed' })).toBe(0);
    expect(valueOf(db, 'punchgate_dashboard_mqtt_connected')).toBe(1);
    expect(Object.fromEntries(samplesOf(db, 'punchgate_dashboard_devices').map((sample) => [sample.labels.connection, sample.value]))).toEqual({ online: 1, offline: 0, never_connected: 0, disabled: 0 });
    expect(valueOf(db, 'punchgate_dashboard_device_online', { device_id: 'gw-1', site_id: 'mk-01' })).toBe(1);
    expect(valueOf(db, 'punchgate_dashboard_devices_attention', { reason: 'offline' })).toBe(0);
  });

  it('tells the dashboard a gateway went offline (its last will), grows its backlog age while the broker is unreachable, and recovers', async () => {
    expect((await tap('04A1B2C3')).kind).toBe('accepted');
    await waitFor('the punch acknowledged', async () => dashboard.ingest.counters.accepted === 1);
    // ... and the ack back at the gateway: stored at the dashboard is not yet acked in the outbox,
    // and a link broken in between would leave it pending beside the next one.
    await waitFor('the ack at the gateway', async () => valueOf(await gatewayMetrics(), 'punchgate_gateway_outbox_punches', { state: 'pending' }) === 0);

    proxy.breakLink();
    await waitFor('the dashboard sees gw-1 offline', async () => (await dashboard.devices.get('gw-1'))?.online === false);
    let db = await dashboardMetrics();
    expect(Object.fromEntries(samplesOf(db, 'punchgate_dashboard_devices').map((sample) => [sample.labels.connection, sample.value]))).toEqual({ online: 0, offline: 1, never_connected: 0, disabled: 0 });
    expect(valueOf(db, 'punchgate_dashboard_device_online', { device_id: 'gw-1', site_id: 'mk-01' })).toBe(0);
    expect(valueOf(db, 'punchgate_dashboard_devices_attention', { reason: 'offline' })).toBe(1);
    expect(valueOf(db, 'punchgate_dashboard_device_attention', { device_id: 'gw-1', reason: 'offline' })).toBe(1);

    // Offline, the gateway keeps taking punches; they wait in its outbox, getting older.
    expect((await tap('DEADBEEF')).kind).toBe('unknown');
    await waitFor('the gateway knows it is offline', async () => valueOf(await gatewayMetrics(), 'punchgate_gateway_mqtt_connected') === 0);
    const first = await gatewayMetrics();
    expect(valueOf(first, 'punchgate_gateway_outbox_punches', { state: 'pending' })).toBe(1);
    expect(valueOf(first, 'punchgate_gateway_mqtt_state', { state: 'connected' })).toBe(0);
    const firstAge = valueOf(first, 'punchgate_gateway_outbox_oldest_pending_age_seconds');
    expect(firstAge).toBeGreaterThanOrEqual(0);
    await sleep(250);
    const second = await gatewayMetrics();
    expect(valueOf(second, 'punchgate_gateway_outbox_punches', { state: 'pending' })).toBe(1);
    expect(valueOf(second, 'punchgate_gateway_outbox_oldest_pending_age_seconds')).toBeGreaterThan(firstAge);

    proxy.restore();
    await waitFor('the backlog drained', async () => valueOf(await gatewayMetrics(), 'punchgate_gateway_outbox_punches', { state: 'pending' }) === 0, 10_000);
    const after = await gatewayMetrics();
    expect(valueOf(after, 'punchgate_gateway_outbox_oldest_pending_age_seconds')).toBe(0);
    expect(valueOf(after, 'punchgate_gateway_mqtt_connected')).toBe(1);
    expect(valueOf(after, 'punchgate_gateway_mqtt_connects_total')).toBeGreaterThanOrEqual(2);
    expect(valueOf(after, 'punchgate_gateway_uplink_punches_total', { result: 'acked' })).toBe(2);
    await waitFor('the dashboard sees gw-1 online again', async () => (await dashboard.devices.get('gw-1'))?.online === true);
    db = await dashboardMetrics();
    expect(valueOf(db, 'punchgate_dashboard_devices', { connection: 'online' })).toBe(1);
    expect(valueOf(db, 'punchgate_dashboard_ingest_punches_total', { result: 'accepted' })).toBe(2);
    expect(samplesOf(db, 'punchgate_dashboard_device_attention', { device_id: 'gw-1', reason: 'offline' })).toEqual([]);
  });

  it('GET /metrics at the dashboard: needs metrics:read (401 anonymous, 403 without it, 200 for facilities and a metrics-only OAuth client); latency by route pattern, never by URL', async () => {
    const anonymous = await fetch(`${dashboard.url}/metrics`);
    expect(anonymous.status).toBe(401);
    const hr = await dashboard.auth.tokens.create({ name: 'hr', role: 'hr' }, undefined);
    expect((await fetch(`${dashboard.url}/metrics`, { headers: { authorization: `Bearer ${hr.secret}` } })).status).toBe(403);
    const facilities = await dashboard.auth.tokens.create({ name: 'facilities', role: 'facilities' }, undefined);
    expect(valueOf(await dashboardMetrics(facilities.secret), 'punchgate_dashboard_mqtt_connected')).toBe(1);

    // What Prometheus' `oauth2` scrape settings do: client credentials with HTTP Basic, form-encoded.
    const { client, clientSecret } = await dashboard.auth.clients.create({ name: 'prometheus', scopes: ['metrics:read'] }, undefined);
    const issued = await fetch(`${dashboard.url}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=metrics%3Aread',
    });
    expect(issued.status).toBe(200);
    const { access_token: accessToken } = (await issued.json()) as { access_token: string };
    const viaClient = await dashboardMetrics(accessToken);
    expect(valueOf(viaClient, 'punchgate_dashboard_devices', { connection: 'online' })).toBe(1);
    // ... and that token is good for nothing else.
    expect((await fetch(`${dashboard.url}/api/v1/devices`, { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(403);

    const auth = { authorization: `Bearer ${API_TOKEN}` };
    expect((await fetch(`${dashboard.url}/api/v1/devices/gw-1`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${dashboard.url}/api/v1/devices/gw-nope`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${dashboard.url}/no/such/page-42`, { headers: auth })).status).toBe(404);

    const db = await dashboardMetrics();
    const latency = 'punchgate_dashboard_http_request_duration_seconds_count';
    expect(valueOf(db, latency, { method: 'GET', route: '/api/v1/devices/:id', status_code: '200' })).toBe(1);
    expect(valueOf(db, latency, { method: 'GET', route: '/api/v1/devices/:id', status_code: '404' })).toBe(1);
    expect(valueOf(db, latency, { method: 'GET', route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(db, latency, { method: 'GET', route: '/metrics', status_code: '401' })).toBe(1);
    expect(valueOf(db, latency, { method: 'GET', route: '/metrics', status_code: '403' })).toBe(1);
    expect(valueOf(db, latency, { method: 'POST', route: '/api/v1/oauth/token', status_code: '200' })).toBe(1);
    const routes = new Set(samplesOf(db, latency).map((sample) => sample.labels.route));
    for (const route of routes) expect(route, 'a raw URL in a label').not.toMatch(/gw-1|gw-nope|page-42/);
    const buckets = samplesOf(db, 'punchgate_dashboard_http_request_duration_seconds_bucket', { route: '/api/v1/devices/:id', status_code: '200' });
    expect(buckets.at(-1)).toMatchObject({ labels: { le: '+Inf' }, value: 1 });
  });

  it('computes the fleet at scrape time: a device behind, one never connected, one disabled', async () => {
    const now = Date.now();
    for (const id of ['gw-2', 'gw-3', 'gw-4']) await dashboard.devices.register({ id, siteId: 'tst-02', secretHash: await hashDeviceSecret(newDeviceSecret()), createdAt: new Date(now).toISOString() });
    // gw-2 reported, 20 minutes after its oldest unsent punch, that it holds 7 (its retained status, as StatusIngest records it).
    const oldest = new Date(now - 20 * 60_000).toISOString();
    await dashboard.devices.recordStatus('gw-2', { online: true, backlog: 7, oldestPendingAt: oldest, clock: { synced: true } }, new Date(now).toISOString());
    const disabled = await fetch(`${dashboard.url}/api/v1/devices/gw-4`, { method: 'PATCH', headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ enabled: false, reason: 'shop closed' }) });
    expect(disabled.status).toBe(200);
    const db = await dashboardMetrics();
    expect(Object.fromEntries(samplesOf(db, 'punchgate_dashboard_devices').map((sample) => [sample.labels.connection, sample.value]))).toEqual({ online: 2, offline: 0, never_connected: 1, disabled: 1 });
    // A disabled device is meant to be off: no per-device series for it.
    expect(samplesOf(db, 'punchgate_dashboard_device_online', { device_id: 'gw-4' })).toEqual([]);
    expect(valueOf(db, 'punchgate_dashboard_device_online', { device_id: 'gw-3' })).toBe(0);
    expect(valueOf(db, 'punchgate_dashboard_device_backlog_punches', { device_id: 'gw-2', site_id: 'tst-02' })).toBe(7);
    const age = valueOf(db, 'punchgate_dashboard_device_oldest_unsent_age_seconds', { device_id: 'gw-2' });
    expect(age).toBeGreaterThanOrEqual(20 * 60);
    expect(valueOf(db, 'punchgate_dashboard_device_attention', { device_id: 'gw-2', reason: 'behind' })).toBe(1);
    expect(valueOf(db, 'punchgate_dashboard_devices_attention', { reason: 'behind' })).toBe(1);
    expect(valueOf(db, 'punchgate_dashboard_devices_attention', { reason: 'never-connected' })).toBe(1);
    expect(valueOf(db, 'punchgate_dashboard_devices_attention', { reason: 'disabled' })).toBe(1);
    expect(samplesOf(db, 'punchgate_dashboard_device_last_seen_timestamp_seconds', { device_id: 'gw-3' })).toEqual([]);
    expect(valueOf(db, 'punchgate_dashboard_device_last_seen_timestamp_seconds', { device_id: 'gw-1' })).toBeGreaterThan(0);
  });
});
