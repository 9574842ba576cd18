import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { testLogger } from '../support/logger.js';
import { rowsOf } from '../support/sqlite-rows.js';

/** /api/v1/sites through app.inject() against a real SQLite file. */

const T0 = Date.parse('2026-03-02T01:00:00.000Z');
const IK_A = '0102030405060708090a0b0c0d0e0f10'; // lower case on purpose: stored upper-case
const IK_B = '1F1E1D1C1B1A19181716151413121110';
const SK_A = 'A1A2A3A4A5A6A7A8A9AAABACADAEAFB0';
const UUID = 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0';
const MK_CENTER = { lat: 22.3193, lon: 114.1694 }; // Mong Kok MTR station

function mongKok(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Mong Kok Station Shop',
    nameZh: '旺角站店',
    policy: {
      geofence: { kind: 'circle', center: MK_CENTER, radiusMetres: 60 },
      allowedBssids: ['a4-2b-b0-11-22-33', 'A4:2B:B0:11:22:34'],
      accept: { anyOf: 1, factors: ['gps', 'wifi', 'ble'] },
    },
    beacons: [
      { kind: 'eid', gatewayId: 'gw-mk-01', identityKey: IK_A, rotationExponent: 8, epochUnixSeconds: 1_772_000_000 },
      { kind: 'ibeacon-minor', siteKey: SK_A, rotationExponent: 8, uuid: UUID.toLowerCase(), major: 101 },
    ],
    ...overrides,
  };
}

interface Body {
  site?: Record<string, unknown> & { beacons: Array<Record<string, unknown>>; policy: Record<string, unknown> };
  sites?: Array<Record<string, unknown>>;
  nextCursor?: string | null;
  created?: boolean;
  warnings?: string[];
  error?: string;
  issues?: Array<{ in: string; field: string; message: string }>;
}

