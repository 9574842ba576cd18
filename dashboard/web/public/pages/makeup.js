// @ts-check
/**
 * Make-up punches (補卡): requests filed for a forgotten or failed punch (the time as the site's
 * clock showed it), listed by status with their decisions; with makeup:approve, approved or
 * rejected with an optional note. A request that must also be reviewed by HR says so and why; an
 * approval the server refuses (your own request, the HR tier, someone else's site) says why too.
 */
import { ApiError, api, enc, get, query } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { formatInstant, siteName, t } from '../lib/i18n.js';
import { DEFAULT_TIME_ZONE, dayOf, zonedInstant } from '../lib/time.js';
import { busy, button, errorText, field, formErrorBox, input, notice, openDialog, pill, section, select, toast } from '../lib/ui.js';
import { loadSites } from './devices.js';

/** @typedef {import('../app.js').PageContext} PageContext */

/** @returns {Array<[string, string]>} */
const statuses = () => [
  ['pending-manager', t('makeup.status.pending-manager')],
  ['pending-hr', t('makeup.status.pending-hr')],
  ['approved', t('makeup.status.approved')],
  ['rejected', t('makeup.status.rejected')],
];

/** @param {string} status */
function statusPill(status) {
  const label = statuses().find(([key]) => key === status)?.[1] ?? status;
  if (status === 'approved') return pill(`✓ ${label}`, 'ok');
  if (status === 'rejected') return pill(`✕ ${label}`, 'bad');
  if (status === 'pending-hr') return pill(`◷ ${label}`, 'warn');
  return pill(`◷ ${label}`, 'info');
}

/**
 * The server's reasons for refusing a decision, in the current language (its words otherwise).
 * @param {unknown} error
 */
export function decisionError(error) {
  if (!(error instanceof ApiError)) return errorText(error);
  const message = error.message;
  if (/someone other than who filed it/.test(message)) return t('makeup.error.ownRequest');
  if (/waits for HR/.test(message)) return t('makeup.error.waitsForHr');
  if (/someone other than the first approver/.test(message)) return t('makeup.error.sameApprover');
  if (/is already (approved|rejected)/.test(message)) return t('makeup.error.decided');
  if (/is not one of yours/.test(message)) return t('makeup.error.notYourSite');
  if (error.status === 404) return t('makeup.error.notFound');
  return errorText(error);
}

