import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import type { RoutePermission } from '../auth/permissions.js';
import { DashboardConfig } from '../config.js';
import { acceptsHtml, documentStart, escapeHtml } from './html.js';

/**
 * The web console: a page shell per console page, the browser code and styles from
 * `dashboard/web/public/`, and Leaflet's files from node_modules. Nothing comes from a CDN and
 * nothing is inline, so the app's CSP stays `'self'` only (plus the tile server's origin for
 * images, on the console's pages, when `web.tileUrl` names one).
 *
 * Each page route declares the permission its page needs, like every API route: the auth plugin
 * answers 401/403 before the shell is sent. For a browser navigating (Accept: text/html) those
 * answers become what a person needs: 401 and "change your one-time password first" redirect to
 * the sign-in page (which comes back afterwards), 403 shows a "no access" page (still 403).
 * Programmatic callers (no text/html) keep the JSON answers every route gives.
 */

export type WebSettings = DashboardConfig['web'];

export interface WebPluginOptions {
  /** The `web` section of the dashboard config; defaults when left out. */
  web?: WebSettings;
}

/** One console page: where it lives, what it needs, whether it uses the map. */
export interface ConsolePage {
  page: string;
  path: string;
  permission: RoutePermission;
  map?: boolean;
}

/** The console's pages in menu order (the browser builds its menu from this list, filtered by the user's permissions). */
export const consolePages: readonly ConsolePage[] = [
  { page: 'overview', path: '/overview', permission: 'overview:read' },
  { page: 'sites', path: '/sites', permission: 'sites:read', map: true },
  { page: 'devices', path: '/devices', permission: 'devices:read' },
  { page: 'employees', path: '/employees', permission: 'employees:read' },
  { page: 'punches', path: '/punches', permission: 'punches:read' },
  { page: 'attendance', path: '/attendance', permission: 'attendance:read' },
  { page: 'leave', path: '/leave', permission: 'attendance:read' },
  { page: 'makeup', path: '/makeup', permission: 'makeup:request' },
  { page: 'schedules', path: '/schedules', permission: 'attendance:read' },
  { page: 'notifications', path: '/notifications', permission: 'notifications:read' },
  { page: 'users', path: '/users', permission: 'users:manage' },
  { page: 'tokens', path: '/tokens', permission: 'tokens:manage' },
  { page: 'audit', path: '/audit', permission: 'audit:read' },
];

export const SIGN_IN_PATH = '/sign-in';
const HOME_PATH = '/overview';

function firstExisting(candidates: string[], marker: string, what: string): string {
  const found = candidates.find((candidate) => existsSync(path.join(candidate, marker)));
  if (!found) throw new Error(`the web console cannot find ${what} (looked for ${marker} in ${candidates.join(', ')})`);
  return found;
}

/** `dashboard/web/public`, next to this file when run from source, or in the checkout when run from dist/. */
export function publicDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return firstExisting([path.join(here, 'public'), path.resolve(here, '../../../dashboard/web/public')], 'app.js', 'its browser code');
}

/** Leaflet's `dist/` folder (leaflet.js, leaflet.css, images/) from node_modules. */
export function leafletDir(): string {
  const require = createRequire(import.meta.url);
  return firstExisting([path.join(path.dirname(require.resolve('leaflet/package.json')), 'dist')], 'leaflet.js', 'Leaflet (npm install leaflet)');
}

/**
 * The CSP source a tile URL template needs for images: its origin, with `{s}` subdomains as a
 * wildcard host; none for a same-origin path.
 */
