import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from './browser.js';
import { CARDS, MORNING, startKioskRig, type KioskRig } from './kiosk-fixture.js';
import { waitFor } from '../support/wait.js';

/**
 * The kiosk screen in Debian's Chromium (headless, playwright-core), on a real gateway: badges
 * tapped on the reader simulator at the far end of a real pty pair, the gateway's uplink to a real
 * broker that goes away and comes back, the site and schedules pushed as the dashboard does. Each
 * check reads what a person sees: the words in both languages, the icon and its accessible name,
 * the screen's tone. Screenshots go to test-artifacts/kiosk/ (gitignored).
 */

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts/kiosk');
/** The Raspberry Pi 7" touch display. */
const PI_DISPLAY = { width: 800, height: 480 };

interface Shown {
  screen: string | null;
  tone: string | null;
  link: string | null;
  seq: string | null;
  icon: string | null;
  iconLabel: string | null;
  title: string;
  name: string;
  time: string;
  verdict: string;
  note: string;
  site: string;
  linkIcon: string | null;
  linkText: string;
  clock: string;
  date: string;
  prompt: string;
  /** The languages of the big lines, in order. */
  languages: string[];
}

/** Everything the screen shows now, as a person reads it. */
async function shown(page: Page): Promise<Shown> {
  const body = page.locator('body');
  const text = async (id: string): Promise<string> => (await page.locator(`#${id}`).innerText()).trim().replace(/\s*\n\s*/g, ' | ');
  const visible = page.locator('#screen > section:not([hidden])');
  const [screen, tone, link, seq, icon, iconLabel, title, name, time, verdict, note, site, linkIcon, linkText, clock, date, prompt, languages] = await Promise.all([
    body.getAttribute('data-screen'),
    body.getAttribute('data-tone'),
    body.getAttribute('data-link'),
    body.getAttribute('data-seq'),
    page.locator('#result-icon').getAttribute('data-icon'),
    page.locator('#result-icon').getAttribute('aria-label'),
    text('result-title'),
    text('result-name'),
    text('result-time'),
    text('result-verdict'),
    text('result-note'),
    text('site'),
    page.locator('#link-icon').getAttribute('data-icon'),
    text('link-text'),
    text('clock'),
    text('date'),
    text('prompt'),
    visible.locator('#prompt > span, #result-title > span').evaluateAll((spans) => spans.map((span) => (span as unknown as { lang: string }).lang)),
  ]);
  return { screen, tone, link, seq, icon, iconLabel, title, name, time, verdict, note, site, linkIcon, linkText, clock, date, prompt, languages };
}

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** Runs `tap` and waits until the screen shows the next tap. */
async function tapAndSee(page: Page, tap: () => Promise<unknown>): Promise<Shown> {
  const before = Number((await page.locator('body').getAttribute('data-seq')) ?? '0');
  await tap();
  await page.locator(`body[data-seq="${before + 1}"]`).waitFor({ state: 'attached' });
  return shown(page);
}

