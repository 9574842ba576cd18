// @ts-check
/**
 * The live punch feed (server-sent events from GET /api/v1/punches/live): committed punches as
 * they arrive, newest first. EventSource reconnects by itself and sends Last-Event-ID, so the
 * server can replay what was missed; a feed the server does not offer shows "not available".
 */
import { get, signInUrl } from './api.js';
import { h, replace } from './dom.js';
import { formatInstant, personName, siteName, t } from './i18n.js';
import { notAvailable, pill } from './ui.js';

const KEEP = 50;

/** Employee names by number, looked up once each (for those who may read employees). */
/** @type {Map<string, Promise<string | null>>} */
const names = new Map();
let namesAllowed = false;

/** Whether punch rows may look up employees' names (the employees:read permission). @param {boolean} allowed */
export function lookUpNames(allowed) {
  namesAllowed = allowed;
}

/** @param {string} employeeNumber */
function nameOf(employeeNumber) {
  let name = names.get(employeeNumber);
  if (!name) {
    name = get(`/employees/${encodeURIComponent(employeeNumber)}`)
      .then((answer) => personName(answer.employee))
      .catch(() => null);
    names.set(employeeNumber, name);
  }
  return name;
}

/**
 * A punch row for the live list.
 * @param {any} punch
 * @param {Map<string, any>} sites
 * @param {boolean} [fresh] highlighted as just arrived
 */
export function punchItem(punch, sites, fresh = true) {
  const site = sites.get(punch.siteId);
  const who = h('span', { class: 'who' }, punch.employeeId ? punch.employeeId : pill(t('punch.unknownBadge'), 'warn'));
  if (punch.employeeId && namesAllowed) {
    void nameOf(punch.employeeId).then((name) => {
      if (name) who.textContent = `${name} (${punch.employeeId})`;
    });
  }
  return h(
    'li',
    { class: fresh ? 'live-item fresh' : 'live-item', dataset: { punchId: punch.id, test: 'live-punch' } },
    h('time', { datetime: punch.at, text: formatInstant(punch.at, site?.timeZone, 'time') }),
    who,
    h('span', { class: 'cred' }, h('code', { text: `${punch.credential.kind}:${punch.credential.uid}` })),
    h('span', { class: 'where', text: `${siteName(site, punch.siteId)} · ${punch.deviceId}` }),
    h('span', { class: 'what' }, t(`punch.method.${punch.method}`), ' · ', t(`punch.direction.${punch.direction}`), punch.clock?.synced === false ? pill(t('punch.clockUnsynced'), 'warn') : null),
  );
}

/**
 * Starts the feed into `list`, with its state shown in `status`. Returns a stop function.
 * @param {{list: HTMLElement, status: HTMLElement, sites: Map<string, any>, onPunch?: (punch: any) => void}} options
 */
export function startLiveFeed(options) {
  const { list, status } = options;
  /** @param {'connecting' | 'live' | 'reconnecting'} state */
  const show = (state) => {
    replace(status, pill(t(`live.${state}`), state === 'live' ? 'ok' : 'warn'));
    status.dataset.state = state;
  };
  show('connecting');
  let opened = false;
  const source = new EventSource('/api/v1/punches/live', { withCredentials: true });
  source.addEventListener('open', () => {
    opened = true;
    show('live');
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      // Not an event stream (401: the session ended; 404: no live feed on this server): EventSource gives up.
      source.close();
      void fetch('/api/v1/session', { headers: { accept: 'application/json' }, credentials: 'same-origin' }).then((answer) => {
        if (answer.status === 401) location.assign(signInUrl());
        status.dataset.state = 'unavailable';
        replace(status, opened ? pill(t('live.closed'), 'bad') : notAvailable(t('live.feed')));
      });
    } else show('reconnecting');
  });
  /** @param {MessageEvent} event */
  const receive = (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    const punches = Array.isArray(data?.punches) ? data.punches : data?.punch ? [data.punch] : data?.id && data?.credential ? [data] : [];
    for (const punch of punches) {
      if (list.querySelector(`[data-punch-id="${CSS.escape(punch.id)}"]`)) continue; // a replay after a reconnect
      list.querySelector('.empty')?.remove();
      list.prepend(punchItem(punch, options.sites));
      options.onPunch?.(punch);
    }
    while (list.children.length > KEEP) list.lastElementChild?.remove();
  };
  source.addEventListener('message', receive);
  source.addEventListener('punch', receive);
  // The server could not replay what we missed (it restarted, or we read too slowly): say so.
  const gap = () => list.prepend(h('li', { class: 'live-gap', text: t('live.gap') }));
  source.addEventListener('reset', gap);
  source.addEventListener('dropped', gap);
  addEventListener('pagehide', () => source.close(), { once: true });
  return () => source.close();
}
