import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { testLogger } from '../support/logger.js';

/**
 * The kiosk page without a browser: its words (both languages for every one, Traditional
 * characters), its browser code type-checked against the DOM, no inline script or style, and
 * what the gateway serves: the page with its CSP, the assets with their types, the font.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kioskDir = path.join(root, 'gateway/kiosk');
const publicDir = path.join(kioskDir, 'public');

type Text = Record<'en' | 'zh-HK', string>;
interface KioskText {
  TEXT: Record<string, Text>;
  offlineText(backlog: number | null): Text;
  willSyncText(backlog: number | null): Text;
  verdictText(verdict: { kind: string; minutes?: number } | null): Text | null;
  tapScreen(tap: Record<string, unknown>, state: Record<string, unknown> | null): { screen: string; tone: string; icon: string; title: Text; notes: Text[] };
}

const loadText = async (): Promise<KioskText> => (await import(pathToFileURL(path.join(publicDir, 'kiosk-text.js')).href)) as KioskText;

describe('the kiosk page\'s words', () => {
  it('has every message in English and Traditional Chinese, none empty', async () => {
    const text = await loadText();
    const all: Text[] = [...Object.values(text.TEXT), text.offlineText(null), text.offlineText(1234), text.willSyncText(null), text.willSyncText(3)];
    for (const message of all) {
      expect(message.en.trim()).not.toBe('');
      expect(message['zh-HK'].trim()).not.toBe('');
    }
    const chinese = all.map((message) => message['zh-HK']).join('');
    for (const simplified of ['记', '录', '时', '线', '请', '迟', '钟', '后', '离', '连']) expect(chinese, simplified).not.toContain(simplified);
    expect(text.willSyncText(1234)).toEqual({ en: 'Recorded — will sync (1,234 waiting)', 'zh-HK': '已記錄，稍後同步（1,234 筆待同步）' });
  });

  it('says the verdict in a few words, and nothing for a day off or no schedule', async () => {
    const text = await loadText();
    expect(text.verdictText({ kind: 'on-time' })).toEqual({ en: 'On time', 'zh-HK': '準時' });
    expect(text.verdictText({ kind: 'late', minutes: 4 })).toEqual({ en: 'Late by 4 min', 'zh-HK': '遲到 4 分鐘' });
    expect(text.verdictText({ kind: 'early', minutes: 30 })).toEqual({ en: 'Left 30 min early', 'zh-HK': '早退 30 分鐘' });
    expect(text.verdictText({ kind: 'off-day' })).toBeNull();
    expect(text.verdictText(null)).toBeNull();
  });

  it('gives every screen its own icon and words, so that colour is never the only signal', async () => {
    const text = await loadText();
    const tap = { seq: 1, recorded: false, direction: null, name: null, at: '2026-11-24T01:04:30.000Z', verdict: null, link: 'online' };
    const screens = [
      text.tapScreen({ ...tap, result: 'accepted', recorded: true, direction: 'in' }, null),
      text.tapScreen({ ...tap, result: 'accepted', recorded: true, direction: 'out' }, null),
      text.tapScreen({ ...tap, result: 'accepted', recorded: true, direction: 'auto' }, null),
      text.tapScreen({ ...tap, result: 'unknown', recorded: true, direction: 'in' }, null),
      text.tapScreen({ ...tap, result: 'revoked' }, null),
      text.tapScreen({ ...tap, result: 'duplicate' }, null),
      text.tapScreen({ ...tap, result: 'error' }, null),
    ];
    expect(new Set(screens.map((screen) => screen.screen)).size).toBe(screens.length);
    expect(new Set(screens.map((screen) => screen.icon)).size).toBe(screens.length);
    expect(new Set(screens.map((screen) => screen.title.en)).size).toBe(screens.length);
    // Offline, a recorded tap says it will sync; a refused one never does.
    const offline = { site: {}, link: 'offline', backlog: 7, idleMs: 6000, serverTime: tap.at };
    expect(text.tapScreen({ ...tap, result: 'accepted', recorded: true, direction: 'in', link: 'offline' }, offline).notes).toEqual([text.willSyncText(7)]);
    expect(text.tapScreen({ ...tap, result: 'revoked', link: 'offline' }, offline).notes.map((note) => note.en)).not.toContain(text.willSyncText(7).en);
  });
});

describe('the kiosk page\'s browser code', () => {
  it('type-checks with the DOM types (tsc -p gateway/kiosk)', async () => {
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', path.join(kioskDir, 'tsconfig.json')], { cwd: root }).catch((error: { stdout?: string; stderr?: string }) => error);
    expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toBe('');
  }, 60_000);

  it('has no inline script or style, and names no other origin', async () => {
    for (const name of await readdir(publicDir)) {
      const source = await readFile(path.join(publicDir, name), 'utf8');
      expect(source, name).not.toMatch(/\.innerHTML\s*=|insertAdjacentHTML|setAttribute\(\s*'style'|\bstyle\s*=|\beval\(|new Function\(|<script>/);
      expect(source.replace('http://www.w3.org/2000/svg', ''), name).not.toMatch(/https?:\/\/|\/\/fonts\.|@import/);
    }
  });
});

describe('the kiosk page as the gateway serves it', () => {
  let dir: string;
  let gateway: Gateway;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-kiosk-page-'));
    gateway = await startGateway(GatewayConfig.parse({ deviceId: 'gw-page', siteId: 'mk-01', dataDir: dir, http: { port: 0 }, clock: { syncCommand: null } }), testLogger());
  });

  afterAll(async () => {
    await gateway?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page with a CSP that allows only itself', async () => {
    const page = await fetch(`${gateway.url}/kiosk`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/kiosk/assets/kiosk.js"></script>');
  });

  it('serves its assets with their types, the Chinese font from npm, and nothing else', async () => {
    for (const [name, type] of [
      ['kiosk.js', 'text/javascript; charset=utf-8'],
      ['kiosk-text.js', 'text/javascript; charset=utf-8'],
      ['kiosk.css', 'text/css; charset=utf-8'],
      ['icon.svg', 'image/svg+xml'],
    ] as const) {
      const response = await fetch(`${gateway.url}/kiosk/assets/${name}`);
      expect(response.status, name).toBe(200);
      expect(response.headers.get('content-type'), name).toBe(type);
      expect(await response.text()).toBe(await readFile(path.join(publicDir, name), 'utf8'));
    }
    const font = await fetch(`${gateway.url}/kiosk/fonts/noto-sans-tc-700.ttf`);
    expect(font.status).toBe(200);
    expect(font.headers.get('content-type')).toBe('font/ttf');
    const bytes = Buffer.from(await font.arrayBuffer());
    expect(bytes.length).toBe(Number(font.headers.get('content-length')));
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0, 1, 0, 0])); // a TrueType file
    for (const missing of ['/kiosk/assets/kiosk.html', '/kiosk/assets/..%2Fkiosk-hub.ts', '/kiosk/assets/tsconfig.json', '/kiosk/fonts/other.ttf']) {
      expect((await fetch(`${gateway.url}${missing}`)).status, missing).toBe(404);
    }
  });

  it('answers the state as JSON for technicians: stand-alone, the default languages', async () => {
    const state = await (await fetch(`${gateway.url}/kiosk/state`)).json();
    expect(state).toMatchObject({ site: { id: 'mk-01', name: null, timeZone: 'Asia/Hong_Kong', languages: ['en', 'zh-HK'] }, link: 'standalone', idleMs: 6000 });
  });
});
