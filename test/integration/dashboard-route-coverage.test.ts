import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { HTTPMethods, LightMyRequestResponse, RouteOptions } from 'fastify';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceCommand } from '../../core/messages.js';
import { deviceTopic } from '../../core/topics.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { asBrowser, bearer, signIn, type SignedIn } from '../support/dashboard-auth.js';
import { testLogger } from '../support/logger.js';
import { testPunch } from '../support/punch-fixture.js';
import { wifiOnlyPolicy } from '../support/site-policy.js';
import { rowsOf } from '../support/sqlite-rows.js';
import { waitFor } from '../support/wait.js';

/**
 * Every route of the dashboard has an inject() test of its happy path (status and what it answers
 * or changes) and, where it takes a body, a query or path parameters, of a validation error (400
 * with the field-level issue naming the field). Most routes are covered by their own suites (the
 * files named in {@link COVERED}); this file adds what they left out, on the real app (auth plugin,
 * SQLite file, embedded broker). Permissions of every route are walked by
 * dashboard-route-table.test.ts.
 *
 * The guard at the end collects the route table with an onRoute hook and compares it with
 * {@link COVERED}: a route added without tests (or removed, leaving the list stale) fails it, named.
 */

/** Where each route's happy path and validation errors are tested (files under test/). */
interface Coverage {
  happy: string[];
  /** Omitted: the route takes no body, query or path parameters of its own (no schema to refuse). */
  validation?: string[];
}

const HERE = 'integration/dashboard-route-coverage.test.ts';
const AUTH = 'integration/dashboard-auth.test.ts';
const DEVICES = 'integration/dashboard-devices.test.ts';
const EMPLOYEES = 'integration/dashboard-employees.test.ts';
const SITES = 'integration/dashboard-sites.test.ts';
const MOBILE = 'integration/dashboard-mobile-punches.test.ts';
const OVERVIEW = 'integration/dashboard-overview.test.ts';
const LIVE = 'integration/dashboard-live-feed.test.ts';
const OPENAPI = 'integration/dashboard-openapi.test.ts';
const INGEST = 'integration/dashboard-ingest.test.ts';
const CONFIG_PUSH = 'integration/config-push.test.ts';
const CONSOLE_ASSETS = 'e2e/console-assets.test.ts';
const NOTIFICATIONS = 'integration/notifications-routes.test.ts';
const ATTENDANCE = 'integration/dashboard-attendance.test.ts';
const REPORTS = 'integration/dashboard-reports.test.ts';
const ATTENDANCE_CONSOLE = 'e2e/attendance-console.test.ts';
const NOTIFICATIONS_CONSOLE = 'e2e/notifications-console.test.ts';
const IMPORT = 'integration/employee-import.test.ts';
const HRIS = 'integration/hris-sync.test.ts';
const OAUTH = 'integration/dashboard-oauth.test.ts';
const CLIENTS_CONSOLE = 'e2e/integration-clients-console.test.ts';
const ENROLMENT = 'integration/device-enrolment.test.ts';
const ENROLMENT_PAGE = 'e2e/device-enrolment-console.test.ts';
const METRICS = 'integration/metrics-end-to-end.test.ts';

/**
 * Every route but Fastify's automatic HEAD twins, with the files that test it. Add a route here
 * only together with its tests.
 */
