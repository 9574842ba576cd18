import { describe, expect, it } from 'vitest';
import { LocationEvidence, Punch } from '../../core/punch.js';
import { EvidenceSummary, summariseEvidence } from '../../core/location/evidence-summary.js';
import { distanceToFenceMetres } from '../../core/location/geofence.js';
import { MobileEvidence, type BeaconObservation, type MobileEvidenceInput } from '../../core/location/mobile-evidence.js';
import { SiteLocationPolicy, type SiteLocationPolicyInput } from '../../core/location/site-location-policy.js';
import {
  reasonCodes,
  verifyEvidence,
  type BeaconResolution,
  type ReasonCode,
  type Verdict,
  type VerifyEvidenceInput,
} from '../../core/location/verify-evidence.js';

// The L-shaped Mong Kok block around Langham Place (see location-geofence.test.ts).
const mongKokL = [
  { lat: 22.3178, lon: 114.168 },
  { lat: 22.3178, lon: 114.1692 },
  { lat: 22.3185, lon: 114.1692 },
  { lat: 22.3185, lon: 114.1686 },
  { lat: 22.3192, lon: 114.1686 },
  { lat: 22.3192, lon: 114.168 },
];
const langhamPlace = { lat: 22.3185, lon: 114.1686 };
const sinoCentre = { lat: 22.3146, lon: 114.1703 }; // 582-592 Nathan Road
const ifc = { lat: 22.285, lon: 114.159 }; // Central

const SHOP_AP = 'A4:2B:B0:12:34:56';
const NEIGHBOUR_AP = 'C8:3A:35:0A:BC:DE';

const AT = '2025-03-03T01:00:00.000Z'; // 09:00 in Hong Kong
const AT_UNIX = Date.parse(AT) / 1000;

const eid = (hex: string, rssi = -70): BeaconObservation => ({ kind: 'eddystone-eid', eid: hex, rssi });
const SHOP_EID = '0A1B2C3D4E5F6071';
const SHOP_EID_2 = '1111222233334444';
const SINO_EID = 'FEDCBA9876543210';
const OLD_EID = 'AAAAAAAAAAAAAAAA';
const TWIN_EID = 'BBBBBBBBBBBBBBBB';
const STRANGE_EID = 'CCCCCCCCCCCCCCCC';

const resolutions: Record<string, BeaconResolution> = {
  [SHOP_EID]: { ok: true, siteId: 'mk-langham', offset: 0 },
  [SHOP_EID_2]: { ok: true, siteId: 'mk-langham', offset: -1 },
  [SINO_EID]: { ok: true, siteId: 'sino-centre', offset: 0 },
  [OLD_EID]: { ok: false, reason: 'expired' },
  [TWIN_EID]: { ok: false, reason: 'ambiguous' },
};

function policy(overrides: Partial<SiteLocationPolicyInput> = {}) {
  return SiteLocationPolicy.parse({
    siteId: 'mk-langham',
    geofence: { kind: 'polygon', points: mongKokL },
    allowedBssids: ['a4-2b-b0-12-34-56'],
    accept: { anyOf: 1, factors: ['gps', 'wifi', 'ble'] },
    ...overrides,
  });
}

interface Run {
  verdict: Verdict;
  resolverCalls: { observation: BeaconObservation; atUnixSeconds: number }[];
}

function verify(
  evidence: MobileEvidenceInput,
  options: { policy?: SiteLocationPolicyInput | Partial<SiteLocationPolicyInput>; seen?: string[]; employeeKey?: string } = {},
): Run {
  const resolverCalls: Run['resolverCalls'] = [];
  const seen = new Set(options.seen ?? []);
  const input: VerifyEvidenceInput = {
    policy: policy(options.policy),
    evidence: MobileEvidence.parse(evidence),
    at: AT,
    employeeKey: options.employeeKey ?? 'E1001',
    resolveBeacon: (observation, atUnixSeconds) => {
      resolverCalls.push({ observation, atUnixSeconds });
      return observation.kind === 'eddystone-eid' ? (resolutions[observation.eid] ?? { ok: false, reason: 'unknown' }) : { ok: false, reason: 'unknown' };
    },
    seenBefore: (key, employeeKey) => seen.has(`${key}|${employeeKey}`),
  };
  return { verdict: verifyEvidence(input), resolverCalls };
}

