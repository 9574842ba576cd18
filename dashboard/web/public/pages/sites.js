// @ts-check
/**
 * Sites: the list, and one site's editor: names and address, time zone, the location rule, the
 * geofence on the map, the site's Wi-Fi access points, hands-free punching, and its rotating
 * beacons (added and removed one at a time: a stored beacon's key never comes back, so the
 * console never has to send it again).
 */
import { ApiError, api, enc, get, query } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { geofenceEditor } from '../lib/geofence-editor.js';
import { formatInstant, siteName, t } from '../lib/i18n.js';
import { busy, button, checkbox, confirmDialog, errorText, field, fill, formErrorBox, input, notice, pill, row, section, select, table, toast } from '../lib/ui.js';

/** @typedef {import('../app.js').PageContext} PageContext */

const ENTITY_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const FACTORS = /** @type {const} */ (['gps', 'wifi', 'ble']);

/** 16 random bytes as 32 upper-case hex digits: a beacon key, made in the browser, never shown. */
function randomKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
}

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const params = new URLSearchParams(location.search);
  const selected = params.get('site');
  const creating = params.has('new');
  const canWrite = context.can('sites:write');

  const listBox = h('div');
  const editorBox = h('div', { class: 'site-editor-box' });
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: t('nav.sites') }), canWrite ? h('a', { class: 'btn btn-primary', href: '/sites?new=1', dataset: { test: 'new-site' }, text: t('sites.new') }) : null),
    editorBox,
    section(t('sites.all'), listBox),
  );

  /** @type {any[]} */
  let sites = [];
  await fill(listBox, async () => {
    sites = [];
    let cursor = null;
    do {
      const page = await get(`/sites${query({ limit: 500, cursor })}`);
      sites.push(...page.sites);
      cursor = page.nextCursor;
    } while (cursor);
    return table(
      [t('sites.id'), t('sites.name'), t('sites.timeZone'), t('sites.geofence'), t('sites.wifi'), t('sites.beacons'), t('sites.handsFree'), t('sites.updated')],
      sites.map((site) =>
        row(
          [
            h('a', { href: `/sites?site=${enc(site.id)}`, text: site.id }),
            siteName(site),
            site.timeZone,
            site.policy.geofence ? t(`fence.kind.${site.policy.geofence.kind}`) : '—',
            String((site.policy.allowedBssids ?? []).length),
            String(site.beacons.length),
            site.handsFree?.enabled ? pill(t('sites.handsFreeOn'), 'ok') : pill(t('sites.handsFreeOff'), 'muted'),
            formatInstant(site.updatedAt, site.timeZone),
          ],
          { site: site.id },
        ),
      ),
      { empty: t('sites.empty'), test: 'sites-table' },
    );
  });

  if (creating && canWrite) siteEditor(editorBox, context, null);
  else if (selected) {
    const site = sites.find((candidate) => candidate.id === selected);
    if (site) siteEditor(editorBox, context, site);
    else replace(editorBox, notice('error', t('sites.notFound', { id: selected })));
  }
}

/**
 * @param {HTMLElement} box
 * @param {PageContext} context
 * @param {any | null} site null: a new site
 */
