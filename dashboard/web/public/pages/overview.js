// @ts-check
/**
 * The overview: how many terminals are online and offline, which need attention (offline,
 * behind with a backlog, clock, config, readers), today's punches per site, and the live feed.
 * From GET /api/v1/overview; on a dashboard without it, from the device list and a punch search.
 */
import { ApiError, enc, get, query } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { formatAgo, formatNumber, siteName, t } from '../lib/i18n.js';
import { lookUpNames, punchItem, startLiveFeed } from '../lib/live.js';
import { startOfToday } from '../lib/time.js';
import { errorText, notice, pill, row, section, table } from '../lib/ui.js';
import { loadDevices, loadSites } from './devices.js';

/** @typedef {import('../app.js').PageContext} PageContext */

const REFRESH_MS = 15_000;
const COUNT_LIMIT = 1000;

/**
 * @typedef {{id: string, siteId: string, name: string | null, connection: string, lastSeen: string | null, backlog: number | null, oldestPendingAt: string | null, reasons: string[]}} AttentionDevice
 * @typedef {{devices: {total: number, online: number, offline: number, neverConnected: number, disabled: number, attention: number}, attention: AttentionDevice[], punchesToday: {total: number | null, more?: boolean, sites: Array<{siteId: string, punches: number}>}, recentPunches: any[]}} Summary
 */

/** @param {string} label @param {string} value @param {string} test @param {'ok' | 'bad' | 'warn' | 'muted'} [tone] */
function tile(label, value, test, tone = 'muted') {
  return h('div', { class: `tile tile-${tone}`, dataset: { test } }, h('div', { class: 'tile-value', text: value }), h('div', { class: 'tile-label', text: label }));
}

