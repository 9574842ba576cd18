// @ts-check
/**
 * Punches: search by site, device, employee, day range, method and unknown badges; newest first,
 * paged. An unknown badge's punches can be given to an employee.
 */
import { ApiError, api, get, query } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { formatInstant, siteName, t } from '../lib/i18n.js';
import { busy, button, checkbox, errorText, field, formErrorBox, input, notice, openDialog, pill, row, section, select, showErrors, toast } from '../lib/ui.js';
import { loadDevices, loadSites } from './devices.js';
import { DEFAULT_TIME_ZONE, dayOf, startOfDay, startOfNextDay } from '../lib/time.js';

/** @typedef {import('../app.js').PageContext} PageContext */

const METHODS = ['badge', 'ble', 'mobile', 'manual'];

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const params = new URLSearchParams(location.search);
  const [sites, devices] = await Promise.all([loadSites(), loadDevices().catch(() => [])]);
  const siteMap = new Map(sites.map((site) => [site.id, site]));
  // Days are read in Hong Kong time (the default site time zone); each punch shows in its site's.
  const zone = DEFAULT_TIME_ZONE;
  const today = dayOf(new Date(), zone);

  const filters = h(
    'form',
    { class: 'filters', role: 'search', dataset: { test: 'punch-filters' }, novalidate: true },
    formErrorBox(),
    field(t('punches.site'), select('siteId', [['', t('common.all')], ...sites.map((site) => /** @type {[string, string]} */ ([site.id, siteName(site)]))], params.get('siteId')), { name: 'siteId' }),
    field(t('punches.device'), select('deviceId', [['', t('common.all')], ...devices.map((device) => /** @type {[string, string]} */ ([device.id, device.name ? `${device.name} (${device.id})` : device.id]))], params.get('deviceId')), { name: 'deviceId' }),
    field(t('punches.employee'), input('employeeId', { value: params.get('employeeId'), placeholder: 'E001', autocomplete: 'off' }), { name: 'employeeId' }),
    field(t('punches.fromDay'), input('fromDay', { type: 'date', value: params.get('fromDay') ?? today }), { name: 'from' }),
    field(t('punches.toDay'), input('toDay', { type: 'date', value: params.get('toDay') ?? today }), { name: 'to' }),
    field(t('punches.method'), select('method', [['', t('common.all')], ...METHODS.map((method) => /** @type {[string, string]} */ ([method, t(`punch.method.${method}`)]))], params.get('method')), { name: 'method' }),
    field(t('punches.unknownOnly'), checkbox('unknown', params.get('unknown') === 'true'), { name: 'unknown' }),
    h('div', { class: 'filter-actions' }, button(t('common.search'), { kind: 'primary', type: 'submit', test: 'search-punches' })),
  );
  const results = h('div');
  replace(main, h('div', { class: 'page-head' }, h('h1', { text: t('nav.punches') })), section(t('punches.search'), [filters, results]));

  /** @type {string | null} */
  let cursor = null;
  /** Filters the server did not know (older dashboards): applied here, to each page. */
  let localFilter = /** @type {((punch: any) => boolean) | null} */ (null);
  const tbody = h('tbody');
  const more = button(t('common.loadMore'), { onClick: () => void next() });
  const info = h('div');

  /** @param {Record<string, string | boolean | string[]>} values */
  const serverQuery = (values, withExtras = true) => {
    const from = values.fromDay ? startOfDay(String(values.fromDay), zone).toISOString() : undefined;
    const to = values.toDay ? startOfNextDay(String(values.toDay), zone).toISOString() : undefined;
    return {
      siteId: /** @type {string} */ (values.siteId),
      deviceId: /** @type {string} */ (values.deviceId),
      employeeId: String(values.employeeId ?? '').trim(),
      from,
      to,
      ...(withExtras ? { method: /** @type {string} */ (values.method), unknown: values.unknown === true ? 'true' : undefined } : {}),
      limit: 100,
    };
  };

  const next = async () => {
    const values = formValues(filters);
    let page;
    try {
      page = await get(`/punches${query({ ...serverQuery(values, localFilter === null), cursor })}`);
    } catch (error) {
      const unknownField = error instanceof ApiError && error.status === 400 && error.issues.some((issue) => issue.field === 'method' || issue.field === 'unknown');
      if (!unknownField || localFilter) throw error;
      const method = values.method;
      const unknown = values.unknown === true;
      localFilter = (punch) => (!method || punch.method === method) && (!unknown || punch.employeeId === null);
      replace(info, notice('warn', t('punches.filteredHere')));
      page = await get(`/punches${query({ ...serverQuery(values, false), cursor })}`);
    }
    const shown = localFilter ? page.punches.filter(localFilter) : page.punches;
    for (const punch of shown) tbody.append(punchRow(punch));
    if (tbody.children.length === 0) tbody.append(h('tr', { class: 'empty-row' }, h('td', { colspan: 7, class: 'empty', text: t('punches.empty') })));
    else tbody.querySelector('.empty-row')?.remove();
    cursor = page.nextCursor;
    more.hidden = cursor === null;
  };

  /** @param {any} punch */
  const punchRow = (punch) => {
    const site = siteMap.get(punch.siteId);
    return row(
      [
        h('time', { datetime: punch.at, text: formatInstant(punch.at, site?.timeZone) }),
        siteName(site, punch.siteId),
        punch.deviceId,
        punch.employeeId ?? pill(t('punch.unknownBadge'), 'warn'),
        h('code', { text: `${punch.credential.kind}:${punch.credential.uid}` }),
        h('span', {}, t(`punch.method.${punch.method}`), ' · ', t(`punch.direction.${punch.direction}`), punch.clock?.synced === false ? pill(t('punch.clockUnsynced'), 'warn') : null),
        punch.employeeId === null && context.can('punches:write') ? button(t('punches.assign'), { kind: 'link', test: 'assign-unknown', onClick: () => void assignUnknown(punch) }) : '',
      ],
      { punchId: punch.id },
    );
  };

  const search = async () => {
    cursor = null;
    localFilter = null;
    replace(info);
    tbody.replaceChildren();
    const values = /** @type {Record<string, string>} */ (Object.fromEntries(Object.entries(formValues(filters)).map(([key, value]) => [key, String(value)])));
    history.replaceState(null, '', `/punches${query({ ...values, unknown: values.unknown === 'true' ? 'true' : undefined })}`);
    try {
      await next();
    } catch (error) {
      showErrors(filters, error);
    }
  };
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(/** @type {HTMLButtonElement} */ (filters.querySelector('button[type=submit]')), search, filters);
  });
  replace(
    results,
    info,
    h(
      'div',
      { class: 'table-wrap', dataset: { test: 'punch-table' } },
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, [t('punches.at'), t('punches.site'), t('punches.device'), t('punches.employee'), t('punches.badge'), t('punches.how'), ''].map((text) => h('th', { scope: 'col', text })))),
        tbody,
      ),
    ),
    more,
  );
  await search();

  /** @param {any} punch */
  async function assignUnknown(punch) {
    const number = input('employeeNumber', { required: true, placeholder: 'E001' });
    const form = h('div', {}, formErrorBox(), h('p', { text: t('punches.assignText', { badge: `${punch.credential.kind}:${punch.credential.uid}` }) }), field(t('punches.employeeNumber'), number, { name: 'employeeNumber' }));
    const answer = await openDialog({
      title: t('punches.assignTitle'),
      body: form,
      actions: [
        { label: t('common.cancel'), value: 'cancel' },
        { label: t('punches.assign'), value: 'assign', kind: 'primary' },
      ],
    });
    if (answer !== 'assign') return;
    try {
      const result = await api('POST', '/punches/assign-unknown', { credential: { kind: punch.credential.kind, uid: punch.credential.uid }, employeeNumber: number.value.trim() });
      toast(t('punches.assigned', { n: result.updated, number: number.value.trim() }));
      await search();
    } catch (error) {
      toast(errorText(error), 'error');
    }
  }
}
