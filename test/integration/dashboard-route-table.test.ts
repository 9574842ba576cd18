import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type HTTPMethods, type RouteOptions } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authPlugin } from '../../dashboard/auth/auth-plugin.js';
import { createAuth } from '../../dashboard/auth/index.js';
import { can, roles, RoutePermission, type IntegrationScope, type Permission, type Role } from '../../dashboard/auth/permissions.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { openCentralDb } from '../../dashboard/db/central-db.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { testLogger } from '../support/logger.js';
import { asBrowser, bearer, signIn } from '../support/dashboard-auth.js';

/**
 * Walks the dashboard's whole route table, as collected by an onRoute hook on the real app, and
 * proves for every route and every role, both as an API token and as a signed-in user, that the
 * answer is 403 exactly when the role lacks the route's declared permission (and never 401/403
 * when it has it), and 401 without credentials or with a bad token. Routes added later are walked
 * the same way: nothing here names them (except a floor of routes known to exist today, so that
 * a broken collector cannot pass).
 */

interface CollectedRoute {
  method: HTTPMethods;
  url: string;
  permission: unknown;
}

const PASSWORD = 'walk-password-0123456789';

/**
 * Integration clients (OAuth client credentials): their access tokens may do exactly what their
 * scopes name, though their principal's role is admin (scopes only narrow it). One limited to a
 * site, one not.
 */
const CLIENTS: ReadonlyArray<{ name: string; scopes: IntegrationScope[]; sites?: string[] }> = [
  { name: 'walk reader', scopes: ['employees:read', 'punches:read', 'attendance:read'], sites: ['walk-site'] },
  { name: 'walk hris', scopes: ['hris:sync', 'employees:write', 'sites:read', 'leave:write'] },
];
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function concrete(url: string): string {
  // Any value will do: a permitted request may well answer 400 or 404 to it.
  return url.replace(/:([A-Za-z0-9_]+)/g, (_match, name: string) => (name === 'id' ? '0190a000-0000-7000-8000-000000000000' : 'walk-x')).replace(/\*/g, 'walk');
}

