// @ts-check
/**
 * Employees and their badges: search and filter, create and edit (names in English and 繁中,
 * sites, active dates, status), badges assigned and revoked with their history, and the recorded
 * consent to BLE tag tracking (PDPO opt-in). With employees:write, `?import=1` opens the import
 * from a file and the department codes it checks against (employee-import.js).
 */
import { ApiError, api, enc, get, query } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { formatInstant, personName, siteName, t } from '../lib/i18n.js';
import { busy, button, checkbox, field, fill, formErrorBox, input, notice, openDialog, pill, row, section, select, table, toast } from '../lib/ui.js';
import { loadSites } from './devices.js';
import { mountImportView } from './employee-import.js';

/** @typedef {import('../app.js').PageContext} PageContext */

export const CREDENTIAL_KINDS = ['em4100', 'mifare', 'wiegand26', 'wiegand34', 'ble-tag', 'mobile'];
const ENTITY_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const params = new URLSearchParams(location.search);
  const selected = params.get('employee');
  const creating = params.has('new');
  const importing = params.has('import');
  const canWrite = context.can('employees:write');
  const sites = await loadSites();

  const detailBox = h('div');
  const listBox = h('div');
  const filters = h(
    'form',
    { class: 'filters', role: 'search', dataset: { test: 'employee-filters' } },
    field(t('employees.search'), input('q', { value: params.get('q') ?? '', type: 'search', placeholder: t('employees.searchHint') })),
    field(t('employees.site'), select('site', [['', t('common.all')], ...sites.map((site) => /** @type {[string, string]} */ ([site.id, siteName(site)]))], params.get('site'))),
    field(t('employees.status'), select('status', [['', t('common.all')], ['active', t('employee.status.active')], ['inactive', t('employee.status.inactive')]], params.get('status'))),
    h('div', { class: 'filter-actions' }, button(t('common.search'), { kind: 'primary', type: 'submit' })),
  );
  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: t('nav.employees') }),
      canWrite
        ? h(
            'div',
            { class: 'card-actions' },
            h('a', { class: 'btn btn-secondary', href: '/employees?import=1', dataset: { test: 'import-employees' }, text: t('import.open') }),
            h('a', { class: 'btn btn-primary', href: '/employees?new=1', dataset: { test: 'new-employee' }, text: t('employees.new') }),
          )
        : null,
    ),
    detailBox,
    section(t('employees.all'), [filters, listBox]),
  );

  /** @type {string | null} */
  let cursor = null;
  const tbody = h('tbody');
  const more = button(t('common.loadMore'), { onClick: () => void loadPage() });
  const loadPage = async () => {
    const values = /** @type {Record<string, string>} */ (formValues(filters));
    const page = await get(`/employees${query({ q: values.q, site: values.site, status: values.status, limit: 100, cursor })}`);
    for (const employee of page.employees) {
      tbody.append(
        row(
          [
            h('a', { href: `/employees?employee=${enc(employee.employeeNumber)}`, text: employee.employeeNumber }),
            personName(employee),
            employee.department ?? '—',
            employee.sites.map((/** @type {string} */ id) => siteName(sites.find((site) => site.id === id), id)).join(', ') || '—',
            employee.badges.map((/** @type {any} */ badge) => `${badge.credential.kind}:${badge.credential.uid}`).join(', ') || '—',
            pill(t(`employee.status.${employee.status}`), employee.status === 'active' ? 'ok' : 'muted'),
          ],
          { employee: employee.employeeNumber },
        ),
      );
    }
    if (tbody.children.length === 0) tbody.append(h('tr', {}, h('td', { colspan: 6, class: 'empty', text: t('employees.empty') })));
    cursor = page.nextCursor;
    more.hidden = cursor === null;
  };
  const renderList = () =>
    fill(listBox, async () => {
      cursor = null;
      tbody.replaceChildren();
      await loadPage();
      return [
        h(
          'div',
          { class: 'table-wrap', dataset: { test: 'employees-table' } },
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, [t('employees.number'), t('employees.name'), t('employees.department'), t('employees.sites'), t('employees.badges'), t('employees.status')].map((text) => h('th', { scope: 'col', text })))),
            tbody,
          ),
        ),
        more,
      ];
    });
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void renderList();
  });
  await renderList();

  if (importing && canWrite) await mountImportView(detailBox, renderList);
  else if (creating && canWrite) employeeForm(detailBox, null, sites);
  else if (selected)
    await fill(detailBox, async () => {
      const { employee } = await get(`/employees/${enc(selected)}`);
      return employeeDetail(context, employee, sites);
    });
}

