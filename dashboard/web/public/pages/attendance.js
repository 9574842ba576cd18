// @ts-check
/**
 * Attendance: the daily report (per person per day, yesterday by default) or the monthly totals,
 * for a site and a department; exceptions marked by colour and by an icon with words; the same
 * report as CSV, XLSX or PDF and the month's payroll file (plain links: the session cookie goes
 * with them); and the late-arrival hotspots drawn as bar charts.
 */
import { ApiError, get, query } from '../lib/api.js';
import { histogram } from '../lib/chart.js';
import { formValues, h, replace } from '../lib/dom.js';
import { language, siteName, t } from '../lib/i18n.js';
import { DEFAULT_TIME_ZONE, addDays, yesterday } from '../lib/time.js';
import { busy, button, field, formErrorBox, input, notice, section, select, showErrors } from '../lib/ui.js';
import { loadSites } from './devices.js';

/** @typedef {import('../app.js').PageContext} PageContext */
/** @typedef {{key: string, header: {en: string, zh: string}, kind: string}} Column */
/** @typedef {{cells: Record<string, string | number | boolean | null>, emphasis?: string}} ReportRow */

/** Rows drawn at a time: a month for many people is drawn in parts (the downloads hold all of it). */
const PAGE_ROWS = 300;

/** The report's language for the current console language. */
const reportLang = () => (language() === 'zh-HK' ? 'zh-HK' : 'en');

/** A bilingual text from the API, in the current language. @param {{en: string, zh: string}} text */
const inLanguage = (text) => (language() === 'zh-HK' ? text.zh : text.en);

