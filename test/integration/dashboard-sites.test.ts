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
  beacon?: Record<string, unknown>;
  removed?: Array<Record<string, unknown>>;
  nextCursor?: string | null;
  created?: boolean;
  warnings?: string[];
  error?: string;
  issues?: Array<{ in: string; field: string; message: string }>;
}

const IK_C = '00112233445566778899AABBCCDDEEFF';
const SK_B = 'B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0';

/** A site without BLE in its rule (so that it may lose its last beacon). */
function noBle(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return mongKok({ policy: { ...(mongKok().policy as object), accept: { anyOf: 1, factors: ['gps', 'wifi'] } }, ...overrides });
}

describe('dashboard: /api/v1/sites', () => {
  let dir: string;
  let dashboard: Dashboard;
  let nowMs: number;
  const rows = (sql: string): Promise<Array<Record<string, unknown>>> => rowsOf(path.join(dir, 'dashboard.sqlite'), sql);

  async function call(method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown, token: string | null = dashboard.apiToken): Promise<{ status: number; body: Body; raw: string }> {
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
      {
        id: expect.stringMatching(/^eid-[0-9a-f]{16}$/),
        kind: 'eid',
        siteId: 'mk-01',
        gatewayId: 'gw-mk-01',
        identityKeyFingerprint: expect.stringMatching(/^sha256:[0-9A-F]{16}$/),
        rotationExponent: 8,
        epochUnixSeconds: 1_772_000_000,
      },
      { id: expect.stringMatching(/^ibm-[0-9a-f]{16}$/), kind: 'ibeacon-minor', siteId: 'mk-01', siteKeyFingerprint: expect.stringMatching(/^sha256:[0-9A-F]{16}$/), rotationExponent: 8, uuid: UUID, major: 101 },
    ]);
    // Neither address nor hands-free given: none, and off.
    expect(site).toMatchObject({ address: null, addressZh: null, handsFree: { enabled: false, punchOutAfterSeconds: 600 } });

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
      name: 'a hands-free punch-out delay too short',
      body: () => mongKok({ handsFree: { enabled: true, punchOutAfterSeconds: 30 } }),
      fields: ['handsFree.punchOutAfterSeconds'],
      message: /at least 60 seconds/,
    },
    {
      name: 'a hands-free setting that is not a switch and a delay in minutes',
      body: () => mongKok({ handsFree: { enabled: 'yes', punchOutAfterSeconds: 7.5, punchOutAfterMinutes: 10 } }),
      fields: ['handsFree.enabled', 'handsFree.punchOutAfterSeconds', 'handsFree.punchOutAfterMinutes'],
    },
    {
      name: 'an empty address, an over-long Chinese address',
      body: () => mongKok({ address: '   ', addressZh: '旺'.repeat(301) }),
      fields: ['address', 'addressZh'],
      message: /addressZh may be at most 300 characters/,
    },
    {
      name: 'an address with a control character',
      body: () => mongKok({ address: 'Shop 3, Mong Kok\u0007' }),
      fields: ['address'],
      message: /control characters/,
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

  it('stores the address and the hands-free setting, shows them, audits them, and clears them when a replacement leaves them out', async () => {
    const handsFree = { enabled: true, punchOutAfterSeconds: 900 };
    const put = await call('PUT', '/sites/mk-01', mongKok({ address: '  Shop 3, Mong Kok MTR Station\nKowloon  ', addressZh: '九龍旺角港鐵站 3 號舖', handsFree }));
    expect(put.status, put.raw).toBe(201);
    expect(put.body.site).toMatchObject({ address: 'Shop 3, Mong Kok MTR Station\nKowloon', addressZh: '九龍旺角港鐵站 3 號舖', handsFree });
    expect((await call('GET', '/sites/mk-01')).body.site).toEqual(put.body.site);
    expect((await call('GET', '/sites')).body.sites?.[0]).toMatchObject({ address: 'Shop 3, Mong Kok MTR Station\nKowloon', handsFree });
    const [row] = await rows('SELECT address, address_zh, hands_free FROM sites');
    expect(row).toEqual({ address: 'Shop 3, Mong Kok MTR Station\nKowloon', address_zh: '九龍旺角港鐵站 3 號舖', hands_free: JSON.stringify(handsFree) });

    // Only `enabled` given: the default delay.
    nowMs = T0 + 60_000;
    const defaults = await call('PUT', '/sites/mk-01', mongKok({ address: 'Shop 3', handsFree: { enabled: true } }));
    expect(defaults.body.site).toMatchObject({ address: 'Shop 3', addressZh: null, handsFree: { enabled: true, punchOutAfterSeconds: 600 } });

    // PUT replaces the whole site: what it leaves out is cleared, hands-free is off; the beacons stay (their keys cannot be sent back).
    nowMs = T0 + 120_000;
    const { beacons: _kept, ...withoutBeacons } = mongKok();
    const replaced = await call('PUT', '/sites/mk-01', withoutBeacons);
    expect(replaced.status, replaced.raw).toBe(200);
    expect(replaced.body.site).toMatchObject({ address: null, addressZh: null, handsFree: { enabled: false, punchOutAfterSeconds: 600 } });
    expect(replaced.body.site?.beacons).toHaveLength(2);

    const audit = await rows("SELECT action, entity, entity_id, actor_kind, before, after FROM audit_log WHERE entity = 'site' ORDER BY id");
    expect(audit.map((entry) => [entry.action, entry.entity_id, entry.actor_kind])).toEqual([
      ['site.put', 'mk-01', 'token'],
      ['site.put', 'mk-01', 'token'],
      ['site.put', 'mk-01', 'token'],
    ]);
    expect(JSON.parse(String(audit[0]?.after))).toMatchObject({ address: 'Shop 3, Mong Kok MTR Station\nKowloon', addressZh: '九龍旺角港鐵站 3 號舖', handsFree });
    expect(JSON.parse(String(audit[2]?.before))).toMatchObject({ address: 'Shop 3', handsFree: { enabled: true, punchOutAfterSeconds: 600 } });
    expect(JSON.parse(String(audit[2]?.after))).toMatchObject({ address: null, handsFree: { enabled: false } });
    for (const entry of audit) expect(`${String(entry.before)}${String(entry.after)}`.toUpperCase()).not.toContain(IK_A.toUpperCase());
  });

  it("stores the kiosk's languages in their order, refuses unknown or repeated ones by field, and clears them when a replacement leaves them out", async () => {
    const put = await call('PUT', '/sites/mk-01', mongKok({ languages: ['zh-HK', 'en'] }));
    expect(put.status, put.raw).toBe(201);
    expect(put.body.site).toMatchObject({ languages: ['zh-HK', 'en'] });
    expect((await call('GET', '/sites/mk-01')).body.site).toMatchObject({ languages: ['zh-HK', 'en'] });
    expect(await rows('SELECT languages FROM sites')).toEqual([{ languages: '["zh-HK","en"]' }]);

    for (const [languages, field] of [
      [['fr'], 'languages[0]'],
      [['en', 'en'], 'languages'],
      [[], 'languages'],
    ] as const) {
      const refused = await call('PUT', '/sites/mk-01', mongKok({ languages }));
      expect(refused.status, JSON.stringify(languages)).toBe(400);
      expect(refused.body.issues?.map((issue) => issue.field)).toEqual([field]);
    }
    expect(await rows('SELECT languages FROM sites')).toEqual([{ languages: '["zh-HK","en"]' }]);

    const { beacons: _kept, ...withoutBeacons } = mongKok();
    const replaced = await call('PUT', '/sites/mk-01', withoutBeacons);
    expect(replaced.body.site).toMatchObject({ languages: null });
  });

  it('adds one beacon (POST): the others stay, the key is never returned, the change is audited', async () => {
    expect((await call('PUT', '/sites/mk-01', mongKok())).status).toBe(201);
    const [before] = await rows('SELECT beacons FROM sites');
    nowMs = T0 + 60_000;
    // The site id may be left out: it is the path's.
    const added = await call('POST', '/sites/mk-01/beacons', { kind: 'eid', gatewayId: 'gw-mk-02', identityKey: IK_C.toLowerCase(), rotationExponent: 10, epochUnixSeconds: 1_772_100_000 });
    expect(added.status, added.raw).toBe(201);
    expect(added.body.beacon).toEqual({
      id: expect.stringMatching(/^eid-[0-9a-f]{16}$/),
      kind: 'eid',
      siteId: 'mk-01',
      gatewayId: 'gw-mk-02',
      identityKeyFingerprint: expect.stringMatching(/^sha256:[0-9A-F]{16}$/),
      rotationExponent: 10,
      epochUnixSeconds: 1_772_100_000,
    });
    expect(added.body.warnings).toEqual([]);
    expect(added.body.site?.beacons.map((b) => b.gatewayId ?? b.kind)).toEqual(['gw-mk-01', 'ibeacon-minor', 'gw-mk-02']);
    expect(added.body.site?.updatedAt).toBe(new Date(T0 + 60_000).toISOString());
    expect(added.raw.toUpperCase()).not.toContain(IK_C);
    expect(added.raw).not.toMatch(/identityKey"|siteKey"/);

    // The keys already stored are untouched (the console never had to send them), the new one is stored.
    const [after] = await rows('SELECT beacons FROM sites');
    const stored = JSON.parse(String(after?.beacons)) as Array<Record<string, unknown>>;
    expect(stored.slice(0, 2)).toEqual(JSON.parse(String(before?.beacons)));
    expect(stored[2]).toMatchObject({ kind: 'eid', siteId: 'mk-01', identityKey: IK_C });
    expect(await rows('SELECT revision FROM site_revision')).toEqual([{ revision: 2 }]);
    const got = await call('GET', '/sites/mk-01');
    expect(got.body.site?.beacons[2]).toEqual(added.body.beacon);
    expect(got.raw.toUpperCase()).not.toContain(IK_C);

    // An iBeacon sharing another site's uuid and major is added, with the same warning as PUT gives.
    expect((await call('PUT', '/sites/lp-01', noBle({ name: 'Langham Place', beacons: [] }))).status).toBe(201);
    const shared = await call('POST', '/sites/lp-01/beacons', { kind: 'ibeacon-minor', siteKey: SK_B, rotationExponent: 8, uuid: UUID, major: 101 });
    expect(shared.status, shared.raw).toBe(201);
    expect(shared.body.beacon).toMatchObject({ id: expect.stringMatching(/^ibm-/), siteId: 'lp-01', uuid: UUID, major: 101 });
    expect(shared.body.warnings).toEqual([expect.stringMatching(/major 101 is also used by site mk-01/)]);

    const audit = await rows("SELECT action, entity, entity_id, actor_kind, before, after FROM audit_log WHERE action = 'site.beacon-add' ORDER BY id");
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ entity: 'site', entity_id: 'mk-01', actor_kind: 'token', before: null });
    expect(JSON.parse(String(audit[0]?.after))).toEqual(added.body.beacon);
    expect(JSON.stringify(audit).toUpperCase()).not.toContain(IK_C);
    expect(JSON.stringify(audit).toUpperCase()).not.toContain(SK_B);
  });

  it('refuses a beacon whose key is already in use or that is malformed, naming the field, and writes nothing', async () => {
    expect((await call('PUT', '/sites/mk-01', mongKok())).status).toBe(201);
    expect((await call('PUT', '/sites/lp-01', noBle({ name: 'Langham Place', beacons: [{ kind: 'eid', identityKey: IK_B, rotationExponent: 8, epochUnixSeconds: 0 }] }))).status).toBe(201);
    const snapshot = async (): Promise<unknown> => [
      await rows('SELECT id, beacons, updated_at FROM sites ORDER BY id'),
      await rows('SELECT revision FROM site_revision'),
      await rows('SELECT count(*) AS n FROM audit_log'),
    ];
    const before = await snapshot();
    const ids = (await call('GET', '/sites/mk-01')).body.site?.beacons.map((b) => String(b.id)) ?? [];

    const refusals: Array<{ body: Record<string, unknown>; status: number; fields: string[]; message?: RegExp }> = [
      // Another site's EID key (in either case), this site's own EID key, this site's iBeacon key again, an iBeacon key as an EID key.
      { body: { kind: 'eid', identityKey: IK_B.toLowerCase(), rotationExponent: 8, epochUnixSeconds: 0 }, status: 409, fields: ['identityKey'], message: /already used by beacon eid-[0-9a-f]{16} of site lp-01/ },
      { body: { kind: 'eid', identityKey: IK_A, rotationExponent: 8, epochUnixSeconds: 0 }, status: 409, fields: ['identityKey'], message: new RegExp(`already used by beacon ${ids[0]} of site mk-01`) },
      { body: { kind: 'ibeacon-minor', siteKey: SK_A, rotationExponent: 8, uuid: UUID, major: 102 }, status: 409, fields: ['siteKey'], message: new RegExp(`already used by beacon ${ids[1]} of site mk-01`) },
      { body: { kind: 'eid', identityKey: SK_A, rotationExponent: 8, epochUnixSeconds: 0 }, status: 409, fields: ['identityKey'], message: new RegExp(`already used by beacon ${ids[1]}`) },
      // Malformed: a short key and K out of range, another site's id, a field that does not exist, an unknown kind.
      { body: { kind: 'eid', identityKey: 'ABCDEF', rotationExponent: 16, epochUnixSeconds: 0 }, status: 400, fields: ['identityKey', 'rotationExponent'], message: /32 hex characters/ },
      { body: { kind: 'eid', siteId: 'lp-01', identityKey: IK_C, rotationExponent: 8, epochUnixSeconds: 0 }, status: 400, fields: ['siteId'], message: /must be this site's id "mk-01"/ },
      { body: { kind: 'eid', identityKey: IK_C, identityKeyFingerprint: 'sha256:00', rotationExponent: 8, epochUnixSeconds: 0 }, status: 400, fields: ['identityKeyFingerprint'] },
      { body: { kind: 'altbeacon', key: IK_C }, status: 400, fields: ['kind'] },
    ];
    for (const refusal of refusals) {
      const response = await call('POST', '/sites/mk-01/beacons', refusal.body);
      const where = JSON.stringify(refusal.body);
      expect(response.status, `${where}: ${response.raw}`).toBe(refusal.status);
      expect(response.body.issues?.map((issue) => issue.field), where).toEqual(expect.arrayContaining(refusal.fields));
      for (const field of refusal.fields) expect(response.body.error, where).toContain(`${field}: `);
      if (refusal.message) expect(response.body.error, where).toMatch(refusal.message);
    }
    const unknownSite = await call('POST', '/sites/tst-99/beacons', { kind: 'eid', identityKey: IK_C, rotationExponent: 8, epochUnixSeconds: 0 });
    expect(unknownSite.status).toBe(404);
    expect(unknownSite.body.error).toMatch(/site tst-99 does not exist/);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a beacon beyond the most a site may register (409)', async () => {
    const key = (i: number): string => (0x1000 + i).toString(16).toUpperCase().padStart(32, '0');
    const full = Array.from({ length: 64 }, (_, i) => ({ kind: 'eid', gatewayId: `gw-${i}`, identityKey: key(i), rotationExponent: 8, epochUnixSeconds: 0 }));
    expect((await call('PUT', '/sites/mk-01', mongKok({ beacons: full }))).status).toBe(201);
    const response = await call('POST', '/sites/mk-01/beacons', { kind: 'eid', identityKey: IK_C, rotationExponent: 8, epochUnixSeconds: 0 });
    expect(response.status, response.raw).toBe(409);
    expect(response.body.error).toMatch(/already has 64 beacons/);
    expect((await call('GET', '/sites/mk-01')).body.site?.beacons).toHaveLength(64);
  });

  it('removes one beacon (DELETE) by its id or its key fingerprint; the others stay; audited', async () => {
    expect((await call('PUT', '/sites/mk-01', noBle())).status).toBe(201);
    const [eid, ibeacon] = (await call('GET', '/sites/mk-01')).body.site?.beacons ?? [];
    nowMs = T0 + 60_000;
    const byId = await call('DELETE', `/sites/mk-01/beacons/${String(eid?.id)}`);
    expect(byId.status, byId.raw).toBe(200);
    expect(byId.body.removed).toEqual([eid]);
    expect(byId.body.site?.beacons).toEqual([ibeacon]);
    expect(byId.body.site?.updatedAt).toBe(new Date(T0 + 60_000).toISOString());
    expect(JSON.parse(String((await rows('SELECT beacons FROM sites'))[0]?.beacons))).toEqual([expect.objectContaining({ kind: 'ibeacon-minor', siteKey: SK_A })]);
    // Gone: a second DELETE finds nothing.
    const again = await call('DELETE', `/sites/mk-01/beacons/${String(eid?.id)}`);
    expect(again.status).toBe(404);
    expect(again.body.error).toMatch(/has no beacon eid-/);

    // By the fingerprint the console shows (in any case).
    const byFingerprint = await call('DELETE', `/sites/mk-01/beacons/${String(ibeacon?.siteKeyFingerprint).toLowerCase()}`);
    expect(byFingerprint.status, byFingerprint.raw).toBe(200);
    expect(byFingerprint.body.removed).toEqual([ibeacon]);
    expect(byFingerprint.body.site?.beacons).toEqual([]);
    expect(await rows('SELECT revision FROM site_revision')).toEqual([{ revision: 3 }]);

    const audit = await rows("SELECT action, entity_id, before, after FROM audit_log WHERE action = 'site.beacon-remove' ORDER BY id");
    expect(audit.map((entry) => [entry.action, entry.entity_id, entry.after])).toEqual([
      ['site.beacon-remove', 'mk-01', null],
      ['site.beacon-remove', 'mk-01', null],
    ]);
    expect(JSON.parse(String(audit[0]?.before))).toEqual(eid);
    expect(JSON.parse(String(audit[1]?.before))).toEqual(ibeacon);
    expect(JSON.stringify(audit).toUpperCase()).not.toContain(IK_A.toUpperCase());
  });

  it("refuses to remove a BLE site's last beacon, an unknown beacon or a malformed id, and writes nothing", async () => {
    expect((await call('PUT', '/sites/mk-01', mongKok({ beacons: (mongKok().beacons as unknown[]).slice(0, 1) }))).status).toBe(201);
    const [only] = (await call('GET', '/sites/mk-01')).body.site?.beacons ?? [];
    const state = async (): Promise<unknown> => [await rows('SELECT * FROM sites'), await rows('SELECT revision FROM site_revision'), await rows('SELECT count(*) AS n FROM audit_log')];
    const before = await state();

    const last = await call('DELETE', `/sites/mk-01/beacons/${String(only?.id)}`);
    expect(last.status, last.raw).toBe(409);
    expect(last.body.issues).toEqual([{ in: 'params', field: 'beaconId', message: expect.stringMatching(/counts BLE in its location rule, so it must keep at least one beacon/) }]);
    const unknown = await call('DELETE', '/sites/mk-01/beacons/eid-0000000000000000');
    expect(unknown.status).toBe(404);
    const malformed = await call('DELETE', '/sites/mk-01/beacons/not-a-beacon');
    expect(malformed.status).toBe(400);
    expect(malformed.body.issues).toEqual([{ in: 'params', field: 'beaconId', message: expect.stringMatching(/must be a beacon id/) }]);
    expect((await call('DELETE', `/sites/tst-99/beacons/${String(only?.id)}`)).status).toBe(404);
    expect(await state()).toEqual(before);
  });

  it('lets only roles with sites:write add and remove beacons', async () => {
    expect((await call('PUT', '/sites/mk-01', noBle())).status).toBe(201);
    const token = async (role: 'hr' | 'facilities' | 'store-manager'): Promise<string> =>
      (await dashboard.auth.tokens.create({ name: `sites ${role}`, role, ...(role === 'store-manager' ? { sites: ['mk-01'] } : {}) }, undefined)).secret;
    const beacon = { kind: 'eid', identityKey: IK_C, rotationExponent: 8, epochUnixSeconds: 0 };
    for (const role of ['hr', 'store-manager'] as const) {
      const secret = await token(role);
      expect((await call('POST', '/sites/mk-01/beacons', beacon, secret)).status, role).toBe(403);
      expect((await call('DELETE', '/sites/mk-01/beacons/eid-0000000000000000', undefined, secret)).status, role).toBe(403);
    }
    expect((await call('POST', '/sites/mk-01/beacons', beacon, null)).status).toBe(401);
    expect((await call('DELETE', '/sites/mk-01/beacons/eid-0000000000000000', undefined, null)).status).toBe(401);
    const facilities = await token('facilities');
    const added = await call('POST', '/sites/mk-01/beacons', beacon, facilities);
    expect(added.status, added.raw).toBe(201);
    expect((await call('DELETE', `/sites/mk-01/beacons/${String(added.body.beacon?.id)}`, undefined, facilities)).status).toBe(200);
    expect(await rows("SELECT action, actor_name FROM audit_log WHERE action LIKE 'site.beacon-%' ORDER BY id")).toEqual([
      { action: 'site.beacon-add', actor_name: 'sites facilities' },
      { action: 'site.beacon-remove', actor_name: 'sites facilities' },
    ]);
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
