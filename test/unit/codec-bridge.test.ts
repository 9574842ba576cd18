import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BRIDGE_MAX_FRAME_BYTES,
  BridgeFrameParser,
  BridgeStreamDecoder,
  RecentSeqs,
  cardReadFromBytes,
  decodeBridgeFrame,
  encodeBridgeFrame,
  fitFeedbackText,
  type BridgeMessage,
  type BridgeParseEvent,
} from '../../firmware-bridge/codecs/bridge-frame.js';
import { cobsDecode, cobsEncode } from '../../firmware-bridge/codecs/cobs.js';
import { parseBridgeCardText } from '../../firmware-bridge/simulators/bridge-device.js';

const doc = readFileSync(new URL('../../docs/bridge-protocol.md', import.meta.url), 'utf8');
const bytes = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const spaced = (buffer: Buffer): string => buffer.toString('hex').toUpperCase().match(/../g)?.join(' ') ?? '';

/** A wire frame around any body, with a correct CRC: for bodies our encoder refuses to make. */
function frameOf(body: Buffer): Buffer {
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(body));
  return Buffer.concat([cobsEncode(Buffer.concat([body, crc])), Buffer.from([0])]);
}

function parseAll(input: Buffer): BridgeParseEvent[] {
  const parser = new BridgeFrameParser();
  return [...parser.push(input), ...parser.end()];
}

function messagesOf(events: BridgeParseEvent[]): BridgeMessage[] {
  return events.flatMap((event) => (event.type === 'message' ? [event.message] : []));
}

function only(events: BridgeParseEvent[]): BridgeParseEvent {
  expect(events).toHaveLength(1);
  return events[0] as BridgeParseEvent;
}

const allMessages: BridgeMessage[] = [
  { type: 'ack', ackSeq: 0 },
  { type: 'ack', ackSeq: 0xffff },
  { type: 'nack', refusedSeq: 513, refusedType: 0x7e, reason: 'unsupported-version' },
  { type: 'nack', refusedSeq: 1, refusedType: 0x7e, reason: 'unsupported-type' },
  { type: 'nack', refusedSeq: 2, refusedType: 0x20, reason: 'malformed' },
  { type: 'nack', refusedSeq: 3, refusedType: 0x30, reason: 'unsupported-value' },
  { type: 'nack', refusedSeq: 4, refusedType: 0x30, reason: 'other' },
  { type: 'heartbeat', uptimeMs: 0 },
  { type: 'heartbeat', uptimeMs: 0xffffffff },
  { type: 'hello-request', seq: 0, newSession: true },
  { type: 'hello-request', seq: 65535, newSession: false },
  {
    type: 'hello',
    seq: 7,
    boot: true,
    firmwareName: 'pg-esp32',
    firmwareVersion: '1.0.0',
    capabilities: { beeper: true, leds: true, display: true, tamperSwitch: true },
    displayWidth: 16,
  },
  {
    type: 'hello',
    seq: 8,
    boot: false,
    firmwareName: 'x',
    firmwareVersion: '',
    capabilities: { beeper: false, leds: true, display: false, tamperSwitch: false },
    displayWidth: 0,
  },
  {
    type: 'hello',
    seq: 9,
    boot: false,
    firmwareName: 'n'.repeat(32),
    firmwareVersion: 'Ünïcødé-✓-版本'.padEnd(20, 'v'),
    capabilities: { beeper: true, leds: false, display: true, tamperSwitch: false },
    displayWidth: 255,
  },
  { type: 'card-read', seq: 1, read: { kind: 'mifare', uid: '04A1B2C3' }, readAtMs: 0 },
  { type: 'card-read', seq: 2, read: { kind: 'mifare', uid: '04A1B2C3D4E5F6' }, readAtMs: 12345 },
  { type: 'card-read', seq: 3, read: { kind: 'mifare', uid: '04A1B2C3D4E5F60718FF' }, readAtMs: 0xffffffff },
  { type: 'card-read', seq: 4, read: { kind: 'em4100', uid: '62E3086CED', number: '3808980205' }, readAtMs: 99 },
  { type: 'card-read', seq: 5, read: { kind: 'em4100', uid: 'E3086CED', number: '3808980205' }, readAtMs: 99 },
  { type: 'card-read', seq: 6, read: { kind: 'wiegand26', uid: '5A0144', facility: 90, card: 324 }, readAtMs: 1 },
  { type: 'card-read', seq: 7, read: { kind: 'wiegand34', uid: '01F40144', facility: 500, card: 324 }, readAtMs: 1 },
  { type: 'tamper', seq: 10, active: true },
  { type: 'tamper', seq: 11, active: false },
  { type: 'feedback', seq: 12, feedback: { kind: 'accepted', text: 'IN 08:59 Ada' } },
  { type: 'feedback', seq: 13, feedback: { kind: 'unknown' } },
  { type: 'feedback', seq: 14, feedback: { kind: 'revoked', text: 'x'.repeat(32) } },
  { type: 'feedback', seq: 15, feedback: { kind: 'duplicate', text: '陳大文 已打卡' } },
  { type: 'feedback', seq: 16, feedback: { kind: 'error', text: 'Error - tap again' } },
  { type: 'feedback', seq: 17, feedback: { kind: 'identify' } },
];

