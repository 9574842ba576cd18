import { describe, expect, it } from 'vitest';
import { normalizeCredential, type CardRead } from '../../core/credential.js';
import type { StreamDecoder } from '../../firmware-bridge/codec.js';
import { AsciiLineDecoder } from '../../firmware-bridge/codecs/ascii-line.js';
import { parseCardText, type CardTextOptions } from '../../firmware-bridge/codecs/card-text.js';
import { Em4100Decoder } from '../../firmware-bridge/codecs/em4100.js';
import { WiegandDecoder } from '../../firmware-bridge/codecs/wiegand.js';
import { AsciiOptions, WiegandOptions } from '../../firmware-bridge/reader-protocols.js';
import { encodePassiveFrame, type PassiveProtocol } from '../../firmware-bridge/simulators/passive-reader-sim.js';

const example: CardRead = { kind: 'em4100', uid: '62E3086CED', number: '3808980205' };
const versionZero: CardRead = { kind: 'em4100', uid: '00E3086CED', number: '3808980205' };

describe('parseCardText for EM4100 readers', () => {
  it.each(['rdm6300', 'em18'] as const)('%s takes 10 hex, 8 hex, the printed number, or 0x-prefixed hex', (protocol) => {
    expect(parseCardText(protocol, '62E3086CED')).toEqual(example);
    expect(parseCardText(protocol, '62e3086ced')).toEqual(example);
    expect(parseCardText(protocol, '  62E3086CED\n')).toEqual(example);
    expect(parseCardText(protocol, 'E3086CED')).toEqual(versionZero);
    expect(parseCardText(protocol, '3808980205')).toEqual(versionZero);
    expect(parseCardText(protocol, '0000000042')).toEqual({ kind: 'em4100', uid: '000000002A', number: '0000000042' });
    // Ten digits are the printed number unless marked as hex.
    expect(parseCardText(protocol, '0x1234567890')).toEqual({ kind: 'em4100', uid: '1234567890', number: '0878082192' });
  });

  it('refuses anything else with a message naming the text', () => {
    expect(() => parseCardText('rdm6300', '62E3086CE')).toThrow(/card "62E3086CE" is not an EM4100 id/);
    expect(() => parseCardText('rdm6300', 'hello')).toThrow(/card "hello" is not an EM4100 id/);
    expect(() => parseCardText('em18', '')).toThrow(/card "" is not an EM4100 id/);
    expect(() => parseCardText('em18', '4294967296')).toThrow(/card "4294967296" is over 4294967295/);
    expect(() => parseCardText('em18', '0x12345')).toThrow(/card "0x12345"/);
  });
});

describe('parseCardText for Wiegand readers', () => {
  it('takes FC:CN or FC,CN, sized by the bits option', () => {
    const w26: CardRead = { kind: 'wiegand26', uid: '5A0144', facility: 90, card: 324 };
    expect(parseCardText('wiegand', '90:324')).toEqual(w26);
    expect(parseCardText('wiegand', '90,324', { wiegand: WiegandOptions.parse({ bits: 26 }) })).toEqual(w26);
    expect(parseCardText('wiegand', '4660:56789', { wiegand: WiegandOptions.parse({ bits: 34 }) })).toEqual({
      kind: 'wiegand34',
      uid: '1234DDD5',
      facility: 4660,
      card: 56789,
    });
  });

  it('refuses out-of-range fields and other shapes, naming the text', () => {
    expect(() => parseCardText('wiegand', '256:1')).toThrow(/card "256:1": facility 256 is over 255 for 26-bit Wiegand/);
    expect(() => parseCardText('wiegand', '65536:1', { wiegand: WiegandOptions.parse({ bits: 34 }) })).toThrow(/over 65535 for 34-bit/);
    expect(() => parseCardText('wiegand', '1:65536')).toThrow(/card "1:65536": card number 65536 is over 65535/);
    expect(() => parseCardText('wiegand', '90-324')).toThrow(/card "90-324" is not a Wiegand card: give FC:CN or FC,CN/);
    expect(() => parseCardText('wiegand', '62E3086CED')).toThrow(/card "62E3086CED"/);
  });
});

