// @ts-check
/**
 * Alerts (docs/notifications.md): the alerts sent (late, absence, missed punch…), newest first and
 * paged, filtered by kind, delivery state and employee; one opened shows its deliveries (a webhook
 * or an e-mail address each) with every attempt, and with notifications:replay a delivery is sent
 * again (the same event id) and watched until it settles. With webhooks:manage (admins): the
 * webhook endpoints, added (the signing secret shown once), edited, enabled or disabled, sent a
 * test event and deleted. States are shown by an icon and in words, never by colour alone.
 */
import { ApiError, api, enc, get, query } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { formatInstant, formatNumber, personName, siteName, t } from '../lib/i18n.js';
import { DEFAULT_TIME_ZONE } from '../lib/time.js';
import { busy, button, checkbox, confirmDialog, errorText, field, fill, formErrorBox, input, notice, pill, row, section, select, showSecretOnce, table, toast } from '../lib/ui.js';
import { loadSites } from './devices.js';

/** @typedef {import('../app.js').PageContext} PageContext */

/** The alert kinds, in the API's order (dashboard/notifications/alert-event.ts). */
export const ALERT_KINDS = /** @type {const} */ (['late', 'serious-late', 'early-leave', 'missed-punch', 'absence', 'shift-reminder', 'punch-on-leave']);

/** @returns {Record<string, string>} */
const kindNames = () => ({
  late: t('notifications.kind.late'),
  'serious-late': t('notifications.kind.serious-late'),
  'early-leave': t('notifications.kind.early-leave'),
  'missed-punch': t('notifications.kind.missed-punch'),
  absence: t('notifications.kind.absence'),
  'shift-reminder': t('notifications.kind.shift-reminder'),
  'punch-on-leave': t('notifications.kind.punch-on-leave'),
});

/** @param {string} kind */
export const kindName = (kind) => kindNames()[kind] ?? kind;

/** A kind as a word (its tone only repeats what the word says). @param {string} kind */
function kindPill(kind) {
  const tone = kind === 'serious-late' || kind === 'absence' ? 'bad' : kind === 'shift-reminder' ? 'info' : 'warn';
  const element = pill(kindName(kind), tone);
  element.dataset.test = 'alert-kind';
  element.dataset.kind = kind;
  return element;
}

/** Delivery states: icon, words, tone. @returns {Record<string, {icon: string, label: string, tone: 'ok' | 'warn' | 'bad' | 'muted' | 'info'}>} */
const statuses = () => ({
  pending: { icon: '◷', label: t('notifications.status.pending'), tone: 'info' },
  delivered: { icon: '✓', label: t('notifications.status.delivered'), tone: 'ok' },
  failed: { icon: '✕', label: t('notifications.status.failed'), tone: 'bad' },
  'gave-up': { icon: '⊘', label: t('notifications.status.gave-up'), tone: 'muted' },
});

/** @param {string} status */
function statusPill(status) {
  const known = statuses()[status] ?? { icon: '?', label: status, tone: /** @type {const} */ ('muted') };
  const element = pill(`${known.icon} ${known.label}`, known.tone);
  element.dataset.test = 'delivery-status';
  element.dataset.status = status;
  return element;
}

/** An attempt's outcome (null: still in flight). @param {string | null} outcome */
function outcomePill(outcome) {
  if (outcome === 'delivered') return pill(`✓ ${t('notifications.outcome.delivered')}`, 'ok');
  if (outcome === 'failed') return pill(`✕ ${t('notifications.outcome.failed')}`, 'bad');
  if (outcome === 'interrupted') return pill(`↯ ${t('notifications.outcome.interrupted')}`, 'warn');
  return pill(`◷ ${t('notifications.outcome.inFlight')}`, 'info');
}

/**
 * A notification's deliveries in a few words: "✓ 1 delivered ✕ 1 failed".
 * @param {{total: number, pending: number, delivered: number, failed: number, gaveUp: number}} counts
 */
