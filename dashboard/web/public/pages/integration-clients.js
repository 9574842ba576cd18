// @ts-check
/**
 * Integration clients on the tokens page: OAuth 2.0 client credentials for an HRIS and the like
 * (docs/integrations.md). Made with a name, scopes and optionally sites; the client ID, the secret
 * (shown once) and the token URL in a dialog with a curl example; listed without secrets;
 * changed in a dialog (name, scopes, sites, token lifetime: the same form, sent as a PATCH of what
 * changed); revoked (its tokens stop at once); its secret rotated (the new one shown once).
 */
import { api, enc, get, query } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { formatInstant, siteName, t } from '../lib/i18n.js';
import { busy, button, checkbox, confirmDialog, field, fill, formErrorBox, input, notice, openDialog, section, showSecretOnce, table, toast, pill } from '../lib/ui.js';

/**
 * The scopes a client may be given: `integrationScopes` in dashboard/auth/permissions.ts (the
 * server refuses any other; the e2e test checks the two lists agree).
 */
export const INTEGRATION_SCOPES = ['hris:sync', 'employees:read', 'employees:write', 'punches:read', 'attendance:read', 'sites:read', 'leave:write', 'metrics:read'];

const TOKEN_PATH = '/api/v1/oauth/token';

/** @typedef {{id: string, name: string, nameZh?: string | null}} Site */
/** @typedef {{name: string, scopes: string[], sites: string[] | 'all', tokenLifetimeSeconds: number}} ClientSettings */

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
 * The form a client is made or changed with: name, token lifetime, scopes and sites (none ticked:
 * every site), each with room for the server's error. Pre-filled from `settings` when given.
 * @param {Site[]} sites
 * @param {{test: string, submit: string, submitTest: string, onCancel: () => void, settings?: ClientSettings, note?: HTMLElement}} options
 * @returns {HTMLFormElement}
 */
function clientForm(sites, options) {
  const settings = options.settings ?? { name: '', scopes: [], sites: 'all', tokenLifetimeSeconds: 3600 };
  const name = input('name', { required: true, autocomplete: 'off', placeholder: t('clients.namePlaceholder'), value: settings.name });
  name.dataset.test = 'client-name';
  // No min/max here: the server says what is wrong, at the field, in the same words as the API.
  const lifetime = input('tokenLifetimeSeconds', { type: 'number', value: settings.tokenLifetimeSeconds, step: '1', inputmode: 'numeric' });
  lifetime.dataset.test = 'client-lifetime';
  /**
   * A box in a list: no error line of its own, so that the server's issue for the whole list
   * (`scopes`, `sites`) lands on the fieldset's.
   * @param {string} name @param {string} value @param {string} label @param {boolean} checked
   */
  const checkItem = (name, value, label, checked) => {
    const box = checkbox(name, checked, value);
    box.dataset.test = `client-${name === 'scopes' ? 'scope' : 'site'}-${value}`;
    return h('div', { class: 'field field-check' }, h('label', {}, box, ' ', label));
  };
  /** @param {string} scope */
  const scopeBox = (scope) => checkItem('scopes', scope, `${scope} — ${t(`clients.scope.${scope}`)}`, settings.scopes.includes(scope));
  /** @param {Site} site */
  const siteBox = (site) => checkItem('sites', site.id, `${siteName(site)} (${site.id})`, settings.sites !== 'all' && settings.sites.includes(site.id));
  const form = h(
    'form',
    { class: 'form', dataset: { test: options.test }, novalidate: true },
    formErrorBox(),
    options.note,
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
    h('div', { class: 'form-actions' }, button(options.submit, { kind: 'primary', type: 'submit', test: options.submitTest }), button(t('common.cancel'), { onClick: options.onCancel })),
  );
  // The property (h() sets a lowercase `novalidate` property, which is not it): no browser bubbles.
  form.noValidate = true;
  return form;
}

/**
 * What {@link clientForm} holds: the name trimmed, the ticked scopes and sites, the token lifetime
 * as typed (a number when it is one, '' when empty): the server says what is wrong with it, at the field.
 * @param {HTMLFormElement} form
 */
function clientValues(form) {
  const values = formValues(form);
  const seconds = String(values.tokenLifetimeSeconds ?? '').trim();
  return {
    name: String(values.name ?? '').trim(),
    scopes: /** @type {string[]} */ (values.scopes ?? []),
    sites: /** @type {string[]} */ (values.sites ?? []),
    /** @type {number | string} */
    tokenLifetimeSeconds: seconds === '' || !Number.isFinite(Number(seconds)) ? seconds : Number(seconds),
  };
}