/**
 * @param {PageContext} context
 * @param {any} employee
 * @param {any[]} sites
 */
function employeeDetail(context, employee, sites) {
  const canWrite = context.can('employees:write');
  const editBox = h('div');
  const badgesBox = h('div');
  const consentBox = h('div');
  if (canWrite) employeeForm(editBox, employee, sites);
  else
    replace(
      editBox,
      h(
        'dl',
        { class: 'facts' },
        [
          [t('employees.name'), personName(employee)],
          [t('employees.department'), employee.department ?? '—'],
          [t('employees.rank'), employee.rank ?? '—'],
          [t('employees.sites'), employee.sites.join(', ') || '—'],
          [t('employees.status'), t(`employee.status.${employee.status}`)],
        ].flatMap(([label, value]) => [h('dt', { text: label }), h('dd', { text: value })]),
      ),
    );
  void badges(badgesBox, employee, canWrite);
  void consent(consentBox, employee, canWrite);
  return h(
    'div',
    { class: 'detail', dataset: { test: 'employee-detail' } },
    section(t('employees.detailTitle', { name: personName(employee), number: employee.employeeNumber }), editBox, { actions: [h('a', { class: 'btn btn-link', href: '/employees', text: t('common.close') })] }),
    section(t('employees.badges'), badgesBox, { test: 'badges' }),
    section(t('employees.consent'), consentBox, { test: 'consent' }),
  );
}

/**
 * Create (employee null) or edit.
 * @param {HTMLElement} box
 * @param {any | null} employee
 * @param {any[]} sites
 */
function employeeForm(box, employee, sites) {
  const numberInput = input('employeeNumber', { value: employee?.employeeNumber ?? '', readonly: Boolean(employee), required: true, autocomplete: 'off' });
  numberInput.dataset.test = 'employee-number';
  const nameInput = input('name', { value: employee?.name ?? '', required: true });
  nameInput.dataset.test = 'employee-name';
  const form = h(
    'form',
    { class: 'form', dataset: { test: 'employee-form' }, novalidate: true },
    formErrorBox(),
    h(
      'div',
      { class: 'grid-2' },
      field(t('employees.number'), numberInput, { name: 'employeeNumber' }),
      field(t('employees.status'), select('status', [['active', t('employee.status.active')], ['inactive', t('employee.status.inactive')]], employee?.status ?? 'active'), { name: 'status' }),
      field(t('employees.nameEn'), nameInput, { name: 'name' }),
      field(t('employees.nameZh'), input('nameZh', { value: employee?.nameZh, lang: 'zh-HK' }), { name: 'nameZh' }),
      field(t('employees.department'), input('department', { value: employee?.department }), { name: 'department' }),
      field(t('employees.rank'), input('rank', { value: employee?.rank }), { name: 'rank' }),
      field(t('employees.phone'), input('phone', { type: 'tel', value: employee?.phone, placeholder: '+852 2345 6789' }), { name: 'phone' }),
      field(t('employees.email'), input('email', { type: 'email', value: employee?.email }), { name: 'email' }),
      field(t('employees.activeFrom'), input('activeFrom', { type: 'date', value: employee?.activeFrom }), { name: 'activeFrom' }),
      field(t('employees.activeUntil'), input('activeUntil', { type: 'date', value: employee?.activeUntil }), { name: 'activeUntil' }),
    ),
    h(
      'fieldset',
      { dataset: { field: 'sites' } },
      h('legend', { text: t('employees.sites') }),
      h('div', { class: 'check-list' }, sites.map((site) => field(`${siteName(site)} (${site.id})`, checkbox('sites', (employee?.sites ?? []).includes(site.id), site.id)))),
      h('div', { class: 'field-error', role: 'alert' }),
    ),
    h('div', { class: 'form-actions' }, button(t('common.save'), { kind: 'primary', type: 'submit', test: 'save-employee' }), employee ? null : h('a', { class: 'btn btn-secondary', href: '/employees', text: t('common.cancel') })),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(
      /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
      async () => {
        const values = formValues(form);
        const number = String(values.employeeNumber ?? '').trim();
        const text = (/** @type {string} */ name) => String(values[name] ?? '').trim() || null;
        if (!ENTITY_ID.test(number)) {
          throw new ApiError(400, { error: t('employees.numberHint'), issues: [{ in: 'params', field: 'employeeNumber', message: t('employees.numberHint') }] });
        }
        const body = {
          name: String(values.name ?? '').trim(),
          nameZh: text('nameZh'),
          department: text('department'),
          rank: text('rank'),
          phone: text('phone'),
          email: text('email'),
          sites: values.sites ?? [],
          activeFrom: text('activeFrom'),
          activeUntil: text('activeUntil'),
          status: values.status,
        };
        const written = await api('PUT', `/employees/${enc(number)}`, body);
        toast(written.created ? t('employees.created', { number }) : t('employees.saved', { number }));
        if (!employee) location.assign(`/employees?employee=${enc(number)}`);
      },
      form,
    );
  });
  replace(box, employee ? form : section(t('employees.new'), form, { test: 'new-employee-form' }));
}

