// @ts-check
/**
 * The employee import view of the Employees page (`/employees?import=1`, employees:write): the
 * templates, the mode (add/update, or the full list that deactivates everyone left out), a file
 * checked first (a preview: counts, every changing row with its field-level diff, every error on
 * its row), then committed exactly as checked; the one-time passwords of console accounts the
 * import made, shown this once. And the department codes an import is checked against.
 */
import { ApiError, api, enc, get, upload } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { language, t } from '../lib/i18n.js';
import { busy, button, confirmDialog, errorText, field, fill, formErrorBox, input, notice, pill, section, table, toast } from '../lib/ui.js';

/**
 * The whole view: the import, then the departments it checks against. After a commit the
 * employee list (the caller's) and the departments' employee counts are drawn again.
 * @param {HTMLElement} box
 * @param {() => Promise<void>} refreshEmployees
 */
export async function mountImportView(box, refreshEmployees) {
  const importBox = h('div');
  const departmentsBox = h('div');
  replace(
    box,
    h(
      'div',
      { class: 'detail', dataset: { test: 'employee-import-view' } },
      section(t('import.title'), importBox, { test: 'employee-import', actions: [h('a', { class: 'btn btn-link', href: '/employees', text: t('common.close') })] }),
      section(t('departments.title'), departmentsBox, { test: 'departments' }),
    ),
  );
  /** @type {(() => Promise<void>) | null} */
  let refreshDepartments = null;
  mountEmployeeImport(importBox, {
    onImported: async () => {
      await Promise.all([refreshEmployees(), refreshDepartments?.()]);
    },
  });
  refreshDepartments = (await mountDepartments(departmentsBox)).refresh;
}

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
/** What the file chooser offers: the template's CSV, Excel's "Unicode text" (.txt, UTF-16, tabs), and workbooks. */
const ACCEPTED_FILES = `.csv,.txt,.tsv,.xlsx,text/csv,text/plain,text/tab-separated-values,${XLSX_TYPE}`;
/**
 * The most rows the preview table draws: a 10,000-row file would make the page unusable. Rows with
 * errors are drawn first, since they are what must be fixed; the counts always cover the whole file.
 */
const MAX_PREVIEW_ROWS = 1000;
/** The row number the server gives errors about the header itself. */
const HEADER_ROW = 1;

/**
 * @typedef {{row: number, column: string, message: string, messageZh: string}} RowError
 * @typedef {string | string[] | boolean | null} FieldValue
 * @typedef {{field: string, before: FieldValue, after: FieldValue}} FieldChange
 * @typedef {{employeeNumber: string, row: number | null, outcome: 'create' | 'update' | 'deactivate' | 'unchanged', changes: FieldChange[]}} PlannedEmployee
 * @typedef {{create: number, update: number, deactivate: number, unchanged: number}} Counts
 * @typedef {{encoding: string, delimiter: string, columns: string[], rows: number}} FileSummary
 * @typedef {{file: FileSummary, counts: Counts, employees: PlannedEmployee[], errors: RowError[]}} Preview
 * @typedef {{employeeNumber: string, username: string, oneTimePassword: string}} CreatedAccount
 * @typedef {{file: FileSummary, counts: Counts, employees: PlannedEmployee[], accounts: CreatedAccount[]}} Committed
 * @typedef {'upsert' | 'full'} ImportMode
 */

/** The label of a field the preview names (the server's field names, as the employee form labels them). @param {string} name */
function fieldLabel(name) {
  /** @type {Record<string, () => string>} */
  const labels = {
    name: () => t('employees.nameEn'),
    nameZh: () => t('employees.nameZh'),
    department: () => t('employees.department'),
    rank: () => t('employees.rank'),
    phone: () => t('employees.phone'),
    email: () => t('employees.email'),
    sites: () => t('employees.sites'),
    activeFrom: () => t('employees.activeFrom'),
    activeUntil: () => t('employees.activeUntil'),
    status: () => t('employees.status'),
    badges: () => t('employees.badges'),
    bleConsent: () => t('employees.consent'),
    role: () => t('import.field.role'),
  };
  return labels[name]?.() ?? name;
}

