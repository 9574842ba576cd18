import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { describeIssues } from '../../core/errors.js';
import { beaconKey, MAX_BEACONS, MobileEvidence, toResolverObservation } from '../../core/location/mobile-evidence.js';
import {
  AllowedBssid,
  Bssid,
  FactorRule,
  factorsOf,
  Geofence,
  normaliseBssid,
  SiteLocationPolicy,
} from '../../core/location/site-location-policy.js';

function problems(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected a refusal, got ${JSON.stringify(result.data)}`);
  return describeIssues(result.error);
}

// The same L-shaped Mong Kok block as location-geofence.test.ts, around Langham Place.
const mongKokL = [
  { lat: 22.3178, lon: 114.168 },
  { lat: 22.3178, lon: 114.1692 },
  { lat: 22.3185, lon: 114.1692 },
  { lat: 22.3185, lon: 114.1686 },
  { lat: 22.3192, lon: 114.1686 },
  { lat: 22.3192, lon: 114.168 },
];

describe('BSSID normalisation', () => {
  it('upper-cases and uses colons, accepting lower case, dashes and surrounding spaces', () => {
    expect(normaliseBssid('a4:2b:b0:12:34:56')).toBe('A4:2B:B0:12:34:56');
    expect(normaliseBssid('A4-2B-B0-12-34-56')).toBe('A4:2B:B0:12:34:56');
    expect(normaliseBssid(' a4-2b-b0-12-34-5f ')).toBe('A4:2B:B0:12:34:5F');
    expect(Bssid.parse('c8-3a-35-0a-bc-de')).toBe('C8:3A:35:0A:BC:DE');
  });

  it('rejects anything that is not six hex pairs with one kind of separator', () => {
    for (const bad of ['a4:2b:b0:12:34', 'a4:2b:b0:12:34:56:78', 'a4:2b-b0:12:34:56', 'g4:2b:b0:12:34:56', 'a42bb0123456', 'a4.2b.b0.12.34.56', '']) {
      expect(normaliseBssid(bad), bad).toBeNull();
    }
    expect(problems(Bssid, 'zz:zz:zz:zz:zz:zz')[0]).toMatch(/is not a Wi-Fi BSSID/);
    expect(problems(Bssid, 42)[0]).toMatch(/must be a string/);
  });

  it('will not let a site allow the placeholders phones report without permission or connection', () => {
    expect(problems(AllowedBssid, '02:00:00:00:00:00')[0]).toMatch(/placeholder/);
    expect(problems(AllowedBssid, '00-00-00-00-00-00')[0]).toMatch(/placeholder/);
    expect(Bssid.parse('02:00:00:00:00:00')).toBe('02:00:00:00:00:00'); // a phone may still send it
  });
});

describe('Geofence schema', () => {
  it('accepts a circle around Sino Centre on Nathan Road', () => {
    expect(Geofence.parse({ kind: 'circle', center: { lat: 22.3146, lon: 114.1703 }, radiusMetres: 40 })).toEqual({
      kind: 'circle',
      center: { lat: 22.3146, lon: 114.1703 },
      radiusMetres: 40,
    });
  });

  it('accepts the concave L polygon, with or without the closing point', () => {
    expect(Geofence.parse({ kind: 'polygon', points: mongKokL })).toEqual({ kind: 'polygon', points: mongKokL });
    expect(Geofence.parse({ kind: 'polygon', points: [...mongKokL, mongKokL[0]] })).toEqual({ kind: 'polygon', points: mongKokL });
  });

  it('names the field of each problem', () => {
    expect(problems(Geofence, { kind: 'circle', center: { lat: 91, lon: 114.17 }, radiusMetres: 40 })).toEqual([
      'center.lat: latitude must be between -90 and 90 degrees',
    ]);
    expect(problems(Geofence, { kind: 'circle', center: { lat: 22.3, lon: 114.17 }, radiusMetres: 0 })).toEqual(['radiusMetres: radius must be more than 0 m']);
    expect(problems(Geofence, { kind: 'square' })[0]).toMatch(/^kind: /);
    expect(problems(Geofence, { kind: 'polygon', points: mongKokL.slice(0, 2) })).toEqual(['points: a polygon needs at least 3 points']);
    expect(problems(Geofence, { kind: 'polygon', points: [mongKokL[0], { lat: 22.3, lon: 'x' }, mongKokL[2]] })).toEqual([
      'points[1].lon: longitude must be a number of degrees',
    ]);
  });

  it('refuses polygons that are not a simple area of site size', () => {
    const [a, b, c, d] = mongKokL as [typeof mongKokL[0], typeof mongKokL[0], typeof mongKokL[0], typeof mongKokL[0]];
    expect(problems(Geofence, { kind: 'polygon', points: [a, b, a] })[0]).toMatch(/at least 3 distinct points/);
    expect(problems(Geofence, { kind: 'polygon', points: [a, b, b, c] })).toEqual(['points[2]: repeats point 1']);
    expect(problems(Geofence, { kind: 'polygon', points: [a, { lat: 22.3178, lon: 114.1686 }, b] })).toEqual([
      'points: the points enclose no area (they lie on one line)',
    ]);
    expect(problems(Geofence, { kind: 'polygon', points: [a, c, b, d] })[0]).toMatch(/^points: edges 0-1 and 2-3 cross/);
    expect(problems(Geofence, { kind: 'polygon', points: [a, b, { lat: 22.285, lon: 114.159 }, { lat: 22.6, lon: 114.2 }] })[0]).toMatch(
      /^points\[3\]: is \d+ m from point 0/,
    );
  });
});

describe('FactorRule schema', () => {
  it('takes any n of the listed factors, or a list of required ones', () => {
    expect(FactorRule.parse({ anyOf: 1, factors: ['gps', 'wifi', 'ble'] })).toEqual({ anyOf: 1, factors: ['gps', 'wifi', 'ble'] });
    expect(FactorRule.parse({ anyOf: 2, factors: ['gps', 'wifi', 'ble'] })).toEqual({ anyOf: 2, factors: ['gps', 'wifi', 'ble'] });
    expect(FactorRule.parse({ required: ['wifi', 'ble'] })).toEqual({ required: ['wifi', 'ble'] });
    expect(factorsOf({ required: ['ble'] })).toEqual(['ble']);
  });

  it('refuses mixed, incomplete, impossible or repeated rules', () => {
    expect(problems(FactorRule, { anyOf: 1, factors: ['gps'], required: ['wifi'] })[0]).toMatch(/either/);
    expect(problems(FactorRule, { anyOf: 2 })).toEqual(['factors: give {anyOf: n, factors: [...]} or {required: [...]}']);
    expect(problems(FactorRule, { anyOf: 3, factors: ['gps', 'wifi'] })).toEqual(['anyOf: asks for 3 factors but lists only 2']);
    expect(problems(FactorRule, { required: ['wifi', 'wifi'] })).toEqual(['required[1]: lists "wifi" twice']);
    expect(problems(FactorRule, { anyOf: 0, factors: ['gps'] })).toEqual(['anyOf: anyOf must be at least 1']);
    expect(problems(FactorRule, { anyOf: 1, factors: ['nfc'] })[0]).toMatch(/^factors\[0\]: /);
  });
});

describe('SiteLocationPolicy schema', () => {
  const base = {
    siteId: 'mk-langham',
    geofence: { kind: 'polygon', points: mongKokL },
    allowedBssids: ['a4-2b-b0-12-34-56', 'A4:2B:B0:12:34:56', 'c8:3a:35:0a:bc:de'],
    accept: { anyOf: 2, factors: ['gps', 'wifi', 'ble'] },
  };

  it('fills the defaults: 75 m tolerance, 100 m accuracy, -100 dBm, raw evidence not kept', () => {
    const policy = SiteLocationPolicy.parse(base);
    expect(policy).toMatchObject({
      gpsToleranceMetres: 75,
      maxAccuracyMetres: 100,
      maxFixAgeSeconds: 120,
      minBeaconRssi: -100,
      acceptScannedBssids: false,
      keepRawEvidence: false,
    });
    expect(policy.allowedBssids).toEqual(['A4:2B:B0:12:34:56', 'C8:3A:35:0A:BC:DE']); // normalised and de-duplicated
  });

  it('allows a GPS tolerance of 0 to 500 m', () => {
    expect(SiteLocationPolicy.parse({ ...base, gpsToleranceMetres: 0 }).gpsToleranceMetres).toBe(0);
    expect(SiteLocationPolicy.parse({ ...base, gpsToleranceMetres: 500 }).gpsToleranceMetres).toBe(500);
    expect(problems(SiteLocationPolicy, { ...base, gpsToleranceMetres: 501 })).toEqual(['gpsToleranceMetres: GPS tolerance must be between 0 and 500 m']);
    expect(problems(SiteLocationPolicy, { ...base, gpsToleranceMetres: -1 })).toEqual(['gpsToleranceMetres: GPS tolerance must be between 0 and 500 m']);
  });

  it('needs a geofence when the rule counts GPS and BSSIDs when it counts Wi-Fi', () => {
    const { geofence: _g, allowedBssids: _b, ...bare } = base;
    expect(problems(SiteLocationPolicy, bare)).toEqual([
      'geofence: the rule counts GPS, so the site needs a geofence',
      "allowedBssids: the rule counts Wi-Fi, so list at least one of the site's BSSIDs",
    ]);
    expect(SiteLocationPolicy.parse({ siteId: 'mk-langham', accept: { required: ['ble'] } }).allowedBssids).toEqual([]);
  });

  it('points at a bad BSSID by its index and refuses unknown fields', () => {
    expect(problems(SiteLocationPolicy, { ...base, allowedBssids: ['a4:2b:b0:12:34:56', 'a4:2b:b0:12:34'] })[0]).toMatch(
      /^allowedBssids\[1\]: "a4:2b:b0:12:34" is not a Wi-Fi BSSID/,
    );
    expect(problems(SiteLocationPolicy, { ...base, keepRawEvidance: true })[0]).toMatch(/keepRawEvidance/);
  });
});

describe('MobileEvidence schema', () => {
  const eid = { kind: 'eddystone-eid', eid: '0a1b2c3d4e5f6071', rssi: -67 };
  const ibeacon = { kind: 'ibeacon', uuid: 'e2c56db5-dffb-48d2-b060-d0f5a71096e0', major: 1001, minor: 7, rssi: -80 };

  it('accepts a full phone report and normalises BSSIDs, EIDs and UUIDs', () => {
    const evidence = MobileEvidence.parse({
      gps: { lat: 22.3185, lon: 114.1686, accuracyMetres: 35, at: '2025-03-03T01:00:00.000Z' },
      wifi: { connectedBssid: 'a4-2b-b0-12-34-56', scannedBssids: ['c8:3a:35:0a:bc:de'] },
      beacons: [eid, ibeacon],
    });
    expect(evidence.wifi).toEqual({ connectedBssid: 'A4:2B:B0:12:34:56', scannedBssids: ['C8:3A:35:0A:BC:DE'] });
    expect(evidence.beacons?.map(beaconKey)).toEqual(['eid:0A1B2C3D4E5F6071', 'ibeacon:E2C56DB5-DFFB-48D2-B060-D0F5A71096E0:1001:7']);
    expect(MobileEvidence.parse({})).toEqual({});
    const undashed = MobileEvidence.parse({ beacons: [{ ...ibeacon, uuid: 'e2c56db5dffb48d2b060d0f5a71096e0' }] }).beacons!;
    expect(beaconKey(undashed[0]!)).toBe('ibeacon:E2C56DB5-DFFB-48D2-B060-D0F5A71096E0:1001:7');
    expect(toResolverObservation(undashed[0]!)).toEqual({ kind: 'ibeacon', uuid: 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0', major: 1001, minor: 7 });
    expect(toResolverObservation(evidence.beacons![0]!)).toEqual({ kind: 'eid', eid: '0A1B2C3D4E5F6071' });
  });

  it('gives field-level messages', () => {
    expect(problems(MobileEvidence, { gps: { lat: 22.3, lon: 114.17, accuracyMetres: 0 } })).toEqual([
      'gps.accuracyMetres: accuracyMetres must be more than 0 m (a fix without an accuracy cannot be judged)',
    ]);
    expect(problems(MobileEvidence, { gps: { lat: 22.3, lon: 214.17, accuracyMetres: 10 } })).toEqual([
      'gps.lon: longitude must be between -180 and 180 degrees',
    ]);
    expect(problems(MobileEvidence, { gps: { lat: 22.3, lon: 114.17, accuracyMetres: 10, at: 'yesterday' } })[0]).toMatch(/^gps\.at: at must be an ISO-8601/);
    expect(problems(MobileEvidence, { wifi: { scannedBssids: ['c8:3a:35:0a:bc:de', 'nope'] } })[0]).toMatch(/^wifi\.scannedBssids\[1\]: "nope" is not a Wi-Fi BSSID/);
    expect(problems(MobileEvidence, { beacons: [{ ...eid, eid: '0a1b2c3d' }] })).toEqual(['beacons[0].eid: eid must be the 8-byte ephemeral id as 16 hex digits']);
    expect(problems(MobileEvidence, { beacons: [eid, { ...ibeacon, major: 70000 }] })).toEqual(['beacons[1].major: major must be 0-65535']);
    expect(problems(MobileEvidence, { beacons: [{ ...eid, rssi: -200 }] })).toEqual(['beacons[0].rssi: rssi must be between -127 and 20 dBm']);
    expect(problems(MobileEvidence, { beacons: [{ kind: 'altbeacon', id: 'x', rssi: -60 }] })[0]).toMatch(/^beacons\[0\]\.kind: /);
    expect(problems(MobileEvidence, { gps: { lat: 22.3, lon: 114.17, accuracyMetres: 10, speed: 3 } })[0]).toMatch(/speed/);
  });

  it('refuses 10,000 beacons with one issue, before parsing any of them', () => {
    const flood = Array.from({ length: 10_000 }, () => ({ kind: 'bogus' }));
    const issues = problems(MobileEvidence, { beacons: flood });
    expect(issues).toEqual([`beacons: at most ${MAX_BEACONS} beacons; send the strongest`]);
    expect(problems(MobileEvidence, { wifi: { scannedBssids: Array.from({ length: 201 }, () => 'a4:2b:b0:12:34:56') } })).toHaveLength(1);
    expect(MobileEvidence.parse({ beacons: Array.from({ length: MAX_BEACONS }, () => eid) }).beacons).toHaveLength(MAX_BEACONS);
  });
});
