import { describe, expect, it } from 'vitest';
import { buildAdvertisement, parseAdvertisement } from '../../firmware-bridge/ble/advertisement.js';
import { referencePower } from '../../firmware-bridge/ble/distance.js';
import { decodeEddystone, encodeEddystoneFrame } from '../../firmware-bridge/ble/eddystone.js';
import { encodeEddystoneUrl } from '../../firmware-bridge/ble/eddystone-url.js';
import type { BeaconFrame, BeaconFrameInput } from '../../firmware-bridge/ble/frames.js';
import { adStructure, bytes, eddystoneAdvert, FLAGS } from '../support/ble.js';

/*
 * Vectors written by hand from google/eddystone: protocol-specification.md (flags, 03 03 AA FE,
 * service data 16 AA FE), eddystone-uid/README.md, eddystone-url/README.md,
 * eddystone-tlm/tlm-plain.md and eddystone-eid/README.md.
 */

const ascii = (text: string): string => Buffer.from(text, 'latin1').toString('hex');

/** The namespace is eddystone-uid/README.md's elided-UUID example; tx@0m -20 dBm (0xEC). */
const UID_FRAME_HEX = '00 EC 8B0CA750095477CB3E77 000000000001 0000';
const UID_FRAME = { kind: 'eddystone-uid', txPower: -20, namespace: '8b0ca750095477cb3e77', instance: '000000000001' } as const;

const TLM_FRAME_HEX = '20 00 0BB8 1780 000004D2 00003039';
const TLM_FRAME = { kind: 'eddystone-tlm', version: 0, batteryMillivolts: 3000, temperatureCelsius: 23.5, advertisingCount: 1234, uptimeSeconds: 1234.5 } as const;

const EID_FRAME_HEX = '30 F0 0123456789ABCDEF';
const EID_FRAME = { kind: 'eddystone-eid', txPower: -16, eid: '0123456789abcdef' } as const;

function parsed(frameHex: string) {
  return parseAdvertisement(eddystoneAdvert(frameHex));
}