function deliverySummary(counts) {
  const box = h('span', { class: 'summary-pills', dataset: { test: 'delivery-summary' } });
  if (counts.total === 0) {
    box.append(h('span', { class: 'pill pill-muted', title: t('notifications.noDeliveries'), text: `– ${t('notifications.summary.none')}` }));
    return box;
  }
  /** @type {Array<[number, string, string]>} */
  const parts = [
    [counts.delivered, 'delivered', t('notifications.summary.delivered', { n: counts.delivered })],
    [counts.failed, 'failed', t('notifications.summary.failed', { n: counts.failed })],
    [counts.pending, 'pending', t('notifications.summary.pending', { n: counts.pending })],
    [counts.gaveUp, 'gave-up', t('notifications.summary.gaveUp', { n: counts.gaveUp })],
  ];
  for (const [count, status, text] of parts) {
    if (count === 0) continue;
    const known = statuses()[status];
    box.append(pill(`${known?.icon ?? ''} ${text}`, known?.tone ?? 'muted'));
  }
  return box;
}

/**
 * Why the server refused a replay, in the current language where we know the reason.
 * @param {unknown} error
 */
function replayError(error) {
  if (!(error instanceof ApiError)) return errorText(error);
  if (/attempt in flight/.test(error.message)) return t('notifications.error.inFlight');
  if (/was deleted/.test(error.message)) return t('notifications.error.endpointDeleted');
  if (/e-mail is not configured/.test(error.message)) return t('notifications.error.emailOff');
  if (error.status === 404) return t('notifications.error.notFound');
  return errorText(error);
}

/**
 * What an attempt came to in a few words: "HTTP 200", "HTTP 503: receiver is down" (the sender's
 * error already names the status), "no answer · fetch failed (ECONNREFUSED)".
 * @param {number | null} statusCode @param {string | null} error
 */
