// @ts-check
/**
 * Integration clients on the tokens page: OAuth 2.0 client credentials for an HRIS and the like
 * (docs/integrations.md). Made with a name, scopes and optionally sites; the client ID, the secret
 * (shown once) and the token URL in a dialog with a curl example; listed without secrets;
 * revoked (its tokens stop at once); its secret rotated (the new one shown once).
 */
import { api, enc, get, query } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { formatInstant, siteName, t } from '../lib/i18n.js';
import { busy, button, checkbox, confirmDialog, field, fill, formErrorBox, input, section, showSecretOnce, table, toast, pill } from '../lib/ui.js';

/**
 * The scopes a client may be given: `integrationScopes` in dashboard/auth/permissions.ts (the
 * server refuses any other; the e2e test checks the two lists agree).
 */
export const INTEGRATION_SCOPES = ['hris:sync', 'employees:read', 'employees:write', 'punches:read', 'attendance:read', 'sites:read', 'leave:write', 'metrics:read'];

const TOKEN_PATH = '/api/v1/oauth/token';

/** @typedef {{id: string, name: string, nameZh?: string | null}} Site */

/**
 * The secret dialog's extra lines: the client ID, the token URL and how to use them.
 * @param {string} clientId
 * @param {string} secret
 */
function usage(clientId, secret) {
  const tokenUrl = `${location.origin}${TOKEN_PATH}`;
  return [
    h('p', { class: 'secret-label', text: t('clients.idLabel') }),
    h('code', { class: 'secret', dataset: { test: 'client-id' }, text: clientId }),
    h('p', { class: 'secret-label', text: t('clients.tokenUrlLabel') }),
    h('code', { class: 'secret', dataset: { test: 'token-url' }, text: tokenUrl }),
    h('p', { class: 'hint', text: t('clients.usage') }),
    h('pre', {
      class: 'snippet',
      dataset: { test: 'client-usage' },
      text: `curl -u '${clientId}:${secret}' -d grant_type=client_credentials ${tokenUrl}\ncurl -H 'Authorization: Bearer ACCESS_TOKEN' ${location.origin}/api/v1/employees`,
    }),
  ];
}

/**
 * Fills `box` with the integration clients section.
 * @param {HTMLElement} box
 * @param {Site[]} sites
 */
