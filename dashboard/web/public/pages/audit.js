// @ts-check
/**
 * The audit log: every change, who made it, when, and what it was before and after; newest first,
 * filtered by entity, action, actor kind and days.
 */
import { get, query } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { formatInstant, t } from '../lib/i18n.js';
import { busy, button, field, formErrorBox, input, openDialog, row, section, select, showErrors } from '../lib/ui.js';
import { DEFAULT_TIME_ZONE, startOfDay } from '../lib/time.js';

/** @typedef {import('../app.js').PageContext} PageContext */

/** @param {unknown} value */
const pretty = (value) => (value === null || value === undefined ? '—' : JSON.stringify(value, null, 2));

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const filters = h(
    'form',
    { class: 'filters', role: 'search', novalidate: true },
    formErrorBox(),
    field(t('audit.entity'), input('entity', { placeholder: 'site, device, badge, user…' }), { name: 'entity' }),
    field(t('audit.entityId'), input('entityId'), { name: 'entityId' }),
    field(t('audit.action'), input('action', { placeholder: 'badge.revoke' }), { name: 'action' }),
    field(t('audit.actorKind'), select('actorKind', [['', t('common.all')], ['user', t('audit.actor.user')], ['token', t('audit.actor.token')], ['system', t('audit.actor.system')]]), { name: 'actorKind' }),
    field(t('audit.fromDay'), input('fromDay', { type: 'date' }), { name: 'from' }),
    h('div', { class: 'filter-actions' }, button(t('common.search'), { kind: 'primary', type: 'submit' })),
  );
  const tbody = h('tbody');
  const more = button(t('common.loadMore'), { onClick: () => void next() });
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: t('nav.audit') })),
    section(t('audit.title'), [
      filters,
      h(
        'div',
        { class: 'table-wrap', dataset: { test: 'audit-table' } },
        h('table', {}, h('thead', {}, h('tr', {}, [t('audit.at'), t('audit.who'), t('audit.action'), t('audit.what'), ''].map((text) => h('th', { scope: 'col', text })))), tbody),
      ),
      more,
    ]),
  );

  /** @type {string | null} */
  let cursor = null;
  const next = async () => {
    const values = /** @type {Record<string, string>} */ (formValues(filters));
    const from = values.fromDay ? startOfDay(values.fromDay, DEFAULT_TIME_ZONE).toISOString() : undefined;
    const page = await get(`/audit${query({ entity: values.entity?.trim(), entityId: values.entityId?.trim(), action: values.action?.trim(), actorKind: values.actorKind, from, limit: 100, cursor })}`);
    for (const entry of page.entries) {
      tbody.append(
        row(
          [
            formatInstant(entry.at),
            `${entry.actor.name} (${t(`audit.actor.${entry.actor.kind}`)})`,
            h('code', { text: entry.action }),
            `${entry.entity} ${entry.entityId}`,
            button(t('audit.details'), {
              kind: 'link',
              onClick: () =>
                void openDialog({
                  title: `${entry.action} · ${entry.entity} ${entry.entityId}`,
                  body: h(
                    'div',
                    { class: 'diff' },
                    h('div', {}, h('h3', { text: t('audit.before') }), h('pre', { text: pretty(entry.before) })),
                    h('div', {}, h('h3', { text: t('audit.after') }), h('pre', { text: pretty(entry.after) })),
                  ),
                }),
            }),
          ],
          { action: entry.action },
        ),
      );
    }
    if (tbody.children.length === 0) tbody.append(h('tr', {}, h('td', { colspan: 5, class: 'empty', text: t('audit.empty') })));
    cursor = page.nextCursor;
    more.hidden = cursor === null;
  };
  const search = async () => {
    cursor = null;
    tbody.replaceChildren();
    await next();
  };
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(/** @type {HTMLButtonElement} */ (filters.querySelector('button[type=submit]')), search, filters);
  });
  try {
    await search();
  } catch (error) {
    showErrors(filters, error);
  }
}
