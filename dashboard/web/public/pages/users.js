// @ts-check
/**
 * Users and roles: who may sign in, with which role (and, for store managers, which sites); new
 * users and password resets get a one-time password, shown once, to be changed at first sign-in.
 */
import { api, enc, get, query } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { formatInstant, siteName, t } from '../lib/i18n.js';
import { busy, button, checkbox, confirmDialog, field, fill, formErrorBox, input, pill, row, section, select, showSecretOnce, table, toast } from '../lib/ui.js';
import { loadSites } from './devices.js';

/** @typedef {import('../app.js').PageContext} PageContext */

export const ROLES = ['admin', 'hr', 'facilities', 'store-manager'];
const SITE_SCOPED = ['store-manager'];

/**
 * Role choice plus, for site-scoped roles, the sites.
 * @param {any[]} sites
 * @param {string} role
 * @param {'all' | string[]} scope
 */
export function roleFields(sites, role, scope) {
  const roleSelect = select('role', ROLES.map((name) => [name, t(`role.${name}`)]), role);
  roleSelect.dataset.test = 'role';
  const siteList = h(
    'fieldset',
    { class: 'site-scope', dataset: { field: 'sites' } },
    h('legend', { text: t('users.sites') }),
    h('p', { class: 'hint', text: t('users.sitesHint') }),
    h('div', { class: 'check-list' }, sites.map((site) => field(`${siteName(site)} (${site.id})`, checkbox('sites', scope !== 'all' && scope.includes(site.id), site.id)))),
    h('div', { class: 'field-error', role: 'alert' }),
  );
  const sync = () => {
    siteList.hidden = !SITE_SCOPED.includes(roleSelect.value);
  };
  roleSelect.addEventListener('change', sync);
  sync();
  return { role: field(t('users.role'), roleSelect, { name: 'role', hint: t('users.roleHint') }), sites: siteList, roleSelect };
}

/** The `sites` to send for a role. @param {Record<string, unknown>} values */
export function scopeOf(values) {
  return SITE_SCOPED.includes(String(values.role)) ? /** @type {string[]} */ (values.sites ?? []) : 'all';
}

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const sites = await loadSites();
  const createBox = h('div');
  const listBox = h('div');
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: t('nav.users') }), button(t('users.new'), { kind: 'primary', test: 'new-user', onClick: () => createForm() })),
    createBox,
    section(t('users.all'), listBox),
    section(t('users.rolesTitle'), h('dl', { class: 'facts' }, ROLES.flatMap((role) => [h('dt', { text: t(`role.${role}`) }), h('dd', { text: t(`role.${role}.description`) })]))),
  );

  const createForm = () => {
    const username = input('username', { required: true, autocomplete: 'off' });
    username.dataset.test = 'new-username';
    const { role, sites: siteList } = roleFields(sites, 'hr', 'all');
    const form = h(
      'form',
      { class: 'form', dataset: { test: 'user-form' }, novalidate: true },
      formErrorBox(),
      h('div', { class: 'grid-2' }, field(t('users.username'), username, { name: 'username', hint: t('users.usernameHint') }), role),
      siteList,
      h('div', { class: 'form-actions' }, button(t('users.create'), { kind: 'primary', type: 'submit', test: 'create-user' }), button(t('common.cancel'), { onClick: () => replace(createBox) })),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(
        /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
        async () => {
          const values = formValues(form);
          const made = await api('POST', '/users', { username: String(values.username ?? '').trim(), role: values.role, sites: scopeOf(values) });
          await showSecretOnce({ title: t('users.createdTitle', { username: made.user.username }), label: t('users.oneTimePassword'), secret: made.oneTimePassword, extra: h('p', { class: 'hint', text: t('users.oneTimeHint') }) });
          replace(createBox);
          await render();
        },
        form,
      );
    });
    replace(createBox, section(t('users.new'), form));
    createBox.scrollIntoView({ block: 'start' });
    username.focus();
  };

  const render = () =>
    fill(listBox, async () => {
      /** @type {any[]} */
      const users = [];
      /** @type {string | null} */
      let cursor = null;
      do {
        const page = await get(`/users${query({ limit: 500, cursor })}`);
        users.push(...page.users);
        cursor = page.nextCursor;
      } while (cursor);
      return table(
        [t('users.username'), t('users.role'), t('users.sites'), t('users.state'), t('users.lastLogin'), ''],
        users.map((user) =>
          row(
            [
              user.username,
              t(`role.${user.role}`),
              user.sites === 'all' ? t('common.all') : user.sites.map((/** @type {string} */ id) => siteName(sites.find((site) => site.id === id), id)).join(', '),
              h('span', {}, user.disabled ? pill(t('users.disabled'), 'bad') : pill(t('users.active'), 'ok'), user.mustChangePassword ? pill(t('users.mustChange'), 'warn') : null),
              formatInstant(user.lastLoginAt),
              h(
                'div',
                { class: 'row-actions' },
                button(t('common.edit'), { kind: 'link', onClick: () => editForm(user) }),
                button(t('users.resetPassword'), {
                  kind: 'link',
                  onClick: async (event) => {
                    if (!(await confirmDialog(t('users.resetConfirm', { username: user.username }), t('users.resetPassword')))) return;
                    await busy(/** @type {HTMLButtonElement} */ (event.target), async () => {
                      const reset = await api('POST', `/users/${enc(user.id)}/password-reset`);
                      await showSecretOnce({ title: t('users.resetTitle', { username: user.username }), label: t('users.oneTimePassword'), secret: reset.oneTimePassword, extra: h('p', { class: 'hint', text: t('users.oneTimeHint') }) });
                      await render();
                    });
                  },
                }),
              ),
            ],
            { user: user.username },
          ),
        ),
        { test: 'users-table' },
      );
    });

  /** @param {any} user */
  const editForm = (user) => {
    const { role, sites: siteList } = roleFields(sites, user.role, user.sites);
    const form = h(
      'form',
      { class: 'form', novalidate: true },
      formErrorBox(),
      role,
      siteList,
      field(t('users.disabledLabel'), checkbox('disabled', user.disabled), { name: 'disabled', hint: t('users.disabledHint') }),
      h('div', { class: 'form-actions' }, button(t('common.save'), { kind: 'primary', type: 'submit' }), button(t('common.cancel'), { onClick: () => replace(createBox) })),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(
        /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
        async () => {
          const values = formValues(form);
          await api('PATCH', `/users/${enc(user.id)}`, { role: values.role, sites: scopeOf(values), disabled: values.disabled === true });
          toast(t('users.saved', { username: user.username }));
          replace(createBox);
          await render();
        },
        form,
      );
    });
    replace(createBox, section(t('users.editTitle', { username: user.username }), form));
    createBox.scrollIntoView({ block: 'start' });
  };

  await render();
}