function refusal(frameHex: string) {
  const result = parsed(frameHex);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.frame)}`);
  return result;
}

describe('Eddystone-UID', () => {
  it('decodes a full-length frame (service data length 0x17, 31 bytes in all)', () => {
    const advert = eddystoneAdvert(UID_FRAME_HEX);
    expect(advert).toHaveLength(31);
    expect(advert[7]).toBe(0x17);
    expect(parseAdvertisement(advert)).toEqual({ ok: true, frame: UID_FRAME });
  });

  it('builds the same 31 bytes', () => {
    expect(buildAdvertisement(UID_FRAME).toString('hex')).toBe(eddystoneAdvert(UID_FRAME_HEX).toString('hex'));
  });

  it('accepts the older 18-byte frame without the reserved bytes (service data length 0x15), and ignores RFU content', () => {
    expect(parsed(UID_FRAME_HEX.slice(0, -5))).toEqual({ ok: true, frame: UID_FRAME });
    expect(parsed(`${UID_FRAME_HEX.slice(0, -5)} 1234`)).toEqual({ ok: true, frame: UID_FRAME });
  });

  it.each([
    ['17 bytes (too short)', UID_FRAME_HEX.slice(0, -7), 17],
    ['19 bytes', UID_FRAME_HEX.slice(0, -2), 19],
    ['21 bytes', `${UID_FRAME_HEX} 00`, 21],
    ['2 bytes', '00 EC', 2],
  ])('refuses a UID frame of %s', (_name, frameHex, length) => {
    expect(refusal(frameHex)).toEqual({ ok: false, code: 'malformed', reason: `Eddystone-UID frame is ${length} bytes, expected 20 (or 18 without the reserved bytes)` });
  });

  it('ranges at tx@0m - 41', () => {
    expect(referencePower(UID_FRAME)).toBe(-61);
  });
});

describe('Eddystone-URL', () => {
  it.each([
    // eddystone-url/README.md's own example URL; its tx example 0xEE = -18 dBm.
    ['https://goo.gl/S6zT6P', `03 ${ascii('goo.gl/S6zT6P')}`],
    ['http://www.example.com/', `00 ${ascii('example')} 00`],
    ['https://www.punchgate.info/a', `01 ${ascii('punchgate')} 04 ${ascii('a')}`],
    ['http://x.gov', `02 ${ascii('x')} 0D`],
    ['https://example.org', `03 ${ascii('example')} 08`],
    ['https://a.com/b.net/c.biz', `03 61 00 62 03 63 0C`],
    ['https://', '03'],
  ])('decodes and builds %s', (url, encoded) => {
    const frame = { kind: 'eddystone-url', txPower: -18, url } as const;
    expect(parsed(`10 EE ${encoded}`)).toEqual({ ok: true, frame });
    expect(buildAdvertisement(frame).toString('hex')).toBe(eddystoneAdvert(`10 EE ${encoded}`).toString('hex'));
  });

  it('reads URLs spelled out without expansion codes, and rebuilds them in the shortest form', () => {
    const spelled = parsed(`10 00 02 ${ascii('www.x.com/')}`);
    expect(spelled).toEqual({ ok: true, frame: { kind: 'eddystone-url', txPower: 0, url: 'http://www.x.com/' } });
    if (spelled.ok) expect(encodeEddystoneFrame(spelled.frame as Extract<BeaconFrame, { kind: 'eddystone-url' }>).toString('hex')).toBe(bytes(`10 00 00 ${ascii('x')} 00`).toString('hex'));
  });

  it('uses the whole 17 bytes: 31 bytes of advertising data', () => {
    const frame = { kind: 'eddystone-url', txPower: -18, url: `https://${'a'.repeat(17)}` } as const;
    const advert = buildAdvertisement(frame);
    expect(advert).toHaveLength(31);
    expect(parseAdvertisement(advert)).toEqual({ ok: true, frame });
  });

  it.each([
    ['an invalid scheme prefix', `10 EE 04 ${ascii('x')}`, 'Eddystone-URL scheme prefix 0x04 is not one of 00-03'],
    ['scheme 0xFF', '10 EE FF', 'Eddystone-URL scheme prefix 0xFF is not one of 00-03'],
    ['reserved code 0x0E', `10 EE 03 ${ascii('x')} 0E`, 'Eddystone-URL byte 0x0E at URL offset 1 is reserved'],
    ['a space (0x20)', `10 EE 03 ${ascii('a')} 20 ${ascii('b')}`, 'Eddystone-URL byte 0x20 at URL offset 1 is reserved'],
    ['DEL (0x7F)', '10 EE 03 7F', 'Eddystone-URL byte 0x7F at URL offset 0 is reserved'],
    ['a byte above 0x7F', '10 EE 03 C3 A9', 'Eddystone-URL byte 0xC3 at URL offset 0 is reserved'],
    ['no scheme byte', '10 EE', 'Eddystone-URL frame is 2 bytes, at least 3 (type, tx power, scheme)'],
  ])('refuses %s', (_name, frameHex, reason) => {
    expect(refusal(frameHex)).toEqual({ ok: false, code: 'malformed', reason });
  });

  it('refuses an encoded URL over 17 bytes (possible in extended advertising and in noble objects)', () => {
    const frame = bytes(`10 EE 03 ${ascii('a'.repeat(18))}`);
    expect(decodeEddystone(frame, 0, frame.length)).toEqual({ ok: false, code: 'malformed', reason: 'Eddystone-URL encoded URL is 18 bytes, at most 17' });
  });

  it.each([
    ['ftp://example.com', /must start with http:\/\/ or https:\/\//],
    ['HTTPS://EXAMPLE.COM', /must start with http:\/\/ or https:\/\//],
    ['example.com', /must start with http/],
    ['https://a b', /character " " at 9/],
    ['https://café', /character "é"/],
    ['https://abcdefghijklmnopqr', /encodes to 18 bytes after the scheme, at most 17/],
  ])('refuses to build %s', (url, message) => {
    expect(() => encodeEddystoneUrl(url)).toThrow(message);
    expect(() => buildAdvertisement({ kind: 'eddystone-url', txPower: 0, url })).toThrow(RangeError);
  });

  it('counts expansion codes as one byte when checking the 17-byte limit', () => {
    expect(encodeEddystoneUrl('https://www.abcdefghijklmnop.com/')).toHaveLength(18);
  });
});