function problemText(statusCode, error) {
  const status = statusCode === null ? t('notifications.noAnswer') : `HTTP ${statusCode}`;
  if (!error) return status;
  return error.startsWith(status) ? error : `${status} · ${error}`;
}

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const canReplay = context.can('notifications:replay');
  const canManage = context.can('webhooks:manage');
  const params = new URLSearchParams(location.search);
  const sites = await loadSites();
  const siteMap = new Map(sites.map((site) => [site.id, site]));
  /** @param {string | null} siteId */
  const zoneOf = (siteId) => (siteId ? siteMap.get(siteId)?.timeZone : undefined) ?? DEFAULT_TIME_ZONE;

  const kindChoices = /** @type {Array<[string, string]>} */ (ALERT_KINDS.map((kind) => [kind, kindName(kind)]));
  const statusChoices = /** @type {Array<[string, string]>} */ (Object.entries(statuses()).map(([status, known]) => [status, known.label]));
  const filters = h(
    'form',
    { class: 'filters', role: 'search', dataset: { test: 'notifications-filters' }, novalidate: '' },
    formErrorBox(),
    field(t('notifications.kindLabel'), select('kind', [['', t('common.all')], ...kindChoices], params.get('kind')), { name: 'kind' }),
    field(t('notifications.statusLabel'), select('status', [['', t('common.all')], ...statusChoices], params.get('status')), { name: 'status' }),
    field(t('notifications.employeeNumber'), input('employeeNumber', { value: params.get('employeeNumber'), placeholder: 'E001', autocomplete: 'off' }), { name: 'employeeNumber' }),
    h('div', { class: 'filter-actions' }, button(t('common.search'), { kind: 'primary', type: 'submit', test: 'search-notifications' })),
  );
  const tbody = h('tbody');
  const more = button(t('common.loadMore'), { onClick: () => void busy(more, next, filters) });
  more.hidden = true;
  const refresh = button(t('common.refresh'), { test: 'refresh-notifications', onClick: () => void busy(refresh, search, filters) });
  const detailBox = h('div');
  const webhooksBox = h('div');
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: t('nav.notifications') })),
    h('p', { class: 'hint', text: t('notifications.intro') }),
    detailBox,
    section(
      t('notifications.list'),
      [
        filters,
        h(
          'div',
          { class: 'table-wrap', dataset: { test: 'notifications-table' } },
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h('tr', {}, [t('notifications.kindLabel'), t('notifications.employee'), t('notifications.workDate'), t('notifications.occurredAt'), t('notifications.deliveries'), ''].map((text) => h('th', { scope: 'col', text }))),
            ),
            tbody,
          ),
        ),
        more,
      ],
      { test: 'notifications', actions: [refresh] },
    ),
    canManage ? section(t('notifications.webhooks'), webhooksBox, { test: 'webhooks' }) : null,
  );

  /** The filters as they are in the form. */
  const filterValues = () => {
    const values = /** @type {Record<string, string>} */ (formValues(filters));
    return { kind: values.kind, status: values.status, employeeNumber: values.employeeNumber?.trim() };
  };
  /** The page's address: the filters and the alert opened. @param {string | null} opened */
  const pageUrl = (opened) => `/notifications${query({ ...filterValues(), notification: opened })}`;
  /** @type {string | null} */
  let opened = params.get('notification');

  /** @type {string | null} */
  let cursor = null;
  /** The next page, or (fresh) the first page again: rows replaced only once it has come, so a refresh does not make the table jump. @param {boolean} fresh */
  const load = async (fresh) => {
    const page = await get(`/notifications${query({ ...filterValues(), limit: 50, cursor: fresh ? null : cursor })}`);
    if (fresh) tbody.replaceChildren();
    for (const notification of page.notifications) tbody.append(notificationRow(notification));
    if (tbody.children.length === 0) tbody.append(h('tr', { class: 'empty-row' }, h('td', { colspan: 6, class: 'empty', text: t('notifications.empty') })));
    cursor = page.nextCursor;
    more.hidden = cursor === null;
  };
  const next = () => load(false);
  const search = async () => {
    history.replaceState(null, '', pageUrl(opened));
    await load(true);
  };

  /** @param {any} notification */
  const notificationRow = (notification) => {
    const employee = notification.event?.employee ?? { name: notification.employeeNumber };
    const open = h('a', {
      href: pageUrl(notification.id),
      class: 'btn btn-link',
      dataset: { test: 'open-deliveries' },
      text: t('notifications.open'),
      on: {
        click: (/** @type {MouseEvent} */ event) => {
          if (event.ctrlKey || event.metaKey || event.shiftKey) return;
          event.preventDefault();
          opened = notification.id;
          polls = 0;
          history.replaceState(null, '', pageUrl(opened));
          void showDetail({ scroll: true });
        },
      },
    });
    return row(
      [
        kindPill(notification.kind),
        h('span', {}, h('strong', { text: notification.employeeNumber }), ' ', personName(employee)),
        notification.workDate ?? '—',
        h('time', { datetime: notification.occurredAt, class: 'nowrap', text: formatInstant(notification.occurredAt, zoneOf(notification.siteId)) }),
        deliverySummary(notification.deliveries),
        open,
      ],
      { notification: notification.id, key: notification.key, kind: notification.kind, employee: notification.employeeNumber },
    );
  };

  // ---- one alert: its deliveries and their attempts ----

  /** What the last replay of a delivery came to, by delivery id: shown at the delivery until the page is left. @type {Map<string, {at: string} | {error: string}>} */
  const replays = new Map();
  let detailTimer = 0;
  let polls = 0;
  /** A replay was made: the list's counts change once it has settled. */
  let listStale = false;

  /** @param {{scroll?: boolean}} [options] */
  const showDetail = async (options = {}) => {
    window.clearTimeout(detailTimer);
    const id = opened;
    if (!id) {
      replace(detailBox);
      return;
    }
    /** @type {any} */
    let found;
    try {
      found = await get(`/notifications/${enc(id)}/deliveries`);
    } catch (error) {
      replace(detailBox, section(t('notifications.detail'), notice('error', errorText(error)), { test: 'notification-detail', actions: [closeButton()] }));
      return;
    }
    if (opened !== id) return;
    replace(detailBox, detailView(found.notification, found.deliveries));
    if (options.scroll) detailBox.scrollIntoView({ block: 'start' });
    // Watch what is still on its way (a replay, a first attempt) until it settles; not for ever (a disabled webhook's deliveries wait).
    const unsettled = found.deliveries.some((/** @type {any} */ delivery) => delivery.status === 'pending' || delivery.attempts.some((/** @type {any} */ attempt) => attempt.outcome === null));
    if (unsettled && polls < 40) {
      polls += 1;
      // Quick looks first (a local receiver answers in milliseconds), then once a second.
      detailTimer = window.setTimeout(() => void showDetail(), polls <= 5 ? 300 : 1000);
    } else if (listStale) {
      listStale = false;
      await busy(null, search, filters);
    }
  };

  const closeButton = () =>
    button(t('common.close'), {
      kind: 'link',
      test: 'close-detail',
      onClick: () => {
        opened = null;
        window.clearTimeout(detailTimer);
        history.replaceState(null, '', pageUrl(null));
        replace(detailBox);
      },
    });

  /** @param {any} notification @param {any[]} deliveries */
  const detailView = (notification, deliveries) => {
    const event = notification.event;
    const zone = zoneOf(notification.siteId);
    const details = Object.entries(event.details ?? {});
    const facts = h(
      'dl',
      { class: 'facts', dataset: { test: 'notification-facts' } },
      h('dt', { text: t('notifications.kindLabel') }),
      h('dd', {}, kindPill(notification.kind)),
      h('dt', { text: t('notifications.employee') }),
      h('dd', {}, h('strong', { text: notification.employeeNumber }), ' ', personName(event.employee)),
      h('dt', { text: t('notifications.occurredAt') }),
      h('dd', {}, h('time', { datetime: notification.occurredAt, text: formatInstant(notification.occurredAt, zone) })),
      h('dt', { text: t('notifications.workDate') }),
      h('dd', { text: notification.workDate ?? '—' }),
      h('dt', { text: t('notifications.site') }),
      h('dd', { text: notification.siteId ? `${siteName(siteMap.get(notification.siteId), notification.siteId)} (${notification.siteId})` : '—' }),
      details.length > 0 ? [h('dt', { text: t('notifications.details') }), h('dd', {}, details.map(([name, value]) => h('span', { class: 'detail-item' }, h('code', { text: name }), ' ', value === null ? '—' : String(value))))] : null,
      h('dt', { text: t('notifications.eventId') }),
      h('dd', {}, h('code', { dataset: { test: 'event-id' }, text: notification.key })),
      h('dt', { text: t('notifications.createdAt') }),
      h('dd', {}, h('time', { datetime: notification.createdAt, text: formatInstant(notification.createdAt, zone) })),
    );
    return section(
      t('notifications.detailTitle', { kind: kindName(notification.kind), employee: `${notification.employeeNumber} ${personName(event.employee)}` }),
      [
        facts,
        h('h3', { text: t('notifications.deliveriesTitle') }),
        deliveries.length === 0
          ? h('p', { class: 'empty-note', text: t('notifications.noDeliveries') })
          : h('div', { class: 'delivery-list', dataset: { test: 'deliveries' } }, deliveries.map((delivery) => deliveryCard(delivery, zone))),
      ],
      { test: 'notification-detail', actions: [closeButton()] },
    );
  };

  /** @param {any} delivery @param {string} zone */
  const deliveryCard = (delivery, zone) => {
    const email = delivery.channel === 'email';
    const where = email
      ? [h('span', { class: 'channel-label', text: t('notifications.channel.email') }), ' ', h('strong', { text: delivery.address ?? '—' })]
      : [
          h('span', { class: 'channel-label', text: t('notifications.channel.webhook') }),
          ' ',
          h('strong', { text: delivery.endpoint?.name ?? '—' }),
          delivery.endpoint?.deleted ? ' ' : null,
          delivery.endpoint?.deleted ? pill(t('notifications.endpointDeleted'), 'muted') : null,
        ];
    const inFlight = delivery.attempts.some((/** @type {any} */ attempt) => attempt.outcome === null);
    const state = [
      h('span', { text: t('notifications.attemptCount', { n: delivery.attemptCount }) }),
      delivery.status === 'delivered' && delivery.deliveredAt ? h('span', { text: t('notifications.deliveredAt', { at: formatInstant(delivery.deliveredAt, zone) }) }) : null,
      delivery.status === 'failed' && delivery.nextAttemptAt ? h('span', { text: t('notifications.nextAttempt', { at: formatInstant(delivery.nextAttemptAt, zone) }) }) : null,
    ];
    const attempts =
      delivery.attempts.length === 0
        ? h('p', { class: 'empty-note', text: t('notifications.noAttempts') })
        : table(
            [t('notifications.attempt'), t('notifications.attemptAt'), t('notifications.outcome'), email ? t('notifications.smtpReply') : t('notifications.httpStatus'), t('notifications.error'), t('notifications.duration')],
            delivery.attempts.map((/** @type {any} */ attempt) =>
              h(
                'tr',
                { dataset: { attempt: String(attempt.attempt), outcome: attempt.outcome ?? 'in-flight' } },
                h('td', { text: String(attempt.attempt) }),
                h('td', { class: 'nowrap' }, h('time', { datetime: attempt.at, text: formatInstant(attempt.at, zone) })),
                h('td', {}, outcomePill(attempt.outcome)),
                h('td', { dataset: { key: 'statusCode' }, text: attempt.statusCode === null ? '—' : String(attempt.statusCode) }),
                h('td', { class: 'error-cell', dataset: { key: 'error' }, text: attempt.error ?? '—' }),
                h('td', { class: 'nowrap', dataset: { key: 'duration' }, text: attempt.durationMs === null ? '—' : t('notifications.ms', { n: formatNumber(attempt.durationMs) }) }),
              ),
            ),
            { test: 'attempts' },
          );
    const replayed = replays.get(delivery.id);
    /** @type {HTMLElement | null} */
    let result = null;
    if (replayed && 'error' in replayed) result = notice('error', [h('strong', { text: t('notifications.replay.refused') }), ' ', replayed.error]);
    else if (replayed) {
      result =
        delivery.status === 'delivered'
          ? notice('ok', `✓ ${t('notifications.replay.delivered')}`)
          : delivery.status === 'pending' || inFlight
            ? notice('info', `◷ ${t('notifications.replay.queued')}`)
            : notice('error', `✕ ${t('notifications.replay.failed', { error: problemText(delivery.lastStatusCode, delivery.lastError) })}`);
    }
    const replayButton =
      canReplay && !delivery.endpoint?.deleted
        ? h('button', {
            type: 'button',
            class: 'btn btn-secondary',
            disabled: inFlight,
            title: t('notifications.replayHint'),
            dataset: { test: 'replay', id: delivery.id },
            text: `↻ ${t('notifications.replay')}`,
            on: { click: (/** @type {MouseEvent} */ event) => void replay(/** @type {HTMLButtonElement} */ (event.currentTarget), delivery) },
          })
        : null;
    return h(
      'article',
      { class: `delivery delivery-${delivery.status}`, dataset: { test: 'delivery', id: delivery.id, status: delivery.status, channel: delivery.channel } },
      h('div', { class: 'delivery-head' }, h('span', { class: 'delivery-where' }, where), statusPill(delivery.status), h('span', { class: 'delivery-state hint' }, state)),
      attempts,
      h('div', { class: 'delivery-result', dataset: { test: 'replay-result' }, 'aria-live': 'polite' }, result),
      replayButton ? h('div', { class: 'row-actions' }, replayButton) : null,
    );
  };

  /** @param {HTMLButtonElement} trigger @param {any} delivery */
  const replay = async (trigger, delivery) => {
    await busy(trigger, async () => {
      try {
        const answer = await api('POST', `/deliveries/${enc(delivery.id)}/replay`);
        replays.set(delivery.id, { at: answer.delivery.updatedAt });
        toast(t('notifications.replayedToast'));
        listStale = true;
      } catch (error) {
        replays.set(delivery.id, { error: replayError(error) });
      }
      polls = 0;
      await showDetail();
    });
  };

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(/** @type {HTMLButtonElement} */ (filters.querySelector('button[type=submit]')), search, filters);
  });
  if (canManage) webhooks(webhooksBox);
  await busy(null, search, filters);
  if (opened) await showDetail({ scroll: true });
}

