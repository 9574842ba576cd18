import { describe, expect, it } from 'vitest';
import { MAX_PENDING_BYTES } from '../../firmware-bridge/codec.js';
import {
  buildInListPassiveTargetResponse,
  buildPn532Command,
  buildPn532Frame,
  describeFirmware,
  getFirmwareVersionCommand,
  inListPassiveTargetCommand,
  maxRetriesCommand,
  parseFirmwareVersion,
  parseInListPassiveTarget,
  PN532_ACK,
  PN532_ERROR_FRAME,
  PN532_NACK,
  PN532_WAKE_UP,
  Pn532FrameParser,
  Pn532ResponseDecoder,
  samConfigurationCommand,
  type Pn532Item,
} from '../../firmware-bridge/codecs/pn532-frame.js';
import { parsePn532CardText } from '../../firmware-bridge/simulators/pn532-chip.js';

const bytes = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const spaced = (buffer: Buffer): string => buffer.toString('hex').toUpperCase().replace(/(..)(?=.)/g, '$1 ');

function parseAll(input: Buffer, chunkSize = input.length): Pn532Item[] {
  const parser = new Pn532FrameParser();
  const items: Pn532Item[] = [];
  for (let at = 0; at < input.length; at += chunkSize) items.push(...parser.push(input.subarray(at, at + chunkSize)));
  items.push(...parser.end());
  return items;
}

/** Chip answer to InListPassiveTarget listing one target with `uid`. */
function listResponse(uid: string, sensRes = '0004', selRes = 0x08): Buffer {
  const response = buildInListPassiveTargetResponse([{ sensRes: bytes(sensRes), selRes, uid: bytes(uid) }]);
  return buildPn532Frame(0xd5, response);
}

describe('PN532 frames: the worked examples of HARDWARE.md', () => {
  it('builds SAMConfiguration byte for byte', () => {
    expect(spaced(samConfigurationCommand())).toBe('00 00 FF 03 FD D4 14 01 17 00');
  });

  it('builds InListPassiveTarget (one target, 106 kbps type A) byte for byte', () => {
    expect(spaced(inListPassiveTargetCommand())).toBe('00 00 FF 04 FC D4 4A 01 00 E1 00');
  });

  it('has the ACK, NACK, error frame and wake-up bytes of the datasheet', () => {
    expect(spaced(PN532_ACK)).toBe('00 00 FF 00 FF 00');
    expect(spaced(PN532_NACK)).toBe('00 00 FF FF 00 00');
    expect(spaced(PN532_ERROR_FRAME)).toBe('00 00 FF 01 FF 7F 81 00');
    expect(spaced(PN532_WAKE_UP.subarray(0, 5))).toBe('55 55 00 00 00');
    expect(PN532_WAKE_UP.subarray(2).every((byte) => byte === 0)).toBe(true);
  });

  it('builds GetFirmwareVersion and RFConfiguration MaxRetries with correct checksums', () => {
    expect(spaced(getFirmwareVersionCommand())).toBe('00 00 FF 02 FE D4 02 2A 00');
    // D4 32 05 00 01 02: sum 0x10E, so DCS 0xF2.
    expect(spaced(maxRetriesCommand())).toBe('00 00 FF 06 FA D4 32 05 00 01 02 F2 00');
  });

  it('parses the worked examples back as host frames', () => {
    const items = parseAll(Buffer.concat([samConfigurationCommand(), inListPassiveTargetCommand()]));
    expect(items).toEqual([
      { type: 'data', tfi: 0xd4, data: bytes('1401'), bytes: samConfigurationCommand() },
      { type: 'data', tfi: 0xd4, data: bytes('4A0100'), bytes: inListPassiveTargetCommand() },
    ]);
  });

  it('parses the SAMConfiguration reply D5 15', () => {
    const reply = bytes('00 00 FF 02 FE D5 15 16 00');
    expect(buildPn532Frame(0xd5, bytes('15'))).toEqual(reply);
    expect(parseAll(reply)).toEqual([{ type: 'data', tfi: 0xd5, data: bytes('15'), bytes: reply }]);
  });
});

