import { describe, expect, it } from 'vitest';
import { buildAdvertisement, decodeManufacturerData, parseAdvertisement } from '../../firmware-bridge/ble/advertisement.js';
import { encodeAltBeaconPayload } from '../../firmware-bridge/ble/altbeacon.js';
import { distanceMetres, referencePower } from '../../firmware-bridge/ble/distance.js';
import { encodeIBeaconPayload } from '../../firmware-bridge/ble/ibeacon.js';
import { adStructure, bytes, FLAGS, manufacturerAdvert } from '../support/ble.js';

/** ../shared/HARDWARE.md: major 1, minor 200, measured power -59 dBm. */
const IBEACON = '0201061AFF4C000215E2C56DB5DFFB48D2B060D0F5A71096E0000100C8C5';
const IBEACON_FRAME = { kind: 'ibeacon', uuid: 'e2c56db5-dffb-48d2-b060-d0f5a71096e0', major: 1, minor: 200, measuredPower: -59 } as const;

describe('iBeacon', () => {
  it('decodes the worked example', () => {
    expect(parseAdvertisement(bytes(IBEACON))).toEqual({ ok: true, frame: IBEACON_FRAME });
  });

  it('reads major and minor big-endian and the measured power signed', () => {
    const advert = manufacturerAdvert(`4C 00 02 15 ${'00'.repeat(16)} FF FE 80 01 7F`);
    expect(parseAdvertisement(advert)).toEqual({
      ok: true,
      frame: { kind: 'ibeacon', uuid: '00000000-0000-0000-0000-000000000000', major: 0xfffe, minor: 0x8001, measuredPower: 127 },
    });
  });

  it('builds the worked example byte for byte, from either uuid form', () => {
    expect(buildAdvertisement(IBEACON_FRAME).toString('hex').toUpperCase()).toBe(IBEACON);
    const upper = { ...IBEACON_FRAME, uuid: 'E2C56DB5DFFB48D2B060D0F5A71096E0' };
    expect(buildAdvertisement(upper).toString('hex').toUpperCase()).toBe(IBEACON);
    expect(buildAdvertisement(IBEACON_FRAME, { flags: null }).toString('hex').toUpperCase()).toBe(IBEACON.slice(6));
    expect(buildAdvertisement(IBEACON_FRAME, { flags: 0x1a }).subarray(0, 3).toString('hex')).toBe('02011a');
  });

  it('round-trips built frames at the edges of every field', () => {
    for (const frame of [
      { ...IBEACON_FRAME, major: 0, minor: 0, measuredPower: -128 },
      { ...IBEACON_FRAME, major: 65535, minor: 65535, measuredPower: 127 },
      { ...IBEACON_FRAME, uuid: 'ffffffff-ffff-ffff-ffff-ffffffffffff' },
    ]) {
      const advert = buildAdvertisement(frame);
      expect(advert.length).toBe(30);
      expect(parseAdvertisement(advert)).toEqual({ ok: true, frame });
    }
  });

  it('refuses an iBeacon of 24 bytes instead of 25 (structure length consistent)', () => {
    const short = Buffer.concat([FLAGS, adStructure(0xff, bytes(IBEACON).subarray(5, -1))]);
    expect(short[3]).toBe(0x19);
    expect(parseAdvertisement(short)).toEqual({ ok: false, code: 'malformed', reason: 'iBeacon manufacturer data is 24 bytes, expected 25' });
  });

  it('refuses an iBeacon of 26 bytes, and one whose own length byte is not 0x15', () => {
    const long = Buffer.concat([FLAGS, adStructure(0xff, Buffer.concat([bytes(IBEACON).subarray(5), Buffer.of(0)]))]);
    expect(parseAdvertisement(long)).toMatchObject({ ok: false, code: 'malformed', reason: 'iBeacon manufacturer data is 26 bytes, expected 25' });
    const wrongLength = bytes(IBEACON);
    wrongLength[8] = 0x14;
    expect(parseAdvertisement(wrongLength)).toMatchObject({ ok: false, code: 'malformed', reason: 'iBeacon length byte is 0x14, expected 0x15' });
  });

  it('refuses the example with its last byte lost (the structure claims more than is there)', () => {
    expect(parseAdvertisement(bytes(IBEACON.slice(0, -2)))).toMatchObject({ ok: false, code: 'malformed', reason: expect.stringMatching(/claims 26 bytes but only 25 follow/) });
  });

  it('does not take another company\'s 02 15 for an iBeacon', () => {
    const other = manufacturerAdvert(`59 00 02 15 ${'11'.repeat(21)}`);
    expect(parseAdvertisement(other)).toMatchObject({ ok: false, code: 'not-a-beacon' });
  });

  it('refuses to build invalid fields, naming them', () => {
    expect(() => buildAdvertisement({ ...IBEACON_FRAME, major: 65536 })).toThrow(/major/);
    expect(() => buildAdvertisement({ ...IBEACON_FRAME, minor: 1.5 })).toThrow(/minor/);
    expect(() => buildAdvertisement({ ...IBEACON_FRAME, measuredPower: -129 })).toThrow(/measuredPower/);
    expect(() => buildAdvertisement({ ...IBEACON_FRAME, uuid: 'e2c56db5-dffb-48d2-b060' })).toThrow(/uuid must be a UUID/);
    expect(() => encodeIBeaconPayload({ ...IBEACON_FRAME, uuid: 'g2c56db5-dffb-48d2-b060-d0f5a71096e0' })).toThrow(RangeError);
  });

  it('gives the measured power for ranging', () => {
    expect(referencePower(IBEACON_FRAME)).toBe(-59);
    expect(distanceMetres(-59, -59)).toBe(1);
    expect(distanceMetres(-59, -79, 2)).toBeCloseTo(10, 10);
  });
});

