import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haversineMetres } from '../../core/location/geofence.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import type { TapResult } from '../../gateway/punch-desk.js';
import { testLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';
import { launchBrowser, type Browser } from './browser.js';
import { pageProblems, smallControls } from './console-session.js';

/**
 * The web console in a real browser (Debian Chromium, headless, tablet-sized with touch) against
 * a real dashboard (embedded broker, SQLite) and a real gateway in-process on that broker: sign
 * in with the one-time password and the forced change, a site with its geofence drawn on the map
 * (checked through the API), a device enrolled with its secret shown once (and used by the
 * gateway), an employee and a badge, a punch from the gateway arriving live, the badge revoked in
 * the console and refused by the gateway, a config change shown as pending while the gateway is
 * away and as applied once it is back, and the console in Traditional Chinese. Screenshots go
 * to test-artifacts/e2e/. The map has no tiles: the editor must work offline.
 */

const NEW_PASSWORD = 'correct horse battery staple 42';
const CENTRE = { lat: 22.3193, lon: 114.1694 };
const UID = '04A1B2C3';

describe('web console in Chromium', () => {
  let dir: string;
  let dashboard: Dashboard;
  let gateway: Gateway | undefined;
  let browser: Browser;
  let page: Page;
  let oneTimePassword = '';
  let deviceSecret = '';
  let gatewayConfig: GatewayConfig | undefined;
  const logger = testLogger();

  const api = async (method: 'GET' | 'POST', url: string): Promise<{ status: number; body: any }> => {
    const response = await dashboard.http.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${dashboard.apiToken}` } });
    return { status: response.statusCode, body: response.json() };
  };
  const tap = async (): Promise<{ result: TapResult; punchId: string | undefined }> => {
    const outcome = await gateway!.desk.submit({ readerId: 'door', read: { kind: 'mifare', uid: UID } });
    return { result: outcome.result, punchId: outcome.punch?.id };
  };
  /** Waits for the page the console navigates to, shell and script done. */
  const settled = async (): Promise<void> => {
    await page.waitForLoadState('load');
    await page.locator('#app > *').first().waitFor();
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-e2e-'));
    dashboard = await startDashboard(
      DashboardConfig.parse({
        dataDir: path.join(dir, 'dashboard'),
        http: { port: 0 },
        mqtt: { mode: 'embedded', port: 0 },
        // Plain http on loopback: no __Host-/Secure cookie.
        auth: { secureCookies: false },
      }),
      logger,
      { onFirstAdmin: (admin) => (oneTimePassword = admin.password) },
    );
    // A tablet in landscape, with touch.
    browser = await launchBrowser({ viewport: { width: 1024, height: 768 }, hasTouch: true, locale: 'en-GB', timezoneId: 'Asia/Hong_Kong' });
    page = browser.page;
    page.setDefaultTimeout(10_000);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends an anonymous visitor to sign in, forces the one-time password to be changed, then goes where it was going', async () => {
    expect(oneTimePassword).not.toBe('');
    await page.goto(`${dashboard.url}/sites`);
    await settled();
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/sites');

    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill('wrong password 123');
    await page.locator('[data-test="sign-in"]').click();
    await expect.poll(() => page.locator('[data-test="sign-in-form"] .form-error').textContent()).toContain('Wrong username or password');

    await page.getByLabel('Password', { exact: true }).fill(oneTimePassword);
    await page.locator('[data-test="sign-in"]').click();
    const change = page.locator('[data-test="change-password-form"]');
    await change.waitFor();
    await browser.screenshot('01-forced-password-change');
    // Too short first: the rule is shown, nothing is sent.
    await change.getByLabel('New password', { exact: true }).fill('short');
    await change.getByLabel('New password again').fill('short');
    await page.locator('[data-test="change-password"]').click();
    await expect.poll(() => change.locator('[data-field="newPassword"] .field-error').textContent()).toContain('At least 12 characters');

    await change.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await change.getByLabel('New password again').fill(NEW_PASSWORD);
    await Promise.all([page.waitForURL(`${dashboard.url}/sites`), page.locator('[data-test="change-password"]').click()]);
    await settled();
    await expect.poll(() => page.locator('[data-test="who"]').textContent()).toContain('admin');
    expect((await dashboard.auth.users.list({ limit: 10 })).users.find((user) => user.username === 'admin')?.mustChangePassword).toBe(false);
  }, 60_000);

  it('creates a site and draws its geofence on the map (no tiles), stored as drawn', async () => {
    await page.locator('[data-test="new-site"]').click();
    await page.waitForURL(/\/sites\?new=1$/);
    await settled();
    await page.locator('[data-test="site-id"]').fill('mk-01');
    await page.locator('[data-test="site-name"]').fill('Mong Kok');
    await page.getByLabel('Name (Traditional Chinese)').fill('旺角');
    await page.locator('[data-test="bssids"]').fill('a4:2b:b0:11:22:33');

    // Centre the blank map on a typed coordinate, then draw a four-cornered polygon by tapping it.
    await page.locator('[data-test="go-lat"]').fill(String(CENTRE.lat));
    await page.locator('[data-test="go-lon"]').fill(String(CENTRE.lon));
    await page.locator('[data-test="go"]').click();
    await page.locator('[data-test="fence-mode-polygon"]').click();
    const map = page.locator('[data-test="fence-map"]');
    await map.evaluate((element) => element.scrollIntoView({ block: 'center' }));
    expect(await map.evaluate((element) => element.classList.contains('no-tiles'))).toBe(true);
    const box = (await map.boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const corners: Array<[number, number]> = [
      [-120, -80],
      [120, -80],
      [120, 80],
      [-120, 80],
    ];
    for (const [dx, dy] of corners) await page.touchscreen.tap(cx + dx, cy + dy);
    await expect.poll(() => page.locator('[data-test="fence-summary"]').textContent()).toMatch(/Polygon with 4 corners/);
    expect((await page.locator('[data-test="polygon-points"]').inputValue()).trim().split('\n')).toHaveLength(4);
    // The blank map still says where it is: a scale bar and the coordinate grid.
    expect(await page.locator('.leaflet-control-scale-line').count()).toBeGreaterThan(0);
    expect(await page.locator('.grid-label').count()).toBeGreaterThan(0);
    await browser.screenshot('02-site-geofence');

    await Promise.all([page.waitForURL(/\/sites\?site=mk-01$/), page.locator('[data-test="save-site"]').click()]);
    await settled();

    const stored = await api('GET', '/sites/mk-01');
    expect(stored.status).toBe(200);
    const site = stored.body.site;
    expect(site).toMatchObject({ id: 'mk-01', name: 'Mong Kok', nameZh: '旺角', timeZone: 'Asia/Hong_Kong' });
    expect(site.policy).toMatchObject({ siteId: 'mk-01', accept: { anyOf: 1, factors: ['gps'] }, allowedBssids: ['A4:2B:B0:11:22:33'] });
    const fence = site.policy.geofence as { kind: string; points: Array<{ lat: number; lon: number }> };
    expect(fence.kind).toBe('polygon');
    expect(fence.points).toHaveLength(4);
    // Where the taps were: north-west, north-east, south-east, south-west of the centre, ~100 m out.
    const [nw, ne, se, sw] = fence.points as [typeof CENTRE, typeof CENTRE, typeof CENTRE, typeof CENTRE];
    expect(nw.lat).toBeGreaterThan(CENTRE.lat);
    expect(nw.lon).toBeLessThan(CENTRE.lon);
    expect(ne.lat).toBeGreaterThan(CENTRE.lat);
    expect(ne.lon).toBeGreaterThan(CENTRE.lon);
    expect(se.lat).toBeLessThan(CENTRE.lat);
    expect(se.lon).toBeGreaterThan(CENTRE.lon);
    expect(sw.lat).toBeLessThan(CENTRE.lat);
    expect(sw.lon).toBeLessThan(CENTRE.lon);
    for (const point of fence.points) {
      const metres = haversineMetres(CENTRE, point);
      expect(metres).toBeGreaterThan(40);
      expect(metres).toBeLessThan(400);
    }
    // The page shows the stored fence again, on the map and in numbers.
    await expect.poll(() => page.locator('[data-test="fence-summary"]').textContent()).toMatch(/Polygon with 4 corners/);
    await expect.poll(() => page.locator('[data-test="sites-table"]').textContent()).toContain('Mong Kok');
  }, 60_000);

  it('enrols a device and shows its secret once; the gateway connects with it', async () => {
    await page.goto(`${dashboard.url}/devices`);
    await settled();
    await page.locator('[data-test="enrol-device"]').click();
    await page.locator('[data-test="device-id"]').fill('gw-1');
    await page.locator('[data-test="device-site"]').selectOption('mk-01');
    await page.getByLabel('Name', { exact: true }).fill('Front door');
    await page.locator('[data-test="register-device"]').click();
    const dialog = page.locator('[data-test="secret-dialog"]');
    await dialog.waitFor();
    deviceSecret = ((await dialog.locator('[data-test="secret"]').textContent()) ?? '').trim();
    expect(deviceSecret.length).toBeGreaterThanOrEqual(20);
    expect(await dialog.textContent()).toContain('shown only once');
    await browser.screenshot('03-device-secret-once');
    await Promise.all([page.waitForURL(/\/devices\?device=gw-1$/), dialog.locator('[data-test="secret-done"]').click()]);
    await settled();
    await page.locator('[data-test="device-facts"]').waitFor();
    // Never again: not on the device's page, not in the API.
    expect(await page.content()).not.toContain(deviceSecret);
    expect(JSON.stringify((await api('GET', '/devices')).body)).not.toContain(deviceSecret);

    gatewayConfig = GatewayConfig.parse({
        deviceId: 'gw-1',
        siteId: 'mk-01',
        dataDir: path.join(dir, 'gateway'),
        http: { port: 0 },
        mqtt: { url: dashboard.brokerUrl, password: deviceSecret, batch: { ackTimeoutSeconds: 1 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.3 } },
        clock: { syncCommand: null },
      });
    gateway = await startGateway(gatewayConfig, logger, { uplink: { statusMinIntervalMs: 0 } });
    await waitFor('the gateway online at the dashboard', async () => (await dashboard.devices.get('gw-1'))?.online === true, 10_000);
    await page.reload();
    await settled();
    await expect.poll(() => page.locator('[data-test="device-facts"]').textContent(), { timeout: 10_000 }).toContain('online');
    await page.locator('[data-test="cmd-identify"]').click();
    await expect.poll(() => page.locator('[data-test="command-result"]').textContent(), { timeout: 10_000 }).toMatch(/Identify: (done|sent)/);
  }, 60_000);

  it("sets the site's address and hands-free punching, adds a beacon for the gateway and removes it, one at a time", async () => {
    await page.goto(`${dashboard.url}/sites?site=mk-01`);
    await settled();
    await page.locator('[data-test="site-address"]').fill('Shop 3, Mong Kok MTR Station, Kowloon');
    await page.locator('[data-test="site-address-zh"]').fill('九龍旺角港鐵站 3 號舖');
    await page.locator('[data-test="hands-free"]').check();
    await page.locator('[data-test="punch-out-after"]').fill('900');
    await page.locator('[data-test="site-languages"]').selectOption('zh-HK,en');
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="save-site"]').click()]);
    await settled();
    const saved = (await api('GET', '/sites/mk-01')).body.site;
    expect(saved).toMatchObject({ address: 'Shop 3, Mong Kok MTR Station, Kowloon', addressZh: '九龍旺角港鐵站 3 號舖', handsFree: { enabled: true, punchOutAfterSeconds: 900 }, languages: ['zh-HK', 'en'] });
    expect(await page.locator('[data-test="hands-free"]').isChecked()).toBe(true);
    expect(await page.locator('[data-test="site-languages"]').inputValue()).toBe('zh-HK,en');

    // Add an EID beacon for gw-1: sent at once with a key made in the browser, shown only by its fingerprint.
    await page.locator('[data-test="add-beacon"]').click();
    await page.locator('[data-test="beacon-gateway"]').fill('gw-1');
    await page.locator('[data-test="add-eid"]').click();
    const rows = page.locator('[data-test="beacon-table"] tr[data-beacon]');
    await expect.poll(() => rows.count()).toBe(1);
    const [beacon] = (await api('GET', '/sites/mk-01')).body.site.beacons;
    expect(beacon).toMatchObject({ kind: 'eid', gatewayId: 'gw-1', identityKeyFingerprint: expect.stringMatching(/^sha256:/) });
    expect(await rows.first().textContent()).toContain(beacon.identityKeyFingerprint);
    const key = (await dashboard.sites.get('mk-01'))?.beacons[0];
    expect(key?.kind).toBe('eid');
    const identityKey = key?.kind === 'eid' ? key.identityKey : '';
    expect((await page.content()).toUpperCase()).not.toContain(identityKey);
    // The gateway's config carries both, from the database.
    const pushed = await waitFor('hands-free and the new key in gw-1\'s config', async () => {
      const row = await dashboard.db.get<{ body: string }>('SELECT body FROM device_configs WHERE device_id = ?', ['gw-1']);
      const snapshot = row ? (JSON.parse(row.body) as { presence?: { handsFree?: { enabled: boolean }; beacon?: { eid?: { identityKey: string } } } }) : undefined;
      return snapshot?.presence?.handsFree?.enabled && snapshot.presence.beacon?.eid?.identityKey === identityKey ? snapshot : undefined;
    }, 10_000);
    expect(pushed.presence?.handsFree).toEqual({ enabled: true, punchOutAfterSeconds: 900 });
    await browser.screenshot('03b-site-hands-free-beacon');

    // Remove it again: the other settings stay, nothing is sent but its id.
    await page.locator('[data-test="remove-beacon"]').click();
    await page.locator('[data-test="confirm"]').click();
    await expect.poll(() => rows.count()).toBe(0);
    const after = (await api('GET', '/sites/mk-01')).body.site;
    expect(after.beacons).toEqual([]);
    expect(after).toMatchObject({ address: 'Shop 3, Mong Kok MTR Station, Kowloon', handsFree: { enabled: true, punchOutAfterSeconds: 900 } });
    expect((await api('GET', '/audit?entity=site&entityId=mk-01')).body.entries.map((entry: { action: string }) => entry.action).slice(0, 3)).toEqual([
      'site.beacon-remove',
      'site.beacon-add',
      'site.put',
    ]);
  }, 60_000);

  it('adds an employee with a badge, and shows a punch from the gateway live on the overview', async () => {
    await page.goto(`${dashboard.url}/employees?new=1`);
    await settled();
    await page.locator('[data-test="employee-number"]').fill('E001');
    await page.locator('[data-test="employee-name"]').fill('Chan Tai Man');
    await page.getByLabel('Name (Traditional Chinese)').fill('陳大文');
    await page.getByLabel('Mong Kok (mk-01)').check();
    await Promise.all([page.waitForURL(/\/employees\?employee=E001$/), page.locator('[data-test="save-employee"]').click()]);
    await settled();
    await page.locator('[data-test="badge-uid"]').fill(UID);
    await page.locator('[data-test="assign-badge-button"]').click();
    await page.locator(`[data-test="revoke-badge"][data-uid="${UID}"]`).waitFor();
    await waitFor('the badge in the gateway roster', async () => (await gateway!.health()).roster.entries === 1, 10_000);

    await page.goto(`${dashboard.url}/overview`);
    await settled();
    await page.locator('[data-test="live-status"][data-state="live"]').waitFor({ timeout: 10_000 });
    const started = performance.now();
    const first = await tap();
    expect(first.result).toBe('accepted');
    const item = page.locator(`[data-test="live-punch"][data-punch-id="${first.punchId}"]`);
    await item.waitFor({ timeout: 10_000 });
    const seenMs = performance.now() - started;
    console.info(`[e2e] tap at the gateway -> row in the browser's live feed: ${seenMs.toFixed(0)} ms`);
    expect(await item.textContent()).toContain('E001');
    expect(await item.textContent()).toContain(`mifare:${UID}`);
    await expect.poll(() => page.locator('[data-test="tile-online"] .tile-value').textContent()).toBe('1');
    await browser.screenshot('04-overview-live-punch');
  }, 60_000);

  it('revokes the badge in the console, and the gateway refuses it within seconds', async () => {
    await page.goto(`${dashboard.url}/employees?employee=E001`);
    await settled();
    await page.locator(`[data-test="revoke-badge"][data-uid="${UID}"]`).click();
    await page.locator('[data-test="revoke-reason"]').fill('lost');
    const started = performance.now();
    await page.locator('[data-test="confirm"], [data-test="confirm-revoke"]').first().click();
    await expect.poll(() => page.locator('[data-test="badge-table"]').textContent()).toContain('revoked');
    // Tap until refused (in between: 'accepted' from the old roster or 'duplicate' from the debounce).
    let result: TapResult = 'accepted';
    let taps = 0;
    while (result !== 'revoked') {
      expect(performance.now() - started, 'the revocation never reached the gateway').toBeLessThan(20_000);
      result = (await tap()).result;
      taps += 1;
      if (result !== 'revoked') await new Promise((resolve) => setTimeout(resolve, 25));
    }
    console.info(`[e2e] revoke clicked in the console -> gateway refuses the badge: ${(performance.now() - started).toFixed(0)} ms (${taps} taps)`);
    expect(result).toBe('revoked');
    await browser.screenshot('05-badge-revoked');
    const history = await api('GET', '/employees/E001/badges');
    expect(history.body.badges[0]).toMatchObject({ credential: { kind: 'mifare', uid: UID }, revokeReason: 'lost', revokedBy: expect.any(String), revokedByName: 'admin' });
    // Who assigned and revoked it, by name, in the console and for every role that may read the history (not only admins).
    const badgeRow = page.locator(`[data-test="badge-table"] tr[data-badge="mifare:${UID}"]`);
    await expect.poll(() => badgeRow.textContent()).toContain('· admin');
    const hr = (await dashboard.auth.tokens.create({ name: 'hr reader', role: 'hr' }, undefined)).secret;
    const asHr = await dashboard.http.inject({ method: 'GET', url: '/api/v1/employees/E001/badges', headers: { authorization: `Bearer ${hr}` } });
    expect(asHr.json<{ badges: unknown[] }>().badges[0]).toMatchObject({ assignedByName: 'admin', revokedByName: 'admin' });
  }, 60_000);

  it('shows a config change as pending while the gateway is away, and as applied once it has taken it', async () => {
    const configState = page.locator('[data-test="config-state"]');
    const versionsOf = (text: string | null): { requested: string; applied: string } => {
      const match = /requested (v\d+|—), applied (v\d+|—)/.exec(text ?? '');
      return { requested: match?.[1] ?? '?', applied: match?.[2] ?? '?' };
    };
    await page.goto(`${dashboard.url}/devices?device=gw-1`);
    await settled();
    await expect.poll(() => configState.textContent(), { timeout: 10_000 }).toContain('applied');
    const before = versionsOf(await configState.textContent());
    expect(before.requested).toBe(before.applied);

    await gateway!.stop();
    gateway = undefined;
    // A change that reaches the gateway's config: the site's name, saved in the console.
    await page.goto(`${dashboard.url}/sites?site=mk-01`);
    await settled();
    await page.locator('[data-test="site-name"]').fill('Mong Kok (renamed)');
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="save-site"]').click()]);
    await settled();

    await page.goto(`${dashboard.url}/devices?device=gw-1`);
    await settled();
    await expect
      .poll(async () => {
        await page.reload();
        await settled();
        return versionsOf(await configState.textContent()).requested;
      }, { timeout: 10_000 })
      .not.toBe(before.requested);
    const pending = await configState.textContent();
    expect(pending).toContain('pending');
    expect(versionsOf(pending).applied).toBe(before.applied);
    await browser.screenshot('05b-config-pending');

    gateway = await startGateway(gatewayConfig!, logger, { uplink: { statusMinIntervalMs: 0 } });
    await expect
      .poll(async () => {
        await page.reload();
        await settled();
        return configState.textContent();
      }, { timeout: 15_000 })
      .toMatch(/applied (v\d+)\s*applied/);
    const after = versionsOf(await configState.textContent());
    expect(after.applied).toBe(versionsOf(pending).requested);
    expect(await configState.textContent()).not.toContain('pending');
    await browser.screenshot('05c-config-applied');
  }, 60_000);

  it('degrades on a dashboard without the overview, the live feed or device details: "not available", the rest still works', async () => {
    const missing = async (route: import('playwright-core').Route): Promise<void> => {
      const url = new URL(route.request().url());
      await route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ message: `Route GET:${url.pathname} not found`, error: 'Not Found', statusCode: 404 }) });
    };
    await page.route('**/api/v1/overview?*', missing);
    await page.route('**/api/v1/overview', missing);
    await page.route('**/api/v1/punches/live', missing);
    await page.route('**/api/v1/devices/gw-1', missing);
    try {
      await page.goto(`${dashboard.url}/overview`);
      await settled();
      await page.locator('[data-test="live"] [data-test="not-available"]').waitFor();
      // The tiles come from the device list and a punch search instead.
      await expect.poll(() => page.locator('[data-test="tile-online"] .tile-value').textContent()).toBe('1');
      const today = (await api('GET', '/punches')).body.punches.length as number;
      expect(today).toBeGreaterThanOrEqual(1);
      await expect.poll(() => page.locator('[data-test="tile-today"] .tile-value').textContent()).toBe(String(today));
      await page.goto(`${dashboard.url}/devices?device=gw-1`);
      await settled();
      await page.locator('[data-test="device-detail"] [data-test="not-available"]').waitFor();
      await expect.poll(() => page.locator('[data-test="device-facts"]').textContent()).toContain('Mong Kok');
    } finally {
      await page.unrouteAll();
    }
  }, 60_000);

  it('makes an API token shown once, and finds the punches and the changes made so far', async () => {
    await page.goto(`${dashboard.url}/tokens`);
    await settled();
    await page.locator('[data-test="new-token"]').click();
    await page.locator('[data-test="token-name"]').fill('payroll export');
    await page.locator('[data-test="role"]').selectOption('hr');
    await page.locator('[data-test="create-token"]').click();
    const dialog = page.locator('[data-test="secret-dialog"]');
    const secret = ((await dialog.locator('[data-test="secret"]').textContent()) ?? '').trim();
    await dialog.locator('[data-test="secret-done"]').click();
    await expect.poll(() => page.locator('[data-test="tokens-table"]').textContent()).toContain('payroll export');
    expect(await page.content()).not.toContain(secret);
    const asToken = await dashboard.http.inject({ method: 'GET', url: '/api/v1/punches', headers: { authorization: `Bearer ${secret}` } });
    expect(asToken.statusCode).toBe(200);
    expect(asToken.json<{ punches: unknown[] }>().punches.length).toBeGreaterThanOrEqual(1);

    await page.goto(`${dashboard.url}/punches`);
    await settled();
    await expect.poll(() => page.locator('[data-test="punch-table"]').textContent()).toContain(`mifare:${UID}`);
    expect(await page.locator('[data-test="punch-table"]').textContent()).toContain('E001');
    await browser.screenshot('06-punches');
    await page.getByLabel('Unknown badges only').check();
    await page.locator('[data-test="search-punches"]').click();
    await expect.poll(() => page.locator('[data-test="punch-table"]').textContent()).toContain('No punches match');
    expect(new URL(page.url()).searchParams.get('unknown')).toBe('true');

    await page.goto(`${dashboard.url}/audit`);
    await settled();
    const audit = page.locator('[data-test="audit-table"]');
    await expect.poll(() => audit.textContent()).toContain('badge.revoke');
    for (const action of ['site.put', 'device.register', 'employee.create', 'badge.assign', 'token.create']) expect(await audit.textContent(), action).toContain(action);

    await page.goto(`${dashboard.url}/users`);
    await settled();
    await expect.poll(() => page.locator('[data-test="users-table"]').textContent()).toContain('admin');
    expect(await page.locator('[data-test="not-available"]').count()).toBe(0);
  }, 60_000);

  it('switches to Traditional Chinese and remembers it', async () => {
    await page.goto(`${dashboard.url}/overview`);
    await settled();
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await settled();
    await page.locator('html[lang="zh-HK"]').waitFor();
    await expect.poll(() => page.locator('nav').textContent()).toContain('概覽');
    await expect.poll(() => page.locator('[data-test="tile-online"] .tile-label').textContent()).toBe('在線裝置');
    await page.goto(`${dashboard.url}/sites?site=mk-01`);
    await settled();
    await expect.poll(() => page.locator('h1').first().textContent()).toBe('地點');
    await expect.poll(() => page.locator('[data-test="fence-summary"]').textContent()).toContain('有 4 個角點的多邊形');
    await browser.screenshot('07-site-zh-hk');
    // Every key was found: no message key shows through as text.
    const text = await page.locator('body').innerText();
    expect(text).not.toMatch(/\b(nav|sites|fence|common|beacon|factor)\.[a-zA-Z]+/);
    // Back to English, remembered as well.
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await page.locator('html[lang="en"]').waitFor();
  }, 60_000);

  it('keeps the strict CSP: no violations, no script errors, every control touch-sized', async () => {
    await page.goto(`${dashboard.url}/devices?device=gw-1`);
    await settled();
    // Visible buttons, links styled as buttons, inputs and selects: at least 40 px tall for a finger (the CSS aims at 44).
    const small = await smallControls(page);
    expect(small).toEqual([]);
    const problems = pageProblems(browser);
    expect(problems).toEqual([]);
    const csp = (await page.request.get(`${dashboard.url}/overview`, { maxRedirects: 0 })).headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
  }, 60_000);
});