/** The last day of a month (YYYY-MM). @param {string} month */
export function monthEnd(month) {
  const next = new Date(`${month}-01T12:00:00Z`);
  next.setUTCMonth(next.getUTCMonth() + 1);
  return addDays(next.toISOString().slice(0, 10), -1);
}

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const params = new URLSearchParams(location.search);
  const sites = await loadSites();
  const fallbackDay = yesterday(DEFAULT_TIME_ZONE);
  let view = params.get('view') === 'monthly' ? 'monthly' : 'daily';

  const tabs = h('div', { class: 'segmented', role: 'tablist', 'aria-label': t('attendance.views') });
  const fromInput = input('from', { type: 'date', value: params.get('from') ?? fallbackDay, required: true });
  fromInput.dataset.test = 'attendance-from';
  const toInput = input('to', { type: 'date', value: params.get('to') ?? params.get('from') ?? fallbackDay, required: true });
  toInput.dataset.test = 'attendance-to';
  const monthInput = input('month', { type: 'month', value: params.get('month') ?? fallbackDay.slice(0, 7), required: true, pattern: '\\d{4}-\\d{2}', placeholder: 'YYYY-MM' });
  monthInput.dataset.test = 'attendance-month';
  const fromField = field(t('attendance.from'), fromInput, { name: 'from' });
  const toField = field(t('attendance.to'), toInput, { name: 'to' });
  const monthField = field(t('attendance.month'), monthInput, { name: 'month' });
  const siteSelect = select('siteId', [['', t('common.all')], ...sites.map((site) => /** @type {[string, string]} */ ([site.id, siteName(site)]))], params.get('siteId'));
  siteSelect.dataset.test = 'attendance-site';
  const filters = h(
    'form',
    { class: 'filters', role: 'search', dataset: { test: 'attendance-filters' }, novalidate: '' },
    formErrorBox(),
    fromField,
    toField,
    monthField,
    field(t('attendance.site'), siteSelect, { name: 'siteId' }),
    field(t('attendance.department'), input('department', { value: params.get('department'), placeholder: t('attendance.departmentHint') }), { name: 'department' }),
    h('div', { class: 'filter-actions' }, button(t('attendance.show'), { kind: 'primary', type: 'submit', test: 'show-attendance' })),
  );
  const downloads = h('div', { class: 'downloads', dataset: { test: 'downloads' } });
  const reportBox = h('div', { dataset: { test: 'report' } });
  const hotspotBox = h('div', { dataset: { test: 'hotspots' } });
  const reportSection = section(t('attendance.daily'), [filters, downloads, reportBox], { actions: [tabs], test: 'report-section' });
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: t('nav.attendance') })),
    reportSection,
    section(t('attendance.hotspots'), [h('p', { class: 'hint', text: t('attendance.hotspotsHint') }), hotspotBox], { test: 'hotspots-section' }),
  );

  const drawTabs = () => {
    replace(
      tabs,
      [
        ['daily', t('attendance.daily')],
        ['monthly', t('attendance.monthly')],
      ].map(([value, label]) =>
        h('button', {
          type: 'button',
          role: 'tab',
          class: 'segment',
          'aria-selected': String(value === view),
          dataset: { test: `tab-${value}` },
          text: label,
          on: {
            click: () => {
              if (view === value) return;
              view = value;
              void busy(null, run, filters);
            },
          },
        }),
      ),
    );
    fromField.hidden = view !== 'daily';
    toField.hidden = view !== 'daily';
    monthField.hidden = view !== 'monthly';
    const heading = reportSection.querySelector('.card-head h2');
    if (heading) heading.textContent = view === 'daily' ? t('attendance.daily') : t('attendance.monthly');
  };

  /** What the form asks for, checked here before it goes (the server checks again). */
  const current = () => {
    const values = /** @type {Record<string, string>} */ (formValues(filters));
    const scope = { siteId: values.siteId || undefined, department: values.department?.trim() || undefined };
    if (view === 'monthly') {
      const month = values.month ?? '';
      return { view, month, from: `${month}-01`, to: /^\d{4}-\d{2}$/.test(month) ? monthEnd(month) : '', ...scope };
    }
    return { view, month: (values.to || values.from || '').slice(0, 7), from: values.from ?? '', to: values.to ?? '', ...scope };
  };

  /** @param {ReturnType<typeof current>} state @param {string} format */
  const reportPath = (state, format) =>
    state.view === 'monthly'
      ? `/reports/monthly${query({ month: state.month, siteId: state.siteId, department: state.department, format, lang: reportLang() })}`
      : `/reports/daily${query({ from: state.from, to: state.to, siteId: state.siteId, department: state.department, format, lang: reportLang() })}`;

  /** @param {ReturnType<typeof current>} state */
  const drawDownloads = (state) => {
    const link = (/** @type {string} */ href, /** @type {string} */ label, /** @type {string} */ test) =>
      h('a', { class: 'btn btn-secondary', href, download: '', dataset: { test }, text: label });
    replace(
      downloads,
      h('span', { class: 'downloads-label', text: t('attendance.download') }),
      link(`/api/v1${reportPath(state, 'csv')}`, t('attendance.csv'), 'download-csv'),
      link(`/api/v1${reportPath(state, 'xlsx')}`, t('attendance.xlsx'), 'download-xlsx'),
      link(`/api/v1${reportPath(state, 'pdf')}`, t('attendance.pdf'), 'download-pdf'),
      /^\d{4}-\d{2}$/.test(state.month)
        ? link(`/api/v1/reports/payroll${query({ month: state.month, siteId: state.siteId, department: state.department, format: 'xlsx', lang: reportLang() })}`, t('attendance.payroll', { month: state.month }), 'download-payroll')
        : null,
    );
  };

  const run = async () => {
    drawTabs();
    const state = current();
    history.replaceState(null, '', `/attendance${query(state.view === 'monthly' ? { view: 'monthly', month: state.month, siteId: state.siteId, department: state.department } : { from: state.from, to: state.to, siteId: state.siteId, department: state.department })}`);
    const issues = [];
    if (state.view === 'daily') {
      if (!state.from) issues.push({ in: 'querystring', field: 'from', message: t('attendance.needDay') });
      if (!state.to) issues.push({ in: 'querystring', field: 'to', message: t('attendance.needDay') });
      else if (state.from && state.to < state.from) issues.push({ in: 'querystring', field: 'to', message: t('attendance.toBeforeFrom') });
    } else if (!/^\d{4}-\d{2}$/.test(state.month)) issues.push({ in: 'querystring', field: 'month', message: t('attendance.needMonth') });
    if (issues.length > 0) {
      showErrors(filters, new ApiError(400, { error: t('attendance.checkFields'), issues }));
      replace(downloads);
      replace(reportBox);
      return;
    }
    drawDownloads(state);
    replace(reportBox, h('p', { class: 'loading', text: t('common.loading') }));
    replace(hotspotBox, h('p', { class: 'loading', text: t('common.loading') }));
    const [report, hotspots] = await Promise.allSettled([get(reportPath(state, 'json')), get(`/reports/hotspots${query({ from: state.from, to: state.to, siteId: state.siteId, department: state.department, bucketMinutes: 5 })}`)]);
    if (report.status === 'fulfilled') replace(reportBox, reportTable(report.value));
    else {
      replace(reportBox);
      replace(downloads);
      showErrors(filters, report.reason);
    }
    if (hotspots.status === 'fulfilled') replace(hotspotBox, hotspotCharts(hotspots.value.hotspots, sites));
    else replace(hotspotBox, notice('error', hotspots.reason instanceof Error ? hotspots.reason.message : String(hotspots.reason)));
  };

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(/** @type {HTMLButtonElement} */ (filters.querySelector('button[type=submit]')), run, filters);
  });
  await busy(null, run, filters);
}

/**
 * The report as a table, columns as the API names them (in the current language); exception
 * rows tinted red and marked "⚠ Exception", rows to check tinted amber and marked "ⓘ Check".
 * @param {{title: {en: string, zh: string}, columns: Column[], rows: ReportRow[]}} report
 */
