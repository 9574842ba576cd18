import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttendanceDashboard, type AttendanceDashboard, type Json } from '../support/attendance-dashboard.js';
import { signIn } from '../support/dashboard-auth.js';
import { HEADER, csvRow, good } from '../unit/employee-import-fixtures.js';
import type { Browser } from './browser.js';
import { adminOneTimePassword, launchTablet, openPage, pageProblems, settled as settledPage, signInAsNewAdmin, smallControls } from './console-session.js';

/**
 * The employee import of the console (issue 7) in a real browser (Debian Chromium, headless, a
 * tablet with touch) against a real dashboard (SQLite file, embedded broker): the admin opens it
 * from the Employees page, defines departments (a bad code refused at its field, one in use not
 * deleted), checks a file with bad rows (every error on its row, nothing written, Import stays
 * disabled) and the XLSX template as downloaded, checks a good file (counts, the created row's values, the updated row's before →
 * after), imports it (the people in the list and in the database), imports a store manager and
 * reads the one-time password that then signs in, previews a full import with its deactivations
 * highlighted and cancels it, and reads a row error in 繁中. A store manager, who may not write
 * employees, is offered no import. No CSP violations, touch-sized controls. Screenshots go to
 * test-artifacts/e2e/ (import-*.png).
 */

/** Monday 2 March 2026, 09:00 in Hong Kong. */
const NOW = new Date('2026-03-02T01:00:00.000Z');
const NEW_PASSWORD = 'employee import console passphrase 7';
const MANAGER_PASSWORD = 'store manager passphrase 1234';

