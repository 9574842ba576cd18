import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { bearer } from '../support/dashboard-auth.js';
import { testLogger } from '../support/logger.js';
import { rowsOf } from '../support/sqlite-rows.js';

/**
 * Integration clients and the OAuth 2.0 client-credentials token endpoint (issue 7, HRIS sync)
 * through app.inject() on the real dashboard (auth plugin, real SQLite file, embedded broker),
 * with the dashboard's clock injected: a client made by an admin gets a token by HTTP Basic or
 * by body parameters, uses it where its scopes allow (and only within its sites), is refused
 * elsewhere (403), after expiry (401), after revocation and after a secret rotation (401 at once);
 * every RFC 6749 §5.2 error with its status and headers; the management routes' validation.
 */

const T0 = Date.parse('2026-03-02T01:00:00.000Z');
const TOKEN_URL = '/api/v1/oauth/token';
const FORM = 'application/x-www-form-urlencoded';

type Json = Record<string, any>;
interface Answer {
  status: number;
  body: Json;
  headers: Json;
  raw: string;
}

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

function basic(id: string, secret: string): Record<string, string> {
  // RFC 6749 §2.3.1: each part form-encoded, then base64 of id:secret.
  return { authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` };
}

function site(name: string): Json {
  return { name, policy: { geofence: { kind: 'circle', center: { lat: 22.3193, lon: 114.1694 }, radiusMetres: 60 }, accept: { anyOf: 1, factors: ['gps'] } } };
}

async function startAt(dir: string, clock: () => number, extraAuth: Json = {}): Promise<Dashboard> {
  return startDashboard(
    DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 }, auth: { loginAttemptsPerMinute: 1000, ...extraAuth } }),
    testLogger(),
    { now: () => new Date(clock()), onFirstAdmin: () => undefined },
  );
}

describe('dashboard: integration clients and POST /api/v1/oauth/token', () => {
  let dir: string;
  let dashboard: Dashboard;
  let nowMs = T0;
  const rows = (sql: string): Promise<Json[]> => rowsOf(path.join(dir, 'dashboard.sqlite'), sql);
  const admin = (): Record<string, string> => bearer(dashboard.apiToken);

  async function send(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, payload?: unknown): Promise<Answer> {
    const response = await dashboard.http.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Json }) });
    let body: Json = {};
    try {
      body = response.body ? response.json<Json>() : {};
    } catch {
      // Not JSON: the raw body is there.
    }
    return { status: response.statusCode, body, headers: response.headers, raw: response.body };
  }
  const api = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers = admin()): Promise<Answer> => send(method, `/api/v1${url}`, headers, payload);

  /** A token request with a form body (a string, sent as it is) and these headers. */
  const tokenRequest = (form: string, headers: Record<string, string> = {}, contentType = FORM): Promise<Answer> =>
    send('POST', TOKEN_URL, { 'content-type': contentType, ...headers }, form);

  async function newClient(body: Json): Promise<{ id: string; clientId: string; secret: string; client: Json }> {
    const made = await api('POST', '/integration-clients', body);
    expect(made.status, made.raw).toBe(201);
    return { id: made.body.client.id, clientId: made.body.client.clientId, secret: made.body.clientSecret, client: made.body.client };
  }

  async function accessToken(clientId: string, secret: string, scope?: string): Promise<string> {
    const answer = await tokenRequest(`grant_type=client_credentials${scope === undefined ? '' : `&scope=${encodeURIComponent(scope)}`}`, basic(clientId, secret));
    expect(answer.status, answer.raw).toBe(200);
    return answer.body.access_token as string;
  }

  /** An RFC 6749 §5.2 error: exactly `{error, error_description}`, no-store, and for invalid_client 401 with WWW-Authenticate: Basic. */
  function expectOAuthError(answer: Answer, error: string, status = error === 'invalid_client' ? 401 : 400): void {
    const where = `${answer.status} ${answer.raw}`;
    expect(answer.status, where).toBe(status);
    expect(Object.keys(answer.body).sort(), where).toEqual(['error', 'error_description']);
    expect(answer.body.error, where).toBe(error);
    expect(answer.body.error_description, where).toEqual(expect.any(String));
    expect(answer.headers['cache-control'], where).toBe('no-store');
    if (error === 'invalid_client') expect(answer.headers['www-authenticate'], where).toMatch(/^Basic realm="punchgate"/);
    else expect(answer.headers['www-authenticate'], where).toBeUndefined();
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-oauth-'));
    dashboard = await startAt(dir, () => nowMs);
    for (const [id, name] of [
      ['mk-01', 'Mong Kok'],
      ['tst-02', 'Tsim Sha Tsui'],
    ] as const) {
      expect((await api('PUT', `/sites/${id}`, site(name))).status).toBeLessThan(300);
    }
    for (const [number, name, siteId] of [
      ['E001', 'Chan Tai Man', 'mk-01'],
      ['E002', 'Lee Siu Ming', 'tst-02'],
    ] as const) {
      const put = await api('PUT', `/employees/${number}`, { name, sites: [siteId], status: 'active' });
      expect(put.status, put.raw).toBeLessThan(300);
    }
  });

  afterAll(async () => {
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a client whose secret is shown once and stored only as its SHA-256, audited without it', async () => {
    nowMs = T0;
    const { id, clientId, secret, client } = await newClient({ name: 'Workday HRIS', scopes: ['employees:read', 'hris:sync', 'employees:read'] });
    expect(clientId).toMatch(/^pgc_[A-Za-z0-9_-]{22}$/);
    expect(secret).toMatch(/^pgcs_[A-Za-z0-9_-]{43}$/);
    // Scopes unique, in the allowed list's order; every site; tokens live an hour by default.
    expect(client).toEqual({
      id,
      clientId,
      name: 'Workday HRIS',
      scopes: ['hris:sync', 'employees:read'],
      sites: 'all',
      tokenLifetimeSeconds: 3600,
      createdAt: new Date(T0).toISOString(),
      createdBy: 'token:bootstrap token (DATADIR/api-token)',
      secretRotatedAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });
    const [row] = await rows(`SELECT * FROM integration_clients WHERE id = '${id}'`);
    expect(row).toMatchObject({ client_id: clientId, secret_hash: sha256(secret), sites: null, revoked_at: null });
    expect(JSON.stringify(row)).not.toContain(secret);
    const audit = await rows(`SELECT action, actor_kind, actor_id, after FROM audit_log WHERE entity = 'integration-client' AND entity_id = '${id}'`);
    expect(audit).toEqual([{ action: 'integration-client.create', actor_kind: 'token', actor_id: 'bootstrap', after: JSON.stringify(client) }]);
    // Read back and listed without the secret.
    expect((await api('GET', `/integration-clients/${id}`)).body).toEqual({ client });
    const listed = await api('GET', '/integration-clients');
    expect(listed.status).toBe(200);
    expect(listed.body.clients).toContainEqual(client);
    expect(listed.raw).not.toContain(secret);
  });

  it('issues a token by HTTP Basic that works where its scopes allow, within its sites, and is refused (403) elsewhere', async () => {
    nowMs = T0;
    const { id, clientId, secret } = await newClient({ name: 'Reader at Mong Kok', scopes: ['employees:read', 'punches:read'], sites: ['mk-01'] });
    const answer = await tokenRequest('grant_type=client_credentials', basic(clientId, secret));
    expect(answer.status, answer.raw).toBe(200);
    expect(answer.body).toEqual({ access_token: expect.stringMatching(/^pga_[A-Za-z0-9_-]{43}$/), token_type: 'Bearer', expires_in: 3600, scope: 'employees:read punches:read' });
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers.pragma).toBe('no-cache');
    const token = answer.body.access_token as string;
    const [stored] = await rows(`SELECT * FROM integration_access_tokens WHERE client_pk = '${id}'`);
    expect(stored).toMatchObject({ token_hash: sha256(token), scopes: '["employees:read","punches:read"]', issued_at: new Date(T0).toISOString(), expires_at: new Date(T0 + 3600_000).toISOString(), revoked_at: null });
    expect((await rows(`SELECT action, actor_kind, actor_id FROM audit_log WHERE action = 'integration-client.token-issue' AND entity_id = '${id}'`))).toEqual([
      { action: 'integration-client.token-issue', actor_kind: 'token', actor_id: id },
    ]);

    // employees:read: the list, limited to the client's site.
    const employees = await api('GET', '/employees', undefined, bearer(token));
    expect(employees.status, employees.raw).toBe(200);
    expect(employees.body.employees.map((employee: Json) => employee.employeeNumber)).toEqual(['E001']);
    expect((await api('GET', '/employees/E002', undefined, bearer(token))).status).toBe(404);
    expect((await api('GET', '/punches', undefined, bearer(token))).status).toBe(200);
    // Not granted (though the admin role would have them): 403, naming the scopes.
    for (const [method, url] of [
      ['GET', '/devices'],
      ['PUT', '/employees/E001'],
      ['GET', '/integration-clients'],
      ['GET', '/audit'],
    ] as const) {
      const refused = await api(method, url, method === 'PUT' ? { name: 'Chan Tai Man', sites: ['mk-01'] } : undefined, bearer(token));
      expect(refused.status, `${method} ${url}: ${refused.raw}`).toBe(403);
      expect(refused.body).toMatchObject({ code: 'FORBIDDEN', error: expect.stringContaining("this token's scopes (employees:read punches:read)") });
    }
    // Who am I: the scopes, not the admin role's whole list.
    const me = await api('GET', '/session', undefined, bearer(token));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ principal: { kind: 'token', id, name: 'Reader at Mong Kok (integration client)', sites: ['mk-01'] }, permissions: ['employees:read', 'punches:read'], user: null });
    // Last used: recorded at issue.
    expect((await api('GET', `/integration-clients/${id}`)).body.client.lastUsedAt).toBe(new Date(T0).toISOString());
  });

  it('grants a narrower scope when asked, and refuses a scope beyond the client\'s (invalid_scope)', async () => {
    nowMs = T0;
    const { clientId, secret } = await newClient({ name: 'Narrow', scopes: ['employees:read', 'punches:read'] });
    const narrow = await tokenRequest('grant_type=client_credentials&scope=punches%3Aread', basic(clientId, secret));
    expect(narrow.status, narrow.raw).toBe(200);
    expect(narrow.body.scope).toBe('punches:read');
    expect((await api('GET', '/punches', undefined, bearer(narrow.body.access_token))).status).toBe(200);
    expect((await api('GET', '/employees', undefined, bearer(narrow.body.access_token))).status).toBe(403);

    const before = await rows('SELECT count(*) AS n FROM integration_access_tokens');
    for (const scope of ['employees:read employees:write', 'hris:sync', 'users:manage', 'no-such-scope', 'punches:read "quoted"']) {
      expectOAuthError(await tokenRequest(`grant_type=client_credentials&scope=${encodeURIComponent(scope)}`, basic(clientId, secret)), 'invalid_scope');
    }
    expect(await rows('SELECT count(*) AS n FROM integration_access_tokens')).toEqual(before);
    // An empty scope counts as none given (RFC 6749 §3.1): all of the client's.
    expect((await tokenRequest('grant_type=client_credentials&scope=', basic(clientId, secret))).body.scope).toBe('employees:read punches:read');
  });

  it('authenticates by client_id and client_secret in a form body or in JSON as well as by Basic', async () => {
    nowMs = T0;
    const { clientId, secret } = await newClient({ name: 'Body auth', scopes: ['attendance:read'] });
    const form = await tokenRequest(`grant_type=client_credentials&client_id=${encodeURIComponent(clientId)}&client_secret=${encodeURIComponent(secret)}`);
    expect(form.status, form.raw).toBe(200);
    expect(form.body.scope).toBe('attendance:read');
    const json = await send('POST', TOKEN_URL, {}, { grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
    expect(json.status, json.raw).toBe(200);
    expect(json.body.token_type).toBe('Bearer');
    // Basic together with the same client_id in the body (some libraries send it): fine.
    const both = await tokenRequest(`grant_type=client_credentials&client_id=${encodeURIComponent(clientId)}`, basic(clientId, secret));
    expect(both.status, both.raw).toBe(200);
    expect((await api('GET', '/attendance?from=2026-03-01&to=2026-03-01', undefined, bearer(form.body.access_token))).status).not.toBe(403);
  });

  it('refuses wrong, unknown, missing and malformed client credentials with invalid_client (401, WWW-Authenticate: Basic)', async () => {
    nowMs = T0;
    const { clientId, secret } = await newClient({ name: 'Wrong secrets', scopes: ['employees:read'] });
    const before = await rows('SELECT count(*) AS n FROM integration_access_tokens');
    expectOAuthError(await tokenRequest('grant_type=client_credentials', basic(clientId, `${secret.slice(0, -1)}x`)), 'invalid_client');
    expectOAuthError(await tokenRequest('grant_type=client_credentials', basic('pgc_nobody', secret)), 'invalid_client');
    expectOAuthError(await tokenRequest(`grant_type=client_credentials&client_id=${clientId}&client_secret=nope`), 'invalid_client');
    expectOAuthError(await tokenRequest('grant_type=client_credentials'), 'invalid_client');
    expectOAuthError(await tokenRequest(`grant_type=client_credentials&client_id=${clientId}`), 'invalid_client');
    expectOAuthError(await tokenRequest('grant_type=client_credentials', { authorization: 'Basic not-base64!' }), 'invalid_client');
    expectOAuthError(await tokenRequest('grant_type=client_credentials', { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }), 'invalid_client');
    expectOAuthError(await tokenRequest('grant_type=client_credentials', { authorization: `Basic ${Buffer.from(`${clientId}:%E0%A4%A`).toString('base64')}` }), 'invalid_client');
    // An API token is not a client credential.
    expectOAuthError(await tokenRequest('grant_type=client_credentials', bearer(dashboard.apiToken)), 'invalid_client');
    expect(await rows('SELECT count(*) AS n FROM integration_access_tokens')).toEqual(before);
  });

  it('refuses a missing or unsupported grant type and malformed bodies in RFC 6749 terms', async () => {
    nowMs = T0;
    const { clientId, secret } = await newClient({ name: 'Malformed', scopes: ['employees:read'] });
    const auth = basic(clientId, secret);
    expectOAuthError(await tokenRequest('grant_type=password&username=a&password=b', auth), 'unsupported_grant_type');
    expectOAuthError(await tokenRequest('grant_type=authorization_code&code=x', auth), 'unsupported_grant_type');
    expectOAuthError(await tokenRequest('', auth), 'invalid_request');
    expectOAuthError(await tokenRequest('scope=employees%3Aread', auth), 'invalid_request');
    expectOAuthError(await tokenRequest('grant_type=', auth), 'invalid_request');
    // A parameter twice (§3.2), the secret both ways (§2.3.1), another client_id in the body than in Basic.
    expectOAuthError(await tokenRequest('grant_type=client_credentials&grant_type=client_credentials', auth), 'invalid_request');
    expectOAuthError(await tokenRequest('grant_type=client_credentials&scope=employees%3Aread&scope=employees%3Aread', auth), 'invalid_request');
    expectOAuthError(await tokenRequest(`grant_type=client_credentials&client_secret=${secret}`, auth), 'invalid_request');
    expectOAuthError(await tokenRequest('grant_type=client_credentials&client_id=pgc_someone-else', auth), 'invalid_request');
    // Malformed JSON, JSON that is not an object or has a number, an unknown content type, a body too large.
    expectOAuthError(await tokenRequest('{"grant_type": ', auth, 'application/json'), 'invalid_request');
    expectOAuthError(await tokenRequest('["client_credentials"]', auth, 'application/json'), 'invalid_request');
    expectOAuthError(await tokenRequest('{"grant_type": "client_credentials", "scope": 7}', auth, 'application/json'), 'invalid_request');
    expectOAuthError(await tokenRequest('grant_type=client_credentials', auth, 'text/plain'), 'invalid_request');
    expectOAuthError(await tokenRequest(`grant_type=client_credentials&pad=${'x'.repeat(10_000)}`, auth), 'invalid_request');
    // No body at all.
    expectOAuthError(await send('POST', TOKEN_URL, auth), 'invalid_request');
    // Extra unknown parameters are ignored (RFC 6749 §3.2): still a token.
    expect((await tokenRequest('grant_type=client_credentials&audience=x', auth)).status).toBe(200);
  });

  it('stops a token when it expires (401), by the dashboard clock', async () => {
    nowMs = T0;
    const { clientId, secret } = await newClient({ name: 'Short-lived', scopes: ['employees:read'], tokenLifetimeSeconds: 120 });
    const answer = await tokenRequest('grant_type=client_credentials', basic(clientId, secret));
    expect(answer.body.expires_in).toBe(120);
    const token = answer.body.access_token as string;
    nowMs = T0 + 119_000;
    expect((await api('GET', '/employees', undefined, bearer(token))).status).toBe(200);
    nowMs = T0 + 120_000;
    const expired = await api('GET', '/employees', undefined, bearer(token));
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('INVALID_TOKEN');
    expect(expired.headers['www-authenticate']).toBe('Bearer');
    // A new one is issued, and the expired one is cleared away.
    const fresh = await accessToken(clientId, secret);
    expect((await api('GET', '/employees', undefined, bearer(fresh))).status).toBe(200);
    expect(await rows(`SELECT count(*) AS n FROM integration_access_tokens WHERE token_hash = '${sha256(token)}'`)).toEqual([{ n: 0 }]);
    nowMs = T0;
  });

  it("revokes a client: its live tokens are refused at once and its secret gets no new one; audited", async () => {
    nowMs = T0;
    const { id, clientId, secret } = await newClient({ name: 'To revoke', scopes: ['employees:read'] });
    const token = await accessToken(clientId, secret);
    const second = await accessToken(clientId, secret);
    expect((await api('GET', '/employees', undefined, bearer(token))).status).toBe(200);
    nowMs = T0 + 1000;
    const revoked = await api('DELETE', `/integration-clients/${id}`);
    expect(revoked.status, revoked.raw).toBe(200);
    expect(revoked.body.client.revokedAt).toBe(new Date(T0 + 1000).toISOString());
    for (const used of [token, second]) expect((await api('GET', '/employees', undefined, bearer(used))).status).toBe(401);
    expectOAuthError(await tokenRequest('grant_type=client_credentials', basic(clientId, secret)), 'invalid_client');
    expect(await rows(`SELECT count(*) AS n FROM integration_access_tokens WHERE client_pk = '${id}' AND revoked_at IS NULL`)).toEqual([{ n: 0 }]);
    const [audit] = await rows(`SELECT after FROM audit_log WHERE action = 'integration-client.revoke' AND entity_id = '${id}'`);
    expect(JSON.parse(String(audit?.after))).toMatchObject({ revokedAt: new Date(T0 + 1000).toISOString(), tokensRevoked: 2 });
    // Revoking again changes nothing; listed only with includeRevoked; a rotation is refused.
    expect((await api('DELETE', `/integration-clients/${id}`)).body.client.revokedAt).toBe(new Date(T0 + 1000).toISOString());
    expect((await api('GET', '/integration-clients?limit=500')).body.clients.map((client: Json) => client.id)).not.toContain(id);
    expect((await api('GET', '/integration-clients?limit=500&includeRevoked=true')).body.clients.map((client: Json) => client.id)).toContain(id);
    expect((await api('POST', `/integration-clients/${id}/secret`, {})).status).toBe(409);
    nowMs = T0;
  });

  it('rotates the secret: the old one is refused at once, its tokens too unless asked to keep them', async () => {
    nowMs = T0;
    const { id, clientId, secret } = await newClient({ name: 'To rotate', scopes: ['employees:read'] });
    const oldToken = await accessToken(clientId, secret);
    const rotated = await api('POST', `/integration-clients/${id}/secret`, {});
    expect(rotated.status, rotated.raw).toBe(200);
    expect(rotated.body).toMatchObject({ clientSecret: expect.stringMatching(/^pgcs_/), tokensRevoked: 1, client: { id, clientId, secretRotatedAt: new Date(T0).toISOString() } });
    const newSecret = rotated.body.clientSecret as string;
    expect(newSecret).not.toBe(secret);
    expectOAuthError(await tokenRequest('grant_type=client_credentials', basic(clientId, secret)), 'invalid_client');
    expect((await api('GET', '/employees', undefined, bearer(oldToken))).status).toBe(401);
    const newToken = await accessToken(clientId, newSecret);
    expect((await api('GET', '/employees', undefined, bearer(newToken))).status).toBe(200);
    expect(await rows(`SELECT secret_hash FROM integration_clients WHERE id = '${id}'`)).toEqual([{ secret_hash: sha256(newSecret) }]);

    // A planned rotation lets the tokens run out instead.
    const kept = await api('POST', `/integration-clients/${id}/secret`, { revokeTokens: false });
    expect(kept.body.tokensRevoked).toBe(0);
    expect((await api('GET', '/employees', undefined, bearer(newToken))).status).toBe(200);
    expectOAuthError(await tokenRequest('grant_type=client_credentials', basic(clientId, newSecret)), 'invalid_client');
    const audit = await rows(`SELECT action, before, after FROM audit_log WHERE action = 'integration-client.rotate-secret' AND entity_id = '${id}' ORDER BY id`);
    expect(audit.map((row) => JSON.parse(String(row.after)).tokensRevoked)).toEqual([1, 0]);
    for (const row of audit) expect(`${String(row.before)}${String(row.after)}`).not.toMatch(/pgcs_|[0-9a-f]{64}/);
  });

  it("changes a client's scopes, sites, name and token lifetime; its live tokens lose a scope taken away at once; audited", async () => {
    nowMs = T0;
    const { id, clientId, secret } = await newClient({ name: 'Payroll export', scopes: ['employees:read', 'punches:read'], sites: ['mk-01'] });
    const token = await accessToken(clientId, secret);
    expect((await api('GET', '/punches', undefined, bearer(token))).status).toBe(200);
    expect((await api('GET', '/employees', undefined, bearer(token))).body.employees.map((employee: Json) => employee.employeeNumber)).toEqual(['E001']);

    const changed = await api('PATCH', `/integration-clients/${id}`, { name: 'Payroll export (TST too)', scopes: ['employees:read'], sites: ['mk-01', 'tst-02'], tokenLifetimeSeconds: 600 });
    expect(changed.status, changed.raw).toBe(200);
    expect(changed.body.client).toMatchObject({ id, clientId, name: 'Payroll export (TST too)', scopes: ['employees:read'], sites: ['mk-01', 'tst-02'], tokenLifetimeSeconds: 600 });
    // The live token: punches:read is gone at once, the new site is there at once.
    const refused = await api('GET', '/punches', undefined, bearer(token));
    expect(refused.status).toBe(403);
    expect(refused.body.error).toContain("this token's scopes (employees:read)");
    expect((await api('GET', '/employees', undefined, bearer(token))).body.employees.map((employee: Json) => employee.employeeNumber)).toEqual(['E001', 'E002']);
    // A new token: the new scopes and lifetime; a scope taken away cannot be asked for.
    const fresh = await tokenRequest('grant_type=client_credentials', basic(clientId, secret));
    expect(fresh.body).toMatchObject({ expires_in: 600, scope: 'employees:read' });
    expectOAuthError(await tokenRequest('grant_type=client_credentials&scope=punches:read', basic(clientId, secret)), 'invalid_scope');
    // Back to every site; the name alone.
    expect((await api('PATCH', `/integration-clients/${id}`, { sites: 'all' })).body.client.sites).toBe('all');
    expect((await api('PATCH', `/integration-clients/${id}`, { name: 'Payroll' })).body.client).toMatchObject({ name: 'Payroll', scopes: ['employees:read'], sites: 'all', tokenLifetimeSeconds: 600 });
    const audit = await rows(`SELECT before, after FROM audit_log WHERE action = 'integration-client.update' AND entity_id = '${id}' ORDER BY id`);
    expect(audit).toHaveLength(3);
    expect(JSON.parse(audit[0]!.before as string)).toMatchObject({ scopes: ['employees:read', 'punches:read'], sites: ['mk-01'] });
    expect(JSON.parse(audit[0]!.after as string)).toMatchObject({ scopes: ['employees:read'], sites: ['mk-01', 'tst-02'] });
    expect(audit[0]!.after).not.toContain(secret);

    // Refusals: nothing given, bad fields, unknown, revoked; nothing changes.
    const fieldsOf = (answer: Answer): string[] => [...new Set((answer.body.issues as Json[]).map((issue) => `${issue.in}:${issue.field}`))].sort();
    const empty = await api('PATCH', `/integration-clients/${id}`, {});
    expect(empty.status).toBe(400);
    expect(empty.body.issues[0].message).toBe('give at least one of name, scopes, sites, tokenLifetimeSeconds');
    expect(fieldsOf(await api('PATCH', `/integration-clients/${id}`, { scopes: [], sites: [], tokenLifetimeSeconds: 5, secret: 'x' }))).toEqual([
      'body:scopes',
      'body:secret',
      'body:sites',
      'body:tokenLifetimeSeconds',
    ]);
    expect(fieldsOf(await api('PATCH', '/integration-clients/42', { name: 'x' }))).toEqual(['params:id']);
    expect((await api('PATCH', '/integration-clients/0190a000-0000-7000-8000-000000000000', { name: 'x' })).status).toBe(404);
    expect((await api('DELETE', `/integration-clients/${id}`)).status).toBe(200);
    const revoked = await api('PATCH', `/integration-clients/${id}`, { name: 'Back again' });
    expect(revoked.status).toBe(409);
    expect((await api('GET', `/integration-clients/${id}`)).body.client.name).toBe('Payroll');
  });

  it('pages the list by keyset', async () => {
    for (const name of ['Page A', 'Page B', 'Page C']) await newClient({ name, scopes: ['punches:read'] });
    const all = (await api('GET', '/integration-clients?limit=500')).body.clients as Json[];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Answer = await api('GET', `/integration-clients?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status, page.raw).toBe(200);
      expect(page.body.clients.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.clients.map((client: Json) => client.id as string));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((client) => client.id));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('refuses bad input to the management routes, naming the field, and changes nothing', async () => {
    const before = await rows('SELECT count(*) AS n FROM integration_clients');
    const fieldsOf = (answer: Answer): string[] => [...new Set((answer.body.issues as Json[]).map((issue) => `${issue.in}:${issue.field}`))].sort();
    const made = await api('POST', '/integration-clients', { name: '  ', scopes: ['users:manage'], sites: [], tokenLifetimeSeconds: 30, colour: 'red' });
    expect(made.status, made.raw).toBe(400);
    expect(fieldsOf(made)).toEqual(['body:colour', 'body:name', 'body:scopes[0]', 'body:sites', 'body:tokenLifetimeSeconds']);
    expect(made.body.issues.find((issue: Json) => issue.field === 'scopes[0]').message).toMatch(/^is not a scope an integration client may have \(hris:sync, /);
    expect(fieldsOf(await api('POST', '/integration-clients', { name: 'No scopes', scopes: [] }))).toEqual(['body:scopes']);
    expect(fieldsOf(await api('POST', '/integration-clients', { name: 'Long', scopes: ['hris:sync'], tokenLifetimeSeconds: 86_401 }))).toEqual(['body:tokenLifetimeSeconds']);
    expect(fieldsOf(await api('POST', '/integration-clients', { name: 'Site', scopes: ['hris:sync'], sites: ['not a site id!'] }))).toEqual(['body:sites[0]']);
    expect(await rows('SELECT count(*) AS n FROM integration_clients')).toEqual(before);

    expect(fieldsOf(await api('GET', '/integration-clients?limit=0&colour=red'))).toEqual(['querystring:colour', 'querystring:limit']);
    expect(fieldsOf(await api('GET', '/integration-clients?includeRevoked=yes'))).toEqual(['querystring:includeRevoked']);
    expect(fieldsOf(await api('GET', '/integration-clients?cursor=not-ours'))).toEqual(['querystring:cursor']);
    for (const method of ['GET', 'DELETE'] as const) expect(fieldsOf(await api(method, '/integration-clients/42'))).toEqual(['params:id']);
    expect(fieldsOf(await api('POST', '/integration-clients/42/secret', {}))).toEqual(['params:id']);
    const unknown = '0190a000-0000-7000-8000-000000000000';
    expect((await api('GET', `/integration-clients/${unknown}`)).status).toBe(404);
    expect((await api('DELETE', `/integration-clients/${unknown}`)).status).toBe(404);
    expect((await api('POST', `/integration-clients/${unknown}/secret`, {})).status).toBe(404);

    const { id, clientId, secret } = await newClient({ name: 'Kept', scopes: ['employees:read'] });
    expect(fieldsOf(await api('POST', `/integration-clients/${id}/secret`, { revokeTokens: 'yes', why: 'leak' }))).toEqual(['body:revokeTokens', 'body:why']);
    // The secret still works: nothing was rotated.
    expect((await tokenRequest('grant_type=client_credentials', basic(clientId, secret))).status).toBe(200);
  });

  it('lets only tokens:manage make clients: an HR user token and a client token are refused', async () => {
    const hr = (await dashboard.auth.tokens.create({ name: 'hr', role: 'hr' }, undefined)).secret;
    expect((await api('POST', '/integration-clients', { name: 'Nope', scopes: ['hris:sync'] }, bearer(hr))).status).toBe(403);
    const { clientId, secret } = await newClient({ name: 'Syncing', scopes: ['hris:sync', 'employees:write'] });
    const token = await accessToken(clientId, secret);
    expect((await api('POST', '/integration-clients', { name: 'Nope', scopes: ['hris:sync'] }, bearer(token))).status).toBe(403);
    expect((await api('POST', '/tokens', { name: 'Nope', role: 'admin' }, bearer(token))).status).toBe(403);
    // employees:write is granted: a change goes through, audited as the client.
    const put = await api('PUT', '/employees/E003', { name: 'Wong Ka Yan', sites: ['tst-02'], status: 'active' }, bearer(token));
    expect(put.status, put.raw).toBeLessThan(300);
    const [audit] = await rows("SELECT actor_kind, actor_name FROM audit_log WHERE entity = 'employee' AND entity_id = 'E003'");
    expect(audit).toEqual({ actor_kind: 'token', actor_name: 'Syncing (integration client)' });
  });

  it('lets an HRIS client push employees with its token (hris:sync), keyed by the client for idempotency, within its sites', async () => {
    nowMs = T0;
    const { id, clientId, secret } = await newClient({ name: 'Payroll HRIS', scopes: ['hris:sync'], sites: ['mk-01'] });
    const token = await accessToken(clientId, secret);
    const payload = { records: [{ employeeNumber: 'H001', name: 'Ho Ka Ming', sites: ['mk-01'] }] };
    const pushed = await api('POST', '/hris/employees', payload, { ...bearer(token), 'idempotency-key': 'sync-2026-03-02' });
    expect(pushed.status, pushed.raw).toBe(200);
    expect(pushed.body.results).toEqual([{ record: 1, employeeNumber: 'H001', outcome: 'create', changes: expect.any(Array) }]);
    expect(await rows("SELECT client_id, idempotency_key FROM hris_requests WHERE idempotency_key = 'sync-2026-03-02'")).toEqual([{ client_id: id, idempotency_key: 'sync-2026-03-02' }]);
    const [audit] = await rows("SELECT actor_kind, actor_id FROM audit_log WHERE entity = 'employee' AND entity_id = 'H001'");
    expect(audit).toEqual({ actor_kind: 'token', actor_id: id });
    // Outside its sites: refused, nothing written.
    const elsewhere = await api('POST', '/hris/employees', { records: [{ employeeNumber: 'H002', name: 'Yip Wing', sites: ['tst-02'] }] }, bearer(token));
    expect(elsewhere.status, elsewhere.raw).toBe(422);
    expect(elsewhere.body.errors).toEqual([expect.objectContaining({ record: 1, field: 'sites', message: 'you may not manage employees of site tst-02' })]);
    expect(await rows("SELECT count(*) AS n FROM employees WHERE employee_number = 'H002'")).toEqual([{ n: 0 }]);
    // A client without hris:sync: 403.
    const reader = await newClient({ name: 'Reader only', scopes: ['employees:read'] });
    const refused = await api('POST', '/hris/employees', payload, bearer(await accessToken(reader.clientId, reader.secret)));
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');
  });
});