/** Who decided what, at which tier. @param {{tier: string, decision: string, byName: string}} decision */
function decisionText(decision) {
  const name = decision.byName;
  if (decision.tier === 'hr') return decision.decision === 'approved' ? t('makeup.hrApproved', { name }) : t('makeup.hrRejected', { name });
  return decision.decision === 'approved' ? t('makeup.managerApproved', { name }) : t('makeup.managerRejected', { name });
}

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const canApprove = context.can('makeup:approve');
  const params = new URLSearchParams(location.search);
  const sites = await loadSites();
  const siteMap = new Map(sites.map((site) => [site.id, site]));

  const filters = h(
    'form',
    { class: 'filters', role: 'search', dataset: { test: 'makeup-filters' }, novalidate: '' },
    formErrorBox(),
    field(t('makeup.statusLabel'), select('status', [['', t('common.all')], ...statuses()], params.get('status')), { name: 'status' }),
    field(t('makeup.employee'), input('employeeNumber', { value: params.get('employeeNumber'), placeholder: 'E001', autocomplete: 'off' }), { name: 'employeeNumber' }),
    h('div', { class: 'filter-actions' }, button(t('common.search'), { kind: 'primary', type: 'submit', test: 'search-makeup' })),
  );
  const list = h('div', { class: 'request-list', dataset: { test: 'makeup-list' } });
  const more = button(t('common.loadMore'), { onClick: () => void busy(more, next, filters) });
  const fileBox = h('div');
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: t('nav.makeup') })),
    h('p', { class: 'hint', text: t('makeup.intro') }),
    section(t('makeup.file'), fileBox, { test: 'makeup-file' }),
    section(t('makeup.requests'), [filters, list, more], { test: 'makeup-requests' }),
  );

  /** @type {string | null} */
  let cursor = null;
  const next = async () => {
    const values = /** @type {Record<string, string>} */ (formValues(filters));
    const page = await get(`/makeup-requests${query({ status: values.status, employeeNumber: values.employeeNumber?.trim(), limit: 50, cursor })}`);
    for (const request of page.requests) list.append(requestCard(request));
    if (list.children.length === 0) list.append(h('p', { class: 'empty-note', text: t('makeup.empty') }));
    cursor = page.nextCursor;
    more.hidden = cursor === null;
  };
  const search = async () => {
    cursor = null;
    list.replaceChildren();
    const values = /** @type {Record<string, string>} */ (formValues(filters));
    history.replaceState(null, '', `/makeup${query({ status: values.status, employeeNumber: values.employeeNumber?.trim() })}`);
    await next();
  };

  /** @param {any} request */
  const requestCard = (request) => {
    const site = siteMap.get(request.siteId);
    const zone = site?.timeZone ?? DEFAULT_TIME_ZONE;
    const errorBox = h('div', { dataset: { test: 'request-error' } });
    const pending = request.status === 'pending-manager' || request.status === 'pending-hr';
    const decide = async (/** @type {HTMLButtonElement} */ trigger, /** @type {'approve' | 'reject'} */ action) => {
      const note = h('textarea', { name: 'note', class: 'prose', maxlength: '500', dataset: { test: 'decision-note' } });
      const answer = await openDialog({
        title: action === 'approve' ? t('makeup.approveTitle', { number: request.employeeNumber }) : t('makeup.rejectTitle', { number: request.employeeNumber }),
        test: 'decision-dialog',
        body: [
          h('p', { text: t('makeup.decisionWhat', { at: formatInstant(request.at, zone), direction: request.direction === 'in' ? t('makeup.in') : t('makeup.out'), site: siteName(site, request.siteId) }) }),
          h('p', { class: 'quote', text: request.reason }),
          field(t('makeup.note'), note, { hint: t('makeup.noteHint') }),
        ],
        actions: [
          { label: t('common.cancel'), value: 'cancel' },
          { label: action === 'approve' ? t('makeup.approve') : t('makeup.reject'), value: action, kind: action === 'approve' ? 'primary' : 'danger', test: `confirm-${action}` },
        ],
      });
      if (answer !== action) return;
      await busy(trigger, async () => {
        replace(errorBox);
        try {
          const result = await api('POST', `/makeup-requests/${enc(request.id)}/${action}`, { note: note.value.trim() || null });
          toast(
            result.request.status === 'approved'
              ? t('makeup.approvedToast')
              : result.request.status === 'pending-hr'
                ? t('makeup.sentToHrToast')
                : t('makeup.rejectedToast'),
          );
          card.replaceWith(requestCard(result.request));
        } catch (error) {
          replace(errorBox, notice('error', [h('strong', { text: t('makeup.refused') }), ' ', decisionError(error)]));
        }
      });
    };
    const actions =
      canApprove && pending
        ? h(
            'div',
            { class: 'row-actions' },
            h('button', { type: 'button', class: 'btn btn-primary', dataset: { test: 'approve' }, text: t('makeup.approve'), on: { click: (/** @type {MouseEvent} */ event) => void decide(/** @type {HTMLButtonElement} */ (event.currentTarget), 'approve') } }),
            h('button', { type: 'button', class: 'btn btn-danger', dataset: { test: 'reject' }, text: t('makeup.reject'), on: { click: (/** @type {MouseEvent} */ event) => void decide(/** @type {HTMLButtonElement} */ (event.currentTarget), 'reject') } }),
          )
        : null;
    const hrNote =
      request.status === 'pending-hr'
        ? notice('warn', [h('strong', { text: t('makeup.waitsForHr') }), request.hrReason ? ` ${t('makeup.because', { reason: request.hrReason })}` : ''])
        : request.needsHr && request.status === 'pending-manager'
          ? notice('info', [t('makeup.hrAfterManager'), request.hrReason ? ` ${t('makeup.because', { reason: request.hrReason })}` : ''])
          : null;
    const card = h(
      'article',
      { class: `request request-${request.status}`, dataset: { test: 'makeup-request', id: request.id, status: request.status, employee: request.employeeNumber } },
      h(
        'div',
        { class: 'request-head' },
        h('strong', { class: 'request-who', text: request.employeeNumber }),
        h('span', { class: 'request-when' }, h('time', { datetime: request.at, text: formatInstant(request.at, zone) }), ' · ', request.direction === 'in' ? t('makeup.in') : t('makeup.out'), ' · ', siteName(site, request.siteId)),
        h('span', { dataset: { test: 'request-status' } }, statusPill(request.status), request.needsHr ? pill(t('makeup.hrReview'), 'warn') : null),
      ),
      h('p', { class: 'quote', text: request.reason }),
      hrNote,
      h(
        'ol',
        { class: 'history', dataset: { test: 'decisions' }, 'aria-label': t('makeup.history') },
        h('li', {}, h('span', { class: 'history-what', text: t('makeup.filedBy', { name: request.requestedByName }) }), ' ', h('time', { datetime: request.requestedAt, class: 'hint', text: formatInstant(request.requestedAt) })),
        request.decisions.map((/** @type {any} */ decision) =>
          h(
            'li',
            { dataset: { decision: decision.decision, tier: decision.tier } },
            h('span', { class: 'history-what' }, decision.decision === 'approved' ? '✓ ' : '✕ ', decisionText(decision)),
            ' ',
            h('time', { datetime: decision.at, class: 'hint', text: formatInstant(decision.at) }),
            decision.note ? h('div', { class: 'quote', text: decision.note }) : null,
          ),
        ),
        request.punchId ? h('li', { class: 'hint', text: t('makeup.punchStored') }) : null,
      ),
      errorBox,
      actions,
    );
    return card;
  };

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(/** @type {HTMLButtonElement} */ (filters.querySelector('button[type=submit]')), search, filters);
  });
  fileForm(fileBox, sites, search);
  await busy(null, search, filters);
}

