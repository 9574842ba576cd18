import { describe, expect, it } from 'vitest';
import { buildAdvertisement, NOT_A_BEACON, parseAdvertisement } from '../../firmware-bridge/ble/advertisement.js';
import type { BeaconFrame } from '../../firmware-bridge/ble/frames.js';
import { isEddystoneUuid, nobleAdvertisementFromBytes, parseNobleAdvertisement, type NobleAdvertisement } from '../../firmware-bridge/ble/noble-advertisement.js';
import { adStructure, bytes, FLAGS, nobleParse } from '../support/ble.js';

const IBEACON = '0201061AFF4C000215E2C56DB5DFFB48D2B060D0F5A71096E0000100C8C5';

const frames: BeaconFrame[] = [
  { kind: 'ibeacon', uuid: 'e2c56db5-dffb-48d2-b060-d0f5a71096e0', major: 1, minor: 200, measuredPower: -59 },
  { kind: 'altbeacon', manufacturerId: 0x0118, beaconId: '2f234454cf6d4a0fadf2f4911ba9ffa600010002', referenceRssi: -59, reserved: 0 },
  { kind: 'eddystone-uid', txPower: -20, namespace: '8b0ca750095477cb3e77', instance: '000000000001' },
  { kind: 'eddystone-url', txPower: -18, url: 'https://goo.gl/S6zT6P' },
  { kind: 'eddystone-tlm', version: 0, batteryMillivolts: 3000, temperatureCelsius: null, advertisingCount: 7, uptimeSeconds: 0.3 },
  { kind: 'eddystone-eid', txPower: -16, eid: '0123456789abcdef' },
];