describe('dashboard route table: every route, every role', () => {
  let dir: string;
  let dashboard: Dashboard;
  const routes: CollectedRoute[] = [];
  const tokens = new Map<Role, string>();
  const sessions = new Map<Role, { cookie: string | undefined; csrfToken: string | undefined }>();
  const clientTokens = new Map<string, string>();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-route-table-'));
    dashboard = await startDashboard(DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 }, auth: { loginAttemptsPerMinute: 1000 } }), testLogger(), {
      onFirstAdmin: () => undefined,
      configureHttp: (app) => {
        app.addHook('onRoute', (route: RouteOptions) => {
          for (const method of [route.method].flat()) routes.push({ method: method as HTTPMethods, url: route.url, permission: route.config?.permission });
        });
      },
    });
    for (const role of roles) {
      const sites = role === 'store-manager' ? ['walk-site'] : undefined;
      tokens.set(role, (await dashboard.auth.tokens.create({ name: `walk ${role}`, role, ...(sites ? { sites } : {}) }, undefined)).secret);
      await dashboard.auth.users.create({ username: `walk-${role}`, role, ...(sites ? { sites } : {}), password: PASSWORD, mustChangePassword: false }, undefined);
      const session = await signIn(dashboard.http, `walk-${role}`, PASSWORD);
      expect(session.status).toBe(200);
      sessions.set(role, session);
    }
    for (const { name, scopes, sites } of CLIENTS) {
      const { client } = await dashboard.auth.clients.create({ name, scopes, ...(sites ? { sites } : {}) }, undefined);
      clientTokens.set(name, (await dashboard.auth.clients.issueToken(client, undefined)).accessToken);
    }
  });

  afterAll(async () => {
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const call = (route: CollectedRoute, headers: Record<string, string>) =>
    dashboard.http.inject({
      method: route.method,
      url: concrete(route.url),
      headers,
      ...(route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH' ? { payload: {} } : {}),
    });

  it('collects the routes that exist today, each with a known permission', () => {
    const seen = new Set(routes.map((route) => `${route.method} ${route.url}`));
    for (const expected of [
      'GET /health',
      'GET /api/v1/punches',
      'GET /api/v1/devices',
      'POST /api/v1/devices',
      'POST /api/v1/devices/:id/commands',
      'PUT /api/v1/devices/:id/config',
      'GET /api/v1/sites',
      'GET /api/v1/sites/:siteId',
      'PUT /api/v1/sites/:siteId',
      'POST /api/v1/mobile-punches',
      'POST /api/v1/session',
      'GET /api/v1/session',
      'DELETE /api/v1/session',
      'POST /api/v1/session/password',
      'GET /api/v1/users',
      'POST /api/v1/users',
      'GET /api/v1/users/:id',
      'PATCH /api/v1/users/:id',
      'POST /api/v1/users/:id/password-reset',
      'GET /api/v1/tokens',
      'POST /api/v1/tokens',
      'GET /api/v1/tokens/:id',
      'DELETE /api/v1/tokens/:id',
      'GET /api/v1/audit',
      'POST /api/v1/oauth/token',
      'GET /api/v1/integration-clients',
      // Fastify's automatic HEAD twins of GET routes are walked too.
      'HEAD /api/v1/punches',
    ]) {
      expect(seen, expected).toContain(expected);
    }
    for (const route of routes) expect(RoutePermission.safeParse(route.permission).success, `${route.method} ${route.url}`).toBe(true);
    expect(routes.filter((route) => route.url.startsWith('/api/v1') && route.permission === 'public').map((route) => `${route.method} ${route.url}`)).toEqual(['POST /api/v1/session', 'POST /api/v1/oauth/token', 'GET /api/v1/enrolment/:token', 'POST /api/v1/enrolment/:token']);
  });

  it('answers anonymous requests and bad tokens with 401 on every route that is not public', async () => {
    for (const route of routes) {
      const anonymous = await call(route, {});
      const badToken = await call(route, bearer('pgt_not-a-token'));
      const where = `${route.method} ${route.url} (${String(route.permission)})`;
      if (route.permission === 'public') {
        expect([401, 403], where).not.toContain(anonymous.statusCode);
      } else {
        expect(anonymous.statusCode, where).toBe(401);
        expect(badToken.statusCode, where).toBe(401);
        if (route.method !== 'HEAD') expect(anonymous.json<{ code: string }>().code, where).toBe('UNAUTHENTICATED');
      }
    }
  });

  for (const role of roles) {
    it(`gives ${role} exactly what the role table says, as a token and as a signed-in user`, async () => {
      const outcomes: string[] = [];
      for (const route of routes) {
        // A route that ends the session (sign-out) clears the cookie: sign in again for the next one.
        if (!sessions.get(role)?.cookie) sessions.set(role, await signIn(dashboard.http, `walk-${role}`, PASSWORD));
        const permission = route.permission as RoutePermission;
        const permitted = permission === 'public' || can({ role }, permission as Permission | 'authenticated');
        for (const [as, headers] of [
          ['token', bearer(tokens.get(role) as string)],
          ['session', asBrowser(sessions.get(role) as { cookie: string; csrfToken: string })],
        ] as const) {
          const response = await call(route, headers);
          if (as === 'session' && /punchgate_session=;/.test(String(response.headers['set-cookie'] ?? ''))) sessions.set(role, { cookie: undefined, csrfToken: undefined });
          const where = `${role} as ${as}: ${route.method} ${route.url} (${permission}) answered ${response.statusCode} ${response.body.slice(0, 200)}`;
          if (permitted) {
            expect([401, 403], where).not.toContain(response.statusCode);
          } else {
            expect(response.statusCode, where).toBe(403);
            if (route.method !== 'HEAD') expect(response.json<{ code: string }>().code, where).toBe('FORBIDDEN');
          }
          outcomes.push(`${route.method} ${route.url} ${as} ${response.statusCode}`);
        }
      }
      expect(outcomes.length).toBe(routes.length * 2);
    });
  }

  for (const { name, scopes } of CLIENTS) {
    it(`gives an integration client's token (${scopes.join(' ')}) exactly its scopes, whatever its admin role has`, async () => {
      const token = clientTokens.get(name) as string;
      let permittedCount = 0;
      for (const route of routes) {
        const permission = route.permission as RoutePermission;
        // Stated from the scopes alone, not through can(): this checks can() too.
        const permitted = permission === 'public' || permission === 'authenticated' || (scopes as readonly string[]).includes(permission);
        expect(can({ role: 'admin', scopes }, permission === 'public' ? 'authenticated' : permission)).toBe(permitted);
        const response = await call(route, bearer(token));
        const where = `${name}: ${route.method} ${route.url} (${permission}) answered ${response.statusCode} ${response.body.slice(0, 200)}`;
        if (permitted) {
          permittedCount += 1;
          expect([401, 403], where).not.toContain(response.statusCode);
        } else {
          expect(response.statusCode, where).toBe(403);
          if (route.method !== 'HEAD') expect(response.json<{ code: string }>().code, where).toBe('FORBIDDEN');
        }
      }
      // Each scope opens some route (one that opened none would be a typo).
      for (const scope of scopes) expect(routes.some((route) => route.permission === scope), scope).toBe(true);
      expect(permittedCount).toBeGreaterThan(0);
    });
  }

  it('refuses a cookie-signed-in state-changing request without the CSRF token on every unsafe route', async () => {
    const admin = await signIn(dashboard.http, 'walk-admin', PASSWORD);
    for (const route of routes.filter((r) => UNSAFE.has(r.method) && r.permission !== 'public')) {
      const response = await call(route, asBrowser(admin, false));
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(403);
      expect(response.json<{ code: string }>().code, `${route.method} ${route.url}: ${response.body}`).toBe('CSRF');
    }
  });
});

describe('dashboard routes without a permission', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-route-forgotten-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const config = (): DashboardConfig => DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } });

  it('keep the dashboard from starting, naming the route', async () => {
    await expect(
      startDashboard(config(), testLogger(), {
        onFirstAdmin: () => undefined,
        configureHttp: (app) => {
          void app.register(async (plugin) => plugin.get('/forgotten', async () => ({ secret: true })), { prefix: '/api/v1' });
        },
      }),
    ).rejects.toThrow(/GET \/api\/v1\/forgotten declares no permission/);
    await expect(
      startDashboard(config(), testLogger(), {
        onFirstAdmin: () => undefined,
        configureHttp: (app) => {
          void app.register(async (plugin) => plugin.get('/typo', { config: { permission: 'devices:fly' as Permission } }, async () => ({ secret: true })));
        },
      }),
    ).rejects.toThrow(/GET \/typo declares an unknown permission "devices:fly"/);
  });

  it('are refused with 403 at request time should one be added before the auth plugin', async () => {
    const { db } = await openCentralDb(dir);
    const auth = createAuth(db, { now: () => new Date(), bootstrapToken: 'bootstrap-token-0123456789' });
    const app = Fastify();
    app.get('/early', async () => ({ secret: true }));
    await app.register(fastifyCookie);
    await app.register(authPlugin, { users: auth.users, sessions: auth.sessions, tokens: auth.tokens, cookie: auth.cookie });
    try {
      const response = await app.inject({ method: 'GET', url: '/early', headers: bearer('bootstrap-token-0123456789') });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ code: 'NO_PERMISSION_DECLARED' });
    } finally {
      await app.close();
      await db.close();
    }
  });
});
