import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrationScopes } from '../../dashboard/auth/permissions.js';
import { startAttendanceDashboard, type AttendanceDashboard, type Json } from '../support/attendance-dashboard.js';
import type { Browser } from './browser.js';
import { adminOneTimePassword, launchTablet, openPage, pageProblems, settled as settledPage, signInAsNewAdmin, smallControls } from './console-session.js';

/**
 * Integration clients on the console's tokens page (issue 7, HRIS sync) in a real browser (Debian
 * Chromium, headless, a tablet with touch) against a real dashboard (SQLite file, embedded broker),
 * its clock fixed. The admin makes a client: the server's field errors at their fields first, then
 * the client ID, the secret (once) and the token URL in a dialog. Those, read off the page, get a
 * token over real HTTP from the token URL (HTTP Basic), and the token reads employees at the one
 * site the client was limited to. Rotating shows a new secret once, and the old one is refused;
 * revoking stops the token at once. The section reads in 繁中; no CSP violations, touch-sized
 * controls. Another client is changed in place in the Edit dialog (the create form, filled in):
 * the server's field error at its field and nothing changed, then a scope dropped, one site and a
 * new name sent as a PATCH of just those; the row and the API show them, and a token issued before
 * is refused the dropped scope at once while the secret still works. Nothing changed sends
 * nothing; the dialog reads in 繁中 too. Screenshots go to test-artifacts/e2e/ (clients-*.png).
 */

/** Monday 2 March 2026, 09:00 in Hong Kong. */
const NOW = new Date('2026-03-02T01:00:00.000Z');
const NEW_PASSWORD = 'integrations console passphrase 7';

