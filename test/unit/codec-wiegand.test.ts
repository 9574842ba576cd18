import { describe, expect, it } from 'vitest';
import { MAX_PENDING_BYTES, type DecodeEvent, type StreamDecoder } from '../../firmware-bridge/codec.js';
import { WiegandDecoder, encodeWiegand, wiegandBitString, wiegandFields } from '../../firmware-bridge/codecs/wiegand.js';
import type { WiegandOptions } from '../../firmware-bridge/reader-protocols.js';
import { prng } from '../support/prng.js';
import { decodeAll } from '../support/decode.js';

function summary(events: DecodeEvent[]): string[] {
  return events.map((event) =>
    event.type === 'card' ? `card ${event.read.kind} ${event.read.facility}:${event.read.card} ${event.read.uid}` : `bad ${event.reason}`,
  );
}

/** H10301/H10306 built from the format description, independently of the code under test. */
function specBits(bits: 26 | 34, facility: number, card: number): string {
  const data = facility.toString(2).padStart(bits === 26 ? 8 : 16, '0') + card.toString(2).padStart(16, '0');
  const half = (bits - 2) / 2;
  const onesIn = (text: string) => [...text].filter((bit) => bit === '1').length;
  const evenParity = onesIn(data.slice(0, half)) % 2; // makes the leading bit + first half even
  const oddParity = 1 - (onesIn(data.slice(half)) % 2); // makes the second half + trailing bit odd
  return `${evenParity}${data}${oddParity}`;
}

const flip = (bitString: string, at: number) => bitString.slice(0, at) + (bitString[at] === '0' ? '1' : '0') + bitString.slice(at + 1);

const options = (bits: 26 | 34, output: WiegandOptions['output']): WiegandOptions => ({ bits, output });

describe('Wiegand 26 worked example (FC 90, CN 324)', () => {
  const expected = '00101101000000001010001000';

  it('computes the documented bit string from the H10301 rules', () => {
    expect(specBits(26, 90, 324)).toBe(expected);
    expect(wiegandBitString(26, 90, 324)).toBe(expected);
  });

  it('decodes it into facility, card and the canonical uid', () => {
    const line = Buffer.from(`${expected}\r\n`, 'latin1');
    expect(encodeWiegand(90, 324, options(26, 'bits'))).toEqual(line);
    expect(decodeAll(new WiegandDecoder(options(26, 'bits')), line)).toEqual([
      { type: 'card', read: { kind: 'wiegand26', uid: '5A0144', facility: 90, card: 324 }, frame: Buffer.from(expected, 'latin1') },
    ]);
  });

  it('refuses every single-bit corruption with a parity reason', () => {
    for (let at = 0; at < 26; at += 1) {
      const events = decodeAll(new WiegandDecoder(options(26, 'bits')), `${flip(expected, at)}\r\n`);
      expect(events, `bit ${at + 1}`).toHaveLength(1);
      expect(events[0]?.type, `bit ${at + 1}`).toBe('bad-frame');
      const reason = events[0]?.type === 'bad-frame' ? events[0].reason : '';
      expect(reason, `bit ${at + 1}`).toMatch(at <= 12 ? /^parity error: leading even parity bit/ : /^parity error: trailing odd parity bit/);
    }
  });
});

describe('Wiegand 34 (H10306)', () => {
  it('builds, decodes and guards a frame with 16-bit facility and 16+16 parity', () => {
    const bits = specBits(34, 4660, 56789);
    expect(wiegandBitString(34, 4660, 56789)).toBe(bits);
    expect(summary(decodeAll(new WiegandDecoder(options(34, 'bits')), `${bits}\n`))).toEqual(['card wiegand34 4660:56789 1234DDD5']);
    for (let at = 0; at < 34; at += 1) {
      const events = decodeAll(new WiegandDecoder(options(34, 'bits')), `${flip(bits, at)}\n`);
      expect(summary(events)[0], `bit ${at + 1}`).toMatch(at <= 16 ? /bad parity error: leading .* bits 2-17$/ : /bad parity error: trailing .* bits 18-33$/);
    }
  });

  it('refuses a 26-bit frame on a 34-bit converter', () => {
    expect(summary(decodeAll(new WiegandDecoder(options(34, 'bits')), `${specBits(26, 90, 324)}\r\n`))).toEqual([
      'bad expected 34 bits, got 26 characters',
    ]);
  });
});