describe('PN532 frame checksums', () => {
  it('makes (LEN + LCS) and (TFI + PD + DCS) zero modulo 256 for every length', () => {
    for (let n = 0; n <= 254; n += 1) {
      const data = Buffer.alloc(n, (n * 37) & 0xff);
      const frame = buildPn532Frame(0xd5, data);
      const len = frame[3] ?? -1;
      expect(len).toBe(n + 1);
      expect((len + (frame[4] ?? 0)) & 0xff).toBe(0);
      const sum = frame.subarray(5, frame.length - 1).reduce((acc, byte) => acc + byte, 0);
      expect(sum & 0xff).toBe(0);
      expect(frame[frame.length - 1]).toBe(0x00);
    }
  });

  it('refuses a frame whose LCS is wrong and still reads the next frame', () => {
    const bad = samConfigurationCommand();
    bad[4] = 0xfe;
    const items = parseAll(Buffer.concat([bad, inListPassiveTargetCommand()]));
    expect(items[0]).toMatchObject({ type: 'bad', fault: 'length-checksum' });
    expect(items.filter((item) => item.type === 'data')).toEqual([
      { type: 'data', tfi: 0xd4, data: bytes('4A0100'), bytes: inListPassiveTargetCommand() },
    ]);
  });

  it('refuses a frame whose DCS is wrong, consuming it whole, and reads the next frame', () => {
    const bad = listResponse('04A1B2C3');
    bad[bad.length - 2] = (bad[bad.length - 2] ?? 0) ^ 0x01;
    const items = parseAll(Buffer.concat([bad, PN532_ACK]));
    expect(items).toEqual([
      { type: 'bad', fault: 'data-checksum', reason: 'data checksum mismatch', bytes: bad },
      { type: 'ack', bytes: PN532_ACK },
    ]);
  });

  it('refuses a flipped data byte (DCS no longer matches)', () => {
    const bad = listResponse('04A1B2C3');
    bad[12] = (bad[12] ?? 0) ^ 0x40;
    expect(parseAll(bad)).toEqual([{ type: 'bad', fault: 'data-checksum', reason: 'data checksum mismatch', bytes: bad }]);
  });

  it('refuses a frame without its 00 postamble', () => {
    const bad = samConfigurationCommand();
    bad[bad.length - 1] = 0x42;
    expect(parseAll(bad)).toMatchObject([{ type: 'bad', fault: 'postamble' }]);
  });

  it('refuses a frame with an unknown TFI', () => {
    expect(parseAll(buildPn532Frame(0x11, bytes('0203')))).toMatchObject([{ type: 'bad', fault: 'unknown-tfi', reason: 'unknown TFI 0x11' }]);
  });
});

describe('PN532 extended frames', () => {
  it('builds and parses an extended frame (LEN = LCS = FF, then LENM LENL LCS)', () => {
    const data = Buffer.alloc(299, 0).map((_, i) => (i * 7) & 0xff);
    const frame = buildPn532Frame(0xd5, data.subarray(0, 263));
    expect(spaced(frame.subarray(0, 8))).toBe('00 00 FF FF FF 01 08 F7');
    expect(parseAll(frame)).toEqual([{ type: 'data', tfi: 0xd5, data: data.subarray(0, 263), bytes: frame }]);
  });

  it('reads a hand-made extended frame carrying a short payload', () => {
    // LEN 0x0002 (TFI + 1 byte); LCS makes 00 + 02 + FE zero; D5 + 15 + 16 = 0x100.
    const frame = bytes('00 00 FF FF FF 00 02 FE D5 15 16 00');
    expect(parseAll(frame)).toEqual([{ type: 'data', tfi: 0xd5, data: bytes('15'), bytes: frame }]);
  });

  it('refuses an extended frame whose length checksum is wrong', () => {
    const frame = bytes('00 00 FF FF FF 00 02 FD D5 15 16 00');
    const items = parseAll(frame);
    expect(items[0]).toMatchObject({ type: 'bad', fault: 'length-checksum', reason: 'extended frame length checksum mismatch' });
    expect(items.some((item) => item.type === 'data')).toBe(false);
  });

  it('refuses an extended header claiming more than a PN532 ever sends, without waiting for it', () => {
    const items = parseAll(Buffer.concat([bytes('00 00 FF FF FF 10 00 F0'), PN532_ACK]));
    expect(items[0]).toMatchObject({ type: 'bad', fault: 'bad-length' });
    expect(items.filter((item) => item.type === 'ack')).toHaveLength(1);
  });

  it('will not build a frame longer than an extended frame carries', () => {
    expect(() => buildPn532Frame(0xd4, Buffer.alloc(400))).toThrow(RangeError);
  });
});

