import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { HTTPMethods, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { bearer, signIn } from '../support/dashboard-auth.js';
import { testLogger } from '../support/logger.js';

/**
 * OpenAPI at /docs: the document lists every route of the app with its zod schemas (as JSON
 * Schema) and the permission it needs; the UI and its assets come from this server under its CSP;
 * and all of it needs a signed-in user or an API token.
 */

interface Operation {
  tags?: string[];
  summary?: string;
  description?: string;
  'x-permission'?: string;
  security?: unknown[];
  parameters?: Array<{ in: string; name: string; required?: boolean; schema: Record<string, unknown> }>;
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
}

describe('dashboard OpenAPI at /docs', () => {
  let dir: string;
  let dashboard: Dashboard;
  let doc: Document;
  const routes: Array<{ method: HTTPMethods; url: string; permission: unknown; hidden: boolean }> = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-openapi-'));
    dashboard = await startDashboard(
      DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 }, auth: { secureCookies: false } }),
      testLogger(),
      {
        onFirstAdmin: () => undefined,
        configureHttp: (app) => {
          app.addHook('onRoute', (route: RouteOptions) => {
            const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true;
            for (const method of [route.method].flat()) routes.push({ method: method as HTTPMethods, url: route.url, permission: route.config?.permission, hidden });
          });
        },
      },
    );
    const response = await dashboard.http.inject({ method: 'GET', url: '/docs/json', headers: bearer(dashboard.apiToken) });
    expect(response.statusCode, response.body.slice(0, 500)).toBe(200);
    doc = response.json<Document>();
  });

  afterAll(async () => {
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

  it('lists every route of the app, each with the permission it declares', () => {
    expect(doc.openapi).toBe('3.1.0');
    const documented = routes.filter((route) => !route.hidden && route.method !== 'HEAD');
    expect(documented.length).toBeGreaterThan(25);
    for (const route of documented) {
      const operation = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.url}`).toBeDefined();
      expect(operation?.['x-permission'], `${route.method} ${route.url}`).toBe(route.permission);
      expect(operation?.tags?.length, `${route.method} ${route.url}`).toBe(1);
    }
    // /docs itself is not in the document, but it is a route like any other: it declares its permission.
    const docs = routes.filter((route) => route.url.startsWith('/docs'));
    expect(docs.map((route) => route.url)).toEqual(expect.arrayContaining(['/docs', '/docs/json', '/docs/static/*']));
    for (const route of docs) expect(route.permission, route.url).toBe('authenticated');
    expect(Object.keys(doc.paths).some((key) => key.startsWith('/docs'))).toBe(false);
    // Public routes say so; the others need a token or a session.
    expect(doc.paths['/health']?.get?.security).toEqual([]);
    expect(doc.paths['/api/v1/session']?.post?.security).toEqual([]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearer', 'session']);
  });

  it('carries the zod schemas of bodies, queries, parameters and responses', () => {
    const patch = doc.paths['/api/v1/devices/{id}']?.patch;
    expect(patch?.['x-permission']).toBe('devices:write');
    expect(patch?.parameters).toEqual([expect.objectContaining({ in: 'path', name: 'id', required: true })]);
    const body = patch?.requestBody?.content['application/json']?.schema as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(body.properties).sort()).toEqual(['enabled', 'name', 'reason', 'siteId']);
    expect(body.additionalProperties).toBe(false);

    const read = doc.paths['/api/v1/devices/{id}']?.get;
    const live = read?.responses['200']?.content?.['application/json']?.schema as { properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(Object.keys(live.properties).sort()).toEqual(['device', 'live']);
    expect(Object.keys(live.properties.live?.properties ?? {})).toEqual(
      expect.arrayContaining(['connection', 'lastSeen', 'softwareVersion', 'backlog', 'clock', 'config', 'health', 'attention']),
    );

    const search = doc.paths['/api/v1/punches']?.get;
    const parameters = Object.fromEntries((search?.parameters ?? []).map((p) => [p.name, p]));
    expect(Object.keys(parameters).sort()).toEqual(['cursor', 'deviceId', 'employeeId', 'from', 'limit', 'method', 'siteId', 'to', 'unknown']);
    expect(parameters.method?.schema).toMatchObject({ enum: ['badge', 'ble', 'mobile', 'manual'] });
    expect(parameters.unknown?.schema).toMatchObject({ enum: ['true', 'false'] });

    const feed = doc.paths['/api/v1/punches/live']?.get;
    expect(feed?.['x-permission']).toBe('punches:read');
    expect(Object.keys(feed?.responses['200']?.content ?? {})).toEqual(['text/event-stream']);
    expect(feed?.description).toMatch(/Last-Event-ID/);

    const overview = doc.paths['/api/v1/overview']?.get;
    expect(overview?.['x-permission']).toBe('overview:read');
    const shape = overview?.responses['200']?.content?.['application/json']?.schema as { properties: Record<string, unknown> };
    expect(Object.keys(shape.properties).sort()).toEqual(['attention', 'devices', 'generatedAt', 'punchesToday', 'recentPunches']);
  });

  it('needs a signed-in user or an API token (any role) for the document and the UI', async () => {
    for (const url of ['/docs', '/docs/json', '/docs/yaml', '/docs/static/swagger-ui-bundle.js']) {
      const anonymous = await dashboard.http.inject({ method: 'GET', url });
      expect(anonymous.statusCode, url).toBe(401);
    }
    const storeManager = (await dashboard.auth.tokens.create({ name: 'sm', role: 'store-manager', sites: ['mk-01'] }, undefined)).secret;
    expect((await dashboard.http.inject({ method: 'GET', url: '/docs/json', headers: bearer(storeManager) })).statusCode).toBe(200);
    await dashboard.auth.users.create({ username: 'reader', role: 'hr', password: 'docs-reader-password-0123', mustChangePassword: false }, undefined);
    const session = await signIn(dashboard.http, 'reader', 'docs-reader-password-0123');
    expect((await dashboard.http.inject({ method: 'GET', url: '/docs', headers: { cookie: String(session.cookie) } })).statusCode).toBe(200);
  });

  it('serves the UI and its assets itself, under a CSP without unsafe-inline', async () => {
    const page = await fetch(`${dashboard.url}/docs/`, { headers: bearer(dashboard.apiToken) });
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    // Every asset is this server's own: relative URLs, no CDN.
    for (const asset of assets) expect(asset, asset).toMatch(/^\.\/static\//);
    for (const asset of assets) {
      const response = await fetch(new URL(asset, `${dashboard.url}/docs/`), { headers: bearer(dashboard.apiToken) });
      expect(response.status, asset).toBe(200);
      expect((await response.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    // The rest of the app keeps the strict policy.
    const api = await fetch(`${dashboard.url}/health`);
    expect(api.headers.get('content-security-policy')).toMatch(/style-src 'self'(;|$)/);
    await api.arrayBuffer();
    // No request to the swagger.io validator.
    const initializer = await (await fetch(`${dashboard.url}/docs/static/swagger-initializer.js`, { headers: bearer(dashboard.apiToken) })).text();
    expect(initializer).toContain('validatorUrl: null');
  });
});