describe('WiegandDecoder output forms', () => {
  const cases: { bits: 26 | 34; output: WiegandOptions['output']; line: string; read: string }[] = [
    { bits: 26, output: 'hex', line: '5A0144\r', read: 'card wiegand26 90:324 5A0144' },
    { bits: 26, output: 'hex', line: '5a0144\r\n', read: 'card wiegand26 90:324 5A0144' },
    { bits: 34, output: 'hex', line: '1234DDD5\r', read: 'card wiegand34 4660:56789 1234DDD5' },
    // 90 * 65536 + 324 = 5898564
    { bits: 26, output: 'decimal', line: '0005898564\r\n', read: 'card wiegand26 90:324 5A0144' },
    // 4660 * 65536 + 56789 = 305454549
    { bits: 34, output: 'decimal', line: '0305454549\r\n', read: 'card wiegand34 4660:56789 1234DDD5' },
    { bits: 34, output: 'decimal', line: '4294967295\r\n', read: 'card wiegand34 65535:65535 FFFFFFFF' },
  ];

  it.each(cases)('$bits-bit $output: $line', ({ bits, output, line, read }) => {
    expect(summary(decodeAll(new WiegandDecoder(options(bits, output)), line))).toEqual([read]);
  });

  it('encodes every form as the converters print it', () => {
    expect(encodeWiegand(90, 324, options(26, 'hex')).toString('latin1')).toBe('5A0144\r');
    expect(encodeWiegand(4660, 56789, options(34, 'hex')).toString('latin1')).toBe('1234DDD5\r');
    expect(encodeWiegand(90, 324, options(26, 'decimal')).toString('latin1')).toBe('0005898564\r\n');
    expect(encodeWiegand(4660, 56789, options(34, 'decimal')).toString('latin1')).toBe('0305454549\r\n');
    expect(encodeWiegand(4660, 56789, options(34, 'bits')).toString('latin1')).toBe(`${specBits(34, 4660, 56789)}\r\n`);
  });

  it('round-trips random cards through every form, with CR, LF or CR LF line ends', () => {
    const random = prng(26);
    for (const bits of [26, 34] as const) {
      for (const output of ['bits', 'hex', 'decimal'] as const) {
        for (let i = 0; i < 100; i += 1) {
          const facility = Math.floor(random() * (bits === 26 ? 256 : 65536));
          const card = Math.floor(random() * 65536);
          const line = encodeWiegand(facility, card, options(bits, output)).toString('latin1').replace(/[\r\n]+$/, '');
          const end = ['\r', '\n', '\r\n'][i % 3] ?? '\n';
          const events = decodeAll(new WiegandDecoder(options(bits, output)), line + end);
          expect(events).toMatchObject([{ type: 'card', read: { kind: `wiegand${bits}`, facility, card } }]);
        }
      }
    }
  });

  it('refuses lines of the wrong shape with a reason', () => {
    const refusals: [WiegandOptions, string, string][] = [
      [options(26, 'bits'), '0010110100000000101000100', 'expected 26 bits, got 25 characters'],
      [options(26, 'bits'), '00101101000000001010001002', '"2" at position 26 is not 0 or 1'],
      [options(26, 'hex'), '5A014', 'expected 6 hex characters for 26-bit Wiegand, got 5'],
      [options(26, 'hex'), '5A01G4', '"G" at position 5 is not a hex digit'],
      [options(34, 'hex'), '5A0144', 'expected 8 hex characters for 34-bit Wiegand, got 6'],
      [options(26, 'decimal'), '5898564', 'expected 10 decimal digits, got 7 characters'],
      [options(26, 'decimal'), '00058985 4', '" " at position 9 is not a decimal digit'],
      [options(26, 'decimal'), '0016777216', '0016777216 does not fit the 24 data bits of 26-bit Wiegand (max 16777215)'],
      [options(34, 'decimal'), '4294967296', '4294967296 does not fit the 32 data bits of 34-bit Wiegand (max 4294967295)'],
      [options(34, 'decimal'), '\x00000000001', '0x00 at position 1 is not a decimal digit'],
    ];
    for (const [opts, line, reason] of refusals) {
      const events = decodeAll(new WiegandDecoder(opts), `${line}\r\n`);
      expect(events, line).toEqual([{ type: 'bad-frame', reason, bytes: Buffer.from(line, 'latin1') }]);
    }
  });
});