/**
 * Filing a request: who, where, when (the site's wall clock), in or out, and why.
 * @param {HTMLElement} box
 * @param {any[]} sites
 * @param {() => Promise<void>} refresh
 */
function fileForm(box, sites, refresh) {
  const number = input('employeeNumber', { required: true, placeholder: 'E001', autocomplete: 'off' });
  number.dataset.test = 'makeup-employee';
  const siteSelect = select('siteId', sites.map((site) => /** @type {[string, string]} */ ([site.id, `${siteName(site)} (${site.id})`])), sites[0]?.id);
  siteSelect.dataset.test = 'makeup-site';
  const day = input('day', { type: 'date', required: true, value: dayOf(new Date(), sites[0]?.timeZone ?? DEFAULT_TIME_ZONE) });
  day.dataset.test = 'makeup-day';
  const time = input('time', { type: 'time', required: true, step: '60' });
  time.dataset.test = 'makeup-time';
  const reason = h('textarea', { name: 'reason', class: 'prose', required: true, maxlength: '500', placeholder: t('makeup.reasonPlaceholder'), dataset: { test: 'makeup-reason' } });
  const zoneHint = h('small', { class: 'hint' });
  const showZone = () => {
    const site = sites.find((candidate) => candidate.id === siteSelect.value);
    zoneHint.textContent = t('makeup.zoneHint', { zone: site?.timeZone ?? DEFAULT_TIME_ZONE });
  };
  siteSelect.addEventListener('change', showZone);
  showZone();
  const form = h(
    'form',
    { class: 'form', dataset: { test: 'makeup-form' }, novalidate: '' },
    formErrorBox(),
    h(
      'div',
      { class: 'grid-3' },
      field(t('makeup.employee'), number, { name: 'employeeNumber' }),
      field(t('makeup.site'), siteSelect, { name: 'siteId' }),
      field(
        t('makeup.direction'),
        select('direction', [
          ['in', t('makeup.in')],
          ['out', t('makeup.out')],
        ]),
        { name: 'direction' },
      ),
    ),
    h('div', { class: 'grid-2', dataset: { field: 'at' } }, field(t('makeup.day'), day), field(t('makeup.time'), time), h('div', { class: 'field-wide' }, zoneHint)),
    field(t('makeup.reason'), reason, { name: 'reason', wide: true }),
    h('div', { class: 'form-actions' }, button(t('makeup.submit'), { kind: 'primary', type: 'submit', test: 'file-makeup' })),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(
      /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
      async () => {
        const values = /** @type {Record<string, string>} */ (formValues(form));
        const issues = [];
        if (!values.employeeNumber?.trim()) issues.push({ in: 'body', field: 'employeeNumber', message: t('makeup.required') });
        if (!values.siteId) issues.push({ in: 'body', field: 'siteId', message: t('makeup.required') });
        if (!values.day || !values.time) issues.push({ in: 'body', field: 'at', message: t('makeup.needWhen') });
        if ((values.reason ?? '').trim().length < 3) issues.push({ in: 'body', field: 'reason', message: t('makeup.needReason') });
        if (issues.length > 0) throw new ApiError(400, { error: t('makeup.checkFields'), issues });
        const site = sites.find((candidate) => candidate.id === values.siteId);
        const at = zonedInstant(values.day, values.time.slice(0, 5), site?.timeZone ?? DEFAULT_TIME_ZONE).toISOString();
        const filed = await api('POST', '/makeup-requests', { employeeNumber: values.employeeNumber.trim(), siteId: values.siteId, at, direction: values.direction, reason: values.reason.trim() });
        toast(filed.request.needsHr ? t('makeup.filedHr') : t('makeup.filed'));
        reason.value = '';
        time.value = '';
        await refresh();
      },
      form,
    );
  });
  replace(box, form);
}