/** Every request the page made went to the gateway: no CDN, no web font, nothing from the internet. */
function watchRequests(page: Page): string[] {
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  return requests;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

describe('the kiosk screen in Chromium: a gateway online, then offline, with schedules pushed', () => {
  let rig: KioskRig;
  let browser: Browser;
  let page: Page;
  let requests: string[];

  beforeAll(async () => {
    rig = await startKioskRig();
    await rig.push({});
    await waitFor('the first backlog count', async () => (await rig.kioskState()).backlog === 0);
    browser = await launchBrowser({ viewport: PI_DISPLAY, locale: 'en-GB', timezoneId: 'Asia/Hong_Kong' });
    page = browser.page;
    page.setDefaultTimeout(10_000);
    requests = watchRequests(page);
    // The page's clock is the gateway's (a test clock): it runs while the page loads, then stands
    // still, so that the screen's timers (back to idle) move only when the test says so.
    await page.clock.install({ time: new Date(Date.parse(MORNING) - 2000) });
    await page.goto(`${rig.gateway.url}/kiosk`);
    await page.locator('body[data-screen="idle"][data-link="online"]').waitFor();
    await page.clock.pauseAt(new Date(MORNING));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await rig?.stop();
  });

  it('shows the idle screen: site, a large clock in the site time zone, the prompt in both languages, online', async () => {
    await page.evaluate('document.fonts.ready');
    const idle = await shown(page);
    expect(idle).toMatchObject({
      screen: 'idle',
      link: 'online',
      site: 'Mong Kok 旺角',
      clock: '09:04',
      prompt: 'Tap your badge | 請拍卡',
      linkIcon: 'online',
      linkText: 'Online | 已連線',
      languages: ['en', 'zh-HK'],
    });
    expect(idle.date).toContain('Tuesday 24 November');
    expect(idle.date).toContain('11月24日星期二');
    expect(await page.title()).toBe('Mong Kok 旺角 · punchgate');
    expect(await page.locator('#link-icon').getAttribute('aria-label')).toBe('Online / 已連線');
    // The Chinese glyphs come from the gateway (or the system's own Noto CJK), never the internet.
    const faces = (await page.evaluate("[...document.fonts].filter((face) => face.family.includes('Kiosk TC')).map((face) => face.weight + ' ' + face.status)")) as string[];
    expect(faces).toContain('700 loaded');
    await screenshot(page, 'idle-800x480');
    await page.setViewportSize({ width: 1920, height: 1080 });
    await screenshot(page, 'idle-1920x1080');
    await page.setViewportSize(PI_DISPLAY);
  });

  it('accepted in, late by 4 min: name, IN, time and verdict, in both languages, with an icon', async () => {
    const screen = await tapAndSee(page, () => rig.tap(CARDS.chan));
    expect(screen).toMatchObject({
      screen: 'accepted-in',
      tone: 'good',
      icon: 'in',
      iconLabel: 'Clocked in / 上班',
      title: 'Clocked in | 上班',
      name: 'Chan Tai Man 陳大文',
      time: '09:04',
      verdict: 'Late by 4 min | 遲到 4 分鐘',
      note: '',
    });
    await screenshot(page, 'accepted-in-late');
  });

  it('a second tap moments later: already recorded, no need to tap again', async () => {
    const screen = await tapAndSee(page, () => rig.tap(CARDS.chan));
    expect(screen).toMatchObject({
      screen: 'duplicate',
      tone: 'info',
      icon: 'repeat',
      iconLabel: 'Already recorded / 已經記錄',
      title: 'Already recorded | 已經記錄',
      name: 'Chan Tai Man 陳大文',
      verdict: '',
      note: 'You tapped a moment ago. No need to tap again. | 你剛剛已拍卡，毋須再拍。',
    });
    await screenshot(page, 'duplicate');
  });

  it('an unknown badge: recorded, tell a supervisor', async () => {
    const screen = await tapAndSee(page, () => rig.tap(CARDS.stranger));
    expect(screen).toMatchObject({
      screen: 'unknown',
      tone: 'warn',
      icon: 'question',
      iconLabel: 'Unknown badge / 未登記的卡',
      title: 'Unknown badge | 未登記的卡',
      name: '',
      time: '09:04',
      note: 'Recorded. Please tell your supervisor. | 已記錄，請通知主管。',
    });
    await screenshot(page, 'unknown');
  });

  it('a revoked badge: not valid, not recorded', async () => {
    const screen = await tapAndSee(page, () => rig.tap(CARDS.revoked));
    expect(screen).toMatchObject({
      screen: 'revoked',
      tone: 'bad',
      icon: 'blocked',
      iconLabel: 'Badge not valid / 此卡已停用',
      title: 'Badge not valid | 此卡已停用',
      name: 'Ho Wing Sze 何詠詩',
      note: 'Not recorded. Please see your supervisor. | 未有記錄，請聯絡主管。',
    });
    await screenshot(page, 'revoked');
  });

  it('an error: not recorded, tap again', async () => {
    const screen = await tapAndSee(page, () => rig.gateway.desk.submit({ readerId: 'door', read: { kind: 'em4100', uid: 'not-a-card' } }));
    expect(screen).toMatchObject({
      screen: 'error',
      tone: 'bad',
      icon: 'warning',
      iconLabel: 'Not recorded / 未能記錄',
      title: 'Not recorded | 未能記錄',
      note: 'Please tap again. If it fails again, tell your supervisor. | 請再拍卡。如仍未成功，請通知主管。',
    });
    await screenshot(page, 'error');
  });

  it('offline: always says so, and each punch says "recorded — will sync" with the backlog count', async () => {
    await waitFor('the server to ack every punch so far', async () => (await rig.gateway.health()).outbox.pending === 0, 10_000);
    await rig.brokerDown();
    await page.locator('body[data-link="offline"]').waitFor();
    expect(await page.locator('#link-icon').getAttribute('data-icon')).toBe('offline');

    const first = await tapAndSee(page, () => rig.tap(CARDS.wong));
    expect(first).toMatchObject({ screen: 'accepted-in', title: 'Clocked in | 上班', name: 'Wong Siu Ming 王小明', verdict: 'Late by 4 min | 遲到 4 分鐘' });
    await page.locator('#result-note', { hasText: '(1 waiting)' }).waitFor();
    expect((await shown(page)).note).toBe('Recorded — will sync (1 waiting) | 已記錄，稍後同步（1 筆待同步）');
    await screenshot(page, 'offline-accepted-in');

    const second = await tapAndSee(page, () => rig.tap({ kind: 'mifare', uid: 'CAFEBABE' }));
    expect(second.screen).toBe('unknown');
    await page.locator('#result-note', { hasText: '(2 waiting)' }).waitFor();
    const unknown = await shown(page);
    expect(unknown.note).toBe('Recorded. Please tell your supervisor. | 已記錄，請通知主管。 | Recorded — will sync (2 waiting) | 已記錄，稍後同步（2 筆待同步）');
    expect(unknown.linkText).toBe('Offline: taps are recorded and will sync · 2 waiting | 離線：拍卡已記錄，稍後同步 · 2 筆待同步');
    await screenshot(page, 'offline-unknown');

    // Back to idle after the idle time, still saying offline with the backlog.
    await page.clock.runFor(6100);
    await page.locator('body[data-screen="idle"]').waitFor();
    expect((await shown(page)).linkText).toContain('2 waiting');
    await screenshot(page, 'offline-idle');

    await rig.brokerUp();
    await page.locator('body[data-link="online"]').waitFor();
    expect((await shown(page)).linkText).toBe('Online | 已連線');
  });

  it('accepted out at 17:48, 12 min early; back to the idle screen after the idle time', async () => {
    const evening = Date.parse('2026-11-24T09:48:00.000Z');
    rig.clock.advance(evening - rig.clock.now().getTime());
    await page.clock.pauseAt(new Date(evening));
    const screen = await tapAndSee(page, () => rig.tap(CARDS.chan));
    expect(screen).toMatchObject({
      screen: 'accepted-out',
      tone: 'good',
      icon: 'out',
      iconLabel: 'Clocked out / 下班',
      title: 'Clocked out | 下班',
      name: 'Chan Tai Man 陳大文',
      time: '17:48',
      verdict: 'Left 12 min early | 早退 12 分鐘',
      note: '',
    });
    await screenshot(page, 'accepted-out-early');
    await page.clock.runFor(5000);
    expect((await shown(page)).screen).toBe('accepted-out');
    await page.clock.runFor(1100);
    await page.locator('body[data-screen="idle"]').waitFor();
    expect((await shown(page)).clock).toBe('17:48');
  });

  it('speaks the languages the site asks for, pushed while the screen is up: Chinese only, then Chinese first', async () => {
    await rig.push({ languages: ['zh-HK'] });
    await page.locator('html[lang="zh-HK"]').waitFor();
    const idle = await shown(page);
    expect(idle).toMatchObject({ screen: 'idle', prompt: '請拍卡', linkText: '已連線', languages: ['zh-HK'] });
    expect(idle.date).toBe('11月24日星期二');
    await screenshot(page, 'idle-zh-HK');
    rig.clock.advance(61_000);
    const tap = await tapAndSee(page, () => rig.tap(CARDS.wong));
    // 17:49:01: 10 min 59 s before the end of the shift.
    expect(tap).toMatchObject({ screen: 'accepted-out', title: '下班', iconLabel: '下班', time: '17:49', verdict: '早退 10 分鐘', languages: ['zh-HK'] });
    await screenshot(page, 'accepted-out-zh-HK');

    await rig.push({ languages: ['zh-HK', 'en'] });
    await page.locator('#result-title > span.l1[lang="zh-HK"] + span.l2[lang="en"]').waitFor();
    expect(await shown(page)).toMatchObject({ title: '下班 | Clocked out', verdict: '早退 10 分鐘 | Left 10 min early', languages: ['zh-HK', 'en'] });
    await screenshot(page, 'accepted-out-zh-HK-en');
  });

  it('loaded nothing from anywhere but the gateway, and broke no rule of its CSP', () => {
    expect(requests.length).toBeGreaterThan(3);
    expect(requests.filter((url) => !url.startsWith(`${rig.gateway.url}/`))).toEqual([]);
    expect(browser.problems).toEqual([]);
  });
});

describe('the kiosk screen in Chromium: a stand-alone gateway in English, measured, then gone', () => {
  let rig: KioskRig;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    rig = await startKioskRig({ uplink: false, site: { name: 'Sha Tin', languages: ['en'] } });
    browser = await launchBrowser({ viewport: PI_DISPLAY, locale: 'en-GB', timezoneId: 'Asia/Hong_Kong' });
    page = browser.page;
    page.setDefaultTimeout(10_000);
    await page.goto(`${rig.gateway.url}/kiosk`);
    await page.locator('body[data-screen="idle"]').waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await rig?.stop();
  });

  it('says it records here (no uplink), in English only from the local config; no verdict without schedules', async () => {
    expect(await shown(page)).toMatchObject({ site: 'Sha Tin', prompt: 'Tap your badge', link: 'standalone', linkIcon: 'standalone', linkText: 'Stand-alone: taps are recorded here', languages: ['en'] });
    const tap = await tapAndSee(page, () => rig.tap(CARDS.chan));
    expect(tap).toMatchObject({ screen: 'accepted-in', title: 'Clocked in', name: 'Chan Tai Man 陳大文', verdict: '', note: '', languages: ['en'] });
    await screenshot(page, 'standalone-en-accepted-in');
  });

  it('measures commit -> screen in Chromium (printed; not a threshold)', async () => {
    // Stamped in the page when the screen's DOM changes to the tap, and at the next frame.
    await page.evaluate(`(() => {
      window.kioskSeen = [];
      new MutationObserver(() => {
        const seq = document.body.dataset.seq;
        const dom = performance.timeOrigin + performance.now();
        requestAnimationFrame(() => window.kioskSeen.push({ seq, dom, frame: performance.timeOrigin + performance.now() }));
      }).observe(document.body, { attributes: true, attributeFilter: ['data-seq'] });
    })()`);
    const committed: number[] = [];
    const stamp = (): void => void committed.push(performance.timeOrigin + performance.now());
    rig.gateway.desk.prependListener('outcome', stamp);
    const toDom: number[] = [];
    const toFrame: number[] = [];
    try {
      for (let index = 0; index < 30; index += 1) {
        rig.clock.advance(61_000);
        await tapAndSee(page, () => rig.tap(index % 2 === 0 ? CARDS.wong : CARDS.chan));
      }
      await waitFor('the last frame', async () => ((await page.evaluate('window.kioskSeen.length')) as number) >= 30);
      const seen = (await page.evaluate('window.kioskSeen')) as Array<{ seq: string; dom: number; frame: number }>;
      const firstBySeq = new Map<string, { dom: number; frame: number }>();
      for (const entry of seen) if (!firstBySeq.has(entry.seq)) firstBySeq.set(entry.seq, entry);
      [...firstBySeq.values()].slice(0, 30).forEach((entry, index) => {
        toDom.push(entry.dom - (committed[index] as number));
        toFrame.push(entry.frame - (committed[index] as number));
      });
    } finally {
      rig.gateway.desk.off('outcome', stamp);
    }
    const line = (name: string, samples: number[]): string => {
      const sorted = [...samples].sort((a, b) => a - b);
      return `${name}: p50 ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms, max ${(sorted.at(-1) as number).toFixed(1)} ms`;
    };
    console.info(`[kiosk] ${toDom.length} taps in headless Chromium; ${line('commit -> screen DOM updated', toDom)}; ${line('commit -> next animation frame', toFrame)}`);
    expect(toDom).toHaveLength(30);
  });

  it('tells people to wait when the gateway is gone', async () => {
    expect(browser.problems).toEqual([]);
    await rig.stopGateway();
    await page.locator('body[data-screen="unavailable"]').waitFor();
    expect(await shown(page)).toMatchObject({ icon: 'unplugged', title: 'Please wait', note: 'The screen has lost the gateway. Taps may not be recorded.', link: 'no-gateway', linkText: 'Not connected to the gateway' });
    await screenshot(page, 'no-gateway');
    // The page keeps trying the gateway: each try is a refused connection, nothing else.
    expect(browser.problems.filter((problem) => !problem.includes('net::ERR_CONNECTION_REFUSED'))).toEqual([]);
  });
});