describe('bridge frame: worked examples of docs/bridge-protocol.md', () => {
  it('CRC-32 is the zlib one, with the check value the doc gives', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(doc).toContain('0xCBF43926');
  });

  it('encodes the card read example byte for byte', () => {
    const wire = '04 01 20 01 0C 02 07 04 A1 B2 C3 D4 E5 F6 39 30 01 05 2C 26 88 E7 00';
    const frame = encodeBridgeFrame({ type: 'card-read', seq: 1, read: { kind: 'mifare', uid: '04A1B2C3D4E5F6' }, readAtMs: 12345 });
    expect(spaced(frame)).toBe(wire);
    expect(doc).toContain(wire);
    expect(crc32(bytes('01 20 01 00 02 07 04 A1 B2 C3 D4 E5 F6 39 30 00 00'))).toBe(0xe788262c);
    expect(doc).toContain('0xE788262C');
    expect(messagesOf(parseAll(bytes(wire)))).toEqual([
      { type: 'card-read', seq: 1, read: { kind: 'mifare', uid: '04A1B2C3D4E5F6' }, readAtMs: 12345 },
    ]);
  });

  it('encodes the feedback example byte for byte', () => {
    const wire = '04 01 30 02 13 01 0C 49 4E 20 30 38 3A 35 39 20 41 64 61 D6 9A C5 31 00';
    const frame = encodeBridgeFrame({ type: 'feedback', seq: 2, feedback: { kind: 'accepted', text: 'IN 08:59 Ada' } });
    expect(spaced(frame)).toBe(wire);
    expect(doc).toContain(wire);
    expect(crc32(bytes('01 30 02 00 01 0C 49 4E 20 30 38 3A 35 39 20 41 64 61'))).toBe(0x31c59ad6);
    expect(doc).toContain('0x31C59AD6');
  });

  it.each([
    ['ack of seq 1', { type: 'ack', ackSeq: 1 }, '03 01 01 01 02 01 05 F7 6A E5 5E 00'],
    ['ack of seq 2', { type: 'ack', ackSeq: 2 }, '03 01 01 01 02 02 05 34 39 C8 75 00'],
    ['heartbeat', { type: 'heartbeat', uptimeMs: 1000 }, '03 01 03 01 03 E8 03 01 05 E4 12 ED 89 00'],
    ['hello request', { type: 'hello-request', seq: 0x1234, newSession: true }, '0A 01 10 34 12 01 3B 84 CA 87 00'],
    [
      'hello',
      {
        type: 'hello',
        seq: 0,
        boot: true,
        firmwareName: 'pg-esp32',
        firmwareVersion: '1.0.0',
        capabilities: { beeper: true, leds: true, display: true, tamperSwitch: true },
        displayWidth: 16,
      },
      '03 01 11 01 17 01 0F 10 08 70 67 2D 65 73 70 33 32 05 31 2E 30 2E 30 63 A5 04 09 00',
    ],
  ] satisfies Array<[string, BridgeMessage, string]>)('encodes the %s test vector as documented', (_name, message, wire) => {
    expect(spaced(encodeBridgeFrame(message))).toBe(wire);
    expect(doc).toContain(wire);
    expect(messagesOf(parseAll(bytes(wire)))).toEqual([message]);
  });
});