function siteEditor(box, context, site) {
  const readOnly = !context.can('sites:write');
  const policy = site?.policy ?? {};
  const accept = policy.accept ?? { anyOf: 1, factors: ['gps'] };
  const ruleFactors = 'required' in accept ? accept.required : accept.factors;
  const ruleKind = 'required' in accept ? 'all' : 'any';
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['Asia/Hong_Kong', 'Asia/Macau', 'Asia/Shanghai', 'Asia/Taipei', 'Asia/Singapore', 'UTC'];

  const idInput = input('id', { value: site?.id ?? '', required: true, readonly: Boolean(site), autocomplete: 'off', pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}' });
  idInput.dataset.test = 'site-id';
  const nameInput = input('name', { value: site?.name ?? '', required: true });
  nameInput.dataset.test = 'site-name';
  const nameZhInput = input('nameZh', { value: site?.nameZh ?? '', lang: 'zh-HK' });
  const addressText = h('textarea', { name: 'address', rows: 2, class: 'prose', autocomplete: 'street-address', dataset: { test: 'site-address' } });
  addressText.value = site?.address ?? '';
  const addressZhText = h('textarea', { name: 'addressZh', rows: 2, class: 'prose', lang: 'zh-HK', dataset: { test: 'site-address-zh' } });
  addressZhText.value = site?.addressZh ?? '';
  // The kiosk's languages as one choice of the four orders that make sense; '' is the default (both, English first).
  const languagesSelect = select(
    'languages',
    [
      ['', t('sites.languagesBoth')],
      ['zh-HK,en', t('sites.languagesBothZhFirst')],
      ['en', t('sites.languagesEn')],
      ['zh-HK', t('sites.languagesZh')],
    ],
    site?.languages?.join(',') ?? '',
  );
  languagesSelect.dataset.test = 'site-languages';
  const handsFree = site?.handsFree ?? { enabled: false, punchOutAfterSeconds: 600 };
  const handsFreeBox = checkbox('handsFreeEnabled', handsFree.enabled === true);
  handsFreeBox.dataset.test = 'hands-free';
  const punchOutInput = input('punchOutAfterSeconds', { type: 'number', min: 60, max: 86400, step: '1', value: handsFree.punchOutAfterSeconds });
  punchOutInput.dataset.test = 'punch-out-after';
  const zoneInput = input('timeZone', { value: site?.timeZone ?? 'Asia/Hong_Kong', list: 'time-zones', autocomplete: 'off' });
  const zoneList = h('datalist', { id: 'time-zones' }, zones.map((zone) => h('option', { value: zone })));

  // The location rule: which factors count, and how many must pass.
  const factorBoxes = FACTORS.map((factor) => field(t(`factor.${factor}`), checkbox('factors', ruleFactors.includes(factor), factor)));
  const ruleSelect = select('ruleKind', [['any', t('sites.ruleAny')], ['all', t('sites.ruleAll')]], ruleKind);
  const anyOfInput = input('anyOf', { type: 'number', min: 1, max: 3, step: '1', value: 'anyOf' in accept ? accept.anyOf : 1 });

  const bssidText = h('textarea', { name: 'allowedBssids', rows: 4, spellcheck: 'false', dataset: { test: 'bssids' }, placeholder: 'A4:2B:B0:11:22:33' });
  bssidText.value = (policy.allowedBssids ?? []).join('\n');

  /**
   * A stored site's beacons as the server last answered (views: fingerprints, never keys); a new
   * site's beacons wait in `pending` and go with the first save.
   * @type {any[]}
   */
  let storedBeacons = site?.beacons ?? [];
  /** @type {any[]} */
  const pending = [];
  const beaconBox = h('div', { class: 'beacons' });
  const beaconMessages = h('div', { dataset: { test: 'beacon-messages' }, 'aria-live': 'polite' });
  /** Whether "Add a beacon" is unfolded: it stays so while beacons are added one after another. */
  let addOpen = false;

  const mapBox = h('div');
  const warnings = h('div');
  const form = h(
    'form',
    { class: 'form site-form', dataset: { test: 'site-form' }, novalidate: true },
    formErrorBox(),
    warnings,
    h(
      'fieldset',
      { disabled: readOnly },
      h('legend', { text: t('sites.basics') }),
      h(
        'div',
        { class: 'grid-2' },
        field(t('sites.id'), idInput, { name: 'siteId', hint: site ? undefined : t('sites.idHint') }),
        field(t('sites.timeZone'), zoneInput, { name: 'timeZone' }),
        field(t('sites.nameEn'), nameInput, { name: 'name' }),
        field(t('sites.nameZh'), nameZhInput, { name: 'nameZh' }),
        field(t('sites.address'), addressText, { name: 'address' }),
        field(t('sites.addressZh'), addressZhText, { name: 'addressZh' }),
        field(t('sites.languages'), languagesSelect, { name: 'languages', hint: t('sites.languagesHint') }),
      ),
      zoneList,
    ),
    h(
      'fieldset',
      { disabled: readOnly },
      h('legend', { text: t('sites.rule') }),
      h('p', { class: 'hint', text: t('sites.ruleHint') }),
      h('div', { class: 'inline', dataset: { field: 'policy.accept' } }, factorBoxes, h('div', { class: 'field-error', role: 'alert' })),
      h('div', { class: 'grid-2' }, field(t('sites.ruleKind'), ruleSelect), field(t('sites.anyOf'), anyOfInput, { name: 'policy.accept.anyOf' })),
      h(
        'div',
        { class: 'grid-2' },
        field(t('sites.gpsTolerance'), input('gpsToleranceMetres', { type: 'number', min: 0, max: 500, value: policy.gpsToleranceMetres ?? 75 }), { name: 'policy.gpsToleranceMetres' }),
        field(t('sites.maxAccuracy'), input('maxAccuracyMetres', { type: 'number', min: 1, max: 2000, value: policy.maxAccuracyMetres ?? 100 }), { name: 'policy.maxAccuracyMetres' }),
        field(t('sites.maxFixAge'), input('maxFixAgeSeconds', { type: 'number', min: 1, max: 3600, value: policy.maxFixAgeSeconds ?? 120 }), { name: 'policy.maxFixAgeSeconds' }),
        field(t('sites.minRssi'), input('minBeaconRssi', { type: 'number', min: -127, max: 0, value: policy.minBeaconRssi ?? -100 }), { name: 'policy.minBeaconRssi' }),
      ),
      field(t('sites.keepRawEvidence'), checkbox('keepRawEvidence', policy.keepRawEvidence === true), { hint: t('sites.keepRawEvidenceHint') }),
    ),
    h('fieldset', {}, h('legend', { text: t('sites.geofence') }), h('div', { dataset: { field: 'policy.geofence' } }, mapBox, h('div', { class: 'field-error', role: 'alert' }))),
    h(
      'fieldset',
      { disabled: readOnly },
      h('legend', { text: t('sites.wifi') }),
      field(t('sites.bssids'), bssidText, { name: 'policy.allowedBssids', hint: t('sites.bssidsHint'), wide: true }),
      field(t('sites.acceptScanned'), checkbox('acceptScannedBssids', policy.acceptScannedBssids === true), { hint: t('sites.acceptScannedHint') }),
    ),
    h(
      'fieldset',
      { disabled: readOnly, dataset: { test: 'hands-free-settings' } },
      h('legend', { text: t('sites.handsFree') }),
      h('p', { class: 'hint', text: t('sites.handsFreeHint') }),
      field(t('sites.handsFreeEnabled'), handsFreeBox, { name: 'handsFree.enabled' }),
      h('div', { class: 'grid-2' }, field(t('sites.punchOutAfter'), punchOutInput, { name: 'handsFree.punchOutAfterSeconds', hint: t('sites.punchOutAfterHint') })),
    ),
    h(
      'fieldset',
      { disabled: readOnly },
      h('legend', { text: t('sites.beacons') }),
      h('div', { dataset: { field: 'beacons' } }, beaconBox, h('div', { class: 'field-error', role: 'alert' })),
    ),
    readOnly ? null : h('div', { class: 'form-actions sticky-actions' }, button(t('common.save'), { kind: 'primary', type: 'submit', test: 'save-site' }), h('a', { class: 'btn btn-secondary', href: '/sites', text: t('common.cancel') })),
  );

  replace(box, section(site ? t('sites.editTitle', { name: siteName(site, site.id) }) : t('sites.new'), form, { test: 'site-editor' }));
  const editor = geofenceEditor(mapBox, { geofence: policy.geofence ?? null, settings: context.config.map, readOnly });

  /** The beacon list: a stored site's beacons are added and removed at once, one at a time. */
  const renderBeacons = () => {
    const shown = site ? storedBeacons : pending;
    const rows = shown.map((/** @type {any} */ beacon, /** @type {number} */ index) =>
      row(
        [
          beacon.kind === 'eid' ? t('beacon.eid') : t('beacon.ibeacon'),
          beacon.kind === 'eid' ? beacon.gatewayId ?? '—' : `${beacon.uuid} / ${beacon.major}`,
          String(beacon.rotationExponent),
          site ? h('code', { text: beacon.identityKeyFingerprint ?? beacon.siteKeyFingerprint ?? '' }) : pill(t('beacon.new'), 'info'),
          readOnly
            ? ''
            : button(t('common.remove'), {
                kind: 'link',
                test: 'remove-beacon',
                onClick: (event) => {
                  if (site) void removeBeacon(/** @type {HTMLButtonElement} */ (event.currentTarget), beacon);
                  else {
                    pending.splice(index, 1);
                    renderBeacons();
                  }
                },
              }),
        ],
        site ? { beacon: beacon.id } : {},
      ),
    );
    const gatewayInput = input('beaconGateway', { placeholder: 'gw-1' });
    gatewayInput.dataset.test = 'beacon-gateway';
    const uuidInput = input('beaconUuid', { placeholder: 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0' });
    const majorInput = input('beaconMajor', { type: 'number', min: 0, max: 65535, value: '' });
    const rotationInput = input('beaconRotation', { type: 'number', min: 0, max: 15, value: 8 });
    /** A new beacon with a key made here: sent once (now, or with the new site's first save), never shown. */
    const make = (/** @type {'eid' | 'ibeacon-minor'} */ kind) => {
      const rotationExponent = Number(rotationInput.value);
      if (kind === 'eid') {
        return { kind: 'eid', ...(gatewayInput.value.trim() ? { gatewayId: gatewayInput.value.trim() } : {}), identityKey: randomKey(), rotationExponent, epochUnixSeconds: Math.floor(Date.now() / 1000) };
      }
      const uuid = uuidInput.value.trim() || crypto.randomUUID().toUpperCase();
      return { kind: 'ibeacon-minor', siteKey: randomKey(), rotationExponent, uuid, major: Number(majorInput.value || 1) };
    };
    const add = (/** @type {'eid' | 'ibeacon-minor'} */ kind) => async (/** @type {MouseEvent} */ event) => {
      if (!site) {
        pending.push(make(kind));
        renderBeacons();
        return;
      }
      const trigger = /** @type {HTMLButtonElement} */ (event.currentTarget);
      await busy(trigger, async () => {
        try {
          const answer = await api('POST', `/sites/${enc(site.id)}/beacons`, make(kind));
          storedBeacons = answer.site.beacons;
          renderBeacons();
          toast(t('beacon.added'));
          replace(beaconMessages, ...(answer.warnings ?? []).map((/** @type {string} */ text) => notice('warn', text)));
        } catch (error) {
          replace(beaconMessages, notice('error', errorText(error)));
        }
      });
    };
    replace(
      beaconBox,
      h('p', { class: 'hint', text: t('beacon.intro') }),
      table([t('beacon.kind'), t('beacon.where'), t('beacon.rotation'), t('beacon.key'), ''], rows, { empty: t('beacon.none'), test: 'beacon-table' }),
      !site && pending.length > 0 ? h('p', { class: 'hint', text: t('beacon.pendingHint') }) : null,
      beaconMessages,
      readOnly
        ? null
        : h(
            'details',
            { class: 'add-beacon', open: addOpen, on: { toggle: (/** @type {Event} */ event) => (addOpen = /** @type {HTMLDetailsElement} */ (event.currentTarget).open) } },
            h('summary', { dataset: { test: 'add-beacon' }, text: t('beacon.add') }),
            h(
              'div',
              { class: 'grid-2' },
              field(t('beacon.gateway'), gatewayInput, { hint: t('beacon.gatewayHint') }),
              field(t('beacon.rotationLabel'), rotationInput, { hint: t('beacon.rotationHint') }),
              field(t('beacon.uuid'), uuidInput, { hint: t('beacon.uuidHint') }),
              field(t('beacon.major'), majorInput),
            ),
            h(
              'div',
              { class: 'form-actions' },
              button(t('beacon.addEid'), { test: 'add-eid', onClick: add('eid') }),
              button(t('beacon.addIbeacon'), { test: 'add-ibeacon', onClick: add('ibeacon-minor') }),
            ),
          ),
    );
  };

  /** Removes one stored beacon (DELETE by its id), after asking. @param {HTMLButtonElement} trigger @param {any} beacon */
  const removeBeacon = async (trigger, beacon) => {
    if (!site) return;
    const what = `${beacon.kind === 'eid' ? t('beacon.eid') : t('beacon.ibeacon')} ${beacon.kind === 'eid' ? beacon.gatewayId ?? '' : `${beacon.uuid} / ${beacon.major}`}`.trim();
    if (!(await confirmDialog(t('beacon.removeConfirm', { beacon: what }), t('common.remove')))) return;
    await busy(trigger, async () => {
      try {
        const answer = await api('DELETE', `/sites/${enc(site.id)}/beacons/${enc(beacon.id)}`);
        storedBeacons = answer.site.beacons;
        renderBeacons();
        replace(beaconMessages);
        toast(t('beacon.removed'));
      } catch (error) {
        replace(beaconMessages, notice('error', errorText(error)));
      }
    });
  };
  renderBeacons();

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submit = /** @type {HTMLButtonElement | null} */ (form.querySelector('button[type=submit]'));
    void busy(
      submit,
      async () => {
        const values = formValues(form);
        const id = String(values.id ?? '').trim();
        if (!ENTITY_ID.test(id)) throw fieldError('siteId', t('sites.idHint'));
        const factors = /** @type {string[]} */ (values.factors ?? []);
        const geofence = editor.get();
        const rule = values.ruleKind === 'all' ? { required: factors } : { anyOf: Number(values.anyOf), factors };
        const { geofence: _old, ...kept } = policy;
        const body = {
          name: String(values.name ?? '').trim(),
          nameZh: String(values.nameZh ?? '').trim() || null,
          address: String(values.address ?? '').trim() || null,
          addressZh: String(values.addressZh ?? '').trim() || null,
          timeZone: String(values.timeZone ?? '').trim() || 'Asia/Hong_Kong',
          policy: {
            ...kept,
            siteId: id,
            ...(geofence ? { geofence } : {}),
            accept: rule,
            allowedBssids: String(values.allowedBssids ?? '')
              .split(/[\s,]+/)
              .map((line) => line.trim())
              .filter(Boolean),
            acceptScannedBssids: values.acceptScannedBssids === true,
            gpsToleranceMetres: Number(values.gpsToleranceMetres),
            maxAccuracyMetres: Number(values.maxAccuracyMetres),
            maxFixAgeSeconds: Number(values.maxFixAgeSeconds),
            minBeaconRssi: Number(values.minBeaconRssi),
            keepRawEvidence: values.keepRawEvidence === true,
          },
          handsFree: { enabled: values.handsFreeEnabled === true, punchOutAfterSeconds: Number(values.punchOutAfterSeconds) },
          languages: values.languages ? String(values.languages).split(',') : null,
          // A stored site keeps its beacons (left out); a new one is created with those added here.
          ...(site ? {} : { beacons: pending }),
        };
        const written = await api('PUT', `/sites/${enc(id)}`, body);
        toast(written.created ? t('sites.created', { id }) : t('sites.saved', { id }));
        if (written.warnings?.length) sessionStorage.setItem('punchgate.siteWarnings', JSON.stringify(written.warnings));
        location.assign(`/sites?site=${enc(id)}`);
      },
      form,
    );
  });

  // Warnings from the save that brought us here (they survive the reload once).
  const stored = sessionStorage.getItem('punchgate.siteWarnings');
  if (stored) {
    sessionStorage.removeItem('punchgate.siteWarnings');
    replace(warnings, ...JSON.parse(stored).map((/** @type {string} */ text) => notice('warn', text)));
  } else if (site) replace(warnings, h('p', { class: 'hint', text: t('sites.savedAt', { at: formatInstant(site.updatedAt, site.timeZone) }) }));
}

/** A client-side check failing like a server field issue. @param {string} fieldName @param {string} message */
function fieldError(fieldName, message) {
  return new ApiError(400, { error: message, issues: [{ in: 'body', field: fieldName, message }] });
}
