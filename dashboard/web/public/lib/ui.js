// @ts-check
import { ApiError } from './api.js';
import { append, h, replace, uid } from './dom.js';
import { LANGUAGES, language, switchLanguage, t } from './i18n.js';

/** @typedef {import('./dom.js').Child} Child */

/**
 * A labelled form control with room for a hint and for the server's field error. `name` is the
 * API field (`policy.gpsToleranceMetres`) that the server's issues name: {@link showErrors} puts
 * each issue under its field.
 * @param {string} label already translated
 * @param {HTMLElement} control
 * @param {{name?: string, hint?: string, wide?: boolean}} [options]
 */
export function field(label, control, options = {}) {
  const id = control.id || uid('f');
  control.id = id;
  const hint = options.hint ? h('small', { class: 'hint', id: `${id}-hint`, text: options.hint }) : null;
  if (hint) control.setAttribute('aria-describedby', `${id}-hint`);
  const isCheck = control instanceof HTMLInputElement && (control.type === 'checkbox' || control.type === 'radio');
  return h(
    'div',
    { class: `field${isCheck ? ' field-check' : ''}${options.wide ? ' field-wide' : ''}`, dataset: options.name ? { field: options.name } : {} },
    isCheck ? h('label', { for: id }, control, ' ', label) : [h('label', { for: id, text: label }), control],
    hint,
    h('div', { class: 'field-error', role: 'alert' }),
  );
}

/**
 * @param {string} name
 * @param {{type?: string, value?: string | number | null, required?: boolean, placeholder?: string, autocomplete?: string, min?: number, max?: number, step?: string, inputmode?: string, pattern?: string, readonly?: boolean, disabled?: boolean, list?: string, lang?: string, spellcheck?: string}} [options]
 */
export function input(name, options = {}) {
  const { value, ...rest } = options;
  return h('input', { name, type: 'text', ...rest, value: value === null || value === undefined ? '' : String(value) });
}

/**
 * @param {string} name
 * @param {Array<[string, string]>} choices [value, label]
 * @param {string | null | undefined} [selected]
 */
export function select(name, choices, selected) {
  return h(
    'select',
    { name },
    choices.map(([value, label]) => h('option', { value, selected: value === selected }, label)),
  );
}

/** @param {string} name @param {boolean} checked @param {string} [value] */
export function checkbox(name, checked, value) {
  return h('input', { type: 'checkbox', name, checked, value: value ?? 'on', dataset: value === undefined ? {} : { group: 'list' } });
}

/**
 * @param {string} text already translated
 * @param {{kind?: 'primary' | 'secondary' | 'danger' | 'link', type?: 'button' | 'submit', onClick?: (event: MouseEvent) => void, test?: string, disabled?: boolean}} [options]
 */
export function button(text, options = {}) {
  return h('button', {
    type: options.type ?? 'button',
    class: `btn btn-${options.kind ?? 'secondary'}`,
    disabled: options.disabled,
    dataset: options.test ? { test: options.test } : {},
    on: options.onClick ? { click: options.onClick } : {},
    text,
  });
}

/** @param {string} text @param {'ok' | 'warn' | 'bad' | 'muted' | 'info'} kind */
export function pill(text, kind) {
  return h('span', { class: `pill pill-${kind}`, text });
}

/**
 * @param {'info' | 'error' | 'ok' | 'warn'} kind
 * @param {Child | Child[]} content
 */
export function notice(kind, content) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, content);
}

/** The "this dashboard does not offer that yet" notice. @param {string} what already translated */
export function notAvailable(what) {
  return h('div', { class: 'notice notice-warn', dataset: { test: 'not-available' } }, t('common.notAvailable', { what }));
}

/**
 * A message for an error from the API (or anything else), in the current language where we know it.
 * @param {unknown} error
 */
export function errorText(error) {
  if (error instanceof ApiError) {
    if (error.code === 'FORBIDDEN') return t('error.forbidden');
    if (error.code === 'CSRF') return t('error.csrf');
    if (error.status === 429) return t('error.tooMany', { detail: error.message });
    if (error.status >= 500) return t('error.server', { detail: error.message });
    return error.message;
  }
  if (error instanceof TypeError) return t('error.network');
  return error instanceof Error ? error.message : String(error);
}