describe('PN532 ACK, NACK and error frames', () => {
  it('tells them apart from each other and from data frames', () => {
    const input = Buffer.concat([PN532_ACK, PN532_NACK, PN532_ERROR_FRAME, listResponse('04A1B2C3')]);
    expect(parseAll(input).map((item) => item.type)).toEqual(['ack', 'nack', 'error-frame', 'data']);
  });

  it('reads an ACK whose preamble byte was lost', () => {
    expect(parseAll(bytes('00 FF 00 FF 00'))).toEqual([{ type: 'ack', bytes: bytes('00 FF 00 FF 00') }]);
  });

  it('refuses an ACK without postamble (its "00 FF" LEN/LCS then looks like a start code)', () => {
    expect(parseAll(bytes('00 00 FF 00 FF 33'))).toMatchObject([{ type: 'bad', fault: 'postamble' }, { type: 'bad', fault: 'truncated' }]);
  });
});

describe('PN532 streaming', () => {
  const stream = Buffer.concat([
    PN532_ACK,
    listResponse('04A1B2C3'),
    PN532_ACK,
    listResponse('04112233445566', '0044', 0x00),
    PN532_ACK,
    buildPn532Frame(0xd5, bytes('4B00')),
  ]);

  it('gives the same frames whatever the chunking, down to single bytes', () => {
    const whole = parseAll(stream);
    expect(whole.map((item) => item.type)).toEqual(['ack', 'data', 'ack', 'data', 'ack', 'data']);
    for (const size of [1, 2, 3, 5, 7, 11, 64]) expect(parseAll(stream, size)).toEqual(whole);
  });

  it('reports garbage before a frame as one bad item and resynchronises on the next start code', () => {
    const garbage = bytes('DE AD BE EF 12 34');
    const items = parseAll(Buffer.concat([garbage, stream]), 3);
    expect(items[0]).toEqual({ type: 'bad', fault: 'garbage', reason: '6 bytes outside any frame', bytes: garbage });
    expect(items.slice(1).map((item) => item.type)).toEqual(['ack', 'data', 'ack', 'data', 'ack', 'data']);
  });

  it('treats runs of 00 between frames as idle line, not garbage', () => {
    const items = parseAll(Buffer.concat([Buffer.alloc(40), PN532_ACK, Buffer.alloc(3), PN532_ACK, Buffer.alloc(9)]), 4);
    expect(items.map((item) => item.type)).toEqual(['ack', 'ack']);
  });

  it('bounds its buffer: a long run without a start code is flushed as garbage, frames after it still parse', () => {
    const parser = new Pn532FrameParser();
    const junk = Buffer.alloc(5000, 0x5a);
    const items: Pn532Item[] = [];
    for (let at = 0; at < junk.length; at += 100) items.push(...parser.push(junk.subarray(at, at + 100)));
    const reported = items.reduce((sum, item) => sum + (item.type === 'bad' ? item.bytes.length : 0), 0);
    expect(reported).toBeGreaterThan(5000 - MAX_PENDING_BYTES - 100);
    for (const item of items) expect(item.bytes.length).toBeLessThanOrEqual(MAX_PENDING_BYTES + 100);
    const after = parser.push(PN532_ACK);
    expect(after.map((item) => item.type)).toEqual(['bad', 'ack']);
  });

  it('reports a frame cut off by the end of input as truncated', () => {
    const cut = listResponse('04A1B2C3').subarray(0, 9);
    expect(parseAll(cut)).toEqual([{ type: 'bad', fault: 'truncated', reason: 'input ended inside a frame', bytes: cut }]);
  });

  it('forgets a partial frame on reset()', () => {
    const parser = new Pn532FrameParser();
    const frame = listResponse('04A1B2C3');
    parser.push(frame.subarray(0, 8));
    parser.reset();
    expect(parser.push(frame)).toEqual([{ type: 'data', tfi: 0xd5, data: frame.subarray(6, -2), bytes: frame }]);
    expect(parser.end()).toEqual([]);
  });

  it('does not alias the caller\u2019s chunk buffer', () => {
    const parser = new Pn532FrameParser();
    const frame = listResponse('04A1B2C3');
    const chunk = Buffer.from(frame.subarray(0, 10));
    parser.push(chunk);
    chunk.fill(0xee);
    expect(parser.push(frame.subarray(10))).toEqual([{ type: 'data', tfi: 0xd5, data: frame.subarray(6, -2), bytes: frame }]);
  });
});

