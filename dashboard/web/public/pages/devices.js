// @ts-check
/**
 * Devices: every terminal's live state (online, last seen, backlog, clock, config requested vs
 * applied, parts' health), enrolment with the secret shown once and the bundle's one-time download
 * link and QR code, re-enrolment of a replaced box, remote commands (identify, resync), and
 * rename / move to another site / disable.
 */
import { ApiError, api, enc, get, query } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { formatAgo, formatInstant, formatNumber, siteName, t } from '../lib/i18n.js';
import {
  busy,
  button,
  checkbox,
  confirmDialog,
  errorText,
  field,
  fill,
  formErrorBox,
  input,
  notAvailable,
  notice,
  pill,
  row,
  section,
  select,
  showSecretOnce,
  table,
  toast,
} from '../lib/ui.js';

/** @typedef {import('../app.js').PageContext} PageContext */

/** All devices (following pages when the server pages them). @returns {Promise<any[]>} */
export async function loadDevices() {
  /** @type {any[]} */
  const devices = [];
  /** @type {string | null} */
  let cursor = null;
  do {
    const page = await get(`/devices${cursor ? query({ cursor }) : ''}`);
    devices.push(...page.devices);
    cursor = page.nextCursor ?? null;
  } while (cursor);
  return devices;
}

/** @returns {Promise<any[]>} */
export async function loadSites() {
  try {
    const page = await get('/sites?limit=500');
    return page.sites;
  } catch {
    return [];
  }
}

/** The connection as a coloured word. @param {any} device */
export function connectionPill(device) {
  const state = device.state?.connection ?? (device.online ? 'online' : device.lastSeen || device.statusAt ? 'offline' : 'never-connected');
  return pill(t(`device.connection.${state}`), state === 'online' ? 'ok' : state === 'offline' ? 'bad' : 'muted');
}

/** Backlog: unsent punches and how far behind. @param {any} device */
export function backlogText(device) {
  const pending = device.state?.backlog?.pending ?? device.status?.backlog;
  if (pending === undefined || pending === null) return '—';
  const oldest = device.state?.backlog?.oldestPendingAt ?? device.status?.oldestPendingAt;
  return pending > 0 && oldest ? t('device.backlogBehind', { n: formatNumber(pending), ago: formatAgo(oldest) }) : formatNumber(pending);
}

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const selected = new URLSearchParams(location.search).get('device');
  const listBox = h('div');
  const detailBox = h('div');
  const enrolBox = h('div');
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: t('nav.devices') }), context.can('devices:write') ? button(t('devices.enrol'), { kind: 'primary', test: 'enrol-device', onClick: () => enrolForm(enrolBox, sites) }) : null),
    enrolBox,
    detailBox,
    section(t('devices.all'), listBox, { actions: [button(t('common.refresh'), { onClick: () => void renderList() })] }),
  );
  const sites = await loadSites();
  const siteOf = (/** @type {string} */ id) => siteName(sites.find((site) => site.id === id), id);

  const renderList = () =>
    fill(listBox, async () => {
      const devices = await loadDevices();
      return table(
        [t('devices.id'), t('devices.name'), t('devices.site'), t('devices.connection'), t('devices.lastSeen'), t('devices.backlog'), t('devices.clock'), t('devices.config'), t('devices.enabled')],
        devices.map((device) =>
          row(
            [
              h('a', { href: `/devices?device=${enc(device.id)}`, text: device.id }),
              device.name ?? '—',
              siteOf(device.siteId),
              connectionPill(device),
              formatAgo(device.lastSeen),
              backlogText(device),
              device.status?.clock ? pill(device.status.clock.synced ? t('device.clockSynced') : t('device.clockUnsynced'), device.status.clock.synced ? 'ok' : 'warn') : '—',
              device.status?.configVersion === undefined ? '—' : `v${device.status.configVersion}`,
              device.enabled === false ? pill(t('devices.disabled'), 'bad') : device.enabled === true ? pill(t('devices.enabledYes'), 'ok') : '—',
            ],
            { device: device.id },
          ),
        ),
        { empty: t('devices.empty'), test: 'devices-table' },
      );
    });
  await renderList();
  if (selected) await deviceDetail(detailBox, context, selected, sites);
}

/**
 * @param {HTMLElement} box
 * @param {any[]} sites
 */