/**
 * Shows an API error on a form: each field issue under its field (by `data-field`, or the
 * nearest enclosing field path), the rest at the top.
 * @param {HTMLElement} form
 * @param {unknown} error
 */
export function showErrors(form, error) {
  clearErrors(form);
  const general = [];
  const issues = error instanceof ApiError ? error.issues : [];
  for (const issue of issues) {
    let path = issue.field;
    /** @type {Element | null} */
    let target = null;
    while (path && !target) {
      target = form.querySelector(`[data-field="${CSS.escape(path)}"] .field-error`);
      const shorter = path.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
      if (shorter === path) break;
      path = shorter;
    }
    if (target) {
      target.textContent = [target.textContent, issue.message].filter(Boolean).join('; ');
      target.closest('.field')?.classList.add('has-error');
    } else general.push(`${issue.field ? `${issue.field}: ` : ''}${issue.message}`);
  }
  if (issues.length === 0) general.push(errorText(error));
  const box = form.querySelector(':scope > .form-error');
  if (box && general.length > 0) {
    box.textContent = general.join('\n');
    box.removeAttribute('hidden');
  }
}

/** @param {HTMLElement} form */
export function clearErrors(form) {
  for (const element of Array.from(form.querySelectorAll('.field-error'))) element.textContent = '';
  for (const element of Array.from(form.querySelectorAll('.has-error'))) element.classList.remove('has-error');
  const box = form.querySelector(':scope > .form-error');
  if (box) {
    box.textContent = '';
    box.setAttribute('hidden', '');
  }
}

/** The error box a form shows its general errors in (first child of the form). */
export function formErrorBox() {
  return h('div', { class: 'form-error notice notice-error', role: 'alert', hidden: true });
}

/**
 * A table that scrolls sideways on narrow screens.
 * @param {string[]} headers already translated
 * @param {Array<Child[] | HTMLTableRowElement>} rows
 * @param {{empty?: string, test?: string}} [options]
 */
export function table(headers, rows, options = {}) {
  const body = h(
    'tbody',
    {},
    rows.map((row) => (row instanceof HTMLTableRowElement ? row : h('tr', {}, row.map((cell) => h('td', {}, cell))))),
  );
  if (rows.length === 0) body.append(h('tr', {}, h('td', { colspan: headers.length, class: 'empty', text: options.empty ?? t('common.none') })));
  return h(
    'div',
    { class: 'table-wrap', dataset: options.test ? { test: options.test } : {} },
    h('table', {}, h('thead', {}, h('tr', {}, headers.map((header) => h('th', { scope: 'col', text: header })))), body),
  );
}

/** @param {Child[]} cells @param {Record<string, string>} [dataset] */
export function row(cells, dataset = {}) {
  return h('tr', { dataset }, cells.map((cell) => h('td', {}, cell)));
}

/**
 * A modal dialog (native <dialog>). Resolves with the value of the action clicked, or null when
 * dismissed (Escape).
 * @param {{title: string, body: Child | Child[], actions?: Array<{label: string, value: string, kind?: 'primary' | 'secondary' | 'danger', test?: string}>, test?: string}} options
 * @returns {Promise<string | null>}
 */
