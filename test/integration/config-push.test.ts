import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceConfigSnapshot } from '../../core/config-snapshot.js';
import { ConfigPush } from '../../dashboard/config-push/config-push.js';
import { buildRoster, rosterName } from '../../dashboard/config-push/snapshot-builder.js';
import { DashboardConfig } from '../../dashboard/config.js';
import type { SiteBadgeRow } from '../../dashboard/employees/employee-repository.js';
import type { EmployeeService } from '../../dashboard/employees/employee-service.js';
import { employeeRoutes } from '../../dashboard/http/employee-routes.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import type { TapResult } from '../../gateway/punch-desk.js';
import { hashDeviceSecret, newDeviceSecret } from '../../provisioning/device-secrets.js';
import { wifiOnlyPolicy } from '../support/site-policy.js';
import { testLogger } from '../support/logger.js';
import { buildTestApp, principalHeader, testPrincipal } from '../support/test-principal.js';
import { waitFor } from '../support/wait.js';

/**
 * Config push end to end: a real dashboard (embedded Aedes broker, SQLite), a real gateway
 * in-process connected to it over MQTT, employees and badges changed through the routes, and the
 * gateway's own punch desk telling whether a badge is accepted or refused.
 */

const IK_GW1 = '0102030405060708090A0B0C0D0E0F10';
const IK_GW9 = '1F1E1D1C1B1A19181716151413121110';
const SK = 'A1A2A3A4A5A6A7A8A9AAABACADAEAFB0';
const UUID = 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0';
const hr = testPrincipal('hr');