function enrolForm(box, sites) {
  if (sites.length === 0) {
    replace(box, section(t('devices.enrol'), notice('warn', [t('devices.noSites'), ' ', h('a', { href: '/sites?new=1', text: t('sites.new') })])));
    return;
  }
  const siteChoices = /** @type {Array<[string, string]>} */ (sites.map((site) => [site.id, `${siteName(site)} (${site.id})`]));
  const idInput = input('id', { required: true, autocomplete: 'off', placeholder: 'mk-01-door' });
  idInput.dataset.test = 'device-id';
  const siteSelect = select('siteId', siteChoices, siteChoices[0]?.[0]);
  siteSelect.dataset.test = 'device-site';
  const form = h(
    'form',
    { class: 'form', dataset: { test: 'enrol-form' }, novalidate: true },
    formErrorBox(),
    h('p', { class: 'hint', text: t('devices.enrolIntro') }),
    h(
      'div',
      { class: 'grid-3' },
      field(t('devices.id'), idInput, { name: 'id', hint: t('devices.idHint') }),
      field(t('devices.site'), siteSelect, { name: 'siteId' }),
      field(t('devices.name'), input('name', { autocomplete: 'off' }), { name: 'name' }),
    ),
    h('div', { class: 'form-actions' }, button(t('devices.register'), { kind: 'primary', type: 'submit', test: 'register-device' }), button(t('common.cancel'), { onClick: () => replace(box) })),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(
      /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
      async () => {
        const values = /** @type {Record<string, string>} */ (formValues(form));
        const body = { id: values.id?.trim(), siteId: values.siteId, ...(values.name?.trim() ? { name: values.name.trim() } : {}) };
        const registered = await api('POST', '/devices', body);
        await showSecretOnce({
          title: t('devices.registeredTitle', { id: registered.device.id }),
          label: t('devices.secretLabel'),
          secret: registered.secret,
          extra: enrolmentBlock(registered),
        });
        location.assign(`/devices?device=${enc(registered.device.id)}`);
      },
      form,
    );
  });
  replace(box, section(t('devices.enrol'), form, { test: 'enrol' }));
  idInput.focus();
}

/**
 * A warning of the enrolment answer in the console's words (the server's text is English only).
 * @param {{code: string, message: string}} warning
 * @param {any} enrolled
 */
function warningText(warning, enrolled) {
  switch (warning.code) {
    case 'loopback-broker':
      return t('devices.warning.loopbackBroker', { broker: enrolled.enrolment.brokerUrl });
    case 'unknown-site':
      return t('devices.warning.unknownSite', { site: enrolled.device.siteId });
    case 'device-disabled':
      return t('devices.warning.deviceDisabled', { id: enrolled.device.id });
    case 'external-broker-old-secret':
      return t('devices.warning.externalOldSecret', { id: enrolled.device.id });
    default:
      return warning.message;
  }
}

/**
 * The bundle of a registration or re-enrolment: its one-time download link, the link as a QR code
 * for a technician on site, the command that fetches it on the Pi itself, what to fix first, and
 * for an external broker the Mosquitto lines.
 * @param {any} enrolled the answer of POST /devices or POST /devices/:id/enrolment
 * @returns {import('../lib/dom.js').Child[]}
 */