/** A field's value as the preview shows it. @param {string} name @param {FieldValue} value */
function valueText(name, value) {
  if (value === null || value === '') return '—';
  if (Array.isArray(value)) return value.length > 0 ? value.join(', ') : '—';
  if (typeof value === 'boolean') return value ? t('import.yes') : t('import.no');
  if (name === 'status' && value === 'active') return t('employee.status.active');
  if (name === 'status' && value === 'inactive') return t('employee.status.inactive');
  return value;
}

/** @param {PlannedEmployee['outcome'] | 'error'} outcome */
function outcomePill(outcome) {
  switch (outcome) {
    case 'create':
      return pill(`+ ${t('import.outcome.create')}`, 'ok');
    case 'update':
      return pill(`✎ ${t('import.outcome.update')}`, 'info');
    case 'deactivate':
      return pill(`⚠ ${t('import.outcome.deactivate')}`, 'warn');
    case 'unchanged':
      return pill(t('import.outcome.unchanged'), 'muted');
    default:
      return pill(`✕ ${t('import.outcome.error')}`, 'bad');
  }
}

/** An error's message in the language the console is shown in. @param {RowError} error */
const messageOf = (error) => (language() === 'zh-HK' && error.messageZh ? error.messageZh : error.message);

/** The message about a whole file the server could not read (or refused), in the current language. @param {unknown} error */
function fileErrorText(error) {
  if (error instanceof ApiError && language() === 'zh-HK' && typeof error.body?.errorZh === 'string') return error.body.errorZh;
  return errorText(error);
}

/**
 * The diff of one planned employee: created rows list their values, the others each field's
 * value before and after.
 * @param {PlannedEmployee} employee
 */
function changeList(employee) {
  return h(
    'ul',
    { class: 'change-list' },
    employee.changes.map((change) =>
      h(
        'li',
        { dataset: { field: change.field } },
        h('span', { class: 'change-field', text: `${fieldLabel(change.field)}: ` }),
        employee.outcome === 'create'
          ? h('span', { class: 'change-after', text: valueText(change.field, change.after) })
          : [
              h('del', { class: 'change-before', text: valueText(change.field, change.before) }),
              h('span', { class: 'change-arrow', 'aria-label': t('import.changedTo'), text: ' → ' }),
              h('ins', { class: 'change-after', text: valueText(change.field, change.after) }),
            ],
      ),
    ),
  );
}

/**
 * The table of what a file does, row by row in file order: each changing row with its diff, each
 * row with errors with every error on it (column and message), and the deactivations (people not
 * in the file) after them. Unchanged rows are only counted.
 * @param {PlannedEmployee[]} employees
 * @param {RowError[]} errors
 */
function rowsTable(employees, errors) {
  /** @type {Map<number, RowError[]>} */
  const errorsByRow = new Map();
  for (const error of errors) errorsByRow.set(error.row, [...(errorsByRow.get(error.row) ?? []), error]);
  const errorRows = [...errorsByRow.keys()].sort((a, b) => a - b);
  const changing = employees.filter((employee) => employee.outcome !== 'unchanged');
  const total = errorRows.length + changing.length;
  const shownErrorRows = errorRows.slice(0, MAX_PREVIEW_ROWS);
  const shownChanges = changing.slice(0, Math.max(0, MAX_PREVIEW_ROWS - shownErrorRows.length));

  /** @type {Array<{order: number, element: HTMLTableRowElement}>} */
  const lines = [];
  for (const rowNumber of shownErrorRows) {
    const rowErrors = errorsByRow.get(rowNumber) ?? [];
    lines.push({
      order: rowNumber,
      element: h(
        'tr',
        { class: 'import-row outcome-error', dataset: { row: String(rowNumber), outcome: 'error' } },
        h('th', { scope: 'row', text: rowNumber === HEADER_ROW ? t('import.headerRow') : String(rowNumber) }),
        h('td', { text: '—' }),
        h('td', {}, outcomePill('error')),
        h(
          'td',
          { class: 'changes' },
          h(
            'ul',
            { class: 'error-list' },
            rowErrors.map((error) => h('li', { dataset: { column: error.column } }, h('code', { text: error.column }), ' ', h('span', { class: 'error-message', text: messageOf(error) }))),
          ),
        ),
      ),
    });
  }
  for (const employee of shownChanges) {
    lines.push({
      // People not in the file (deactivations) have no row: they come after every row of the file.
      order: employee.row ?? Number.MAX_SAFE_INTEGER,
      element: h(
        'tr',
        { class: `import-row outcome-${employee.outcome}`, dataset: { row: employee.row === null ? '' : String(employee.row), outcome: employee.outcome, employee: employee.employeeNumber } },
        h('th', { scope: 'row', text: employee.row === null ? t('import.notInFile') : String(employee.row) }),
        h('td', {}, h('strong', { text: employee.employeeNumber })),
        h('td', {}, outcomePill(employee.outcome)),
        h('td', { class: 'changes' }, changeList(employee)),
      ),
    });
  }
  lines.sort((a, b) => a.order - b.order);
  return [
    total > lines.length ? h('p', { class: 'hint', dataset: { test: 'import-rows-truncated' }, text: t('import.rowsTruncated', { shown: lines.length, total }) }) : null,
    table(
      [t('import.row'), t('employees.number'), t('import.outcome'), t('import.changesOrErrors')],
      lines.map((line) => line.element),
      { test: 'import-rows', empty: t('import.nothingChanges') },
    ),
  ];
}

