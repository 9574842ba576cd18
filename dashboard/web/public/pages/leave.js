// @ts-check
/**
 * Leave: the approved (and cancelled) leave, newest first and paged; with leave:write, one entry
 * added, one cancelled (after a confirm), or a CSV file imported: checked first (a dry run that
 * shows the counts, or every row error in the current language), then committed as checked.
 */
import { ApiError, api, enc, get, query, upload } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { formatInstant, language, t } from '../lib/i18n.js';
import { busy, button, confirmDialog, errorText, field, formErrorBox, input, notice, pill, row, section, select, table, toast } from '../lib/ui.js';

/** @typedef {import('../app.js').PageContext} PageContext */

/** The header a leave file starts with (the template is the same, in /assets/leave-template.csv). */
export const LEAVE_CSV_HEADER = 'employee_number,type,from,to,portion,note';

/** @returns {Array<[string, string]>} */
export const leaveTypes = () => [
  ['annual', t('leave.type.annual')],
  ['sick', t('leave.type.sick')],
  ['maternity', t('leave.type.maternity')],
  ['paternity', t('leave.type.paternity')],
  ['compensation', t('leave.type.compensation')],
  ['unpaid', t('leave.type.unpaid')],
  ['other', t('leave.type.other')],
];

/** @returns {Array<[string, string]>} */
const portions = () => [
  ['full', t('leave.portion.full')],
  ['am', t('leave.portion.am')],
  ['pm', t('leave.portion.pm')],
];

/** @param {Array<[string, string]>} choices @param {string} value */
const labelOf = (choices, value) => choices.find(([key]) => key === value)?.[1] ?? value;

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const canWrite = context.can('leave:write');
  const params = new URLSearchParams(location.search);

  const filters = h(
    'form',
    { class: 'filters', role: 'search', dataset: { test: 'leave-filters' }, novalidate: '' },
    formErrorBox(),
    field(t('leave.employee'), input('employeeNumber', { value: params.get('employeeNumber'), placeholder: 'E001', autocomplete: 'off' }), { name: 'employeeNumber' }),
    field(t('leave.from'), input('from', { type: 'date', value: params.get('from') }), { name: 'from' }),
    field(t('leave.to'), input('to', { type: 'date', value: params.get('to') }), { name: 'to' }),
    field(
      t('leave.status'),
      select('status', [['', t('common.all')], ['approved', t('leave.status.approved')], ['cancelled', t('leave.status.cancelled')]], params.get('status')),
      { name: 'status' },
    ),
    h('div', { class: 'filter-actions' }, button(t('common.search'), { kind: 'primary', type: 'submit', test: 'search-leave' })),
  );
  const tbody = h('tbody');
  const more = button(t('common.loadMore'), { onClick: () => void busy(more, next, filters) });
  const addBox = h('div');
  const importBox = h('div');
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: t('nav.leave') })),
    canWrite ? h('div', { class: 'columns' }, section(t('leave.add'), addBox, { test: 'leave-add' }), section(t('leave.import'), importBox, { test: 'leave-import' })) : null,
    section(t('leave.list'), [
      filters,
      h(
        'div',
        { class: 'table-wrap', dataset: { test: 'leave-table' } },
        h(
          'table',
          {},
          h('thead', {}, h('tr', {}, [t('leave.employee'), t('leave.typeLabel'), t('leave.days'), t('leave.portionLabel'), t('leave.status'), t('leave.note'), t('leave.entered'), ''].map((text) => h('th', { scope: 'col', text })))),
          tbody,
        ),
      ),
      more,
    ]),
  );

  /** @type {string | null} */
  let cursor = null;
  const next = async () => {
    const values = /** @type {Record<string, string>} */ (formValues(filters));
    const page = await get(`/leave${query({ employeeNumber: values.employeeNumber?.trim(), from: values.from, to: values.to, status: values.status, limit: 100, cursor })}`);
    for (const leave of page.leave) tbody.append(leaveRow(leave));
    if (tbody.children.length === 0) tbody.append(h('tr', { class: 'empty-row' }, h('td', { colspan: 8, class: 'empty', text: t('leave.empty') })));
    cursor = page.nextCursor;
    more.hidden = cursor === null;
  };
  const search = async () => {
    cursor = null;
    tbody.replaceChildren();
    const values = /** @type {Record<string, string>} */ (formValues(filters));
    history.replaceState(null, '', `/leave${query({ employeeNumber: values.employeeNumber?.trim(), from: values.from, to: values.to, status: values.status })}`);
    await next();
  };

  /** @param {any} leave */
  const leaveRow = (leave) =>
    row(
      [
        h('strong', { text: leave.employeeNumber }),
        labelOf(leaveTypes(), leave.type),
        h('span', { class: 'nowrap', text: leave.from === leave.to ? leave.from : t('leave.range', { from: leave.from, to: leave.to }) }),
        labelOf(portions(), leave.portion),
        leave.status === 'approved' ? pill(`✓ ${t('leave.status.approved')}`, 'ok') : pill(`✕ ${t('leave.status.cancelled')}`, 'muted'),
        leave.note ?? '—',
        h('span', { class: 'small' }, `${formatInstant(leave.createdAt)}${leave.createdBy ? ` · ${leave.createdBy}` : ''}`, ' ', pill(leave.source === 'csv' ? t('leave.source.csv') : leave.source === 'console' ? t('leave.source.console') : t('leave.source.api'), 'info')),
        canWrite && leave.status === 'approved'
          ? h('button', {
              type: 'button',
              class: 'btn btn-danger',
              dataset: { test: 'cancel-leave', id: leave.id },
              text: t('leave.cancel'),
              on: { click: (/** @type {MouseEvent} */ event) => void cancel(/** @type {HTMLButtonElement} */ (event.currentTarget), leave) },
            })
          : '',
      ],
      { leaveId: leave.id, employee: leave.employeeNumber },
    );

  /** @param {HTMLButtonElement} trigger @param {any} leave */
  const cancel = async (trigger, leave) => {
    const what = `${leave.employeeNumber} · ${labelOf(leaveTypes(), leave.type)} · ${leave.from === leave.to ? leave.from : t('leave.range', { from: leave.from, to: leave.to })}`;
    if (!(await confirmDialog(t('leave.cancelConfirm', { what }), t('leave.cancel')))) return;
    await busy(trigger, async () => {
      await api('POST', `/leave/${enc(leave.id)}/cancel`);
      toast(t('leave.cancelled'));
      await search();
    });
  };

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(/** @type {HTMLButtonElement} */ (filters.querySelector('button[type=submit]')), search, filters);
  });
  if (canWrite) {
    addForm(addBox, search);
    importForm(importBox, search);
  }
  await busy(null, search, filters);
}

