import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newPunchId } from '../../core/ids.js';
import type { Punch } from '../../core/punch.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { asBrowser, bearer, sessionSetCookie, signIn, type SignedIn } from '../support/dashboard-auth.js';
import { testLogger } from '../support/logger.js';
import { rowsOf } from '../support/sqlite-rows.js';

/** Accounts and access through app.inject() against a real SQLite file, with the dashboard's clock injected. */

const T0 = Date.parse('2026-03-02T01:00:00.000Z');
const MINUTE = 60_000;
const GOOD = 'correct-horse-battery-staple';

type Json = Record<string, any>;

function site(name: string): Json {
  return { name, policy: { geofence: { kind: 'circle', center: { lat: 22.3193, lon: 114.1694 }, radiusMetres: 60 }, accept: { anyOf: 1, factors: ['gps'] } } };
}

function punchAt(siteId: string, deviceId: string, seq: number): Punch {
  return {
    id: newPunchId(),
    deviceId,
    siteId,
    credential: { kind: 'em4100', uid: `E30${seq}6CED` },
    employeeId: `E00${seq}`,
    at: new Date(T0 - seq * MINUTE).toISOString(),
    clock: { synced: true },
    method: 'badge',
    direction: 'in',
    seq,
  };
}

describe('dashboard: accounts and access', () => {
  let dir: string;
  let dashboard: Dashboard;
  let nowMs: number;
  let firstAdmin: Array<{ username: string; password: string }>;
  const rows = (sql: string): Promise<Json[]> => rowsOf(path.join(dir, 'dashboard.sqlite'), sql);

  const start = async (extra: Json = {}): Promise<Dashboard> =>
    startDashboard(
      DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 }, auth: { loginAttemptsPerMinute: 1000, ...extra } }),
      testLogger(),
      { now: () => new Date(nowMs), onFirstAdmin: (admin) => firstAdmin.push(admin) },
    );

  async function api(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, payload?: unknown): Promise<{ status: number; body: Json; headers: Json }> {
    const response = await dashboard.http.inject({ method, url: `/api/v1${url}`, headers, ...(payload === undefined ? {} : { payload: payload as Json }) });
    return { status: response.statusCode, body: response.body ? response.json<Json>() : {}, headers: response.headers };
  }
  const admin = (): Record<string, string> => bearer(dashboard.apiToken);

  /** Makes a user with a known password (no change needed) and signs in. */
  async function userSession(username: string, role: string, sites?: string[]): Promise<SignedIn> {
    const created = await api('POST', '/users', admin(), { username, role, ...(sites ? { sites } : {}) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const first = await signIn(dashboard.http, username, created.body.oneTimePassword);
    expect(first.status).toBe(200);
    const changed = await api('POST', '/session/password', asBrowser(first), { currentPassword: created.body.oneTimePassword, newPassword: GOOD });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    return first;
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-auth-'));
    nowMs = T0;
    firstAdmin = [];
    dashboard = await start();
  });

  afterEach(async () => {
    await dashboard.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('makes the first admin with a one-time password told once, which must be changed before anything else', async () => {
    expect(firstAdmin).toHaveLength(1);
    const { username, password } = firstAdmin[0]!;
    expect(username).toBe('admin');
    expect(password).toMatch(/^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/);
    const [row] = await rows('SELECT username, role, must_change_password, password_hash FROM users');
    expect(row).toMatchObject({ username: 'admin', role: 'admin', must_change_password: 1 });
    expect(row!.password_hash).toMatch(/^scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(row!.password_hash).not.toContain(password);

    // Not again at the next start.
    await dashboard.stop();
    dashboard = await start();
    expect(firstAdmin).toHaveLength(1);

    const session = await signIn(dashboard.http, 'admin', password);
    expect(session.status).toBe(200);
    expect(session.body.mustChangePassword).toBe(true);
    const blocked = await api('GET', '/devices', asBrowser(session));
    expect(blocked.status).toBe(403);
    expect(blocked.body.code).toBe('PASSWORD_CHANGE_REQUIRED');
    const me = await api('GET', '/session', asBrowser(session));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ principal: { kind: 'user', name: 'admin', role: 'admin', sites: 'all' }, mustChangePassword: true, csrfToken: session.csrfToken });

    const tooShort = await api('POST', '/session/password', asBrowser(session), { currentPassword: password, newPassword: 'short' });
    expect(tooShort.status).toBe(400);
    expect(tooShort.body.issues).toEqual([{ in: 'body', field: 'newPassword', message: 'must be at least 12 characters' }]);
    const wrongCurrent = await api('POST', '/session/password', asBrowser(session), { currentPassword: 'not-the-password', newPassword: GOOD });
    expect(wrongCurrent.status).toBe(400);
    expect(wrongCurrent.body.issues[0].field).toBe('currentPassword');
    const same = await api('POST', '/session/password', asBrowser(session), { currentPassword: password, newPassword: password });
    expect(same.status).toBe(400);

    const changed = await api('POST', '/session/password', asBrowser(session), { currentPassword: password, newPassword: GOOD });
    expect(changed.status).toBe(200);
    expect(changed.body.user.mustChangePassword).toBe(false);
    expect((await api('GET', '/devices', asBrowser(session))).status).toBe(200);
    expect((await signIn(dashboard.http, 'admin', password)).status).toBe(401);
    expect((await signIn(dashboard.http, 'admin', GOOD)).status).toBe(200);
  });

  it('signs in with a right password into a secure http-only session cookie, and refuses wrong ones alike', async () => {
    await userSession('chan', 'hr');
    const ok = await signIn(dashboard.http, 'Chan', GOOD);
    expect(ok.status).toBe(200);
    expect(ok.setCookie).toMatch(/^__Host-punchgate_session=[A-Za-z0-9_-]{43};/);
    expect(ok.setCookie).toMatch(/; HttpOnly/);
    expect(ok.setCookie).toMatch(/; Secure/);
    expect(ok.setCookie).toMatch(/; SameSite=Strict/);
    expect(ok.setCookie).toMatch(/; Path=\//);
    expect(ok.setCookie).not.toMatch(/Domain=/);
    expect(ok.body).toMatchObject({ user: { username: 'chan', role: 'hr' }, mustChangePassword: false, idleTimeoutSeconds: 1800 });
    expect((ok.body.user as Json).passwordHash).toBeUndefined();

    // Only the id's hash is stored.
    const id = ok.cookie!.split('=')[1]!;
    const stored = await rows('SELECT id_hash FROM sessions');
    expect(stored.map((row) => row.id_hash)).toContain(createHash('sha256').update(id).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(id);

    const wrong = await signIn(dashboard.http, 'chan', 'not-the-password');
    const unknown = await signIn(dashboard.http, 'nobody', 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.cookie).toBeUndefined();
    expect((await api('POST', '/session', {}, { username: 'chan' })).status).toBe(400);
  });

  it('locks a username out from an address after 5 wrong passwords, lifts the lock, and doubles it after the next failure', async () => {
    await userSession('chan', 'hr');
    for (let attempt = 0; attempt < 5; attempt += 1) expect((await signIn(dashboard.http, 'chan', 'wrong-password', '10.0.0.7')).status).toBe(401);
    const locked = await dashboard.http.inject({ method: 'POST', url: '/api/v1/session', payload: { username: 'chan', password: GOOD }, remoteAddress: '10.0.0.7' });
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['retry-after']).toBe('60');
    expect(locked.json()).toMatchObject({ retryAfterSeconds: 60 });
    // Another address, and another username from this address, are not locked.
    expect((await signIn(dashboard.http, 'chan', GOOD, '10.0.0.8')).status).toBe(200);
    expect((await signIn(dashboard.http, 'someone', 'wrong-password', '10.0.0.7')).status).toBe(401);

    nowMs += 30_000;
    expect((await signIn(dashboard.http, 'chan', GOOD, '10.0.0.7')).status).toBe(429);
    nowMs += 31_000;
    // Lifted; one more failure locks again, for twice as long.
    expect((await signIn(dashboard.http, 'chan', 'wrong-password', '10.0.0.7')).status).toBe(401);
    nowMs += 61_000;
    const again = await signIn(dashboard.http, 'chan', GOOD, '10.0.0.7');
    expect(again.status).toBe(429);
    expect(again.body.retryAfterSeconds).toBe(59);
    nowMs += 60_000;
    expect((await signIn(dashboard.http, 'chan', GOOD, '10.0.0.7')).status).toBe(200);
    // A success forgets the failures: the next wrong password does not lock.
    expect((await signIn(dashboard.http, 'chan', 'wrong-password', '10.0.0.7')).status).toBe(401);
    expect((await signIn(dashboard.http, 'chan', GOOD, '10.0.0.7')).status).toBe(200);
  });

  it('ends a session after 30 idle minutes, after 12 hours whatever happens, and at sign-out', async () => {
    const idle = await userSession('idle', 'facilities');
    nowMs += 29 * MINUTE;
    expect((await api('GET', '/session', asBrowser(idle))).status).toBe(200);
    nowMs += 29 * MINUTE;
    expect((await api('GET', '/session', asBrowser(idle))).status).toBe(200);
    nowMs += 31 * MINUTE;
    const expired = await dashboard.http.inject({ method: 'GET', url: '/api/v1/session', headers: asBrowser(idle) });
    expect(expired.statusCode).toBe(401);
    expect(sessionSetCookie(expired)).toMatch(/^__Host-punchgate_session=;/);

    const busy = await signIn(dashboard.http, 'idle', GOOD);
    for (let elapsed = 0; elapsed < 12 * 60 - 20; elapsed += 20) {
      nowMs += 20 * MINUTE;
      expect((await api('GET', '/devices', asBrowser(busy))).status).toBe(200);
    }
    nowMs += 20 * MINUTE;
    expect((await api('GET', '/devices', asBrowser(busy))).status).toBe(401);

    const leaving = await signIn(dashboard.http, 'idle', GOOD);
    const out = await dashboard.http.inject({ method: 'DELETE', url: '/api/v1/session', headers: asBrowser(leaving) });
    expect(out.statusCode).toBe(204);
    expect(sessionSetCookie(out)).toMatch(/^__Host-punchgate_session=;/);
    expect((await api('GET', '/session', asBrowser(leaving))).status).toBe(401);
    expect(await rows('SELECT * FROM sessions')).toEqual([]);
  });

  it('refuses cookie-signed-in changes without the CSRF token of that session, and exempts bearer tokens', async () => {
    const session = await userSession('boss', 'admin');
    const other = await signIn(dashboard.http, 'boss', GOOD);
    const body = { username: 'new-user', role: 'hr' };

    const none = await api('POST', '/users', asBrowser(session, false), body);
    expect(none.status).toBe(403);
    expect(none.body.code).toBe('CSRF');
    const wrong = await api('POST', '/users', { ...asBrowser(session, false), 'x-csrf-token': 'x'.repeat(43) }, body);
    expect(wrong.status).toBe(403);
    const anotherSessions = await api('POST', '/users', { ...asBrowser(session, false), 'x-csrf-token': other.csrfToken! }, body);
    expect(anotherSessions.status).toBe(403);
    expect(await rows("SELECT * FROM users WHERE username = 'new-user'")).toEqual([]);
    // Reading needs no token.
    expect((await api('GET', '/users', asBrowser(session, false))).status).toBe(200);

    expect((await api('POST', '/users', asBrowser(session), body)).status).toBe(201);
    // A bearer token is not sent by browsers on their own: no CSRF token needed.
    expect((await api('POST', '/users', admin(), { username: 'by-token', role: 'hr' })).status).toBe(201);
  });

  it('sends security headers with a CSP that allows only self-served assets', async () => {
    for (const url of ['/health', '/api/v1/devices']) {
      const response = await dashboard.http.inject({ method: 'GET', url });
      const csp = String(response.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).not.toMatch(/https?:|\*|unsafe-inline|unsafe-eval/);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(response.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('shows an API token once, stores only its hash, lists tokens without secrets, and refuses it once revoked', async () => {
    const created = await api('POST', '/tokens', admin(), { name: 'payroll export', role: 'hr' });
    expect(created.status).toBe(201);
    const secret: string = created.body.secret;
    expect(secret).toMatch(/^pgt_[A-Za-z0-9_-]{43}$/);
    expect(created.body.token).toMatchObject({ name: 'payroll export', role: 'hr', sites: 'all', hint: secret.slice(0, 8), lastUsedAt: null, revokedAt: null, createdBy: 'token:bootstrap token (DATADIR/api-token)' });

    const [stored] = await rows('SELECT * FROM api_tokens');
    expect(stored!.token_hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(secret.slice(8));
    const listed = await api('GET', '/tokens', admin());
    expect(listed.body.tokens).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain(secret.slice(8));
    expect(JSON.stringify((await api('GET', `/tokens/${created.body.token.id}`, admin())).body)).not.toContain(secret.slice(8));

    // The token works with its role's permissions, and its use is recorded.
    expect((await api('GET', '/punches', bearer(secret))).status).toBe(200);
    expect((await api('POST', '/tokens', bearer(secret), { name: 'x', role: 'admin' })).status).toBe(403);
    expect((await api('GET', `/tokens/${created.body.token.id}`, admin())).body.token.lastUsedAt).toBe(new Date(nowMs).toISOString());

    const revoked = await api('DELETE', `/tokens/${created.body.token.id}`, admin());
    expect(revoked.status).toBe(200);
    expect(revoked.body.token.revokedAt).toBe(new Date(nowMs).toISOString());
    const refused = await api('GET', '/punches', bearer(secret));
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('INVALID_TOKEN');
    expect((await api('GET', '/tokens', admin())).body.tokens).toEqual([]);
    expect((await api('GET', '/tokens?includeRevoked=true', admin())).body.tokens).toHaveLength(1);

    // A store-manager token must name its sites.
    const unscoped = await api('POST', '/tokens', admin(), { name: 'shop', role: 'store-manager' });
    expect(unscoped.status).toBe(400);
    expect(unscoped.body.issues).toEqual([{ in: 'body', field: 'sites', message: expect.stringContaining('at least one site') }]);

    // No secret anywhere in the database files (one-time passwords included).
    const { password } = firstAdmin[0]!;
    await dashboard.stop();
    const bytes = Buffer.concat([await readFile(path.join(dir, 'dashboard.sqlite')), await readFile(path.join(dir, 'dashboard.sqlite-wal')).catch(() => Buffer.alloc(0))]);
    expect(bytes.includes(Buffer.from(secret.slice(8)))).toBe(false);
    expect(bytes.includes(Buffer.from(password))).toBe(false);
    dashboard = await start();
  });

  it('manages users: validated fields, paged list, role and site changes, disabling ends sessions, reset gives a one-time password, one admin always stays', async () => {
    const bad = await api('POST', '/users', admin(), { username: 'x', role: 'boss', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((issue: Json) => issue.field).sort()).toEqual(['extra', 'role', 'username']);
    const noSites = await api('POST', '/users', admin(), { username: 'manager', role: 'store-manager' });
    expect(noSites.status).toBe(400);
    expect(noSites.body.issues[0].field).toBe('sites');
    expect((await api('POST', '/users', admin(), { username: 'hr-user', role: 'hr', sites: ['mk-01'] })).status).toBe(400);

    const manager = await api('POST', '/users', admin(), { username: 'Manager', role: 'store-manager', sites: ['mk-02', 'mk-01', 'mk-01'] });
    expect(manager.status).toBe(201);
    expect(manager.body.user).toMatchObject({ username: 'manager', role: 'store-manager', sites: ['mk-01', 'mk-02'], mustChangePassword: true, disabled: false });
    expect((await api('POST', '/users', admin(), { username: 'MANAGER', role: 'hr' })).status).toBe(409);

    const page1 = await api('GET', '/users?limit=1', admin());
    expect(page1.body.users.map((user: Json) => user.username)).toEqual(['admin']);
    const page2 = await api('GET', `/users?limit=1&cursor=${page1.body.nextCursor}`, admin());
    expect(page2.body.users.map((user: Json) => user.username)).toEqual(['manager']);
    expect(page2.body.nextCursor).toBeNull();
    expect((await api('GET', '/users?cursor=nonsense', admin())).status).toBe(400);

    const id = manager.body.user.id;
    const promoted = await api('PATCH', `/users/${id}`, admin(), { role: 'facilities' });
    expect(promoted.body.user).toMatchObject({ role: 'facilities', sites: 'all' });
    const demoted = await api('PATCH', `/users/${id}`, admin(), { role: 'store-manager' });
    expect(demoted.status).toBe(400);
    expect((await api('PATCH', `/users/${id}`, admin(), { role: 'store-manager', sites: ['mk-03'] })).body.user.sites).toEqual(['mk-03']);
    expect((await api('PATCH', `/users/${id}`, admin(), {})).status).toBe(400);

    const first = await signIn(dashboard.http, 'manager', manager.body.oneTimePassword);
    expect(first.status).toBe(200);
    const reset = await api('POST', `/users/${id}/password-reset`, admin());
    expect(reset.status).toBe(200);
    expect(reset.body.user.mustChangePassword).toBe(true);
    expect((await api('GET', '/session', asBrowser(first))).status).toBe(401);
    expect((await signIn(dashboard.http, 'manager', manager.body.oneTimePassword)).status).toBe(401);
    const second = await signIn(dashboard.http, 'manager', reset.body.oneTimePassword);
    expect(second.status).toBe(200);

    const disabled = await api('PATCH', `/users/${id}`, admin(), { disabled: true });
    expect(disabled.body.user.disabled).toBe(true);
    expect((await api('GET', '/session', asBrowser(second))).status).toBe(401);
    expect((await signIn(dashboard.http, 'manager', reset.body.oneTimePassword)).status).toBe(401);

    const adminId = (await rows("SELECT id FROM users WHERE username = 'admin'"))[0]!.id as string;
    const lastAdmin = await api('PATCH', `/users/${adminId}`, admin(), { disabled: true });
    expect(lastAdmin.status).toBe(409);
    expect(lastAdmin.body.error).toMatch(/last enabled admin/);
    expect((await api('PATCH', `/users/${adminId}`, admin(), { role: 'hr' })).status).toBe(409);
    expect((await api('GET', '/users/0190a000-0000-7000-8000-000000000000', admin())).status).toBe(404);
  });

  it('records every change in the audit log with before and after, in the same transaction as the change', async () => {
    const user = await api('POST', '/users', admin(), { username: 'lee', role: 'hr' });
    await api('PATCH', `/users/${user.body.user.id}`, admin(), { role: 'facilities' });
    const token = await api('POST', '/tokens', admin(), { name: 'bi', role: 'hr' });
    await api('DELETE', `/tokens/${token.body.token.id}`, admin());
    expect((await api('PUT', '/sites/mk-01', admin(), site('Mong Kok'))).status).toBe(201);
    expect((await api('PUT', '/sites/mk-01', admin(), site('Mong Kok East'))).status).toBe(200);
    expect((await api('POST', '/devices', admin(), { id: 'gw-mk-01', siteId: 'mk-01' })).status).toBe(201);
    const config = { site: { id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong' }, roster: [{ credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man' }] };
    expect((await api('PUT', '/devices/gw-mk-01/config', admin(), config)).status).toBe(200);

    const all = await api('GET', '/audit?limit=100', admin());
    expect(all.status).toBe(200);
    const actions = all.body.entries.map((entry: Json) => entry.action);
    expect(actions).toEqual(['device.config', 'device.register', 'site.put', 'site.put', 'token.revoke', 'token.create', 'user.update', 'user.create', 'user.create']);
    const actor = { kind: 'token', id: 'bootstrap', name: 'bootstrap token (DATADIR/api-token)' };
    expect(all.body.entries[0]).toMatchObject({ actor, entity: 'device', entityId: 'gw-mk-01', before: null, after: { version: 1, site: { id: 'mk-01' }, roster: { entries: 1 } } });
    expect(JSON.stringify(all.body.entries[0])).not.toContain('Chan Tai Man');
    expect(all.body.entries.at(-1)).toMatchObject({ actor: { kind: 'system', name: 'first start' }, action: 'user.create', after: { username: 'admin' } });

    const siteChanges = await api('GET', '/audit?entity=site&entityId=mk-01', admin());
    expect(siteChanges.body.entries).toHaveLength(2);
    expect(siteChanges.body.entries[0]).toMatchObject({ before: { name: 'Mong Kok' }, after: { name: 'Mong Kok East' } });
    expect(siteChanges.body.entries[1]).toMatchObject({ before: null, after: { name: 'Mong Kok' } });
    const roleChange = await api('GET', `/audit?action=user.update&entityId=${user.body.user.id}`, admin());
    expect(roleChange.body.entries[0]).toMatchObject({ actor, before: { role: 'hr' }, after: { role: 'facilities' } });
    // Paged and filterable by actor kind and time.
    const page = await api('GET', '/audit?limit=2', admin());
    expect(page.body.entries).toHaveLength(2);
    const next = await api('GET', `/audit?limit=2&cursor=${page.body.nextCursor}`, admin());
    expect(next.body.entries.map((entry: Json) => entry.id)).toEqual(all.body.entries.slice(2, 4).map((entry: Json) => entry.id));
    expect((await api('GET', '/audit?actorKind=system', admin())).body.entries).toHaveLength(1);
    expect((await api('GET', `/audit?from=${new Date(nowMs + 1).toISOString()}`, admin())).body.entries).toEqual([]);
    // No secrets in it.
    const raw = JSON.stringify(await rows('SELECT * FROM audit_log'));
    expect(raw).not.toContain('scrypt$');
    expect(raw).not.toContain(token.body.secret.slice(8));
    expect(raw).not.toContain(user.body.oneTimePassword);
    // Append-only.
    await expect(dashboard.db.run("UPDATE audit_log SET actor_name = 'someone else'")).rejects.toThrow(/append-only/);

    // Same transaction: when the audit row cannot be written, the change is not made either.
    await dashboard.db.exec("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit refused'); END");
    expect((await api('PUT', '/sites/mk-02', admin(), site('Tsim Sha Tsui'))).status).toBe(500);
    expect((await api('GET', '/sites/mk-02', admin())).status).toBe(404);
    expect((await api('POST', '/devices', admin(), { id: 'gw-mk-02', siteId: 'mk-01' })).status).toBe(500);
    expect(await rows("SELECT id FROM devices WHERE id = 'gw-mk-02'")).toEqual([]);
    expect((await api('POST', '/users', admin(), { username: 'ghost', role: 'hr' })).status).toBe(500);
    expect(await rows("SELECT id FROM users WHERE username = 'ghost'")).toEqual([]);
    expect((await api('POST', '/tokens', admin(), { name: 'ghost', role: 'hr' })).status).toBe(500);
    expect(await rows("SELECT id FROM api_tokens WHERE name = 'ghost'")).toEqual([]);
    expect((await api('PUT', '/devices/gw-mk-01/config', admin(), config)).status).toBe(500);
    expect(await rows('SELECT version FROM device_configs')).toEqual([{ version: 1 }]);
  });

  it("shows a store manager only its own sites' punches, devices and sites", async () => {
    for (const id of ['mk-01', 'mk-02', 'tst-01']) expect((await api('PUT', `/sites/${id}`, admin(), site(id))).status).toBe(201);
    for (const [deviceId, siteId] of [['gw-mk-01', 'mk-01'], ['gw-mk-02', 'mk-02'], ['gw-tst-01', 'tst-01']] as const) {
      expect((await api('POST', '/devices', admin(), { id: deviceId, siteId })).status).toBe(201);
    }
    await dashboard.punches.insertBatch([punchAt('mk-01', 'gw-mk-01', 1), punchAt('mk-02', 'gw-mk-02', 2), punchAt('tst-01', 'gw-tst-01', 3), punchAt('mk-01', 'gw-mk-01', 4)], new Date(nowMs).toISOString());

    const session = await userSession('mk-manager', 'store-manager', ['mk-01', 'mk-02']);
    const token = (await api('POST', '/tokens', admin(), { name: 'mk-01 screen', role: 'store-manager', sites: ['mk-01'] })).body.secret as string;
    for (const [who, headers, reach] of [
      ['session', asBrowser(session), ['mk-01', 'mk-02']],
      ['token', bearer(token), ['mk-01']],
    ] as const) {
      const punches = await api('GET', '/punches?limit=10', headers);
      expect(punches.status, who).toBe(200);
      expect(new Set(punches.body.punches.map((punch: Punch) => punch.siteId)), who).toEqual(new Set(reach));
      expect((await api('GET', '/punches?siteId=tst-01', headers)).body.punches, who).toEqual([]);
      const paged = await api('GET', '/punches?limit=1', headers);
      expect(paged.body.punches[0].siteId, who).toBe('mk-01');
      const devices = await api('GET', '/devices', headers);
      expect(devices.body.devices.map((device: Json) => device.siteId).sort(), who).toEqual([...reach]);
      const sites = await api('GET', '/sites?limit=1', headers);
      expect(sites.body.sites.map((row: Json) => row.id), who).toEqual(['mk-01']);
      expect(sites.body.nextCursor === null, who).toBe(reach.length === 1);
      expect((await api('GET', '/sites/mk-01', headers)).status, who).toBe(200);
      expect((await api('GET', '/sites/tst-01', headers)).status, who).toBe(404);
      // Commands reach only their own terminals (a terminal elsewhere is unknown).
      expect((await api('POST', '/devices/gw-tst-01/commands', headers, { command: 'identify', waitSeconds: 0 })).status, who).toBe(404);
      expect((await api('POST', '/devices/gw-mk-01/commands', headers, { command: 'identify', waitSeconds: 0 })).status, who).toBe(202);
      // And what the role cannot do at all stays forbidden.
      expect((await api('PUT', '/sites/mk-01', headers, site('mine'))).status, who).toBe(403);
    }
    // Everyone else sees everything.
    expect((await api('GET', '/punches', admin())).body.punches).toHaveLength(4);
  });
});

describe('dashboard: sign-in rate limit and cookies on plain http', () => {
  let dir: string;
  let dashboard: Dashboard;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-auth-http-'));
    dashboard = await startDashboard(
      DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 }, auth: { secureCookies: false, loginAttemptsPerMinute: 3 } }),
      testLogger(),
      { onFirstAdmin: () => undefined },
    );
  });
  afterEach(async () => {
    await dashboard.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('caps sign-in attempts per address and username with @fastify/rate-limit, and uses a non-Secure cookie when told to', async () => {
    await dashboard.auth.users.create({ username: 'wong', role: 'hr', password: GOOD, mustChangePassword: false }, undefined);
    const ok = await signIn(dashboard.http, 'wong', GOOD);
    expect(ok.status).toBe(200);
    expect(ok.setCookie).toMatch(/^punchgate_session=/);
    expect(ok.setCookie).not.toMatch(/Secure/);
    expect(ok.setCookie).toMatch(/HttpOnly/);
    expect((await dashboard.http.inject({ method: 'GET', url: '/health' })).headers['strict-transport-security']).toBeUndefined();
    expect((await signIn(dashboard.http, 'wong', GOOD)).status).toBe(200);
    expect((await signIn(dashboard.http, 'wong', GOOD)).status).toBe(200);
    const limited = await dashboard.http.inject({ method: 'POST', url: '/api/v1/session', payload: { username: 'wong', password: GOOD } });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ error: expect.stringMatching(/too many requests/) });
    expect((await signIn(dashboard.http, 'wong', GOOD, '10.1.1.1')).status).toBe(200);
  });
});