function enrolmentBlock(enrolled) {
  const enrolment = enrolled.enrolment;
  if (!enrolment) return [];
  // A data: image (the CSP allows those, not inline markup): the SVG is never parsed into the page.
  const qr = h('img', {
    class: 'enrolment-qr',
    src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qrSvg)}`,
    width: 176,
    height: 176,
    alt: t('devices.bundleQrAlt'),
    dataset: { test: 'enrolment-qr' },
  });
  const mosquitto = enrolment.mosquitto;
  return [
    h('h3', { text: t('devices.bundleTitle') }),
    h('p', { class: 'hint', text: t('devices.bundleIntro', { at: formatInstant(enrolment.expiresAt) }) }),
    h(
      'div',
      { class: 'secret-row', dataset: { test: 'enrolment' } },
      qr,
      h(
        'div',
        {},
        // A form POST: only a POST spends the link, so a GET (a chat's link preview) never does.
        h(
          'form',
          // The console's own origin (the CSP's form-action), whatever public address the link has.
          { method: 'post', action: enrolment.path, dataset: { test: 'enrolment-form' } },
          h('button', { type: 'submit', class: 'btn btn-primary', dataset: { test: 'enrolment-download' }, text: t('devices.bundleDownload', { file: enrolment.fileName }) }),
        ),
        h('p', { class: 'hint', text: t('devices.bundleOnPi') }),
        h('pre', { class: 'snippet', dataset: { test: 'enrolment-curl' }, text: `curl -fOJ -X POST '${enrolment.url}'` }),
        h('p', { class: 'hint', text: t('devices.bundleQrHint') }),
      ),
    ),
    // Flat: the dialog appends one level of lists.
    ...enrolment.warnings.map((/** @type {{code: string, message: string}} */ warning) => notice('warn', warningText(warning, enrolled))),
    ...(mosquitto
      ? [
          h('h3', { text: t('devices.mosquittoTitle') }),
          h('p', { class: 'hint', text: t('devices.mosquittoPasswordLine') }),
          h('pre', { class: 'snippet', dataset: { test: 'mosquitto-line' }, text: mosquitto.passwordLine }),
          h('p', { class: 'hint', text: t('devices.mosquittoAcl') }),
          h('pre', { class: 'snippet', text: mosquitto.acl }),
        ]
      : []),
  ];
}

/**
 * One device: its live state, commands, and what may be changed.
 * @param {HTMLElement} box
 * @param {PageContext} context
 * @param {string} id
 * @param {any[]} sites
 */
async function deviceDetail(box, context, id, sites) {
  await fill(box, async () => {
    /** @type {any} */
    let device;
    /** @type {any} */
    let state = null;
    let detailAvailable = true;
    try {
      const answer = await get(`/devices/${enc(id)}`);
      device = answer.device ?? answer;
      state = answer.live ?? answer.state ?? null;
    } catch (error) {
      if (!(error instanceof ApiError && error.missing)) throw error;
      detailAvailable = false;
      device = (await loadDevices()).find((candidate) => candidate.id === id);
      if (!device) throw new ApiError(404, { error: t('devices.notFound', { id }) });
    }
    /** @type {any} */
    let configStatus = null;
    if (!state) {
      try {
        configStatus = await get(`/devices/${enc(id)}/config-status`);
      } catch {
        configStatus = null;
      }
    }
    const config = state?.config ?? (configStatus ? { requested: configStatus.published, applied: configStatus.applied, pending: configStatus.pending, error: configStatus.configError } : null);
    const site = sites.find((candidate) => candidate.id === device.siteId);

    /** @type {Array<[string, import('../lib/dom.js').Child]>} */
    const facts = [
      [t('devices.site'), `${siteName(site, device.siteId)} (${device.siteId})`],
      [t('devices.connection'), connectionPill({ ...device, state })],
      [t('devices.lastSeen'), device.lastSeen ? `${formatAgo(device.lastSeen)} · ${formatInstant(device.lastSeen, site?.timeZone)}` : t('common.never')],
      [t('devices.backlog'), backlogText({ ...device, state })],
      [t('devices.rejected'), String(state?.backlog?.rejected ?? device.status?.rejected ?? '—')],
      [t('devices.clock'), device.status?.clock ? (device.status.clock.synced ? t('device.clockSynced') : t('device.clockUnsynced')) : '—'],
      [t('devices.software'), state?.softwareVersion ?? device.status?.version ?? '—'],
      [
        t('devices.config'),
        config
          ? h(
              'span',
              { dataset: { test: 'config-state' } },
              t('devices.configVersions', { requested: config.requested === null || config.requested === undefined ? '—' : `v${config.requested}`, applied: config.applied === null || config.applied === undefined ? '—' : `v${config.applied}` }),
              ' ',
              config.pending ? pill(t('devices.configPending'), 'warn') : pill(t('devices.configApplied'), 'ok'),
              config.error ? h('span', { class: 'error-text', text: ` ${config.error}` }) : null,
            )
          : device.status?.configVersion !== undefined
            ? `v${device.status.configVersion}`
            : '—',
      ],
      [t('devices.enabled'), device.enabled === false ? pill(t('devices.disabled'), 'bad') : device.enabled === true ? pill(t('devices.enabledYes'), 'ok') : '—'],
    ];
    if (device.disabledReason) facts.push([t('devices.disabledReason'), device.disabledReason]);
    if (state?.health) {
      for (const part of /** @type {const} */ (['readers', 'bleScanner', 'bleAdvertiser', 'wifi'])) {
        const health = state.health[part];
        if (!health) continue;
        facts.push([t(`devices.part.${part}`), h('span', {}, pill(t(`health.${health.level}`), health.level === 'ok' ? 'ok' : health.level === 'degraded' ? 'bad' : 'muted'), health.reason ? ` ${health.reason}` : '')]);
      }
    } else if (device.status?.readers) {
      facts.push([t('devices.part.readers'), device.status.readers.map((/** @type {any} */ reader) => `${reader.id}: ${reader.state}`).join(', ') || '—']);
    }
    if ((state?.alarms ?? device.status?.alarms ?? []).length > 0) facts.push([t('devices.alarms'), (state?.alarms ?? device.status?.alarms).join('; ')]);
    if (state?.attention?.length) facts.push([t('devices.attention'), h('span', {}, state.attention.map((/** @type {string} */ reason) => pill(t(`attention.${reason}`), 'warn')))]);

    const commandResult = h('div', { class: 'command-result', dataset: { test: 'command-result' }, 'aria-live': 'polite' });
    /** @param {'identify' | 'resync'} command */
    const send = (command) => async (/** @type {MouseEvent} */ event) => {
      const trigger = /** @type {HTMLButtonElement} */ (event.currentTarget);
      replace(commandResult, h('span', { class: 'loading', text: t('devices.commandSending') }));
      await busy(trigger, async () => {
        try {
          const answer = await api('POST', `/devices/${enc(id)}/commands`, { command, waitSeconds: 5 });
          if (!answer.reply) replace(commandResult, notice('warn', t('devices.commandNoReply', { command: t(`devices.command.${command}`) })));
          else if (answer.reply.ok) replace(commandResult, notice('ok', t('devices.commandOk', { command: t(`devices.command.${command}`) })));
          else replace(commandResult, notice('error', t('devices.commandFailed', { command: t(`devices.command.${command}`), error: answer.reply.error ?? '' })));
        } catch (error) {
          replace(commandResult, notice('error', errorText(error)));
        }
      });
    };

    const editBox = h('div');
    if (context.can('devices:write')) editForm(editBox, device, sites);
    /** A replaced box: a new secret and bundle; the old secret stops working at once. */
    const reEnrol = async (/** @type {MouseEvent} */ event) => {
      const trigger = /** @type {HTMLButtonElement} */ (event.currentTarget);
      if (!(await confirmDialog(t('devices.reEnrolConfirm', { id }), t('devices.reEnrol')))) return;
      await busy(trigger, async () => {
        const enrolled = await api('POST', `/devices/${enc(id)}/enrolment`);
        await showSecretOnce({ title: t('devices.reEnrolledTitle', { id }), label: t('devices.secretLabel'), secret: enrolled.secret, extra: enrolmentBlock(enrolled) });
        location.assign(`/devices?device=${enc(id)}`);
      });
    };

    return section(
      t('devices.detailTitle', { id: device.name ? `${device.name} (${device.id})` : device.id }),
      [
        detailAvailable ? null : notAvailable(t('devices.liveState')),
        h('dl', { class: 'facts', dataset: { test: 'device-facts' } }, facts.map(([label, value]) => [h('dt', { text: label }), h('dd', {}, value)]).flat()),
        context.can('devices:command')
          ? h(
              'div',
              { class: 'form-actions' },
              button(t('devices.command.identify'), { test: 'cmd-identify', onClick: send('identify') }),
              button(t('devices.command.resync'), { test: 'cmd-resync', onClick: send('resync') }),
            )
          : null,
        commandResult,
        context.can('devices:write')
          ? h('div', { class: 'form-actions' }, button(t('devices.reEnrol'), { test: 're-enrol', onClick: reEnrol }), h('span', { class: 'hint', text: t('devices.reEnrolHint') }))
          : null,
        editBox,
      ],
      { test: 'device-detail', actions: [h('a', { class: 'btn btn-link', href: '/devices', text: t('common.close') })] },
    );
  });
}

/**
 * Rename, move, enable/disable: PATCH /devices/:id.
 * @param {HTMLElement} box
 * @param {any} device
 * @param {any[]} sites
 */
function editForm(box, device, sites) {
  const enabled = checkbox('enabled', device.enabled !== false);
  const form = h(
    'form',
    { class: 'form', dataset: { test: 'device-edit' }, novalidate: true },
    formErrorBox(),
    h('h3', { text: t('devices.change') }),
    h(
      'div',
      { class: 'grid-3' },
      field(t('devices.name'), input('name', { value: device.name ?? '' }), { name: 'name' }),
      field(t('devices.site'), select('siteId', sites.map((site) => [site.id, `${siteName(site)} (${site.id})`]), device.siteId), { name: 'siteId', hint: t('devices.moveHint') }),
      field(t('devices.reason'), input('reason', { value: device.disabledReason ?? '' }), { name: 'reason', hint: t('devices.reasonHint') }),
    ),
    field(t('devices.enabledLabel'), enabled, { name: 'enabled', hint: t('devices.enabledHint') }),
    h('div', { class: 'form-actions' }, button(t('common.save'), { kind: 'primary', type: 'submit', test: 'save-device' })),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(
      /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
      async () => {
        const values = formValues(form);
        const name = String(values.name ?? '').trim();
        const body = /** @type {Record<string, unknown>} */ ({});
        if (name !== (device.name ?? '')) body.name = name || null;
        if (values.siteId && values.siteId !== device.siteId) body.siteId = values.siteId;
        if ((values.enabled === true) !== (device.enabled !== false)) {
          body.enabled = values.enabled === true;
          const reason = String(values.reason ?? '').trim();
          if (!body.enabled && reason) body.reason = reason;
        }
        if (Object.keys(body).length === 0) return;
        try {
          await api('PATCH', `/devices/${enc(device.id)}`, body);
        } catch (error) {
          if (error instanceof ApiError && error.missing) throw new ApiError(404, { error: t('common.notAvailable', { what: t('devices.change') }) });
          throw error;
        }
        toast(t('devices.saved', { id: device.id }));
        location.assign(`/devices?device=${enc(device.id)}`);
      },
      form,
    );
  });
  replace(box, form);
}