const codes = (verdict: Verdict): ReasonCode[] => verdict.reasons.map((r) => r.code);
const gpsAt = (point: { lat: number; lon: number }, accuracyMetres = 20, at?: string) => ({ gps: { ...point, accuracyMetres, ...(at ? { at } : {}) } });

describe('verifyEvidence: GPS', () => {
  it('accepts a fix at Langham Place (on the fence vertex)', () => {
    const { verdict } = verify(gpsAt(langhamPlace, 35, '2025-03-03T00:59:30.000Z'));
    expect(verdict).toEqual({ accepted: true, factorsPassed: ['gps'], reasons: [], replayKeys: [] });
  });

  it('refuses a fix at Sino Centre with the distance in English and Traditional Chinese', () => {
    const distance = Math.ceil(distanceToFenceMetres(sinoCentre, { kind: 'polygon', points: mongKokL }));
    const { verdict } = verify(gpsAt(sinoCentre));
    expect(verdict.accepted).toBe(false);
    expect(codes(verdict)).toEqual(['outside-fence', 'too-few-factors']);
    expect(verdict.reasons[0]).toEqual({
      code: 'outside-fence',
      factor: 'gps',
      en: `outside the site's area by ${distance} m (allowed 75 m)`,
      zhHK: `距離工作地點範圍 ${distance} 米（容許 75 米）`,
    });
    expect(distance).toBeGreaterThan(300);
  });

  it('refuses a fix worse than the accuracy limit, accepts one exactly at it', () => {
    expect(verify(gpsAt(langhamPlace, 100)).verdict.accepted).toBe(true);
    const { verdict } = verify(gpsAt(langhamPlace, 100.4));
    expect(verdict.reasons[0]).toEqual({
      code: 'accuracy-too-poor',
      factor: 'gps',
      en: 'location accuracy 101 m is worse than the 100 m allowed',
      zhHK: '定位精確度為 101 米，超出容許的 100 米',
    });
  });

  it('refuses a stale cached fix and one timed far after the punch', () => {
    const stale = verify(gpsAt(langhamPlace, 20, '2025-03-03T00:50:00.000Z')).verdict;
    expect(stale.reasons[0]).toMatchObject({ code: 'gps-stale', en: 'the location fix was taken 600 s before the punch (limit 120 s)' });
    expect(stale.reasons[0]!.zhHK).toBe('定位資料於打卡前 600 秒取得（上限 120 秒）');
    const future = verify(gpsAt(langhamPlace, 20, '2025-03-03T01:05:00.000Z')).verdict;
    expect(future.reasons[0]).toMatchObject({ code: 'gps-stale', en: 'the location fix is timed 300 s after the punch (limit 120 s)' });
    expect(verify(gpsAt(langhamPlace, 20, '2025-03-03T00:58:00.000Z')).verdict.accepted).toBe(true); // exactly 120 s
  });

  it("uses the site's tolerance: a fix in the concave notch passes at 75 m, fails at 10 m", () => {
    const notch = { lat: 22.3189, lon: 114.1689 };
    expect(verify(gpsAt(notch)).verdict.accepted).toBe(true);
    const strict = verify(gpsAt(notch), { policy: { gpsToleranceMetres: 10 } }).verdict;
    expect(strict.reasons[0]).toMatchObject({ code: 'outside-fence', en: "outside the site's area by 31 m (allowed 10 m)" });
  });
});

