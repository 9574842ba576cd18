import { describe, expect, it } from 'vitest';
import {
  BeaconKeyHex,
  BeaconObservation,
  BeaconRegistration,
  BeaconRegistrations,
  RotationExponent,
} from '../../core/beacon/beacon-registry.js';

const eid = {
  kind: 'eid',
  siteId: 'hk-central-01',
  gatewayId: 'gw-01',
  identityKey: '0102030405060708090a111213141516',
  rotationExponent: 10,
  epochUnixSeconds: 1_700_000_000,
} as const;

const ibeacon = {
  kind: 'ibeacon-minor',
  siteId: 'hk-central-01',
  siteKey: '2B7E151628AED2A6ABF7158809CF4F3C',
  rotationExponent: 9,
  uuid: 'e2c56db5dffb48d2b060d0f5a71096e0',
  major: 1,
} as const;

describe('beacon registration schemas', () => {
  it('accepts both kinds and canonicalises keys and UUIDs', () => {
    expect(BeaconRegistration.parse(eid)).toEqual({ ...eid, identityKey: '0102030405060708090A111213141516' });
    expect(BeaconRegistration.parse(ibeacon)).toEqual({ ...ibeacon, uuid: 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0' });
    expect(BeaconRegistration.parse({ ...ibeacon, uuid: 'E2C56DB5-dffb-48D2-B060-D0F5A71096E0' })).toMatchObject({
      uuid: 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0',
    });
    const { gatewayId: _omitted, ...withoutGateway } = eid;
    expect(BeaconRegistration.safeParse(withoutGateway).success).toBe(true);
  });

  it('refuses keys that are not 32 hex characters, naming the field', () => {
    for (const bad of ['0102030405060708090A1112131415', '0102030405060708090A11121314151617', 'Z102030405060708090A111213141516', '']) {
      const result = BeaconRegistration.safeParse({ ...eid, identityKey: bad });
      expect(result.success, bad).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(['identityKey']);
      expect(result.error?.issues[0]?.message).toMatch(/32 hex characters/);
    }
    expect(BeaconRegistration.safeParse({ ...ibeacon, siteKey: 'abc' }).success).toBe(false);
    expect(BeaconKeyHex.safeParse('00'.repeat(16)).success).toBe(true);
  });

  it('refuses K outside 0..15 and non-integers', () => {
    expect(RotationExponent.safeParse(0).success).toBe(true);
    expect(RotationExponent.safeParse(15).success).toBe(true);
    for (const bad of [-1, 16, 2.5, '10']) {
      expect(BeaconRegistration.safeParse({ ...eid, rotationExponent: bad }).success, String(bad)).toBe(false);
    }
  });

  it('refuses bad iBeacon fields, bad site ids and unknown fields', () => {
    expect(BeaconRegistration.safeParse({ ...ibeacon, major: 65_536 }).success).toBe(false);
    expect(BeaconRegistration.safeParse({ ...ibeacon, uuid: 'not-a-uuid' }).success).toBe(false);
    expect(BeaconRegistration.safeParse({ ...ibeacon, siteId: 'a/b' }).success).toBe(false);
    expect(BeaconRegistration.safeParse({ ...eid, extra: 1 }).success).toBe(false);
    expect(BeaconRegistration.safeParse({ ...eid, kind: 'altbeacon' }).success).toBe(false);
  });

  it('refuses one identity key used by two EID beacons', () => {
    const result = BeaconRegistrations.safeParse([eid, ibeacon, { ...eid, gatewayId: 'gw-02', identityKey: eid.identityKey.toUpperCase() }]);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([2, 'identityKey']);
    expect(result.error?.issues[0]?.message).toMatch(/already used by registration \[0\]/);
  });

  it('validates observations', () => {
    expect(BeaconObservation.parse({ kind: 'eid', eid: 'a9b76a71c5f89290' })).toEqual({ kind: 'eid', eid: 'A9B76A71C5F89290' });
    expect(BeaconObservation.safeParse({ kind: 'eid', eid: 'A9B76A71C5F892' }).success).toBe(false);
    expect(BeaconObservation.safeParse({ kind: 'ibeacon', uuid: ibeacon.uuid, major: 1, minor: 70_000 }).success).toBe(false);
  });
});