describe('InListPassiveTarget responses', () => {
  it('reads a 4-byte UID', () => {
    const parsed = parseInListPassiveTarget(bytes('4B 01 01 00 04 08 04 A1 B2 C3 D4'));
    expect(parsed).toEqual({ ok: true, value: [{ tg: 1, sensRes: bytes('0004'), selRes: 0x08, uid: bytes('A1B2C3D4') }] });
  });

  it('reads a 7-byte UID using NFCIDLen, not a fixed 4', () => {
    const parsed = parseInListPassiveTarget(bytes('4B 01 01 00 44 00 07 04 11 22 33 44 55 66'));
    expect(parsed.ok && parsed.value[0]?.uid).toEqual(bytes('04112233445566'));
  });

  it('reads a 10-byte UID', () => {
    const parsed = parseInListPassiveTarget(bytes('4B 01 01 00 84 00 0A 01 02 03 04 05 06 07 08 09 0A'));
    expect(parsed.ok && parsed.value[0]?.uid).toEqual(bytes('0102030405060708090A'));
  });

  it('reads the ATS an ISO 14443-4 card (SEL_RES 0x20) adds after its UID', () => {
    const parsed = parseInListPassiveTarget(bytes('4B 01 01 03 44 20 07 04 11 22 33 44 55 66 06 75 77 81 02 80'));
    expect(parsed).toEqual({
      ok: true,
      value: [{ tg: 1, sensRes: bytes('0344'), selRes: 0x20, uid: bytes('04112233445566'), ats: bytes('067577810280') }],
    });
  });

  it('reads two targets', () => {
    const parsed = parseInListPassiveTarget(bytes('4B 02 01 00 04 08 04 A1 B2 C3 D4 02 00 44 00 07 04 11 22 33 44 55 66'));
    expect(parsed.ok && parsed.value.map((target) => target.uid.toString('hex'))).toEqual(['a1b2c3d4', '04112233445566']);
  });

  it('reads NbTg 0 as no target', () => {
    expect(parseInListPassiveTarget(bytes('4B 00'))).toEqual({ ok: true, value: [] });
  });

  it.each([
    ['NFCIDLen longer than the bytes present', '4B 01 01 00 44 00 07 04 11 22 33', /only 4 bytes follow/],
    ['NFCIDLen shorter than the bytes present', '4B 01 01 00 04 08 04 A1 B2 C3 D4 E5 F6 07', /3 unexpected trailing bytes/],
    ['NFCIDLen that no ISO 14443 A card has', '4B 01 01 00 04 08 05 A1 B2 C3 D4 E5', /NFCIDLen 5 is not 4, 7 or 10/],
    ['NFCIDLen zero', '4B 01 01 00 04 08 00', /NFCIDLen 0/],
    ['a target cut inside its header', '4B 01 01 00 04', /cut short/],
    ['NbTg promising a second target that is absent', '4B 02 01 00 04 08 04 A1 B2 C3 D4', /target 2 is cut short/],
    ['NbTg above 2', '4B 03', /NbTg 3 is more than 2/],
    ['no NbTg at all', '4B', /no NbTg/],
    ['an ATS longer than the bytes left', '4B 01 01 03 44 20 07 04 11 22 33 44 55 66 09 75 77', /ATS length 9/],
    ['another response code', '03 32 01 06 07', /not an InListPassiveTarget response/],
  ])('refuses %s', (_what, payload, reason) => {
    const parsed = parseInListPassiveTarget(bytes(payload));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});

describe('GetFirmwareVersion responses', () => {
  it('reads IC, version, revision and support, and names the chip', () => {
    const parsed = parseFirmwareVersion(bytes('03 32 01 06 07'));
    expect(parsed).toEqual({ ok: true, value: { ic: 0x32, ver: 1, rev: 6, support: 7 } });
    if (parsed.ok) expect(describeFirmware(parsed.value)).toBe('PN532 v1.6');
  });

  it('refuses a short answer or another response', () => {
    expect(parseFirmwareVersion(bytes('03 32 01'))).toEqual({ ok: false, reason: 'GetFirmwareVersion response has 2 bytes, expected 4' });
    expect(parseFirmwareVersion(bytes('15'))).toMatchObject({ ok: false });
  });
});

describe('Pn532ResponseDecoder (punchgate decode --protocol pn532)', () => {
  it('reports the card of each InListPassiveTarget response, with its frame', () => {
    const four = listResponse('04A1B2C3');
    const seven = listResponse('04112233445566', '0044', 0x00);
    const ten = listResponse('0102030405060708090A', '0084', 0x00);
    const decoder = new Pn532ResponseDecoder();
    const events = [...decoder.push(Buffer.concat([PN532_ACK, four, PN532_ACK, seven, PN532_ACK, ten])), ...decoder.end()];
    expect(events).toEqual([
      { type: 'card', read: { kind: 'mifare', uid: '04A1B2C3' }, frame: four },
      { type: 'card', read: { kind: 'mifare', uid: '04112233445566' }, frame: seven },
      { type: 'card', read: { kind: 'mifare', uid: '0102030405060708090A' }, frame: ten },
    ]);
  });

  it('ignores ACKs, error frames, NbTg 0 and other well-formed responses', () => {
    const decoder = new Pn532ResponseDecoder();
    const input = Buffer.concat([
      PN532_ACK,
      buildPn532Frame(0xd5, bytes('15')),
      buildPn532Frame(0xd5, bytes('0332010607')),
      buildPn532Frame(0xd5, bytes('4B00')),
      PN532_ERROR_FRAME,
      buildPn532Command(0x4a, [0x01, 0x00]),
    ]);
    expect([...decoder.push(input), ...decoder.end()]).toEqual([]);
  });

  it('reports frames with a bad LCS or DCS as bad frames and reads the card after them', () => {
    const badLcs = listResponse('04A1B2C3');
    badLcs[4] = 0x00;
    const badDcs = listResponse('04A1B2C3');
    badDcs[badDcs.length - 2] = 0x00;
    const good = listResponse('04DEADBE');
    const decoder = new Pn532ResponseDecoder();
    const events = [...decoder.push(Buffer.concat([badLcs, badDcs, good])), ...decoder.end()];
    expect(events.filter((event) => event.type === 'card')).toEqual([{ type: 'card', read: { kind: 'mifare', uid: '04DEADBE' }, frame: good }]);
    const reasons = events.flatMap((event) => (event.type === 'bad-frame' ? [event.reason] : []));
    expect(reasons).toContain('length checksum mismatch');
    expect(reasons).toContain('data checksum mismatch');
  });

  it('reports a well-framed response with inconsistent lengths as a bad frame, not a card', () => {
    const frame = buildPn532Frame(0xd5, bytes('4B 01 01 00 44 00 07 04 11 22 33'));
    const decoder = new Pn532ResponseDecoder();
    expect(decoder.push(frame)).toEqual([{ type: 'bad-frame', reason: 'target 1 NFCIDLen 7 but only 4 bytes follow', bytes: frame }]);
  });

  it('reports a trailing partial frame at end()', () => {
    const decoder = new Pn532ResponseDecoder();
    expect(decoder.push(listResponse('04A1B2C3').subarray(0, 7))).toEqual([]);
    expect(decoder.end()).toMatchObject([{ type: 'bad-frame', reason: 'input ended inside a frame' }]);
    expect(decoder.end()).toEqual([]);
  });
});

describe('parsePn532CardText (simulate --card)', () => {
  it.each([
    ['04A1B2C3', '04A1B2C3'],
    ['04:a1:b2:c3', '04A1B2C3'],
    ['04 A1 B2 C3', '04A1B2C3'],
    ['  04112233445566 ', '04112233445566'],
    ['01:02:03:04:05:06:07:08:09:0a', '0102030405060708090A'],
  ])('reads %j', (text, uid) => {
    expect(parsePn532CardText(text)).toEqual({ kind: 'mifare', uid });
  });

  it.each([
    ['', /not hex/],
    ['04A1B2', /3 bytes; a MIFARE UID is 4, 7 or 10 bytes/],
    ['04A1B2C3D', /odd number/],
    ['04A1B2CG', /not hex/],
    ['04:A1::B2:C3', /"" is not one byte/],
    ['4:A1:B2:C3', /"4" is not one byte/],
    ['04-A1-B2-C3', /not hex/],
  ])('refuses %j', (text, reason) => {
    expect(() => parsePn532CardText(text)).toThrow(reason);
  });
});