describe('dashboard: /api/v1/sites', () => {
  let dir: string;
  let dashboard: Dashboard;
  let nowMs: number;
  const rows = (sql: string): Promise<Array<Record<string, unknown>>> => rowsOf(path.join(dir, 'dashboard.sqlite'), sql);

  async function call(method: 'GET' | 'PUT', url: string, payload?: unknown, token: string | null = dashboard.apiToken): Promise<{ status: number; body: Body; raw: string }> {
    const response = await dashboard.http.inject({
      method,
      url: `/api/v1${url}`,
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
    return { status: response.statusCode, body: response.json<Body>(), raw: response.body };
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-sites-'));
    nowMs = T0;
    dashboard = await startDashboard(DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } }), testLogger(), {
      now: () => new Date(nowMs),
    });
  });

  afterEach(async () => {
    await dashboard.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a site, normalises its policy, keeps its keys and shows only their fingerprints', async () => {
    const put = await call('PUT', '/sites/mk-01', mongKok());
    expect(put.status, put.raw).toBe(201);
    expect(put.body.created).toBe(true);
    expect(put.body.warnings).toEqual([]);
    const site = put.body.site!;
    expect(site).toMatchObject({
      id: 'mk-01',
      name: 'Mong Kok Station Shop',
      nameZh: '旺角站店',
      timeZone: 'Asia/Hong_Kong',
      createdAt: new Date(T0).toISOString(),
      updatedAt: new Date(T0).toISOString(),
      policy: {
        siteId: 'mk-01',
        allowedBssids: ['A4:2B:B0:11:22:33', 'A4:2B:B0:11:22:34'],
        acceptScannedBssids: false,
        gpsToleranceMetres: 75,
        maxAccuracyMetres: 100,
        keepRawEvidence: false,
      },
    });
    expect(site.beacons).toEqual([
      { kind: 'eid', siteId: 'mk-01', gatewayId: 'gw-mk-01', identityKeyFingerprint: expect.stringMatching(/^sha256:[0-9A-F]{16}$/), rotationExponent: 8, epochUnixSeconds: 1_772_000_000 },
      { kind: 'ibeacon-minor', siteId: 'mk-01', siteKeyFingerprint: expect.stringMatching(/^sha256:[0-9A-F]{16}$/), rotationExponent: 8, uuid: UUID, major: 101 },
    ]);

    const get = await call('GET', '/sites/mk-01');
    expect(get.status).toBe(200);
    expect(get.body.site).toEqual(site);

    // The keys are in the database (the resolver needs them) ...
    const [row] = await rows('SELECT * FROM sites');
    expect(row).toMatchObject({ id: 'mk-01', name: 'Mong Kok Station Shop', name_zh: '旺角站店', time_zone: 'Asia/Hong_Kong' });
    expect(JSON.parse(String(row?.beacons))).toMatchObject([{ identityKey: IK_A.toUpperCase() }, { siteKey: SK_A }]);
    expect(await rows('SELECT revision FROM site_revision')).toEqual([{ revision: 1 }]);
  });

  it('never returns a beacon key in GET /sites/:id, GET /sites or the PUT answer', async () => {
    const put = await call('PUT', '/sites/mk-01', mongKok());
    const one = await call('GET', '/sites/mk-01');
    const all = await call('GET', '/sites');
    for (const answer of [put.raw, one.raw, all.raw]) {
      for (const key of [IK_A, SK_A]) {
        expect(answer.toUpperCase()).not.toContain(key.toUpperCase());
      }
      expect(answer).not.toMatch(/identityKey"|siteKey"/);
    }
    expect(all.body.sites).toHaveLength(1);
  });

  it('replaces a site: keeps createdAt, and keeps the stored beacons when the body leaves them out', async () => {
    await call('PUT', '/sites/mk-01', mongKok());
    nowMs = T0 + 60_000;
    const { beacons: _dropped, nameZh: _none, ...withoutBeacons } = mongKok({ name: 'Mong Kok Flagship' });
    const replaced = await call('PUT', '/sites/mk-01', withoutBeacons);
    expect(replaced.status, replaced.raw).toBe(200);
    expect(replaced.body.created).toBe(false);
    expect(replaced.body.site).toMatchObject({ name: 'Mong Kok Flagship', nameZh: null, createdAt: new Date(T0).toISOString(), updatedAt: new Date(T0 + 60_000).toISOString() });
    expect(replaced.body.site?.beacons).toHaveLength(2);

    const cleared = await call('PUT', '/sites/mk-01', mongKok({ beacons: [], policy: { ...(mongKok().policy as object), accept: { anyOf: 1, factors: ['gps', 'wifi'] } } }));
    expect(cleared.status, cleared.raw).toBe(200);
    expect(cleared.body.site?.beacons).toEqual([]);
    expect(await rows('SELECT count(*) AS n FROM sites')).toEqual([{ n: 1 }]);
  });

  it('lists sites a page at a time', async () => {
    for (const id of ['tw-01', 'mk-01', 'cwb-01']) {
      expect((await call('PUT', `/sites/${id}`, mongKok({ beacons: [], policy: { ...(mongKok().policy as object), accept: { anyOf: 1, factors: ['gps'] } } }))).status).toBe(201);
    }
    const first = await call('GET', '/sites?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.sites?.map((s) => s.id)).toEqual(['cwb-01', 'mk-01']);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call('GET', `/sites?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.sites?.map((s) => s.id)).toEqual(['tw-01']);
    expect(second.body.nextCursor).toBeNull();

    const badCursor = await call('GET', '/sites?cursor=nonsense');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.issues).toEqual([{ in: 'querystring', field: 'cursor', message: expect.any(String) }]);
    const badLimit = await call('GET', '/sites?limit=0');
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.issues?.[0]).toMatchObject({ in: 'querystring', field: 'limit' });
  });

  const invalid: Array<{ name: string; body: () => Record<string, unknown>; fields: string[]; message?: RegExp }> = [
    {
      name: 'a polygon whose edges cross (a bow tie)',
      body: () =>
        mongKok({
          policy: {
            geofence: {
              kind: 'polygon',
              points: [
                { lat: 22.318, lon: 114.1677 },
                { lat: 22.317, lon: 114.169 },
                { lat: 22.318, lon: 114.169 },
                { lat: 22.317, lon: 114.1677 },
              ],
            },
            allowedBssids: ['A4:2B:B0:11:22:33'],
            accept: { anyOf: 1, factors: ['gps', 'wifi', 'ble'] },
          },
        }),
      fields: ['policy.geofence.points'],
      message: /cross or overlap/,
    },
    {
      name: 'a polygon point off the globe',
      body: () => mongKok({ policy: { geofence: { kind: 'polygon', points: [MK_CENTER, { lat: 95, lon: 114.17 }, { lat: 22.31, lon: 114.17 }] }, accept: { required: ['gps'] } } }),
      fields: ['policy.geofence.points[1].lat'],
    },
    {
      name: 'a malformed BSSID',
      body: () => mongKok({ policy: { ...(mongKok().policy as object), allowedBssids: ['A4:2B:B0:11:22:33', 'A4:2B:B0:11:22'] } }),
      fields: ['policy.allowedBssids[1]'],
      message: /is not a Wi-Fi BSSID/,
    },
    {
      name: 'a placeholder BSSID',
      body: () => mongKok({ policy: { ...(mongKok().policy as object), allowedBssids: ['02:00:00:00:00:00'] } }),
      fields: ['policy.allowedBssids[0]'],
      message: /placeholder/,
    },
    {
      name: 'an identity key of the wrong length',
      body: () => mongKok({ beacons: [{ kind: 'eid', identityKey: 'ABCDEF', rotationExponent: 8, epochUnixSeconds: 0 }] }),
      fields: ['beacons[0].identityKey'],
      message: /32 hex characters/,
    },
    {
      name: 'the same identity key twice',
      body: () => mongKok({ beacons: [{ kind: 'eid', identityKey: IK_A, rotationExponent: 8, epochUnixSeconds: 0 }, { kind: 'eid', identityKey: IK_A.toUpperCase(), rotationExponent: 8, epochUnixSeconds: 0 }] }),
      fields: ['beacons[1].identityKey'],
    },
    {
      name: "another site's id in the policy and a beacon",
      body: () => mongKok({ policy: { ...(mongKok().policy as object), siteId: 'lp-01' }, beacons: [{ kind: 'eid', siteId: 'lp-01', identityKey: IK_A, rotationExponent: 8, epochUnixSeconds: 0 }] }),
      fields: ['policy.siteId', 'beacons[0].siteId'],
      message: /must be this site's id "mk-01"/,
    },
    {
      name: 'a BLE rule without beacons',
      body: () => mongKok({ beacons: [] }),
      fields: ['beacons'],
      message: /register at least one beacon/,
    },
    {
      name: 'several mistakes at once',
      body: () => ({ ...mongKok({ name: '', timeZone: 'Asia/Mong_Kok', policy: { accept: { anyOf: 3, factors: ['gps'] }, gpsToleranceMetres: 900 } }), colour: 'red' }),
      fields: ['name', 'timeZone', 'policy.accept.anyOf', 'policy.gpsToleranceMetres', 'colour'],
    },
  ];

  it.each(invalid)('refuses $name with 400 naming the field, and writes nothing', async ({ body, fields, message }) => {
    const response = await call('PUT', '/sites/mk-01', body());
    expect(response.status, response.raw).toBe(400);
    expect(response.body.issues?.map((issue) => issue.field)).toEqual(expect.arrayContaining(fields));
    expect(response.body.issues?.every((issue) => issue.in === 'body')).toBe(true);
    for (const field of fields) expect(response.body.error).toContain(`${field}: `);
    if (message) expect(response.body.error).toMatch(message);
    expect(await rows('SELECT count(*) AS n FROM sites')).toEqual([{ n: 0 }]);
    expect(await rows('SELECT revision FROM site_revision')).toEqual([{ revision: 0 }]);
  });

  it('leaves a stored site untouched when a replacement is refused', async () => {
    await call('PUT', '/sites/mk-01', mongKok());
    const [before] = await rows('SELECT * FROM sites');
    nowMs = T0 + 60_000;
    const response = await call('PUT', '/sites/mk-01', mongKok({ name: 'Renamed', beacons: [{ kind: 'eid', identityKey: '00', rotationExponent: 8, epochUnixSeconds: 0 }] }));
    expect(response.status).toBe(400);
    expect(await rows('SELECT * FROM sites')).toEqual([before]);
  });

  it("refuses (409) an identity key another site's beacon already uses, and writes nothing", async () => {
    expect((await call('PUT', '/sites/mk-01', mongKok())).status).toBe(201);
    const other = mongKok({ name: 'Langham Place Kiosk', beacons: [{ kind: 'eid', identityKey: IK_B, rotationExponent: 8, epochUnixSeconds: 0 }, { kind: 'eid', identityKey: IK_A.toUpperCase(), rotationExponent: 8, epochUnixSeconds: 0 }] });
    const response = await call('PUT', '/sites/lp-01', other);
    expect(response.status, response.raw).toBe(409);
    expect(response.body.issues).toEqual([{ in: 'body', field: 'beacons[1].identityKey', message: expect.stringMatching(/already used by a beacon of site mk-01/) }]);
    expect(await rows('SELECT id FROM sites')).toEqual([{ id: 'mk-01' }]);
    expect(await rows('SELECT revision FROM site_revision')).toEqual([{ revision: 1 }]);
  });

  it('warns when two sites share an iBeacon uuid and major', async () => {
    await call('PUT', '/sites/mk-01', mongKok());
    const response = await call('PUT', '/sites/lp-01', mongKok({ beacons: [{ kind: 'ibeacon-minor', siteKey: IK_B, rotationExponent: 8, uuid: UUID, major: 101 }] }));
    expect(response.status).toBe(201);
    expect(response.body.warnings).toEqual([expect.stringMatching(/major 101 is also used by site mk-01/)]);
  });

  it('answers 404 for an unknown site, 400 for a bad site id, 401 without a token', async () => {
    const missing = await call('GET', '/sites/tst-99');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/site tst-99 does not exist/);

    const badId = await call('PUT', '/sites/-bad', mongKok());
    expect(badId.status).toBe(400);
    expect(badId.body.issues?.[0]).toMatchObject({ in: 'params', field: 'siteId' });

    expect((await call('GET', '/sites', undefined, null)).status).toBe(401);
    expect((await call('GET', '/sites/mk-01', undefined, null)).status).toBe(401);
    expect((await call('PUT', '/sites/mk-01', mongKok(), null)).status).toBe(401);
    expect(await rows('SELECT count(*) AS n FROM sites')).toEqual([{ n: 0 }]);
  });
});
