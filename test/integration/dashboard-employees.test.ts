import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../dashboard/auth/permissions.js';
import type { Punch } from '../../core/punch.js';
import { openCentralDb } from '../../dashboard/db/central-db.js';
import { PunchRepository } from '../../dashboard/db/punch-repository.js';
import { SiteRepository } from '../../dashboard/db/site-repository.js';
import { systemAccess, type EntityChange } from '../../dashboard/employees/employee-model.js';
import { EmployeeService } from '../../dashboard/employees/employee-service.js';
import { employeeRoutes } from '../../dashboard/http/employee-routes.js';
import type { Database } from '../../platform/sqlite.js';
import { rowsOf } from '../support/sqlite-rows.js';
import { buildTestApp, principalHeader, testPrincipal } from '../support/test-principal.js';

/** /api/v1 employees, badges, BLE consent and assign-unknown through inject() against a real SQLite file. */

const T0 = Date.parse('2026-03-02T01:00:00.000Z');
const admin = testPrincipal('admin');
const hr = testPrincipal('hr');
const facilities = testPrincipal('facilities');
const mkManager = testPrincipal('store-manager', ['mk-01'], 'mgr-mk');

interface Issue {
  in: string;
  field: string;
  message: string;
}
interface Body {
  employee?: Record<string, unknown> & { sites: string[]; badges: Array<Record<string, unknown>>; bleConsent: Record<string, unknown> | null };
  employees?: Array<Record<string, unknown> & { employeeNumber: string }>;
  badge?: Record<string, unknown> & { credential: { kind: string; uid: string } };
  badges?: Array<Record<string, unknown>>;
  consent?: Record<string, unknown> | null;
  history?: Array<Record<string, unknown>>;
  changed?: boolean;
  created?: boolean;
  updated?: number;
  holder?: string;
  nextCursor?: string | null;
  error?: string;
  issues?: Issue[];
}

function chan(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Chan Tai Man',
    nameZh: '陳大文',
    department: 'Retail',
    rank: 'Supervisor',
    phone: '+852 2345 6789',
    email: 'chan.taiman@example.hk',
    sites: ['mk-01'],
    activeFrom: '2026-01-01',
    status: 'active',
    ...overrides,
  };
}