export async function mountIntegrationClients(box, sites) {
  const createBox = h('div');
  const listBox = h('div');
  const showRevoked = checkbox('includeRevokedClients', false);
  showRevoked.dataset.test = 'clients-show-revoked';
  replace(
    box,
    section(
      t('clients.title'),
      [h('p', { class: 'hint', text: t('clients.intro') }), createBox, listBox],
      { test: 'integration-clients', actions: [field(t('tokens.showRevoked'), showRevoked), button(t('clients.new'), { kind: 'primary', test: 'new-client', onClick: () => createForm() })] },
    ),
  );
  showRevoked.addEventListener('change', () => void render());

  const createForm = () => {
    const name = input('name', { required: true, autocomplete: 'off', placeholder: t('clients.namePlaceholder') });
    name.dataset.test = 'client-name';
    // No min/max here: the server says what is wrong, at the field, in the same words as the API.
    const lifetime = input('tokenLifetimeSeconds', { type: 'number', value: 3600, step: '1', inputmode: 'numeric' });
    lifetime.dataset.test = 'client-lifetime';
    /**
     * A box in a list: no error line of its own, so that the server's issue for the whole list
     * (`scopes`, `sites`) lands on the fieldset's.
     * @param {string} name @param {string} value @param {string} label
     */
    const checkItem = (name, value, label) => {
      const box = checkbox(name, false, value);
      box.dataset.test = `client-${name === 'scopes' ? 'scope' : 'site'}-${value}`;
      return h('div', { class: 'field field-check' }, h('label', {}, box, ' ', label));
    };
    /** @param {string} scope */
    const scopeBox = (scope) => checkItem('scopes', scope, `${scope} — ${t(`clients.scope.${scope}`)}`);
    /** @param {Site} site */
    const siteBox = (site) => checkItem('sites', site.id, `${siteName(site)} (${site.id})`);
    const form = h(
      'form',
      { class: 'form', dataset: { test: 'client-form' }, novalidate: true },
      formErrorBox(),
      h('div', { class: 'grid-2' }, field(t('clients.name'), name, { name: 'name' }), field(t('clients.tokenLifetime'), lifetime, { name: 'tokenLifetimeSeconds', hint: t('clients.tokenLifetimeHint') })),
      h(
        'fieldset',
        { class: 'site-scope', dataset: { field: 'scopes' } },
        h('legend', { text: t('clients.scopes') }),
        h('p', { class: 'hint', text: t('clients.scopesHint') }),
        h('div', { class: 'check-list' }, INTEGRATION_SCOPES.map(scopeBox)),
        h('div', { class: 'field-error', role: 'alert' }),
      ),
      h(
        'fieldset',
        { class: 'site-scope', dataset: { field: 'sites' } },
        h('legend', { text: t('clients.sites') }),
        h('p', { class: 'hint', text: t('clients.sitesHint') }),
        h('div', { class: 'check-list' }, sites.map(siteBox)),
        h('div', { class: 'field-error', role: 'alert' }),
      ),
      h('div', { class: 'form-actions' }, button(t('clients.create'), { kind: 'primary', type: 'submit', test: 'create-client' }), button(t('common.cancel'), { onClick: () => replace(createBox) })),
    );
    // The property (h() sets a lowercase `novalidate` property, which is not it): no browser bubbles.
    form.noValidate = true;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(
        /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
        async () => {
          const values = formValues(form);
          const chosenSites = /** @type {string[]} */ (values.sites ?? []);
          const seconds = String(values.tokenLifetimeSeconds ?? '').trim();
          const made = await api('POST', '/integration-clients', {
            name: String(values.name ?? '').trim(),
            scopes: values.scopes ?? [],
            ...(chosenSites.length > 0 ? { sites: chosenSites } : {}),
            // Sent as typed (a number when it is one): the server says what is wrong with it, at the field.
            ...(seconds === '' ? {} : { tokenLifetimeSeconds: Number.isFinite(Number(seconds)) ? Number(seconds) : seconds }),
          });
          await showSecretOnce({
            title: t('clients.createdTitle', { name: made.client.name }),
            label: t('clients.secretLabel'),
            secret: made.clientSecret,
            extra: usage(made.client.clientId, made.clientSecret),
          });
          replace(createBox);
          await render();
        },
        form,
      );
    });
    replace(createBox, form);
    name.focus();
  };

  const render = () =>
    fill(listBox, async () => {
      /** @type {any[]} */
      const clients = [];
      /** @type {string | null} */
      let cursor = null;
      do {
        const page = await get(`/integration-clients${query({ limit: 500, cursor, includeRevoked: showRevoked.checked ? 'true' : undefined })}`);
        clients.push(...page.clients);
        cursor = page.nextCursor;
      } while (cursor);
      return table(
        [t('clients.name'), t('clients.clientId'), t('clients.scopes'), t('clients.sites'), t('clients.created'), t('clients.lastUsed'), ''],
        clients.map((client) => {
          const tr = h(
            'tr',
            { dataset: { client: client.name, id: client.id } },
            [
              client.name,
              h('code', { text: client.clientId }),
              h('span', { dataset: { test: 'client-scopes' }, text: client.scopes.join(' ') }),
              client.sites === 'all' ? t('common.all') : client.sites.map((/** @type {string} */ id) => siteName(sites.find((site) => site.id === id), id)).join(', '),
              `${formatInstant(client.createdAt)}${client.createdBy ? ` · ${client.createdBy}` : ''}`,
              client.lastUsedAt ? formatInstant(client.lastUsedAt) : t('common.never'),
              client.revokedAt
                ? pill(t('tokens.revokedAt', { at: formatInstant(client.revokedAt) }), 'muted')
                : h('div', { class: 'row-actions' }, [
                    button(t('clients.rotate'), {
                      test: 'rotate-client',
                      onClick: async (event) => {
                        if (!(await confirmDialog(t('clients.rotateConfirm', { name: client.name }), t('clients.rotate')))) return;
                        await busy(/** @type {HTMLButtonElement} */ (event.target), async () => {
                          const rotated = await api('POST', `/integration-clients/${enc(client.id)}/secret`, {});
                          await showSecretOnce({
                            title: t('clients.rotatedTitle', { name: client.name }),
                            label: t('clients.secretLabel'),
                            secret: rotated.clientSecret,
                            extra: usage(rotated.client.clientId, rotated.clientSecret),
                          });
                        });
                      },
                    }),
                    button(t('clients.revoke'), {
                      kind: 'danger',
                      test: 'revoke-client',
                      onClick: async (event) => {
                        if (!(await confirmDialog(t('clients.revokeConfirm', { name: client.name }), t('clients.revoke')))) return;
                        await busy(/** @type {HTMLButtonElement} */ (event.target), async () => {
                          await api('DELETE', `/integration-clients/${enc(client.id)}`);
                          toast(t('clients.revoked', { name: client.name }));
                          await render();
                        });
                      },
                    }),
                  ]),
            ].map((cell) => h('td', {}, cell)),
          );
          return tr;
        }),
        { empty: t('clients.empty'), test: 'clients-table' },
      );
    });
  await render();
}
