import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { loadGatewayConfig } from '../../gateway/config-file.js';
import { testLogger } from '../support/logger.js';
import { wifiOnlyPolicy } from '../support/site-policy.js';
import { launchBrowser, type Browser } from './browser.js';
import { adminOneTimePassword, launchTablet, openPage, pageProblems, settled, signInAsNewAdmin } from './console-session.js';

/**
 * Device enrolment in the console, in a real browser (Debian Chromium, headless tablet) against a
 * real dashboard: registering a device shows its secret once with the bundle's QR code (an image
 * the strict CSP lets in, encoding the download link) and a download link that really downloads
 * the bundle, once: unpacked with tar, its config loads with the gateway's loader and holds the
 * secret the dialog showed. Re-enrol on the device's page gives a new secret and bundle (in
 * Traditional Chinese too). Screenshots go to test-artifacts/e2e/ (enrol-*.png).
 */

const execFileAsync = promisify(execFile);
const NEW_PASSWORD = 'enrolment console passphrase 9';

describe('device enrolment in the console', () => {
  let dir: string;
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  let url = '';

  /** The dialog's bundle: its secret, QR picture (decoded from the data: URL) and download link. */
  async function dialogBundle(): Promise<{ secret: string; qrSvg: string; href: string }> {
    const dialog = page.locator('[data-test="secret-dialog"]');
    await dialog.waitFor();
    const secret = ((await dialog.locator('[data-test="secret"]').textContent()) ?? '').trim();
    const qr = dialog.locator('[data-test="enrolment-qr"]');
    // Loaded and drawn: the CSP let the data: image in and it is a valid SVG.
    await expect.poll(() => qr.evaluate((image: { complete: boolean; naturalWidth: number }) => image.complete && image.naturalWidth > 0)).toBe(true);
    const src = (await qr.getAttribute('src')) ?? '';
    const prefix = 'data:image/svg+xml;charset=utf-8,';
    expect(src.startsWith(prefix)).toBe(true);
    // The button posts to the link's path on the console's own origin (the CSP's form-action).
    const action = (await dialog.locator('[data-test="enrolment-form"]').getAttribute('action')) ?? '';
    expect(await dialog.locator('[data-test="enrolment-form"]').getAttribute('method')).toBe('post');
    return { secret, qrSvg: decodeURIComponent(src.slice(prefix.length)), href: `${url}${action}` };
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-e2e-enrol-'));
    dashboard = await startDashboard(
      DashboardConfig.parse({ dataDir: path.join(dir, 'dashboard'), http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 }, auth: { secureCookies: false } }),
      testLogger(),
      { onFirstAdmin: () => undefined },
    );
    await dashboard.sites.put({ id: 'mk-01', name: 'Mong Kok', nameZh: '旺角', timeZone: 'Asia/Hong_Kong', policy: wifiOnlyPolicy('mk-01'), beacons: [] }, new Date());
    url = dashboard.url;
    browser = await launchTablet();
    page = browser.page;
    await signInAsNewAdmin(page, url, '/devices', await adminOneTimePassword(dashboard), NEW_PASSWORD);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers a device and shows its secret, the QR code of the bundle link and a download button that works once; opening the link spends nothing', async () => {
    await openPage(page, url, '/devices');
    await page.locator('[data-test="enrol-device"]').click();
    await page.locator('[data-test="device-id"]').fill('mk-01-door');
    await page.locator('[data-test="device-site"]').selectOption('mk-01');
    await page.locator('[data-test="register-device"]').click();
    const { secret, qrSvg, href } = await dialogBundle();
    expect(secret.length).toBeGreaterThanOrEqual(20);
    expect(href).toMatch(new RegExp(`^${url.replace(/[.]/g, '\\.')}/api/v1/enrolment/pge_[A-Za-z0-9_-]{43}$`));
    // The picture is the link's QR code, and the curl line fetches the same link.
    expect(qrSvg).toBe(await QRCode.toString(href, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }));
    expect(await page.locator('[data-test="enrolment-curl"]').textContent()).toBe(`curl -fOJ -X POST '${href}'`);
    // On one machine the broker is on 127.0.0.1: the dialog says a Pi could not reach it.
    expect(await page.locator('[data-test="secret-dialog"]').textContent()).toContain('only works on the dashboard\'s own machine');
    await browser.screenshot('enrol-01-registered-with-qr');
    // Opening the link (what a chat's link preview or a scanned QR code does) shows it and spends nothing.
    const peek = await browser.context.newPage();
    const shown = await peek.goto(href);
    expect(shown?.status()).toBe(200);
    expect(await peek.locator('[data-test="device"]').textContent()).toBe('mk-01-door');
    await peek.close();

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test="enrolment-download"]').click()]);
    expect(download.suggestedFilename()).toBe('punchgate-enrol-mk-01-door.tar.gz');
    const into = path.join(dir, 'pi');
    await mkdir(into);
    await execFileAsync('tar', ['-xzf', await download.path(), '-C', into, '--strip-components=1']);
    const config = await loadGatewayConfig(path.join(into, 'gateway.json'));
    expect(config).toMatchObject({ deviceId: 'mk-01-door', siteId: 'mk-01', site: { name: 'Mong Kok' }, mqtt: { url: dashboard.brokerUrl, username: 'mk-01-door' } });
    expect(await readFile(path.join(into, 'secret'), 'utf8')).toBe(`${secret}\n`);
    // Once: the same link now answers 404.
    const again = await page.request.post(href);
    expect(again.status()).toBe(404);
    expect((await again.json()).error).toMatch(/was already used/);

    await Promise.all([page.waitForURL(/\/devices\?device=mk-01-door$/), page.locator('[data-test="secret-done"]').click()]);
    await settled(page);
    await page.locator('[data-test="device-facts"]').waitFor();
    expect(await page.content()).not.toContain(secret);
  }, 60_000);

  it('re-enrols the device from its page, in Traditional Chinese: a new secret and a new bundle link', async () => {
    await openPage(page, url, '/devices?device=mk-01-door');
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await settled(page);
    await page.locator('html[lang="zh-HK"]').waitFor();
    const reEnrol = page.locator('[data-test="re-enrol"]');
    expect(await reEnrol.textContent()).toBe('重新登記');
    await reEnrol.click();
    await page.locator('[data-test="confirm"]').click();
    const first = await readFile(path.join(dir, 'pi', 'secret'), 'utf8');
    const { secret, qrSvg, href } = await dialogBundle();
    expect(`${secret}\n`).not.toBe(first);
    expect(qrSvg).toBe(await QRCode.toString(href, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }));
    const dialog = page.locator('[data-test="secret-dialog"]');
    expect(await dialog.locator('h2, h3').allTextContents()).toEqual(expect.arrayContaining(['已重新登記裝置 mk-01-door', '登記套件']));
    expect(await dialog.locator('[data-test="enrolment-download"]').textContent()).toBe('下載 punchgate-enrol-mk-01-door.tar.gz');
    // No message key shows through as text.
    expect(await dialog.innerText()).not.toMatch(/\bdevices\.[a-zA-Z.]+/);
    await browser.screenshot('enrol-02-re-enrolled-zh-hk');
    await Promise.all([page.waitForURL(/\/devices\?device=mk-01-door$/), dialog.locator('[data-test="secret-done"]').click()]);
    await settled(page);
    // The technician's phone: the link's page (no session needed: the token is the credential), in
    // both languages, with its download button.
    const phone = await launchBrowser({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      const linkPage = phone.page;
      expect((await linkPage.goto(href))?.status()).toBe(200);
      expect(await linkPage.locator('h2').innerText()).toBe('Enrolment bundle of gateway mk-01-door\n閘道 mk-01-door 的登記套件');
      expect(await linkPage.locator('[data-test="curl"]').textContent()).toBe(`curl -fOJ -X POST '${href}'`);
      await phone.screenshot('enrol-03-link-page-on-a-phone');
      const [fromPhone] = await Promise.all([linkPage.waitForEvent('download'), linkPage.locator('[data-test="download"]').click()]);
      expect(fromPhone.suggestedFilename()).toBe('punchgate-enrol-mk-01-door.tar.gz');
      const secretFromPhone = path.join(dir, 'phone');
      await mkdir(secretFromPhone);
      await execFileAsync('tar', ['-xzf', await fromPhone.path(), '-C', secretFromPhone, '--strip-components=1']);
      expect(await readFile(path.join(secretFromPhone, 'secret'), 'utf8')).toBe(`${secret}\n`);
      // Opened again, the page says it was used.
      expect((await linkPage.reload())?.status()).toBe(404);
      expect(await linkPage.locator('[data-test="spent-zh"]').textContent()).toMatch(/^裝置 mk-01-door 的登記連結已被使用/);
      expect(phone.problems.filter((problem) => !problem.includes('404'))).toEqual([]);
    } finally {
      await phone.close();
    }
    // The audit log has the re-enrolment.
    const audit = await dashboard.auth.audit.list({ entity: 'device', entityId: 'mk-01-door', limit: 10 });
    expect(audit.entries.map((entry) => entry.action).reverse()).toEqual(['device.register', 'device.enrolment-download', 'device.re-enrol', 'device.enrolment-download']);
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await page.locator('html[lang="en"]').waitFor();
    const problems = pageProblems(browser);
    expect(problems).toEqual([]);
  }, 60_000);
});