/** AltBeacon/spec v1.0 layout, written by hand: Radius Networks (0x0118), ref RSSI -59, reserved 0x5A. */
const ALT_ID = '2f234454cf6d4a0fadf2f4911ba9ffa600010002';
const ALTBEACON = `020106 1BFF 1801 BEAC ${ALT_ID} C5 5A`;
const ALT_FRAME = { kind: 'altbeacon', manufacturerId: 0x0118, beaconId: ALT_ID, referenceRssi: -59, reserved: 0x5a } as const;

describe('AltBeacon', () => {
  it('decodes a hand-written advertisement: company id little-endian, id big-endian', () => {
    expect(parseAdvertisement(bytes(ALTBEACON))).toEqual({ ok: true, frame: ALT_FRAME });
  });

  it('builds it byte for byte (31 bytes with the flags) and reads it back', () => {
    const advert = buildAdvertisement(ALT_FRAME);
    expect(advert.toString('hex')).toBe(bytes(ALTBEACON).toString('hex'));
    expect(advert).toHaveLength(31);
    expect(parseAdvertisement(buildAdvertisement({ ...ALT_FRAME, beaconId: ALT_ID.toUpperCase() }))).toEqual({ ok: true, frame: ALT_FRAME });
  });

  it('refuses AltBeacon data of the wrong length', () => {
    const payload = bytes(ALTBEACON).subarray(5);
    for (const wrong of [payload.subarray(0, 25), Buffer.concat([payload, Buffer.of(0)])]) {
      expect(parseAdvertisement(manufacturerAdvert(wrong))).toEqual({
        ok: false,
        code: 'malformed',
        reason: `AltBeacon manufacturer data is ${wrong.length} bytes, expected 26`,
      });
    }
    expect(decodeManufacturerData(payload.subarray(0, 4), 0, 4)).toMatchObject({ ok: false, code: 'malformed' });
  });

  it('refuses to build a beacon id that is not 20 bytes, or a reserved byte out of range', () => {
    expect(() => encodeAltBeaconPayload({ ...ALT_FRAME, beaconId: ALT_ID.slice(2) })).toThrow(/beaconId must be 20 bytes of hex/);
    expect(() => encodeAltBeaconPayload({ ...ALT_FRAME, reserved: 256 })).toThrow(/reserved/);
  });

  it('gives the reference RSSI for ranging', () => {
    expect(referencePower(ALT_FRAME)).toBe(-59);
  });
});