/**
 * One leave entry.
 * @param {HTMLElement} box
 * @param {() => Promise<void>} refresh
 */
function addForm(box, refresh) {
  const number = input('employeeNumber', { required: true, placeholder: 'E001', autocomplete: 'off' });
  number.dataset.test = 'leave-employee';
  const from = input('from', { type: 'date', required: true });
  from.dataset.test = 'leave-from';
  const to = input('to', { type: 'date', required: true });
  to.dataset.test = 'leave-to';
  // One day by default: "to" follows "from" until it is changed.
  from.addEventListener('change', () => {
    if (!to.value || to.value < from.value) to.value = from.value;
  });
  const form = h(
    'form',
    { class: 'form', dataset: { test: 'leave-form' }, novalidate: '' },
    formErrorBox(),
    h(
      'div',
      { class: 'grid-2' },
      field(t('leave.employee'), number, { name: 'employeeNumber' }),
      field(t('leave.typeLabel'), select('type', leaveTypes(), 'annual'), { name: 'type' }),
      field(t('leave.from'), from, { name: 'from' }),
      field(t('leave.to'), to, { name: 'to' }),
      field(t('leave.portionLabel'), select('portion', portions(), 'full'), { name: 'portion', hint: t('leave.portionHint') }),
      field(t('leave.note'), input('note', { placeholder: t('leave.notePlaceholder') }), { name: 'note' }),
    ),
    h('div', { class: 'form-actions' }, button(t('leave.addButton'), { kind: 'primary', type: 'submit', test: 'add-leave' })),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(
      /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
      async () => {
        const values = /** @type {Record<string, string>} */ (formValues(form));
        const issues = [];
        if (!values.employeeNumber?.trim()) issues.push({ in: 'body', field: 'employeeNumber', message: t('leave.required') });
        if (!values.from) issues.push({ in: 'body', field: 'from', message: t('leave.required') });
        if (!values.to) issues.push({ in: 'body', field: 'to', message: t('leave.required') });
        if (issues.length > 0) throw new ApiError(400, { error: t('leave.checkFields'), issues });
        const created = await api('POST', '/leave', {
          employeeNumber: values.employeeNumber.trim(),
          type: values.type,
          from: values.from,
          to: values.to,
          portion: values.portion,
          note: values.note?.trim() || null,
        });
        toast(t('leave.added', { number: created.leave.employeeNumber }));
        form.reset();
        await refresh();
      },
      form,
    );
  });
  replace(box, form);
}

