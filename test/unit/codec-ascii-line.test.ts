import { describe, expect, it } from 'vitest';
import { credentialAliases, normalizeCredential, type CardRead } from '../../core/credential.js';
import { MAX_PENDING_BYTES, type DecodeEvent, type StreamDecoder } from '../../firmware-bridge/codec.js';
import { AsciiLineDecoder, encodeAsciiLine } from '../../firmware-bridge/codecs/ascii-line.js';
import { AsciiOptions } from '../../firmware-bridge/reader-protocols.js';
import { prng } from '../support/prng.js';
import { decodeAll, cardsOnly } from '../support/decode.js';

const ascii = (input: Partial<AsciiOptions>): AsciiOptions => AsciiOptions.parse(input);
const decodeLine = (options: Partial<AsciiOptions>, line: string) => decodeAll(new AsciiLineDecoder(ascii(options)), `${line}\r\n`);

// The EM4100 worked example, card number 0xE3086CED printed as 3808980205.
const emLow32 = 0xe3086ced;
const emLow24 = emLow32 & 0xffffff;

describe('AsciiLineDecoder, EM4100 card in every printed form', () => {
  it('hex: 10 characters keep the version byte, 8 characters are the card number', () => {
    expect(cardsOnly(decodeLine({ format: 'hex' }, '62E3086CED'))).toEqual([{ kind: 'em4100', uid: '62E3086CED', number: '3808980205' }]);
    expect(cardsOnly(decodeLine({ format: 'hex' }, '62e3086ced'))).toEqual([{ kind: 'em4100', uid: '62E3086CED', number: '3808980205' }]);
    expect(cardsOnly(decodeLine({ format: 'hex' }, 'E3086CED'))).toEqual([{ kind: 'em4100', uid: 'E3086CED', number: '3808980205' }]);
  });

  it('dec32: the 10 digits are the low 32 bits and the printed number', () => {
    const line = emLow32.toString().padStart(10, '0');
    expect(line).toBe('3808980205');
    expect(cardsOnly(decodeLine({ format: 'dec32' }, line))).toEqual([{ kind: 'em4100', uid: 'E3086CED', number: '3808980205' }]);
  });

  it('dec24 and fc-card: the low 24 bits as Wiegand-26 facility (high 8) and card (low 16)', () => {
    const facility = emLow24 >> 16;
    const card = emLow24 & 0xffff;
    expect([facility, card]).toEqual([8, 27885]);
    const expected = [{ kind: 'wiegand26', uid: '086CED', facility, card }];
    expect(cardsOnly(decodeLine({ format: 'dec24' }, emLow24.toString().padStart(8, '0')))).toEqual(expected);
    expect(cardsOnly(decodeLine({ format: 'fc-card' }, '008,27885'))).toEqual(expected);
    expect(cardsOnly(decodeLine({ format: 'fc-card' }, '8,27885'))).toEqual(expected);
  });

  it('gives one credential for the full forms, and the roster alias for the 24-bit forms', () => {
    const full = ['62E3086CED', 'E3086CED'].flatMap((line) => cardsOnly(decodeLine({ format: 'hex' }, line)));
    full.push(...cardsOnly(decodeLine({ format: 'dec32' }, '3808980205')));
    const credentials = full.map((read) => normalizeCredential(read));
    expect(new Set(credentials.map((credential) => credential.uid))).toEqual(new Set(['E3086CED']));
    const partial = [...cardsOnly(decodeLine({ format: 'dec24' }, '00552173')), ...cardsOnly(decodeLine({ format: 'fc-card' }, '008,27885'))];
    for (const read of partial) expect(credentialAliases({ kind: 'em4100', uid: 'E3086CED' })).toContainEqual(normalizeCredential(read));
  });
});

