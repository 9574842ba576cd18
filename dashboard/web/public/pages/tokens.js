// @ts-check
/**
 * API tokens for integrations: made with a role (and sites), the secret shown once, listed by
 * their first characters only, revoked. Below them, integration clients (OAuth client credentials).
 */
import { api, enc, get, query } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { formatInstant, siteName, t } from '../lib/i18n.js';
import { busy, button, checkbox, confirmDialog, field, fill, formErrorBox, input, pill, row, section, showSecretOnce, table, toast } from '../lib/ui.js';
import { loadSites } from './devices.js';
import { mountIntegrationClients } from './integration-clients.js';
import { roleFields, scopeOf } from './users.js';

/** @typedef {import('../app.js').PageContext} PageContext */

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const sites = await loadSites();
  const createBox = h('div');
  const listBox = h('div');
  const clientsBox = h('div');
  const showRevoked = checkbox('includeRevoked', false);
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: t('nav.tokens') }), button(t('tokens.new'), { kind: 'primary', test: 'new-token', onClick: () => createForm() })),
    h('p', { class: 'hint', text: t('tokens.intro') }),
    createBox,
    section(t('tokens.all'), listBox, { actions: [field(t('tokens.showRevoked'), showRevoked)] }),
    // OAuth clients for an HRIS and the like: integration-clients.js.
    clientsBox,
  );
  showRevoked.addEventListener('change', () => void render());

  const createForm = () => {
    const name = input('name', { required: true, autocomplete: 'off', placeholder: t('tokens.namePlaceholder') });
    name.dataset.test = 'token-name';
    const { role, sites: siteList } = roleFields(sites, 'hr', 'all');
    const form = h(
      'form',
      { class: 'form', dataset: { test: 'token-form' }, novalidate: true },
      formErrorBox(),
      h('div', { class: 'grid-2' }, field(t('tokens.name'), name, { name: 'name' }), role),
      siteList,
      h('div', { class: 'form-actions' }, button(t('tokens.create'), { kind: 'primary', type: 'submit', test: 'create-token' }), button(t('common.cancel'), { onClick: () => replace(createBox) })),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(
        /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
        async () => {
          const values = formValues(form);
          const scope = scopeOf(values);
          const made = await api('POST', '/tokens', { name: String(values.name ?? '').trim(), role: values.role, ...(scope === 'all' ? {} : { sites: scope }) });
          await showSecretOnce({
            title: t('tokens.createdTitle', { name: made.token.name }),
            label: t('tokens.secretLabel'),
            secret: made.secret,
            extra: [h('p', { class: 'hint', text: t('tokens.usage') }), h('pre', { class: 'snippet', text: `curl -H 'Authorization: Bearer ${made.secret}' ${location.origin}/api/v1/punches` })],
          });
          replace(createBox);
          await render();
        },
        form,
      );
    });
    replace(createBox, section(t('tokens.new'), form));
    name.focus();
  };

  const render = () =>
    fill(listBox, async () => {
      /** @type {any[]} */
      const tokens = [];
      /** @type {string | null} */
      let cursor = null;
      do {
        const page = await get(`/tokens${query({ limit: 500, cursor, includeRevoked: showRevoked.checked ? 'true' : undefined })}`);
        tokens.push(...page.tokens);
        cursor = page.nextCursor;
      } while (cursor);
      return table(
        [t('tokens.name'), t('tokens.hint'), t('users.role'), t('users.sites'), t('tokens.created'), t('tokens.lastUsed'), ''],
        tokens.map((token) =>
          row(
            [
              token.name,
              h('code', { text: `${token.hint}…` }),
              t(`role.${token.role}`),
              token.sites === 'all' ? t('common.all') : token.sites.map((/** @type {string} */ id) => siteName(sites.find((site) => site.id === id), id)).join(', '),
              `${formatInstant(token.createdAt)}${token.createdBy ? ` · ${token.createdBy}` : ''}`,
              token.lastUsedAt ? formatInstant(token.lastUsedAt) : t('common.never'),
              token.revokedAt
                ? pill(t('tokens.revokedAt', { at: formatInstant(token.revokedAt) }), 'muted')
                : button(t('tokens.revoke'), {
                    kind: 'danger',
                    test: 'revoke-token',
                    onClick: async (event) => {
                      if (!(await confirmDialog(t('tokens.revokeConfirm', { name: token.name }), t('tokens.revoke')))) return;
                      await busy(/** @type {HTMLButtonElement} */ (event.target), async () => {
                        await api('DELETE', `/tokens/${enc(token.id)}`);
                        toast(t('tokens.revoked', { name: token.name }));
                        await render();
                      });
                    },
                  }),
            ],
            { token: token.name },
          ),
        ),
        { empty: t('tokens.empty'), test: 'tokens-table' },
      );
    });
  await Promise.all([render(), mountIntegrationClients(clientsBox, sites)]);
}
