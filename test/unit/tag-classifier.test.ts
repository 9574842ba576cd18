import { describe, expect, it } from 'vitest';
import { buildAdvertisement } from '../../firmware-bridge/ble/advertisement.js';
import { nobleAdvertisementFromBytes } from '../../firmware-bridge/ble/noble-advertisement.js';
import { rosterTagClassifier, rosterTagUids, tagUidOfAddress } from '../../gateway/presence/tag-classifier.js';

const IBEACON_TAG = 'E2C56DB5DFFB48D2B060D0F5A71096E0000100C8';
const EDDYSTONE_TAG = 'EE8B0CA750E7A74E14BD990000000042';
const ADDRESS_TAG = 'D0FFEE123456';

const advert = (frame: Parameters<typeof buildAdvertisement>[0]): ReturnType<typeof nobleAdvertisementFromBytes> => nobleAdvertisementFromBytes(buildAdvertisement(frame));
const plainAdvert = nobleAdvertisementFromBytes(Buffer.from('02011A0AFF4C001005031C0E6B8A', 'hex'));

describe('rosterTagClassifier: adverts -> the roster ble-tag they belong to', () => {
  const tags = rosterTagUids([
    { credential: { kind: 'ble-tag', uid: IBEACON_TAG }, employeeId: 'E001', name: 'a', status: 'active' },
    { credential: { kind: 'ble-tag', uid: EDDYSTONE_TAG }, employeeId: 'E002', name: 'b', status: 'active' },
    { credential: { kind: 'ble-tag', uid: ADDRESS_TAG }, employeeId: 'E003', name: 'c', status: 'revoked' },
    { credential: { kind: 'em4100', uid: 'E3086CED' }, employeeId: 'E001', name: 'a', status: 'active' },
  ]);
  const classify = rosterTagClassifier(() => tags);

  it('knows an iBeacon tag by uuid + major + minor, an Eddystone-UID tag by namespace + instance', () => {
    expect(classify('11:22:33:44:55:66', advert({ kind: 'ibeacon', uuid: 'e2c56db5-dffb-48d2-b060-d0f5a71096e0', major: 1, minor: 200, measuredPower: -59 }), -60)).toEqual({ tagId: IBEACON_TAG });
    expect(classify('11:22:33:44:55:66', advert({ kind: 'eddystone-uid', txPower: -20, namespace: 'ee8b0ca750e7a74e14bd', instance: '990000000042' }), -60)).toEqual({ tagId: EDDYSTONE_TAG });
  });

  it('knows a tag that sends no beacon frame by its address, in either case', () => {
    expect(classify('d0:ff:ee:12:34:56', plainAdvert, -60)).toEqual({ tagId: ADDRESS_TAG });
    expect(classify('D0:FF:EE:12:34:56', plainAdvert, -60)).toEqual({ tagId: ADDRESS_TAG });
    expect(tagUidOfAddress('d0:ff:ee:12:34:56')).toBe(ADDRESS_TAG);
  });

  it('drops everything else: other beacons, phones, a rotating EID', () => {
    expect(classify('11:22:33:44:55:66', advert({ kind: 'ibeacon', uuid: 'e2c56db5-dffb-48d2-b060-d0f5a71096e0', major: 1, minor: 201, measuredPower: -59 }), -60)).toBeNull();
    expect(classify('11:22:33:44:55:66', plainAdvert, -60)).toBeNull();
    expect(classify('11:22:33:44:55:66', advert({ kind: 'eddystone-eid', txPower: -20, eid: '0011223344556677' }), -60)).toBeNull();
  });

  it('tracks nobody when the roster has no tags', () => {
    const none = rosterTagClassifier(() => new Set());
    expect(none('d0:ff:ee:12:34:56', plainAdvert, -60)).toBeNull();
  });
});