describe('Eddystone-TLM', () => {
  it('decodes a hand-written frame: 3000 mV, 23.5 °C, 1234 adverts, 1234.5 s', () => {
    const advert = eddystoneAdvert(TLM_FRAME_HEX);
    expect(advert[7]).toBe(0x11);
    expect(parseAdvertisement(advert)).toEqual({ ok: true, frame: TLM_FRAME });
    expect(buildAdvertisement(TLM_FRAME).toString('hex')).toBe(advert.toString('hex'));
  });

  it.each([
    ['FF80', -0.5],
    ['8001', -127.99609375],
    ['7FFF', 127.99609375],
    ['0000', 0],
    ['8000', null],
  ])('reads temperature %s as signed 8.8 fixed point: %s', (temperature, celsius) => {
    const result = parsed(`20 00 0000 ${temperature} 00000000 FFFFFFFF`);
    expect(result).toEqual({
      ok: true,
      frame: { kind: 'eddystone-tlm', version: 0, batteryMillivolts: 0, temperatureCelsius: celsius, advertisingCount: 0, uptimeSeconds: 429496729.5 },
    });
    if (result.ok) expect(buildAdvertisement(result.frame).subarray(-14).toString('hex').toUpperCase()).toBe(bytes(`20 00 0000 ${temperature} 00000000 FFFFFFFF`).toString('hex').toUpperCase());
  });

  it('refuses TLM versions other than 0 (1 is encrypted TLM)', () => {
    expect(refusal('20 01 0BB8 1780 000004D2 00003039')).toEqual({ ok: false, code: 'unsupported', reason: expect.stringMatching(/version 0x01 is not read .*encrypted TLM/) });
    expect(refusal('20 02 0BB8 1780 000004D2 00003039')).toEqual({ ok: false, code: 'unsupported', reason: expect.stringMatching(/version 0x02 is not read/) });
  });

  it.each([13, 15])('refuses a TLM frame of %i bytes', (length) => {
    const frame = bytes(TLM_FRAME_HEX);
    const resized = length < frame.length ? frame.subarray(0, length) : Buffer.concat([frame, Buffer.alloc(length - frame.length)]);
    expect(parseAdvertisement(eddystoneAdvert(resized))).toEqual({ ok: false, code: 'malformed', reason: `Eddystone-TLM frame is ${length} bytes, expected 14` });
  });

  it('refuses to build a temperature it cannot send (-128 is the "not supported" marker)', () => {
    expect(() => buildAdvertisement({ ...TLM_FRAME, temperatureCelsius: -128 })).toThrow(/temperatureCelsius/);
    expect(() => buildAdvertisement({ ...TLM_FRAME, temperatureCelsius: 128 })).toThrow(/temperatureCelsius/);
    expect(() => buildAdvertisement({ ...TLM_FRAME, uptimeSeconds: -1 })).toThrow(/uptimeSeconds/);
    expect(() => buildAdvertisement({ ...TLM_FRAME, advertisingCount: 2 ** 32 })).toThrow(/advertisingCount/);
    expect(() => buildAdvertisement({ ...TLM_FRAME, version: 1 } as unknown as BeaconFrameInput)).toThrow(/version/);
  });

  it('has no ranging data', () => {
    expect(referencePower(TLM_FRAME)).toBeNull();
  });
});