describe('AsciiLineDecoder, MIFARE byte order', () => {
  const uids = ['04A224C2', '04A224C2B51C80', '04A224C2B51C80112233'];
  const reversed = (uid: string) => Buffer.from(uid, 'hex').reverse().toString('hex').toUpperCase();

  it.each(uids)('hex %s in card order and reversed', (uid) => {
    expect(cardsOnly(decodeLine({ format: 'hex', kind: 'mifare' }, uid))).toEqual([{ kind: 'mifare', uid }]);
    expect(cardsOnly(decodeLine({ format: 'hex', kind: 'mifare', byteOrder: 'lsb-first' }, reversed(uid)))).toEqual([{ kind: 'mifare', uid }]);
  });

  it('dec32 reads the 4 bytes big-endian, or little-endian for lsb-first readers', () => {
    const bigEndian = Number.parseInt('04A224C2', 16).toString().padStart(10, '0');
    const littleEndian = Number.parseInt('C224A204', 16).toString().padStart(10, '0');
    expect([bigEndian, littleEndian]).toEqual(['0077735106', '3257180676']);
    expect(cardsOnly(decodeLine({ format: 'dec32', kind: 'mifare' }, bigEndian))).toEqual([{ kind: 'mifare', uid: '04A224C2' }]);
    expect(cardsOnly(decodeLine({ format: 'dec32', kind: 'mifare', byteOrder: 'lsb-first' }, littleEndian))).toEqual([
      { kind: 'mifare', uid: '04A224C2' },
    ]);
  });
});

describe('AsciiLineDecoder refusals', () => {
  const cases: [Partial<AsciiOptions>, string, string][] = [
    [{ format: 'hex' }, '62E3086CE', 'expected 8 or 10 hex characters for em4100, got 9'],
    [{ format: 'hex' }, '62E3086CEX', '"X" at position 10 is not a hex digit'],
    [{ format: 'hex', kind: 'mifare' }, '04A224C2B5', 'expected 8, 14 or 20 hex characters for mifare, got 10'],
    [{ format: 'hex', kind: 'mifare' }, '04A2 4C2', '" " at position 5 is not a hex digit'],
    [{ format: 'dec32' }, '380898020', 'expected 10 decimal digits, got 9 characters'],
    [{ format: 'dec32' }, '38089802O5', '"O" at position 9 is not a decimal digit'],
    [{ format: 'dec32' }, '4294967296', '4294967296 is over 4294967295, the largest 32-bit value'],
    [{ format: 'dec32', kind: 'mifare' }, '-294967295', '"-" at position 1 is not a decimal digit'],
    [{ format: 'dec24' }, '0055217', 'expected 8 decimal digits, got 7 characters'],
    [{ format: 'dec24' }, '16777216', '16777216 is over 16777215, the largest 24-bit value'],
    [{ format: 'fc-card' }, '256,00001', 'facility 256 is over 255'],
    [{ format: 'fc-card' }, '008,65536', 'card 65536 is over 65535'],
    [{ format: 'fc-card' }, '008;27885', 'expected "FFF,CCCCC" (facility,card in decimal), got 9 characters'],
    [{ format: 'fc-card' }, '0008,27885', 'expected "FFF,CCCCC" (facility,card in decimal), got 10 characters'],
    [{ format: 'fc-card' }, ',27885', 'expected "FFF,CCCCC" (facility,card in decimal), got 6 characters'],
  ];

  it.each(cases)('%o refuses "%s"', (options, line, reason) => {
    expect(decodeLine(options, line)).toEqual([{ type: 'bad-frame', reason, bytes: Buffer.from(line, 'latin1') }]);
  });

  it('bounds an overlong line and reads the next one', () => {
    const long = Buffer.alloc(2 * MAX_PENDING_BYTES + 1, 0x37);
    const events = decodeAll(new AsciiLineDecoder(ascii({})), long, '\n62E3086CED\r\n');
    const bad = events.filter((event) => event.type === 'bad-frame');
    expect(bad.every((event) => event.bytes.length <= MAX_PENDING_BYTES)).toBe(true);
    expect(bad.reduce((sum, event) => sum + event.bytes.length, 0)).toBe(long.length);
    expect(events.at(-1)).toMatchObject({ type: 'card', read: { uid: '62E3086CED' } });
  });

  it('reports a trailing partial line at end()', () => {
    const decoder = new AsciiLineDecoder(ascii({}));
    expect(decoder.push(Buffer.from('62E30'))).toEqual([]);
    expect(decoder.end()).toEqual([{ type: 'bad-frame', reason: 'line not terminated at end of input', bytes: Buffer.from('62E30') }]);
  });
});

