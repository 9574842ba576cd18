import { execFile } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import mqtt from 'mqtt';
import QRCode from 'qrcode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../dashboard/auth/audit.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { loadGatewayConfig } from '../../gateway/config-file.js';
import type { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { mosquittoAclFile } from '../../provisioning/mosquitto.js';
import { mosquittoPasswordFile } from '../../provisioning/mosquitto-passwd.js';
import { newDeviceSecret } from '../../provisioning/device-secrets.js';
import { testLogger } from '../support/logger.js';
import { MosquittoBroker } from '../support/mosquitto.js';
import { wifiOnlyPolicy } from '../support/site-policy.js';
import { waitFor } from '../support/wait.js';

/**
 * Device enrolment end to end, on the real dashboard (HTTP, auth, SQLite, embedded broker; and a
 * real Mosquitto for the external-broker case): register a device, download its bundle once
 * through the one-time link, unpack it with the real `tar`, load its config with the gateway's own
 * loader and start a real gateway from it, which comes online at the dashboard. Re-enrolment
 * replaces the secret: the running gateway is dropped and refused, the new bundle's gateway
 * connects. Spent, expired, replaced and unknown links answer 404 saying which; the database
 * never holds a usable bundle or link.
 */

const execFileAsync = promisify(execFile);

interface Json {
  [key: string]: any;
}

interface Enrolled {
  device: Json;
  secret: string;
  mqtt: { username: string; clientId: string; password: string; url: string };
  enrolment: { url: string; path: string; fileName: string; expiresAt: string; qrSvg: string; brokerUrl: string; warnings: Array<{ code: string; message: string }>; mosquitto: { passwordLine: string; acl: string } | null };
}

/** Unpacks a downloaded bundle with the real `tar`, as the README tells the technician. */
async function unpack(archive: Buffer, into: string): Promise<void> {
  await mkdir(into, { recursive: true });
  const file = path.join(into, '..', `${path.basename(into)}.tar.gz`);
  await writeFile(file, archive);
  await execFileAsync('tar', ['-xzf', file, '-C', into, '--strip-components=1', '--no-same-owner']);
}

/**
 * The bundle's config as the gateway's loader reads it, with only what this machine needs changed:
 * a data dir in the temp dir (not /var/lib), a free HTTP port, no clock command, quick reconnects.
 * The broker URL, username, password file and CA stay the bundle's.
 */
async function bundleGatewayConfig(dir: string, dataDir: string): Promise<GatewayConfig> {
  const loaded = await loadGatewayConfig(path.join(dir, 'gateway.json'));
  if (!loaded.mqtt) throw new Error('the bundle has no mqtt section');
  return {
    ...loaded,
    dataDir,
    http: { host: '127.0.0.1', port: 0 },
    clock: { ...loaded.clock, syncCommand: null },
    mqtt: { ...loaded.mqtt, reconnect: { minSeconds: 0.05, maxSeconds: 0.3 } },
  };
}

describe('device enrolment on the embedded broker', () => {
  let dir: string;
  let dashboard: Dashboard;
  /** Added to the real time: moves the dashboard's clock forward past a link's expiry. */
  let clockOffsetMs = 0;
  const gateways: Gateway[] = [];
  let mkManager: string;
  let tstFacilities: string;
  let hr: string;

  async function api(method: string, route: string, body?: unknown, token = dashboard.apiToken): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${dashboard.url}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  async function register(id: string, siteId = 'mk-01'): Promise<Enrolled> {
    const response = await api('POST', '/devices', { id, siteId, name: `Gateway ${id}` });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body as Enrolled;
  }

  /** The link as a technician's Pi fetches it (`curl -fOJ -X POST LINK`): no credentials at all. */
  async function download(url: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
    const response = await fetch(url, { method: 'POST' });
    return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
  }

  async function auditOf(deviceId: string): Promise<AuditEntry[]> {
    return (await dashboard.auth.audit.list({ entity: 'device', entityId: deviceId, limit: 100 })).entries.reverse();
  }

  async function startFromBundle(archive: Buffer, name: string): Promise<Gateway> {
    const bundleDir = path.join(dir, name);
    await unpack(archive, bundleDir);
    const gateway = await startGateway(await bundleGatewayConfig(bundleDir, path.join(dir, `${name}-data`)), testLogger(), { uplink: { statusMinIntervalMs: 0 } });
    gateways.push(gateway);
    return gateway;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-enrolment-'));
    dashboard = await startDashboard(
      DashboardConfig.parse({ dataDir: path.join(dir, 'dashboard'), http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 }, auth: { loginAttemptsPerMinute: 50 } }),
      testLogger(),
      { onFirstAdmin: () => undefined, now: () => new Date(Date.now() + clockOffsetMs) },
    );
    await dashboard.sites.put({ id: 'mk-01', name: 'Mong Kok', nameZh: '旺角', timeZone: 'Asia/Hong_Kong', policy: wifiOnlyPolicy('mk-01'), beacons: [] }, new Date());
    await dashboard.sites.put({ id: 'tst-02', name: 'Tsim Sha Tsui', nameZh: null, timeZone: 'Asia/Hong_Kong', policy: wifiOnlyPolicy('tst-02'), beacons: [] }, new Date());
    mkManager = (await dashboard.auth.tokens.create({ name: 'mk manager', role: 'store-manager', sites: ['mk-01'] }, undefined)).secret;
    tstFacilities = (await dashboard.auth.tokens.create({ name: 'tst facilities', role: 'facilities', sites: ['tst-02'] }, undefined)).secret;
    hr = (await dashboard.auth.tokens.create({ name: 'hr', role: 'hr' }, undefined)).secret;
  });

  afterEach(() => {
    clockOffsetMs = 0;
  });

  afterAll(async () => {
    for (const gateway of gateways.splice(0)) await gateway.stop().catch(() => undefined);
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers a device with a one-time link and its QR code; the bundle downloads once, unpacks with tar, and a gateway started from it comes online', async () => {
    const before = Date.now();
    const enrolled = await register('gw-1');
    const { enrolment } = enrolled;
    expect(enrolment.url).toBe(`${dashboard.url}${enrolment.path}`);
    expect(enrolment.path).toMatch(/^\/api\/v1\/enrolment\/pge_[A-Za-z0-9_-]{43}$/);
    expect(enrolment.fileName).toBe('punchgate-enrol-gw-1.tar.gz');
    expect(enrolment.brokerUrl).toBe(dashboard.brokerUrl);
    expect(enrolment.mosquitto).toBeNull();
    // 24 hours from registration.
    const lifetime = Date.parse(enrolment.expiresAt) - before;
    expect(lifetime).toBeGreaterThanOrEqual(24 * 3600_000);
    expect(lifetime).toBeLessThan(24 * 3600_000 + 60_000);
    // The embedded broker listens on 127.0.0.1: the answer says a Pi elsewhere could not reach it.
    expect(enrolment.warnings).toEqual([{ code: 'loopback-broker', message: expect.stringContaining('set enrolment.brokerUrl in the dashboard config') }]);
    // The QR code is the link's (the same encoder, the same options, the same picture).
    expect(enrolment.qrSvg).toBe(await QRCode.toString(enrolment.url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }));
    expect(enrolment.qrSvg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);

    const first = await download(enrolment.url);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/gzip');
    expect(first.headers.get('content-disposition')).toBe('attachment; filename="punchgate-enrol-gw-1.tar.gz"');
    expect(first.headers.get('cache-control')).toBe('no-store');

    const gateway = await startFromBundle(first.bytes, 'gw-1');
    expect(await readFile(path.join(dir, 'gw-1', 'secret'), 'utf8')).toBe(`${enrolled.secret}\n`);
    await waitFor('gw-1 online at the dashboard', async () => (await dashboard.devices.get('gw-1'))?.online === true, 15_000);
    expect(gateway.uplink?.connected).toBe(true);
    // It runs as the site's gateway: the config push reaches it.
    await waitFor('the pushed config applied at the gateway', async () => (await gateway.health()).config.version !== null, 15_000);

    // Once only: a second download (the same link) says it was used, and when.
    const second = await download(enrolment.url);
    expect(second.status).toBe(404);
    const refusal = JSON.parse(second.bytes.toString()) as { error: string };
    expect(refusal.error).toMatch(/^this enrolment link of device gw-1 was already used \(downloaded at \d{4}-\d\d-\d\dT.+\); links work once: ask for a new one/);
    expect(refusal.error).not.toContain(enrolment.path.split('/').pop());

    const audit = await auditOf('gw-1');
    expect(audit.map((entry) => entry.action)).toEqual(['device.register', 'device.enrolment-download']);
    expect(audit[0]?.after).toMatchObject({ id: 'gw-1', enrolment: { fileName: 'punchgate-enrol-gw-1.tar.gz', expiresAt: enrolment.expiresAt } });
    expect(audit[1]).toMatchObject({ actor: { kind: 'system', id: 'enrolment-link' }, after: { fileName: 'punchgate-enrol-gw-1.tar.gz', from: expect.any(String) } });
    expect(JSON.stringify(audit)).not.toContain(enrolled.secret);
  }, 60_000);

  it('re-enrols a replaced box: new secret and bundle, the old gateway is dropped at once and refused; the new bundle\'s gateway connects', async () => {
    const enrolled = await register('gw-2');
    const oldGateway = await startFromBundle((await download(enrolled.enrolment.url)).bytes, 'gw-2-old');
    await waitFor('the old box online', () => oldGateway.uplink?.connected === true, 15_000);

    const reEnrolled = await api('POST', '/devices/gw-2/enrolment');
    expect(reEnrolled.status, JSON.stringify(reEnrolled.body)).toBe(201);
    const answer = reEnrolled.body as Enrolled;
    expect(answer.secret).not.toBe(enrolled.secret);
    expect(answer.device).toMatchObject({ id: 'gw-2', siteId: 'mk-01', name: 'Gateway gw-2', enabled: true });
    expect(answer.mqtt).toEqual({ username: 'gw-2', clientId: 'gw-2', password: answer.secret, url: dashboard.brokerUrl });
    expect(answer.enrolment.url).not.toBe(enrolled.enrolment.url);

    // The open connection made with the old secret is closed, and its reconnects are refused.
    await waitFor('the old box dropped', () => oldGateway.uplink?.connected === false, 10_000);
    await waitFor('the old box refused at reconnect', async () => {
      const health = await oldGateway.health();
      return health.uplink.enabled && /bad user ?name or password|not authori[sz]ed/i.test(health.uplink.lastError ?? '');
    }, 10_000);
    expect(oldGateway.uplink?.connected).toBe(false);
    await expect(mqtt.connectAsync(dashboard.brokerUrl, { clientId: 'gw-2', username: 'gw-2', password: enrolled.secret, reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/i);
    await oldGateway.stop();
    gateways.splice(gateways.indexOf(oldGateway), 1);

    const newGateway = await startFromBundle((await download(answer.enrolment.url)).bytes, 'gw-2-new');
    await waitFor('the new box online', () => newGateway.uplink?.connected === true, 15_000);
    await waitFor('gw-2 online at the dashboard', async () => (await dashboard.devices.get('gw-2'))?.online === true, 15_000);

    const audit = await auditOf('gw-2');
    expect(audit.map((entry) => entry.action)).toEqual(['device.register', 'device.enrolment-download', 'device.re-enrol', 'device.enrolment-download']);
    expect(audit[2]).toMatchObject({ actor: { kind: 'token' }, after: { secret: 'replaced', enrolment: { fileName: 'punchgate-enrol-gw-2.tar.gz', expiresAt: answer.enrolment.expiresAt } } });
    expect(JSON.stringify(audit)).not.toContain(answer.secret);
  }, 60_000);

  it('retires a link not yet used when the device is re-enrolled: it answers that a newer enrolment replaced it', async () => {
    const enrolled = await register('gw-3');
    const reEnrolled = await api('POST', '/devices/gw-3/enrolment');
    expect(reEnrolled.status).toBe(201);
    const stale = await download(enrolled.enrolment.url);
    expect(stale.status).toBe(404);
    expect(JSON.parse(stale.bytes.toString()).error).toMatch(/^this enrolment link of device gw-3 was replaced by a newer enrolment at .+, and its secret no longer works/);
    expect((await download((reEnrolled.body as Enrolled).enrolment.url)).status).toBe(200);
  });

  it('answers an expired link with 404 (and deletes its bytes); expired bundles lose their bytes without any download too', async () => {
    const expiring = await register('gw-4');
    const untouched = await register('gw-5');
    clockOffsetMs = 24 * 3600_000 + 1000;
    const late = await download(expiring.enrolment.url);
    expect(late.status).toBe(404);
    expect(JSON.parse(late.bytes.toString()).error).toBe(`this enrolment link of device gw-4 expired at ${expiring.enrolment.expiresAt}: ask for a new one: re-enrol the device in the console (Devices, Re-enrol) or with POST /api/v1/devices/{id}/enrolment`);
    const stored = async (deviceId: string): Promise<Array<{ bytes: number | null }>> =>
      dashboard.db.all<{ bytes: number | null }>('SELECT length(sealed_bundle) AS bytes FROM device_enrolments WHERE device_id = ?', [deviceId]);
    expect(await stored('gw-4')).toEqual([{ bytes: null }]);
    // gw-5's link was never used; the next registration prunes its bytes all the same.
    expect((await stored('gw-5'))[0]?.bytes).toBeGreaterThan(0);
    await register('gw-6');
    expect(await stored('gw-5')).toEqual([{ bytes: null }]);
    expect((await download(untouched.enrolment.url)).status).toBe(404);
    // Still valid just before the deadline.
    clockOffsetMs = 0;
    const fresh = await register('gw-7');
    clockOffsetMs = 24 * 3600_000 - 60_000;
    expect((await download(fresh.enrolment.url)).status).toBe(200);
  });

  it('keeps neither a usable link nor a readable bundle in the database', async () => {
    const enrolled = await register('gw-8');
    const token = enrolled.enrolment.path.split('/').pop() as string;
    const rows = await dashboard.db.all<{ token_sha256: string; sealed_bundle: Buffer }>("SELECT token_sha256, sealed_bundle FROM device_enrolments WHERE device_id = 'gw-8'");
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row?.token_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.token_sha256).not.toContain(token);
    // Sealed: not gzip, and neither the secret nor the device's config can be read from it.
    expect(() => gunzipSync(row!.sealed_bundle)).toThrow();
    expect(row!.sealed_bundle.includes(Buffer.from(enrolled.secret))).toBe(false);
    // The link still works (the key comes from the token), once.
    expect((await download(enrolled.enrolment.url)).status).toBe(200);
  });

  it('refuses malformed and unknown links, and rate-limits attempts per client address like sign-in', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const malformed = await dashboard.http.inject({ method, url: '/api/v1/enrolment/not-a-token', headers: { accept: 'text/html' } });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json()).toMatchObject({ issues: [{ in: 'params', field: 'token', message: 'is not an enrolment token (pge_ and 43 letters, digits, "-" or "_")' }] });
    }
    const unknown = await dashboard.http.inject({ method: 'POST', url: `/api/v1/enrolment/pge_${'A'.repeat(43)}` });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatch(/^this enrolment link is not known/);
    const enrolled = await register('gw-9');
    expect((await dashboard.http.inject({ method: 'HEAD', url: enrolled.enrolment.path })).statusCode).toBe(404);
    expect((await download(enrolled.enrolment.url)).status).toBe(200);

    // 50 a minute here; one client address past it gets 429, another is still served.
    const from = (remoteAddress: string) => dashboard.http.inject({ method: 'POST', url: `/api/v1/enrolment/pge_${'B'.repeat(43)}`, remoteAddress });
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 50; attempt++) statuses.push((await from('10.9.8.7')).statusCode);
    expect(statuses.every((status) => status === 404)).toBe(true);
    const limited = await from('10.9.8.7');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toMatch(/^too many requests/);
    expect((await from('10.9.8.8')).statusCode).toBe(404);
  }, 60_000);

  it("opening a link (a browser, a chat's link preview, curl without POST) shows what it holds and never spends it", async () => {
    const enrolled = await register('gw-20');
    const { url } = enrolled.enrolment;
    // What chat apps send to draw a preview (and what a phone scanning the QR code sends): a GET for HTML.
    for (const accept of ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'text/html']) {
      const page = await fetch(url, { headers: { accept, 'user-agent': 'WhatsApp/2.23.20.0' } });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('cache-control')).toBe('no-store');
      const html = await page.text();
      expect(html).toContain('Enrolment bundle of gateway gw-20<br>閘道 gw-20 的登記套件');
      expect(html).toContain(`<dt>Link works until 連結有效至</dt><dd>${enrolled.enrolment.expiresAt}</dd>`);
      expect(html).toContain('<form method="post"');
      expect(html).toContain(`curl -fOJ -X POST '${url}'`);
      // The secret is in the bundle only, never on the page.
      expect(html).not.toContain(enrolled.secret);
    }
    // A program's GET (curl's Accept: */*) is told to POST, with the line to use.
    const programmatic = await fetch(url, { headers: { accept: '*/*' } });
    expect(programmatic.status).toBe(405);
    expect(programmatic.headers.get('allow')).toBe('POST');
    expect(((await programmatic.json()) as { error: string }).error).toBe(`an enrolment link downloads with POST (once): curl -fOJ -X POST '${url}'; a GET only shows a browser the link's page`);
    expect((await auditOf('gw-20')).map((entry) => entry.action)).toEqual(['device.register']);

    // The page's button posts an empty form: that is the one download.
    const fromButton = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(fromButton.status).toBe(200);
    expect(fromButton.headers.get('content-disposition')).toBe(`attachment; filename="${enrolled.enrolment.fileName}"`);
    expect(gunzipSync(Buffer.from(await fromButton.arrayBuffer())).length).toBeGreaterThan(0);
    expect((await auditOf('gw-20')).map((entry) => entry.action)).toEqual(['device.register', 'device.enrolment-download']);
    // Opened afterwards, the page says it was used, in both languages (404).
    const spent = await fetch(url, { headers: { accept: 'text/html' } });
    expect(spent.status).toBe(404);
    const spentHtml = await spent.text();
    expect(spentHtml).toMatch(/this enrolment link of device gw-20 was already used \(downloaded at \d{4}-/);
    expect(spentHtml).toContain('裝置 gw-20 的登記連結已被使用');
    expect(spentHtml).not.toContain('<form');
    // Unknown links get the page too, and a form body that is too large is refused without spending anything.
    const unknown = await fetch(`${dashboard.url}/api/v1/enrolment/pge_${'C'.repeat(43)}`, { headers: { accept: 'text/html' } });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('此登記連結不存在');
    const other = await register('gw-21');
    const tooLarge = await fetch(other.enrolment.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x'.repeat(4096) });
    expect(tooLarge.status).toBe(413);
    expect((await download(other.enrolment.url)).status).toBe(200);
  });

  it('re-enrols only devices the principal may change and reach, and validates the id', async () => {
    await register('gw-10');
    const malformed = await api('POST', '/devices/bad%2Fid/enrolment');
    expect(malformed.status).toBe(400);
    expect(malformed.body.issues).toEqual([{ in: 'params', field: 'id', message: 'may hold only letters, digits, "_", "." and "-", starting with a letter or digit, at most 64 characters' }]);
    expect((await api('POST', '/devices/gw-404/enrolment')).status).toBe(404);
    // A store manager may not change devices at all; facilities of another site does not see it; HR neither.
    expect((await api('POST', '/devices/gw-10/enrolment', undefined, mkManager)).status).toBe(403);
    expect((await api('POST', '/devices/gw-10/enrolment', undefined, hr)).status).toBe(403);
    const otherSite = await api('POST', '/devices/gw-10/enrolment', undefined, tstFacilities);
    expect(otherSite.status).toBe(404);
    expect(otherSite.body.error).toBe('device gw-10 is not registered');
    // Nothing changed: one bundle, the registration's.
    expect(await dashboard.db.all("SELECT device_id FROM device_enrolments WHERE device_id = 'gw-10'")).toHaveLength(1);
    expect((await auditOf('gw-10')).map((entry) => entry.action)).toEqual(['device.register']);
  });

  it('warns that a disabled device stays refused after re-enrolment, and answers for a device at a site that does not exist', async () => {
    await register('gw-11');
    expect((await api('PATCH', '/devices/gw-11', { enabled: false, reason: 'stolen' })).status).toBe(200);
    const reEnrolled = await api('POST', '/devices/gw-11/enrolment');
    expect(reEnrolled.status).toBe(201);
    expect(reEnrolled.body.enrolment.warnings).toContainEqual({ code: 'device-disabled', message: 'device gw-11 is disabled: enable it, or the broker refuses the new gateway too' });
    const nowhere = await register('gw-12', 'no-such-site');
    expect(nowhere.enrolment.warnings).toContainEqual({ code: 'unknown-site', message: 'site no-such-site does not exist: the gateway starts with the Hong Kong time zone and no site name until the site is created' });
  });
});