const STAFF = [
  { number: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', site: 'mk-01' },
  { number: 'E002', name: 'Lee Siu Ming', nameZh: '李小明', site: 'mk-01' },
  { number: 'E003', name: 'Wong Mei Ling', nameZh: '王美玲', site: 'tst-02' },
];

/** A file as Excel's "CSV UTF-8" writes it. */
const csvFile = (name: string, lines: string[]) => ({ name, mimeType: 'text/csv', buffer: Buffer.from(`\uFEFF${lines.join('\r\n')}\r\n`, 'utf8') });

/** Rows 2-6: one good, then an unknown site, an unknown department, a bad phone and e-mail, a duplicate number. */
const BAD_FILE = csvFile('bad.csv', [
  HEADER,
  csvRow(good('E101', { sites: 'mk-01', department: 'OPS' })),
  csvRow(good('E102', { sites: 'zz-99' })),
  csvRow(good('E103', { department: 'Opps' })),
  csvRow(good('E104', { phone: '4123 4567', email: 'nope' })),
  csvRow(good('E101')),
]);

/** A new person with every value, and E001 moved from "retail" to OPS (the columns the file leaves out stay as they are). */
const GOOD_FILE = csvFile('new-starters.csv', [
  'employee_number,name,name_zh,department,sites,badges,phone',
  'E101,Ho Ka Yan,何家欣,OPS,mk-01,mifare:04A1B2C3,9123 4567',
  'E001,Chan Tai Man,陳大文,OPS,mk-01,,',
]);

const MANAGER_FILE = csvFile('managers.csv', ['employee_number,name,role,sites', 'E105,Yip Wing Sze,store-manager,mk-01']);

describe('employee import in the console, in Chromium', () => {
  let fixture: AttendanceDashboard;
  let browser: Browser;
  let page: Page;
  let url = '';
  let oneTimePassword = '';

  const settled = (): Promise<void> => settledPage(page);
  const open = (path: string): Promise<void> => openPage(page, url, path);
  const importSection = () => page.locator('[data-test="employee-import"]');
  const departments = () => page.locator('[data-test="departments"]');
  const departmentRow = (code: string) => page.locator(`[data-test="departments-table"] tr[data-department="${code}"]`);
  const previewRow = (selector: string) => page.locator(`[data-test="import-rows"] tr${selector}`);
  const countOf = async (outcome: string) => Number(await page.locator(`[data-test="import-counts"] [data-count="${outcome}"] .tile-value`).textContent());
  /** An attribute of every element a locator finds, in document order. */
  const attributes = async (locator: ReturnType<Page['locator']>, name: string) => Promise.all((await locator.all()).map((element) => element.getAttribute(name)));
  const employeeNumbers = async () => (await fixture.dashboard.db.all<{ employee_number: string }>('SELECT employee_number FROM employees ORDER BY 1')).map((row) => row.employee_number);

  async function check(file: { name: string; mimeType: string; buffer: Buffer }): Promise<void> {
    await page.locator('[data-test="import-file"]').setInputFiles(file);
    await page.locator('[data-test="check-employee-import"]').click();
    await page.locator('[data-test="import-verdict"]').waitFor();
  }

  beforeAll(async () => {
    fixture = await startAttendanceDashboard(() => NOW, STAFF);
    url = fixture.dashboard.url;
    oneTimePassword = await adminOneTimePassword(fixture.dashboard);
    await fixture.dashboard.auth.users.create({ username: 'mgr-mk', role: 'store-manager', sites: ['mk-01'], password: MANAGER_PASSWORD, mustChangePassword: false }, undefined);
    browser = await launchTablet(NOW);
    page = browser.page;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fixture?.stop();
  });

  it('signs the admin in, opens the import from the Employees page, and serves both templates to the session', async () => {
    await signInAsNewAdmin(page, url, '/employees', oneTimePassword, NEW_PASSWORD);
    await Promise.all([page.waitForURL(`${url}/employees?import=1`), page.locator('[data-test="import-employees"]').click()]);
    await settled();
    await importSection().waitFor();
    expect(await importSection().locator('h2').textContent()).toBe('Import employees');
    // The list stays under the import, to see what it did.
    await page.locator('[data-test="employees-table"] tr[data-employee="E001"]').waitFor();
    expect(await page.locator('[data-test="commit-employee-import"]').isDisabled()).toBe(true);

    for (const [link, type, start] of [
      ['template-csv', 'text/csv; charset=utf-8', '\uFEFFemployee_number,name,name_zh'],
      ['template-xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'PK'],
    ] as const) {
      const href = await page.locator(`[data-test="${link}"]`).getAttribute('href');
      // With the browser's session cookie only, as the link is followed.
      const template = await page.request.get(`${url}${href}`);
      expect(template.status()).toBe(200);
      expect(template.headers()['content-type']).toBe(type);
      expect((await template.body()).toString(link === 'template-csv' ? 'utf8' : 'latin1').startsWith(start)).toBe(true);
    }
    expect(await departments().locator('td.empty').textContent()).toBe('No departments defined: imports take any department name.');
  }, 60_000);

  it('defines departments: a bad code is refused at its field, a rename is kept, one still in use is not deleted', async () => {
    const form = page.locator('[data-test="department-form"]');
    await form.locator('[data-test="department-code"]').fill('bad!');
    await form.locator('[data-test="department-name"]').fill('Bad');
    await form.locator('[data-test="save-department"]').click();
    await expect.poll(() => form.locator('[data-field="code"] .field-error').textContent()).toContain('letters, digits');
    expect((await fixture.api('GET', '/departments')).body.departments).toEqual([]);

    for (const [code, name, nameZh] of [
      ['OPS', 'Operations', '營運部'],
      ['retail', 'Retail', '零售部'],
      ['TMP', 'Temporary', ''],
    ]) {
      await form.locator('[data-test="department-code"]').fill(code as string);
      await form.locator('[data-test="department-name"]').fill(name as string);
      await form.locator('[data-test="department-name-zh"]').fill(nameZh as string);
      await form.locator('[data-test="save-department"]').click();
      await departmentRow(code as string).waitFor();
    }
    expect(await form.locator('[data-field="code"] .field-error').textContent()).toBe('');
    // The staff were made with the department "retail".
    expect(await departmentRow('retail').locator('td[data-key="employees"]').textContent()).toBe('3');
    expect(await departmentRow('OPS').locator('td[data-key="employees"]').textContent()).toBe('0');

    await departmentRow('OPS').locator('[data-test="rename-department"]').click();
    expect(await form.locator('[data-test="department-code"]').inputValue()).toBe('OPS');
    expect(await form.locator('[data-test="department-code"]').getAttribute('readonly')).not.toBeNull();
    await form.locator('[data-test="department-name"]').fill('Operations team');
    await form.locator('[data-test="save-department"]').click();
    await expect.poll(() => departmentRow('OPS').textContent()).toContain('Operations team');

    await departmentRow('retail').locator('[data-test="delete-department"]').click();
    await page.locator('[data-test="confirm"]').click();
    await expect.poll(() => departments().locator('[data-test="department-error"]').textContent()).toBe('Department retail was not deleted: employees still belong to it. Move them to another department first.');
    await departmentRow('TMP').locator('[data-test="delete-department"]').click();
    await page.locator('[data-test="confirm"]').click();
    await departmentRow('TMP').waitFor({ state: 'detached' });

    expect((await fixture.api('GET', '/departments')).body.departments.map((d: Json) => [d.code, d.name, d.nameZh, d.employees])).toEqual([
      ['OPS', 'Operations team', '營運部', 0],
      ['retail', 'Retail', '零售部', 3],
    ]);
    await browser.screenshot('import-01-departments');
  }, 60_000);

  it('shows every error of a bad file on its row, writes nothing, and keeps Import disabled', async () => {
    const before = await employeeNumbers();
    await page.locator('[data-test="import-file"]').setInputFiles({ name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.alloc(0) });
    await page.locator('[data-test="check-employee-import"]').click();
    await expect.poll(() => page.locator('[data-test="import-error"]').textContent()).toBe('empty.csv is empty: choose the filled-in file.');

    await check(BAD_FILE);
    expect(await page.locator('[data-test="import-verdict"]').textContent()).toBe('Nothing can be imported: 5 errors in 4 rows, shown on their rows below. Fix them in the file and check it again.');
    expect(await page.locator('[data-test="commit-employee-import"]').isDisabled()).toBe(true);

    const errorAt = (row: number, column: string) => previewRow(`[data-row="${row}"][data-outcome="error"] li[data-column="${column}"]`);
    expect(await errorAt(3, 'sites').textContent()).toContain('zz-99');
    expect(await errorAt(4, 'department').locator('.error-message').textContent()).toBe('there is no department Opps');
    await errorAt(5, 'phone').waitFor();
    await errorAt(5, 'email').waitFor();
    await errorAt(6, 'employee_number').waitFor();
    // The good row is previewed on its row too, in file order among the errors.
    expect(await previewRow('[data-row="2"]').getAttribute('data-outcome')).toBe('create');
    expect(await attributes(page.locator('[data-test="import-rows"] tbody tr'), 'data-row')).toEqual(['2', '3', '4', '5', '6']);
    expect(await countOf('create')).toBe(1);
    expect(await employeeNumbers()).toEqual(before);
    await browser.screenshot('import-02-row-errors');
  }, 60_000);

  it('checks an Excel workbook: the template as downloaded names sites this dashboard does not have, shown on its row', async () => {
    const template = await page.request.get(`${url}/api/v1/employee-imports/template.xlsx`);
    await check({ name: 'punchgate-employees.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: await template.body() });
    expect(await page.locator('[data-test="import-file-summary"]').textContent()).toBe('punchgate-employees.xlsx: 1 rows (xlsx).');
    // One error for each of its two sites, TST and MK.
    expect(await previewRow('[data-row="3"] li[data-column="sites"] .error-message').allTextContents()).toEqual([expect.stringContaining('TST'), expect.stringContaining('MK')]);
    expect(await page.locator('[data-test="commit-employee-import"]').isDisabled()).toBe(true);
  }, 60_000);

  it('previews a good file with its counts and diffs, imports exactly it, and the people are in the list and the database', async () => {
    await check(GOOD_FILE);
    expect(await page.locator('[data-test="import-verdict"]').textContent()).toBe('No errors. 2 employees will change: look over the rows below, then import.');
    expect([await countOf('create'), await countOf('update'), await countOf('deactivate'), await countOf('unchanged')]).toEqual([1, 1, 0, 0]);
    expect(await page.locator('[data-test="import-file-summary"]').textContent()).toBe('new-starters.csv: 2 rows (utf-8-bom).');

    const created = previewRow('[data-employee="E101"]');
    expect(await created.getAttribute('data-outcome')).toBe('create');
    expect(await created.locator('li[data-field="nameZh"]').textContent()).toBe('Name (Traditional Chinese): 何家欣');
    expect(await created.locator('li[data-field="phone"]').textContent()).toBe('Phone: +85291234567');
    expect(await created.locator('li[data-field="badges"]').textContent()).toBe('Badges: mifare:04A1B2C3');
    const updated = previewRow('[data-employee="E001"]');
    expect(await updated.getAttribute('data-outcome')).toBe('update');
    expect(await attributes(updated.locator('li'), 'data-field')).toEqual(['department']);
    expect(await updated.locator('li[data-field="department"] del').textContent()).toBe('retail');
    expect(await updated.locator('li[data-field="department"] ins').textContent()).toBe('OPS');
    // Checking writes nothing.
    expect(await employeeNumbers()).toEqual(['E001', 'E002', 'E003']);
    await browser.screenshot('import-03-preview');

    const commit = page.locator('[data-test="commit-employee-import"]');
    expect(await commit.isDisabled()).toBe(false);
    await commit.click();
    await expect.poll(() => page.locator('[data-test="import-done"]').textContent()).toBe('Imported new-starters.csv: 1 created, 1 updated, 0 deactivated, 0 unchanged.');
    expect(await commit.isDisabled()).toBe(true);
    await page.locator('[data-test="employees-table"] tr[data-employee="E101"]').waitFor();
    expect(await page.locator('[data-test="employees-table"] tr[data-employee="E101"]').textContent()).toBe('E101Ho Ka YanOPSMong Kokmifare:04A1B2C3active');
    await expect.poll(() => departmentRow('OPS').locator('td[data-key="employees"]').textContent()).toBe('2');

    expect(await employeeNumbers()).toEqual(['E001', 'E002', 'E003', 'E101']);
    expect((await fixture.api('GET', '/employees/E101')).body.employee).toMatchObject({ name: 'Ho Ka Yan', nameZh: '何家欣', department: 'OPS', phone: '+85291234567', sites: ['mk-01'], badges: [{ credential: { kind: 'mifare', uid: '04A1B2C3' } }] });
    expect((await fixture.api('GET', '/employees/E001')).body.employee).toMatchObject({ department: 'OPS', nameZh: '陳大文', sites: ['mk-01'] });
    const audit = await fixture.dashboard.db.get<{ actor_name: string; after: string }>("SELECT actor_name, after FROM audit_log WHERE action = 'employees.import' ORDER BY id DESC LIMIT 1");
    expect(audit?.actor_name).toBe('admin');
    expect(JSON.parse(audit!.after)).toMatchObject({ mode: 'upsert', create: 1, update: 1 });
    await browser.screenshot('import-04-imported');
  }, 60_000);

  it('imports a store manager and shows the one-time password once, which signs in and must be changed', async () => {
    await check(MANAGER_FILE);
    expect(await previewRow('[data-employee="E105"]').locator('li[data-field="role"]').textContent()).toBe('Console role: store-manager: mk-01');
    await page.locator('[data-test="commit-employee-import"]').click();
    const account = page.locator('[data-test="import-accounts"] tr[data-employee="E105"]');
    await account.waitFor();
    expect(await account.locator('[data-test="account-username"]').textContent()).toBe('e105');
    const password = (await account.locator('[data-test="one-time-password"]').textContent()) ?? '';
    expect(password.length).toBeGreaterThanOrEqual(12);
    expect(await page.locator('[data-test="import-accounts-box"] .notice').textContent()).toBe(
      'These one-time passwords are shown only this once. Hand each person their username and password in private. They must choose a new password when they first sign in.',
    );
    await browser.screenshot('import-05-one-time-password');

    const manager = await signIn(fixture.dashboard.http, 'e105', password);
    expect(manager.status, JSON.stringify(manager.body)).toBe(200);
    expect(manager.body).toMatchObject({ user: { username: 'e105', role: 'store-manager', sites: ['mk-01'], mustChangePassword: true } });
    // Shown once: the page drawn again has no trace of it.
    await open('/employees?import=1');
    await importSection().waitFor();
    expect(await page.locator('[data-test="import-accounts"]').count()).toBe(0);
  }, 60_000);

  it('previews a full import with the people it would deactivate highlighted, and writes nothing when the confirm is cancelled', async () => {
    await page.locator('[data-test="mode-full"]').check();
    expect(await page.locator('[data-test="full-mode-warning"]').textContent()).toContain('will be deactivated');
    await check(csvFile('everyone.csv', ['employee_number,name', 'E101,Ho Ka Yan', 'E105,Yip Wing Sze']));
    expect([await countOf('create'), await countOf('update'), await countOf('deactivate'), await countOf('unchanged')]).toEqual([0, 0, 3, 2]);
    expect(await page.locator('[data-test="deactivate-warning"]').textContent()).toBe('3 people not in the file will be deactivated (highlighted below).');
    const deactivations = page.locator('[data-test="import-rows"] tr[data-outcome="deactivate"]');
    expect(await attributes(deactivations, 'data-employee')).toEqual(['E001', 'E002', 'E003']);
    expect(await deactivations.first().locator('th').textContent()).toBe('not in file');
    expect(await page.evaluate(`getComputedStyle(document.querySelector('[data-test="import-rows"] tr[data-outcome="deactivate"] td')).backgroundColor`)).toBe('rgb(254, 243, 199)');
    await browser.screenshot('import-06-full-preview');

    await page.locator('[data-test="commit-employee-import"]').click();
    const dialog = page.locator('dialog');
    expect(await dialog.textContent()).toContain('Deactivate 3 people who are not in the file');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await fixture.count("employees WHERE status = 'active'")).toBe(5);

    // Another mode needs another check.
    await page.locator('[data-test="mode-upsert"]').check();
    expect(await page.locator('[data-test="import-rows"]').count()).toBe(0);
    expect(await page.locator('[data-test="commit-employee-import"]').isDisabled()).toBe(true);
  }, 60_000);

  it('shows the row errors in 繁中', async () => {
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await settled();
    await page.locator('html[lang="zh-HK"]').waitFor();
    await importSection().waitFor();
    expect(await importSection().locator('h2').textContent()).toBe('匯入員工');
    await check(BAD_FILE);
    expect(await page.locator('[data-test="import-verdict"]').textContent()).toBe('無法匯入：4 列共有 5 個錯誤，已在下面相應的列顯示。請在檔案中更正後再檢查。');
    expect(await previewRow('[data-row="4"] li[data-column="department"] .error-message').textContent()).toBe('沒有部門「Opps」');
    expect(await previewRow('[data-row="4"]').locator('.pill').textContent()).toBe('✕ 錯誤');
    const text = await page.locator('body').innerText();
    expect(text).not.toMatch(/\b(import|departments|employees|common)\.[a-zA-Z]+/);
    await browser.screenshot('import-07-errors-zh-hk');
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await page.locator('html[lang="en"]').waitFor();
    await settled();
  }, 60_000);

  it('keeps the strict CSP: no violations, no script errors, touch-sized controls', async () => {
    await open('/employees?import=1');
    await departmentRow('OPS').waitFor();
    await check(GOOD_FILE);
    await page.waitForLoadState('networkidle');
    const small = await smallControls(page, '[data-test="employee-import-view"]');
    expect(small).toEqual([]);
    // The refused department code (400) and the department in use (409) were answers the page
    // showed: Chromium logs those fetches as failed resources.
    const problems = pageProblems(browser);
    expect(problems).toEqual([]);
  }, 60_000);

  it('offers no import to a store manager, who may read employees but not write them', async () => {
    await Promise.all([page.waitForURL(/\/sign-in/), page.locator('[data-test="sign-out"]').click()]);
    await settled();
    await open('/employees?import=1');
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await page.getByLabel('Username').fill('mgr-mk');
    await page.getByLabel('Password', { exact: true }).fill(MANAGER_PASSWORD);
    await Promise.all([page.waitForURL(`${url}/employees?import=1`), page.locator('[data-test="sign-in"]').click()]);
    await settled();
    await page.locator('[data-test="employees-table"] tr[data-employee="E001"]').waitFor();
    expect(await page.locator('[data-test="import-employees"]').count()).toBe(0);
    expect(await page.locator('[data-test="employee-import-view"]').count()).toBe(0);
    // And the API refuses it to the role too.
    const refused = await fixture.api('POST', '/employee-imports/preview', GOOD_FILE.buffer, 'mgr-mk', { 'content-type': 'text/csv' });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');
  }, 60_000);
});