const STAFF = [
  { number: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', site: 'mk-01' },
  { number: 'E002', name: 'Lee Siu Ming', nameZh: '李小明', site: 'tst-02' },
];

describe('integration clients in the console, in Chromium', () => {
  let fixture: AttendanceDashboard;
  let browser: Browser;
  let page: Page;
  let url = '';
  let oneTimePassword = '';
  let clientId = '';
  let secret = '';
  let accessToken = '';

  const settled = (): Promise<void> => settledPage(page);
  const open = (path: string): Promise<void> => openPage(page, url, path);
  const section = () => page.locator('[data-test="integration-clients"]');
  const clientRow = (name: string) => page.locator(`[data-test="clients-table"] tr[data-client="${name}"]`);

  /** The token endpoint over real HTTP, as an HRIS would call it. */
  async function requestToken(id: string, password: string): Promise<{ status: number; body: Json; headers: Headers }> {
    const response = await fetch(`${url}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(password)}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    return { status: response.status, body: (await response.json()) as Json, headers: response.headers };
  }
  async function getWith(token: string, path: string): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Json };
  }
  /** Reads the once-only dialog (secret, client ID, token URL) and closes it. */
  async function readSecretDialog(title: string): Promise<{ secret: string; clientId: string; tokenUrl: string; usage: string }> {
    const dialog = page.locator('[data-test="secret-dialog"]');
    await dialog.waitFor();
    expect(await dialog.locator('h2').textContent()).toBe(title);
    const shown = {
      secret: (await dialog.locator('[data-test="secret"]').textContent()) ?? '',
      clientId: (await dialog.locator('[data-test="client-id"]').textContent()) ?? '',
      tokenUrl: (await dialog.locator('[data-test="token-url"]').textContent()) ?? '',
      usage: (await dialog.locator('[data-test="client-usage"]').textContent()) ?? '',
    };
    return shown;
  }
  async function closeSecretDialog(): Promise<void> {
    const dialog = page.locator('[data-test="secret-dialog"]');
    await dialog.locator('[data-test="secret-done"]').click();
    await dialog.waitFor({ state: 'detached' });
  }

  beforeAll(async () => {
    fixture = await startAttendanceDashboard(() => NOW, STAFF);
    url = fixture.dashboard.url;
    oneTimePassword = await adminOneTimePassword(fixture.dashboard);
    browser = await launchTablet(NOW);
    page = browser.page;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fixture?.stop();
  });

  it('shows the integration clients section on the tokens page, empty, offering exactly the integration scopes', async () => {
    await signInAsNewAdmin(page, url, '/tokens', oneTimePassword, NEW_PASSWORD);
    await section().waitFor();
    expect(await section().locator('h2').textContent()).toBe('Integration clients (OAuth)');
    await expect.poll(() => section().locator('[data-test="clients-table"] td.empty').textContent()).toBe('No integration clients.');
    // The API tokens list is still there above it.
    await page.locator('[data-test="tokens-table"]').waitFor();
    await page.locator('[data-test="new-client"]').click();
    const form = page.locator('[data-test="client-form"]');
    await form.waitFor();
    const offered = await form.locator('input[name="scopes"]').evaluateAll((boxes) => boxes.map((box) => box.getAttribute('value')));
    expect(offered).toEqual([...integrationScopes]);
    expect(await form.locator('[data-test="client-lifetime"]').inputValue()).toBe('3600');
  }, 60_000);

  it("refuses a client without a name or scope, with a lifetime too short: the server's errors at their fields, nothing made", async () => {
    const form = page.locator('[data-test="client-form"]');
    await form.locator('[data-test="client-name"]').fill('   ');
    await form.locator('[data-test="client-lifetime"]').fill('30');
    await form.locator('[data-test="create-client"]').click();
    await expect.poll(() => form.locator('[data-field="name"] .field-error').textContent()).toBe('must not be empty');
    expect(await form.locator('[data-field="scopes"] > .field-error').textContent()).toBe('give at least one scope');
    expect(await form.locator('[data-field="tokenLifetimeSeconds"] .field-error').textContent()).toBe('must be at least 60');
    expect(await form.locator('.form-error').isHidden()).toBe(true);
    await browser.screenshot('clients-01-field-errors');
    expect((await fixture.api('GET', '/integration-clients')).body.clients).toEqual([]);
  }, 60_000);

  it('makes a client limited to Mong Kok: ID, secret and token URL shown once, and they get a token over HTTP that reads only that site', async () => {
    const form = page.locator('[data-test="client-form"]');
    await form.locator('[data-test="client-name"]').fill('Workday HRIS');
    await form.locator('[data-test="client-lifetime"]').fill('3600');
    await form.locator('[data-test="client-scope-hris:sync"]').check();
    await form.locator('[data-test="client-scope-employees:read"]').check();
    await form.locator('[data-test="client-site-mk-01"]').check();
    await form.locator('[data-test="create-client"]').click();
    const shown = await readSecretDialog('Integration client "Workday HRIS" created');
    expect(shown.secret).toMatch(/^pgcs_[A-Za-z0-9_-]{43}$/);
    expect(shown.clientId).toMatch(/^pgc_[A-Za-z0-9_-]{22}$/);
    expect(shown.tokenUrl).toBe(`${url}/api/v1/oauth/token`);
    expect(shown.usage).toContain(`curl -u '${shown.clientId}:${shown.secret}' -d grant_type=client_credentials ${url}/api/v1/oauth/token`);
    expect(await page.locator('[data-test="secret-dialog"]').textContent()).toContain('This is shown only once.');
    await browser.screenshot('clients-02-secret-once');
    await closeSecretDialog();
    ({ clientId, secret } = shown);

    const row = clientRow('Workday HRIS');
    await row.waitFor();
    expect(await row.locator('code').textContent()).toBe(clientId);
    expect(await row.locator('[data-test="client-scopes"]').textContent()).toBe('hris:sync employees:read');
    expect(await row.textContent()).toContain('Mong Kok');
    expect(await page.locator('body').innerText()).not.toContain(secret);
    const [stored] = (await fixture.api('GET', '/integration-clients')).body.clients as Json[];
    expect(stored).toMatchObject({ name: 'Workday HRIS', clientId, scopes: ['hris:sync', 'employees:read'], sites: ['mk-01'], tokenLifetimeSeconds: 3600, createdBy: 'user:admin' });

    const token = await requestToken(clientId, secret);
    expect(token.status, JSON.stringify(token.body)).toBe(200);
    expect(token.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'hris:sync employees:read' });
    expect(token.headers.get('cache-control')).toBe('no-store');
    accessToken = token.body.access_token as string;
    const employees = await getWith(accessToken, '/employees');
    expect(employees.status).toBe(200);
    expect((employees.body.employees as Json[]).map((employee) => employee.employeeNumber)).toEqual(['E001']);
    expect((await getWith(accessToken, '/punches')).status).toBe(403);

    // Shown once: after a reload, nowhere in the document.
    await page.reload();
    await settled();
    await clientRow('Workday HRIS').waitFor();
    expect(await page.content()).not.toContain(secret);
    await expect.poll(() => clientRow('Workday HRIS').locator('td').nth(5).textContent()).not.toBe('never');
  }, 60_000);

  it('rotates the secret after a confirm: the new one shown once works, the old one and its token are refused', async () => {
    await clientRow('Workday HRIS').locator('[data-test="rotate-client"]').click();
    await page.locator('[data-test="confirm"]').click();
    const shown = await readSecretDialog('New secret for "Workday HRIS"');
    expect(shown.clientId).toBe(clientId);
    expect(shown.secret).toMatch(/^pgcs_/);
    expect(shown.secret).not.toBe(secret);
    await browser.screenshot('clients-03-rotated');
    await closeSecretDialog();

    const old = await requestToken(clientId, secret);
    expect(old.status).toBe(401);
    expect(old.body.error).toBe('invalid_client');
    expect(old.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await getWith(accessToken, '/employees')).status).toBe(401);
    secret = shown.secret;
    const fresh = await requestToken(clientId, secret);
    expect(fresh.status).toBe(200);
    accessToken = fresh.body.access_token as string;
    expect((await getWith(accessToken, '/employees')).status).toBe(200);
  }, 60_000);

  it('reads in Traditional Chinese', async () => {
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await settled();
    await page.locator('html[lang="zh-HK"]').waitFor();
    await section().waitFor();
    expect(await section().locator('h2').textContent()).toBe('整合用戶端（OAuth）');
    await clientRow('Workday HRIS').waitFor();
    expect(await clientRow('Workday HRIS').locator('[data-test="rotate-client"]').textContent()).toBe('更換密鑰');
    expect(await clientRow('Workday HRIS').locator('[data-test="revoke-client"]').textContent()).toBe('撤銷');
    await page.locator('[data-test="new-client"]').click();
    const form = page.locator('[data-test="client-form"]');
    await form.waitFor();
    expect(await form.textContent()).toContain('hris:sync — 從人力資源系統批量推送員工（建立、更新、停用）');
    expect(await form.textContent()).toContain('令牌有效期（秒）');
    const text = await page.locator('body').innerText();
    expect(text).not.toMatch(/\bclients\.[a-zA-Z]+/);
    await browser.screenshot('clients-04-zh-hk');
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await page.locator('html[lang="en"]').waitFor();
    await settled();
  }, 60_000);

  it('keeps the strict CSP: no violations, no script errors, touch-sized controls', async () => {
    await open('/tokens');
    await clientRow('Workday HRIS').waitFor();
    await page.locator('[data-test="new-client"]').click();
    await page.locator('[data-test="client-form"]').waitFor();
    await page.waitForLoadState('networkidle');
    const small = await smallControls(page, '[data-test="integration-clients"]');
    expect(small).toEqual([]);
    // The refused form was a 400 the page showed: Chromium logs that fetch as a failed resource.
    const problems = pageProblems(browser);
    expect(problems).toEqual([]);
  }, 60_000);

  it('revokes the client after a confirm: its token is refused at once, and it is listed only with the revoked', async () => {
    await open('/tokens');
    await clientRow('Workday HRIS').locator('[data-test="revoke-client"]').click();
    await page.locator('[data-test="confirm"]').click();
    await expect.poll(() => page.locator('.toast').last().textContent()).toBe('Integration client "Workday HRIS" revoked.');
    await expect.poll(() => section().locator('[data-test="clients-table"] td.empty').textContent()).toBe('No integration clients.');
    expect((await getWith(accessToken, '/employees')).status).toBe(401);
    expect((await requestToken(clientId, secret)).body.error).toBe('invalid_client');
    await page.locator('[data-test="clients-show-revoked"]').check();
    await clientRow('Workday HRIS').waitFor();
    expect(await clientRow('Workday HRIS').textContent()).toContain('revoked');
    expect(await clientRow('Workday HRIS').locator('[data-test="revoke-client"]').count()).toBe(0);
    await browser.screenshot('clients-05-revoked');
    const audit = (await fixture.api('GET', '/audit?entity=integration-client')).body.entries as Json[];
    expect(audit.map((entry) => entry.action)).toEqual([
      'integration-client.revoke',
      'integration-client.token-issue',
      'integration-client.rotate-secret',
      'integration-client.token-issue',
      'integration-client.create',
    ]);
    expect(audit.filter((entry) => entry.action !== 'integration-client.token-issue').every((entry) => entry.actor.kind === 'user' && entry.actor.name === 'admin')).toBe(true);
  }, 60_000);

  describe('changing a client in place (Edit)', () => {
    let payroll: Json;
    let payrollSecret = '';
    let payrollToken = '';
    const dialog = () => page.locator('[data-test="edit-client-dialog"]');
    const editForm = () => dialog().locator('[data-test="edit-client-form"]');
    const stored = async (): Promise<Json> => {
      const answer = await fixture.api('GET', `/integration-clients/${payroll.id as string}`);
      expect(answer.status, answer.text).toBe(200);
      return answer.body.client as Json;
    };
    const updates = async (): Promise<Json[]> => ((await fixture.api('GET', '/audit?entity=integration-client')).body.entries as Json[]).filter((entry) => entry.action === 'integration-client.update');
    const ticked = (name: 'scopes' | 'sites') => editForm().locator(`input[name="${name}"]:checked`).evaluateAll((boxes) => boxes.map((box) => box.getAttribute('value')));
    /** Clicks Save and answers the PATCH the page sent (its body and CSRF header). */
    async function save(): Promise<Request> {
      const [request] = await Promise.all([page.waitForRequest((sent) => sent.method() === 'PATCH'), editForm().locator('[data-test="save-client"]').click()]);
      return request;
    }

    it('opens the Edit dialog filled in with what the client has, with the note on live tokens and the secret', async () => {
      const made = await fixture.api('POST', '/integration-clients', { name: 'Payroll export', scopes: ['employees:read', 'punches:read', 'attendance:read'] });
      expect(made.status, made.text).toBe(201);
      payroll = made.body.client as Json;
      payrollSecret = made.body.clientSecret as string;
      const token = await requestToken(payroll.clientId as string, payrollSecret);
      expect(token.status, JSON.stringify(token.body)).toBe(200);
      payrollToken = token.body.access_token as string;
      expect((await getWith(payrollToken, '/punches')).status).toBe(200);
      expect(((await getWith(payrollToken, '/employees')).body.employees as Json[]).map((employee) => employee.employeeNumber)).toEqual(['E001', 'E002']);

      await open('/tokens');
      const row = clientRow('Payroll export');
      await row.waitFor();
      expect(await row.locator('[data-test="client-sites"]').textContent()).toBe('All');
      await row.locator('[data-test="edit-client"]').click();
      await editForm().waitFor();
      expect(await dialog().locator('h2').textContent()).toBe('Edit integration client "Payroll export"');
      expect(await editForm().locator('[data-test="client-name"]').inputValue()).toBe('Payroll export');
      expect(await editForm().locator('[data-test="client-lifetime"]').inputValue()).toBe('3600');
      expect(await ticked('scopes')).toEqual(['employees:read', 'punches:read', 'attendance:read']);
      expect(await ticked('sites')).toEqual([]);
      expect(await editForm().locator('input[name="sites"]').evaluateAll((boxes) => boxes.map((box) => box.getAttribute('value')))).toEqual(['mk-01', 'tst-02']);
      expect(await editForm().locator('[data-test="edit-client-note"]').textContent()).toBe(
        'The client ID and secret stay the same. Its live access tokens change with it: a scope you take away is refused from their next request, new sites apply at once, and a new token lifetime applies to tokens issued from now on.',
      );
      expect(await page.evaluate('document.activeElement?.dataset.test')).toBe('client-name');
      expect(await smallControls(page, '[data-test="edit-client-dialog"]')).toEqual([]);
      await browser.screenshot('clients-06-edit-dialog');
    }, 60_000);

    it("refuses an empty name: the server's error at the name, the dialog open, nothing changed", async () => {
      await editForm().locator('[data-test="client-name"]').fill('   ');
      const request = await save();
      expect(request.postDataJSON()).toEqual({ name: '' });
      await expect.poll(() => editForm().locator('[data-field="name"] .field-error').textContent()).toBe('must not be empty');
      expect(await editForm().locator('[data-field="name"]').getAttribute('class')).toContain('has-error');
      expect(await editForm().locator('.form-error').isHidden()).toBe(true);
      expect(await dialog().isVisible()).toBe(true);
      await browser.screenshot('clients-07-edit-field-error');
      expect(await stored()).toMatchObject({ name: 'Payroll export', scopes: ['employees:read', 'punches:read', 'attendance:read'], sites: 'all', tokenLifetimeSeconds: 3600 });
      expect(await updates()).toEqual([]);
      expect((await getWith(payrollToken, '/punches')).status).toBe(200);
    }, 60_000);

    it('drops a scope, limits it to Mong Kok and renames it: only those sent, the row and the API show them, the old token loses the scope at once, the secret still works', async () => {
      await editForm().locator('[data-test="client-name"]').fill('Payroll export (Mong Kok)');
      await editForm().locator('[data-test="client-scope-punches:read"]').uncheck();
      await editForm().locator('[data-test="client-site-mk-01"]').check();
      const request = await save();
      expect(request.postDataJSON()).toEqual({ name: 'Payroll export (Mong Kok)', scopes: ['employees:read', 'attendance:read'], sites: ['mk-01'] });
      expect(request.headers()['x-csrf-token']).toEqual(expect.any(String));
      await dialog().waitFor({ state: 'detached' });
      await expect.poll(() => page.locator('.toast').last().textContent()).toBe('Integration client "Payroll export (Mong Kok)" saved.');

      const row = clientRow('Payroll export (Mong Kok)');
      await row.waitFor();
      expect(await clientRow('Payroll export').count()).toBe(0);
      expect(await row.locator('code').textContent()).toBe(payroll.clientId);
      expect(await row.locator('[data-test="client-scopes"]').textContent()).toBe('employees:read attendance:read');
      expect(await row.locator('[data-test="client-sites"]').textContent()).toBe('Mong Kok');
      // Focus goes back to the (new) row's Edit button.
      expect(await page.evaluate('document.activeElement?.closest("tr")?.dataset.client + " " + document.activeElement?.dataset.test')).toBe('Payroll export (Mong Kok) edit-client');
      expect(await stored()).toMatchObject({ id: payroll.id, clientId: payroll.clientId, name: 'Payroll export (Mong Kok)', scopes: ['employees:read', 'attendance:read'], sites: ['mk-01'], tokenLifetimeSeconds: 3600, revokedAt: null });
      const [update] = await updates();
      expect(update).toMatchObject({ actor: { kind: 'user', name: 'admin' }, before: { name: 'Payroll export', sites: 'all' }, after: { name: 'Payroll export (Mong Kok)', sites: ['mk-01'] } });

      // The token issued before the change: the dropped scope refused, the new site limit in force.
      expect((await getWith(payrollToken, '/punches')).status).toBe(403);
      const employees = await getWith(payrollToken, '/employees');
      expect(employees.status).toBe(200);
      expect((employees.body.employees as Json[]).map((employee) => employee.employeeNumber)).toEqual(['E001']);
      // Same secret: a new token, with what is left.
      const fresh = await requestToken(payroll.clientId as string, payrollSecret);
      expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
      expect(fresh.body.scope).toBe('employees:read attendance:read');
    }, 60_000);

    it('sends nothing when nothing changed, and the dialog shows the saved values again', async () => {
      const patches: string[] = [];
      const onRequest = (request: Request): void => {
        if (request.method() === 'PATCH') patches.push(request.url());
      };
      page.on('request', onRequest);
      try {
        await clientRow('Payroll export (Mong Kok)').locator('[data-test="edit-client"]').click();
        await editForm().waitFor();
        expect(await editForm().locator('[data-test="client-name"]').inputValue()).toBe('Payroll export (Mong Kok)');
        expect(await ticked('scopes')).toEqual(['employees:read', 'attendance:read']);
        expect(await ticked('sites')).toEqual(['mk-01']);
        // Untick and tick again: the same as before.
        await editForm().locator('[data-test="client-scope-attendance:read"]').uncheck();
        await editForm().locator('[data-test="client-scope-attendance:read"]').check();
        await editForm().locator('[data-test="save-client"]').click();
        await dialog().waitFor({ state: 'detached' });
      } finally {
        page.off('request', onRequest);
      }
      expect(patches).toEqual([]);
      expect(await updates()).toHaveLength(1);
      // Cancel closes it too.
      await clientRow('Payroll export (Mong Kok)').locator('[data-test="edit-client"]').click();
      await editForm().locator('[data-test="client-name"]').fill('Not saved');
      await editForm().getByRole('button', { name: 'Cancel' }).click();
      await dialog().waitFor({ state: 'detached' });
      expect((await stored()).name).toBe('Payroll export (Mong Kok)');
    }, 60_000);

    it('edits in Traditional Chinese: the dialog, its note and the toast in 繁中, a new token lifetime saved', async () => {
      await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
      await settled();
      await page.locator('html[lang="zh-HK"]').waitFor();
      const row = clientRow('Payroll export (Mong Kok)');
      await row.waitFor();
      expect(await row.locator('[data-test="edit-client"]').textContent()).toBe('編輯');
      expect(await row.locator('[data-test="client-sites"]').textContent()).toBe('旺角');
      await row.locator('[data-test="edit-client"]').click();
      await editForm().waitFor();
      expect(await dialog().locator('h2').textContent()).toBe('編輯整合用戶端「Payroll export (Mong Kok)」');
      expect(await editForm().locator('[data-test="edit-client-note"]').textContent()).toContain('用戶端 ID 及密鑰維持不變。');
      expect(await editForm().locator('[data-test="save-client"]').textContent()).toBe('儲存');
      expect(await page.locator('body').innerText()).not.toMatch(/\bclients\.[a-zA-Z]+/);
      await browser.screenshot('clients-08-edit-zh-hk');
      await editForm().locator('[data-test="client-lifetime"]').fill('1800');
      const request = await save();
      expect(request.postDataJSON()).toEqual({ tokenLifetimeSeconds: 1800 });
      await dialog().waitFor({ state: 'detached' });
      await expect.poll(() => page.locator('.toast').last().textContent()).toBe('已儲存整合用戶端「Payroll export (Mong Kok)」。');
      expect(await stored()).toMatchObject({ name: 'Payroll export (Mong Kok)', scopes: ['employees:read', 'attendance:read'], sites: ['mk-01'], tokenLifetimeSeconds: 1800 });
      expect((await requestToken(payroll.clientId as string, payrollSecret)).body.expires_in).toBe(1800);
      await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
      await page.locator('html[lang="en"]').waitFor();
      await settled();
    }, 60_000);

    it('says so in the dialog when the client was revoked meanwhile (409), and offers no Edit for a revoked client; no script errors', async () => {
      const row = clientRow('Payroll export (Mong Kok)');
      await row.locator('[data-test="edit-client"]').click();
      await editForm().waitFor();
      expect((await fixture.api('DELETE', `/integration-clients/${payroll.id as string}`)).status).toBe(200);
      await editForm().locator('[data-test="client-name"]').fill('Too late');
      await save();
      await expect.poll(() => editForm().locator('.form-error').textContent()).toBe('integration client Payroll export (Mong Kok) is revoked: make a new one instead');
      await editForm().getByRole('button', { name: 'Cancel' }).click();
      await dialog().waitFor({ state: 'detached' });
      expect((await stored()).name).toBe('Payroll export (Mong Kok)');

      await open('/tokens');
      await page.locator('[data-test="clients-show-revoked"]').check();
      await clientRow('Payroll export (Mong Kok)').waitFor();
      expect(await section().locator('[data-test="edit-client"]').count()).toBe(0);
      expect(pageProblems(browser)).toEqual([]);
    }, 60_000);
  });
});
