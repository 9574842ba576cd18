import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttendanceDashboard, type AttendanceDashboard } from '../support/attendance-dashboard.js';
import type { Browser } from './browser.js';
import { adminOneTimePassword, launchTablet, openPage, pageProblems, settled as settledPage, signInAsNewAdmin, smallControls } from './console-session.js';

/**
 * The attendance pages of the console in a real browser (Debian Chromium, headless, a tablet with
 * touch) against a real dashboard (SQLite file, embedded broker) whose clock, and the browser's,
 * stand at Tuesday 24 Nov 2026 10:00 Hong Kong time: the admin signs in with a one-time password,
 * makes a shift and a weekly schedule in the editors (a field error shown at its field, a shift in
 * use refused), punches of Monday are stored, the daily report shows the late arrival highlighted
 * with its words in English and in 繁中, the XLSX download is a real workbook, a leave file with a
 * bad row is refused row by row and imported once fixed, a make-up punch filed by the admin is
 * refused to the admin and approved by HR, and the hotspot charts have their bars. No CSP
 * violations, touch-sized controls. Screenshots go to test-artifacts/e2e/ (att-*.png).
 */

/** Tuesday 24 November 2026, 10:00 in Hong Kong: "yesterday" is Monday the 23rd. */
const NOW = new Date('2026-11-24T02:00:00.000Z');
const DAY = '2026-11-23';
const NEW_PASSWORD = 'attendance console passphrase 7';
const HR_PASSWORD = 'hr reviewer passphrase 1234';