describe('POST /api/v1/oauth/token rate limit', () => {
  let dir: string;
  let dashboard: Dashboard;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-oauth-limit-'));
    dashboard = await startAt(dir, () => T0, { loginAttemptsPerMinute: 3 });
  });
  afterAll(async () => {
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('allows as many token requests a minute per address and client id as sign-in attempts, then answers 429 in RFC 6749 shape', async () => {
    const { client, clientSecret: secret } = await dashboard.auth.clients.create({ name: 'Busy', scopes: ['punches:read'] }, undefined);
    const request = (id: string, password: string) =>
      dashboard.http.inject({ method: 'POST', url: TOKEN_URL, headers: { 'content-type': FORM, ...basic(id, password) }, payload: 'grant_type=client_credentials' });
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await request(client.clientId, attempt === 0 ? secret : 'wrong')).statusCode).not.toBe(429);
    const limited = await request(client.clientId, secret);
    expect(limited.statusCode, limited.body).toBe(429);
    expect(limited.json()).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(/too many requests/) });
    expect(limited.headers['retry-after']).toEqual(expect.any(String));
    expect(limited.headers['cache-control']).toBe('no-store');
    // Another client id from the same address has its own allowance.
    expect((await request('pgc_other', 'x')).statusCode).toBe(401);
  });
});