describe('dashboard: /api/v1/employees, badges, BLE consent, assign-unknown', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let service: EmployeeService;
  let punches: PunchRepository;
  let nowMs: number;
  const changes: EntityChange[] = [];
  const sitesTold: string[][] = [];
  const routeTable: string[] = [];
  let failOn: EntityChange['action'] | undefined;
  const rows = (sql: string): Promise<Array<Record<string, unknown>>> => rowsOf(path.join(dir, 'dashboard.sqlite'), sql);

  async function call(method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown, principal: Principal | null = admin): Promise<{ status: number; body: Body; raw: string }> {
    const response = await app.inject({
      method,
      url: `/api/v1${url}`,
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      headers: principal === null ? {} : principalHeader(principal),
    });
    return { status: response.statusCode, body: response.json<Body>(), raw: response.body };
  }

  const fields = (body: Body): string[] => (body.issues ?? []).map((issue) => issue.field);

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-employees-'));
    nowMs = T0;
    changes.length = 0;
    sitesTold.length = 0;
    failOn = undefined;
    ({ db } = await openCentralDb(dir));
    const sites = new SiteRepository(db);
    for (const [id, name] of [
      ['mk-01', 'Mong Kok'],
      ['tst-02', 'Tsim Sha Tsui'],
      ['cwb-03', 'Causeway Bay'],
    ] as const) {
      await sites.put({ id, name, nameZh: null, timeZone: 'Asia/Hong_Kong', policy: { siteId: id, allowedBssids: [], acceptScannedBssids: false, accept: { anyOf: 1, factors: ['gps'] }, geofence: { kind: 'circle', center: { lat: 22.3, lon: 114.17 }, radiusMetres: 50 }, gpsToleranceMetres: 20, maxAccuracyMetres: 100, maxFixAgeSeconds: 120, minBeaconRssi: -100, keepRawEvidence: false }, beacons: [] }, new Date(T0));
    }
    punches = new PunchRepository(db);
    service = new EmployeeService({
      db,
      punches,
      now: () => new Date(nowMs),
      onChange: async (change, tx) => {
        // Inside the transaction: a statement on `tx` joins it, a throw rolls the change back.
        await tx.get('SELECT count(*) AS n FROM employees');
        if (change.action === failOn) throw new Error(`audit refused ${change.action}`);
        changes.push(change);
      },
      gateways: { sitesChanged: (ids) => sitesTold.push([...ids].sort()) },
    });
    app = buildTestApp();
    routeTable.length = 0;
    app.addHook('onRoute', (route) => {
      if (route.method !== 'HEAD') routeTable.push(`${String(route.method)} ${route.url} ${route.config?.permission ?? '(none)'}`);
    });
    await app.register(employeeRoutes, { prefix: '/api/v1', employees: service });
    await app.ready();
  });

  afterEach(async () => {
    await app.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates, reads and replaces an employee; lists are paged and filtered', async () => {
    const created = await call('PUT', '/employees/E001', chan());
    expect(created.status, created.raw).toBe(201);
    expect(created.body.created).toBe(true);
    expect(created.body.employee).toMatchObject({
      employeeNumber: 'E001',
      name: 'Chan Tai Man',
      nameZh: '陳大文',
      department: 'Retail',
      rank: 'Supervisor',
      phone: '+852 2345 6789',
      email: 'chan.taiman@example.hk',
      sites: ['mk-01'],
      activeFrom: '2026-01-01',
      activeUntil: null,
      status: 'active',
      inactiveSince: null,
      badges: [],
      bleConsent: null,
      createdAt: '2026-03-02T01:00:00.000Z',
    });
    expect(changes).toEqual([expect.objectContaining({ action: 'employee.create', entity: 'employee', entityId: 'E001', before: null, actor: { kind: 'user', id: 'admin-1', name: 'Test admin' } })]);
    expect(sitesTold).toEqual([['mk-01']]);

    nowMs += 60_000;
    // Replace: fields left out are cleared; the sites before and after both hear of it.
    const replaced = await call('PUT', '/employees/E001', { name: 'Chan Tai Man', sites: ['tst-02'], status: 'inactive' });
    expect(replaced.status, replaced.raw).toBe(200);
    expect(replaced.body.employee).toMatchObject({ nameZh: null, department: null, sites: ['tst-02'], status: 'inactive', inactiveSince: '2026-03-02T01:01:00.000Z', createdAt: '2026-03-02T01:00:00.000Z', updatedAt: '2026-03-02T01:01:00.000Z' });
    expect(changes[1]).toMatchObject({ action: 'employee.update', before: { sites: ['mk-01'], status: 'active' }, after: { sites: ['tst-02'], status: 'inactive' } });
    expect(sitesTold[1]).toEqual(['mk-01', 'tst-02']);
    expect((await call('GET', '/employees/E001')).body.employee).toMatchObject({ sites: ['tst-02'] });
    expect((await call('GET', '/employees/E404')).status).toBe(404);

    for (let i = 2; i <= 7; i++) {
      const number = `E00${i}`;
      const put = await call('PUT', `/employees/${number}`, chan({ name: `Staff ${i}`, nameZh: null, email: `staff${i}@example.hk`, department: i % 2 ? 'Retail' : 'Warehouse', sites: i <= 4 ? ['mk-01'] : ['cwb-03'] }));
      expect(put.status, put.raw).toBe(201);
    }
    const first = await call('GET', '/employees?limit=3');
    expect(first.body.employees?.map((e) => e.employeeNumber)).toEqual(['E001', 'E002', 'E003']);
    const second = await call('GET', `/employees?limit=3&cursor=${first.body.nextCursor}`);
    expect(second.body.employees?.map((e) => e.employeeNumber)).toEqual(['E004', 'E005', 'E006']);
    const third = await call('GET', `/employees?limit=3&cursor=${second.body.nextCursor}`);
    expect(third.body.employees?.map((e) => e.employeeNumber)).toEqual(['E007']);
    expect(third.body.nextCursor).toBeNull();

    const ids = async (query: string): Promise<string[] | undefined> => (await call('GET', `/employees?${query}`)).body.employees?.map((e) => e.employeeNumber);
    expect(await ids('site=mk-01')).toEqual(['E002', 'E003', 'E004']);
    expect(await ids('department=Warehouse')).toEqual(['E002', 'E004', 'E006']);
    expect(await ids('status=inactive')).toEqual(['E001']);
    expect(await ids('site=cwb-03&department=Retail')).toEqual(['E005', 'E007']);
    expect(await ids(`q=${encodeURIComponent('staff6@')}`)).toEqual(['E006']);
    expect(await ids(`q=${encodeURIComponent('chan tai')}`)).toEqual(['E001']);
    // LIKE wildcards in a search are literal.
    expect(await ids(`q=${encodeURIComponent('%')}`)).toEqual([]);
    const bad = await call('GET', '/employees?cursor=nonsense');
    expect(bad.status).toBe(400);
    expect(fields(bad.body)).toEqual(['cursor']);
  });

  it('refuses bad employees field by field and changes nothing', async () => {
    const bad = await call('PUT', '/employees/E001', chan({ name: '', email: 'not-mail', phone: 'call me', activeFrom: '2026-02-30', sites: ['mk-01', 'mk-01'], shoeSize: 42 }));
    expect(bad.status, bad.raw).toBe(400);
    expect(fields(bad.body).sort()).toEqual(['activeFrom', 'email', 'name', 'phone', 'shoeSize', 'sites[1]'].sort());
    expect(bad.body.error).toMatch(/^invalid body: /);

    const order = await call('PUT', '/employees/E001', chan({ activeFrom: '2026-05-01', activeUntil: '2026-04-30' }));
    expect(order.status).toBe(400);
    expect(order.body.issues).toEqual([{ in: 'body', field: 'activeUntil', message: 'must not be before activeFrom (2026-05-01)' }]);

    const unknownSite = await call('PUT', '/employees/E001', chan({ sites: ['mk-01', 'nowhere'] }));
    expect(unknownSite.status).toBe(400);
    expect(unknownSite.body.issues).toEqual([{ in: 'body', field: 'sites[1]', message: 'site nowhere does not exist' }]);

    const badNumber = await call('PUT', '/employees/-E001', chan());
    expect(badNumber.status).toBe(400);
    expect(badNumber.body.issues?.[0]).toMatchObject({ in: 'params', field: 'employeeNumber' });

    expect(await rows('SELECT * FROM employees')).toEqual([]);
    expect(changes).toEqual([]);
  });

  it('assigns badges, refuses a badge held by another employee with 409, and keeps the history of revoked ones', async () => {
    await call('PUT', '/employees/E001', chan());
    await call('PUT', '/employees/E002', chan({ name: 'Wong Siu Ming', nameZh: null, sites: ['mk-01', 'tst-02'] }));
    sitesTold.length = 0;

    // An RDM6300 reading (5 bytes) is stored as the canonical 4-byte EM4100 card number.
    const assigned = await call('POST', '/employees/E001/badges', { kind: 'em4100', uid: '62e3086ced' });
    expect(assigned.status, assigned.raw).toBe(201);
    expect(assigned.body.badge).toMatchObject({ employeeNumber: 'E001', credential: { kind: 'em4100', uid: 'E3086CED' }, assignedBy: 'admin-1', revokedAt: null });
    expect(sitesTold).toEqual([['mk-01']]);
    const again = await call('POST', '/employees/E001/badges', { kind: 'em4100', uid: 'E3086CED' });
    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);

    const held = await call('POST', '/employees/E002/badges', { kind: 'em4100', uid: 'E3086CED' });
    expect(held.status, held.raw).toBe(409);
    expect(held.body.holder).toBe('E001');
    expect(held.body.issues).toEqual([{ in: 'body', field: 'uid', message: 'badge em4100:E3086CED is assigned to employee E001; revoke it there first' }]);

    const badUid = await call('POST', '/employees/E002/badges', { kind: 'mifare', uid: '04A1B2' });
    expect(badUid.status).toBe(400);
    expect(badUid.body.issues).toEqual([{ in: 'body', field: 'uid', message: 'mifare uid must be 4, 7 or 10 bytes, got 3' }]);
    expect(fields((await call('POST', '/employees/E002/badges', { kind: 'nfc', uid: '04A1B2C3' })).body)).toEqual(['kind']);
    expect((await call('POST', '/employees/E404/badges', { kind: 'mifare', uid: '04A1B2C3' })).status).toBe(404);

    nowMs += 3_600_000;
    expect((await call('POST', '/employees/E002/badges/em4100/E3086CED/revoke', {})).status).toBe(404);
    const revoked = await call('POST', '/employees/E001/badges/em4100/62E3086CED/revoke', { reason: 'card lost' });
    expect(revoked.status, revoked.raw).toBe(200);
    expect(revoked.body.badge).toMatchObject({ revokedAt: '2026-03-02T02:00:00.000Z', revokedBy: 'admin-1', revokeReason: 'card lost' });
    const noBody = await call('POST', '/employees/E001/badges/em4100/E3086CED/revoke');
    expect(noBody.status, noBody.raw).toBe(404);

    // Free again: the other employee may take it now; the first one's row stays.
    nowMs += 60_000;
    expect((await call('POST', '/employees/E002/badges', { kind: 'em4100', uid: 'E3086CED' })).status).toBe(201);
    await call('POST', '/employees/E001/badges', { kind: 'mifare', uid: '04a1b2c3d4e5f6' });
    const history = await call('GET', '/employees/E001/badges');
    expect(history.body.badges).toEqual([
      expect.objectContaining({ credential: { kind: 'mifare', uid: '04A1B2C3D4E5F6' }, revokedAt: null }),
      expect.objectContaining({ credential: { kind: 'em4100', uid: 'E3086CED' }, revokedAt: '2026-03-02T02:00:00.000Z', revokeReason: 'card lost' }),
    ]);
    const paged = await call('GET', '/employees/E001/badges?limit=1');
    expect(paged.body.badges).toHaveLength(1);
    expect((await call('GET', `/employees/E001/badges?limit=1&cursor=${paged.body.nextCursor}`)).body.badges?.[0]).toMatchObject({ revokeReason: 'card lost' });
    expect((await call('GET', '/employees/E001')).body.employee?.badges.map((b) => b.credential)).toEqual([{ kind: 'mifare', uid: '04A1B2C3D4E5F6' }]);
    expect(await rows("SELECT employee_number, credential_uid, revoked_at IS NOT NULL AS revoked FROM badge_assignments WHERE credential_kind = 'em4100' ORDER BY id")).toEqual([
      { employee_number: 'E001', credential_uid: 'E3086CED', revoked: 1 },
      { employee_number: 'E002', credential_uid: 'E3086CED', revoked: 0 },
    ]);
    expect(changes.filter((c) => c.entity === 'badge').map((c) => `${c.action} ${c.entityId}`)).toEqual([
      'badge.assign em4100:E3086CED',
      'badge.revoke em4100:E3086CED',
      'badge.assign em4100:E3086CED',
      'badge.assign mifare:04A1B2C3D4E5F6',
    ]);
    expect(sitesTold.slice(-2)).toEqual([['mk-01', 'tst-02'], ['mk-01']]);
  });

  it('records and withdraws BLE consent, keeping its history', async () => {
    await call('PUT', '/employees/E001', chan());
    expect((await call('POST', '/employees/E001/badges', { kind: 'ble-tag', uid: 'c0ffee01' })).status).toBe(201);

    const recorded = await call('PUT', '/employees/E001/ble-consent', { consent: true });
    expect(recorded.status, recorded.raw).toBe(200);
    expect(recorded.body).toMatchObject({ changed: true, consent: { recordedAt: '2026-03-02T01:00:00.000Z', recordedBy: 'admin-1', withdrawnAt: null } });
    expect((await call('PUT', '/employees/E001/ble-consent', { consent: true })).body.changed).toBe(false);
    expect((await call('GET', '/employees/E001')).body.employee?.bleConsent).toMatchObject({ recordedBy: 'admin-1' });

    nowMs += 86_400_000;
    const withdrawn = await call('PUT', '/employees/E001/ble-consent', { consent: false }, hr);
    expect(withdrawn.body).toEqual({ changed: true, consent: null });
    expect((await call('PUT', '/employees/E001/ble-consent', { consent: false })).body.changed).toBe(false);
    nowMs += 86_400_000;
    await call('PUT', '/employees/E001/ble-consent', { consent: true });

    const history = await call('GET', '/employees/E001/ble-consent');
    expect(history.body.consent).toMatchObject({ recordedAt: '2026-03-04T01:00:00.000Z', withdrawnAt: null });
    expect(history.body.history).toEqual([
      expect.objectContaining({ recordedAt: '2026-03-04T01:00:00.000Z', withdrawnAt: null }),
      expect.objectContaining({ recordedAt: '2026-03-02T01:00:00.000Z', withdrawnAt: '2026-03-03T01:00:00.000Z', withdrawnBy: 'hr-1' }),
    ]);
    expect(changes.filter((c) => c.entity === 'ble-consent').map((c) => c.action)).toEqual(['ble-consent.record', 'ble-consent.withdraw', 'ble-consent.record']);
    expect(fields((await call('PUT', '/employees/E001/ble-consent', { consent: 'yes' })).body)).toEqual(['consent']);
  });

  it('scopes store managers to their sites and enforces each route\'s permission', async () => {
    expect(routeTable.sort()).toEqual(
      [
        'GET /api/v1/employees employees:read',
        'GET /api/v1/employees/:employeeNumber employees:read',
        'PUT /api/v1/employees/:employeeNumber employees:write',
        'GET /api/v1/employees/:employeeNumber/badges employees:read',
        'POST /api/v1/employees/:employeeNumber/badges employees:write',
        'POST /api/v1/employees/:employeeNumber/badges/:kind/:uid/revoke employees:write',
        'GET /api/v1/employees/:employeeNumber/ble-consent employees:read',
        'PUT /api/v1/employees/:employeeNumber/ble-consent employees:write',
        'POST /api/v1/punches/assign-unknown punches:write',
      ].sort(),
    );

    await call('PUT', '/employees/E001', chan({ sites: ['mk-01'] }));
    await call('PUT', '/employees/E002', chan({ sites: ['tst-02'] }));
    await call('PUT', '/employees/E003', chan({ sites: ['tst-02', 'mk-01'] }));
    await call('POST', '/employees/E002/badges', { kind: 'mifare', uid: '04A1B2C3' });

    const listed = await call('GET', '/employees', undefined, mkManager);
    expect(listed.status).toBe(200);
    expect(listed.body.employees?.map((e) => e.employeeNumber)).toEqual(['E001', 'E003']);
    expect((await call('GET', '/employees?site=tst-02', undefined, mkManager)).body.employees?.map((e) => e.employeeNumber)).toEqual(['E003']);
    expect((await call('GET', '/employees/E001', undefined, mkManager)).status).toBe(200);
    expect((await call('GET', '/employees/E002', undefined, mkManager)).status).toBe(404);
    expect((await call('GET', '/employees/E002/badges', undefined, mkManager)).status).toBe(404);
    expect((await call('GET', '/employees/E001/ble-consent', undefined, mkManager)).status).toBe(200);
    const noSites = testPrincipal('store-manager', [], 'mgr-none');
    expect((await call('GET', '/employees', undefined, noSites)).body.employees).toEqual([]);

    // Store managers read only; facilities do not see people; anonymous is 401.
    expect((await call('PUT', '/employees/E001', chan(), mkManager)).status).toBe(403);
    expect((await call('POST', '/employees/E001/badges', { kind: 'mifare', uid: '11223344' }, mkManager)).status).toBe(403);
    expect((await call('PUT', '/employees/E001/ble-consent', { consent: true }, mkManager)).status).toBe(403);
    expect((await call('POST', '/punches/assign-unknown', { credential: { kind: 'mifare', uid: '11223344' }, employeeNumber: 'E001' }, mkManager)).status).toBe(403);
    expect((await call('GET', '/employees', undefined, facilities)).status).toBe(403);
    expect((await call('GET', '/employees', undefined, null)).status).toBe(401);

    // A site-scoped principal that may write still cannot reach outside its sites.
    await expect(service.put('E009', { name: 'X', sites: ['tst-02'], status: 'active' }, { actor: { kind: 'user', id: 'scoped', name: 'Scoped' }, sites: ['mk-01'] })).rejects.toThrow(/may not manage employees of site tst-02/);
    await expect(service.assignBadge('E002', { kind: 'mifare', uid: '55667788' }, { actor: { kind: 'user', id: 'scoped', name: 'Scoped' }, sites: ['mk-01'] })).rejects.toThrow(/E002 does not exist/);
  });

  it('assigns an unknown badge\'s punches to an employee: rows and stored bodies, within the window', async () => {
    await call('PUT', '/employees/E001', chan());
    const punch = (uid: string, at: string, employeeId: string | null = null, siteId = 'mk-01'): Punch => ({
      id: randomUUID(),
      deviceId: 'gw-1',
      siteId,
      credential: { kind: 'mifare', uid },
      employeeId,
      at,
      clock: { synced: true },
      method: 'badge',
      direction: 'in',
      seq: 1,
    });
    const batch = [
      punch('DEADBEEF', '2026-03-01T01:00:00.000Z'),
      punch('DEADBEEF', '2026-03-01T09:00:00.000Z'),
      punch('DEADBEEF', '2026-02-01T01:00:00.000Z'),
      punch('DEADBEEF', '2026-03-01T02:00:00.000Z', 'E777'),
      punch('CAFEBABE', '2026-03-01T01:00:00.000Z'),
    ];
    await punches.insertBatch(batch, new Date(T0).toISOString());

    const bad = await call('POST', '/punches/assign-unknown', { credential: { kind: 'mifare', uid: 'DEAD' }, employeeNumber: 'E001', from: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(fields(bad.body)).toEqual(['from']);
    const badUid = await call('POST', '/punches/assign-unknown', { credential: { kind: 'mifare', uid: 'DEAD' }, employeeNumber: 'E001' });
    expect(badUid.body.issues).toEqual([{ in: 'body', field: 'credential.uid', message: 'mifare uid must be 4, 7 or 10 bytes, got 2' }]);
    expect((await call('POST', '/punches/assign-unknown', { credential: { kind: 'mifare', uid: 'DEADBEEF' }, employeeNumber: 'E404' })).status).toBe(404);

    const assigned = await call('POST', '/punches/assign-unknown', { credential: { kind: 'mifare', uid: 'deadbeef' }, employeeNumber: 'E001', from: '2026-03-01T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' }, hr);
    expect(assigned.status, assigned.raw).toBe(200);
    expect(assigned.body.updated).toBe(2);
    const stored = await rows("SELECT id, employee_id, json_extract(body, '$.employeeId') AS body_employee FROM punches");
    const byId = new Map(stored.map((row) => [row.id, row]));
    expect(batch.map((p) => [byId.get(p.id)?.employee_id, byId.get(p.id)?.body_employee])).toEqual([
      ['E001', 'E001'],
      ['E001', 'E001'],
      [null, null],
      ['E777', 'E777'],
      [null, null],
    ]);
    // The stored body still parses as a punch and says the same as the column.
    expect(await punches.get(batch[0]!.id)).toEqual({ ...batch[0], employeeId: 'E001' });
    expect(changes.at(-1)).toMatchObject({ action: 'punch.assign-unknown', entity: 'punch', entityId: 'mifare:DEADBEEF', after: { employeeId: 'E001', punches: 2 }, actor: { id: 'hr-1' } });

    // Without a window: the rest of that badge's unknown punches; again: nothing left.
    expect((await call('POST', '/punches/assign-unknown', { credential: { kind: 'mifare', uid: 'DEADBEEF' }, employeeNumber: 'E001' })).body.updated).toBe(1);
    expect((await call('POST', '/punches/assign-unknown', { credential: { kind: 'mifare', uid: 'DEADBEEF' }, employeeNumber: 'E001' })).body.updated).toBe(0);
  });

  it('refuses a badge that reads the same as another person\'s at Wiegand-26 readers (an EM4100 card and its low 24 bits), both ways round', async () => {
    await call('PUT', '/employees/E201', chan({ name: 'Card Holder' }));
    await call('PUT', '/employees/E202', chan({ name: 'Other Person' }));
    expect((await call('POST', '/employees/E201/badges', { kind: 'em4100', uid: '12345678' })).status).toBe(201);
    const lookalike = await call('POST', '/employees/E202/badges', { kind: 'wiegand26', uid: '345678' });
    expect(lookalike.status, lookalike.raw).toBe(409);
    expect(lookalike.body).toMatchObject({
      holder: 'E201',
      issues: [{ in: 'body', field: 'uid', message: 'badge wiegand26:345678 and badge em4100:12345678 of employee E201 read the same at Wiegand-26 readers: a tap there would be recorded for the wrong person; give one of them to one person only' }],
    });
    // The holder may have both; then an EM4100 card ending in the same bits is refused for anyone else.
    expect((await call('POST', '/employees/E201/badges', { kind: 'wiegand26', uid: '345678' })).status).toBe(201);
    const reverse = await call('POST', '/employees/E202/badges', { kind: 'em4100', uid: '99345678' });
    expect(reverse.status, reverse.raw).toBe(409);
    expect(reverse.body.issues?.[0]?.message).toMatch(/^badge em4100:99345678 and badge wiegand26:345678 of employee E201 read the same at Wiegand-26 readers/);
    expect(await rows("SELECT * FROM badge_assignments WHERE employee_number = 'E202'")).toEqual([]);
    // Two EM4100 cards sharing the bits are two cards: the gateway matches neither through them.
    expect((await call('POST', '/employees/E202/badges', { kind: 'em4100', uid: '11ABCDEF' })).status).toBe(201);
    expect((await call('POST', '/employees/E201/badges', { kind: 'em4100', uid: '22ABCDEF' })).status).toBe(201);
    // A revoked lookalike no longer stands in the way.
    expect((await call('POST', '/employees/E201/badges/wiegand26/345678/revoke', {})).status).toBe(200);
    expect((await call('POST', '/employees/E201/badges/em4100/12345678/revoke', {})).status).toBe(200);
    expect((await call('POST', '/employees/E202/badges', { kind: 'wiegand26', uid: '345678' })).status).toBe(201);
  });

  it("refuses a lookalike even to a holder of one of two EM4100 cards that share the bits: the other card would be taken for theirs", async () => {
    await call('PUT', '/employees/E301', chan({ name: 'First Card' }));
    await call('PUT', '/employees/E302', chan({ name: 'Second Card' }));
    // E302's card is given first, so a lookup that stops at the first lookalike finds E302's own.
    expect((await call('POST', '/employees/E302/badges', { kind: 'em4100', uid: '55C0FFEE' })).status).toBe(201);
    expect((await call('POST', '/employees/E301/badges', { kind: 'em4100', uid: '66C0FFEE' })).status).toBe(201);
    const refused = await call('POST', '/employees/E302/badges', { kind: 'wiegand26', uid: 'C0FFEE' });
    expect(refused.status, refused.raw).toBe(409);
    expect(refused.body.holder).toBe('E301');
    expect(await rows("SELECT credential_kind FROM badge_assignments WHERE employee_number = 'E302' AND revoked_at IS NULL")).toEqual([{ credential_kind: 'em4100' }]);
  });

  it('calls onChange inside the transaction: a failing audit rolls the change back', async () => {
    failOn = 'employee.create';
    const failed = await app.inject({ method: 'PUT', url: '/api/v1/employees/E001', payload: chan(), headers: principalHeader(admin) });
    expect(failed.statusCode).toBe(500);
    expect(await rows('SELECT * FROM employees')).toEqual([]);
    expect(await rows('SELECT * FROM employee_sites')).toEqual([]);
    expect(sitesTold).toEqual([]);

    failOn = 'badge.assign';
    await call('PUT', '/employees/E001', chan());
    expect((await call('POST', '/employees/E001/badges', { kind: 'mifare', uid: '04A1B2C3' })).status).toBe(500);
    expect(await rows('SELECT * FROM badge_assignments')).toEqual([]);
  });
});