export function tileImageSource(tileUrl: string | null): string | undefined {
  if (!tileUrl || tileUrl.startsWith('/')) return undefined;
  const match = /^(https?):\/\/([^/?#]+)/.exec(tileUrl);
  if (!match) return undefined;
  const [, scheme, host] = match as unknown as [string, string, string];
  const wildcard = host.replace(/^\{s\}\./, '*.');
  if (/[{}]/.test(wildcard)) return `${scheme}:`;
  return `${scheme}://${wildcard}`;
}

/** What the browser code reads from the shell's `data-config`. */
interface ShellConfig {
  page: string;
  pages: Array<{ page: string; path: string; permission: string }>;
  signInPath: string;
  homePath: string;
  map: { tileUrl: string | null; tileAttribution: string; tileMaxZoom: number; center: { lat: number; lon: number } };
}

function shellHtml(page: string, map: boolean, config: ShellConfig): string {
  const leaflet = map ? ['<link rel="stylesheet" href="/vendor/leaflet/leaflet.css">', '<script src="/vendor/leaflet/leaflet.js" defer></script>'] : [];
  return [
    ...documentStart({
      title: 'punchgate',
      meta: ['<meta name="color-scheme" content="light">'],
      head: [leaflet[0] ?? '', '<link rel="stylesheet" href="/assets/app.css">', leaflet[1] ?? '', '<script type="module" src="/assets/app.js"></script>'],
    }),
    '</head>',
    `<body data-page="${escapeHtml(page)}" data-config="${escapeHtml(JSON.stringify(config))}">`,
    '<noscript>The punchgate console needs JavaScript. punchgate 控制台需要 JavaScript。</noscript>',
    '<div id="app"></div>',
    '</body>',
    '</html>',
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/** Only same-site paths come back after sign-in (never `//host` or a scheme). */
export function safeNext(url: string): string {
  return /^\/(?!\/)[^\s\\]*$/.test(url) ? url : HOME_PATH;
}

const webPlugin: FastifyPluginAsync<WebPluginOptions> = async (app, options) => {
  const settings: WebSettings = options.web ?? DashboardConfig.shape.web.parse(undefined);
  const publicRoot = publicDir();
  const leafletRoot = leafletDir();
  const tileSource = tileImageSource(settings.tileUrl);

  // reply.sendFile only; the routes below are ours, so that each declares its permission.
  await app.register(fastifyStatic, { serve: false, root: publicRoot });

  const config = (page: string): ShellConfig => ({
    page,
    pages: consolePages.map(({ page: name, path: url, permission }) => ({ page: name, path: url, permission })),
    signInPath: SIGN_IN_PATH,
    homePath: HOME_PATH,
    map: { tileUrl: settings.tileUrl, tileAttribution: settings.tileAttribution, tileMaxZoom: settings.tileMaxZoom, center: settings.mapCenter },
  });

  /** The tile server's origin joins img-src on the console's pages, and only there. */
  const withTileSource = (reply: FastifyReply): void => {
    if (!tileSource) return;
    const csp = reply.getHeader('content-security-policy');
    if (typeof csp === 'string') void reply.header('content-security-policy', csp.replace(/(^|;)\s*img-src ([^;]*)/, `$1img-src $2 ${tileSource}`));
  };

  const sendShell = (reply: FastifyReply, page: string, map: boolean): FastifyReply => {
    withTileSource(reply);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(shellHtml(page, map, config(page)));
  };

  /** A browser that may not see the page: to sign-in, or a "no access" page; others keep the JSON. */
  const forBrowsers: onSendHookHandler = async (request, reply, payload) => {
    if (!acceptsHtml(request) || (reply.statusCode !== 401 && reply.statusCode !== 403)) return payload;
    let code: unknown;
    try {
      code = (JSON.parse(String(payload)) as { code?: unknown }).code;
    } catch {
      return payload;
    }
    if (reply.statusCode === 401 || code === 'PASSWORD_CHANGE_REQUIRED') {
      reply.removeHeader('www-authenticate');
      void reply.code(303).header('location', `${SIGN_IN_PATH}?next=${encodeURIComponent(safeNext(request.url))}`).header('cache-control', 'no-store').type('text/plain; charset=utf-8');
      return '';
    }
    withTileSource(reply);
    void reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    return shellHtml('forbidden', false, config('forbidden'));
  };

  for (const { page, path: url, permission, map } of consolePages) {
    app.get(url, { config: { permission }, schema: { hide: true }, onSend: forBrowsers }, async (_request, reply) => sendShell(reply, page, map === true));
  }
  app.get(SIGN_IN_PATH, { config: { permission: 'public' }, schema: { hide: true } }, async (_request, reply) => sendShell(reply, 'sign-in', false));
  app.get('/', { config: { permission: 'public' }, schema: { hide: true } }, async (_request, reply) => reply.redirect(HOME_PATH, 302));

  // Browser code, styles, messages and icons: no secrets, public like the sign-in page that needs them.
  app.get<{ Params: { '*': string } }>('/assets/*', { config: { permission: 'public' }, schema: { hide: true } }, async (request, reply) =>
    reply.header('cache-control', 'no-cache').sendFile(request.params['*'], publicRoot, { dotfiles: 'deny', cacheControl: false, index: false }),
  );
  app.get<{ Params: { '*': string } }>('/vendor/leaflet/*', { config: { permission: 'public' }, schema: { hide: true } }, async (request, reply) =>
    reply.header('cache-control', 'public, max-age=86400').sendFile(request.params['*'], leafletRoot, { dotfiles: 'deny', cacheControl: false, index: false }),
  );
};

export { webPlugin };