describe('config push: dashboard -> broker -> gateway', () => {
  let dir: string;
  let dashboard: Dashboard;
  let employees: EmployeeService;
  let push: ConfigPush;
  let api: FastifyInstance;
  let gateway: Gateway | undefined;
  const logger = testLogger();

  async function call(method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown): Promise<{ status: number; body: Record<string, unknown>; raw: string }> {
    const response = await api.inject({ method, url: `/api/v1${url}`, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }), headers: principalHeader(hr) });
    return { status: response.statusCode, body: response.json(), raw: response.body };
  }

  async function published(deviceId: string): Promise<DeviceConfigSnapshot | undefined> {
    const row = await dashboard.db.get<{ body: string }>('SELECT body FROM device_configs WHERE device_id = ?', [deviceId]);
    return row ? DeviceConfigSnapshot.parse(JSON.parse(row.body)) : undefined;
  }

  async function tap(uid: string): Promise<TapResult> {
    return (await gateway!.desk.submit({ readerId: 'door', read: { kind: 'mifare', uid } })).result;
  }

  async function startTheGateway(secret: string): Promise<Gateway> {
    return startGateway(
      GatewayConfig.parse({
        deviceId: 'gw-1',
        siteId: 'mk-01',
        dataDir: path.join(dir, 'gateway'),
        http: { port: 0 },
        mqtt: { url: dashboard.brokerUrl, password: secret, batch: { ackTimeoutSeconds: 1 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.3 } },
        clock: { syncCommand: null },
      }),
      logger,
      { uplink: { statusMinIntervalMs: 0 } },
    );
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-config-push-'));
    dashboard = await startDashboard(
      DashboardConfig.parse({ dataDir: path.join(dir, 'dashboard'), apiToken: 'test-token-0123456789', http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } }),
      logger,
      { onFirstAdmin: () => undefined },
    );
    await dashboard.sites.put(
      {
        id: 'mk-01',
        name: 'Mong Kok',
        nameZh: '旺角',
        timeZone: 'Asia/Hong_Kong',
        policy: wifiOnlyPolicy('mk-01', ['A4:2B:B0:11:22:33']),
        beacons: [
          { kind: 'eid', siteId: 'mk-01', gatewayId: 'gw-1', identityKey: IK_GW1, rotationExponent: 8, epochUnixSeconds: 1_772_000_000 },
          { kind: 'eid', siteId: 'mk-01', gatewayId: 'gw-9', identityKey: IK_GW9, rotationExponent: 8, epochUnixSeconds: 1_772_000_000 },
          { kind: 'ibeacon-minor', siteId: 'mk-01', siteKey: SK, rotationExponent: 8, uuid: UUID, major: 101 },
        ],
      },
      new Date(),
    );
    await dashboard.sites.put({ id: 'tst-02', name: 'Tsim Sha Tsui', nameZh: null, timeZone: 'Asia/Hong_Kong', policy: wifiOnlyPolicy('tst-02', ['A4:2B:B0:99:99:99']), beacons: [] }, new Date());
    // The dashboard's own service and push, as server.ts wires them.
    employees = dashboard.employees;
    push = dashboard.configPush;
    api = buildTestApp();
    await api.register(employeeRoutes, { prefix: '/api/v1', employees, configPush: push });
    await api.ready();
    gateway = undefined;
  });

  afterEach(async () => {
    await gateway?.stop();
    await api.close();
    await dashboard.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('pushes a revoked badge to the gateway, which then refuses it; measures revoke-to-refusal', async () => {
    const secret = newDeviceSecret();
    await dashboard.devices.register({ id: 'gw-1', siteId: 'mk-01', secretHash: await hashDeviceSecret(secret), createdAt: new Date().toISOString() });
    gateway = await startTheGateway(secret);

    // The watch notices the new device and pushes it its site's config, built from the database.
    await waitFor('the first config at the gateway', async () => (await gateway!.health()).config.version >= 1, 10_000);
    const first = await published('gw-1');
    expect(first).toMatchObject({
      deviceId: 'gw-1',
      site: { id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong' },
      roster: [],
      presence: {
        wifi: { expectedBssids: ['A4:2B:B0:11:22:33'] },
        // This gateway's own EID key, not gw-9's; the site's rotating iBeacon.
        beacon: { eid: { identityKey: IK_GW1, rotationExponent: 8, epochUnixSeconds: 1_772_000_000 }, ibeacon: { uuid: UUID, major: 101, siteKey: SK, rotationExponent: 8 } },
      },
    });
    // The site's hands-free setting, stated even while off (the default).
    expect(first?.presence?.handsFree).toEqual({ enabled: false, punchOutAfterSeconds: 600 });
    await waitFor('config status: applied', async () => (await call('GET', '/devices/gw-1/config-status')).body.pending === false);

    expect((await call('PUT', '/employees/E001', { name: 'Chan Tai Man', nameZh: '陳大文', sites: ['mk-01'] })).status).toBe(201);
    expect((await call('POST', '/employees/E001/badges', { kind: 'mifare', uid: '04A1B2C3' })).status).toBe(201);
    await waitFor('the badge in the gateway roster', async () => (await gateway!.health()).roster.entries === 1, 10_000);
    const accepted = await gateway.desk.submit({ readerId: 'door', read: { kind: 'mifare', uid: '04A1B2C3' } });
    expect(accepted).toMatchObject({ result: 'accepted', employee: { id: 'E001', name: 'Chan Tai Man 陳大文' } });
    expect(await published('gw-1')).toMatchObject({ roster: [{ credential: { kind: 'mifare', uid: '04A1B2C3' }, employeeId: 'E001', status: 'active' }] });

    const started = performance.now();
    const revoke = await call('POST', '/employees/E001/badges/mifare/04A1B2C3/revoke', { reason: 'left the company' });
    const revokeAnsweredMs = performance.now() - started;
    expect(revoke.status, revoke.raw).toBe(200);
    const pendingRightAfter = (await call('GET', '/devices/gw-1/config-status')).body;
    // Taps until the gateway refuses the badge (in between: 'duplicate', the earlier tap's debounce).
    let result: TapResult = 'accepted';
    let taps = 0;
    while (result !== 'revoked') {
      expect(performance.now() - started, 'the revocation never reached the gateway').toBeLessThan(20_000);
      result = await tap('04A1B2C3');
      taps += 1;
      if (result !== 'revoked') await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const refusedMs = performance.now() - started;
    console.info(`[config-push] revoke -> gateway refuses the badge: ${refusedMs.toFixed(0)} ms (HTTP answer ${revokeAnsweredMs.toFixed(0)} ms, ${taps} taps, debounce 200 ms)`);
    expect(result).toBe('revoked');
    expect(pendingRightAfter).toMatchObject({ queued: true });

    const status = await waitFor('the gateway to report the version applied', async () => {
      const body = (await call('GET', '/devices/gw-1/config-status')).body;
      return body.pending === false && body.queued === false ? body : undefined;
    });
    expect(status).toMatchObject({ deviceId: 'gw-1', siteId: 'mk-01', applied: status.published, configError: null });
    expect(await published('gw-1')).toMatchObject({ roster: [{ credential: { kind: 'mifare', uid: '04A1B2C3' }, status: 'revoked' }] });
    expect((await call('GET', '/devices/gw-404/config-status')).status).toBe(404);
  });

  it("pushes the site's hands-free setting and its beacons, added and removed one at a time, to the gateway", async () => {
    const secret = newDeviceSecret();
    await dashboard.devices.register({ id: 'gw-1', siteId: 'mk-01', secretHash: await hashDeviceSecret(secret), createdAt: new Date().toISOString() });
    gateway = await startTheGateway(secret);
    await waitFor('the first config at the gateway', async () => (await gateway!.health()).config.version >= 1, 10_000);
    expect((await published('gw-1'))?.presence?.handsFree).toEqual({ enabled: false, punchOutAfterSeconds: 600 });
    const admin = { authorization: 'Bearer test-token-0123456789' };
    const site = (overrides: Record<string, unknown>): Record<string, unknown> => ({ name: 'Mong Kok', nameZh: '旺角', policy: wifiOnlyPolicy('mk-01', ['A4:2B:B0:11:22:33']), ...overrides });
    const applied = async (version: number): Promise<void> => {
      await waitFor(`v${version} applied at the gateway`, async () => (await gateway!.health()).config.version === version, 10_000);
    };

    // Hands-free turned on in the site's settings: every gateway of the site runs with it.
    const on = await dashboard.http.inject({ method: 'PUT', url: '/api/v1/sites/mk-01', headers: admin, payload: site({ handsFree: { enabled: true, punchOutAfterSeconds: 900 } }) });
    expect(on.statusCode, on.body).toBe(200);
    const withHandsFree = await waitFor('hands-free in gw-1\'s config', async () => {
      const snapshot = await published('gw-1');
      return snapshot?.presence?.handsFree?.enabled ? snapshot : undefined;
    }, 5000);
    expect(withHandsFree.presence?.handsFree).toEqual({ enabled: true, punchOutAfterSeconds: 900 });
    await applied(withHandsFree.version);
    // The gateway runs with it: hands-free on without a Bluetooth adapter here is one of its problems.
    expect((await gateway!.health()).problems).toEqual(expect.arrayContaining([expect.stringMatching(/hands-free punching is on/)]));

    // The kiosk's languages reach the gateway with the site; the hands-free setting stays.
    const chineseFirst = await dashboard.http.inject({ method: 'PUT', url: '/api/v1/sites/mk-01', headers: admin, payload: site({ languages: ['zh-HK', 'en'], handsFree: { enabled: true, punchOutAfterSeconds: 900 } }) });
    expect(chineseFirst.statusCode, chineseFirst.body).toBe(200);
    const withLanguages = await waitFor("the site's languages in gw-1's config", async () => {
      const snapshot = await published('gw-1');
      return snapshot?.site.languages ? snapshot : undefined;
    }, 5000);
    expect(withLanguages.site).toEqual({ id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong', languages: ['zh-HK', 'en'] });
    await applied(withLanguages.version);
    // Back to the default (both, English first): the snapshot says nothing, as before the setting existed.
    expect((await dashboard.http.inject({ method: 'PUT', url: '/api/v1/sites/mk-01', headers: admin, payload: site({ handsFree: { enabled: true, punchOutAfterSeconds: 900 } }) })).statusCode).toBe(200);
    const withHandsFreeAgain = await waitFor('the default languages in gw-1\'s config', async () => {
      const snapshot = await published('gw-1');
      return snapshot && !snapshot.site.languages ? snapshot : undefined;
    }, 5000);
    await applied(withHandsFreeAgain.version);

    // An address reaches no gateway: no new version.
    expect((await dashboard.http.inject({ method: 'PUT', url: '/api/v1/sites/mk-01', headers: admin, payload: site({ address: '3 Nathan Road', handsFree: { enabled: true, punchOutAfterSeconds: 900 } }) })).statusCode).toBe(200);
    push.sitesChanged(['mk-01']);
    await push.idle();
    expect((await published('gw-1'))?.version).toBe(withHandsFreeAgain.version);

    // gw-1's EID beacon removed by its id: the gateway advertises only the site's iBeacon.
    const stored = (await dashboard.http.inject({ method: 'GET', url: '/api/v1/sites/mk-01', headers: admin })).json<{ site: { beacons: Array<{ id: string; gatewayId?: string }> } }>();
    const gw1Beacon = stored.site.beacons.find((beacon) => beacon.gatewayId === 'gw-1');
    const removed = await dashboard.http.inject({ method: 'DELETE', url: `/api/v1/sites/mk-01/beacons/${gw1Beacon?.id}`, headers: admin });
    expect(removed.statusCode, removed.body).toBe(200);
    const withoutEid = await waitFor('gw-1 without its EID key', async () => {
      const snapshot = await published('gw-1');
      return snapshot && !snapshot.presence?.beacon?.eid ? snapshot : undefined;
    }, 5000);
    expect(withoutEid.presence?.beacon).toEqual({ ibeacon: { uuid: UUID, major: 101, siteKey: SK, rotationExponent: 8, measuredPower: -59 } });
    expect(withoutEid.presence?.handsFree).toEqual({ enabled: true, punchOutAfterSeconds: 900 });

    // A new EID key for gw-1, added alone: it reaches gw-1 (and only the key's fingerprint comes back).
    const newKey = '5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A';
    const added = await dashboard.http.inject({ method: 'POST', url: '/api/v1/sites/mk-01/beacons', headers: admin, payload: { kind: 'eid', gatewayId: 'gw-1', identityKey: newKey, rotationExponent: 9, epochUnixSeconds: 1_772_500_000 } });
    expect(added.statusCode, added.body).toBe(201);
    expect(added.body).not.toContain(newKey);
    const withNewEid = await waitFor('gw-1 with its new EID key', async () => {
      const snapshot = await published('gw-1');
      return snapshot?.presence?.beacon?.eid?.identityKey === newKey ? snapshot : undefined;
    }, 5000);
    expect(withNewEid.presence?.beacon?.eid).toMatchObject({ identityKey: newKey, rotationExponent: 9, epochUnixSeconds: 1_772_500_000 });
    await applied(withNewEid.version);

    // Hands-free off again (a replacement that leaves it out): the gateway is told so, explicitly.
    expect((await dashboard.http.inject({ method: 'PUT', url: '/api/v1/sites/mk-01', headers: admin, payload: site({}) })).statusCode).toBe(200);
    const off = await waitFor('hands-free off at gw-1', async () => {
      const snapshot = await published('gw-1');
      return snapshot?.presence?.handsFree?.enabled === false ? snapshot : undefined;
    }, 5000);
    expect(off.presence?.handsFree).toEqual({ enabled: false, punchOutAfterSeconds: 600 });
    await applied(off.version);
    expect((await gateway!.health()).problems.filter((problem) => /hands-free/.test(problem))).toEqual([]);
    const audit = await dashboard.db.all<{ action: string }>("SELECT action FROM audit_log WHERE entity = 'site' AND entity_id = 'mk-01' ORDER BY id");
    expect(audit.map((row) => row.action)).toEqual(['site.put', 'site.put', 'site.put', 'site.put', 'site.beacon-remove', 'site.beacon-add', 'site.put']);
  }, 60_000);

  it('leaves a device pinned by PUT /devices/{id}/config alone until DELETE hands it back', async () => {
    await dashboard.devices.register({ id: 'gw-1', siteId: 'mk-01', secretHash: await hashDeviceSecret(newDeviceSecret()), createdAt: new Date().toISOString() });
    await waitFor('the built config', async () => published('gw-1'), 5000);
    const admin = { authorization: 'Bearer test-token-0123456789' };
    const manualRoster = [{ credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'X001', name: 'From the integration' }];
    const put = await dashboard.http.inject({ method: 'PUT', url: '/api/v1/devices/gw-1/config', headers: admin, payload: { site: { id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong' }, roster: manualRoster } });
    expect(put.statusCode, put.body).toBe(200);
    const pinnedVersion = (put.json() as { version: number }).version;

    // A console change for the device's site: the pinned config stays.
    expect((await call('PUT', '/employees/E200', { name: 'Staff', sites: ['mk-01'] })).status).toBe(201);
    expect((await call('POST', '/employees/E200/badges', { kind: 'mifare', uid: '0B000001' })).status).toBe(201);
    await push.idle();
    expect(await published('gw-1')).toMatchObject({ version: pinnedVersion, roster: [{ employeeId: 'X001' }] });

    const unpin = await dashboard.http.inject({ method: 'DELETE', url: '/api/v1/devices/gw-1/config', headers: admin });
    expect(unpin.json()).toEqual({ pinned: false, wasPinned: true });
    await waitFor('the console roster at gw-1', async () => (await published('gw-1'))?.version === pinnedVersion + 1, 5000);
    expect((await published('gw-1'))?.roster.map((entry) => entry.employeeId)).toEqual(['E200']);
    expect((await dashboard.http.inject({ method: 'DELETE', url: '/api/v1/devices/gw-1/config', headers: admin })).json()).toEqual({ pinned: false, wasPinned: false });
    const audit = await dashboard.db.all<{ action: string }>("SELECT action FROM audit_log WHERE entity = 'device' AND entity_id = 'gw-1' ORDER BY id");
    expect(audit.map((row) => row.action)).toEqual(expect.arrayContaining(['device.config', 'device.config-unpin']));
  });

  it('publishes once per burst, only when the content changed, and follows site and device changes', async () => {
    await dashboard.devices.register({ id: 'gw-1', siteId: 'mk-01', secretHash: await hashDeviceSecret(newDeviceSecret()), createdAt: new Date().toISOString() });
    await dashboard.devices.register({ id: 'gw-2', siteId: 'tst-02', secretHash: await hashDeviceSecret(newDeviceSecret()), createdAt: new Date().toISOString() });
    await dashboard.devices.register({ id: 'gw-0', siteId: 'no-such-site', secretHash: await hashDeviceSecret(newDeviceSecret()), createdAt: new Date().toISOString() });
    await waitFor('both configs', async () => (await published('gw-1')) && (await published('gw-2')), 5000);
    await push.idle();
    expect(await published('gw-0')).toBeUndefined();
    const version = async (id: string): Promise<number | undefined> => (await published(id))?.version;
    const [v1, v2] = [await version('gw-1'), await version('gw-2')];

    // A burst: ten employees, each with a badge, one request after another: one publish for gw-1.
    // (At once, so that a loaded CI machine cannot stretch the burst past the 2 s publish ceiling.)
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        expect((await call('PUT', `/employees/E10${i}`, { name: `Staff ${i}`, sites: ['mk-01'] })).status).toBe(201);
        const badge = await call('POST', `/employees/E10${i}/badges`, { kind: 'mifare', uid: (0x0a000000 + i).toString(16).padStart(8, '0') });
        expect(badge.status, badge.raw).toBe(201);
      }),
    );
    await push.idle();
    expect(await version('gw-1')).toBe(v1! + 1);
    expect((await published('gw-1'))?.roster).toHaveLength(10);
    expect(await version('gw-2')).toBe(v2);

    // Nothing changed for the gateways: no publish.
    push.sitesChanged(['mk-01', 'tst-02']);
    expect(await push.flush()).toMatchObject({ devices: 2, published: 0, unchanged: 2 });
    await call('PUT', '/employees/E100', { name: 'Staff 0', sites: ['mk-01'], department: 'Retail' });
    await push.idle();
    expect(await version('gw-1')).toBe(v1! + 1);

    // An employee leaving a site: gone from that roster, added to the other.
    await call('PUT', '/employees/E101', { name: 'Staff 1', sites: ['tst-02'] });
    await push.idle();
    expect((await published('gw-1'))?.roster.map((e) => e.employeeId)).not.toContain('E101');
    expect((await published('gw-2'))?.roster).toEqual([{ credential: { kind: 'mifare', uid: '0A000001' }, employeeId: 'E101', name: 'Staff 1', status: 'active' }]);

    // An inactive employee's badge is listed as revoked; consent shows on ble-tags only while recorded.
    await call('PUT', '/employees/E102', { name: 'Staff 2', sites: ['mk-01'], status: 'inactive' });
    await call('POST', '/employees/E103/badges', { kind: 'ble-tag', uid: 'c0ffee' });
    await call('PUT', '/employees/E103/ble-consent', { consent: true });
    await push.idle();
    let roster = (await published('gw-1'))?.roster ?? [];
    expect(roster.find((e) => e.employeeId === 'E102')?.status).toBe('revoked');
    expect(roster.find((e) => e.credential.kind === 'ble-tag')).toMatchObject({ employeeId: 'E103', bleConsentAt: expect.any(String) });
    expect(roster.find((e) => e.employeeId === 'E103' && e.credential.kind === 'mifare')?.bleConsentAt).toBeUndefined();
    await call('PUT', '/employees/E103/ble-consent', { consent: false });
    await push.idle();
    roster = (await published('gw-1'))?.roster ?? [];
    expect(roster.find((e) => e.credential.kind === 'ble-tag')?.bleConsentAt).toBeUndefined();

    // A revoked badge given to someone else: one entry, the active one.
    await call('POST', '/employees/E104/badges/mifare/0A000004/revoke');
    await call('POST', '/employees/E105/badges', { kind: 'mifare', uid: '0A000004' });
    await push.idle();
    roster = (await published('gw-1'))?.roster ?? [];
    expect(roster.filter((e) => e.credential.uid === '0A000004')).toEqual([expect.objectContaining({ employeeId: 'E105', status: 'active' })]);

    // A site's settings changed through the site repository (as its routes do): the watch sees it.
    const before = await version('gw-2');
    await dashboard.sites.put({ id: 'tst-02', name: 'Tsim Sha Tsui East', nameZh: null, timeZone: 'Asia/Hong_Kong', policy: wifiOnlyPolicy('tst-02', ['A4:2B:B0:99:99:98']), beacons: [] }, new Date());
    await waitFor('the site change at gw-2', async () => (await version('gw-2')) === before! + 1, 5000);
    expect(await published('gw-2')).toMatchObject({ site: { name: 'Tsim Sha Tsui East' }, presence: { wifi: { expectedBssids: ['A4:2B:B0:99:99:98'] } } });
    expect((await published('gw-2'))?.presence?.beacon).toBeUndefined();

    // A device moved to another site: it gets that site's roster.
    await dashboard.devices.assignSite('gw-2', 'mk-01');
    await waitFor('gw-2 at mk-01', async () => (await published('gw-2'))?.site.id === 'mk-01', 5000);
    await push.idle();
    expect((await published('gw-2'))?.roster).toEqual((await published('gw-1'))?.roster);
    // gw-2 has no EID registration of its own at mk-01: only the site's iBeacon.
    expect((await published('gw-2'))?.presence?.beacon).toEqual({ ibeacon: { uuid: UUID, major: 101, siteKey: SK, rotationExponent: 8, measuredPower: -59 } });
  });

  it('delivers a roster of 10,000 employees to the gateway, which applies it', async () => {
    const secret = newDeviceSecret();
    await dashboard.devices.register({ id: 'gw-1', siteId: 'mk-01', secretHash: await hashDeviceSecret(secret), createdAt: new Date().toISOString() });
    gateway = await startTheGateway(secret);
    await waitFor('the first config at the gateway', async () => (await gateway!.health()).config.version >= 1, 10_000);

    // As HR imports them: one CSV through the import API (one transaction, one push).
    const file = [
      'employee_number,name,name_zh,sites,badges',
      ...Array.from({ length: 10_000 }, (_, i) => `E${String(i).padStart(5, '0')},Employee Number ${i},陳大文,mk-01,em4100:${(0x10000000 + i).toString(16).toUpperCase()}`),
    ].join('\n');
    const started = performance.now();
    const imported = await fetch(`${dashboard.url}/api/v1/employee-imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dashboard.apiToken}`, 'content-type': 'text/csv' },
      body: file,
    });
    expect(imported.status).toBe(200);
    expect(((await imported.json()) as { counts: unknown }).counts).toEqual({ create: 10_000, update: 0, deactivate: 0, unchanged: 0 });
    const importedMs = performance.now() - started;
    await push.idle();
    const publishedMs = performance.now() - started;
    const body = (await dashboard.db.get<{ body: string }>('SELECT body FROM device_configs WHERE device_id = ?', ['gw-1']))!.body;
    const bytes = Buffer.byteLength(body);
    const gzipped = gzipSync(body).length;

    await waitFor('10,000 entries at the gateway', async () => (await gateway!.health()).roster.entries === 10_000, 60_000);
    const appliedMs = performance.now() - started;
    const status = await waitFor('the version applied reported back', async () => {
      const s = await push.status('gw-1');
      return s && !s.pending ? s : undefined;
    }, 10_000);
    console.info(
      `[config-push] 10,000-employee roster: ${bytes} bytes JSON (${(bytes / 1_048_576).toFixed(2)} MiB, gzip ${gzipped} bytes); ` +
        `import ${importedMs.toFixed(0)} ms, published after ${publishedMs.toFixed(0)} ms, applied at the gateway after ${appliedMs.toFixed(0)} ms`,
    );
    expect(status.applied).toBe(status.published);
    expect(await gateway.desk.submit({ readerId: 'door', read: { kind: 'em4100', uid: (0x10000000 + 9999).toString(16) } })).toMatchObject({
      result: 'accepted',
      employee: { id: 'E09999', name: 'Employee Number 9999 陳大文' },
    });
  }, 120_000);
});

describe('roster rules (buildRoster)', () => {
  const at = { today: '2026-03-02', now: '2026-03-02T01:00:00.000Z', revokedSince: '2025-12-02T01:00:00.000Z' };
  const row = (overrides: Partial<SiteBadgeRow>): SiteBadgeRow => ({
    kind: 'mifare',
    uid: '04A1B2C3',
    employeeNumber: 'E001',
    name: 'Chan Tai Man',
    nameZh: null,
    employeeStatus: 'active',
    activeFrom: null,
    activeUntil: null,
    inactiveSince: null,
    assignedAt: '2026-01-01T00:00:00.000Z',
    revokedAt: null,
    consentAt: null,
    ...overrides,
  });
  const statusOf = (overrides: Partial<SiteBadgeRow>): string | undefined => buildRoster([row(overrides)], at)[0]?.status;

  it('decides each badge\'s status from the assignment, the employee and the dates, in the site\'s day', () => {
    expect(statusOf({})).toBe('active');
    expect(statusOf({ activeFrom: '2026-03-02', activeUntil: '2026-03-02' })).toBe('active');
    // Not started yet: refused until the first day.
    expect(statusOf({ activeFrom: '2026-03-03' })).toBe('revoked');
    // Past the last day: refused within the retention window, then left out.
    expect(statusOf({ activeUntil: '2026-03-01' })).toBe('revoked');
    expect(statusOf({ activeUntil: '2025-12-01' })).toBeUndefined();
    expect(statusOf({ employeeStatus: 'inactive', inactiveSince: '2026-02-01T00:00:00.000Z' })).toBe('revoked');
    expect(statusOf({ employeeStatus: 'inactive', inactiveSince: '2025-11-01T00:00:00.000Z' })).toBeUndefined();
    expect(statusOf({ revokedAt: '2026-02-01T00:00:00.000Z' })).toBe('revoked');
  });

  it('keeps one entry per credential (active first, else the latest), sorted, with consent on ble-tags only', () => {
    const roster = buildRoster(
      [
        row({ employeeNumber: 'E001', revokedAt: '2026-02-01T00:00:00.000Z' }),
        row({ employeeNumber: 'E002', name: 'Wong Siu Ming', nameZh: '黃小明' }),
        row({ employeeNumber: 'E003', uid: '0A0B0C0D', revokedAt: '2026-01-01T00:00:00.000Z' }),
        row({ employeeNumber: 'E004', uid: '0A0B0C0D', revokedAt: '2026-02-15T00:00:00.000Z' }),
        row({ employeeNumber: 'E002', kind: 'ble-tag', uid: 'C0FFEE', consentAt: '2026-02-01T00:00:00.000Z' }),
        row({ employeeNumber: 'E002', kind: 'em4100', uid: 'E3086CED', consentAt: '2026-02-01T00:00:00.000Z' }),
      ],
      at,
    );
    expect(roster).toEqual([
      { credential: { kind: 'ble-tag', uid: 'C0FFEE' }, employeeId: 'E002', name: 'Chan Tai Man', status: 'active', bleConsentAt: '2026-02-01T00:00:00.000Z' },
      { credential: { kind: 'em4100', uid: 'E3086CED' }, employeeId: 'E002', name: 'Chan Tai Man', status: 'active' },
      { credential: { kind: 'mifare', uid: '04A1B2C3' }, employeeId: 'E002', name: 'Wong Siu Ming 黃小明', status: 'active' },
      { credential: { kind: 'mifare', uid: '0A0B0C0D' }, employeeId: 'E004', name: 'Chan Tai Man', status: 'revoked' },
    ]);
    expect(rosterName('A'.repeat(118), '陳大文')).toBe(`${'A'.repeat(118)} 陳`);
    expect(rosterName('A'.repeat(119), '陳大文')).toBe('A'.repeat(119));
  });
});