describe('bridge frame: encoding and decoding', () => {
  it.each(allMessages.map((message) => [message.type, message] as const))('round-trips a %s message', (_type, message) => {
    const frame = encodeBridgeFrame(message);
    expect(frame.at(-1)).toBe(0);
    expect(frame.subarray(0, -1).includes(0)).toBe(false);
    expect(frame.length).toBeLessThanOrEqual(BRIDGE_MAX_FRAME_BYTES);
    const event = only(parseAll(frame));
    expect(event).toEqual({ type: 'message', message, bytes: frame.subarray(0, -1) });
  });

  it('derives the printed forms of a card read from its uid bytes', () => {
    expect(cardReadFromBytes('em4100', bytes('62E3086CED'))).toEqual({ kind: 'em4100', uid: '62E3086CED', number: '3808980205' });
    expect(cardReadFromBytes('wiegand26', bytes('5A0144'))).toEqual({ kind: 'wiegand26', uid: '5A0144', facility: 90, card: 324 });
    expect(cardReadFromBytes('wiegand34', bytes('01F40144'))).toEqual({ kind: 'wiegand34', uid: '01F40144', facility: 500, card: 324 });
    expect(() => cardReadFromBytes('mifare', bytes('0102030405'))).toThrow('mifare uid must be 4 or 7 or 10 bytes, got 5');
  });

  it('sends seq 0 in unreliable frames', () => {
    for (const message of allMessages.filter((m) => !('seq' in m))) {
      const body = cobsDecode(encodeBridgeFrame(message).subarray(0, -1));
      expect(body.ok && body.data.readUInt16LE(2)).toBe(0);
    }
  });

  it.each<[string, BridgeMessage, RegExp]>([
    ['a seq over 16 bits', { type: 'tamper', seq: 65536, active: true }, /seq must be an integer 0..65535/],
    ['a negative seq', { type: 'tamper', seq: -1, active: true }, /seq must be an integer/],
    ['text over 32 bytes', { type: 'feedback', seq: 1, feedback: { kind: 'accepted', text: 'é'.repeat(17) } }, /0..32 bytes of UTF-8, got 34/],
    ['text with a newline', { type: 'feedback', seq: 1, feedback: { kind: 'accepted', text: 'a\nb' } }, /one line/],
    ['an empty firmware name', { type: 'hello', seq: 1, boot: false, firmwareName: '', firmwareVersion: '1', capabilities: { beeper: true, leds: true, display: false, tamperSwitch: false }, displayWidth: 0 }, /firmwareName must be 1..32/],
    ['a kind the bridge does not carry', { type: 'card-read', seq: 1, read: { kind: 'ble-tag', uid: '0102' }, readAtMs: 0 }, /ble-tag has no bridge code/],
    ['a uid of the wrong length', { type: 'card-read', seq: 1, read: { kind: 'wiegand26', uid: '0102' }, readAtMs: 0 }, /wiegand26 uid must be 3 bytes/],
    ['a uid that is not hex', { type: 'card-read', seq: 1, read: { kind: 'mifare', uid: '04A1B2CZ' }, readAtMs: 0 }, /not whole bytes of hex/],
    ['an uptime over 32 bits', { type: 'heartbeat', uptimeMs: 2 ** 32 }, /uptimeMs must be an integer/],
  ])('refuses to encode %s', (_name, message, error) => {
    expect(() => encodeBridgeFrame(message)).toThrow(error);
  });

  it('fits feedback text: controls become spaces, cut at 32 bytes on a character boundary', () => {
    expect(fitFeedbackText('IN\t08:59\r\nAda')).toBe('IN 08:59  Ada');
    expect(fitFeedbackText('é'.repeat(20))).toBe('é'.repeat(16));
    expect(fitFeedbackText('日本語'.repeat(5))).toBe('日本語日本語日本語日');
    expect(Buffer.byteLength(fitFeedbackText('a😀'.repeat(10)))).toBeLessThanOrEqual(32);
    expect(fitFeedbackText('a😀'.repeat(10))).toBe('a😀'.repeat(6) + 'a');
    expect(fitFeedbackText('')).toBe('');
  });
});