describe('parseCardText for ASCII readers', () => {
  it('follows the reader options', () => {
    expect(parseCardText('ascii', '62E3086CED')).toEqual(example);
    expect(parseCardText('ascii', '3808980205', { ascii: AsciiOptions.parse({ format: 'dec32' }) })).toEqual(versionZero);
    const mifareHex = { ascii: AsciiOptions.parse({ kind: 'mifare' }) };
    expect(parseCardText('ascii', '04:a2:24:c2', mifareHex)).toEqual({ kind: 'mifare', uid: '04A224C2' });
    expect(parseCardText('ascii', '04A224C2B51C80', mifareHex)).toEqual({ kind: 'mifare', uid: '04A224C2B51C80' });
    const dec24 = { ascii: AsciiOptions.parse({ format: 'dec24' }) };
    expect(parseCardText('ascii', '8:27885', dec24)).toEqual({ kind: 'wiegand26', uid: '086CED', facility: 8, card: 27885 });
    expect(parseCardText('ascii', '62E3086CED', dec24)).toEqual(example);
  });

  it('refuses what the configured reader could not print', () => {
    const mifareDec32 = { ascii: AsciiOptions.parse({ format: 'dec32', kind: 'mifare' }) };
    expect(() => parseCardText('ascii', '04A224C2B51C80', mifareDec32)).toThrow(/card "04A224C2B51C80" is not a MIFARE UID: give 4 bytes/);
    expect(() => parseCardText('ascii', '04A224', { ascii: AsciiOptions.parse({ kind: 'mifare' }) })).toThrow(/give 4, 7 or 10 bytes/);
    expect(() => parseCardText('ascii', 'x', { ascii: AsciiOptions.parse({ format: 'fc-card' }) })).toThrow(/card "x" .*or FC:CN/);
  });
});

describe('typed cards go through the simulator encoding and the decoder to the same credential', () => {
  const cases: { protocol: PassiveProtocol; text: string; options: CardTextOptions; decoder: () => StreamDecoder }[] = [
    { protocol: 'rdm6300', text: '3808980205', options: {}, decoder: () => new Em4100Decoder({ framing: 'stx-etx' }) },
    { protocol: 'em18', text: '62E3086CED', options: {}, decoder: () => new Em4100Decoder({ framing: 'bare' }) },
    ...(['bits', 'hex', 'decimal'] as const).flatMap((output) =>
      ([26, 34] as const).map((bits) => {
        const wiegand = WiegandOptions.parse({ bits, output });
        return { protocol: 'wiegand' as const, text: '90,324', options: { wiegand }, decoder: () => new WiegandDecoder(wiegand) };
      }),
    ),
    ...(
      [
        ['E3086CED', {}],
        ['3808980205', { format: 'dec32' }],
        ['04A224C2B51C80', { kind: 'mifare', byteOrder: 'lsb-first' }],
        ['04A224C2', { format: 'dec32', kind: 'mifare', byteOrder: 'lsb-first' }],
        ['8:27885', { format: 'dec24' }],
        ['90,324', { format: 'fc-card' }],
      ] as const
    ).map(([text, input]) => {
      const ascii = AsciiOptions.parse(input);
      return { protocol: 'ascii' as const, text, options: { ascii }, decoder: () => new AsciiLineDecoder(ascii) };
    }),
  ];

  it.each(cases)('$protocol $text $options', ({ protocol, text, options, decoder }) => {
    const card = parseCardText(protocol, text, options);
    const stream = decoder();
    const events = [...stream.push(encodePassiveFrame(protocol, card, options)), ...stream.end()];
    expect(events).toHaveLength(1);
    const event = events[0];
    if (event?.type !== 'card') throw new Error(`not decoded: ${JSON.stringify(event)}`);
    expect(normalizeCredential(event.read)).toEqual(normalizeCredential(card));
  });
});