/** The four counts of a preview or an import. @param {Counts} counts */
function countTiles(counts) {
  /** @type {Array<[keyof Counts, string, string]>} */
  const tiles = [
    ['create', t('import.count.create'), 'tile-ok'],
    ['update', t('import.count.update'), ''],
    ['deactivate', t('import.count.deactivate'), counts.deactivate > 0 ? 'tile-warn' : ''],
    ['unchanged', t('import.count.unchanged'), ''],
  ];
  return h(
    'div',
    { class: 'tiles import-counts', dataset: { test: 'import-counts' } },
    tiles.map(([key, label, kind]) =>
      h('div', { class: `tile ${kind}`, dataset: { count: key } }, h('div', { class: 'tile-value', text: String(counts[key]) }), h('div', { class: 'tile-label', text: label })),
    ),
  );
}

/**
 * The accounts the import made for the role column, with their one-time passwords: the server
 * gives them in this answer only, so they are shown here once, with what to do with them.
 * @param {CreatedAccount[]} accounts
 */
function accountsBox(accounts) {
  const lines = accounts.map((account) => `${account.employeeNumber}\t${account.username}\t${account.oneTimePassword}`).join('\n');
  const copied = h('span', { class: 'copied', 'aria-live': 'polite' });
  const passwords = table(
    [t('employees.number'), t('import.username'), t('import.oneTimePassword')],
    accounts.map((account) =>
      h(
        'tr',
        { dataset: { employee: account.employeeNumber } },
        h('td', { text: account.employeeNumber }),
        h('td', {}, h('code', { dataset: { test: 'account-username' }, text: account.username })),
        h('td', {}, h('code', { class: 'secret', dataset: { test: 'one-time-password' }, text: account.oneTimePassword })),
      ),
    ),
    { test: 'import-accounts' },
  );
  const copy = button(t('import.copyPasswords'), {
    test: 'copy-passwords',
    onClick: async () => {
      try {
        await navigator.clipboard.writeText(lines);
        copied.textContent = t('secret.copied');
      } catch {
        // No clipboard (plain http): select the table for a manual copy.
        const range = document.createRange();
        range.selectNodeContents(passwords);
        getSelection()?.removeAllRanges();
        getSelection()?.addRange(range);
        copied.textContent = t('secret.selectAndCopy');
      }
    },
  });
  return h(
    'div',
    { class: 'stack', dataset: { test: 'import-accounts-box' } },
    h('h3', { text: t('import.accountsTitle', { n: accounts.length }) }),
    notice('warn', [h('strong', { text: t('import.accountsOnce') }), ' ', t('import.accountsHandOver')]),
    passwords,
    h('div', { class: 'form-actions' }, copy, copied),
  );
}