describe('WiegandDecoder stream handling', () => {
  const good = `${specBits(26, 90, 324)}\r\n`;

  it('gives the same events for one chunk, byte-at-a-time and random chunkings', () => {
    const stream = Buffer.from(`junk\r\n${good}${good.slice(0, 10)}\n${good}\n\n\r${specBits(26, 1, 2)}\r${good.slice(0, 5)}`, 'latin1');
    const whole = decodeAll(new WiegandDecoder(options(26, 'bits')), stream);
    expect(summary(whole)).toEqual([
      'bad expected 26 bits, got 4 characters',
      'card wiegand26 90:324 5A0144',
      'bad expected 26 bits, got 10 characters',
      'card wiegand26 90:324 5A0144',
      'card wiegand26 1:2 010002',
      'bad line not terminated at end of input',
    ]);
    expect(decodeAll(new WiegandDecoder(options(26, 'bits')), ...[...stream].map((byte) => Buffer.of(byte)))).toEqual(whole);
    for (let seed = 1; seed <= 20; seed += 1) {
      const random = prng(seed);
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(random() * 12);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      expect(decodeAll(new WiegandDecoder(options(26, 'bits')), ...chunks), `seed ${seed}`).toEqual(whole);
    }
  });

  it('reports a card at the first line-end byte, without waiting for the LF of a CR LF', () => {
    const decoder = new WiegandDecoder(options(26, 'bits'));
    expect(summary(decoder.push(Buffer.from(good.slice(0, -1), 'latin1')))).toEqual(['card wiegand26 90:324 5A0144']);
    expect(decoder.push(Buffer.from('\n'))).toEqual([]);
  });

  it('bounds an overlong line, refuses all of it, and reads the next line', () => {
    const long = Buffer.alloc(3 * MAX_PENDING_BYTES + 5, 0x31);
    const events = decodeAll(new WiegandDecoder(options(26, 'bits')), long, '\r\n', good);
    const bad = events.filter((event) => event.type === 'bad-frame');
    expect(bad.every((event) => event.bytes.length <= MAX_PENDING_BYTES && event.reason === `line longer than ${MAX_PENDING_BYTES} bytes`)).toBe(true);
    expect(bad.reduce((sum, event) => sum + event.bytes.length, 0)).toBe(long.length);
    expect(summary(events).at(-1)).toBe('card wiegand26 90:324 5A0144');
  });

  it('reports a trailing partial line at end() and starts clean afterwards', () => {
    const decoder = new WiegandDecoder(options(26, 'bits'));
    expect(decoder.push(Buffer.from(good.slice(0, 20), 'latin1'))).toEqual([]);
    expect(decoder.end()).toEqual([
      { type: 'bad-frame', reason: 'line not terminated at end of input', bytes: Buffer.from(good.slice(0, 20), 'latin1') },
    ]);
    expect(summary(decodeAll(decoder, good))).toEqual(['card wiegand26 90:324 5A0144']);
  });
});

describe('Wiegand encoders', () => {
  it('refuse values that do not fit the format', () => {
    expect(() => wiegandBitString(26, 256, 1)).toThrow(/facility 256 does not fit 8 bits \(0-255\)/);
    expect(() => wiegandBitString(34, 65536, 1)).toThrow(/facility 65536 does not fit 16 bits/);
    expect(() => wiegandBitString(26, 1, 65536)).toThrow(/card 65536 does not fit 16 bits/);
    expect(() => encodeWiegand(-1, 1, options(26, 'hex'))).toThrow(RangeError);
    expect(() => encodeWiegand(1, 1.5, options(26, 'decimal'))).toThrow(RangeError);
  });

  it('take an EM4100 card as its low 24 or 32 bits, as EM readers with Wiegand output do', () => {
    const em = { kind: 'em4100' as const, uid: '62E3086CED' };
    expect(wiegandFields(em, 26)).toEqual({ facility: 0x08, card: 0x6ced });
    expect(wiegandFields(em, 34)).toEqual({ facility: 0xe308, card: 0x6ced });
    expect(wiegandFields({ kind: 'wiegand26', uid: '5A0144' }, 26)).toEqual({ facility: 90, card: 324 });
    expect(() => wiegandFields({ kind: 'wiegand26', uid: '5A0144' }, 34)).toThrow(/34-bit Wiegand reader cannot send a wiegand26 card/);
    expect(() => wiegandFields({ kind: 'mifare', uid: '04A224C2' }, 26)).toThrow(RangeError);
    expect(() => wiegandFields({ kind: 'wiegand34', uid: '5A0144' }, 34)).toThrow(/must be 8 hex characters/);
  });
});