describe('bridge frame: refused input', () => {
  const cardBody = bytes('01 20 01 00 02 07 04 A1 B2 C3 D4 E5 F6 39 30 00 00');

  it('reports a CRC mismatch without a refusal (the seq cannot be trusted)', () => {
    const corrupted = Buffer.from(cardBody);
    corrupted[8] = 0x55;
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(cardBody));
    const wire = Buffer.concat([cobsEncode(Buffer.concat([corrupted, crc])), Buffer.from([0])]);
    const event = only(parseAll(wire));
    expect(event.type).toBe('bad-frame');
    if (event.type !== 'bad-frame') return;
    expect(event.reason).toBe('CRC mismatch: frame says e788262c, bytes give ' + crc32(corrupted).toString(16).padStart(8, '0'));
    expect(event.refusal).toBeUndefined();
    expect(event.bytes).toEqual(wire.subarray(0, -1));
  });

  it('reports a COBS error', () => {
    const event = only(parseAll(bytes('09 01 20 01 00')));
    expect(event).toMatchObject({ type: 'bad-frame', reason: 'COBS: block at offset 0 runs past the end of the frame', bytes: bytes('09 01 20 01') });
  });

  it('reports a frame shorter than header and CRC', () => {
    const event = only(parseAll(Buffer.concat([cobsEncode(bytes('01 03 00 00 00 00 00')), Buffer.from([0])])));
    expect(event).toMatchObject({ type: 'bad-frame', reason: 'too short: 7 bytes after COBS, at least 8 needed' });
  });

  it('refuses an unknown version with a NACK naming seq and type, but never refuses an ACK or NACK', () => {
    expect(only(parseAll(frameOf(bytes('02 30 05 01 01 00'))))).toMatchObject({
      type: 'bad-frame',
      reason: 'unsupported protocol version 2',
      refusal: { refusedSeq: 0x0105, refusedType: 0x30, reason: 'unsupported-version' },
    });
    const ack = only(parseAll(frameOf(bytes('02 01 00 00 05 00'))));
    expect(ack).toMatchObject({ type: 'bad-frame', reason: 'unsupported protocol version 2' });
    expect(ack.type === 'bad-frame' && ack.refusal).toBeUndefined();
  });

  it('refuses an unknown message type as unsupported, not as an error', () => {
    expect(only(parseAll(frameOf(bytes('01 7E 09 00 AA BB'))))).toMatchObject({
      type: 'bad-frame',
      reason: 'unsupported message type 0x7e',
      refusal: { refusedSeq: 9, refusedType: 0x7e, reason: 'unsupported-type' },
    });
  });

  it.each([
    ['card read without its read time', '01 20 03 00 02 04 04 A1 B2 C3', 'malformed', /read time needs 4 byte\(s\) at offset 6, payload has 6/],
    ['uid length past the payload', '01 20 03 00 02 0A 04 A1 B2 C3 00 00 00 00', 'malformed', /uid needs 10 byte\(s\)/],
    ['mifare uid of 5 bytes', '01 20 03 00 02 05 04 A1 B2 C3 D4 00 00 00 00', 'malformed', /mifare uid must be 4 or 7 or 10 bytes, got 5/],
    ['unknown credential kind', '01 20 03 00 09 04 04 A1 B2 C3 00 00 00 00', 'unsupported-value', /unknown credential kind code 0x09/],
    ['feedback text longer than 32', `01 30 03 00 01 21 ${'41 '.repeat(33)}`, 'malformed', /text length 33 is outside 0..32/],
    ['feedback text of invalid UTF-8', '01 30 03 00 01 02 C3 28', 'malformed', /text is not valid UTF-8/],
    ['feedback text with a control character', '01 30 03 00 01 03 41 1B 42', 'malformed', /text contains control characters/],
    ['unknown feedback pattern', '01 30 03 00 07 00', 'unsupported-value', /unknown pattern code 7/],
    ['pattern 0', '01 30 03 00 00 00', 'unsupported-value', /unknown pattern code 0/],
    ['tamper state 2', '01 21 03 00 02', 'unsupported-value', /tamper: state must be 0 or 1, got 2/],
    ['empty hello', '01 11 03 00', 'malformed', /hello: flags needs 1 byte/],
    ['hello with an empty name', '01 11 03 00 00 00 00 00 00', 'malformed', /firmware name length 0 is outside 1..32/],
    ['ack without its seq', '01 01 00 00 01', undefined, /ack: acked seq needs 2 byte\(s\)/],
  ])('refuses a %s', (_name, body, reason, message) => {
    const event = only(parseAll(frameOf(bytes(body))));
    expect(event.type).toBe('bad-frame');
    if (event.type !== 'bad-frame') return;
    expect(event.reason).toMatch(message);
    expect(event.refusal?.reason).toBe(reason);
    if (reason) expect(event.refusal).toMatchObject({ refusedSeq: bytes(body).readUInt16LE(2), refusedType: bytes(body)[1] });
  });

  it('ignores bytes appended after the known fields (a later revision may add fields)', () => {
    const body = Buffer.concat([cardBody, bytes('AA BB CC')]);
    expect(messagesOf(parseAll(frameOf(body)))).toEqual([
      { type: 'card-read', seq: 1, read: { kind: 'mifare', uid: '04A1B2C3D4E5F6' }, readAtMs: 12345 },
    ]);
  });

  it('reads an unknown NACK reason code as "other" and ignores reserved flag bits', () => {
    expect(messagesOf(parseAll(frameOf(bytes('01 02 00 00 05 00 30 42'))))).toEqual([
      { type: 'nack', refusedSeq: 5, refusedType: 0x30, reason: 'other' },
    ]);
    expect(messagesOf(parseAll(frameOf(bytes('01 10 05 00 FE'))))).toEqual([{ type: 'hello-request', seq: 5, newSession: false }]);
  });

  it('accepts the largest legal frame and refuses one byte more, then resynchronises', () => {
    const largest = frameOf(Buffer.concat([bytes('01 03 00 00 01 00 00 00'), Buffer.alloc(124, 0x41)]));
    expect(largest.length).toBe(BRIDGE_MAX_FRAME_BYTES);
    expect(messagesOf(parseAll(largest))).toEqual([{ type: 'heartbeat', uptimeMs: 1 }]);
    const tooLarge = frameOf(Buffer.concat([bytes('01 03 00 00 01 00 00 00'), Buffer.alloc(125, 0x41)]));
    const next = encodeBridgeFrame({ type: 'heartbeat', uptimeMs: 2 });
    const events = parseAll(Buffer.concat([tooLarge, next]));
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ type: 'bad-frame', reason: expect.stringMatching(/^too long/) });
    expect((events[0] as { bytes: Buffer }).bytes.length).toBe(BRIDGE_MAX_FRAME_BYTES - 1);
    expect(events[1]).toMatchObject({ type: 'message', message: { type: 'heartbeat', uptimeMs: 2 } });
  });
});