describe('Eddystone-EID', () => {
  it('decodes, builds and ranges a hand-written frame', () => {
    expect(parsed(EID_FRAME_HEX)).toEqual({ ok: true, frame: EID_FRAME });
    expect(buildAdvertisement(EID_FRAME).toString('hex')).toBe(eddystoneAdvert(EID_FRAME_HEX).toString('hex'));
    expect(buildAdvertisement({ ...EID_FRAME, eid: EID_FRAME.eid.toUpperCase() }).toString('hex')).toBe(eddystoneAdvert(EID_FRAME_HEX).toString('hex'));
    expect(referencePower(EID_FRAME)).toBe(-57);
  });

  it.each([9, 11])('refuses an EID frame of %i bytes', (length) => {
    const frame = bytes(EID_FRAME_HEX);
    const resized = length < frame.length ? frame.subarray(0, length) : Buffer.concat([frame, Buffer.of(0)]);
    expect(parseAdvertisement(eddystoneAdvert(resized))).toEqual({ ok: false, code: 'malformed', reason: `Eddystone-EID frame is ${length} bytes, expected 10` });
  });

  it('refuses to build an EID that is not 8 bytes', () => {
    expect(() => buildAdvertisement({ ...EID_FRAME, eid: '0123' })).toThrow(/eid must be 8 bytes of hex/);
  });
});

describe('Eddystone service data', () => {
  it.each([
    ['40', 'a reserved frame type'],
    ['01', 'a frame type with reserved low bits set'],
    ['50', 'a future frame type'],
  ])('refuses frame type %s (%s) as unsupported', (type) => {
    expect(refusal(`${type} 00 0000`)).toEqual({ ok: false, code: 'unsupported', reason: expect.stringMatching(new RegExp(`frame type 0x${type} is not read`)) });
  });

  it('refuses service data for FEAA that holds no frame', () => {
    expect(refusal('')).toEqual({ ok: false, code: 'malformed', reason: 'Eddystone service data holds no frame' });
  });

  it('finds the frame without the UUID list (not all beacons send it)', () => {
    const advert = Buffer.concat([FLAGS, adStructure(0x16, `AA FE ${EID_FRAME_HEX}`)]);
    expect(parseAdvertisement(advert)).toEqual({ ok: true, frame: EID_FRAME });
  });

  it('reads the first structure that claims a frame: later ones do not matter, a malformed first one refuses', () => {
    const eid = adStructure(0x16, `AA FE ${EID_FRAME_HEX}`);
    const ibeacon = adStructure(0xff, `4C 00 02 15 ${'AB'.repeat(16)} 0001 0002 C5`);
    const badIBeacon = adStructure(0xff, `4C 00 02 15 ${'AB'.repeat(16)} 0001 0002`);
    const appleOther = adStructure(0xff, '4C 00 10 05 01 18 A2 3C 11');
    const battery = adStructure(0x16, '0F 18 64');
    expect(parseAdvertisement(Buffer.concat([FLAGS, eid, ibeacon]))).toEqual({ ok: true, frame: EID_FRAME });
    expect(parseAdvertisement(Buffer.concat([FLAGS, ibeacon, eid]))).toMatchObject({ ok: true, frame: { kind: 'ibeacon', major: 1, minor: 2 } });
    expect(parseAdvertisement(Buffer.concat([FLAGS, appleOther, battery, eid]))).toEqual({ ok: true, frame: EID_FRAME });
    expect(parseAdvertisement(Buffer.concat([FLAGS, badIBeacon, eid]))).toMatchObject({ ok: false, code: 'malformed', reason: expect.stringMatching(/iBeacon manufacturer data is 24 bytes/) });
  });

  it('builds every Eddystone kind within 31 bytes, with flags and the FEAA UUID list', () => {
    for (const frame of [UID_FRAME, TLM_FRAME, EID_FRAME, { kind: 'eddystone-url', txPower: 0, url: 'https://x.co' } as const]) {
      const advert = buildAdvertisement(frame);
      expect(advert.length).toBeLessThanOrEqual(31);
      expect(advert.subarray(0, 7).toString('hex')).toBe('0201060303aafe');
      expect(parseAdvertisement(advert)).toEqual({ ok: true, frame });
    }
  });
});