const COVERED: Record<string, Coverage> = {
  'GET /health': { happy: [HERE] },
  // Prometheus metrics, scraped over real HTTP and parsed (takes no input).
  'GET /metrics': { happy: [METRICS] },
  // OpenAPI document and UI (@fastify/swagger-ui).
  'GET /docs': { happy: [HERE, OPENAPI] },
  'GET /docs/json': { happy: [OPENAPI, HERE] },
  'GET /docs/yaml': { happy: [HERE] },
  'GET /docs/static/index.html': { happy: [HERE] },
  'GET /docs/static/swagger-initializer.js': { happy: [HERE, OPENAPI] },
  'GET /docs/static/*': { happy: [HERE, OPENAPI], validation: [HERE] },
  // Session and accounts.
  'POST /api/v1/session': { happy: [AUTH], validation: [HERE, AUTH] },
  'GET /api/v1/session': { happy: [AUTH] },
  'DELETE /api/v1/session': { happy: [AUTH] },
  'POST /api/v1/session/password': { happy: [AUTH], validation: [AUTH] },
  'GET /api/v1/users': { happy: [AUTH], validation: [HERE] },
  'POST /api/v1/users': { happy: [AUTH], validation: [AUTH] },
  'GET /api/v1/users/:id': { happy: [HERE], validation: [HERE] },
  'PATCH /api/v1/users/:id': { happy: [AUTH], validation: [HERE] },
  'POST /api/v1/users/:id/password-reset': { happy: [AUTH], validation: [HERE] },
  'GET /api/v1/tokens': { happy: [AUTH], validation: [HERE] },
  'POST /api/v1/tokens': { happy: [AUTH], validation: [AUTH] },
  'GET /api/v1/tokens/:id': { happy: [HERE, AUTH], validation: [HERE] },
  'DELETE /api/v1/tokens/:id': { happy: [AUTH], validation: [HERE] },
  // Integration clients and their OAuth 2.0 token endpoint.
  'POST /api/v1/oauth/token': { happy: [OAUTH, CLIENTS_CONSOLE], validation: [OAUTH] },
  'GET /api/v1/integration-clients': { happy: [OAUTH, CLIENTS_CONSOLE], validation: [OAUTH] },
  'POST /api/v1/integration-clients': { happy: [OAUTH, CLIENTS_CONSOLE], validation: [OAUTH, CLIENTS_CONSOLE] },
  'GET /api/v1/integration-clients/:id': { happy: [OAUTH], validation: [OAUTH] },
  'PATCH /api/v1/integration-clients/:id': { happy: [OAUTH, CLIENTS_CONSOLE], validation: [OAUTH, CLIENTS_CONSOLE] },
  'DELETE /api/v1/integration-clients/:id': { happy: [OAUTH, CLIENTS_CONSOLE], validation: [OAUTH] },
  'POST /api/v1/integration-clients/:id/secret': { happy: [OAUTH, CLIENTS_CONSOLE], validation: [OAUTH] },
  'GET /api/v1/audit': { happy: [AUTH], validation: [HERE] },
  // Punches, devices, live feed, overview.
  'GET /api/v1/punches': { happy: [HERE, INGEST, AUTH], validation: [HERE] },
  'GET /api/v1/punches/live': { happy: [LIVE], validation: [LIVE] },
  'POST /api/v1/punches/assign-unknown': { happy: [EMPLOYEES], validation: [EMPLOYEES] },
  'GET /api/v1/devices': { happy: [DEVICES, INGEST], validation: [DEVICES] },
  'POST /api/v1/devices': { happy: [DEVICES], validation: [HERE] },
  'GET /api/v1/devices/:id': { happy: [DEVICES], validation: [HERE] },
  'PATCH /api/v1/devices/:id': { happy: [DEVICES], validation: [DEVICES] },
  'POST /api/v1/devices/:id/commands': { happy: [HERE], validation: [HERE] },
  'PUT /api/v1/devices/:id/config': { happy: [CONFIG_PUSH, AUTH], validation: [HERE] },
  'DELETE /api/v1/devices/:id/config': { happy: [CONFIG_PUSH], validation: [HERE] },
  'GET /api/v1/devices/:id/config-status': { happy: [HERE, CONFIG_PUSH], validation: [HERE] },
  // Device enrolment: the bundle's one-time download, re-enrolment of a replaced box.
  'GET /api/v1/enrolment/:token': { happy: [ENROLMENT, ENROLMENT_PAGE], validation: [ENROLMENT] },
  'POST /api/v1/enrolment/:token': { happy: [ENROLMENT], validation: [ENROLMENT] },
  'POST /api/v1/devices/:id/enrolment': { happy: [ENROLMENT], validation: [ENROLMENT] },
  'GET /api/v1/overview': { happy: [OVERVIEW], validation: [OVERVIEW] },
  // Sites and mobile punches.
  'GET /api/v1/sites': { happy: [SITES], validation: [SITES] },
  'GET /api/v1/sites/:siteId': { happy: [SITES], validation: [HERE] },
  'PUT /api/v1/sites/:siteId': { happy: [SITES], validation: [SITES] },
  'POST /api/v1/sites/:siteId/beacons': { happy: [SITES], validation: [SITES] },
  'DELETE /api/v1/sites/:siteId/beacons/:beaconId': { happy: [SITES], validation: [SITES] },
  'POST /api/v1/mobile-punches': { happy: [MOBILE], validation: [MOBILE] },
  // Employees, badges, BLE consent.
  'GET /api/v1/employees': { happy: [EMPLOYEES], validation: [EMPLOYEES] },
  'GET /api/v1/employees/:employeeNumber': { happy: [EMPLOYEES], validation: [HERE] },
  'PUT /api/v1/employees/:employeeNumber': { happy: [EMPLOYEES], validation: [EMPLOYEES] },
  'GET /api/v1/employees/:employeeNumber/badges': { happy: [EMPLOYEES], validation: [HERE] },
  'POST /api/v1/employees/:employeeNumber/badges': { happy: [EMPLOYEES], validation: [EMPLOYEES] },
  'POST /api/v1/employees/:employeeNumber/badges/:kind/:uid/revoke': { happy: [EMPLOYEES, CONFIG_PUSH], validation: [HERE] },
  'GET /api/v1/employees/:employeeNumber/ble-consent': { happy: [EMPLOYEES], validation: [HERE] },
  'PUT /api/v1/employees/:employeeNumber/ble-consent': { happy: [EMPLOYEES], validation: [EMPLOYEES] },
  // Alerts: webhook endpoints, the notifications sent, replays.
  'GET /api/v1/webhooks': { happy: [NOTIFICATIONS], validation: [NOTIFICATIONS] },
  'POST /api/v1/webhooks': { happy: [NOTIFICATIONS], validation: [NOTIFICATIONS] },
  'GET /api/v1/webhooks/:id': { happy: [NOTIFICATIONS], validation: [NOTIFICATIONS] },
  'PATCH /api/v1/webhooks/:id': { happy: [NOTIFICATIONS], validation: [NOTIFICATIONS] },
  'DELETE /api/v1/webhooks/:id': { happy: [NOTIFICATIONS], validation: [NOTIFICATIONS] },
  'POST /api/v1/webhooks/:id/test': { happy: [NOTIFICATIONS], validation: [NOTIFICATIONS] },
  'GET /api/v1/notifications': { happy: [NOTIFICATIONS], validation: [NOTIFICATIONS] },
  'GET /api/v1/notifications/:id/deliveries': { happy: [NOTIFICATIONS], validation: [NOTIFICATIONS] },
  'POST /api/v1/deliveries/:id/replay': { happy: [NOTIFICATIONS], validation: [NOTIFICATIONS] },
  // Attendance: rules and holidays, shifts, schedules, overrides, results, leave, make-up punches.
  'GET /api/v1/attendance/settings': { happy: [ATTENDANCE] },
  'PUT /api/v1/attendance/settings': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'GET /api/v1/shifts': { happy: [ATTENDANCE] },
  'PUT /api/v1/shifts/:id': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'DELETE /api/v1/shifts/:id': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'GET /api/v1/schedules': { happy: [ATTENDANCE] },
  'PUT /api/v1/schedules/:id': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'DELETE /api/v1/schedules/:id': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'GET /api/v1/schedule-overrides': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'PUT /api/v1/schedule-overrides/:employeeNumber/:date': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'DELETE /api/v1/schedule-overrides/:employeeNumber/:date': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'GET /api/v1/attendance': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'GET /api/v1/leave': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'POST /api/v1/leave': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'POST /api/v1/leave/import': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'POST /api/v1/leave/:id/cancel': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'GET /api/v1/departments': { happy: [IMPORT] },
  'PUT /api/v1/departments/:code': { happy: [IMPORT], validation: [IMPORT] },
  'DELETE /api/v1/departments/:code': { happy: [IMPORT], validation: [IMPORT] },
  'GET /api/v1/employee-imports/template.csv': { happy: [IMPORT] },
  'GET /api/v1/employee-imports/template.xlsx': { happy: [IMPORT] },
  'POST /api/v1/employee-imports/preview': { happy: [IMPORT], validation: [IMPORT] },
  'POST /api/v1/employee-imports': { happy: [IMPORT], validation: [IMPORT] },
  'POST /api/v1/hris/employees': { happy: [HRIS], validation: [HRIS] },
  'GET /api/v1/makeup-requests': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'GET /api/v1/makeup-requests/:id': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'POST /api/v1/makeup-requests': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'POST /api/v1/makeup-requests/:id/approve': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'POST /api/v1/makeup-requests/:id/reject': { happy: [ATTENDANCE], validation: [ATTENDANCE] },
  'GET /api/v1/reports/daily': { happy: [REPORTS], validation: [REPORTS] },
  'GET /api/v1/reports/monthly': { happy: [REPORTS], validation: [REPORTS] },
  'GET /api/v1/reports/payroll': { happy: [REPORTS], validation: [REPORTS] },
  'GET /api/v1/reports/hotspots': { happy: [REPORTS], validation: [REPORTS] },
  // The web console: page shells, browser code, Leaflet.
  'GET /overview': { happy: [HERE] },
  'GET /sites': { happy: [HERE, CONSOLE_ASSETS] },
  'GET /devices': { happy: [HERE] },
  'GET /employees': { happy: [HERE] },
  'GET /punches': { happy: [HERE] },
  'GET /attendance': { happy: [HERE, ATTENDANCE_CONSOLE] },
  'GET /leave': { happy: [HERE, ATTENDANCE_CONSOLE] },
  'GET /makeup': { happy: [HERE, ATTENDANCE_CONSOLE] },
  'GET /schedules': { happy: [HERE, ATTENDANCE_CONSOLE] },
  'GET /notifications': { happy: [HERE, NOTIFICATIONS_CONSOLE] },
  'GET /users': { happy: [HERE] },
  'GET /tokens': { happy: [HERE] },
  'GET /audit': { happy: [HERE] },
  'GET /sign-in': { happy: [CONSOLE_ASSETS] },
  'GET /': { happy: [CONSOLE_ASSETS] },
  // Wildcard paths without a schema: a path outside the folder is refused (403/404).
  'GET /assets/*': { happy: [CONSOLE_ASSETS], validation: [CONSOLE_ASSETS] },
  'GET /vendor/leaflet/*': { happy: [CONSOLE_ASSETS], validation: [CONSOLE_ASSETS] },
};