/**
 * The CSV import: choose → check (dry run) → the counts or the row errors → commit.
 * @param {HTMLElement} box
 * @param {() => Promise<void>} refresh
 */
function importForm(box, refresh) {
  const file = h('input', { type: 'file', name: 'file', accept: '.csv,text/csv', dataset: { test: 'leave-file' } });
  const result = h('div', { class: 'import-result', dataset: { test: 'import-result' }, 'aria-live': 'polite' });
  /** The bytes that were checked: what a commit sends (never a file changed since). @type {ArrayBuffer | null} */
  let checked = null;
  const check = button(t('leave.check'), { kind: 'primary', test: 'check-import' });
  const commit = button(t('leave.commit'), { kind: 'primary', test: 'commit-import' });
  commit.hidden = true;
  file.addEventListener('change', () => {
    checked = null;
    commit.hidden = true;
    replace(result);
  });

  check.addEventListener('click', () =>
    void busy(check, async () => {
      checked = null;
      commit.hidden = true;
      const chosen = file.files?.[0];
      if (!chosen) {
        replace(result, notice('warn', t('leave.chooseFile')));
        return;
      }
      const bytes = await chosen.arrayBuffer();
      try {
        const preview = await upload('POST', '/leave/import?dryRun=true', bytes, 'text/csv');
        checked = bytes;
        commit.hidden = preview.created === 0;
        replace(
          result,
          notice(preview.created === 0 ? 'info' : 'ok', [
            h('strong', { text: t('leave.previewTitle', { name: chosen.name }) }),
            ' ',
            h('span', { dataset: { test: 'import-preview' }, text: t('leave.preview', { rows: preview.rows, created: preview.created, unchanged: preview.unchanged }) }),
          ]),
        );
      } catch (error) {
        replace(result, importErrors(error));
      }
    }),
  );

  commit.addEventListener('click', () =>
    void busy(commit, async () => {
      if (!checked) return;
      try {
        const done = await upload('POST', '/leave/import', checked, 'text/csv');
        checked = null;
        commit.hidden = true;
        file.value = '';
        replace(result, notice('ok', h('span', { dataset: { test: 'import-done' }, text: t('leave.imported', { rows: done.rows, created: done.created, unchanged: done.unchanged }) })));
        toast(t('leave.importedToast', { created: done.created }));
        await refresh();
      } catch (error) {
        commit.hidden = true;
        replace(result, importErrors(error));
      }
    }),
  );

  replace(
    box,
    h(
      'div',
      { class: 'form' },
      h('p', { class: 'hint', text: t('leave.importHint') }),
      h('p', { class: 'hint' }, t('leave.columns'), ' ', h('code', { text: LEAVE_CSV_HEADER })),
      h('div', { class: 'form-actions' }, h('a', { class: 'btn btn-link', href: '/assets/leave-template.csv', download: 'leave-template.csv', dataset: { test: 'leave-template' }, text: t('leave.template') })),
      field(t('leave.file'), file),
      h('div', { class: 'form-actions' }, check, commit),
      result,
    ),
  );
}

/**
 * What is wrong with a file: every row error (row, column, message in the current language), or
 * the one message about the whole file.
 * @param {unknown} error
 */
function importErrors(error) {
  if (!(error instanceof ApiError)) return notice('error', errorText(error));
  const body = error.body ?? {};
  const zh = language() === 'zh-HK';
  const headline = zh && typeof body.errorZh === 'string' ? body.errorZh : errorText(error);
  const errors = Array.isArray(body.errors) ? body.errors : [];
  if (errors.length === 0) return notice('error', h('span', { dataset: { test: 'import-error' }, text: headline }));
  return h(
    'div',
    { class: 'stack' },
    notice('error', h('span', { dataset: { test: 'import-error' }, text: t('leave.rowErrors', { n: errors.length }) })),
    table(
      [t('leave.row'), t('leave.column'), t('leave.problem')],
      errors.map((/** @type {any} */ item) =>
        h('tr', { dataset: { row: String(item.row), column: item.column } }, h('td', { text: String(item.row) }), h('td', {}, h('code', { text: item.column })), h('td', { text: zh ? item.messageZh : item.message })),
      ),
      { test: 'import-errors' },
    ),
  );
}