function reportTable(report) {
  const { columns, rows } = report;
  const exceptions = rows.filter((row) => row.emphasis === 'exception').length;
  const warnings = rows.filter((row) => row.emphasis === 'warning').length;
  const tbody = h('tbody');
  const more = button(t('common.loadMore'), { test: 'report-more', onClick: () => drawMore() });
  let drawn = 0;
  const drawMore = () => {
    for (const row of rows.slice(drawn, drawn + PAGE_ROWS)) tbody.append(reportRow(columns, row));
    drawn = Math.min(rows.length, drawn + PAGE_ROWS);
    more.hidden = drawn >= rows.length;
  };
  if (rows.length === 0) tbody.append(h('tr', {}, h('td', { colspan: columns.length + 1, class: 'empty', text: t('attendance.empty') })));
  else drawMore();
  more.hidden = drawn >= rows.length;
  return [
    h(
      'p',
      { class: 'report-summary', dataset: { test: 'report-summary' } },
      h('strong', { text: inLanguage(report.title) }),
      ' · ',
      t('attendance.summary', { rows: rows.length, exceptions, warnings }),
    ),
    h(
      'div',
      { class: 'table-wrap', dataset: { test: 'report-table' } },
      h('table', { class: 'report' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('attendance.flag') }), columns.map((column) => h('th', { scope: 'col', text: inLanguage(column.header) })))), tbody),
    ),
    more,
  ];
}

/** @param {Column[]} columns @param {ReportRow} row */
function reportRow(columns, row) {
  const emphasis = row.emphasis === 'exception' || row.emphasis === 'warning' ? row.emphasis : 'normal';
  // The day's status where the report has one (daily), else the kind of row (monthly totals).
  const status = typeof row.cells.status === 'string' && row.cells.status ? row.cells.status : null;
  const marker =
    emphasis === 'exception'
      ? h('span', { class: 'mark mark-exception', title: t('attendance.exception'), dataset: { test: 'row-flag' } }, h('span', { class: 'mark-icon', 'aria-hidden': 'true', text: '⚠' }), status ?? t('attendance.exception'))
      : emphasis === 'warning'
        ? h('span', { class: 'mark mark-warning', title: t('attendance.check'), dataset: { test: 'row-flag' } }, h('span', { class: 'mark-icon', 'aria-hidden': 'true', text: 'ⓘ' }), t('attendance.check'))
        : h('span', { class: 'mark mark-normal', dataset: { test: 'row-flag' } }, h('span', { class: 'mark-icon', 'aria-hidden': 'true', text: '✓' }), status ?? t('attendance.ok'));
  return h(
    'tr',
    { class: `emphasis-${emphasis}`, dataset: { emphasis, employee: String(row.cells.employeeNumber ?? ''), date: String(row.cells.date ?? '') } },
    h('td', {}, marker),
    columns.map((column) => h('td', { class: `col-${column.kind}`, dataset: { key: column.key } }, cellText(row.cells[column.key], column))),
  );
}

/** @param {string | number | boolean | null | undefined} value @param {Column} column */
function cellText(value, column) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? t('attendance.yes') : t('attendance.no');
  if (typeof value === 'number' && (column.kind === 'minutes' || column.kind === 'number' || column.kind === 'hours')) return value === 0 ? '0' : String(value);
  return String(value);
}

/**
 * One bar chart per site and shift start.
 * @param {Array<{siteId: string, shiftStart: string, arrivals: number, late: number, histogram: {title: {en: string, zh: string}, bucketMinutes: number, buckets: Array<{label: string, count: number, offsetMinutes: number}>}}>} hotspots
 * @param {any[]} sites
 */
function hotspotCharts(hotspots, sites) {
  if (hotspots.length === 0) return h('p', { class: 'empty-note', dataset: { test: 'no-hotspots' }, text: t('attendance.noHotspots') });
  return h(
    'div',
    { class: 'charts' },
    hotspots.map((hotspot) => {
      const site = siteName(sites.find((candidate) => candidate.id === hotspot.siteId), hotspot.siteId);
      const title = t('attendance.hotspotTitle', { site, start: hotspot.shiftStart });
      const percent = hotspot.arrivals ? Math.round((hotspot.late / hotspot.arrivals) * 1000) / 10 : 0;
      const summary = t('attendance.hotspotSummary', { arrivals: hotspot.arrivals, late: hotspot.late, percent });
      return h(
        'figure',
        { class: 'chart-card', dataset: { test: 'hotspot', site: hotspot.siteId, start: hotspot.shiftStart } },
        h('figcaption', {}, h('strong', { text: title }), h('span', { class: 'hint', text: summary })),
        h(
          'div',
          { class: 'chart-wrap' },
          histogram({
            title,
            description: summary,
            buckets: hotspot.histogram.buckets,
            bucketMinutes: hotspot.histogram.bucketMinutes,
            markerLabel: t('attendance.shiftStart', { start: hotspot.shiftStart }),
            barTitle: (bucket, end) => t('attendance.barTitle', { from: bucket.label, to: end || '…', count: bucket.count }),
          }),
        ),
      );
    }),
  );
}