describe('noble advertisement objects', () => {
  it('reads the worked iBeacon as noble hands it over (manufacturerData with the company id)', () => {
    const advertisement: NobleAdvertisement = { localName: undefined, manufacturerData: bytes(IBEACON).subarray(5), serviceData: [], serviceUuids: [] };
    expect(parseNobleAdvertisement(advertisement)).toEqual(parseAdvertisement(bytes(IBEACON)));
    expect(parseNobleAdvertisement(advertisement)).toMatchObject({ ok: true, frame: { kind: 'ibeacon', major: 1, minor: 200, measuredPower: -59 } });
  });

  it.each(frames.map((frame) => [frame.kind, frame] as const))('gives the same %s frame from what noble itself makes of the bytes', (_kind, frame) => {
    const advert = buildAdvertisement(frame);
    const fromNoble = nobleParse(advert);
    expect(parseNobleAdvertisement(fromNoble)).toEqual({ ok: true, frame });
    expect(parseAdvertisement(advert)).toEqual({ ok: true, frame });
  });

  it('reads Eddystone in 16-bit service data only (FEAA in either case), as in raw bytes', () => {
    const data = bytes('30 F0 0123456789ABCDEF');
    for (const uuid of ['feaa', 'FEAA']) {
      expect(isEddystoneUuid(uuid)).toBe(true);
      expect(parseNobleAdvertisement({ serviceData: [{ uuid, data }] })).toMatchObject({ ok: true, frame: { kind: 'eddystone-eid' } });
    }
    for (const uuid of ['feab', '0000feaa', '0000feaa00001000800000805f9b34fb', 0xfeaa]) {
      expect(isEddystoneUuid(uuid)).toBe(false);
      expect(parseNobleAdvertisement({ serviceData: [{ uuid, data }] } as NobleAdvertisement)).toBe(NOT_A_BEACON);
    }
    // What noble makes of 128-bit service data for the same UUID written out: not read either way.
    const long = Buffer.concat([FLAGS, adStructure(0x21, `FB349B5F80000080001000 00AAFE0000 ${'30 F0 0123456789ABCDEF'}`)]);
    expect(parseAdvertisement(long)).toBe(NOT_A_BEACON);
    expect(parseNobleAdvertisement(nobleParse(long))).toBe(NOT_A_BEACON);
  });

  it('skips other services and non-beacon manufacturer data', () => {
    const eid = { uuid: 'feaa', data: bytes('30 F0 0123456789ABCDEF') };
    expect(parseNobleAdvertisement({ manufacturerData: bytes('4C 00 10 05 01 18'), serviceData: [{ uuid: '180f', data: bytes('64') }, eid] })).toMatchObject({
      ok: true,
      frame: { kind: 'eddystone-eid' },
    });
    expect(parseNobleAdvertisement({ localName: 'Pixel', serviceUuids: ['180f'] })).toBe(NOT_A_BEACON);
    expect(parseNobleAdvertisement({})).toBe(NOT_A_BEACON);
  });

  it('refuses what the raw parser refuses', () => {
    expect(parseNobleAdvertisement({ manufacturerData: bytes(IBEACON).subarray(5, -1) })).toEqual({
      ok: false,
      code: 'malformed',
      reason: 'iBeacon manufacturer data is 24 bytes, expected 25',
    });
    expect(parseNobleAdvertisement({ serviceData: [{ uuid: 'feaa', data: bytes('00 EC 0102') }] })).toMatchObject({ ok: false, code: 'malformed', reason: expect.stringMatching(/Eddystone-UID frame is 4 bytes/) });
    expect(parseNobleAdvertisement({ serviceData: [{ uuid: 'feaa', data: bytes('20 01 0BB8 1780 000004D2 00003039') }] })).toMatchObject({ ok: false, code: 'unsupported' });
    expect(parseNobleAdvertisement({ serviceData: [{ uuid: 'feaa', data: bytes('10 EE 07 41') }] })).toMatchObject({ ok: false, reason: expect.stringMatching(/scheme prefix 0x07/) });
    expect(parseNobleAdvertisement({ manufacturerData: bytes('4C') })).toMatchObject({ ok: false, code: 'malformed', reason: expect.stringMatching(/too short for its company id/) });
  });

  it('refuses objects whose fields are not what noble makes, instead of throwing', () => {
    const odd = (value: unknown) => parseNobleAdvertisement(value as NobleAdvertisement);
    expect(odd(null)).toMatchObject({ ok: false, code: 'malformed' });
    expect(odd({ manufacturerData: '4c000215' })).toMatchObject({ ok: false, reason: 'manufacturerData is not a Buffer' });
    expect(odd({ serviceData: { uuid: 'feaa' } })).toMatchObject({ ok: false, reason: 'serviceData is not an array' });
    expect(odd({ serviceData: [null, { uuid: 'feaa', data: [0x30] }] })).toMatchObject({ ok: false, reason: 'Eddystone service data is not a Buffer' });
    expect(odd({ serviceData: [{ uuid: 'feaa', data: new Uint8Array(bytes('30 F0 0123456789ABCDEF')) }] })).toMatchObject({ ok: true });
  });

  it('mirrors noble when turning bytes into an advertisement object, quirks included', () => {
    const advert = Buffer.concat([
      FLAGS,
      adStructure(0x03, 'F0 0A AA FE'), // noble prints 0x0AF0 as 'af0'
      adStructure(0x09, Buffer.from('PG-7')),
      adStructure(0x0a, 'F4'),
      adStructure(0xff, '4C 00 10 05 01'),
      adStructure(0xff, '59 00 01'), // the last manufacturer data wins
      adStructure(0x16, 'AA FE 30 F0 0123456789ABCDEF'),
    ]);
    const mine = nobleAdvertisementFromBytes(advert);
    expect(mine).toEqual({
      localName: 'PG-7',
      txPowerLevel: -12,
      manufacturerData: bytes('59 00 01'),
      serviceData: [{ uuid: 'feaa', data: bytes('30 F0 0123456789ABCDEF') }],
      serviceUuids: ['af0', 'feaa'],
      serviceSolicitationUuids: [],
    });
    const noble = nobleParse(advert) as Record<string, unknown>;
    for (const [key, value] of Object.entries(mine)) expect(noble[key], key).toEqual(value);
  });
});
