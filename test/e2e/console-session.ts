import type { Page } from 'playwright-core';
import type { Dashboard } from '../../dashboard/server.js';
import { launchBrowser, type Browser } from './browser.js';

/** What the console e2e suites share: a tablet browser at a fixed time, and the first admin's sign-in. */

/** A tablet in landscape, with touch, in Hong Kong; the page's clock fixed when `now` is given. */
export async function launchTablet(now?: Date): Promise<Browser> {
  const browser = await launchBrowser({ viewport: { width: 1024, height: 768 }, hasTouch: true, locale: 'en-GB', timezoneId: 'Asia/Hong_Kong' });
  browser.page.setDefaultTimeout(10_000);
  if (now) await browser.context.clock.setFixedTime(now);
  return browser;
}

/** A one-time password for the dashboard's first admin (the one printed at first start is not kept). */
export async function adminOneTimePassword(dashboard: Dashboard): Promise<string> {
  const admin = await dashboard.auth.users.getByUsername('admin');
  if (!admin) throw new Error('the dashboard made no first admin');
  return (await dashboard.auth.users.resetPassword(admin.id, undefined)).password;
}

/** Waits for the page the console navigates to, shell and script done. */
export async function settled(page: Page): Promise<void> {
  await page.waitForLoadState('load');
  await page.locator('#app > *').first().waitFor();
}

/** Goes to a console page and waits until it has rendered. */
export async function openPage(page: Page, url: string, path: string): Promise<void> {
  await page.goto(`${url}${path}`);
  await settled(page);
}

/**
 * Opens `path` as an anonymous visitor: sent to sign in, signs in as admin with the one-time
 * password, is made to change it, and lands on `path`.
 */
export async function signInAsNewAdmin(page: Page, url: string, path: string, oneTimePassword: string, newPassword: string): Promise<void> {
  await openPage(page, url, path);
  if (new URL(page.url()).pathname !== '/sign-in') throw new Error(`an anonymous visitor to ${path} was not sent to sign in (at ${page.url()})`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password', { exact: true }).fill(oneTimePassword);
  await page.locator('[data-test="sign-in"]').click();
  const change = page.locator('[data-test="change-password-form"]');
  await change.waitFor();
  await change.getByLabel('New password', { exact: true }).fill(newPassword);
  await change.getByLabel('New password again').fill(newPassword);
  await Promise.all([page.waitForURL(`${url}${path}`), page.locator('[data-test="change-password"]').click()]);
  await settled(page);
}

/**
 * Visible buttons, links styled as buttons, inputs and selects (within the `scope` selector, if
 * given) under 40 px tall: too small for a finger (the CSS aims at 44). Empty when all are fine.
 */
export async function smallControls(page: Page, scope?: string): Promise<Array<{ element: string; height: number }>> {
  const selector = ['button', 'a.btn', 'input:not([type=checkbox]):not([type=radio])', 'select'].map((control) => (scope ? `${scope} ${control}` : control)).join(', ');
  return page.evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})]
    .filter((element) => element.offsetParent !== null)
    .map((element) => ({ element: (element.tagName + ' ' + (element.getAttribute('data-test') || element.textContent || '').trim()).slice(0, 60), height: element.getBoundingClientRect().height }))
    .filter((control) => control.height < 40)`);
}

/**
 * Console errors and page errors, but for failed fetches: a refusal (4xx) the page showed on
 * purpose is logged by Chromium as a resource that failed to load.
 */
export function pageProblems(browser: Pick<Browser, 'problems'>): string[] {
  return browser.problems.filter((problem) => !/Failed to load resource/.test(problem));
}