/** The same summary from older endpoints (device list, one page of today's punches). @param {boolean} canPunches @returns {Promise<Summary>} */
async function summaryFromParts(canPunches) {
  const devices = await loadDevices();
  /** @type {AttentionDevice[]} */
  const attention = [];
  let online = 0;
  for (const device of devices) {
    const connection = device.online ? 'online' : device.lastSeen || device.statusAt ? 'offline' : 'never-connected';
    if (connection === 'online') online += 1;
    const reasons = [];
    if (device.enabled === false) reasons.push('disabled');
    if (connection !== 'online') reasons.push(connection);
    if ((device.status?.backlog ?? 0) > 0) reasons.push('backlog');
    if (device.status?.clock?.synced === false) reasons.push('clock-unsynced');
    if (reasons.length > 0) {
      attention.push({ id: device.id, siteId: device.siteId, name: device.name, connection, lastSeen: device.lastSeen, backlog: device.status?.backlog ?? null, oldestPendingAt: device.status?.oldestPendingAt ?? null, reasons });
    }
  }
  let total = /** @type {number | null} */ (null);
  let more = false;
  if (canPunches) {
    const page = await get(`/punches${query({ from: startOfToday().toISOString(), limit: COUNT_LIMIT })}`);
    total = page.punches.length;
    more = page.nextCursor !== null;
  }
  return {
    devices: { total: devices.length, online, offline: devices.length - online, neverConnected: 0, disabled: 0, attention: attention.length },
    attention,
    punchesToday: { total, more, sites: [] },
    recentPunches: [],
  };
}

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const canPunches = context.can('punches:read');
  const tiles = h('div', { class: 'tiles', dataset: { test: 'overview-tiles' } });
  const attention = h('div');
  const todayBox = h('div');
  const liveList = h('ol', { class: 'live-list', dataset: { test: 'live-feed' } }, h('li', { class: 'empty', text: t('live.waiting') }));
  const liveStatus = h('span', { class: 'live-status', dataset: { test: 'live-status' } });
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: t('nav.overview') })),
    tiles,
    h(
      'div',
      { class: 'columns' },
      h('div', { class: 'stack' }, section(t('overview.attention'), attention, { test: 'attention' }), canPunches ? section(t('overview.todayBySite'), todayBox, { test: 'today-by-site' }) : null),
      canPunches ? section(t('overview.live'), liveList, { actions: [liveStatus], test: 'live' }) : null,
    ),
  );

  lookUpNames(context.can('employees:read'));
  const sites = await loadSites();
  const siteMap = new Map(sites.map((site) => [site.id, site]));
  /** @type {Summary | null} */
  let summary = null;
  let first = true;

  const showToday = () => {
    const value = tiles.querySelector('[data-test="tile-today"] .tile-value');
    const today = summary?.punchesToday;
    if (value && today) value.textContent = today.total === null ? '—' : `${formatNumber(today.total)}${today.more ? '+' : ''}`;
  };

  const refresh = async () => {
    try {
      try {
        summary = await get('/overview');
      } catch (error) {
        if (!(error instanceof ApiError && error.missing)) throw error;
        summary = await summaryFromParts(canPunches);
      }
      const current = /** @type {Summary} */ (summary);
      const { devices } = current;
      const backlog = current.attention.reduce((sum, device) => sum + (device.backlog ?? 0), 0);
      replace(
        tiles,
        tile(t('overview.online'), formatNumber(devices.online), 'tile-online', devices.online > 0 ? 'ok' : 'muted'),
        tile(t('overview.offline'), formatNumber(devices.offline), 'tile-offline', devices.offline > 0 ? 'bad' : 'ok'),
        tile(t('overview.needAttention'), formatNumber(devices.attention), 'tile-attention', devices.attention > 0 ? 'warn' : 'ok'),
        tile(t('overview.backlog'), formatNumber(backlog), 'tile-backlog', backlog > 0 ? 'warn' : 'ok'),
        canPunches ? tile(t('overview.today'), '—', 'tile-today') : null,
      );
      showToday();
      replace(
        attention,
        table(
          [t('devices.id'), t('devices.site'), t('devices.connection'), t('devices.lastSeen'), t('devices.backlog'), t('overview.why')],
          current.attention.map((device) =>
            row(
              [
                h('a', { href: `/devices?device=${enc(device.id)}`, text: device.name ? `${device.name} (${device.id})` : device.id }),
                siteName(siteMap.get(device.siteId), device.siteId),
                pill(t(`device.connection.${device.connection}`), device.connection === 'online' ? 'ok' : device.connection === 'offline' ? 'bad' : 'muted'),
                formatAgo(device.lastSeen),
                device.backlog === null ? '—' : device.backlog > 0 && device.oldestPendingAt ? t('device.backlogBehind', { n: formatNumber(device.backlog), ago: formatAgo(device.oldestPendingAt) }) : formatNumber(device.backlog),
                h('span', {}, device.reasons.map((reason) => pill(t(`attention.${reason}`), 'warn'))),
              ],
              { device: device.id },
            ),
          ),
          { empty: t('overview.allGood'), test: 'attention-table' },
        ),
      );
      if (current.punchesToday.sites.length > 0 || current.punchesToday.total !== null) {
        replace(
          todayBox,
          current.punchesToday.sites.length > 0
            ? table(
                [t('devices.site'), t('overview.today')],
                current.punchesToday.sites.map((day) => [h('a', { href: `/punches${query({ siteId: day.siteId })}`, text: siteName(siteMap.get(day.siteId), day.siteId) }), formatNumber(day.punches)]),
              )
            : h('p', { class: 'hint', text: t('overview.todayTotal', { n: formatNumber(current.punchesToday.total ?? 0) }) }),
        );
      }
      // The latest punches start the live list; the feed adds to it from now on.
      if (first && current.recentPunches.length > 0) {
        const recent = [...current.recentPunches].sort((a, b) => (a.at < b.at ? 1 : -1));
        liveList.querySelector('.empty')?.remove();
        for (const punch of recent) if (!liveList.querySelector(`[data-punch-id="${CSS.escape(punch.id)}"]`)) liveList.append(punchItem(punch, siteMap, false));
      }
      first = false;
    } catch (error) {
      replace(tiles, notice('error', errorText(error)));
    }
  };
  await refresh();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let soon;
  const timer = setInterval(() => void refresh(), REFRESH_MS);
  addEventListener('pagehide', () => clearInterval(timer), { once: true });

  if (canPunches) {
    startLiveFeed({
      list: liveList,
      status: liveStatus,
      sites: siteMap,
      onPunch: () => {
        if (summary && summary.punchesToday.total !== null) {
          summary.punchesToday.total += 1;
          showToday();
        }
        // The rest (per site, devices' backlogs) follows shortly, once per burst.
        if (!soon) soon = setTimeout(() => {
          soon = undefined;
          void refresh();
        }, 2000);
      },
    });
  }
}