describe('AsciiLineDecoder chunking', () => {
  it('gives the same events for one chunk, byte-at-a-time and random chunkings', () => {
    const stream = Buffer.from('62E3086CED\r\n\r\nbad line\n0012345678\r62E3\n62E3086CED', 'latin1');
    const whole = decodeAll(new AsciiLineDecoder(ascii({})), stream);
    expect(whole.map((event) => (event.type === 'card' ? event.read.uid : event.reason))).toEqual([
      '62E3086CED',
      '" " at position 4 is not a hex digit',
      '0012345678',
      'expected 8 or 10 hex characters for em4100, got 4',
      'line not terminated at end of input',
    ]);
    expect(decodeAll(new AsciiLineDecoder(ascii({})), ...[...stream].map((byte) => Buffer.of(byte)))).toEqual(whole);
    for (let seed = 1; seed <= 20; seed += 1) {
      const random = prng(seed);
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(random() * 9);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      expect(decodeAll(new AsciiLineDecoder(ascii({})), ...chunks), `seed ${seed}`).toEqual(whole);
    }
  });
});

describe('encodeAsciiLine', () => {
  const em: CardRead = { kind: 'em4100', uid: '62E3086CED', number: '3808980205' };
  const mifare: CardRead = { kind: 'mifare', uid: '04A224C2' };

  it('prints each form with CR LF', () => {
    const printed = (read: CardRead, options: Partial<AsciiOptions>) => encodeAsciiLine(read, ascii(options)).toString('latin1');
    expect(printed(em, { format: 'hex' })).toBe('62E3086CED\r\n');
    expect(printed(em, { format: 'dec32' })).toBe('3808980205\r\n');
    expect(printed(em, { format: 'dec24' })).toBe('00552173\r\n');
    expect(printed(em, { format: 'fc-card' })).toBe('008,27885\r\n');
    expect(printed({ kind: 'wiegand26', uid: '5A0144', facility: 90, card: 324 }, { format: 'fc-card' })).toBe('090,00324\r\n');
    expect(printed(mifare, { format: 'hex', kind: 'mifare', byteOrder: 'lsb-first' })).toBe('C224A204\r\n');
    expect(printed(mifare, { format: 'dec32', kind: 'mifare', byteOrder: 'lsb-first' })).toBe('3257180676\r\n');
  });

  it('round-trips through the decoder to the same credential in every form', () => {
    const forms: Partial<AsciiOptions>[] = [
      { format: 'hex' },
      { format: 'dec32' },
      { format: 'hex', kind: 'mifare' },
      { format: 'hex', kind: 'mifare', byteOrder: 'lsb-first' },
      { format: 'dec32', kind: 'mifare' },
      { format: 'dec32', kind: 'mifare', byteOrder: 'lsb-first' },
      { format: 'dec24' },
      { format: 'fc-card' },
    ];
    const random = prng(99);
    const randomHex = (bytes: number) => Array.from({ length: bytes * 2 }, () => '0123456789ABCDEF'[Math.floor(random() * 16)]).join('');
    for (const form of forms) {
      for (let i = 0; i < 50; i += 1) {
        const options = ascii(form);
        const read: CardRead =
          options.format === 'dec24' || options.format === 'fc-card'
            ? { kind: 'wiegand26', uid: randomHex(3) }
            : { kind: options.kind, uid: options.kind === 'em4100' ? randomHex(5) : randomHex(options.format === 'dec32' ? 4 : [4, 7, 10][i % 3] ?? 4) };
        const decoded = cardsOnly(decodeAll(new AsciiLineDecoder(options), encodeAsciiLine(read, options)));
        expect(decoded.map((value) => normalizeCredential(value)), JSON.stringify({ form, read })).toEqual([normalizeCredential(read)]);
      }
    }
  });

  it('refuses cards the reader could not print, naming them', () => {
    expect(() => encodeAsciiLine(em, ascii({ format: 'hex', kind: 'mifare' }))).toThrow(/ASCII mifare reader cannot print a em4100 card/);
    expect(() => encodeAsciiLine({ kind: 'mifare', uid: '04A224C2B51C80' }, ascii({ format: 'dec32', kind: 'mifare' }))).toThrow(
      /cannot print the 7-byte mifare uid "04A224C2B51C80"/,
    );
    expect(() => encodeAsciiLine(mifare, ascii({ format: 'dec24' }))).toThrow(RangeError);
    expect(() => encodeAsciiLine({ kind: 'em4100', uid: '62E3' }, ascii({ format: 'hex' }))).toThrow(/"62E3" must be 8 or 10 hex/);
    expect(() => encodeAsciiLine({ kind: 'mifare', uid: '04A2' }, ascii({ format: 'hex', kind: 'mifare' }))).toThrow(/must be 4, 7 or 10 bytes/);
  });
});