describe('BridgeFrameParser: streaming', () => {
  const frames = allMessages.map((message) => encodeBridgeFrame(message));
  const stream = Buffer.concat(frames);

  it('gives the same messages whatever the chunking, down to one byte at a time', () => {
    const parser = new BridgeFrameParser();
    const oneByOne: BridgeParseEvent[] = [];
    for (const byte of stream) oneByOne.push(...parser.push(Buffer.from([byte])));
    expect(messagesOf(oneByOne)).toEqual(allMessages);
    for (const size of [2, 3, 7, 64, 500]) {
      const chunked = new BridgeFrameParser();
      const events: BridgeParseEvent[] = [];
      for (let at = 0; at < stream.length; at += size) events.push(...chunked.push(stream.subarray(at, at + size)));
      expect(messagesOf(events)).toEqual(allMessages);
      expect(events.every((event) => event.type === 'message')).toBe(true);
    }
  });

  it('skips empty frames silently', () => {
    const events = parseAll(Buffer.concat([bytes('00 00 00'), frames[0] as Buffer, bytes('00')]));
    expect(events).toEqual([{ type: 'message', message: allMessages[0], bytes: (frames[0] as Buffer).subarray(0, -1) }]);
  });

  it('resynchronises on the next 0x00 after garbage', () => {
    const events = parseAll(Buffer.concat([bytes('13 37 FF 42 00'), frames[1] as Buffer, bytes('77 88'), frames[2] as Buffer]));
    expect(events.map((event) => event.type)).toEqual(['bad-frame', 'message', 'bad-frame']);
    // The tail of garbage glued to the third frame spoils that frame, not the ones after it.
    const after = parseAll(Buffer.concat([bytes('77 88 00'), frames[2] as Buffer]));
    expect(messagesOf(after)).toEqual([allMessages[2]]);
  });

  it('reports a long run without a delimiter once, holds a bounded buffer, and recovers', () => {
    const parser = new BridgeFrameParser();
    const events: BridgeParseEvent[] = [];
    for (let i = 0; i < 100; i += 1) events.push(...parser.push(Buffer.alloc(1000, 0x5a)));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'bad-frame', reason: expect.stringMatching(/^too long: more than 137 bytes/) });
    expect(parser.push(Buffer.concat([bytes('00'), frames[3] as Buffer]))).toMatchObject([{ type: 'message', message: allMessages[3] }]);
  });

  it('reports a partial frame at the end of input, then starts clean', () => {
    const parser = new BridgeFrameParser();
    const half = (frames[4] as Buffer).subarray(0, 5);
    expect(parser.push(half)).toEqual([]);
    expect(parser.end()).toEqual([{ type: 'bad-frame', reason: 'truncated: input ended inside a frame', bytes: half }]);
    expect(parser.end()).toEqual([]);
    expect(messagesOf(parser.push(frames[4] as Buffer))).toEqual([allMessages[4]]);
  });

  it('forgets a partial frame on reset (a re-opened port)', () => {
    const parser = new BridgeFrameParser();
    parser.push((frames[5] as Buffer).subarray(0, 6));
    parser.reset();
    expect(parser.push(frames[6] as Buffer)).toMatchObject([{ type: 'message', message: allMessages[6] }]);
  });

  it('decodeBridgeFrame never throws on random bytes', () => {
    for (let i = 0; i < 2000; i += 1) {
      const random = Buffer.from(Array.from({ length: i % 150 }, (_, k) => ((i * 31 + k * 17) % 255) + 1));
      expect(() => decodeBridgeFrame(random)).not.toThrow();
    }
  });
});