/**
 * The import form: templates, mode, file; check → preview → commit.
 * @param {HTMLElement} box
 * @param {{onImported: () => Promise<void>}} options called after a commit (the employee list and the departments' counts change)
 */
export function mountEmployeeImport(box, options) {
  const file = h('input', { type: 'file', name: 'file', accept: ACCEPTED_FILES, dataset: { test: 'import-file' } });
  const modeUpsert = h('input', { type: 'radio', name: 'mode', value: 'upsert', checked: true, dataset: { test: 'mode-upsert' } });
  const modeFull = h('input', { type: 'radio', name: 'mode', value: 'full', dataset: { test: 'mode-full' } });
  const fullWarning = h('div', { 'aria-live': 'polite' });
  const result = h('div', { class: 'import-result', dataset: { test: 'import-result' }, 'aria-live': 'polite' });
  const check = button(t('import.check'), { kind: 'primary', test: 'check-employee-import' });
  const commit = button(t('import.commit'), { kind: 'primary', test: 'commit-employee-import', disabled: true });
  const commitHint = h('small', { class: 'hint', id: 'commit-employee-import-hint', text: t('import.commitHint') });
  commit.setAttribute('aria-describedby', commitHint.id);

  /**
   * What was checked: the bytes (a commit sends exactly these, never the file as it is on disk
   * by then), the name, the mode, and the counts the person saw. Null when nothing clean was checked.
   * @type {{bytes: ArrayBuffer, name: string, contentType: string, mode: ImportMode, counts: Counts} | null}
   */
  let checked = null;
  const setChecked = (/** @type {typeof checked} */ value) => {
    checked = value;
    commit.disabled = checked === null;
  };
  /** @returns {ImportMode} */
  const mode = () => (modeFull.checked ? 'full' : 'upsert');
  const importUrl = (/** @type {string} */ path, /** @type {ImportMode} */ chosenMode, /** @type {string} */ name) =>
    `${path}?mode=${chosenMode}&filename=${enc(name.slice(0, 200) || 'file')}`;

  const showMode = () => {
    replace(fullWarning, mode() === 'full' ? notice('warn', h('span', { dataset: { test: 'full-mode-warning' }, text: t('import.fullWarning') })) : null);
  };
  /** Counts the checks and the changes of file or mode, so that a preview answered after either is dropped. */
  let generation = 0;
  // A preview answers for one file in one mode: anything else needs a new check.
  const invalidate = () => {
    generation += 1;
    setChecked(null);
    replace(result);
  };
  for (const control of [modeUpsert, modeFull]) {
    control.addEventListener('change', () => {
      showMode();
      invalidate();
    });
  }
  file.addEventListener('change', invalidate);

  check.addEventListener('click', () =>
    void busy(check, async () => {
      setChecked(null);
      const chosen = file.files?.[0];
      if (!chosen) {
        replace(result, notice('warn', t('import.chooseFile')));
        return;
      }
      if (chosen.size === 0) {
        // The server would answer 415 "send the file as the request body", which means nothing to a person here.
        replace(result, notice('error', h('span', { dataset: { test: 'import-error' }, text: t('import.emptyFile', { name: chosen.name }) })));
        return;
      }
      const chosenMode = mode();
      const thisCheck = ++generation;
      const bytes = await chosen.arrayBuffer();
      const contentType = /\.xlsx$/i.test(chosen.name) ? XLSX_TYPE : 'text/csv';
      replace(result, h('p', { class: 'loading', text: t('import.checking', { name: chosen.name }) }));
      try {
        /** @type {Preview} */
        const preview = await upload('POST', importUrl('/employee-imports/preview', chosenMode, chosen.name), bytes, contentType);
        if (thisCheck !== generation) return;
        const changes = preview.counts.create + preview.counts.update + preview.counts.deactivate;
        const clean = preview.errors.length === 0;
        if (clean && changes > 0) setChecked({ bytes, name: chosen.name, contentType, mode: chosenMode, counts: preview.counts });
        const errorRowCount = new Set(preview.errors.map((error) => error.row)).size;
        replace(
          result,
          h('p', { class: 'hint', dataset: { test: 'import-file-summary' }, text: t('import.fileSummary', { name: chosen.name, rows: preview.file.rows, encoding: preview.file.encoding }) }),
          countTiles(preview.counts),
          !clean
            ? notice('error', h('span', { dataset: { test: 'import-verdict' }, text: t('import.hasErrors', { n: preview.errors.length, rows: errorRowCount }) }))
            : changes === 0
              ? notice('info', h('span', { dataset: { test: 'import-verdict' }, text: t('import.nothingToDo') }))
              : notice('ok', h('span', { dataset: { test: 'import-verdict' }, text: t('import.ready', { changes }) })),
          clean && preview.counts.deactivate > 0 ? notice('warn', h('span', { dataset: { test: 'deactivate-warning' }, text: t('import.willDeactivate', { n: preview.counts.deactivate }) })) : null,
          rowsTable(preview.employees, preview.errors),
        );
      } catch (error) {
        if (thisCheck === generation) replace(result, notice('error', h('span', { dataset: { test: 'import-error' }, text: fileErrorText(error) })));
      }
    }),
  );

  commit.addEventListener('click', () =>
    void busy(commit, async () => {
      const sending = checked;
      if (!sending) return;
      if (sending.mode === 'full' && sending.counts.deactivate > 0 && !(await confirmDialog(t('import.confirmFull', { n: sending.counts.deactivate }), t('import.commit')))) return;
      // Whatever the answer, these bytes were sent: another import needs another check.
      checked = null;
      /** @type {Committed} */
      let done;
      try {
        done = await upload('POST', importUrl('/employee-imports', sending.mode, sending.name), sending.bytes, sending.contentType);
      } catch (error) {
        // Refused as a whole (422): the database changed since the check; every error on its row again.
        const errors = error instanceof ApiError && Array.isArray(error.body?.errors) ? /** @type {RowError[]} */ (error.body.errors) : [];
        replace(result, notice('error', h('span', { dataset: { test: 'import-error' }, text: fileErrorText(error) })), errors.length > 0 ? rowsTable([], errors) : null);
        return;
      }
      file.value = '';
      replace(
        result,
        notice('ok', h('span', { dataset: { test: 'import-done' }, text: t('import.done', { name: sending.name, ...done.counts }) })),
        done.accounts.length > 0 ? accountsBox(done.accounts) : null,
      );
      toast(t('import.doneToast', { create: done.counts.create, update: done.counts.update }));
      await options.onImported();
    }).then(() => {
      // busy() enables its button again when done; a commit is allowed only after a new clean check.
      commit.disabled = checked === null;
    }),
  );

  showMode();
  replace(
    box,
    h(
      'div',
      { class: 'form' },
      h('p', { class: 'hint', text: t('import.intro') }),
      h(
        'div',
        { class: 'downloads' },
        h('span', { class: 'downloads-label', text: t('import.templates') }),
        h('a', { class: 'btn btn-secondary', href: '/api/v1/employee-imports/template.csv', download: 'punchgate-employees.csv', dataset: { test: 'template-csv' }, text: t('import.templateCsv') }),
        h('a', { class: 'btn btn-secondary', href: '/api/v1/employee-imports/template.xlsx', download: 'punchgate-employees.xlsx', dataset: { test: 'template-xlsx' }, text: t('import.templateXlsx') }),
      ),
      h('p', { class: 'hint', text: t('import.fileHint') }),
      h(
        'fieldset',
        { class: 'import-mode' },
        h('legend', { text: t('import.mode') }),
        field(t('import.modeUpsert'), modeUpsert),
        field(t('import.modeFull'), modeFull),
        fullWarning,
      ),
      field(t('import.file'), file),
      h('div', { class: 'form-actions' }, check, commit, commitHint),
      result,
    ),
  );
}

