import { describe, expect, it } from 'vitest';
import { eidAt } from '../../core/beacon/eddystone-eid.js';
import { BeaconResolver } from '../../core/beacon/resolver.js';
import { MobileEvidence, toResolverObservation } from '../../core/location/mobile-evidence.js';
import { SiteLocationPolicy } from '../../core/location/site-location-policy.js';
import { verifyEvidence, type ResolveBeacon } from '../../core/location/verify-evidence.js';

// The verifier takes beacon resolution as an injected function; this checks that the real resolver
// of core/beacon plugs in through toResolverObservation, with its own result type.

const identityKey = '00112233445566778899AABBCCDDEEFF';
const epochUnixSeconds = 1_740_000_000;
const rotationExponent = 10; // a new id every 1024 s

const resolver = new BeaconResolver([
  { kind: 'eid', siteId: 'mk-langham', gatewayId: 'gw-mk-langham-01', identityKey, rotationExponent, epochUnixSeconds },
  { kind: 'eid', siteId: 'sino-centre', identityKey: 'FFEEDDCCBBAA99887766554433221100', rotationExponent, epochUnixSeconds },
]);
const resolveBeacon: ResolveBeacon = (observation, at) => resolver.resolve(toResolverObservation(observation), at);

const policy = SiteLocationPolicy.parse({ siteId: 'mk-langham', accept: { required: ['ble'] } });
const at = new Date('2025-03-03T01:00:00.000Z');
const unix = at.getTime() / 1000;
const idAt = (key: string, seconds: number) => eidAt({ identityKey: Buffer.from(key, 'hex'), rotationExponent, epochUnixSeconds }, seconds).eid;

function verify(eid: string, seen = new Set<string>()) {
  return verifyEvidence({
    policy,
    evidence: MobileEvidence.parse({ beacons: [{ kind: 'eddystone-eid', eid: eid.toLowerCase(), rssi: -70 }] }),
    at,
    employeeKey: 'E1001',
    resolveBeacon,
    seenBefore: (key, employee) => seen.has(`${key}|${employee}`),
  });
}

describe('verifyEvidence with the core/beacon resolver', () => {
  it("accepts the shop beacon's current id and the previous window's", () => {
    expect(verify(idAt(identityKey, unix)).accepted).toBe(true);
    expect(verify(idAt(identityKey, unix - 1024)).accepted).toBe(true);
  });

  it('refuses an id from two hours ago as expired, and the same id twice from one employee as replayed', () => {
    expect(verify(idAt(identityKey, unix - 7200)).reasons[0]).toMatchObject({ code: 'beacon-expired-or-replayed', en: 'beacon code has expired' });
    const first = verify(idAt(identityKey, unix));
    const seen = new Set(first.replayKeys.map((key) => `${key}|E1001`));
    expect(verify(idAt(identityKey, unix), seen).reasons[0]).toMatchObject({ en: 'beacon code was already used in an earlier punch' });
  });

  it("names another site's beacon and an unknown id", () => {
    expect(verify(idAt('FFEEDDCCBBAA99887766554433221100', unix)).reasons[0]!.code).toBe('beacon-other-site');
    expect(verify('0000000000000000').reasons[0]!.code).toBe('beacon-unknown');
  });
});