/**
 * The webhook endpoints: listed (the secret only by its first characters), added with the secret
 * shown once, edited, enabled or disabled, tested, deleted.
 * @param {HTMLElement} box
 */
function webhooks(box) {
  const formBox = h('div');
  const resultBox = h('div', { class: 'webhook-result', dataset: { test: 'webhook-result' }, 'aria-live': 'polite' });
  const listBox = h('div');
  replace(
    box,
    h(
      'div',
      { class: 'stack webhooks-stack' },
      h('p', { class: 'hint', text: t('notifications.webhooksIntro') }),
      h('div', { class: 'form-actions' }, button(`+ ${t('notifications.newWebhook')}`, { kind: 'primary', test: 'new-webhook', onClick: () => webhookForm(null) })),
      formBox,
      resultBox,
      listBox,
    ),
  );

  /** The form for a new webhook (null) or for changing one. @param {any} webhook */
  const webhookForm = (webhook) => {
    const name = input('name', { required: true, autocomplete: 'off', value: webhook?.name, placeholder: t('notifications.webhookNamePlaceholder') });
    name.dataset.test = 'webhook-name';
    const url = input('url', { type: 'url', required: true, autocomplete: 'off', inputmode: 'url', value: webhook?.url, placeholder: 'https://hr.example.com/hooks/punchgate', spellcheck: 'false' });
    url.dataset.test = 'webhook-url';
    const every = checkbox('everyKind', !webhook || webhook.kinds === null);
    every.dataset.test = 'webhook-every-kind';
    const kinds = ALERT_KINDS.map((kind) => {
      const box = checkbox('kinds', webhook ? webhook.kinds === null || webhook.kinds.includes(kind) : true, kind);
      box.dataset.test = `webhook-kind-${kind}`;
      return box;
    });
    const followEvery = () => {
      for (const box of kinds) box.disabled = every.checked;
    };
    every.addEventListener('change', followEvery);
    followEvery();
    const form = h(
      'form',
      { class: 'form', dataset: { test: 'webhook-form' }, novalidate: '' },
      formErrorBox(),
      h('div', { class: 'grid-2' }, field(t('notifications.webhookName'), name, { name: 'name' }), field(t('notifications.webhookUrl'), url, { name: 'url', hint: t('notifications.webhookUrlHint') })),
      h(
        'fieldset',
        { class: 'field', dataset: { field: 'kinds' } },
        h('legend', { text: t('notifications.kinds') }),
        // The first error box in the fieldset: where the server's (or our) word about `kinds` goes.
        h('div', { class: 'field-error', role: 'alert', dataset: { test: 'kinds-error' } }),
        field(t('notifications.everyKind'), every),
        h('div', { class: 'check-list' }, ALERT_KINDS.map((kind, index) => field(kindName(kind), /** @type {HTMLInputElement} */ (kinds[index])))),
      ),
      h(
        'div',
        { class: 'form-actions' },
        button(webhook ? t('common.save') : t('notifications.create'), { kind: 'primary', type: 'submit', test: 'save-webhook' }),
        button(t('common.cancel'), { test: 'cancel-webhook', onClick: () => replace(formBox) }),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(
        /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
        async () => {
          const values = formValues(form);
          const chosen = every.checked ? null : /** @type {string[]} */ (values.kinds ?? []);
          if (chosen && chosen.length === 0) throw new ApiError(400, { error: t('notifications.checkFields'), issues: [{ in: 'body', field: 'kinds', message: t('notifications.pickKind') }] });
          const body = { name: String(values.name ?? ''), url: String(values.url ?? '').trim(), kinds: chosen };
          if (webhook) {
            const saved = await api('PATCH', `/webhooks/${enc(webhook.id)}`, body);
            toast(t('notifications.savedToast', { name: saved.webhook.name }));
            replace(formBox);
          } else {
            const made = await api('POST', '/webhooks', body);
            replace(formBox);
            await showSecretOnce({
              title: t('notifications.createdTitle', { name: made.webhook.name }),
              label: t('notifications.secretLabel'),
              secret: made.secret,
              extra: [h('p', { class: 'hint', text: t('notifications.secretUsage') }), h('pre', { class: 'snippet', text: 'Punchgate-Signature: t=<unix seconds>,v1=<HMAC-SHA256(secret, "<t>." + raw body)>' })],
            });
          }
          await render();
        },
        form,
      );
    });
    replace(formBox, section(webhook ? t('notifications.editWebhook', { name: webhook.name }) : t('notifications.newWebhook'), form, { test: 'webhook-editor' }));
    name.focus();
  };

  /** @param {HTMLButtonElement} trigger @param {any} webhook */
  const toggle = (trigger, webhook) =>
    busy(trigger, async () => {
      const saved = await api('PATCH', `/webhooks/${enc(webhook.id)}`, { enabled: !webhook.enabled });
      toast(saved.webhook.enabled ? t('notifications.enabledToast', { name: saved.webhook.name }) : t('notifications.disabledToast', { name: saved.webhook.name }));
      await render();
    });

  /** @param {HTMLButtonElement} trigger @param {any} webhook */
  const sendTest = (trigger, webhook) =>
    busy(trigger, async () => {
      replace(resultBox, notice('info', `◷ ${t('notifications.testSending', { name: webhook.name })}`));
      try {
        const { test } = await api('POST', `/webhooks/${enc(webhook.id)}/test`, { kind: 'late' });
        const ms = formatNumber(test.durationMs);
        replace(
          resultBox,
          test.delivered
            ? notice('ok', h('span', { dataset: { test: 'test-outcome', delivered: 'true' }, text: `✓ ${t('notifications.testDelivered', { name: webhook.name, status: problemText(test.statusCode, null), ms })}` }))
            : notice('error', h('span', { dataset: { test: 'test-outcome', delivered: 'false' }, text: `✕ ${t('notifications.testFailed', { name: webhook.name, error: problemText(test.statusCode, test.error), ms })}` })),
        );
      } catch (error) {
        replace(resultBox, notice('error', errorText(error)));
      }
    });

  /** @param {HTMLButtonElement} trigger @param {any} webhook */
  const remove = async (trigger, webhook) => {
    if (!(await confirmDialog(t('notifications.deleteConfirm', { name: webhook.name }), t('notifications.delete')))) return;
    await busy(trigger, async () => {
      const deleted = await api('DELETE', `/webhooks/${enc(webhook.id)}`);
      toast(t('notifications.deletedToast', { name: webhook.name, n: deleted.deliveriesGivenUp }));
      replace(formBox);
      await render();
    });
  };

  /** A row button that hands itself to `action`. @param {string} text @param {string} test @param {'secondary' | 'danger'} kind @param {(trigger: HTMLButtonElement) => unknown} action */
  const rowButton = (text, test, kind, action) =>
    h('button', { type: 'button', class: `btn btn-${kind}`, dataset: { test }, text, on: { click: (/** @type {MouseEvent} */ event) => void action(/** @type {HTMLButtonElement} */ (event.currentTarget)) } });

  const render = () =>
    fill(
      listBox,
      async () => {
        /** @type {any[]} */
        const all = [];
        /** @type {string | null} */
        let cursor = null;
        do {
          const page = await get(`/webhooks${query({ limit: 500, cursor })}`);
          all.push(...page.webhooks);
          cursor = page.nextCursor;
        } while (cursor);
        return table(
          [t('notifications.webhookName'), t('notifications.webhookUrl'), t('notifications.kinds'), t('notifications.state'), t('notifications.secret'), ''],
          all.map((webhook) =>
            row(
              [
                h('span', { class: 'webhook-name' }, h('strong', { text: webhook.name }), h('small', { class: 'hint', text: t('notifications.added', { at: formatInstant(webhook.createdAt) }) })),
                h('code', { class: 'url', text: webhook.url }),
                h('span', { class: 'webhook-kinds', text: webhook.kinds === null ? t('notifications.allKinds') : ALERT_KINDS.filter((kind) => webhook.kinds.includes(kind)).map(kindName).join(', ') }),
                webhook.enabled
                  ? h('span', { class: 'pill pill-ok', dataset: { test: 'webhook-state', enabled: 'true' }, text: `✓ ${t('notifications.enabled')}` })
                  : h('span', { class: 'pill pill-muted', dataset: { test: 'webhook-state', enabled: 'false' }, text: `⏸ ${t('notifications.disabled')}` }),
                h('code', { dataset: { test: 'secret-hint' }, text: `${webhook.secretHint}…` }),
                h(
                  'div',
                  { class: 'row-actions webhook-actions' },
                  rowButton(t('common.edit'), 'edit-webhook', 'secondary', () => webhookForm(webhook)),
                  rowButton(webhook.enabled ? t('notifications.disable') : t('notifications.enable'), 'toggle-webhook', 'secondary', (trigger) => toggle(trigger, webhook)),
                  rowButton(t('notifications.sendTest'), 'test-webhook', 'secondary', (trigger) => sendTest(trigger, webhook)),
                  rowButton(t('notifications.delete'), 'delete-webhook', 'danger', (trigger) => remove(trigger, webhook)),
                ),
              ],
              { webhook: webhook.name, id: webhook.id },
            ),
          ),
          { empty: t('notifications.webhooksEmpty'), test: 'webhooks-table' },
        );
      },
      t('notifications.webhooks'),
    );
  void render();
}