/**
 * The department codes: listed with how many employees each has; added, renamed, deleted.
 * @param {HTMLElement} box
 */
export async function mountDepartments(box) {
  const listBox = h('div');
  const code = input('code', { required: true, autocomplete: 'off', placeholder: 'OPS', spellcheck: 'false' });
  code.dataset.test = 'department-code';
  const name = input('name', { required: true });
  name.dataset.test = 'department-name';
  const nameZh = input('nameZh', { lang: 'zh-HK' });
  nameZh.dataset.test = 'department-name-zh';
  const cancelRename = button(t('common.cancel'), { test: 'cancel-department' });
  cancelRename.hidden = true;
  const form = h(
    'form',
    { class: 'form', dataset: { test: 'department-form' }, novalidate: true },
    formErrorBox(),
    h(
      'div',
      { class: 'grid-3' },
      field(t('departments.code'), code, { name: 'code', hint: t('departments.codeHint') }),
      field(t('departments.name'), name, { name: 'name' }),
      field(t('departments.nameZh'), nameZh, { name: 'nameZh' }),
    ),
    h('div', { class: 'form-actions' }, button(t('departments.save'), { kind: 'primary', type: 'submit', test: 'save-department' }), cancelRename),
  );
  const status = h('div', { class: 'card-notice', 'aria-live': 'polite', dataset: { test: 'departments-status' } });

  const resetForm = () => {
    form.reset();
    code.readOnly = false;
    cancelRename.hidden = true;
  };
  cancelRename.addEventListener('click', resetForm);

  /** @param {any} department */
  const rename = (department) => {
    code.value = department.code;
    code.readOnly = true;
    name.value = department.name;
    nameZh.value = department.nameZh ?? '';
    cancelRename.hidden = false;
    name.focus();
  };

  /** @param {HTMLButtonElement} trigger @param {any} department */
  const remove = async (trigger, department) => {
    if (!(await confirmDialog(t('departments.deleteConfirm', { code: department.code }), t('common.remove')))) return;
    await busy(trigger, async () => {
      replace(status);
      try {
        await api('DELETE', `/departments/${enc(department.code)}`);
      } catch (error) {
        // 409: employees still have it (perhaps given it since the list was drawn).
        if (error instanceof ApiError && error.status === 409) {
          replace(status, notice('error', h('span', { dataset: { test: 'department-error' }, text: t('departments.inUse', { code: department.code }) })));
          await render();
          return;
        }
        throw error;
      }
      toast(t('departments.deleted', { code: department.code }));
      await render();
    });
  };

  const render = () =>
    fill(listBox, async () => {
      const { departments } = await get('/departments');
      return table(
        [t('departments.code'), t('departments.name'), t('departments.nameZh'), t('departments.employees'), ''],
        departments.map((/** @type {any} */ department) =>
          h(
            'tr',
            { dataset: { department: department.code } },
            h('td', {}, h('code', { text: department.code })),
            h('td', { text: department.name }),
            h('td', { lang: 'zh-HK', text: department.nameZh ?? '—' }),
            h('td', { class: 'col-number', dataset: { key: 'employees' }, text: String(department.employees) }),
            h(
              'td',
              {},
              h(
                'div',
                { class: 'row-actions' },
                button(t('departments.rename'), { test: 'rename-department', onClick: () => rename(department) }),
                h('button', {
                  type: 'button',
                  class: 'btn btn-danger',
                  dataset: { test: 'delete-department', code: department.code },
                  text: t('common.remove'),
                  on: { click: (/** @type {MouseEvent} */ event) => void remove(/** @type {HTMLButtonElement} */ (event.currentTarget), department) },
                }),
              ),
            ),
          ),
        ),
        { test: 'departments-table', empty: t('departments.none') },
      );
    });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(
      /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
      async () => {
        replace(status);
        const values = /** @type {Record<string, string>} */ (formValues(form));
        const departmentCode = values.code?.trim() ?? '';
        if (!departmentCode) throw new ApiError(400, { error: t('departments.checkFields'), issues: [{ in: 'params', field: 'code', message: t('departments.required') }] });
        const saved = await api('PUT', `/departments/${enc(departmentCode)}`, { name: values.name?.trim() ?? '', nameZh: values.nameZh?.trim() || null });
        toast(saved.created ? t('departments.created', { code: departmentCode }) : t('departments.renamed', { code: departmentCode }));
        resetForm();
        await render();
      },
      form,
    );
  });

  replace(box, h('p', { class: 'hint', text: t('departments.intro') }), status, listBox, h('h3', { text: t('departments.addTitle') }), form);
  await render();
  return { refresh: render };
}