/**
 * " · who" after a time in a history: the name the server gives with the history (a user's
 * username, a token's name), so every role that may read the history sees who made it.
 * @param {string | null | undefined} id the actor id the row records
 * @param {string | null | undefined} name its display name, from the server
 */
function byWhom(id, name) {
  if (!id) return '';
  if (id === 'system') return ` · ${t('audit.actor.system')}`;
  return ` · ${name ?? id}`;
}

/**
 * The badge history, assigning and revoking.
 * @param {HTMLElement} box
 * @param {any} employee
 * @param {boolean} canWrite
 */
async function badges(box, employee, canWrite) {
  const number = employee.employeeNumber;
  await fill(box, async () => {
    const history = await get(`/employees/${enc(number)}/badges?limit=500`);
    const rows = history.badges.map((/** @type {any} */ badge) =>
      row(
        [
          h('code', { text: `${badge.credential.kind}:${badge.credential.uid}` }),
          badge.revokedAt ? pill(t('badge.revoked'), 'muted') : pill(t('badge.current'), 'ok'),
          `${formatInstant(badge.assignedAt)}${byWhom(badge.assignedBy, badge.assignedByName)}`,
          badge.revokedAt ? `${formatInstant(badge.revokedAt)}${byWhom(badge.revokedBy, badge.revokedByName)}` : '—',
          badge.revokeReason ?? '',
          canWrite && !badge.revokedAt
            ? h('button', {
                type: 'button',
                class: 'btn btn-danger',
                dataset: { test: 'revoke-badge', uid: badge.credential.uid },
                text: t('badge.revoke'),
                on: { click: (/** @type {MouseEvent} */ event) => void revoke(/** @type {HTMLButtonElement} */ (event.currentTarget), badge) },
              })
            : '',
        ],
        { badge: `${badge.credential.kind}:${badge.credential.uid}` },
      ),
    );
    const kindSelect = select('kind', CREDENTIAL_KINDS.map((kind) => [kind, t(`credential.${kind}`)]), 'mifare');
    const uidInput = input('uid', { required: true, autocomplete: 'off', placeholder: '04A1B2C3', spellcheck: 'false' });
    uidInput.dataset.test = 'badge-uid';
    const assign = h(
      'form',
      { class: 'form', dataset: { test: 'assign-badge' }, novalidate: true },
      formErrorBox(),
      h('div', { class: 'grid-2' }, field(t('badge.kind'), kindSelect, { name: 'kind' }), field(t('badge.uid'), uidInput, { name: 'uid', hint: t('badge.uidHint') })),
      h('div', { class: 'form-actions' }, button(t('badge.assign'), { kind: 'primary', type: 'submit', test: 'assign-badge-button' })),
    );
    assign.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(
        /** @type {HTMLButtonElement} */ (assign.querySelector('button[type=submit]')),
        async () => {
          const values = /** @type {Record<string, string>} */ (formValues(assign));
          await api('POST', `/employees/${enc(number)}/badges`, { kind: values.kind, uid: values.uid?.trim() });
          toast(t('badge.assigned'));
          await badges(box, employee, canWrite);
        },
        assign,
      );
    });
    return [
      table([t('badge.badge'), t('badge.state'), t('badge.assignedAt'), t('badge.revokedAt'), t('badge.reason'), ''], rows, { empty: t('badge.none'), test: 'badge-table' }),
      history.nextCursor ? h('p', { class: 'hint', text: t('badge.moreHistory') }) : null,
      canWrite ? h('h3', { text: t('badge.assignTitle') }) : null,
      canWrite ? assign : null,
    ];
  });

  /** @param {HTMLButtonElement} trigger @param {any} badge */
  async function revoke(trigger, badge) {
    const reason = input('reason', { placeholder: t('badge.reasonHint') });
    reason.dataset.test = 'revoke-reason';
    const answer = await openDialog({
      title: t('badge.revokeTitle', { badge: `${badge.credential.kind}:${badge.credential.uid}` }),
      body: [h('p', { text: t('badge.revokeText') }), field(t('badge.reason'), reason)],
      actions: [
        { label: t('common.cancel'), value: 'cancel' },
        { label: t('badge.revoke'), value: 'revoke', kind: 'danger', test: 'confirm-revoke' },
      ],
    });
    if (answer !== 'revoke') return;
    await busy(trigger, async () => {
      await api('POST', `/employees/${enc(number)}/badges/${enc(badge.credential.kind)}/${enc(badge.credential.uid)}/revoke`, reason.value.trim() ? { reason: reason.value.trim() } : {});
      toast(t('badge.revokedToast'));
      await badges(box, employee, canWrite);
    });
  }
}