describe('device enrolment on an external Mosquitto', () => {
  const dashboardPassword = newDeviceSecret();
  let broker: MosquittoBroker;
  let dir: string;
  let dashboard: Dashboard;
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    broker = await MosquittoBroker.start({ acl: mosquittoAclFile({ dashboardUsername: 'dashboard' }), users: {}, passwordFile: mosquittoPasswordFile([{ username: 'dashboard', password: dashboardPassword }]) });
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-enrolment-mosq-'));
    dashboard = await startDashboard(
      DashboardConfig.parse({
        dataDir: path.join(dir, 'dashboard'),
        http: { port: 0 },
        mqtt: { mode: 'external', url: broker.url, username: 'dashboard', password: dashboardPassword },
        // The address technicians use (a reverse proxy in front, say): links and QR codes carry it.
        enrolment: { dashboardUrl: 'https://dashboard.example.hk/' },
      }),
      testLogger(),
      { onFirstAdmin: () => undefined },
    );
    await dashboard.sites.put({ id: 'mk-01', name: 'Mong Kok', nameZh: '旺角', timeZone: 'Asia/Hong_Kong', policy: wifiOnlyPolicy('mk-01'), beacons: [] }, new Date());
  });

  afterAll(async () => {
    for (const gateway of gateways.splice(0)) await gateway.stop().catch(() => undefined);
    await dashboard?.stop();
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const inject = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
    const response = await dashboard.http.inject({ method, url, headers: { authorization: `Bearer ${dashboard.apiToken}` }, ...(body === undefined ? {} : { payload: body as object }) });
    const bytes = response.headers['content-type'] === 'application/gzip';
    return { status: response.statusCode, body: bytes ? response.rawPayload : (response.json() as Json), headers: response.headers };
  };

  it('answers the Mosquitto password-file line and ACL; installed in the real broker, the bundle\'s gateway connects; after re-enrolment the replaced line refuses the old secret', async () => {
    const registered = await inject('POST', '/api/v1/devices', { id: 'gw-m1', siteId: 'mk-01' });
    expect(registered.status).toBe(201);
    const enrolled = registered.body as Enrolled;
    expect(enrolled.enrolment.url).toBe(`https://dashboard.example.hk${enrolled.enrolment.path}`);
    expect(enrolled.enrolment.brokerUrl).toBe(broker.url);
    const { passwordLine, acl } = enrolled.enrolment.mosquitto!;
    // Mosquitto's $7$ line for this device and this secret.
    const [, salt, hash] = /^gw-m1:\$7\$101\$([^$]+)\$([^$]+)$/.exec(passwordLine) ?? [];
    expect(Buffer.from(hash!, 'base64').equals(pbkdf2Sync(enrolled.secret, Buffer.from(salt!, 'base64'), 101, 64, 'sha512'))).toBe(true);
    expect(acl).toContain('pattern write punchgate/v1/devices/%u/punches');
    expect(acl).toContain('pattern read punchgate/v1/devices/%u/config');

    // The broker's admin installs the line; the Pi installs the bundle (fetched by path: the public address is not this test's).
    const withDashboard = mosquittoPasswordFile([{ username: 'dashboard', password: dashboardPassword }]);
    await broker.reloadPasswordFile(`${withDashboard}${passwordLine}\n`);
    const download = await inject('POST', enrolled.enrolment.path);
    expect(download.status).toBe(200);
    const bundleDir = path.join(dir, 'gw-m1');
    await unpack(download.body as Buffer, bundleDir);
    const gateway = await startGateway(await bundleGatewayConfig(bundleDir, path.join(dir, 'gw-m1-data')), testLogger(), { uplink: { statusMinIntervalMs: 0 } });
    gateways.push(gateway);
    await waitFor('gw-m1 online at the dashboard through Mosquitto', async () => (await dashboard.devices.get('gw-m1'))?.online === true, 15_000);

    // Re-enrolment: the dashboard cannot drop a connection at someone else's broker; it says so.
    const reEnrolled = await inject('POST', '/api/v1/devices/gw-m1/enrolment');
    expect(reEnrolled.status).toBe(201);
    const answer = reEnrolled.body as Enrolled;
    expect(answer.enrolment.warnings).toContainEqual({ code: 'external-broker-old-secret', message: expect.stringContaining('the external broker still accepts the old secret: replace the line of gw-m1') });
    await broker.reloadPasswordFile(`${withDashboard}${answer.enrolment.mosquitto!.passwordLine}\n`);
    await expect(mqtt.connectAsync(broker.url, { clientId: 'gw-m1-probe', username: 'gw-m1', password: enrolled.secret, protocolVersion: 4, reconnectPeriod: 0 })).rejects.toMatchObject({ code: 5 });
    const probe = await mqtt.connectAsync(broker.url, { clientId: 'gw-m1-probe', username: 'gw-m1', password: answer.secret, protocolVersion: 4, reconnectPeriod: 0 });
    await probe.endAsync();
  }, 60_000);
});