export function openDialog(options) {
  const dialog = h('dialog', { class: 'dialog', dataset: options.test ? { test: options.test } : {}, 'aria-labelledby': 'dialog-title' });
  const actions = options.actions ?? [{ label: t('common.close'), value: 'close', kind: 'primary' }];
  return new Promise((resolve) => {
    let value = /** @type {string | null} */ (null);
    append(dialog, [
      h('h2', { id: 'dialog-title', text: options.title }),
      h('div', { class: 'dialog-body' }, options.body),
      h(
        'div',
        { class: 'dialog-actions' },
        actions.map((action) =>
          button(action.label, {
            kind: action.kind ?? 'secondary',
            test: action.test,
            onClick: () => {
              value = action.value;
              dialog.close();
            },
          }),
        ),
      ),
    ]);
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(value);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** @param {string} text already translated @param {string} [confirmLabel] */
export async function confirmDialog(text, confirmLabel = t('common.confirm')) {
  const answer = await openDialog({
    title: t('common.areYouSure'),
    body: h('p', { text }),
    actions: [
      { label: t('common.cancel'), value: 'cancel' },
      { label: confirmLabel, value: 'yes', kind: 'danger', test: 'confirm' },
    ],
  });
  return answer === 'yes';
}

/**
 * Shows a secret that the server gives only once (a device secret, an API token, a one-time
 * password), with a copy button and the warning that it cannot be shown again.
 * @param {{title: string, label: string, secret: string, extra?: Child[] | Child}} options
 */
export async function showSecretOnce(options) {
  const code = h('code', { class: 'secret', dataset: { test: 'secret' }, text: options.secret });
  const copied = h('span', { class: 'copied', 'aria-live': 'polite' });
  await openDialog({
    title: options.title,
    test: 'secret-dialog',
    body: [
      notice('warn', t('secret.onlyOnce')),
      h('p', { class: 'secret-label', text: options.label }),
      h(
        'div',
        { class: 'secret-row' },
        code,
        button(t('secret.copy'), {
          onClick: async () => {
            try {
              await navigator.clipboard.writeText(options.secret);
              copied.textContent = t('secret.copied');
            } catch {
              // No clipboard (plain http): select the text for a manual copy.
              const range = document.createRange();
              range.selectNodeContents(code);
              getSelection()?.removeAllRanges();
              getSelection()?.addRange(range);
              copied.textContent = t('secret.selectAndCopy');
            }
          },
        }),
        copied,
      ),
      ...(Array.isArray(options.extra) ? options.extra : [options.extra ?? null]),
    ],
    actions: [{ label: t('secret.done'), value: 'done', kind: 'primary', test: 'secret-done' }],
  });
}

/** @type {HTMLElement | null} */
let toasts = null;
/**
 * A short message that goes away by itself.
 * @param {string} text already translated
 * @param {'ok' | 'error' | 'info'} [kind]
 */
export function toast(text, kind = 'ok') {
  if (!toasts) {
    toasts = h('div', { class: 'toasts', 'aria-live': 'polite' });
    document.body.append(toasts);
  }
  const item = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', text });
  toasts.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

/**
 * A section with a heading and optional actions on the right.
 * @param {string} title already translated
 * @param {Child | Child[]} content
 * @param {{actions?: Child[], test?: string}} [options]
 */
export function section(title, content, options = {}) {
  return h(
    'section',
    { class: 'card', dataset: options.test ? { test: options.test } : {} },
    h('div', { class: 'card-head' }, h('h2', { text: title }), h('div', { class: 'card-actions' }, options.actions ?? [])),
    content,
  );
}

/**
 * Runs `action` with the button disabled and a busy state; reports errors on `form` (or as a toast).
 * @param {HTMLButtonElement | null} trigger
 * @param {() => Promise<void>} action
 * @param {HTMLElement} [form]
 */
export async function busy(trigger, action, form) {
  if (trigger) {
    trigger.disabled = true;
    trigger.setAttribute('aria-busy', 'true');
  }
  try {
    if (form) clearErrors(form);
    await action();
  } catch (error) {
    if (form) showErrors(form, error);
    else toast(errorText(error), 'error');
  } finally {
    if (trigger) {
      trigger.disabled = false;
      trigger.removeAttribute('aria-busy');
    }
  }
}

/** A "loading" placeholder. */
export function loading() {
  return h('p', { class: 'loading', text: t('common.loading') });
}

/**
 * Fills `container` with what `load` renders, or an error (a "not available" notice for routes
 * the server does not have).
 * @param {HTMLElement} container
 * @param {() => Promise<Child | Child[]>} load
 * @param {string} [what] the feature's name, for "not available"
 */
export async function fill(container, load, what) {
  replace(container, loading());
  try {
    replace(container, await load());
  } catch (error) {
    if (error instanceof ApiError && error.missing) replace(container, notAvailable(what ?? ''));
    else replace(container, notice('error', errorText(error)));
  }
}

/** The button that switches to the other language (labelled in that language). */
export function languageSwitch() {
  const other = LANGUAGES.find((lang) => lang !== language()) ?? 'en';
  return h('button', {
    type: 'button',
    class: 'btn btn-link lang-switch',
    lang: other,
    dataset: { test: 'lang-switch' },
    title: t('lang.switchTitle'),
    text: t(`lang.name.${other}`),
    on: { click: () => switchLanguage(other) },
  });
}

