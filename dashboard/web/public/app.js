// @ts-check
/**
 * The console's entry point. The server sends the same shell for every page with the page's name
 * and the console settings in `data-config`; this loads the messages, checks the session, draws
 * the frame (menu filtered by the user's permissions, language switch, sign out) and mounts the page.
 */
import { ApiError, api, get, setCsrfToken, signInUrl } from './lib/api.js';
import { h, replace } from './lib/dom.js';
import { loadLanguage, preferredLanguage, t } from './lib/i18n.js';
import { errorText, languageSwitch, notice } from './lib/ui.js';

/**
 * @typedef {{page: string, path: string, permission: string}} PageEntry
 * @typedef {{tileUrl: string | null, tileAttribution: string, tileMaxZoom: number, center: {lat: number, lon: number}}} MapSettings
 * @typedef {{page: string, pages: PageEntry[], signInPath: string, homePath: string, map: MapSettings}} ShellConfig
 * @typedef {{principal: {kind: string, id: string, name: string, role: string, sites: 'all' | string[]}, permissions: string[], user: any, csrfToken: string | null, mustChangePassword: boolean}} Session
 * @typedef {{config: ShellConfig, session: Session, can: (permission: string) => boolean, main: HTMLElement}} PageContext
 * @typedef {{mount: (context: PageContext) => void | (() => void) | Promise<void | (() => void)>}} PageModule
 */

/** @type {Record<string, () => Promise<PageModule>>} */
const pages = {
  overview: () => import('./pages/overview.js'),
  sites: () => import('./pages/sites.js'),
  devices: () => import('./pages/devices.js'),
  employees: () => import('./pages/employees.js'),
  punches: () => import('./pages/punches.js'),
  attendance: () => import('./pages/attendance.js'),
  leave: () => import('./pages/leave.js'),
  makeup: () => import('./pages/makeup.js'),
  schedules: () => import('./pages/schedules.js'),
  notifications: () => import('./pages/notifications.js'),
  users: () => import('./pages/users.js'),
  tokens: () => import('./pages/tokens.js'),
  audit: () => import('./pages/audit.js'),
};

/** @type {ShellConfig} */
const config = JSON.parse(document.body.dataset.config ?? '{}');
const root = /** @type {HTMLElement} */ (document.getElementById('app'));

/** @param {Session} session @param {string} current */
function frame(session, current) {
  const links = config.pages
    .filter((entry) => session.permissions.includes(entry.permission))
    .map((entry) =>
      h('a', { href: entry.path, class: entry.page === current ? 'active' : '', 'aria-current': entry.page === current ? 'page' : null, dataset: { test: `nav-${entry.page}` } }, t(`nav.${entry.page}`)),
    );
  const signOut = h('button', {
    type: 'button',
    class: 'btn btn-link',
    dataset: { test: 'sign-out' },
    text: t('nav.signOut'),
    on: {
      click: async () => {
        try {
          await api('DELETE', '/session');
        } finally {
          location.assign(config.signInPath);
        }
      },
    },
  });
  const main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  replace(
    root,
    h('a', { href: '#main', class: 'skip', text: t('nav.skip') }),
    h(
      'header',
      { class: 'topbar' },
      h('a', { href: config.homePath, class: 'brand', text: 'punchgate' }),
      h('nav', { class: 'nav', 'aria-label': t('nav.label') }, links),
      h(
        'div',
        { class: 'userbar' },
        h('span', { class: 'who', dataset: { test: 'who' } }, session.principal.name, ' · ', t(`role.${session.principal.role}`)),
        languageSwitch(),
        signOut,
      ),
    ),
    main,
  );
  return main;
}

async function boot() {
  await loadLanguage(preferredLanguage());
  const page = config.page;
  document.title = `${t(`nav.${page}`)} · punchgate`;
  if (page === 'sign-in') {
    const { mount } = await import('./pages/sign-in.js');
    await mount(root, config);
    return;
  }
  /** @type {Session} */
  let session;
  try {
    session = await get('/session');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return; // api() is taking us to the sign-in page
    throw error;
  }
  if (session.mustChangePassword) {
    location.assign(signInUrl());
    return;
  }
  setCsrfToken(session.csrfToken);
  const main = frame(session, page);
  /** @type {PageContext} */
  const context = { config, session, main, can: (permission) => session.permissions.includes(permission) };
  const load = pages[page];
  if (!load) {
    replace(main, h('h1', { text: t('forbidden.title') }), notice('error', t('forbidden.text')));
    return;
  }
  const module = await load();
  await module.mount(context);
}

boot().catch((error) => {
  console.error(error);
  replace(root, notice('error', [h('strong', { text: 'punchgate: ' }), errorText(error)]));
});
