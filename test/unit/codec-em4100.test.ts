import { describe, expect, it } from 'vitest';
import { MAX_PENDING_BYTES, type DecodeEvent, type StreamDecoder } from '../../firmware-bridge/codec.js';
import { Em4100Decoder, encodeEm4100Frame } from '../../firmware-bridge/codecs/em4100.js';
import { prng } from '../support/prng.js';
import { decodeAll } from '../support/decode.js';

function chunked(bytes: Buffer, random: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() * 20);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function summary(events: DecodeEvent[]): string[] {
  return events.map((event) => (event.type === 'card' ? `card ${event.read.uid}` : `bad ${event.reason}`));
}

/** A clock the test moves by hand, so idle gaps are part of the input rather than of the machine's speed. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 0;
  return { now: () => time, advance: (ms) => (time += ms) };
}

const STX = 0x02;
const ETX = 0x03;

/** The frame built from the datasheet's rules, independently of the encoder under test. */
function specFrame(dataBytes: number[]): Buffer {
  const checksum = dataBytes.reduce((xor, byte) => xor ^ byte, 0);
  const text = [...dataBytes, checksum].map((byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join('');
  return Buffer.from([STX, ...Buffer.from(text, 'latin1'), ETX]);
}

const example = [0x62, 0xe3, 0x08, 0x6c, 0xed];
const exampleFrame = specFrame(example);

describe('EM4100 worked example (RDM6300)', () => {
  it('builds the datasheet frame and its printed number from the rules', () => {
    expect(example.reduce((xor, byte) => xor ^ byte, 0)).toBe(0x08);
    expect(exampleFrame).toEqual(Buffer.from('0236324533303836434544303803', 'hex'));
    // The printed number is the low 32 bits in decimal, zero-padded to 10 digits.
    expect(((0xe3 << 24) | (0x08 << 16) | (0x6c << 8) | 0xed) >>> 0).toBe(3808980205);
    expect(encodeEm4100Frame('62E3086CED', 'stx-etx')).toEqual(exampleFrame);
    expect(encodeEm4100Frame('62e3086ced', 'stx-etx')).toEqual(exampleFrame);
  });

  it('decodes the frame into uid, printed number and the frame bytes', () => {
    const events = decodeAll(new Em4100Decoder({ framing: 'stx-etx' }), exampleFrame);
    expect(events).toEqual([
      { type: 'card', read: { kind: 'em4100', uid: '62E3086CED', number: '3808980205' }, frame: exampleFrame },
    ]);
  });

  it('pads the printed number with zeros', () => {
    const events = decodeAll(new Em4100Decoder({ framing: 'stx-etx' }), specFrame([0x01, 0x00, 0x00, 0x00, 0x2a]));
    expect(events).toMatchObject([{ type: 'card', read: { uid: '010000002A', number: '0000000042' } }]);
  });

  it('accepts lower-case hex and reports the uid upper-case', () => {
    const lower = Buffer.from(exampleFrame.toString('latin1').toLowerCase(), 'latin1');
    expect(summary(decodeAll(new Em4100Decoder({ framing: 'stx-etx' }), lower))).toEqual(['card 62E3086CED']);
  });
});

describe('Em4100Decoder stx-etx', () => {
  const other = specFrame([0x00, 0x12, 0x34, 0x56, 0x78]);
  const stream = Buffer.concat([
    Buffer.from('noise'),
    exampleFrame,
    other.subarray(0, 6),
    exampleFrame,
    Buffer.from('\r\n'),
    other,
    Buffer.from([0xff, 0x00]),
    exampleFrame.subarray(0, 9),
  ]);

  it('gives the same events for one chunk, byte-at-a-time and random chunkings', () => {
    const whole = decodeAll(new Em4100Decoder({ framing: 'stx-etx' }), stream);
    expect(summary(whole)).toEqual([
      'bad 5 bytes outside a frame',
      'card 62E3086CED',
      'bad frame cut short by a new STX after 6 of 14 bytes',
      'card 62E3086CED',
      'card 0012345678',
      'bad 2 bytes outside a frame',
      'bad frame cut short at end of input after 9 of 14 bytes',
    ]);
    const byByte = decodeAll(new Em4100Decoder({ framing: 'stx-etx' }), ...[...stream].map((byte) => Buffer.of(byte)));
    expect(byByte).toEqual(whole);
    for (let seed = 1; seed <= 20; seed += 1) {
      expect(decodeAll(new Em4100Decoder({ framing: 'stx-etx' }), ...chunked(stream, prng(seed))), `seed ${seed}`).toEqual(whole);
    }
  });

  it('refuses a bad checksum, naming both sums, and reads the next good frame', () => {
    const corrupt = Buffer.from(exampleFrame);
    corrupt[12] = 0x39; // checksum "08" becomes "09"
    const events = decodeAll(new Em4100Decoder({ framing: 'stx-etx' }), corrupt, exampleFrame);
    expect(events[0]).toEqual({ type: 'bad-frame', reason: 'checksum mismatch: data XOR is 08, frame says 09', bytes: corrupt });
    expect(summary(events.slice(1))).toEqual(['card 62E3086CED']);
  });

  it('refuses a data byte changed under an unchanged checksum', () => {
    const corrupt = Buffer.from(exampleFrame);
    corrupt[1] = 0x37; // "62" becomes "72"
    expect(summary(decodeAll(new Em4100Decoder({ framing: 'stx-etx' }), corrupt))).toEqual([
      'bad checksum mismatch: data XOR is 18, frame says 08',
    ]);
  });

  it('refuses a non-hex character and a missing ETX with their positions', () => {
    const notHex = Buffer.from(exampleFrame);
    notHex[4] = 0x47; // 'G'
    const noEtx = Buffer.from(exampleFrame);
    noEtx[13] = 0x0d;
    expect(summary(decodeAll(new Em4100Decoder({ framing: 'stx-etx' }), notHex, noEtx, exampleFrame))).toEqual([
      'bad byte 5 of the frame (0x47) is not a hex digit',
      'bad no ETX at the end of the frame (byte 14 is 0x0D)',
      'card 62E3086CED',
    ]);
  });

  it('reports a partial frame cut by a new STX with its bytes, then reads the new frame', () => {
    const events = decodeAll(new Em4100Decoder({ framing: 'stx-etx' }), exampleFrame.subarray(0, 13), exampleFrame);
    expect(events[0]).toEqual({
      type: 'bad-frame',
      reason: 'frame cut short by a new STX after 13 of 14 bytes',
      bytes: exampleFrame.subarray(0, 13),
    });
    expect(summary(events.slice(1))).toEqual(['card 62E3086CED']);
  });

  it('ignores CR and LF between frames', () => {
    const events = decodeAll(new Em4100Decoder({ framing: 'stx-etx' }), '\r\n', exampleFrame, '\r\n\n', exampleFrame, '\r');
    expect(summary(events)).toEqual(['card 62E3086CED', 'card 62E3086CED']);
  });

  it('bounds overlong garbage: reports it in pieces of at most MAX_PENDING_BYTES, then reads on', () => {
    const garbage = Buffer.alloc(5 * MAX_PENDING_BYTES + 7, 0x55);
    const decoder = new Em4100Decoder({ framing: 'stx-etx' });
    const events = [...decoder.push(garbage), ...decoder.push(exampleFrame)];
    const bad = events.filter((event) => event.type === 'bad-frame');
    expect(bad.every((event) => event.bytes.length <= MAX_PENDING_BYTES)).toBe(true);
    expect(bad.reduce((sum, event) => sum + event.bytes.length, 0)).toBe(garbage.length);
    expect(summary(events).at(-1)).toBe('card 62E3086CED');
  });

  it('reports a trailing partial frame at end() and starts clean afterwards', () => {
    const decoder = new Em4100Decoder({ framing: 'stx-etx' });
    expect(decoder.push(exampleFrame.subarray(0, 7))).toEqual([]);
    expect(decoder.end()).toEqual([
      { type: 'bad-frame', reason: 'frame cut short at end of input after 7 of 14 bytes', bytes: exampleFrame.subarray(0, 7) },
    ]);
    expect(decoder.end()).toEqual([]);
    // The rest of the cut frame after end() is garbage, not the end of the old frame.
    expect(summary(decodeAll(decoder, exampleFrame.subarray(7), exampleFrame))).toEqual(['bad 7 bytes outside a frame', 'card 62E3086CED']);
  });
});

describe('Em4100Decoder bare (EM-18)', () => {
  const bare = exampleFrame.subarray(1, 13);
  // Its checksum (09) differs from the example's (08) on purpose: two frames with equal
  // checksums make a window of the first's checksum and the second's first 5 bytes pass.
  const other = specFrame([0x00, 0x12, 0x34, 0x56, 0x79]).subarray(1, 13);
  const bareDecoder = (clock = manualClock()) => new Em4100Decoder({ framing: 'bare', now: clock.now });

  it('encodes the 12 characters without STX/ETX and decodes them', () => {
    expect(encodeEm4100Frame('62E3086CED', 'bare')).toEqual(Buffer.from('62E3086CED08', 'latin1'));
    expect(decodeAll(bareDecoder(), bare)).toEqual([
      { type: 'card', read: { kind: 'em4100', uid: '62E3086CED', number: '3808980205' }, frame: bare },
    ]);
  });

  it('accepts a trailing CR, LF or CR LF and back-to-back frames', () => {
    const events = decodeAll(bareDecoder(), bare, '\r\n', other, '\r', bare, '\n', other, bare);
    expect(summary(events)).toEqual(['card 62E3086CED', 'card 0012345679', 'card 62E3086CED', 'card 0012345679', 'card 62E3086CED']);
  });

  it('gives the same events for any chunking of a stream with errors', () => {
    const stream = Buffer.concat([Buffer.from('Z'), bare, other.subarray(1), bare, Buffer.from('A'), other, bare.subarray(0, 5)]);
    const whole = decodeAll(bareDecoder(), stream);
    expect(summary(whole)).toEqual([
      'bad 1 bytes that are not hex digits',
      'card 62E3086CED',
      'bad checksum mismatch: data XOR is 90, frame says 96',
      'card 62E3086CED',
      'bad checksum mismatch: data XOR is A0, frame says 90',
      'card 0012345679',
      'bad incomplete frame: 5 of 12 hex characters at end of input',
    ]);
    expect(decodeAll(bareDecoder(), ...[...stream].map((byte) => Buffer.of(byte)))).toEqual(whole);
    for (let seed = 1; seed <= 20; seed += 1) {
      expect(decodeAll(bareDecoder(), ...chunked(stream, prng(seed))), `seed ${seed}`).toEqual(whole);
    }
  });

  it('slides back into step after an extra character and after a dropped one', () => {
    const extra = decodeAll(bareDecoder(), Buffer.concat([Buffer.from('7'), bare, other]));
    expect(summary(extra).filter((line) => line.startsWith('card'))).toEqual(['card 62E3086CED', 'card 0012345679']);
    const dropped = decodeAll(bareDecoder(), Buffer.concat([bare.subarray(0, 6), bare.subarray(7), other, bare]));
    expect(summary(dropped).filter((line) => line.startsWith('card'))).toEqual(['card 0012345679', 'card 62E3086CED']);
    expect(dropped[0]?.type).toBe('bad-frame');
  });

  it('restarts the window after an idle gap, so a cut read cannot shift the next one', () => {
    const clock = manualClock();
    const decoder = bareDecoder(clock);
    const events = decoder.push(bare.subarray(0, 6));
    clock.advance(51);
    events.push(...decoder.push(bare));
    expect(summary(events)).toEqual(['bad incomplete frame: 6 of 12 hex characters before an idle gap', 'card 62E3086CED']);
  });

  it('reads the same card twice in step after a dropped byte when reads are apart in time', () => {
    const clock = manualClock();
    const decoder = bareDecoder(clock);
    const events = decoder.push(Buffer.concat([bare.subarray(0, 3), bare.subarray(4)]));
    clock.advance(200);
    events.push(...decoder.push(bare), ...decoder.end());
    expect(summary(events)).toEqual(['bad incomplete frame: 11 of 12 hex characters before an idle gap', 'card 62E3086CED']);
  });

  it('shows why the gap matters: without one, every rotation of a repeated frame passes the XOR check', () => {
    // Not a wanted behaviour, a property of the format: "2E3086CED086" is the example frame
    // rotated by one character and its checksum holds. Only timing or a line end can tell.
    const decoder = new Em4100Decoder({ framing: 'bare', idleGapMs: Number.POSITIVE_INFINITY });
    const events = decodeAll(decoder, Buffer.concat([bare.subarray(1), bare, bare]));
    expect(summary(events)).toContain('card 2E3086CED0');
  });

  it('reports an incomplete window at a non-hex byte and at end(), then starts clean', () => {
    const decoder = bareDecoder();
    const events = decoder.push(Buffer.concat([bare.subarray(0, 4), Buffer.from('\r'), bare.subarray(0, 8)]));
    expect(events).toEqual([
      { type: 'bad-frame', reason: 'incomplete frame: 4 of 12 hex characters before byte 0x0D', bytes: bare.subarray(0, 4) },
    ]);
    expect(decoder.end()).toEqual([
      { type: 'bad-frame', reason: 'incomplete frame: 8 of 12 hex characters at end of input', bytes: bare.subarray(0, 8) },
    ]);
    expect(summary(decodeAll(decoder, bare))).toEqual(['card 62E3086CED']);
  });

  it('reports a run of hex garbage once per 12 never-reported characters, bounded', () => {
    // Every 12-character window of this period-12 run is a rotation of 00 00 00 00 00 01, whose
    // six bytes XOR to 01, so no window can pass (a run of one repeated digit would always pass).
    const garbage = Buffer.from('000000000001'.repeat(20), 'latin1');
    const events = decodeAll(bareDecoder(), garbage);
    expect(events.every((event) => event.type === 'bad-frame' && event.bytes.length <= 12)).toBe(true);
    expect(events.reduce((sum, event) => sum + (event.type === 'bad-frame' ? event.bytes.length : 0), 0)).toBe(garbage.length);
  });

  it('bounds overlong non-hex garbage and reads on', () => {
    const garbage = Buffer.alloc(3 * MAX_PENDING_BYTES + 1, 0xff);
    const decoder = bareDecoder();
    const events = [...decoder.push(garbage), ...decoder.push(bare)];
    const bad = events.filter((event) => event.type === 'bad-frame');
    expect(bad.every((event) => event.bytes.length <= MAX_PENDING_BYTES)).toBe(true);
    expect(bad.reduce((sum, event) => sum + event.bytes.length, 0)).toBe(garbage.length);
    expect(summary(events).at(-1)).toBe('card 62E3086CED');
  });
});

describe('encodeEm4100Frame', () => {
  it('refuses uids that are not 10 hex characters, naming them', () => {
    expect(() => encodeEm4100Frame('62E3086CE', 'stx-etx')).toThrow(/"62E3086CE" must be 10 hex characters/);
    expect(() => encodeEm4100Frame('62E3086CEG', 'bare')).toThrow(RangeError);
    expect(() => encodeEm4100Frame('', 'bare')).toThrow(RangeError);
  });

  it('round-trips random ids through both framings', () => {
    const random = prng(7);
    for (let i = 0; i < 200; i += 1) {
      const uid = Array.from({ length: 10 }, () => '0123456789ABCDEF'[Math.floor(random() * 16)]).join('');
      for (const framing of ['stx-etx', 'bare'] as const) {
        const events = decodeAll(new Em4100Decoder({ framing, now: () => 0 }), encodeEm4100Frame(uid, framing));
        expect(summary(events)).toEqual([`card ${uid}`]);
      }
    }
  });
});