/**
 * BLE tag tracking consent: in force or not, with its history.
 * @param {HTMLElement} box
 * @param {any} employee
 * @param {boolean} canWrite
 */
async function consent(box, employee, canWrite) {
  const number = employee.employeeNumber;
  await fill(box, async () => {
    const answer = await get(`/employees/${enc(number)}/ble-consent?limit=100`);
    const current = answer.consent;
    const toggle = button(current ? t('consent.withdraw') : t('consent.record'), {
      kind: current ? 'danger' : 'primary',
      test: 'consent-toggle',
      onClick: (event) =>
        void busy(/** @type {HTMLButtonElement} */ (event.currentTarget), async () => {
          await api('PUT', `/employees/${enc(number)}/ble-consent`, { consent: !current });
          toast(current ? t('consent.withdrawn') : t('consent.recorded'));
          await consent(box, employee, canWrite);
        }),
    });
    return [
      current ? notice('ok', t('consent.inForce', { at: formatInstant(current.recordedAt) })) : notice('info', t('consent.none')),
      h('p', { class: 'hint', text: t('consent.hint') }),
      canWrite ? h('div', { class: 'form-actions' }, toggle) : null,
      table(
        [t('consent.recordedAt'), t('consent.withdrawnAt')],
        answer.history.map((/** @type {any} */ entry) => [
          `${formatInstant(entry.recordedAt)}${byWhom(entry.recordedBy, entry.recordedByName)}`,
          entry.withdrawnAt ? `${formatInstant(entry.withdrawnAt)}${byWhom(entry.withdrawnBy, entry.withdrawnByName)}` : '—',
        ]),
        { empty: t('consent.noHistory') },
      ),
    ];
  });
}
