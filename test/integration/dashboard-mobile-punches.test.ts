import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyFromHex } from '../../core/beacon/aes-block.js';
import { eidAt } from '../../core/beacon/eddystone-eid.js';
import { rotatingMinorAt } from '../../core/beacon/rotating-ibeacon.js';
import { newPunchId } from '../../core/ids.js';
import type { Punch } from '../../core/punch.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { testLogger } from '../support/logger.js';
import { rowsOf } from '../support/sqlite-rows.js';

/**
 * POST /api/v1/mobile-punches through app.inject() against a real SQLite file, with the
 * dashboard's clock injected (beacon ids are computed with core/beacon for that clock).
 *
 * Sites, all in Mong Kok:
 * - mk-01: a 60 m circle around Mong Kok MTR station; any one of GPS, Wi-Fi, BLE (EID + rotating iBeacon).
 * - lp-01: a polygon around Langham Place, 200 m away; two of GPS, Wi-Fi, BLE.
 * - mk-raw: like mk-01, but the site keeps raw evidence.
 */

const T0 = Date.parse('2026-03-02T01:00:10.000Z'); // 09:00:10 in Hong Kong
const K = 8;
const PERIOD = 2 ** K; // a new id every 256 s
const EPOCH = Math.floor(T0 / 1000) - 100_000;

const IK_MK = '0102030405060708090A0B0C0D0E0F10';
const SK_MK = 'A1A2A3A4A5A6A7A8A9AAABACADAEAFB0';
const IK_LP = '1F1E1D1C1B1A19181716151413121110';
const IK_RAW = '00112233445566778899AABBCCDDEEFF';
const IBEACON_UUID = 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0';

const MK_CENTER = { lat: 22.3193, lon: 114.1694 }; // Mong Kok MTR station
const MK_INSIDE = { lat: 22.3195, lon: 114.1695 }; // ~25 m from the centre
const YAU_MA_TEI = { lat: 22.3128, lon: 114.1706 }; // ~730 m south
const LANGHAM_PLACE = { lat: 22.3175, lon: 114.1683 };
const MK_AP = 'A4:2B:B0:11:22:33';
const LP_AP = '3C:84:6A:AA:BB:01';
const STRANGER_AP = '10:20:30:40:50:60';

function eid(identityKey: string, unixSeconds: number): string {
  return eidAt({ identityKey: keyFromHex(identityKey), rotationExponent: K, epochUnixSeconds: EPOCH }, unixSeconds).eid;
}

function minor(siteKey: string, unixSeconds: number): number {
  return rotatingMinorAt(keyFromHex(siteKey), K, unixSeconds).minor;
}

const sites = {
  'mk-01': {
    name: 'Mong Kok Station Shop',
    nameZh: '旺角站店',
    policy: {
      geofence: { kind: 'circle', center: MK_CENTER, radiusMetres: 60 },
      allowedBssids: [MK_AP],
      accept: { anyOf: 1, factors: ['gps', 'wifi', 'ble'] },
      gpsToleranceMetres: 75,
      maxAccuracyMetres: 100,
    },
    beacons: [
      { kind: 'eid', gatewayId: 'gw-mk-01', identityKey: IK_MK, rotationExponent: K, epochUnixSeconds: EPOCH },
      { kind: 'ibeacon-minor', siteKey: SK_MK, rotationExponent: K, uuid: IBEACON_UUID, major: 101 },
    ],
  },
  'lp-01': {
    name: 'Langham Place Kiosk',
    nameZh: '朗豪坊攤位',
    policy: {
      geofence: {
        kind: 'polygon',
        points: [
          { lat: 22.318, lon: 114.1677 },
          { lat: 22.318, lon: 114.169 },
          { lat: 22.317, lon: 114.169 },
          { lat: 22.317, lon: 114.1677 },
        ],
      },
      allowedBssids: [LP_AP],
      accept: { anyOf: 2, factors: ['gps', 'wifi', 'ble'] },
    },
    beacons: [{ kind: 'eid', gatewayId: 'gw-lp-01', identityKey: IK_LP, rotationExponent: K, epochUnixSeconds: EPOCH }],
  },
  'mk-raw': {
    name: 'Mong Kok Warehouse',
    policy: {
      geofence: { kind: 'circle', center: MK_CENTER, radiusMetres: 60 },
      allowedBssids: [MK_AP],
      accept: { anyOf: 1, factors: ['gps', 'wifi', 'ble'] },
      keepRawEvidence: true,
    },
    beacons: [{ kind: 'eid', identityKey: IK_RAW, rotationExponent: K, epochUnixSeconds: EPOCH }],
  },
};

