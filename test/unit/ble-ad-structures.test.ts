import { describe, expect, it } from 'vitest';
import { AdType, encodeAdStructures, MAX_ADVERTISING_BYTES, readAdStructures, walkAdStructures } from '../../firmware-bridge/ble/ad-structures.js';
import { NOT_A_BEACON, parseAdvertisement } from '../../firmware-bridge/ble/advertisement.js';
import { adStructure, bytes, FLAGS } from '../support/ble.js';

/** The iBeacon of ../shared/HARDWARE.md: major 1, minor 200, -59 dBm. */
const IBEACON = '0201061AFF4C000215E2C56DB5DFFB48D2B060D0F5A71096E0000100C8C5';
const IBEACON_STRUCTURE = bytes(IBEACON).subarray(3);

describe('AD structures', () => {
  it('walks the worked iBeacon advertisement: flags 06, then 25 bytes of manufacturer data', () => {
    const result = readAdStructures(bytes(IBEACON));
    expect(result).toEqual({
      ok: true,
      structures: [
        { type: AdType.flags, data: bytes('06') },
        { type: AdType.manufacturerData, data: bytes(IBEACON).subarray(5) },
      ],
    });
  });

  it('stops at a zero length: what follows is padding, even bytes that would be refused', () => {
    const padded = Buffer.concat([bytes(IBEACON), Buffer.alloc(1), bytes('FF FF FF')]);
    expect(readAdStructures(padded)).toMatchObject({ ok: true, structures: [{ type: 0x01 }, { type: 0xff }] });
    expect(parseAdvertisement(padded)).toMatchObject({ ok: true, frame: { kind: 'ibeacon', minor: 200 } });
    expect(readAdStructures(bytes('00 1A FF 4C'))).toEqual({ ok: true, structures: [] });
  });

  it('accepts no data at all (nothing to read, no beacon)', () => {
    expect(readAdStructures(Buffer.alloc(0))).toEqual({ ok: true, structures: [] });
    expect(parseAdvertisement(Buffer.alloc(0))).toBe(NOT_A_BEACON);
  });

  it.each([
    ['a structure that runs past the end', `${IBEACON.slice(0, -2)}`, /AD structure at byte 3 claims 26 bytes but only 25 follow/],
    ['a length byte with nothing after it', '020106 05', /AD structure at byte 3 claims 5 bytes but only 0 follow/],
    ['a structure cut after its type', '020106 03 FF 4C', /claims 3 bytes but only 2 follow/],
    ['an odd-length 16-bit UUID list', '020106 04 03 AA FE 01', /type 0x03\): 16-bit service UUID list of 3 bytes/],
    ['a 128-bit UUID list of 15 bytes', `10 07 ${'11'.repeat(15)}`, /128-bit service UUID list of 15 bytes/],
    ['a TX power level of 2 bytes', '03 0A C5 00', /TX power level of 2 bytes/],
    ['service data without a whole UUID', '02 16 AA', /16-bit service data of 1 bytes \(too short for its UUID\)/],
    ['manufacturer data without a whole company id', '02 FF 4C', /manufacturer data of 1 bytes/],
  ])('refuses %s', (_name, hexText, reason) => {
    const advert = bytes(hexText);
    const structures = readAdStructures(advert);
    expect(structures.ok).toBe(false);
    const result = parseAdvertisement(advert);
    expect(result).toMatchObject({ ok: false, code: 'malformed' });
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('refuses a good beacon when any other structure of the advertisement is broken', () => {
    const advert = Buffer.concat([bytes(IBEACON), bytes('05 09 41 42')]);
    expect(parseAdvertisement(advert)).toMatchObject({ ok: false, code: 'malformed', reason: expect.stringMatching(/byte 30 claims 5 bytes/) });
  });

  it('skips unknown AD types, names, TX power, UUID lists and other services around the beacon', () => {
    const advert = Buffer.concat([
      FLAGS,
      adStructure(0xe0, '01 02 03'), // unknown type
      adStructure(AdType.completeLocalName, Buffer.from('PG')),
      adStructure(AdType.txPowerLevel, 'F4'),
      adStructure(AdType.completeUuids16, '0F 18 0A 18'),
      adStructure(AdType.serviceData16, '0F 18 64'), // battery service: 100 %
      IBEACON_STRUCTURE,
    ]);
    expect(parseAdvertisement(advert)).toMatchObject({ ok: true, frame: { kind: 'ibeacon', major: 1, minor: 200 } });
  });

  it('says "not a beacon" (one shared object) for well-formed advertisements without a frame', () => {
    const phone = Buffer.concat([FLAGS, adStructure(AdType.completeLocalName, Buffer.from('Pixel')), adStructure(AdType.manufacturerData, '06 00 01 09 20 02')]);
    expect(parseAdvertisement(phone)).toBe(NOT_A_BEACON);
    expect(NOT_A_BEACON).toEqual({ ok: false, code: 'not-a-beacon', reason: expect.stringMatching(/no iBeacon, AltBeacon or Eddystone frame/) });
    // Apple's other manufacturer data (Nearby Info, subtype 0x10) is not an iBeacon.
    expect(parseAdvertisement(Buffer.concat([FLAGS, adStructure(0xff, '4C 00 10 05 01 18 A2 3C 11')]))).toBe(NOT_A_BEACON);
  });

  it('lets the visitor see every structure with its data range', () => {
    const seen: string[] = [];
    const reason = walkAdStructures(bytes(IBEACON), seen, (list, type, data, start, end) => {
      list.push(`${type.toString(16)}:${Buffer.from(data.subarray(start, end)).toString('hex')}`);
    });
    expect(reason).toBeUndefined();
    expect(seen).toEqual(['1:06', `ff:${IBEACON.slice(10).toLowerCase()}`]);
  });

  it('encodes structures end to end and refuses more than 31 bytes or a data length its type forbids', () => {
    expect(encodeAdStructures([{ type: 0x01, data: bytes('06') }, { type: 0x09, data: Buffer.from('AB') }]).toString('hex')).toBe('02010603094142');
    const exactly31 = [{ type: 0xff, data: Buffer.alloc(MAX_ADVERTISING_BYTES - 2, 1) }];
    expect(encodeAdStructures(exactly31)).toHaveLength(31);
    expect(() => encodeAdStructures([{ type: 0xff, data: Buffer.alloc(MAX_ADVERTISING_BYTES - 1, 1) }])).toThrow(/32 bytes exceeds 31/);
    expect(() => encodeAdStructures([{ type: 0x03, data: bytes('AA FE 01') }])).toThrow(RangeError);
    expect(() => encodeAdStructures([{ type: 0x100, data: bytes('00') }])).toThrow(/not a byte/);
  });
});