describe('RecentSeqs', () => {
  it('remembers the last 16 seqs', () => {
    const seen = new RecentSeqs();
    for (let seq = 0; seq < 16; seq += 1) expect(seen.accept(seq)).toBe(true);
    expect(seen.accept(0)).toBe(false);
    expect(seen.accept(16)).toBe(true);
    expect(seen.accept(1)).toBe(false);
    expect(seen.accept(0)).toBe(true);
    seen.clear();
    expect(seen.accept(5)).toBe(true);
  });
});

describe('BridgeStreamDecoder (punchgate decode)', () => {
  const card = (seq: number, uid: string): Buffer =>
    encodeBridgeFrame({ type: 'card-read', seq, read: cardReadFromBytes('mifare', bytes(uid)), readAtMs: 5 });
  const bootHello = encodeBridgeFrame({
    type: 'hello',
    seq: 1,
    boot: true,
    firmwareName: 'pg',
    firmwareVersion: '1',
    capabilities: { beeper: true, leds: true, display: false, tamperSwitch: false },
    displayWidth: 0,
  });

  it('reports card reads as cards, once per seq, ignores other messages, and reports bad frames', () => {
    const decoder = new BridgeStreamDecoder();
    const em = encodeBridgeFrame({ type: 'card-read', seq: 9, read: { kind: 'em4100', uid: '62E3086CED' }, readAtMs: 5 });
    const input = Buffer.concat([
      bootHello,
      encodeBridgeFrame({ type: 'heartbeat', uptimeMs: 10 }),
      card(2, '04A1B2C3'),
      card(2, '04A1B2C3'),
      bytes('DE AD 00'),
      em,
      encodeBridgeFrame({ type: 'feedback', seq: 3, feedback: { kind: 'accepted' } }),
    ]);
    const events = [...decoder.push(input), ...decoder.end()];
    expect(events).toEqual([
      { type: 'card', read: { kind: 'mifare', uid: '04A1B2C3' }, frame: card(2, '04A1B2C3').subarray(0, -1) },
      { type: 'bad-frame', reason: 'COBS: block at offset 0 runs past the end of the frame', bytes: bytes('DE AD') },
      { type: 'card', read: { kind: 'em4100', uid: '62E3086CED', number: '3808980205' }, frame: em.subarray(0, -1) },
    ]);
  });

  it('counts a seq again after the device reboots (boot hello), and reports a truncated tail', () => {
    const decoder = new BridgeStreamDecoder();
    const events = decoder.push(Buffer.concat([card(2, '04A1B2C3'), bootHello, card(2, '04A1B2C3'), card(3, '04A1B2C3')]));
    expect(events.filter((event) => event.type === 'card')).toHaveLength(3);
    expect(decoder.push(card(4, '04A1B2C3').subarray(0, 4))).toEqual([]);
    expect(decoder.end()).toMatchObject([{ type: 'bad-frame', reason: 'truncated: input ended inside a frame' }]);
  });
});