/**
 * The PATCH body that takes a client from what it has to what the form holds: only the fields
 * that differ (scopes and sites compared as sets; no site ticked is "all").
 * @param {ClientSettings} client
 * @param {ReturnType<typeof clientValues>} chosen
 * @returns {Record<string, unknown>}
 */
function changes(client, chosen) {
  /** @param {string[]} a @param {string[]} b */
  const sameSet = (a, b) => a.length === b.length && a.every((item) => b.includes(item));
  const sites = chosen.sites.length === 0 ? 'all' : chosen.sites;
  const sameSites = sites === 'all' || client.sites === 'all' ? sites === client.sites : sameSet(sites, client.sites);
  return {
    ...(chosen.name === client.name ? {} : { name: chosen.name }),
    ...(sameSet(chosen.scopes, client.scopes) ? {} : { scopes: chosen.scopes }),
    ...(sameSites ? {} : { sites }),
    ...(chosen.tokenLifetimeSeconds === client.tokenLifetimeSeconds ? {} : { tokenLifetimeSeconds: chosen.tokenLifetimeSeconds }),
  };
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
    const form = clientForm(sites, { test: 'client-form', submit: t('clients.create'), submitTest: 'create-client', onCancel: () => replace(createBox) });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(
        /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
        async () => {
          const chosen = clientValues(form);
          const made = await api('POST', '/integration-clients', {
            name: chosen.name,
            scopes: chosen.scopes,
            ...(chosen.sites.length > 0 ? { sites: chosen.sites } : {}),
            ...(chosen.tokenLifetimeSeconds === '' ? {} : { tokenLifetimeSeconds: chosen.tokenLifetimeSeconds }),
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
    /** @type {HTMLInputElement} */ (form.querySelector('[data-test="client-name"]')).focus();
  };

  /**
   * Changes a client in a dialog: the create form, filled in with what it has; sends only what
   * changed (nothing: the dialog just closes); the server's errors at their fields, the dialog
   * staying open; the row then shows the answer.
   * @param {any} client
   * @param {HTMLTableRowElement} tr its row
   */
  const editDialog = (client, tr) => {
    const known = new Set(sites.map((site) => site.id));
    // A site of the client's that is no longer listed stays ticked, so saving keeps it.
    const gone = client.sites === 'all' ? [] : client.sites.filter((/** @type {string} */ id) => !known.has(id)).map((/** @type {string} */ id) => ({ id, name: id }));
    const note = notice('info', t('clients.editNote'));
    note.dataset.test = 'edit-client-note';
    const close = () => form.closest('dialog')?.close();
    const form = clientForm([...sites, ...gone], { test: 'edit-client-form', submit: t('common.save'), submitTest: 'save-client', onCancel: close, settings: client, note });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(
        /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
        async () => {
          const change = changes(client, clientValues(form));
          if (Object.keys(change).length === 0) return close();
          const changed = (await api('PATCH', `/integration-clients/${enc(client.id)}`, change)).client;
          close();
          const next = clientRow(changed);
          tr.replaceWith(next);
          /** @type {HTMLButtonElement | null} */ (next.querySelector('[data-test="edit-client"]'))?.focus();
          toast(t('clients.saved', { name: changed.name }));
        },
        form,
      );
    });
    void openDialog({ title: t('clients.editTitle', { name: client.name }), test: 'edit-client-dialog', body: form, actions: [] });
  };

  /**
   * A client's row: name, client ID, scopes, sites, made, last used, and what can be done with it.
   * @param {any} client
   * @returns {HTMLTableRowElement}
   */
  const clientRow = (client) => {
    const tr = h(
      'tr',
      { dataset: { client: client.name, id: client.id } },
      [
        client.name,
        h('code', { text: client.clientId }),
        h('span', { dataset: { test: 'client-scopes' }, text: client.scopes.join(' ') }),
        h('span', { dataset: { test: 'client-sites' }, text: client.sites === 'all' ? t('common.all') : client.sites.map((/** @type {string} */ id) => siteName(sites.find((site) => site.id === id), id)).join(', ') }),
        `${formatInstant(client.createdAt)}${client.createdBy ? ` · ${client.createdBy}` : ''}`,
        client.lastUsedAt ? formatInstant(client.lastUsedAt) : t('common.never'),
        client.revokedAt
          ? pill(t('tokens.revokedAt', { at: formatInstant(client.revokedAt) }), 'muted')
          : h('div', { class: 'row-actions' }, [
              button(t('common.edit'), { test: 'edit-client', onClick: () => editDialog(client, tr) }),
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
        clients.map(clientRow),
        { empty: t('clients.empty'), test: 'clients-table' },
      );
    });
  await render();
}