interface VerdictBody {
  accepted: boolean;
  factorsPassed: string[];
  reasons: Array<{ code: string; factor?: string; en: string; zhHK: string }>;
}
interface PunchBody {
  accepted: boolean;
  duplicate?: boolean;
  punch?: Punch;
  verdict?: VerdictBody;
  error?: string;
  issues?: Array<{ in: string; field: string; message: string }>;
}

describe('dashboard: POST /api/v1/mobile-punches', () => {
  let dir: string;
  let dashboard: Dashboard;
  let nowMs: number;
  const nowUnix = (): number => Math.floor(nowMs / 1000);
  const dbFile = (): string => path.join(dir, 'dashboard.sqlite');
  const rows = (sql: string): Promise<Array<Record<string, unknown>>> => rowsOf(dbFile(), sql);

  async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, token: string | null = dashboard.apiToken): Promise<{ status: number; body: PunchBody; raw: string }> {
    const response = await dashboard.http.inject({
      method,
      url: `/api/v1${url}`,
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
    return { status: response.statusCode, body: response.json<PunchBody>(), raw: response.body };
  }

  function punch(overrides: Record<string, unknown> & { evidence: unknown }): Record<string, unknown> {
    return { id: newPunchId(), employeeId: 'E1001', siteId: 'mk-01', direction: 'in', ...overrides };
  }

  const post = (body: unknown, token?: string | null): Promise<{ status: number; body: PunchBody; raw: string }> => call('POST', '/mobile-punches', body, token);

  async function counts(): Promise<{ punches: number; sightings: number; sequences: number }> {
    const [p] = await rows('SELECT count(*) AS n FROM punches');
    const [s] = await rows('SELECT count(*) AS n FROM beacon_sightings');
    const [q] = await rows('SELECT count(*) AS n FROM punch_sequences');
    return { punches: Number(p?.n), sightings: Number(s?.n), sequences: Number(q?.n) };
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-mobile-'));
    nowMs = T0;
    dashboard = await startDashboard(DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } }), testLogger(), {
      now: () => new Date(nowMs),
    });
    for (const [id, site] of Object.entries(sites)) {
      const put = await call('PUT', `/sites/${id}`, site);
      expect(put.status, put.raw).toBe(201);
    }
  });

  afterEach(async () => {
    await dashboard.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a GPS fix inside the fence and stores a mobile punch at the server time, with only the verdict', async () => {
    const body = punch({
      // The phone's clock is ten minutes slow: not trusted, not stored.
      at: new Date(T0 - 600_000).toISOString(),
      evidence: { gps: { ...MK_INSIDE, accuracyMetres: 18, at: new Date(T0 - 5_000).toISOString() } },
    });
    const response = await post(body);
    expect(response.status, response.raw).toBe(201);
    expect(response.body).toMatchObject({ accepted: true, duplicate: false, verdict: { accepted: true, factorsPassed: ['gps'], reasons: [] } });
    expect(response.body.punch).toEqual({
      id: body.id,
      deviceId: 'mobile-api',
      siteId: 'mk-01',
      credential: { kind: 'mobile', uid: Buffer.from('E1001').toString('hex').toUpperCase() },
      employeeId: 'E1001',
      at: new Date(T0).toISOString(),
      clock: { synced: true },
      method: 'mobile',
      direction: 'in',
      seq: 1,
      evidence: { v: 1, accepted: true, factorsPassed: ['gps'], reasons: [] },
    });

    const stored = await rows('SELECT * FROM punches');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ id: body.id, device_id: 'mobile-api', site_id: 'mk-01', employee_id: 'E1001', credential_kind: 'mobile', method: 'mobile', seq: 1, at: new Date(T0).toISOString() });
    const json = String(stored[0]?.body);
    expect(JSON.parse(json)).toEqual(response.body.punch);
    // PDPO: no coordinates, no accuracy, no phone time in the stored punch.
    for (const leak of ['22.3195', '114.1695', 'accuracy', 'lat', new Date(T0 - 600_000).toISOString()]) expect(json).not.toContain(leak);

    // The same table as the gateways' punches: the punch API lists it.
    const listed = await call('GET', '/punches?siteId=mk-01');
    expect((listed.body as unknown as { punches: Punch[] }).punches.map((p) => p.id)).toEqual([body.id]);
  });

  it('accepts the site Wi-Fi (any case and separator) and numbers the mobile punches 1, 2, 3', async () => {
    const seqs: number[] = [];
    for (const bssid of [MK_AP, MK_AP.toLowerCase(), MK_AP.replaceAll(':', '-')]) {
      const response = await post(punch({ evidence: { wifi: { connectedBssid: bssid } } }));
      expect(response.status, response.raw).toBe(201);
      expect(response.body.verdict?.factorsPassed).toEqual(['wifi']);
      seqs.push(response.body.punch!.seq);
    }
    expect(seqs).toEqual([1, 2, 3]);
    expect(await rows("SELECT device_id, seq FROM punch_sequences")).toEqual([{ device_id: 'mobile-api', seq: 3 }]);
    // Nothing about the access point is stored by default.
    for (const row of await rows('SELECT body FROM punches')) expect(String(row.body)).not.toMatch(/A4.2B.B0/i);
  });

  const refusals: Array<{ name: string; body: () => Record<string, unknown>; codes: string[]; en: RegExp; zhHK: RegExp }> = [
    {
      name: 'outside the fence',
      body: () => punch({ evidence: { gps: { ...YAU_MA_TEI, accuracyMetres: 10 } } }),
      codes: ['outside-fence', 'too-few-factors'],
      en: /outside the site's area by \d+ m \(allowed 75 m\)/,
      zhHK: /距離工作地點範圍 \d+ 米/,
    },
    {
      name: 'accuracy too poor',
      body: () => punch({ evidence: { gps: { ...MK_CENTER, accuracyMetres: 250 } } }),
      codes: ['accuracy-too-poor', 'too-few-factors'],
      en: /accuracy 250 m is worse than the 100 m allowed/,
      zhHK: /定位精確度為 250 米/,
    },
    {
      name: 'unknown BSSID',
      body: () => punch({ evidence: { wifi: { connectedBssid: STRANGER_AP } } }),
      codes: ['unknown-bssid', 'too-few-factors'],
      en: /connected Wi-Fi is not one of the site's networks/,
      zhHK: /已連接的 Wi-Fi 不屬於此工作地點/,
    },
    {
      name: 'unknown beacon',
      body: () => punch({ evidence: { beacons: [{ kind: 'eddystone-eid', eid: 'DEADBEEFDEADBEEF', rssi: -60 }] } }),
      codes: ['beacon-unknown', 'too-few-factors'],
      en: /beacon not recognised/,
      zhHK: /無法識別藍牙信標/,
    },
    {
      name: 'expired beacon id (three windows old)',
      body: () => punch({ evidence: { beacons: [{ kind: 'eddystone-eid', eid: eid(IK_MK, nowUnix() - 3 * PERIOD), rssi: -60 }] } }),
      codes: ['beacon-expired-or-replayed', 'too-few-factors'],
      en: /beacon code has expired/,
      zhHK: /藍牙信標代碼已過期/,
    },
    {
      name: "another site's beacon",
      body: () => punch({ evidence: { beacons: [{ kind: 'eddystone-eid', eid: eid(IK_LP, nowUnix()), rssi: -60 }] } }),
      codes: ['beacon-other-site', 'too-few-factors'],
      en: /beacon belongs to another site/,
      zhHK: /藍牙信標屬於另一個工作地點/,
    },
    {
      name: 'no evidence',
      body: () => punch({ evidence: {} }),
      codes: ['no-evidence'],
      en: /the phone sent none of the location evidence this site uses/,
      zhHK: /手機沒有提供此工作地點使用的位置證明/,
    },
    {
      name: 'too few factors (two of three, only GPS passes)',
      body: () => punch({ siteId: 'lp-01', evidence: { gps: { ...LANGHAM_PLACE, accuracyMetres: 20 }, wifi: { connectedBssid: STRANGER_AP } } }),
      codes: ['unknown-bssid', 'too-few-factors'],
      en: /needs 2 of GPS, Wi-Fi, Bluetooth beacon to pass; passed: GPS/,
      zhHK: /需要GPS 定位、Wi-Fi、藍牙信標其中 2 項通過；已通過：GPS 定位/,
    },
  ];

  it.each(refusals)('refuses with 422 and stores nothing: $name', async ({ body, codes, en, zhHK }) => {
    const response = await post(body());
    expect(response.status, response.raw).toBe(422);
    expect(response.body.accepted).toBe(false);
    expect(response.body.punch).toBeUndefined();
    const reasons = response.body.verdict!.reasons;
    expect(reasons.map((r) => r.code)).toEqual(codes);
    expect(reasons.map((r) => r.en).join(' | ')).toMatch(en);
    expect(reasons.map((r) => r.zhHK).join(' | ')).toMatch(zhHK);
    for (const reason of reasons) {
      expect(reason.en.length).toBeGreaterThan(0);
      expect(reason.zhHK).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(await counts()).toEqual({ punches: 0, sightings: 0, sequences: 0 });
  });

  it('accepts beacon ids of the adjacent windows (clock skew), EID and rotating iBeacon minor alike', async () => {
    const cases: Array<[string, unknown]> = [
      ['E2001', { kind: 'eddystone-eid', eid: eid(IK_MK, nowUnix() - PERIOD), rssi: -70 }],
      ['E2002', { kind: 'eddystone-eid', eid: eid(IK_MK, nowUnix()), rssi: -70 }],
      ['E2003', { kind: 'eddystone-eid', eid: eid(IK_MK, nowUnix() + PERIOD).toLowerCase(), rssi: -70 }],
      ['E2004', { kind: 'ibeacon', uuid: IBEACON_UUID.toLowerCase(), major: 101, minor: minor(SK_MK, nowUnix() - PERIOD), rssi: -75 }],
      ['E2005', { kind: 'ibeacon', uuid: IBEACON_UUID.replaceAll('-', ''), major: 101, minor: minor(SK_MK, nowUnix()), rssi: -75 }],
      ['E2006', { kind: 'ibeacon', uuid: IBEACON_UUID, major: 101, minor: minor(SK_MK, nowUnix() + PERIOD), rssi: -75 }],
    ];
    for (const [employeeId, beacon] of cases) {
      const response = await post(punch({ employeeId, evidence: { beacons: [beacon] } }));
      expect(response.status, `${employeeId}: ${response.raw}`).toBe(201);
      expect(response.body.verdict?.factorsPassed).toEqual(['ble']);
    }
    // Two windows away is no longer accepted.
    const stale = await post(punch({ employeeId: 'E2007', evidence: { beacons: [{ kind: 'eddystone-eid', eid: eid(IK_MK, nowUnix() + 2 * PERIOD), rssi: -70 }] } }));
    expect(stale.status).toBe(422);
    expect(stale.body.verdict?.reasons[0]?.code).toBe('beacon-expired-or-replayed');
    expect((await counts()).punches).toBe(6);
  });

  it('refuses a replayed beacon id from the same employee, accepts it from a colleague, and forgets it once it has expired', async () => {
    const current = eid(IK_MK, nowUnix());
    const first = await post(punch({ employeeId: 'E3001', evidence: { beacons: [{ kind: 'eddystone-eid', eid: current, rssi: -65 }] } }));
    expect(first.status, first.raw).toBe(201);

    // The same id again by the same employee, in a new punch, even with a doctored signal strength.
    nowMs += 30_000;
    const replay = await post(punch({ employeeId: 'E3001', evidence: { beacons: [{ kind: 'eddystone-eid', eid: current, rssi: -40 }] } }));
    expect(replay.status, replay.raw).toBe(422);
    expect(replay.body.verdict?.reasons.map((r) => r.code)).toEqual(['beacon-expired-or-replayed', 'too-few-factors']);
    expect(replay.body.verdict?.reasons[0]?.en).toMatch(/already used in an earlier punch/);
    expect(replay.body.verdict?.reasons[0]?.zhHK).toMatch(/已在較早的打卡中使用/);

    // A colleague standing next to the same gateway hears the same id: not a replay.
    const colleague = await post(punch({ employeeId: 'E3002', evidence: { beacons: [{ kind: 'eddystone-eid', eid: current, rssi: -65 }] } }));
    expect(colleague.status, colleague.raw).toBe(201);

    // The replay memory: one hashed row per (beacon id, employee), expiring at the end of the next window.
    const sightings = await rows('SELECT * FROM beacon_sightings ORDER BY sighting');
    expect(sightings).toHaveLength(2);
    const windowStart = EPOCH + Math.floor((Math.floor(T0 / 1000) - EPOCH) / PERIOD) * PERIOD;
    for (const row of sightings) {
      expect(Object.keys(row).sort()).toEqual(['expires_at', 'sighting']);
      expect(row.sighting).toMatch(/^[0-9a-f]{64}$/);
      expect(row.expires_at).toBe(new Date((windowStart + 2 * PERIOD) * 1000).toISOString());
    }
    const dump = JSON.stringify(sightings);
    for (const leak of [current, 'E3001', 'E3002']) expect(dump).not.toContain(leak);

    // Three windows later the old id is refused by the resolver as expired, and the next accepted
    // punch prunes the memory of it.
    nowMs = T0 + 3 * PERIOD * 1000;
    const old = await post(punch({ employeeId: 'E3003', evidence: { beacons: [{ kind: 'eddystone-eid', eid: current, rssi: -65 }] } }));
    expect(old.status).toBe(422);
    expect(old.body.verdict?.reasons[0]?.en).toMatch(/expired/);
    const fresh = await post(punch({ employeeId: 'E3001', evidence: { beacons: [{ kind: 'eddystone-eid', eid: eid(IK_MK, nowUnix()), rssi: -65 }] } }));
    expect(fresh.status, fresh.raw).toBe(201);
    expect(await rows('SELECT count(*) AS n FROM beacon_sightings')).toEqual([{ n: 1 }]);
  });

  it('two of three: GPS with Wi-Fi or with a beacon is enough, a beacon with a stranger Wi-Fi is not', async () => {
    const gpsWifi = await post(punch({ siteId: 'lp-01', evidence: { gps: { ...LANGHAM_PLACE, accuracyMetres: 30 }, wifi: { connectedBssid: LP_AP } } }));
    expect(gpsWifi.status, gpsWifi.raw).toBe(201);
    expect(gpsWifi.body.verdict).toEqual({ accepted: true, factorsPassed: ['gps', 'wifi'], reasons: [] });

    const gpsBle = await post(
      punch({
        siteId: 'lp-01',
        employeeId: 'E1002',
        evidence: { gps: { ...LANGHAM_PLACE, accuracyMetres: 30 }, beacons: [{ kind: 'eddystone-eid', eid: eid(IK_LP, nowUnix()), rssi: -70 }] },
      }),
    );
    expect(gpsBle.status, gpsBle.raw).toBe(201);
    expect(gpsBle.body.verdict?.factorsPassed).toEqual(['gps', 'ble']);

    // Accepted, yet a failed factor is still reported (and stored) so HR can see why.
    const withFailure = await post(
      punch({
        siteId: 'lp-01',
        employeeId: 'E1003',
        evidence: { gps: { ...YAU_MA_TEI, accuracyMetres: 10 }, wifi: { connectedBssid: LP_AP }, beacons: [{ kind: 'eddystone-eid', eid: eid(IK_LP, nowUnix()), rssi: -70 }] },
      }),
    );
    expect(withFailure.status, withFailure.raw).toBe(201);
    expect(withFailure.body.verdict?.factorsPassed).toEqual(['wifi', 'ble']);
    expect(withFailure.body.verdict?.reasons.map((r) => r.code)).toEqual(['outside-fence']);
    expect(withFailure.body.punch?.evidence).toMatchObject({ factorsPassed: ['wifi', 'ble'], reasons: [{ code: 'outside-fence', factor: 'gps' }] });

    const bleOnly = await post(
      punch({
        siteId: 'lp-01',
        employeeId: 'E1004',
        evidence: { wifi: { connectedBssid: STRANGER_AP }, beacons: [{ kind: 'eddystone-eid', eid: eid(IK_LP, nowUnix()), rssi: -70 }] },
      }),
    );
    expect(bleOnly.status).toBe(422);
    expect(bleOnly.body.verdict?.factorsPassed).toEqual(['ble']);
    expect(bleOnly.body.verdict?.reasons.map((r) => r.code)).toEqual(['unknown-bssid', 'too-few-factors']);
    expect((await counts()).punches).toBe(3);
  });

  it('is idempotent by punch id: the same punch again gives the stored result and stores nothing twice', async () => {
    const body = punch({ evidence: { beacons: [{ kind: 'eddystone-eid', eid: eid(IK_MK, nowUnix()), rssi: -60 }] } });
    const first = await post(body);
    expect(first.status, first.raw).toBe(201);
    const before = await counts();

    // A retry after a lost response, later: the beacon id has expired meanwhile, the answer is still the stored one.
    nowMs += 10 * PERIOD * 1000;
    const again = await post(body);
    expect(again.status, again.raw).toBe(200);
    expect(again.body).toEqual({ ...first.body, duplicate: true });
    expect(await counts()).toEqual(before);
    expect(await rows('SELECT id, seq FROM punches')).toEqual([{ id: body.id, seq: 1 }]);

    // Another employee (or site) reusing the id is not the same punch.
    const stolen = await post({ ...body, employeeId: 'E9999' });
    expect(stolen.status).toBe(409);
    expect(stolen.body.error).toMatch(/already used by another punch/);
    expect(await counts()).toEqual(before);

    // A refused punch sent again is judged again, and is refused again; nothing is stored.
    const refused = punch({ evidence: { wifi: { connectedBssid: STRANGER_AP } } });
    expect((await post(refused)).status).toBe(422);
    expect((await post(refused)).status).toBe(422);
    expect(await counts()).toEqual(before);
  });

  it('holds when requests race: one punch per id, one acceptance per beacon id and employee', async () => {
    const body = punch({ evidence: { wifi: { connectedBssid: MK_AP } } });
    const same = await Promise.all([post(body), post(body), post(body)]);
    expect(same.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(same.map((r) => r.body.punch?.seq))).toEqual(new Set([1]));

    const beacon = { kind: 'eddystone-eid', eid: eid(IK_MK, nowUnix()), rssi: -60 };
    const rivals = await Promise.all([1, 2, 3].map(() => post(punch({ employeeId: 'E4001', evidence: { beacons: [beacon] } }))));
    expect(rivals.map((r) => r.status).sort()).toEqual([201, 422, 422]);
    expect(await counts()).toEqual({ punches: 2, sightings: 1, sequences: 1 });
  });

  it('keeps raw evidence only for a site that asks for it, and only the factors its rule uses', async () => {
    const evidence = {
      gps: { ...MK_INSIDE, accuracyMetres: 12 },
      wifi: { connectedBssid: MK_AP.toLowerCase(), scannedBssids: [STRANGER_AP] },
      beacons: [{ kind: 'eddystone-eid', eid: eid(IK_RAW, nowUnix()), rssi: -58 }],
    };
    const minimal = await post(punch({ evidence }));
    expect(minimal.status, minimal.raw).toBe(201);
    expect(minimal.body.punch?.evidence).toEqual({ v: 1, accepted: true, factorsPassed: ['gps', 'wifi'], reasons: expect.any(Array) });
    expect(minimal.body.punch?.evidence).not.toHaveProperty('raw');

    const kept = await post(punch({ siteId: 'mk-raw', employeeId: 'E1002', evidence }));
    expect(kept.status, kept.raw).toBe(201);
    expect(kept.body.punch?.evidence).toMatchObject({
      v: 1,
      accepted: true,
      factorsPassed: ['gps', 'wifi', 'ble'],
      raw: {
        gps: { ...MK_INSIDE, accuracyMetres: 12 },
        wifi: { connectedBssid: MK_AP, scannedBssids: [STRANGER_AP] },
        beacons: [{ kind: 'eddystone-eid', eid: eid(IK_RAW, nowUnix()), rssi: -58 }],
      },
    });

    const stored = await rows("SELECT site_id, body FROM punches ORDER BY seq");
    expect(stored.map((row) => row.site_id)).toEqual(['mk-01', 'mk-raw']);
    const [plain, raw] = stored.map((row) => String(row.body));
    for (const leak of ['22.3195', '114.1695', MK_AP, STRANGER_AP, '"raw"']) {
      expect(plain).not.toContain(leak);
      if (leak !== '"raw"') expect(raw).toContain(leak);
    }
  });

  it('sees a beacon registered a moment ago (the resolver is rebuilt when sites change)', async () => {
    const newKey = 'C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF';
    const beacon = { kind: 'eddystone-eid', eid: eid(newKey, nowUnix()), rssi: -60 };
    const before = await post(punch({ evidence: { beacons: [beacon] } }));
    expect(before.status).toBe(422);
    expect(before.body.verdict?.reasons[0]?.code).toBe('beacon-unknown');

    const site = sites['mk-01'];
    const put = await call('PUT', '/sites/mk-01', { ...site, beacons: [...site.beacons, { kind: 'eid', gatewayId: 'gw-mk-02', identityKey: newKey, rotationExponent: K, epochUnixSeconds: EPOCH }] });
    expect(put.status, put.raw).toBe(200);

    const after = await post(punch({ evidence: { beacons: [beacon] } }));
    expect(after.status, after.raw).toBe(201);
  });

  it('answers 404 for an unknown site and stores nothing', async () => {
    const response = await post(punch({ siteId: 'tst-99', evidence: { wifi: { connectedBssid: MK_AP } } }));
    expect(response.status).toBe(404);
    expect(response.body.error).toMatch(/site tst-99 does not exist/);
    expect(await counts()).toEqual({ punches: 0, sightings: 0, sequences: 0 });
  });

  it('refuses a malformed body with 400 naming each field, and stores nothing', async () => {
    const bad = await post({
      id: 'not-a-uuid',
      siteId: 'mk-01',
      direction: 'sideways',
      evidence: { gps: { lat: 222.3, lon: 114.17, accuracyMetres: 0 }, wifi: { connectedBssid: 'wlan0' }, beacons: [{ kind: 'eddystone-eid', eid: 'XYZ', rssi: -60 }] },
      extra: true,
    });
    expect(bad.status, bad.raw).toBe(400);
    const fields = bad.body.issues!.map((issue) => issue.field);
    expect(fields).toEqual(
      expect.arrayContaining(['id', 'employeeId', 'direction', 'evidence.gps.lat', 'evidence.gps.accuracyMetres', 'evidence.wifi.connectedBssid', 'evidence.beacons[0].eid', 'extra']),
    );
    expect(bad.body.issues!.every((issue) => issue.in === 'body')).toBe(true);
    expect(bad.body.error).toMatch(/^invalid body: /);
    expect(bad.body.error).toContain('evidence.gps.lat: latitude must be between -90 and 90 degrees');

    const longId = await post(punch({ employeeId: 'E'.repeat(33), evidence: { wifi: { connectedBssid: MK_AP } } }));
    expect(longId.status).toBe(400);
    expect(longId.body.issues).toEqual([{ in: 'body', field: 'employeeId', message: expect.stringMatching(/32 characters/) }]);

    const notJson = await dashboard.http.inject({ method: 'POST', url: '/api/v1/mobile-punches', payload: '{"id":', headers: { authorization: `Bearer ${dashboard.apiToken}`, 'content-type': 'application/json' } });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toEqual({ error: expect.stringMatching(/not valid JSON/) });
    expect(await counts()).toEqual({ punches: 0, sightings: 0, sequences: 0 });
  });

  it('answers 401 without a valid token, and stores nothing', async () => {
    const body = punch({ evidence: { wifi: { connectedBssid: MK_AP } } });
    expect((await post(body, null)).status).toBe(401);
    expect((await post(body, 'x'.repeat(32))).status).toBe(401);
    expect(await counts()).toEqual({ punches: 0, sightings: 0, sequences: 0 });
  });

  it('keeps the device id of the mobile API for itself', async () => {
    const response = await call('POST', '/devices', { id: 'mobile-api', siteId: 'mk-01' });
    expect(response.status).toBe(409);
    expect(response.body.error).toMatch(/reserved/);
  });
});
