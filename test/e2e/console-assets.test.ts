import { execFile } from 'node:child_process';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialKinds } from '../../core/credential.js';
import { locationFactors } from '../../core/location/site-location-policy.js';
import { PunchDirection, PunchMethod } from '../../core/punch.js';
import { roles } from '../../dashboard/auth/permissions.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { AttentionReason, HealthLevel } from '../../dashboard/live/device-state.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { consolePages, safeNext, tileImageSource } from '../../dashboard/web/web-plugin.js';
import { testLogger } from '../support/logger.js';
import { signIn } from '../support/dashboard-auth.js';

/**
 * The console without a browser: its two message catalogues (same keys, same placeholders, every
 * key the code asks for), its browser code type-checked against the DOM and Leaflet, and what the
 * server sends: the page shells, the assets, the CSP (the tile server's origin only when one is
 * configured), and what a browser gets instead of a 401/403.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const web = path.join(root, 'dashboard/web');
const publicDir = path.join(web, 'public');

async function catalogue(lang: string): Promise<Record<string, string>> {
  return JSON.parse(await readFile(path.join(publicDir, 'i18n', `${lang}.json`), 'utf8')) as Record<string, string>;
}

async function browserSources(dir = publicDir): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await browserSources(full)));
    else if (entry.name.endsWith('.js')) files.push(full);
  }
  return files;
}

const placeholders = (message: string): string[] => [...message.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string).sort();

describe('console message catalogues', () => {
  it('have the same keys in English and Traditional Chinese, none empty, with the same placeholders', async () => {
    const en = await catalogue('en');
    const zh = await catalogue('zh-HK');
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const [key, message] of Object.entries(en)) {
      expect(message.trim(), `en ${key}`).not.toBe('');
      expect(zh[key]?.trim(), `zh-HK ${key}`).not.toBe('');
      expect(placeholders(zh[key] as string), `placeholders of ${key}`).toEqual(placeholders(message));
    }
    // Traditional, not Simplified: a few characters that differ.
    const all = Object.values(zh).join('');
    for (const simplified of ['设', '备', '员', '点', '权', '录', '时', '门', '号']) expect(all, simplified).not.toContain(simplified);
  });

  it('hold every key the browser code asks for, literal or built from a known list', async () => {
    const en = await catalogue('en');
    const used = new Set<string>();
    for (const file of await browserSources()) {
      for (const match of (await readFile(file, 'utf8')).matchAll(/\bt\(\s*'([^']+)'/g)) used.add(match[1] as string);
    }
    expect(used.size).toBeGreaterThan(300);
    const families = [
      ...[...consolePages.map((page) => page.page), 'sign-in', 'forbidden'].map((page) => `nav.${page}`),
      ...roles.flatMap((role) => [`role.${role}`, `role.${role}.description`]),
      ...credentialKinds.map((kind) => `credential.${kind}`),
      ...PunchMethod.options.map((method) => `punch.method.${method}`),
      ...PunchDirection.options.map((direction) => `punch.direction.${direction}`),
      ...AttentionReason.options.map((reason) => `attention.${reason}`),
      ...HealthLevel.options.map((level) => `health.${level}`),
      ...['online', 'offline', 'never-connected'].map((state) => `device.connection.${state}`),
      ...['readers', 'bleScanner', 'bleAdvertiser', 'wifi'].map((part) => `devices.part.${part}`),
      ...['identify', 'resync'].map((command) => `devices.command.${command}`),
      ...['active', 'inactive'].map((status) => `employee.status.${status}`),
      ...locationFactors.map((factor) => `factor.${factor}`),
      ...['circle', 'polygon'].map((kind) => `fence.kind.${kind}`),
      ...['connecting', 'live', 'reconnecting'].map((state) => `live.${state}`),
      ...['user', 'token', 'system'].map((kind) => `audit.actor.${kind}`),
      ...['en', 'zh-HK'].map((lang) => `lang.name.${lang}`),
    ];
    const missing = [...used, ...families].filter((key) => !(key in en));
    expect(missing).toEqual([]);
  });
});

describe('console browser code', () => {
  it('type-checks with the DOM and Leaflet types (tsc -p dashboard/web)', async () => {
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', path.join(web, 'tsconfig.json')], { cwd: root }).catch((error: { stdout?: string; stderr?: string }) => error);
    expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toBe('');
  }, 60_000);

  it('has no inline script or style anywhere (the CSP forbids them)', async () => {
    for (const file of await browserSources()) {
      const source = await readFile(file, 'utf8');
      expect(source, file).not.toMatch(/\.innerHTML\s*=|insertAdjacentHTML|setAttribute\(\s*'style'|\bstyle\s*:\s*'|\beval\(|new Function\(/);
    }
  });
});

describe('console pages and assets from the dashboard', () => {
  let dir: string;
  let dashboard: Dashboard;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-console-assets-'));
    dashboard = await startDashboard(
      DashboardConfig.parse({
        dataDir: dir,
        http: { port: 0 },
        mqtt: { mode: 'embedded', port: 0 },
        auth: { secureCookies: false },
        web: { tileUrl: 'https://{s}.tiles.example.org/{z}/{x}/{y}.png', tileAttribution: '© Example' },
      }),
      testLogger(),
      { onFirstAdmin: () => undefined },
    );
    await dashboard.auth.users.create({ username: 'fac', role: 'facilities', password: 'facilities-password-1', mustChangePassword: false }, undefined);
    await dashboard.auth.users.create({ username: 'newbie', role: 'hr', password: 'one-time-password-1', mustChangePassword: true }, undefined);
  }, 60_000);

  afterAll(async () => {
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

  it('serves the sign-in shell publicly, with the map settings, and sends / to the overview', async () => {
    const signInPage = await dashboard.http.inject({ method: 'GET', url: '/sign-in', headers: html });
    expect(signInPage.statusCode).toBe(200);
    expect(signInPage.headers['content-type']).toMatch(/^text\/html/);
    expect(signInPage.body).toContain('data-page="sign-in"');
    expect(signInPage.body).toContain('<script type="module" src="/assets/app.js"></script>');
    expect(signInPage.body).not.toMatch(/<script>|<style|style="/);
    expect(signInPage.body).toContain('tiles.example.org');
    expect((await dashboard.http.inject({ method: 'GET', url: '/' })).headers.location).toBe('/overview');
  });

  it('lets the tile server into img-src on the console pages only', async () => {
    const page = await dashboard.http.inject({ method: 'GET', url: '/sign-in' });
    expect(page.headers['content-security-policy']).toMatch(/img-src 'self' data: https:\/\/\*\.tiles\.example\.org;/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self';/);
    const apiAnswer = await dashboard.http.inject({ method: 'GET', url: '/health' });
    expect(apiAnswer.headers['content-security-policy']).toMatch(/img-src 'self' data:;/);
    expect(tileImageSource(null)).toBeUndefined();
    expect(tileImageSource('/tiles/{z}/{x}/{y}.png')).toBeUndefined();
    expect(tileImageSource('https://tile.openstreetmap.org/{z}/{x}/{y}.png')).toBe('https://tile.openstreetmap.org');
    expect(DashboardConfig.safeParse({ dataDir: '.', web: { tileUrl: 'javascript:alert(1)//{z}{x}{y}' } }).success).toBe(false);
    expect(DashboardConfig.safeParse({ dataDir: '.', web: { tileUrl: 'https://tiles.example.org/static.png' } }).success).toBe(false);
  });

  it('serves the browser code, the catalogues and Leaflet from here; nothing outside them', async () => {
    for (const [url, type] of [
      ['/assets/app.js', /javascript/],
      ['/assets/lib/geofence-editor.js', /javascript/],
      ['/assets/app.css', /text\/css/],
      ['/assets/i18n/zh-HK.json', /json/],
      ['/vendor/leaflet/leaflet.js', /javascript/],
      ['/vendor/leaflet/leaflet.css', /text\/css/],
    ] as const) {
      const response = await dashboard.http.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type'], url).toMatch(type);
    }
    for (const url of ['/assets/../package.json', '/assets/%2e%2e/web-plugin.ts', '/vendor/leaflet/../package.json', '/assets/nothing.js']) {
      const response = await dashboard.http.inject({ method: 'GET', url });
      expect([403, 404], url).toContain(response.statusCode);
      expect(response.body, url).not.toContain('"name": "punchgate"');
    }
  });

  it('sends a browser without a session to sign in (and back), and answers API clients with 401 as before', async () => {
    const browser = await dashboard.http.inject({ method: 'GET', url: '/devices?device=gw-1', headers: html });
    expect(browser.statusCode).toBe(303);
    expect(browser.headers.location).toBe(`/sign-in?next=${encodeURIComponent('/devices?device=gw-1')}`);
    const client = await dashboard.http.inject({ method: 'GET', url: '/devices' });
    expect(client.statusCode).toBe(401);
    expect(client.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('shows a "no access" page (403) to a signed-in browser whose role lacks the page, and the page to one that has it', async () => {
    const facilities = await signIn(dashboard.http, 'fac', 'facilities-password-1');
    const cookie = { cookie: facilities.cookie as string };
    const denied = await dashboard.http.inject({ method: 'GET', url: '/users', headers: { ...html, ...cookie } });
    expect(denied.statusCode).toBe(403);
    expect(denied.headers['content-type']).toMatch(/^text\/html/);
    expect(denied.body).toContain('data-page="forbidden"');
    const deniedApi = await dashboard.http.inject({ method: 'GET', url: '/users', headers: cookie });
    expect(deniedApi.statusCode).toBe(403);
    expect(deniedApi.json()).toMatchObject({ code: 'FORBIDDEN' });
    const allowed = await dashboard.http.inject({ method: 'GET', url: '/sites', headers: { ...html, ...cookie } });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.body).toContain('data-page="sites"');
    expect(allowed.body).toContain('/vendor/leaflet/leaflet.js');
  });

  it('sends a user who must still change a one-time password back to the sign-in page', async () => {
    const newbie = await signIn(dashboard.http, 'newbie', 'one-time-password-1');
    const response = await dashboard.http.inject({ method: 'GET', url: '/employees', headers: { ...html, cookie: newbie.cookie as string } });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/sign-in?next=%2Femployees');
  });

  it('only ever comes back to a path on this site after sign-in', () => {
    expect(safeNext('/sites?site=mk-01')).toBe('/sites?site=mk-01');
    expect(safeNext('//evil.example/')).toBe('/overview');
    expect(safeNext('https://evil.example/')).toBe('/overview');
    expect(safeNext('/\\evil.example')).toBe('/overview');
  });
});
