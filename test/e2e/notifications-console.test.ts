import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEventInput } from '../../dashboard/notifications/alert-event.js';
import { startAttendanceDashboard, type AttendanceDashboard, type Json } from '../support/attendance-dashboard.js';
import { WebhookReceiver, type ReceivedRequest } from '../support/webhook-receiver.js';
import type { Browser } from './browser.js';
import { adminOneTimePassword, launchTablet, openPage, pageProblems, settled as settledPage, signInAsNewAdmin, smallControls } from './console-session.js';

/**
 * The alerts page of the console (issue 6: replay from the UI) in a real browser (Debian
 * Chromium, headless, a tablet with touch) against a real dashboard (SQLite file, embedded broker,
 * the delivery worker on real timers) and a real webhook receiver that checks every signature.
 * The dashboard's clock and the receiver's are the same fixed instant, Tuesday 24 Nov 2026 10:00
 * Hong Kong time (signatures carry the dashboard's time; a failed delivery's retry, due 10 s
 * later on that clock, never comes by itself, so "failed" stays put until replayed).
 *
 * The admin adds a webhook in the console (the server's field errors at their fields first), reads
 * the secret from the once-only dialog and gives it to the receiver; the secret is not on the page
 * again after a reload. An alert enqueued the way the attendance code does is listed as delivered;
 * with the receiver refusing, a second one shows failed with its attempt (HTTP status, error,
 * duration); Replay in the console, with the receiver accepting again, delivers it, and the
 * receiver has had the same Punchgate-Event-Id twice. Kinds read in 繁中; a test send, disable,
 * edit and delete of the webhook; HR sees the alerts but not the webhooks. No CSP violations,
 * touch-sized controls. Screenshots go to test-artifacts/e2e/ (notif-*.png).
 */

/** Tuesday 24 November 2026, 10:00 in Hong Kong. */
const NOW = new Date('2026-11-24T02:00:00.000Z');
const DAY = '2026-11-23';
const NEW_PASSWORD = 'alerts console passphrase 9';
const HR_PASSWORD = 'hr reviewer passphrase 5678';
const LATE_KEY = `late:E001:${DAY}`;
const ABSENCE_KEY = `absence:E002:${DAY}`;
/** For what waits on a delivery (the worker, then the page's next look): vitest's expect.poll gives up after 1 s by default. */
const SLOW = { timeout: 10_000, interval: 100 };