type Json = Record<string, any>;
interface Issue {
  in: string;
  field: string;
  message: string;
}
interface Answer {
  status: number;
  body: Json;
  raw: string;
  response: LightMyRequestResponse;
}

const PASSWORD = 'coverage-password-0123456789';

describe('dashboard routes: happy paths and validation errors not covered elsewhere', () => {
  let dir: string;
  let dashboard: Dashboard;
  let session: SignedIn;
  const routes: Array<{ method: HTTPMethods; url: string; schema: Json | undefined }> = [];
  const clients: MqttClient[] = [];
  const rows = (sql: string): Promise<Json[]> => rowsOf(path.join(dir, 'dashboard.sqlite'), sql);
  const admin = (): Record<string, string> => bearer(dashboard.apiToken);

  async function api(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = admin()): Promise<Answer> {
    const response = await dashboard.http.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Json }) });
    let body: Json = {};
    try {
      body = response.body ? response.json<Json>() : {};
    } catch {
      // Not JSON (pages, YAML, scripts): the raw body is there.
    }
    return { status: response.statusCode, body, raw: response.body, response };
  }

  /** A 400 whose issues (one or more per field) name exactly these fields (in that part of the request), each also named in the error text. */
  function expectRefused(answer: Answer, part: 'body' | 'params' | 'querystring', fields: string[]): void {
    const where = `${answer.status} ${answer.raw}`;
    expect(answer.status, where).toBe(400);
    const issues = answer.body.issues as Issue[];
    expect([...new Set(issues.map((issue) => issue.field))].sort(), where).toEqual([...fields].sort());
    for (const issue of issues) {
      expect(issue.in, where).toBe(part);
      expect(issue.message, where).toEqual(expect.any(String));
      expect(answer.body.error, where).toContain(`${issue.field}: `);
    }
  }

  async function registerDevice(id: string): Promise<{ username: string; clientId: string; password: string; url: string }> {
    const registered = await api('POST', '/api/v1/devices', { id, siteId: 'mk-01' });
    expect(registered.status, registered.raw).toBe(201);
    return registered.body.mqtt;
  }

  async function putEmployee(employeeNumber: string): Promise<void> {
    const put = await api('PUT', `/api/v1/employees/${employeeNumber}`, { name: `Staff ${employeeNumber}`, sites: ['mk-01'], status: 'active' });
    expect(put.status, put.raw).toBe(201);
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-route-coverage-'));
    dashboard = await startDashboard(
      DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 }, auth: { loginAttemptsPerMinute: 1000 } }),
      testLogger(),
      {
        onFirstAdmin: () => undefined,
        configureHttp: (app) => {
          app.addHook('onRoute', (route: RouteOptions) => {
            for (const method of [route.method].flat()) routes.push({ method: method as HTTPMethods, url: route.url, schema: route.schema as Json | undefined });
          });
        },
      },
    );
    for (const id of ['mk-01', 'tst-02']) {
      const put = await api('PUT', `/api/v1/sites/${id}`, { name: `Site ${id}`, policy: wifiOnlyPolicy(id) });
      expect(put.status, put.raw).toBe(201);
    }
    await dashboard.auth.users.create({ username: 'coverage-admin', role: 'admin', password: PASSWORD, mustChangePassword: false }, undefined);
    session = await signIn(dashboard.http, 'coverage-admin', PASSWORD);
    expect(session.status).toBe(200);
  });

  afterAll(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true).catch(() => undefined);
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe('health and the OpenAPI document', () => {
    it('GET /health reports the broker connection and the punch count', async () => {
      const before = await api('GET', '/health', undefined, {});
      expect(before.status, before.raw).toBe(200);
      expect(before.body).toMatchObject({ ok: true, mqttConnected: true, broker: dashboard.brokerUrl, ingest: expect.any(Object), punches: expect.any(Number) });
      await dashboard.punches.insertBatch([testPunch({ deviceId: 'gw-health', siteId: 'mk-01' })], new Date().toISOString());
      expect((await api('GET', '/health', undefined, {})).body.punches).toBe(before.body.punches + 1);
    });

    it('serves the UI, its initializer, its assets and the document as JSON and YAML', async () => {
      const ui = await api('GET', '/docs', undefined, asBrowser(session));
      expect(ui.status, ui.raw).toBe(200);
      expect(ui.response.headers['content-type']).toMatch(/^text\/html/);
      expect(ui.raw).toContain('<title>Swagger UI</title>');
      expect(ui.raw).toContain('src="/docs/static/swagger-ui-bundle.js"');

      const index = await api('GET', '/docs/static/index.html', undefined, admin());
      expect(index.status, index.raw).toBe(302);
      expect(index.response.headers.location).toBe('/docs/');

      const initializer = await api('GET', '/docs/static/swagger-initializer.js', undefined, admin());
      expect(initializer.status).toBe(200);
      expect(initializer.response.headers['content-type']).toMatch(/javascript/);
      expect(initializer.raw).toContain('validatorUrl: null');

      const bundle = await api('GET', '/docs/static/swagger-ui-bundle.js', undefined, admin());
      expect(bundle.status).toBe(200);
      expect(bundle.response.headers['content-type']).toMatch(/javascript/);
      expect(bundle.raw.length).toBeGreaterThan(1000);
      // Nothing outside the package's folder.
      for (const url of ['/docs/static/../../package.json', '/docs/static/%2e%2e/%2e%2e/package.json', '/docs/static/nothing.js']) {
        const outside = await api('GET', url, undefined, admin());
        expect([403, 404], url).toContain(outside.status);
        expect(outside.raw, url).not.toContain('"name": "punchgate"');
      }

      const json = await api('GET', '/docs/json', undefined, admin());
      expect(json.status).toBe(200);
      expect(json.body).toMatchObject({ openapi: '3.1.0', info: { title: 'punchgate dashboard API' } });
      expect(Object.keys(json.body.paths)).toContain('/api/v1/punches');

      const yaml = await api('GET', '/docs/yaml', undefined, admin());
      expect(yaml.status).toBe(200);
      expect(yaml.response.headers['content-type']).toMatch(/yaml/);
      expect(yaml.raw).toMatch(/^openapi: 3\.1\.0$/m);
      expect(yaml.raw).toContain('/api/v1/punches:');
    });
  });

  describe('the web console', () => {
    const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

    it('serves each page shell to a signed-in browser whose role has it', async () => {
      for (const [page, url] of [
        ['overview', '/overview'],
        ['sites', '/sites'],
        ['devices', '/devices'],
        ['employees', '/employees'],
        ['punches', '/punches'],
        ['attendance', '/attendance'],
        ['leave', '/leave'],
        ['makeup', '/makeup'],
        ['schedules', '/schedules'],
        ['notifications', '/notifications'],
        ['users', '/users'],
        ['tokens', '/tokens'],
        ['audit', '/audit'],
      ] as const) {
        const answer = await api('GET', url, undefined, { ...html, ...asBrowser(session, false) });
        expect(answer.status, `${url}: ${answer.raw.slice(0, 200)}`).toBe(200);
        expect(answer.response.headers['content-type'], url).toMatch(/^text\/html/);
        expect(answer.response.headers['cache-control'], url).toBe('no-store');
        expect(answer.raw, url).toContain(`data-page="${page}"`);
        expect(answer.raw, url).toContain('<script type="module" src="/assets/app.js"></script>');
        // Only the map page loads Leaflet.
        expect(answer.raw.includes('/vendor/leaflet/leaflet.js'), url).toBe(page === 'sites');
      }
    });
  });

  describe('session and accounts', () => {
    it('POST /session refuses a body with a missing password, an empty username and an unknown field, naming each', async () => {
      expectRefused(await api('POST', '/api/v1/session', { username: 'coverage-admin' }, {}), 'body', ['password']);
      const several = await api('POST', '/api/v1/session', { username: '  ', password: PASSWORD, remember: true }, {});
      expectRefused(several, 'body', ['username', 'remember']);
      expect(several.response.headers['set-cookie']).toBeUndefined();
    });

    it('GET /users/:id reads one user without its password hash; a malformed id is refused', async () => {
      const created = await api('POST', '/api/v1/users', { username: 'coverage-hr', role: 'hr' });
      expect(created.status, created.raw).toBe(201);
      const id = created.body.user.id as string;
      const read = await api('GET', `/api/v1/users/${id}`);
      expect(read.status, read.raw).toBe(200);
      expect(read.body).toEqual({ user: created.body.user });
      expect(read.body.user).toMatchObject({ id, username: 'coverage-hr', role: 'hr', sites: 'all', mustChangePassword: true, disabled: false });
      expect(read.raw).not.toContain('scrypt$');
      expect(read.raw).not.toContain(created.body.oneTimePassword);

      expectRefused(await api('GET', '/api/v1/users/not-a-user-id'), 'params', ['id']);
    });

    it('GET /users refuses a bad limit and an unknown query parameter', async () => {
      expectRefused(await api('GET', '/api/v1/users?limit=0&sort=name'), 'querystring', ['limit', 'sort']);
      const cursor = await api('GET', '/api/v1/users?cursor=nonsense');
      expectRefused(cursor, 'querystring', ['cursor']);
    });

    it('PATCH /users/:id and POST /users/:id/password-reset refuse bad fields and ids, and change nothing', async () => {
      const created = await api('POST', '/api/v1/users', { username: 'coverage-patch', role: 'hr' });
      expect(created.status, created.raw).toBe(201);
      const id = created.body.user.id as string;
      const before = await rows(`SELECT * FROM users WHERE id = '${id}'`);

      expectRefused(await api('PATCH', `/api/v1/users/${id}`, { role: 'boss', disabled: 'yes', colour: 'red' }), 'body', ['role', 'disabled', 'colour']);
      expectRefused(await api('PATCH', `/api/v1/users/${id}`, {}), 'body', ['']);
      // A store manager needs sites: the account check names the field too.
      expectRefused(await api('PATCH', `/api/v1/users/${id}`, { role: 'store-manager' }), 'body', ['sites']);
      expectRefused(await api('PATCH', '/api/v1/users/not-a-user-id', { role: 'facilities' }), 'params', ['id']);
      expectRefused(await api('POST', '/api/v1/users/not-a-user-id/password-reset'), 'params', ['id']);
      expect(await rows(`SELECT * FROM users WHERE id = '${id}'`)).toEqual(before);
    });

    it('GET /tokens/:id reads a token without its secret; the token routes refuse bad ids and queries, and revoke nothing', async () => {
      const created = await api('POST', '/api/v1/tokens', { name: 'coverage token', role: 'hr' });
      expect(created.status, created.raw).toBe(201);
      const id = created.body.token.id as string;
      const read = await api('GET', `/api/v1/tokens/${id}`);
      expect(read.status, read.raw).toBe(200);
      expect(read.body).toEqual({ token: { ...created.body.token } });
      expect(read.raw).not.toContain(String(created.body.secret).slice(8));

      expectRefused(await api('GET', '/api/v1/tokens/not-a-token-id'), 'params', ['id']);
      expectRefused(await api('DELETE', '/api/v1/tokens/not-a-token-id'), 'params', ['id']);
      expectRefused(await api('GET', '/api/v1/tokens?includeRevoked=yes&limit=501'), 'querystring', ['includeRevoked', 'limit']);
      expect(await rows(`SELECT revoked_at FROM api_tokens WHERE id = '${id}'`)).toEqual([{ revoked_at: null }]);
    });

    it('GET /audit refuses an unknown actor kind, an empty filter and a bad time', async () => {
      expectRefused(await api('GET', '/api/v1/audit?actorKind=robot&entity=&from=yesterday'), 'querystring', ['actorKind', 'entity', 'from']);
    });
  });

  describe('punches', () => {
    it('GET /punches finds a punch by its filters, and refuses bad ones naming the field', async () => {
      const known = testPunch({ deviceId: 'gw-search', siteId: 'tst-02', employeeId: 'E901', at: '2026-04-01T01:00:00.000Z', seq: 1 });
      const unknown = testPunch({ deviceId: 'gw-search', siteId: 'tst-02', employeeId: null, at: '2026-04-01T02:00:00.000Z', seq: 2, credential: { kind: 'mifare', uid: '0A0B0C0D' } });
      await dashboard.punches.insertBatch([known, unknown], new Date().toISOString());
      const found = await api('GET', '/api/v1/punches?deviceId=gw-search&unknown=true');
      expect(found.status, found.raw).toBe(200);
      expect(found.body).toEqual({ punches: [unknown], nextCursor: null });
      const window = await api('GET', '/api/v1/punches?deviceId=gw-search&from=2026-04-01T00:00:00.000Z&to=2026-04-01T01:30:00.000Z');
      expect(window.body.punches.map((punch: Json) => punch.id)).toEqual([known.id]);

      expectRefused(await api('GET', '/api/v1/punches?method=teleport&from=yesterday&limit=1001'), 'querystring', ['method', 'from', 'limit']);
      expectRefused(await api('GET', '/api/v1/punches?unknown=true&employeeId=E901'), 'querystring', ['unknown']);
      expectRefused(await api('GET', '/api/v1/punches?from=2026-04-01T01:00:00.000Z&to=2026-04-01T01:00:00.000Z'), 'querystring', ['to']);
      expectRefused(await api('GET', '/api/v1/punches?cursor=garbage'), 'querystring', ['cursor']);
    });
  });

  describe('devices', () => {
    it('POST /devices refuses a bad device id and an unknown field, and registers nothing', async () => {
      expectRefused(await api('POST', '/api/v1/devices', { id: 'bad/id', siteId: 'mk-01', colour: 'red' }), 'body', ['id', 'colour']);
      expectRefused(await api('POST', '/api/v1/devices', { id: 'gw-no-site' }), 'body', ['siteId']);
      expect(await rows("SELECT id FROM devices WHERE id IN ('bad/id', 'gw-no-site')")).toEqual([]);
    });

    it('GET /devices/:id refuses a malformed id and a bad threshold', async () => {
      await registerDevice('gw-read');
      expectRefused(await api('GET', '/api/v1/devices/not%20a%20device'), 'params', ['id']);
      expectRefused(await api('GET', '/api/v1/devices/gw-read?behindMinutes=0'), 'querystring', ['behindMinutes']);
      expect((await api('GET', '/api/v1/devices/gw-read?behindMinutes=5')).status).toBe(200);
    });

    it('POST /devices/:id/commands sends the command to the gateway and answers with its reply', async () => {
      const credentials = await registerDevice('gw-cmd');
      const gateway = await mqtt.connectAsync(credentials.url, { clientId: credentials.clientId, username: credentials.username, password: credentials.password, reconnectPeriod: 0 });
      clients.push(gateway);
      const received: DeviceCommand[] = [];
      gateway.on('message', (topic, payload) => {
        if (topic !== deviceTopic('gw-cmd', 'commands')) return;
        const command = DeviceCommand.parse(JSON.parse(payload.toString()));
        received.push(command);
        void gateway.publishAsync(deviceTopic('gw-cmd', 'replies'), JSON.stringify({ requestId: command.requestId, ok: true, result: { blinked: ['door'] } }), { qos: 1 });
      });
      await gateway.subscribeAsync(deviceTopic('gw-cmd', 'commands'), { qos: 1 });

      const answer = await api('POST', '/api/v1/devices/gw-cmd/commands', { command: 'identify', args: { seconds: 3 }, waitSeconds: 20 });
      expect(answer.status, answer.raw).toBe(200);
      expect(answer.body).toEqual({ requestId: expect.any(String), reply: { requestId: answer.body.requestId, ok: true, result: { blinked: ['door'] } } });
      expect(received).toEqual([{ requestId: answer.body.requestId, command: 'identify', args: { seconds: 3 } }]);
    });

    it('POST /devices/:id/commands refuses an unknown command, a wait too long and a malformed id, and sends nothing', async () => {
      const credentials = await registerDevice('gw-cmd-bad');
      const gateway = await mqtt.connectAsync(credentials.url, { clientId: credentials.clientId, username: credentials.username, password: credentials.password, reconnectPeriod: 0 });
      clients.push(gateway);
      const received: string[] = [];
      gateway.on('message', (_topic, payload) => received.push(payload.toString()));
      await gateway.subscribeAsync(deviceTopic('gw-cmd-bad', 'commands'), { qos: 1 });

      expectRefused(await api('POST', '/api/v1/devices/gw-cmd-bad/commands', { command: 'explode', waitSeconds: 61, requestId: 'mine' }), 'body', ['command', 'waitSeconds', 'requestId']);
      expectRefused(await api('POST', '/api/v1/devices/bad%2Fid/commands', { command: 'identify', waitSeconds: 0 }), 'params', ['id']);
      // A command sent afterwards is the first the gateway gets: the refused ones never left.
      const sent = await api('POST', '/api/v1/devices/gw-cmd-bad/commands', { command: 'resync', waitSeconds: 0 });
      expect(sent.status, sent.raw).toBe(202);
      expect(sent.body).toEqual({ requestId: expect.any(String), reply: null });
      await waitFor('the command at the gateway', () => received.length > 0);
      expect(JSON.parse(received[0]!)).toEqual({ command: 'resync', requestId: sent.body.requestId });
    });

    it('PUT and DELETE /devices/:id/config and GET /devices/:id/config-status: pin, read the status, refuse bad input without pinning', async () => {
      await registerDevice('gw-pin');
      const fresh = await api('GET', '/api/v1/devices/gw-pin/config-status');
      expect(fresh.status, fresh.raw).toBe(200);
      expect(fresh.body).toMatchObject({ deviceId: 'gw-pin', siteId: 'mk-01', applied: null, configError: null });

      const refused = await api('PUT', '/api/v1/devices/gw-pin/config', { site: { id: 'mk-01', name: '', timeZone: 'Mars/Olympus' }, roster: 'everyone', version: 9 });
      expectRefused(refused, 'body', ['site.name', 'site.timeZone', 'roster', 'version']);
      expectRefused(await api('PUT', '/api/v1/devices/bad%2Fid/config', { site: { id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong' }, roster: [] }), 'params', ['id']);
      expect(await rows("SELECT action FROM audit_log WHERE entity = 'device' AND entity_id = 'gw-pin' AND action LIKE 'device.config%'")).toEqual([]);
      expect(await rows("SELECT pinned FROM device_configs WHERE device_id = 'gw-pin' AND pinned = 1")).toEqual([]);

      const pinned = await api('PUT', '/api/v1/devices/gw-pin/config', { site: { id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong' }, roster: [] });
      expect(pinned.status, pinned.raw).toBe(200);
      expect(pinned.body).toEqual({ version: expect.any(Number) });
      const status = await api('GET', '/api/v1/devices/gw-pin/config-status');
      expect(status.body).toMatchObject({ deviceId: 'gw-pin', published: pinned.body.version, publishedAt: expect.any(String), applied: null, pending: true });
      expect(await rows("SELECT version, pinned FROM device_configs WHERE device_id = 'gw-pin'")).toEqual([{ version: pinned.body.version, pinned: 1 }]);

      expectRefused(await api('DELETE', '/api/v1/devices/bad%2Fid/config'), 'params', ['id']);
      expectRefused(await api('GET', '/api/v1/devices/bad%2Fid/config-status'), 'params', ['id']);
      expect(await rows("SELECT pinned FROM device_configs WHERE device_id = 'gw-pin'")).toEqual([{ pinned: 1 }]);
      const unpinned = await api('DELETE', '/api/v1/devices/gw-pin/config');
      expect(unpinned.status, unpinned.raw).toBe(200);
      expect(unpinned.body).toEqual({ pinned: false, wasPinned: true });
    });
  });

  describe('sites and employees', () => {
    it('GET /sites/:siteId refuses a malformed site id', async () => {
      expectRefused(await api('GET', '/api/v1/sites/-bad'), 'params', ['siteId']);
      expect((await api('GET', '/api/v1/sites/mk-01')).body.site).toMatchObject({ id: 'mk-01', name: 'Site mk-01' });
    });

    it('the employee reads refuse a malformed employee number and bad paging', async () => {
      await putEmployee('E900');
      expectRefused(await api('GET', '/api/v1/employees/-E900'), 'params', ['employeeNumber']);
      expectRefused(await api('GET', '/api/v1/employees/E900/badges?limit=0&page=2'), 'querystring', ['limit', 'page']);
      expectRefused(await api('GET', '/api/v1/employees/-E900/badges'), 'params', ['employeeNumber']);
      expectRefused(await api('GET', '/api/v1/employees/E900/ble-consent?limit=many'), 'querystring', ['limit']);
      expectRefused(await api('GET', '/api/v1/employees/E900/ble-consent?cursor=nonsense'), 'querystring', ['cursor']);
      // And the same reads answer through the real app.
      expect((await api('GET', '/api/v1/employees/E900')).body.employee).toMatchObject({ employeeNumber: 'E900', sites: ['mk-01'] });
      expect((await api('GET', '/api/v1/employees/E900/ble-consent')).body).toEqual({ consent: null, history: [], nextCursor: null });
    });

    it('POST .../badges/:kind/:uid/revoke refuses an unknown kind and an empty reason, and revokes nothing', async () => {
      await putEmployee('E901');
      const assigned = await api('POST', '/api/v1/employees/E901/badges', { kind: 'mifare', uid: '04A1B2C3' });
      expect(assigned.status, assigned.raw).toBe(201);

      expectRefused(await api('POST', '/api/v1/employees/E901/badges/nfc/04A1B2C3/revoke', {}), 'params', ['kind']);
      expectRefused(await api('POST', '/api/v1/employees/E901/badges/mifare/04A1B2C3/revoke', { reason: '   ', why: 'lost' }), 'body', ['reason', 'why']);
      expect(await rows("SELECT revoked_at FROM badge_assignments WHERE employee_number = 'E901'")).toEqual([{ revoked_at: null }]);

      const revoked = await api('POST', '/api/v1/employees/E901/badges/mifare/04A1B2C3/revoke', { reason: 'card lost' });
      expect(revoked.status, revoked.raw).toBe(200);
      expect(revoked.body.badge).toMatchObject({ employeeNumber: 'E901', credential: { kind: 'mifare', uid: '04A1B2C3' }, revokedAt: expect.any(String), revokeReason: 'card lost' });
    });
  });

  describe('guard', () => {
    it('knows every route: a route without tests, or one listed that no longer exists, fails here by name', () => {
      const routeKeys = routes.filter((route) => route.method !== 'HEAD').map((route) => `${route.method} ${route.url}`);
      const present = new Set(routeKeys);
      expect(routeKeys.length, 'each route once').toBe(present.size);
      const untested = [...present].filter((key) => !(key in COVERED)).sort();
      const gone = Object.keys(COVERED)
        .filter((key) => !present.has(key))
        .sort();
      expect(untested, 'routes without tests: write their happy-path and validation tests, then list them in COVERED').toEqual([]);
      expect(gone, 'routes listed in COVERED that the app no longer has').toEqual([]);

      // HEAD routes are only Fastify's twins of GET routes (for /docs also with a trailing slash).
      const heads = routes.filter((route) => route.method === 'HEAD').map((route) => route.url);
      const lonelyHeads = heads.filter((url) => !present.has(`GET ${url}`) && !present.has(`GET ${url.replace(/\/$/, '')}`));
      expect(lonelyHeads, 'HEAD routes without a GET twin').toEqual([]);

      // A route that takes a body, query or path parameters must name where its validation is tested.
      const takesInput = (schema: Json | undefined, url: string): boolean => Boolean(schema?.body || schema?.querystring || schema?.params || url.includes(':') || url.includes('*'));
      const withoutValidation = routes
        .filter((route) => route.method !== 'HEAD' && takesInput(route.schema, route.url) && !COVERED[`${route.method} ${route.url}`]?.validation?.length)
        .map((route) => `${route.method} ${route.url}`);
      expect(withoutValidation, 'routes taking input without a validation test').toEqual([]);
      for (const [key, coverage] of Object.entries(COVERED)) expect(coverage.happy.length, key).toBeGreaterThan(0);
    });
  });
});
