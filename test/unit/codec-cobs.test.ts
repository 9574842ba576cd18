import { describe, expect, it } from 'vitest';
import { cobsDecode, cobsEncode, cobsMaxEncodedLength } from '../../firmware-bridge/codecs/cobs.js';
import { prng } from '../support/prng.js';

const bytes = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const range = (from: number, to: number): Buffer => Buffer.from(Array.from({ length: to - from + 1 }, (_, i) => from + i));

// The examples of the COBS paper as listed on Wikipedia's "Consistent Overhead Byte Stuffing" page.
const vectors: Array<[string, Buffer, Buffer]> = [
  ['one zero', bytes('00'), bytes('01 01')],
  ['two zeros', bytes('00 00'), bytes('01 01 01')],
  ['zero inside', bytes('00 11 00'), bytes('01 02 11 01')],
  ['doc test vector', bytes('11 22 00 33'), bytes('03 11 22 02 33')],
  ['no zero', bytes('11 22 33 44'), bytes('05 11 22 33 44')],
  ['trailing zeros', bytes('11 00 00 00'), bytes('02 11 01 01 01')],
  ['254 non-zero bytes', range(1, 254), Buffer.concat([bytes('FF'), range(1, 254)])],
  ['zero then 254 bytes', Buffer.concat([bytes('00'), range(1, 254)]), Buffer.concat([bytes('01 FF'), range(1, 254)])],
  ['255 non-zero bytes', range(1, 255), Buffer.concat([bytes('FF'), range(1, 254), bytes('02 FF')])],
  ['254 bytes then a zero', Buffer.concat([range(2, 255), bytes('00')]), Buffer.concat([bytes('FF'), range(2, 255), bytes('01 01')])],
];

describe('COBS', () => {
  it.each(vectors)('encodes and decodes %s', (_name, data, encoded) => {
    expect(cobsEncode(data).toString('hex')).toBe(encoded.toString('hex'));
    expect(cobsDecode(encoded)).toEqual({ ok: true, data });
  });

  it('encodes the empty input as a single 0x01 and decodes it back', () => {
    expect(cobsEncode(Buffer.alloc(0))).toEqual(bytes('01'));
    expect(cobsDecode(bytes('01'))).toEqual({ ok: true, data: Buffer.alloc(0) });
  });

  it('round-trips random data of every length up to 600 with no zero in the output and within the overhead bound', () => {
    const random = prng(7);
    for (let length = 0; length <= 600; length += 1) {
      const data = Buffer.from(Array.from({ length }, () => (random() < 0.3 ? 0 : Math.floor(random() * 256))));
      const encoded = cobsEncode(data);
      expect(encoded.includes(0)).toBe(false);
      expect(encoded.length).toBeLessThanOrEqual(cobsMaxEncodedLength(length));
      expect(cobsDecode(encoded)).toEqual({ ok: true, data });
    }
  });

  it('meets the overhead bound exactly for long zero-free runs', () => {
    for (const length of [253, 254, 255, 508, 509]) {
      expect(cobsEncode(Buffer.alloc(length, 0x55)).length).toBe(cobsMaxEncodedLength(length));
    }
  });

  it('accepts the extra 0x01 some encoders put after a final 0xFF block', () => {
    expect(cobsDecode(Buffer.concat([bytes('FF'), range(1, 254), bytes('01')]))).toEqual({ ok: true, data: range(1, 254) });
  });

  it('refuses a block that runs past the end', () => {
    const result = cobsDecode(bytes('05 11 22'));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/runs past the end/);
  });

  it('refuses a zero code byte and a zero data byte', () => {
    const zeroCode = cobsDecode(bytes('02 11 00 22'));
    expect(zeroCode).toEqual({ ok: false, reason: 'COBS: zero code byte at offset 2' });
    const zeroData = cobsDecode(bytes('03 11 00'));
    expect(zeroData).toEqual({ ok: false, reason: 'COBS: zero data byte at offset 2' });
  });
});