describe('parseBridgeCardText (punchgate simulate --card)', () => {
  it.each([
    ['mifare:04A1B2C3D4E5F6', { kind: 'mifare', uid: '04A1B2C3D4E5F6' }],
    ['04a1b2c3', { kind: 'mifare', uid: '04A1B2C3' }],
    [' em4100:62E3086CED ', { kind: 'em4100', uid: '62E3086CED', number: '3808980205' }],
    ['EM4100:E3086CED', { kind: 'em4100', uid: 'E3086CED', number: '3808980205' }],
    ['wiegand26:5A0144', { kind: 'wiegand26', uid: '5A0144', facility: 90, card: 324 }],
    ['wiegand34:01F40144', { kind: 'wiegand34', uid: '01F40144', facility: 500, card: 324 }],
  ])('reads %s', (text, read) => {
    expect(parseBridgeCardText(text)).toEqual(read);
  });

  it.each([
    ['ble-tag:0102', 'card "ble-tag:0102": kind "ble-tag" is not one of em4100, mifare, wiegand26, wiegand34'],
    ['mifare:', 'card "mifare:": the uid must be whole bytes of hex, like mifare:04A1B2C3'],
    ['04A1B2C', 'card "04A1B2C": the uid must be whole bytes of hex, like mifare:04A1B2C3'],
    ['mifare:04-A1-B2-C3', 'card "mifare:04-A1-B2-C3": the uid must be whole bytes of hex, like mifare:04A1B2C3'],
    ['0102030405', 'card "0102030405": mifare uid must be 4 or 7 or 10 bytes, got 5'],
    ['em4100:0102', 'card "em4100:0102": em4100 uid must be 5 or 4 bytes, got 2'],
  ])('refuses %s with a reason', (text, message) => {
    expect(() => parseBridgeCardText(text)).toThrow(message);
  });
});