const STAFF = [
  { number: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', site: 'mk-01', email: 'taiman@example.com' },
  { number: 'E002', name: 'Lee Siu Ming', nameZh: '李小明', site: 'mk-01' },
];

/** An alert as the attendance code hands it over (docs/notifications.md). */
const lateEvent: AlertEventInput = {
  key: LATE_KEY,
  kind: 'late',
  // 09:07 in Hong Kong.
  occurredAt: `${DAY}T01:07:00Z`,
  employee: { employeeNumber: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', email: 'taiman@example.com' },
  managers: [{ name: 'Wong Siu Ming', email: 'siuming@example.com' }],
  siteId: 'mk-01',
  workDate: DAY,
  details: { minutesLate: 7, shiftStart: '09:00' },
};
const absenceEvent: AlertEventInput = {
  key: ABSENCE_KEY,
  kind: 'absence',
  occurredAt: `${DAY}T01:00:00Z`,
  employee: { employeeNumber: 'E002', name: 'Lee Siu Ming', nameZh: '李小明' },
  managers: [{ name: 'Wong Siu Ming', email: 'siuming@example.com' }],
  siteId: 'mk-01',
  workDate: DAY,
  details: { shiftStart: '09:00' },
};

describe('alerts console in Chromium', () => {
  let fixture: AttendanceDashboard;
  let receiver: WebhookReceiver;
  let browser: Browser;
  let page: Page;
  let url = '';
  let oneTimePassword = '';
  let secret = '';
  let webhookId = '';
  let absenceId = '';

  const settled = (): Promise<void> => settledPage(page);
  const open = (path: string): Promise<void> => openPage(page, url, path);
  const alertRow = (key: string) => page.locator(`[data-test="notifications-table"] tr[data-key="${key}"]`);
  /** The list's delivery summary of an alert, refreshed until it says `expected`. */
  const summaryOf = async (key: string, expected: string): Promise<void> => {
    await expect
      .poll(async () => {
        await page.locator('[data-test="refresh-notifications"]').click();
        return (await alertRow(key).locator('[data-test="delivery-summary"]').textContent({ timeout: 2_000 }).catch(() => null)) ?? '';
      }, SLOW)
      .toBe(expected);
  };
  const webhookRow = () => page.locator(`[data-test="webhooks-table"] tr[data-id="${webhookId}"]`);
  const requestsFor = (eventId: string): ReceivedRequest[] => receiver.requests.filter((request) => request.eventId === eventId);

  beforeAll(async () => {
    fixture = await startAttendanceDashboard(() => NOW, STAFF);
    url = fixture.dashboard.url;
    // The receiver checks signatures against the same clock the dashboard signs with.
    receiver = await new WebhookReceiver(() => 'ok', () => Math.floor(NOW.getTime() / 1000)).start();
    oneTimePassword = await adminOneTimePassword(fixture.dashboard);
    await fixture.dashboard.auth.users.create({ username: 'hr-chan', role: 'hr', password: HR_PASSWORD, mustChangePassword: false }, undefined);
    browser = await launchTablet(NOW);
    page = browser.page;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fixture?.stop();
    await receiver?.stop();
  });

  it('signs the admin in with the one-time password and shows the Alerts page, menu entry current, webhooks section there', async () => {
    await signInAsNewAdmin(page, url, '/notifications', oneTimePassword, NEW_PASSWORD);
    const nav = page.locator('[data-test="nav-notifications"]');
    expect(await nav.getAttribute('aria-current')).toBe('page');
    expect(await nav.textContent()).toBe('Alerts');
    expect(await page.locator('h1').textContent()).toBe('Alerts');
    await page.locator('[data-test="webhooks"]').waitFor();
    await expect.poll(() => page.locator('[data-test="notifications-table"] td.empty').textContent()).toBe('No alerts.');
    await expect.poll(() => page.locator('[data-test="webhooks-table"] td.empty').textContent()).toBe('No webhooks yet.');
  }, 60_000);

  it("adds a webhook: the server's errors at their fields, then the secret once in a dialog (given to the receiver), never on the page again", async () => {
    await page.locator('[data-test="new-webhook"]').click();
    const form = page.locator('[data-test="webhook-form"]');
    await form.waitFor();
    // Every kind by default: the seven boxes checked and held.
    expect(await form.locator('[data-test="webhook-every-kind"]').isChecked()).toBe(true);
    expect(await form.locator('[data-test="webhook-kind-absence"]').isDisabled()).toBe(true);

    // Not an http(s) URL, and an empty name: each named under its own field by the server.
    await form.locator('[data-test="webhook-name"]').fill('   ');
    await form.locator('[data-test="webhook-url"]').fill('ftp://hr.example.com/hooks');
    await form.locator('[data-test="save-webhook"]').click();
    const urlError = form.locator('[data-field="url"] .field-error');
    await expect.poll(() => urlError.textContent()).toBe('must be an http:// or https:// URL, not ftp:');
    expect(await form.locator('[data-field="name"] .field-error').textContent()).toBe('must not be empty');
    expect(await form.locator('[data-field="url"]').getAttribute('class')).toContain('has-error');
    // None of them at the top of the form.
    expect(await form.locator('.form-error').isHidden()).toBe(true);
    // No kind at all: said at the kinds, before asking the server.
    await form.locator('[data-test="webhook-every-kind"]').uncheck();
    for (const kind of ['late', 'serious-late', 'early-leave', 'missed-punch', 'absence', 'shift-reminder', 'punch-on-leave']) await form.locator(`[data-test="webhook-kind-${kind}"]`).uncheck();
    await form.locator('[data-test="save-webhook"]').click();
    await expect.poll(() => form.locator('[data-test="kinds-error"]').textContent()).toBe('Pick at least one kind, or every kind.');
    expect(await form.locator('[data-field="url"] .field-error').textContent()).toBe('');
    await browser.screenshot('notif-01-webhook-field-errors');
    expect((await fixture.api('GET', '/webhooks')).body.webhooks).toEqual([]);

    await form.locator('[data-test="webhook-every-kind"]').check();
    await form.locator('[data-test="webhook-name"]').fill('HR bridge');
    await form.locator('[data-test="webhook-url"]').fill(receiver.url);
    await form.locator('[data-test="save-webhook"]').click();
    const dialog = page.locator('[data-test="secret-dialog"]');
    await dialog.waitFor();
    expect(await dialog.locator('h2').textContent()).toBe('Webhook HR bridge added');
    secret = (await dialog.locator('[data-test="secret"]').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(await dialog.textContent()).toContain('This is shown only once.');
    receiver.secret = secret;
    await browser.screenshot('notif-02-secret-once');
    await dialog.locator('[data-test="secret-done"]').click();
    await dialog.waitFor({ state: 'detached' });

    const [stored] = (await fixture.api('GET', '/webhooks')).body.webhooks as Json[];
    expect(stored).toMatchObject({ name: 'HR bridge', url: receiver.url, kinds: null, enabled: true, secretHint: secret.slice(0, 10) });
    webhookId = stored?.id;
    await expect.poll(() => webhookRow().locator('[data-test="secret-hint"]').textContent()).toBe(`${secret.slice(0, 10)}…`);
    expect(await webhookRow().textContent()).toContain('All kinds');
    expect(await webhookRow().locator('[data-test="webhook-state"]').textContent()).toBe('✓ Enabled');
    expect(await page.locator('body').innerText()).not.toContain(secret);

    // Shown once: a reload has only the hint, in the text and anywhere in the document.
    await page.reload();
    await settled();
    await webhookRow().waitFor();
    expect(await webhookRow().locator('[data-test="secret-hint"]').textContent()).toBe(`${secret.slice(0, 10)}…`);
    expect(await page.locator('[data-test="secret-dialog"]').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    expect(await page.locator('body').innerText()).not.toContain(secret.slice(10));
  }, 60_000);

  it("lists an alert the receiver accepted as delivered, with its kind in words, the employee, the work day and the time at the site's clock", async () => {
    expect(await fixture.dashboard.notifications.enqueue([lateEvent])).toEqual({ created: 1 });
    await summaryOf(LATE_KEY, '✓ 1 delivered');
    const late = alertRow(LATE_KEY);
    expect(await late.getAttribute('data-kind')).toBe('late');
    expect(await late.locator('[data-test="alert-kind"]').textContent()).toBe('Late');
    expect(await late.textContent()).toContain('E001 Chan Tai Man');
    expect(await late.textContent()).toContain(DAY);
    // 01:07 UTC is 09:07 in Hong Kong (the site's zone).
    expect(await late.locator('time').getAttribute('datetime')).toBe(`${DAY}T01:07:00Z`);
    expect(await late.locator('time').textContent()).toBe('23 Nov 2026, 9:07:00 am');

    // The receiver had it once, signed with the secret read from the dialog.
    const [request] = requestsFor(LATE_KEY);
    expect(requestsFor(LATE_KEY)).toHaveLength(1);
    expect(request).toMatchObject({ method: 'POST', verified: { ok: true }, answer: 200, t: Math.floor(NOW.getTime() / 1000) });
    expect(JSON.parse(request?.rawBody ?? '{}')).toMatchObject({ id: LATE_KEY, type: 'late', test: false, workDate: DAY, employee: { employeeNumber: 'E001', nameZh: '陳大文' } });
    await browser.screenshot('notif-03-delivered');
  }, 60_000);

  it('shows a delivery the receiver refused as failed with its attempt, and Replay in the console delivers it with the same event id', async () => {
    receiver.behaviour = () => 503;
    expect(await fixture.dashboard.notifications.enqueue([absenceEvent])).toEqual({ created: 1 });
    await summaryOf(ABSENCE_KEY, '✕ 1 failed');
    expect(await alertRow(ABSENCE_KEY).locator('[data-test="alert-kind"]').textContent()).toBe('Absence');
    // Filtered to alerts with a failed delivery: the delivered one is not listed; the filter is in the address.
    await page.getByLabel('Delivery status').selectOption('failed');
    await page.locator('[data-test="search-notifications"]').click();
    await expect.poll(() => page.locator('[data-test="notifications-table"] tbody tr').count()).toBe(1);
    await alertRow(ABSENCE_KEY).waitFor();
    expect(new URL(page.url()).searchParams.get('status')).toBe('failed');
    absenceId = (await alertRow(ABSENCE_KEY).getAttribute('data-notification')) ?? '';

    await alertRow(ABSENCE_KEY).locator('[data-test="open-deliveries"]').click();
    const detail = page.locator('[data-test="notification-detail"]');
    await detail.waitFor();
    expect(new URL(page.url()).searchParams.get('notification')).toBe(absenceId);
    expect(await detail.locator('h2').textContent()).toBe('Absence: E002 Lee Siu Ming');
    expect(await detail.locator('[data-test="event-id"]').textContent()).toBe(ABSENCE_KEY);
    const delivery = detail.locator('[data-test="delivery"]');
    expect(await delivery.count()).toBe(1);
    expect(await delivery.getAttribute('data-status')).toBe('failed');
    expect(await delivery.getAttribute('data-channel')).toBe('webhook');
    expect(await delivery.locator('.delivery-where').textContent()).toBe('Webhook HR bridge');
    // Not by colour alone: an icon and the word.
    expect(await delivery.locator('[data-test="delivery-status"]').textContent()).toBe('✕ Failed');
    expect(await delivery.textContent()).toContain('Attempts: 1');
    expect(await delivery.textContent()).toContain('Next attempt');
    const first = delivery.locator('[data-test="attempts"] tr[data-attempt="1"]');
    expect(await first.getAttribute('data-outcome')).toBe('failed');
    expect(await first.locator('td[data-key="statusCode"]').textContent()).toBe('503');
    expect(await first.locator('td[data-key="error"]').textContent()).toBe('HTTP 503: receiver is down');
    expect(await first.locator('td[data-key="duration"]').textContent()).toMatch(/^\d+ ms$/);
    expect(await first.locator('time').textContent()).toBe('24 Nov 2026, 10:00:00 am');
    await browser.screenshot('notif-04-failed-deliveries');

    // The receiver is back: replay from the console.
    receiver.behaviour = () => 'ok';
    await delivery.locator('[data-test="replay"]').click();
    await expect.poll(() => detail.locator('[data-test="delivery"]').getAttribute('data-status'), SLOW).toBe('delivered');
    const replayed = detail.locator('[data-test="delivery"]');
    expect(await replayed.locator('[data-test="delivery-status"]').textContent()).toBe('✓ Delivered');
    expect(await replayed.locator('[data-test="replay-result"]').textContent()).toBe('✓ Replayed: delivered.');
    expect(await replayed.locator('[data-test="attempts"] tbody tr').count()).toBe(2);
    const second = replayed.locator('[data-test="attempts"] tr[data-attempt="2"]');
    expect(await second.getAttribute('data-outcome')).toBe('delivered');
    expect(await second.locator('td[data-key="statusCode"]').textContent()).toBe('200');
    expect(await second.locator('td[data-key="error"]').textContent()).toBe('—');

    // The same event, the same delivery, the same bytes: twice at the receiver, refused then taken.
    const both = requestsFor(ABSENCE_KEY);
    expect(both.map((request) => request.answer)).toEqual([503, 200]);
    expect(both.every((request) => request.verified.ok)).toBe(true);
    expect(both[1]?.deliveryId).toBe(both[0]?.deliveryId);
    expect(both[1]?.rawBody).toBe(both[0]?.rawBody);
    // The list follows once the replay has settled: nothing failed any more.
    await expect.poll(() => page.locator('[data-test="notifications-table"] td.empty').textContent(), SLOW).toBe('No alerts.');
    await page.getByLabel('Delivery status').selectOption('');
    await page.locator('[data-test="search-notifications"]').click();
    await expect.poll(() => alertRow(ABSENCE_KEY).locator('[data-test="delivery-summary"]').textContent()).toBe('✓ 1 delivered');
    // Audited as the signed-in admin.
    const audit = (await fixture.api('GET', '/audit?action=delivery.replay')).body.entries as Json[];
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: { kind: 'user', name: 'admin' }, before: { status: 'failed' }, after: { status: 'pending' } });
    await browser.screenshot('notif-05-replayed');
  }, 60_000);

  it('names the kinds and states in Traditional Chinese', async () => {
    await open(`/notifications?notification=${absenceId}`);
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await settled();
    await page.locator('html[lang="zh-HK"]').waitFor();
    await alertRow(LATE_KEY).waitFor();
    expect(await alertRow(LATE_KEY).locator('[data-test="alert-kind"]').textContent()).toBe('遲到');
    expect(await alertRow(ABSENCE_KEY).locator('[data-test="alert-kind"]').textContent()).toBe('曠工');
    expect(await alertRow(LATE_KEY).textContent()).toContain('陳大文 (Chan Tai Man)');
    expect(await alertRow(LATE_KEY).locator('[data-test="delivery-summary"]').textContent()).toBe('✓ 1 個已送達');
    expect(await page.locator('[data-test="nav-notifications"]').textContent()).toBe('警示通知');
    const detail = page.locator('[data-test="notification-detail"]');
    await detail.waitFor();
    expect(await detail.locator('[data-test="delivery-status"]').textContent()).toBe('✓ 已送達');
    expect(await detail.locator('[data-test="replay"]').textContent()).toBe('↻ 重新發送');
    // Every kind in the filter, in words.
    const kinds = await page.getByLabel('類別', { exact: true }).locator('option').allTextContents();
    expect(kinds).toEqual(['全部', '遲到', '嚴重遲到', '早退', '缺卡', '曠工', '上班提醒', '假期內打卡']);
    const text = await page.locator('body').innerText();
    expect(text).not.toMatch(/\b(nav|notifications|common)\.[a-zA-Z]+/);
    await browser.screenshot('notif-06-zh-hk');
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await page.locator('html[lang="en"]').waitFor();
    await settled();
  }, 60_000);

  it('sends a test event and shows how it went; disables, edits and enables the webhook', async () => {
    await open('/notifications');
    await webhookRow().waitFor();
    const before = receiver.requests.length;
    await webhookRow().locator('[data-test="test-webhook"]').click();
    const outcome = page.locator('[data-test="webhook-result"] [data-test="test-outcome"]');
    await expect.poll(() => outcome.getAttribute('data-delivered'), SLOW).toBe('true');
    expect(await outcome.textContent()).toMatch(/^✓ Test event to HR bridge: delivered \(HTTP 200, \d+ ms\)\.$/);
    const sample = receiver.requests[before];
    expect(sample?.verified.ok).toBe(true);
    expect(JSON.parse(sample?.rawBody ?? '{}')).toMatchObject({ type: 'late', test: true, employee: { employeeNumber: 'TEST-0001' } });

    receiver.behaviour = () => 500;
    await webhookRow().locator('[data-test="test-webhook"]').click();
    await expect.poll(() => outcome.getAttribute('data-delivered'), SLOW).toBe('false');
    expect(await outcome.textContent()).toMatch(/^✕ Test event to HR bridge: not delivered: HTTP 500: receiver is down \(\d+ ms\)\.$/);
    receiver.behaviour = () => 'ok';

    await webhookRow().locator('[data-test="toggle-webhook"]').click();
    await expect.poll(() => webhookRow().locator('[data-test="webhook-state"]').textContent()).toBe('⏸ Disabled: deliveries wait');
    expect((await fixture.api('GET', `/webhooks/${webhookId}`)).body.webhook.enabled).toBe(false);

    // Renamed, and no more shift reminders.
    await webhookRow().locator('[data-test="edit-webhook"]').click();
    const form = page.locator('[data-test="webhook-form"]');
    expect(await form.locator('[data-test="webhook-name"]').inputValue()).toBe('HR bridge');
    expect(await form.locator('[data-test="webhook-url"]').inputValue()).toBe(receiver.url);
    await form.locator('[data-test="webhook-name"]').fill('HR bridge (Mong Kok)');
    await form.locator('[data-test="webhook-every-kind"]').uncheck();
    await form.locator('[data-test="webhook-kind-shift-reminder"]').uncheck();
    await form.locator('[data-test="save-webhook"]').click();
    await form.waitFor({ state: 'detached' });
    await expect.poll(() => webhookRow().locator('.webhook-name strong').textContent()).toBe('HR bridge (Mong Kok)');
    expect(await webhookRow().textContent()).toContain('Late, Seriously late, Early leave, Missed punch, Absence, Punch on leave');
    expect((await fixture.api('GET', `/webhooks/${webhookId}`)).body.webhook).toMatchObject({
      name: 'HR bridge (Mong Kok)',
      enabled: false,
      kinds: ['absence', 'early-leave', 'late', 'missed-punch', 'punch-on-leave', 'serious-late'],
    });

    await webhookRow().locator('[data-test="toggle-webhook"]').click();
    await expect.poll(() => webhookRow().locator('[data-test="webhook-state"]').textContent()).toBe('✓ Enabled');
    expect((await fixture.api('GET', `/webhooks/${webhookId}`)).body.webhook.enabled).toBe(true);
    await browser.screenshot('notif-07-webhooks');
  }, 60_000);

  it('keeps the strict CSP on the alerts page: no violations, no script errors, touch-sized controls', async () => {
    await open(`/notifications?notification=${absenceId}`);
    await page.locator('[data-test="notification-detail"] [data-test="replay"]').waitFor();
    await webhookRow().waitFor();
    await page.locator('[data-test="new-webhook"]').click();
    await page.locator('[data-test="webhook-form"]').waitFor();
    await page.waitForLoadState('networkidle');
    const small = await smallControls(page);
    expect(small).toEqual([]);
    // The refused webhook form was a 400 the page showed: Chromium logs that fetch as a failed resource.
    const problems = pageProblems(browser);
    expect(problems).toEqual([]);
    const csp = (await page.request.get(`${url}/notifications`, { maxRedirects: 0 })).headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
  }, 60_000);

  it('deletes the webhook after a confirm; its deliveries then name it deleted and cannot be replayed', async () => {
    await open('/notifications');
    await webhookRow().locator('[data-test="delete-webhook"]').click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await webhookRow().count()).toBe(1);
    await webhookRow().locator('[data-test="delete-webhook"]').click();
    await page.locator('[data-test="confirm"]').click();
    await expect.poll(() => page.locator('[data-test="webhooks-table"] td.empty').textContent()).toBe('No webhooks yet.');
    expect((await fixture.api('GET', '/webhooks')).body.webhooks).toEqual([]);

    await open(`/notifications?notification=${absenceId}`);
    const delivery = page.locator('[data-test="notification-detail"] [data-test="delivery"]');
    await delivery.waitFor();
    expect(await delivery.locator('.delivery-where').textContent()).toBe('Webhook HR bridge (Mong Kok) deleted');
    expect(await delivery.locator('[data-test="replay"]').count()).toBe(0);
  }, 60_000);

  it('shows HR the alerts (by permission in the menu) but not the webhooks', async () => {
    await Promise.all([page.waitForURL(/\/sign-in/), page.locator('[data-test="sign-out"]').click()]);
    await settled();
    await page.getByLabel('Username').fill('hr-chan');
    await page.getByLabel('Password', { exact: true }).fill(HR_PASSWORD);
    await page.locator('[data-test="sign-in"]').click();
    await page.waitForURL((target) => target.pathname !== '/sign-in');
    await settled();
    await page.locator('[data-test="nav-notifications"]').click();
    await page.waitForURL(`${url}/notifications`);
    await settled();
    await expect.poll(() => page.locator('[data-test="who"]').textContent()).toContain('hr-chan');
    await alertRow(ABSENCE_KEY).waitFor();
    expect(await page.locator('[data-test="notifications-table"] tbody tr').count()).toBe(2);
    expect(await page.locator('[data-test="webhooks"]').count()).toBe(0);
    expect(await page.locator('[data-test="nav-users"]').count()).toBe(0);
    await browser.screenshot('notif-08-hr');
    const problems = pageProblems(browser);
    expect(problems).toEqual([]);
  }, 60_000);
});