const STAFF = [
  { number: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', site: 'mk-01' },
  { number: 'E002', name: 'Lee Siu Ming', nameZh: '李小明', site: 'mk-01' },
  { number: 'E003', name: 'Wong Mei Ling', nameZh: '王美玲', site: 'tst-02' },
];

describe('attendance console in Chromium', () => {
  let fixture: AttendanceDashboard;
  let browser: Browser;
  let page: Page;
  let url = '';
  let oneTimePassword = '';
  let requestId = '';

  const settled = (): Promise<void> => settledPage(page);
  const open = (path: string): Promise<void> => openPage(page, url, path);
  const reportRow = (employee: string) => page.locator(`[data-test="report-table"] tr[data-employee="${employee}"]`);

  beforeAll(async () => {
    fixture = await startAttendanceDashboard(NOW, STAFF);
    url = fixture.dashboard.url;
    oneTimePassword = await adminOneTimePassword(fixture.dashboard);
    await fixture.dashboard.auth.users.create({ username: 'hr-wong', role: 'hr', password: HR_PASSWORD, mustChangePassword: false }, undefined);
    browser = await launchTablet(NOW);
    page = browser.page;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fixture?.stop();
  });

  it('signs the admin in with the one-time password, then shows the attendance pages in the menu', async () => {
    await signInAsNewAdmin(page, url, '/attendance', oneTimePassword, NEW_PASSWORD);
    for (const entry of ['attendance', 'leave', 'makeup', 'schedules']) await page.locator(`[data-test="nav-${entry}"]`).waitFor();
    expect(await page.locator('[data-test="nav-attendance"]').getAttribute('aria-current')).toBe('page');
  }, 60_000);

  it('makes a fixed shift (a misplaced break shown at its field) and a weekly schedule; a shift in use is not deleted', async () => {
    await open('/schedules');
    await page.locator('[data-test="new-fixed-shift"]').click();
    const editor = page.locator('[data-test="shift-form"]');
    await editor.locator('[data-test="shift-id"]').fill('day');
    await editor.locator('[data-test="shift-name"]').fill('Day');
    await editor.locator('[data-test="shift-name-zh"]').fill('日更');
    expect(await editor.locator('[data-test="segments-start"]').inputValue()).toBe('09:00');
    expect(await editor.locator('[data-test="segments-end"]').inputValue()).toBe('18:00');
    await editor.locator('[data-test="add-breaks"]').click();
    await editor.locator('[data-test="breaks-start"]').fill('19:00');
    await editor.locator('[data-test="breaks-end"]').fill('20:00');
    await editor.locator('[data-test="save-shift"]').click();
    // The server's issue (breaks.0) under the break's row, not at the top.
    const breakRow = editor.locator('[data-field="breaks.0"]');
    await expect.poll(() => breakRow.locator('.field-error').first().textContent()).toContain("is not inside one of the shift's segments");
    expect((await fixture.api('GET', '/shifts')).body.shifts).toEqual([]);
    await browser.screenshot('att-01-shift-field-error');

    await editor.locator('[data-test="breaks-start"]').fill('13:00');
    await editor.locator('[data-test="breaks-end"]').fill('14:00');
    await editor.locator('[data-test="save-shift"]').click();
    await expect.poll(() => page.locator('[data-test="shifts-table"]').textContent()).toContain('09:00–18:00 (break 13:00–14:00)');
    expect((await fixture.api('GET', '/shifts')).body.shifts).toEqual([{ id: 'day', name: 'Day', nameZh: '日更', kind: 'fixed', segments: [{ start: '09:00', end: '18:00' }], breaks: [{ start: '13:00', end: '14:00' }] }]);

    await page.locator('[data-test="new-schedule"]').click();
    const schedule = page.locator('[data-test="schedule-form"]');
    await schedule.locator('[data-test="schedule-id"]').fill('retail');
    expect(await schedule.locator('[data-test="schedule-target"]').inputValue()).toBe('everyone');
    for (const day of ['mon', 'tue', 'wed', 'thu', 'fri']) await schedule.locator(`[data-test="day-${day}"]`).selectOption('day');
    await schedule.locator('[data-test="schedule-valid-from"]').fill('2026-11-01');
    await schedule.locator('[data-test="save-schedule"]').click();
    await expect.poll(() => page.locator('[data-test="schedules-table"]').textContent()).toContain('retail');
    expect((await fixture.api('GET', '/schedules')).body.schedules).toEqual([
      {
        id: 'retail',
        appliesTo: { everyone: true },
        pattern: { kind: 'weekly', days: { mon: 'day', tue: 'day', wed: 'day', thu: 'day', fri: 'day', sat: null, sun: null } },
        validFrom: '2026-11-01',
        validTo: null,
        siteId: null,
        holidays: 'statutory',
      },
    ]);

    await page.locator('[data-test="delete-shift"][data-id="day"]').click();
    await page.locator('[data-test="confirm"]').click();
    await expect.poll(() => page.locator('[data-test="shift-error"]').textContent()).toContain('Not deleted: shift day is still used by schedule retail');
    expect((await fixture.api('GET', '/shifts')).body.shifts.map((shift: { id: string }) => shift.id)).toEqual(['day']);

    // A flexible shift, and a rotation for one person from next year (Monday's report unchanged), deleted again.
    await page.locator('[data-test="new-flexible-shift"]').click();
    const flexible = page.locator('[data-test="shift-form"][data-kind="flexible"]');
    await flexible.locator('[data-test="shift-id"]').fill('flex');
    await flexible.locator('[data-test="shift-name"]').fill('Office flexi');
    await flexible.locator('[data-test="save-shift"]').click();
    await expect.poll(() => page.locator('[data-test="shifts-table"]').textContent()).toContain('start 08:00–10:00, 8 h, 60 min break');
    expect((await fixture.api('GET', '/shifts')).body.shifts.find((shift: { id: string }) => shift.id === 'flex')).toEqual({ id: 'flex', name: 'Office flexi', kind: 'flexible', earliestStart: '08:00', latestStart: '10:00', requiredMinutes: 480, breakMinutes: 60 });
    await page.locator('[data-test="new-schedule"]').click();
    const rotation = page.locator('[data-test="schedule-form"]');
    await rotation.locator('[data-test="schedule-id"]').fill('e003-rota');
    await rotation.locator('[data-test="schedule-target"]').selectOption('employeeNumber');
    await rotation.locator('[data-test="schedule-target-value"]').fill('E003');
    await rotation.locator('[data-test="schedule-pattern"]').selectOption('rotation');
    await rotation.locator('[data-test="rotation-anchor"]').fill('2027-01-04');
    await rotation.locator('[data-test="add-cycle-day"]').click();
    await rotation.locator('[data-test="cycle-day"]').nth(2).selectOption('flex');
    await rotation.locator('[data-test="schedule-valid-from"]').fill('2027-01-04');
    await rotation.locator('[data-test="schedule-holidays"]').selectOption('general');
    await rotation.locator('[data-test="save-schedule"]').click();
    await expect.poll(() => page.locator('[data-test="schedules-table"]').textContent()).toContain('Rotation of 3 days from 2027-01-04: Day, Rest day, Office flexi');
    expect((await fixture.api('GET', '/schedules')).body.schedules.find((item: { id: string }) => item.id === 'e003-rota')).toMatchObject({
      appliesTo: { employeeNumber: 'E003' },
      pattern: { kind: 'rotation', anchorDate: '2027-01-04', cycle: ['day', null, 'flex'] },
      holidays: 'general',
    });
    await page.locator('[data-test="delete-schedule"][data-id="e003-rota"]').click();
    await page.locator('[data-test="confirm"]').click();
    await expect.poll(async () => (await fixture.api('GET', '/schedules')).body.schedules.map((item: { id: string }) => item.id)).toEqual(['retail']);

    // The settings: a value the server refuses is named at its field; a good one is stored.
    const settings = page.locator('[data-test="settings-form"]');
    await settings.locator('[data-test="setting-rules.seriousLateMinutes"]').fill('0');
    await settings.locator('[data-test="save-settings"]').click();
    await expect.poll(() => settings.locator('[data-field="rules.seriousLateMinutes"] .field-error').textContent()).not.toBe('');
    await settings.locator('[data-test="setting-rules.seriousLateMinutes"]').fill('20');
    await settings.locator('[data-test="setting-makeup.hrReviewAfterDays"]').fill('10');
    await settings.locator('[data-test="save-settings"]').click();
    await expect.poll(async () => (await fixture.api('GET', '/attendance/settings')).body.settings.makeup.hrReviewAfterDays).toBe(10);
    expect((await fixture.api('GET', '/attendance/settings')).body.settings.rules).toMatchObject({ seriousLateMinutes: 20, lateGraceMinutes: 0 });
    await browser.screenshot('att-02-schedules');
  }, 60_000);

  it("shows yesterday's daily report with the late arrival highlighted and named, in English and in 繁中, and downloads it as XLSX", async () => {
    await fixture.store([
      fixture.badge('E001', `${DAY} 09:07`),
      fixture.badge('E001', `${DAY} 18:02`),
      fixture.badge('E002', `${DAY} 08:52`),
      fixture.badge('E002', `${DAY} 18:05`),
      // E003 tapped in at Tsim Sha Tsui and never out: a missed punch.
      fixture.badge('E003', `${DAY} 08:58`, 'tst-02'),
    ]);
    await open('/attendance');
    // Yesterday by default, in Hong Kong.
    expect(await page.locator('[data-test="attendance-from"]').inputValue()).toBe(DAY);
    expect(await page.locator('[data-test="attendance-to"]').inputValue()).toBe(DAY);
    const late = reportRow('E001');
    await late.waitFor();
    expect(await late.getAttribute('data-emphasis')).toBe('exception');
    expect(await late.getAttribute('class')).toContain('emphasis-exception');
    // Not by colour alone: an icon and the status in words, first in the row.
    const flag = late.locator('[data-test="row-flag"]');
    expect(await flag.textContent()).toBe('⚠Late');
    expect(await flag.getAttribute('title')).toBe('Exception');
    expect(await late.locator('td[data-key="status"]').textContent()).toBe('Late');
    expect(await late.locator('td[data-key="lateMinutes"]').textContent()).toBe('7');
    expect(await reportRow('E002').getAttribute('data-emphasis')).toBe('normal');
    expect(await reportRow('E002').locator('td[data-key="status"]').textContent()).toBe('Normal');
    expect(await reportRow('E003').locator('td[data-key="status"]').textContent()).toBe('Missed punch');
    expect(await page.locator('[data-test="report-summary"]').textContent()).toContain('3 rows, 2 with exceptions');
    await browser.screenshot('att-03-daily-en');

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test="download-xlsx"]').click()]);
    expect(download.suggestedFilename()).toBe(`attendance-daily-${DAY}-${DAY}.xlsx`);
    const workbook = await readFile(await download.path());
    expect(workbook.subarray(0, 2).toString('latin1')).toBe('PK');
    expect(workbook.length).toBeGreaterThan(1000);
    const payrollHref = await page.locator('[data-test="download-payroll"]').getAttribute('href');
    expect(payrollHref).toBe('/api/v1/reports/payroll?month=2026-11&format=xlsx&lang=en');
    // With the browser's session cookie only, as the link is followed.
    const payroll = await page.request.get(`${url}${payrollHref}`);
    expect(payroll.status()).toBe(200);
    expect((await payroll.body()).subarray(0, 2).toString('latin1')).toBe('PK');

    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await settled();
    await page.locator('html[lang="zh-HK"]').waitFor();
    await reportRow('E001').waitFor();
    expect(await reportRow('E001').locator('td[data-key="status"]').textContent()).toBe('遲到');
    expect(await reportRow('E001').locator('[data-test="row-flag"]').textContent()).toBe('⚠遲到');
    expect(await reportRow('E001').locator('[data-test="row-flag"]').getAttribute('title')).toBe('異常');
    expect(await page.locator('nav').textContent()).toContain('考勤');
    expect(await page.locator('[data-test="download-xlsx"]').getAttribute('href')).toContain('lang=zh-HK');
    const text = await page.locator('body').innerText();
    expect(text).not.toMatch(/\b(nav|attendance|common)\.[a-zA-Z]+/);
    await browser.screenshot('att-04-daily-zh-hk');
    await Promise.all([page.waitForEvent('load'), page.locator('[data-test="lang-switch"]').click()]);
    await page.locator('html[lang="en"]').waitFor();
    await settled();

    // The monthly totals: one row per person.
    await page.locator('[data-test="tab-monthly"]').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('view')).toBe('monthly');
    await expect.poll(() => reportRow('E001').locator('td[data-key="lateCount"]').textContent()).toBe('1');
    expect(await page.locator('[data-test="attendance-month"]').inputValue()).toBe('2026-11');
  }, 60_000);

  it('refuses a leave file with a bad row, row by row, and imports it once fixed; cancels one', async () => {
    await open('/leave');
    const file = page.locator('[data-test="leave-file"]');
    const csv = (type: string) => Buffer.from(`employee_number,type,from,to,portion,note\r\nE001,annual,2026-11-25,2026-11-25,full,Family day\r\nE002,${type},2026-11-26,2026-11-26,am,\r\n`, 'utf8');
    await file.setInputFiles({ name: 'leave.csv', mimeType: 'text/csv', buffer: csv('vacation') });
    await page.locator('[data-test="check-import"]').click();
    const errors = page.locator('[data-test="import-errors"]');
    await errors.waitFor();
    const bad = errors.locator('tr[data-row="3"][data-column="type"]');
    await bad.waitFor();
    expect(await bad.textContent()).toContain('type must be one of annual, sick');
    expect(await page.locator('[data-test="import-error"]').textContent()).toContain('Nothing was imported: 1 row errors');
    expect(await page.locator('[data-test="commit-import"]').isVisible()).toBe(false);
    await browser.screenshot('att-05-leave-import-errors');

    await file.setInputFiles({ name: 'leave-fixed.csv', mimeType: 'text/csv', buffer: csv('sick') });
    await page.locator('[data-test="check-import"]').click();
    await expect.poll(() => page.locator('[data-test="import-preview"]').textContent()).toContain('2 rows: 2 new, 0 already imported');
    expect(await fixture.count('leave_records')).toBe(0);
    await page.locator('[data-test="commit-import"]').click();
    await expect.poll(() => page.locator('[data-test="import-done"]').textContent()).toContain('2 new');
    const table = page.locator('[data-test="leave-table"]');
    await expect.poll(() => table.locator('tr[data-employee="E002"]').textContent()).toContain('Sick leave');
    expect(await table.locator('tr[data-employee="E001"]').textContent()).toContain('Annual leave');
    const listed = (await fixture.api('GET', '/leave')).body.leave;
    expect(listed.map((leave: { employeeNumber: string; type: string; portion: string; source: string }) => [leave.employeeNumber, leave.type, leave.portion, leave.source]).sort()).toEqual([
      ['E001', 'annual', 'full', 'csv'],
      ['E002', 'sick', 'am', 'csv'],
    ]);

    // One added by hand.
    await page.locator('[data-test="leave-employee"]').fill('E003');
    await page.locator('[data-test="leave-from"]').fill('2026-11-27');
    await page.locator('[data-test="leave-to"]').fill('2026-11-27');
    await page.locator('[data-test="add-leave"]').click();
    await expect.poll(() => table.locator('tr[data-employee="E003"]').textContent()).toContain('Annual leave');

    // Cancelled after a confirm.
    await table.locator('tr[data-employee="E002"] [data-test="cancel-leave"]').click();
    await page.locator('[data-test="confirm"]').click();
    await expect.poll(() => table.locator('tr[data-employee="E002"]').textContent()).toContain('Cancelled');
    const e002 = (await fixture.api('GET', '/leave?employeeNumber=E002')).body.leave[0];
    expect(e002).toMatchObject({ status: 'cancelled', cancelledBy: 'admin' });
    // The template is a real file with the header.
    const template = await page.request.get(`${url}/assets/leave-template.csv`);
    expect(template.status()).toBe(200);
    expect((await template.text()).replace(/^\uFEFF/, '').trim()).toBe('employee_number,type,from,to,portion,note');
    await browser.screenshot('att-06-leave');
  }, 60_000);

  it('files a make-up punch as the admin, refuses the admin deciding it, and HR approves it', async () => {
    await open('/makeup');
    await page.locator('[data-test="makeup-employee"]').fill('E003');
    await page.locator('[data-test="makeup-site"]').selectOption('tst-02');
    await page.locator('[data-test="makeup-day"]').fill(DAY);
    await page.locator('[data-test="makeup-time"]').fill('18:00');
    await page.getByLabel('In or out').selectOption('out');
    await page.locator('[data-test="makeup-reason"]').fill('Reader at the back door was down; seen on CCTV');
    await page.locator('[data-test="file-makeup"]').click();
    const request = page.locator('[data-test="makeup-request"][data-employee="E003"]');
    await request.waitFor();
    expect(await request.getAttribute('data-status')).toBe('pending-manager');
    const [stored] = (await fixture.api('GET', '/makeup-requests')).body.requests;
    requestId = stored.id;
    // 18:00 on the site's clock (Hong Kong), as UTC.
    expect(stored).toMatchObject({ employeeNumber: 'E003', siteId: 'tst-02', at: '2026-11-23T10:00:00.000Z', direction: 'out', status: 'pending-manager', requestedByName: 'admin', needsHr: false });

    // Nobody decides their own request: the server's reason, shown at the request.
    await request.locator('[data-test="approve"]').click();
    await page.locator('[data-test="confirm-approve"]').click();
    await expect.poll(() => request.locator('[data-test="request-error"]').textContent()).toContain('decided by someone other than who filed it');
    expect((await fixture.api('GET', `/makeup-requests/${requestId}`)).body.request.status).toBe('pending-manager');
    await browser.screenshot('att-07-makeup-own-request');

    // Sign out; HR signs in and approves it with a note.
    await Promise.all([page.waitForURL(/\/sign-in/), page.locator('[data-test="sign-out"]').click()]);
    await settled();
    await page.getByLabel('Username').fill('hr-wong');
    await page.getByLabel('Password', { exact: true }).fill(HR_PASSWORD);
    await page.locator('[data-test="sign-in"]').click();
    await page.waitForURL((target) => target.pathname !== '/sign-in');
    await open('/makeup');
    await expect.poll(() => page.locator('[data-test="who"]').textContent()).toContain('hr-wong');
    const pending = page.locator(`[data-test="makeup-request"][data-id="${requestId}"]`);
    await pending.locator('[data-test="approve"]').click();
    await page.locator('[data-test="decision-note"]').fill('Checked the CCTV log');
    await page.locator('[data-test="confirm-approve"]').click();
    const approved = page.locator(`[data-test="makeup-request"][data-id="${requestId}"][data-status="approved"]`);
    await approved.waitFor();
    expect(await approved.locator('[data-test="decisions"]').textContent()).toContain('Approved by hr-wong');
    expect(await approved.locator('[data-test="decisions"]').textContent()).toContain('Checked the CCTV log');
    const decided = (await fixture.api('GET', `/makeup-requests/${requestId}`)).body.request;
    expect(decided).toMatchObject({ status: 'approved', punchId: expect.any(String), decisions: [{ tier: 'manager', decision: 'approved', byName: 'hr-wong', note: 'Checked the CCTV log' }] });
    await browser.screenshot('att-08-makeup-approved');

    // The approved punch closes E003's day: no longer a missed punch, marked as a make-up punch to check.
    await open(`/attendance?from=${DAY}&to=${DAY}`);
    await reportRow('E003').waitFor();
    expect(await reportRow('E003').locator('td[data-key="status"]').textContent()).toBe('Normal');
    expect(await reportRow('E003').getAttribute('data-emphasis')).toBe('warning');
    expect(await reportRow('E003').locator('td[data-key="notes"]').textContent()).toContain('make-up punch');
  }, 60_000);

  it('draws the late-arrival hotspots as SVG bar charts with the shift start marked and counts labelled', async () => {
    const charts = page.locator('[data-test="hotspot"]');
    await expect.poll(() => charts.count()).toBe(2);
    const mongKok = page.locator('[data-test="hotspot"][data-site="mk-01"][data-start="09:00"]');
    const svg = mongKok.locator('svg[data-test="hotspot-chart"]');
    expect(await svg.getAttribute('role')).toBe('img');
    // 30 minutes before to 60 after, in 5-minute buckets.
    expect(await svg.locator('[data-test="hotspot-bar"]').count()).toBe(18);
    const counts = await svg.locator('[data-test="hotspot-bar"]').evaluateAll((bars) => bars.map((bar) => ({ offset: Number(bar.getAttribute('data-offset')), count: Number(bar.getAttribute('data-count')), height: Number(bar.getAttribute('height')) })));
    const filled = counts.filter((bar) => bar.count > 0);
    // E002 at 08:52 (the 08:50 bucket), E001 at 09:07 (the 09:05 bucket).
    expect(filled.map((bar) => [bar.offset, bar.count])).toEqual([
      [-10, 1],
      [5, 1],
    ]);
    for (const bar of filled) expect(bar.height).toBeGreaterThan(0);
    expect(await svg.locator('[data-test="shift-start-marker"]').count()).toBe(1);
    expect(await svg.textContent()).toContain('Shift start 09:00');
    expect(await svg.locator('.chart-count').allTextContents()).toEqual(['1', '1']);
    expect(await mongKok.textContent()).toContain('Arrivals 2, late 1 (50%)');
    await mongKok.scrollIntoViewIfNeeded();
    await browser.screenshot('att-09-hotspots');
  }, 60_000);

  it('keeps the strict CSP on the attendance pages: no violations, no script errors, touch-sized controls', async () => {
    for (const path of ['/attendance', '/leave', '/makeup', '/schedules']) {
      await open(path);
      await page.locator('main .card').first().waitFor();
      await page.waitForLoadState('networkidle');
      const small = await smallControls(page);
      expect(small, path).toEqual([]);
    }
    // The make-up refusal was a 403 the page showed: Chromium logs that fetch as a failed resource.
    const problems = pageProblems(browser);
    expect(problems).toEqual([]);
    const csp = (await page.request.get(`${url}/attendance`, { maxRedirects: 0 })).headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
  }, 60_000);
});