describe('verifyEvidence: Wi-Fi', () => {
  it('matches a connected BSSID sent in lower case with dashes', () => {
    const { verdict } = verify({ wifi: { connectedBssid: 'a4-2b-b0-12-34-56' } });
    expect(verdict).toMatchObject({ accepted: true, factorsPassed: ['wifi'], reasons: [] });
  });

  it("refuses a connection to the neighbour's access point", () => {
    const { verdict } = verify({ wifi: { connectedBssid: NEIGHBOUR_AP } });
    expect(verdict.reasons[0]).toEqual({
      code: 'unknown-bssid',
      factor: 'wifi',
      en: "the connected Wi-Fi is not one of the site's networks",
      zhHK: '已連接的 Wi-Fi 不屬於此工作地點',
    });
  });

  it('explains the placeholder BSSID a phone reports without location permission', () => {
    const { verdict } = verify({ wifi: { connectedBssid: '02:00:00:00:00:00' } });
    expect(verdict.reasons[0]).toMatchObject({ code: 'unknown-bssid', en: expect.stringMatching(/hid which Wi-Fi/) });
  });

  it('counts a scanned BSSID only when the site accepts scans', () => {
    const scanOnly = { wifi: { scannedBssids: [NEIGHBOUR_AP, SHOP_AP.toLowerCase()] } };
    const refused = verify(scanOnly).verdict;
    expect(refused.accepted).toBe(false);
    expect(refused.reasons[0]).toMatchObject({ code: 'unknown-bssid', en: expect.stringMatching(/not connected to the site's Wi-Fi/) });
    expect(verify(scanOnly, { policy: { acceptScannedBssids: true } }).verdict.factorsPassed).toEqual(['wifi']);
    const noneMatch = verify({ wifi: { connectedBssid: NEIGHBOUR_AP, scannedBssids: [NEIGHBOUR_AP] } }, { policy: { acceptScannedBssids: true } }).verdict;
    expect(noneMatch.reasons[0]!.en).toMatch(/neither the connected Wi-Fi nor any Wi-Fi seen nearby/);
  });
});

describe('verifyEvidence: BLE beacons', () => {
  it('accepts a beacon of this site, passing the punch time in Unix seconds to the resolver', () => {
    const { verdict, resolverCalls } = verify({ beacons: [eid(SHOP_EID)] });
    expect(verdict).toEqual({ accepted: true, factorsPassed: ['ble'], reasons: [], replayKeys: [`eid:${SHOP_EID}`] });
    expect(resolverCalls).toHaveLength(1);
    expect(resolverCalls[0]!.atUnixSeconds).toBe(AT_UNIX);
  });

  it('gives each kind of beacon failure its own reason', () => {
    const cases: [string, ReasonCode, string][] = [
      [STRANGE_EID, 'beacon-unknown', 'beacon not recognised'],
      [OLD_EID, 'beacon-expired-or-replayed', 'beacon code has expired'],
      [SINO_EID, 'beacon-other-site', 'beacon belongs to another site'],
      [TWIN_EID, 'beacon-ambiguous', 'beacon code matches more than one beacon'],
    ];
    for (const [hex, code, en] of cases) {
      const { verdict } = verify({ beacons: [eid(hex)] });
      expect(verdict.accepted, hex).toBe(false);
      expect(verdict.reasons[0], hex).toMatchObject({ code, factor: 'ble', en });
    }
  });

  it('treats the same id from the same employee as a replay, but not from a colleague in the same shop', () => {
    const seen = [`eid:${SHOP_EID}|E1001`];
    const replay = verify({ beacons: [eid(SHOP_EID)] }, { seen }).verdict;
    expect(replay.accepted).toBe(false);
    expect(replay.reasons[0]).toMatchObject({ code: 'beacon-expired-or-replayed', en: 'beacon code was already used in an earlier punch' });
    expect(replay.replayKeys).toEqual([]);
    // A colleague's phone hears the same beacon in the same rotation window: fine.
    expect(verify({ beacons: [eid(SHOP_EID)] }, { seen, employeeKey: 'E1002' }).verdict.accepted).toBe(true);
    // A replay with a doctored RSSI is the same transmission.
    expect(verify({ beacons: [eid(SHOP_EID, -45)] }, { seen }).verdict.accepted).toBe(false);
  });

  it('does not count a beacon weaker than the floor (-100 dBm); exactly at the floor counts', () => {
    const { verdict, resolverCalls } = verify({ beacons: [eid(SHOP_EID, -101)] });
    expect(verdict.accepted).toBe(false);
    expect(verdict.reasons[0]).toEqual({
      code: 'beacon-too-weak',
      factor: 'ble',
      en: 'beacon signal too weak: -101 dBm, needs -100 dBm or stronger',
      zhHK: '藍牙信標訊號太弱：-101 dBm，需要 -100 dBm 或以上',
    });
    expect(resolverCalls).toHaveLength(0);
    expect(verify({ beacons: [eid(SHOP_EID, -100)] }).verdict.accepted).toBe(true);
    expect(verify({ beacons: [eid(SHOP_EID, -90)] }, { policy: { minBeaconRssi: -85 } }).verdict.accepted).toBe(false);
  });

  it("passes on one good beacon among the neighbours' and keeps quiet about those", () => {
    const { verdict } = verify({ beacons: [eid(SINO_EID, -60), eid(STRANGE_EID, -80), eid(SHOP_EID, -75), eid(SHOP_EID_2, -88)] });
    expect(verdict).toEqual({ accepted: true, factorsPassed: ['ble'], reasons: [], replayKeys: [`eid:${SHOP_EID}`, `eid:${SHOP_EID_2}`] });
  });

  it('groups failures of several beacons with a count, and resolves a beacon heard twice once', () => {
    const { verdict, resolverCalls } = verify({ beacons: [eid(SINO_EID), eid(SINO_EID, -50), eid(STRANGE_EID), eid('DDDDDDDDDDDDDDDD')] });
    expect(resolverCalls).toHaveLength(3);
    expect(resolverCalls[0]!.observation.rssi).toBe(-50);
    expect(verdict.reasons.filter((r) => r.factor === 'ble')).toEqual([
      { code: 'beacon-other-site', factor: 'ble', en: 'beacon belongs to another site', zhHK: '藍牙信標屬於另一個工作地點' },
      { code: 'beacon-unknown', factor: 'ble', en: 'beacon not recognised (2 beacons)', zhHK: '無法識別藍牙信標（2 個信標）' },
    ]);
  });

  it('resolves iBeacons through the same resolver', () => {
    const { verdict, resolverCalls } = verify({
      beacons: [{ kind: 'ibeacon', uuid: 'e2c56db5-dffb-48d2-b060-d0f5a71096e0', major: 1, minor: 2, rssi: -60 }],
    });
    expect(resolverCalls[0]!.observation).toMatchObject({ kind: 'ibeacon', uuid: 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0' });
    expect(codes(verdict)).toEqual(['beacon-unknown', 'too-few-factors']);
  });
});

describe('verifyEvidence: factor rules', () => {
  const twoOfThree = { accept: { anyOf: 2, factors: ['gps', 'wifi', 'ble'] as ('gps' | 'wifi' | 'ble')[] } };

  it('two of three: Wi-Fi and BLE pass while GPS fails indoors; the GPS failure is still reported for HR', () => {
    const { verdict } = verify({ ...gpsAt(ifc, 60), wifi: { connectedBssid: SHOP_AP }, beacons: [eid(SHOP_EID)] }, { policy: twoOfThree });
    expect(verdict.accepted).toBe(true);
    expect(verdict.factorsPassed).toEqual(['wifi', 'ble']);
    expect(codes(verdict)).toEqual(['outside-fence']);
  });

  it('two of three: only Wi-Fi passes, so the punch is refused with every failure explained', () => {
    const { verdict } = verify({ ...gpsAt(sinoCentre), wifi: { connectedBssid: SHOP_AP }, beacons: [eid(SINO_EID)] }, { policy: twoOfThree });
    expect(verdict.accepted).toBe(false);
    expect(verdict.factorsPassed).toEqual(['wifi']);
    expect(codes(verdict)).toEqual(['outside-fence', 'beacon-other-site', 'too-few-factors']);
    expect(verdict.reasons.at(-1)).toEqual({
      code: 'too-few-factors',
      en: 'needs 2 of GPS, Wi-Fi, Bluetooth beacon to pass; passed: Wi-Fi',
      zhHK: '需要GPS 定位、Wi-Fi、藍牙信標其中 2 項通過；已通過：Wi-Fi',
    });
  });

  it('two of three: a single factor presented is not enough even when it passes', () => {
    const { verdict } = verify({ beacons: [eid(SHOP_EID)] }, { policy: twoOfThree });
    expect(verdict).toMatchObject({ accepted: false, factorsPassed: ['ble'], replayKeys: [] });
    expect(codes(verdict)).toEqual(['too-few-factors']);
  });

  it('required factors: all must pass, and the text names the missing one', () => {
    const required = { accept: { required: ['wifi', 'ble'] as ('wifi' | 'ble')[] } };
    expect(verify({ wifi: { connectedBssid: SHOP_AP }, beacons: [eid(SHOP_EID)] }, { policy: required }).verdict.accepted).toBe(true);
    const { verdict } = verify({ wifi: { connectedBssid: SHOP_AP } }, { policy: required });
    expect(verdict.accepted).toBe(false);
    expect(verdict.reasons).toEqual([
      {
        code: 'too-few-factors',
        en: 'needs Wi-Fi and Bluetooth beacon to pass; not passed: Bluetooth beacon',
        zhHK: '必須通過Wi-Fi及藍牙信標；未通過：藍牙信標',
      },
    ]);
  });

  it('ignores evidence of factors the rule does not name', () => {
    const wifiOnly = { accept: { required: ['wifi'] as 'wifi'[] } };
    const { verdict, resolverCalls } = verify({ ...gpsAt(ifc), wifi: { connectedBssid: SHOP_AP }, beacons: [eid(SINO_EID)] }, { policy: wifiOnly });
    expect(verdict).toEqual({ accepted: true, factorsPassed: ['wifi'], reasons: [], replayKeys: [] });
    expect(resolverCalls).toHaveLength(0);
  });

  it('gives only no-evidence when the phone sent nothing the site uses', () => {
    const empty = verify({}).verdict;
    expect(empty).toEqual({
      accepted: false,
      factorsPassed: [],
      reasons: [
        {
          code: 'no-evidence',
          en: 'the phone sent none of the location evidence this site uses (GPS, Wi-Fi, Bluetooth beacon)',
          zhHK: '手機沒有提供此工作地點使用的位置證明（GPS 定位、Wi-Fi、藍牙信標）',
        },
      ],
      replayKeys: [],
    });
    expect(codes(verify({ wifi: {}, beacons: [] }).verdict)).toEqual(['no-evidence']);
    expect(codes(verify(gpsAt(langhamPlace), { policy: { accept: { required: ['wifi'] } } }).verdict)).toEqual(['no-evidence']);
  });

  it('refuses an invalid punch time', () => {
    expect(() =>
      verifyEvidence({
        policy: policy(),
        evidence: {},
        at: 'not a date',
        employeeKey: 'E1001',
        resolveBeacon: () => ({ ok: false, reason: 'unknown' }),
        seenBefore: () => false,
      }),
    ).toThrow(RangeError);
  });
});

describe('reason texts', () => {
  // One scenario per reason code.
  const scenarios: Record<ReasonCode, () => Verdict> = {
    'outside-fence': () => verify(gpsAt(sinoCentre)).verdict,
    'accuracy-too-poor': () => verify(gpsAt(langhamPlace, 500)).verdict,
    'gps-stale': () => verify(gpsAt(langhamPlace, 20, '2025-03-02T01:00:00.000Z')).verdict,
    'unknown-bssid': () => verify({ wifi: { connectedBssid: NEIGHBOUR_AP } }).verdict,
    'beacon-unknown': () => verify({ beacons: [eid(STRANGE_EID)] }).verdict,
    'beacon-expired-or-replayed': () => verify({ beacons: [eid(OLD_EID)] }).verdict,
    'beacon-other-site': () => verify({ beacons: [eid(SINO_EID)] }).verdict,
    'beacon-ambiguous': () => verify({ beacons: [eid(TWIN_EID)] }).verdict,
    'beacon-too-weak': () => verify({ beacons: [eid(SHOP_EID, -110)] }).verdict,
    'too-few-factors': () => verify({ wifi: { connectedBssid: NEIGHBOUR_AP } }).verdict,
    'no-evidence': () => verify({}).verdict,
  };

  it.each(reasonCodes)('%s has English and Traditional Chinese (Hong Kong) text, without coordinates or BSSIDs', (code) => {
    const verdict = scenarios[code]();
    expect(verdict.accepted).toBe(false);
    const found = verdict.reasons.find((r) => r.code === code);
    expect(found).toBeDefined();
    expect(found!.en).toMatch(/^[\x20-\x7e]+$/);
    expect(found!.zhHK).toMatch(/[\u4e00-\u9fff]/);
    expect(found!.zhHK).not.toBe(found!.en);
    // Traditional, not Simplified: none of the simplified forms of characters these texts use.
    expect(found!.zhHK).not.toMatch(/[点离围许确标码别识过经连络须讯号这时间动为与个网]/);
    expect(found!.en + found!.zhHK).not.toMatch(/22\.31|114\.1|[0-9A-F]{2}:[0-9A-F]{2}:/);
  });
});

describe('summariseEvidence (PDPO data minimisation)', () => {
  const evidence = { ...gpsAt(langhamPlace, 20), wifi: { connectedBssid: SHOP_AP, scannedBssids: [NEIGHBOUR_AP] }, beacons: [eid(SINO_EID)] };

  function summarise(overrides: Partial<SiteLocationPolicyInput> = {}) {
    const p = policy(overrides);
    const { verdict } = verify(evidence, { policy: overrides });
    return summariseEvidence(verdict, p, MobileEvidence.parse(evidence));
  }

  it('keeps only the verdict by default: no coordinates, no BSSIDs, no beacon ids', () => {
    const summary = summarise();
    expect(summary).toEqual({
      v: 1,
      accepted: true,
      factorsPassed: ['gps', 'wifi'],
      reasons: [{ code: 'beacon-other-site', factor: 'ble', en: 'beacon belongs to another site', zhHK: '藍牙信標屬於另一個工作地點' }],
    });
    const stored = JSON.stringify(summary);
    expect(stored).not.toMatch(/22\.3185|114\.1686|A4:2B|C8:3A|FEDCBA|raw|replay/);
  });

  it('keeps the raw evidence of the factors the rule uses when the site asks for it', () => {
    expect(summarise({ keepRawEvidence: true }).raw).toEqual(MobileEvidence.parse(evidence));
    const wifiOnly = summarise({ keepRawEvidence: true, accept: { required: ['wifi'] } });
    expect(wifiOnly.raw).toEqual({ wifi: { connectedBssid: SHOP_AP, scannedBssids: [NEIGHBOUR_AP] } });
  });

  it('fits Punch.evidence and round-trips through its own schema', () => {
    for (const summary of [summarise(), summarise({ keepRawEvidence: true })]) {
      expect(EvidenceSummary.parse(summary)).toEqual(summary);
      expect(LocationEvidence.parse(summary)).toEqual(summary);
      const typed: Punch['evidence'] = summary; // compile-time: the summary is a Punch.evidence
      const punch = Punch.parse({
        id: '0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
        deviceId: 'gw-mk-langham-01',
        siteId: 'mk-langham',
        credential: { kind: 'mobile', uid: '0A1B2C3D' },
        employeeId: 'E1001',
        at: AT,
        clock: { synced: true },
        method: 'mobile',
        direction: 'in',
        seq: 1,
        evidence: typed,
      });
      expect(EvidenceSummary.parse(punch.evidence)).toEqual(summary);
    }
  });

  it('refuses a summary with unexpected fields', () => {
    expect(EvidenceSummary.safeParse({ v: 1, accepted: true, factorsPassed: [], reasons: [], lat: 22.3 }).success).toBe(false);
  });
});
