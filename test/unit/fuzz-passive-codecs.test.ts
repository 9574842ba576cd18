import { describe, expect, it } from 'vitest';
import { credentialKey, em4100Number, normalizeCredential, wiegandUid, type CardRead } from '../../core/credential.js';
import { MAX_PENDING_BYTES, type DecodeEvent, type StreamDecoder } from '../../firmware-bridge/codec.js';
import { AsciiLineDecoder, encodeAsciiLine } from '../../firmware-bridge/codecs/ascii-line.js';
import { Em4100Decoder, encodeEm4100Frame } from '../../firmware-bridge/codecs/em4100.js';
import { WiegandDecoder, encodeWiegand } from '../../firmware-bridge/codecs/wiegand.js';
import { AsciiOptions, WiegandOptions } from '../../firmware-bridge/reader-protocols.js';
import { prng } from '../support/prng.js';

/**
 * Fuzzing every passive decoder in every option form with random bytes and with real frames
 * corrupted the ways a serial line corrupts them. Set PUNCHGATE_FUZZ_SEED to replay a failure.
 */
const SEED = Number(process.env.PUNCHGATE_FUZZ_SEED ?? 0x5eed2026);

type Random = () => number;

const int = (random: Random, below: number) => Math.floor(random() * below);
const randomHex = (random: Random, bytes: number) => Buffer.from(Array.from({ length: bytes }, () => int(random, 256))).toString('hex').toUpperCase();

/**
 * How much a form's own check can promise about corrupted input:
 * - `strong`: a checksum or parity that catches any single corruption of a frame, and a frame
 *   start no corruption of its neighbour can hide (RDM6300 STX, Wiegand bit lines): every card
 *   reported was sent.
 * - `bare`: EM-18's checksum over a sliding window: a corrupted read passes about 1 time in 256.
 * - `none`: Wiegand hex/decimal and ASCII lines carry no check at all, so a corrupted digit is
 *   just another valid card. For these only the weaker properties hold: no exception, every
 *   reported value is well formed, and every intact line after an intact line is reported.
 */
type Check = 'strong' | 'bare' | 'none';

interface Form {
  name: string;
  check: Check;
  decoder: () => StreamDecoder;
  card: (random: Random) => CardRead;
  encode: (read: CardRead) => Buffer;
  /** Characters a near-miss generator draws from, to reach the parsers of unchecked forms. */
  alphabet?: string;
  /** Reads are bursts apart in time (EM-18), so the decoder may use the idle gap between them. */
  bursts?: boolean;
  /**
   * Which intact frames must be reported whatever the corruption around them:
   * - `all`: every one (a frame start no corruption can hide: STX, or an idle gap);
   * - `after-intact`: those after an intact frame (a line is whole only if the line before it
   *   kept its line end);
   * - `tail`: only the last two of three fresh cards closing the stream, i.e. the decoder gets
   *   back into step by itself.
   */
  survival: 'all' | 'after-intact' | 'tail';
}

const HEX_TEXT = '0123456789ABCDEFabcdef\r\n';
/** Heavy on zeros, so that 10-digit lines often fit in 24 bits. */
const DECIMAL_TEXT = `${'0'.repeat(10)}123456789\r\n`;

const emCard = (random: Random): CardRead => ({ kind: 'em4100', uid: randomHex(random, 5) });

function wiegandForm(bits: 26 | 34, output: WiegandOptions['output']): Form {
  const options = WiegandOptions.parse({ bits, output });
  return {
    name: `wiegand ${bits} ${output}`,
    check: output === 'bits' ? 'strong' : 'none',
    survival: 'after-intact',
    decoder: () => new WiegandDecoder(options),
    card: (random) => {
      const facility = int(random, bits === 26 ? 256 : 65536);
      const card = int(random, 65536);
      return { kind: bits === 26 ? 'wiegand26' : 'wiegand34', uid: wiegandUid(bits, facility, card), facility, card };
    },
    encode: (read) => encodeWiegand(read.facility ?? 0, read.card ?? 0, options),
    // Mostly bits, so that lines of the right length (and, 1 time in 4, right parity) occur.
    alphabet: output === 'bits' ? `${'01'.repeat(26)}\r\n` : output === 'hex' ? HEX_TEXT : DECIMAL_TEXT,
  };
}

function asciiForm(input: Partial<AsciiOptions>): Form {
  const options = AsciiOptions.parse(input);
  const card = (random: Random): CardRead => {
    if (options.format === 'dec24' || options.format === 'fc-card') return { kind: 'wiegand26', uid: randomHex(random, 3) };
    if (options.kind === 'em4100') return emCard(random);
    return { kind: 'mifare', uid: randomHex(random, options.format === 'dec32' ? 4 : ([4, 7, 10][int(random, 3)] ?? 4)) };
  };
  return {
    name: `ascii ${options.format} ${options.kind} ${options.byteOrder}`,
    check: 'none',
    survival: 'after-intact',
    decoder: () => new AsciiLineDecoder(options),
    card,
    encode: (read) => encodeAsciiLine(read, options),
    alphabet: options.format === 'fc-card' ? `${DECIMAL_TEXT},` : options.format === 'hex' ? HEX_TEXT : DECIMAL_TEXT,
  };
}

const forms: Form[] = [
  { name: 'rdm6300 stx-etx', check: 'strong', survival: 'all', decoder: () => new Em4100Decoder({ framing: 'stx-etx' }), card: emCard, encode: (read) => encodeEm4100Frame(read.uid, 'stx-etx') },
  {
    name: 'em18 bare, reads apart in time',
    check: 'bare',
    survival: 'all',
    bursts: true,
    decoder: () => new Em4100Decoder({ framing: 'bare', now: clock.now }),
    card: emCard,
    encode: (read) => encodeEm4100Frame(read.uid, 'bare'),
  },
  {
    // Back to back with no gap: a repeated card out of step is indistinguishable from a real
    // one (every rotation passes the XOR check), so after a corruption the decoder can report
    // rotated ids until a different card brings it back into step. Only robustness and that
    // recovery are asserted here.
    name: 'em18 bare, back to back',
    check: 'none',
    survival: 'tail',
    decoder: () => new Em4100Decoder({ framing: 'bare', idleGapMs: Number.POSITIVE_INFINITY }),
    card: emCard,
    encode: (read) => encodeEm4100Frame(read.uid, 'bare'),
    alphabet: '0123456789ABCDEF\r\n',
  },
  ...([26, 34] as const).flatMap((bits) => (['bits', 'hex', 'decimal'] as const).map((output) => wiegandForm(bits, output))),
  asciiForm({ format: 'hex', kind: 'em4100' }),
  asciiForm({ format: 'hex', kind: 'mifare', byteOrder: 'msb-first' }),
  asciiForm({ format: 'hex', kind: 'mifare', byteOrder: 'lsb-first' }),
  asciiForm({ format: 'dec32', kind: 'em4100' }),
  asciiForm({ format: 'dec32', kind: 'mifare', byteOrder: 'lsb-first' }),
  asciiForm({ format: 'dec24' }),
  asciiForm({ format: 'fc-card' }),
];

/** The bursts form's time: moved by the feeder between reads, never by the machine's speed. */
const clock = (() => {
  let time = 0;
  return { now: () => time, advance: (ms: number) => (time += ms) };
})();

const keyOf = (read: CardRead) => credentialKey(normalizeCredential(read));

function chunks(bytes: Buffer, random: Random): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = random() < 0.9 ? 1 + int(random, 64) : 1 + int(random, 2048);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** One corruption: a bit flip, a dropped, duplicated or inserted byte. */
function mutate(frame: Buffer, random: Random): Buffer {
  const at = int(random, frame.length);
  const bytes = [...frame];
  switch (int(random, 4)) {
    case 0:
      bytes[at] = (bytes[at] ?? 0) ^ (1 << int(random, 8));
      break;
    case 1:
      bytes.splice(at, 1);
      break;
    case 2:
      bytes.splice(at, 0, bytes[at] ?? 0);
      break;
    default:
      bytes.splice(int(random, frame.length + 1), 0, int(random, 256));
  }
  return Buffer.from(bytes);
}

interface Sent {
  read: CardRead;
  bytes: Buffer;
  intact: boolean;
}

/**
 * Frames from a small pool and fresh ones, so the same card often comes twice in a row, closed
 * by three intact fresh cards.
 */
function frames(form: Form, random: Random, count: number, corrupted: number, maxMutations: number): Sent[] {
  const pool = Array.from({ length: 20 }, () => form.card(random));
  const sent = Array.from({ length: count }, () => {
    const read = random() < 0.5 ? (pool[int(random, pool.length)] ?? form.card(random)) : form.card(random);
    let bytes = form.encode(read);
    const intact = random() >= corrupted;
    if (!intact) {
      const mutations = 1 + int(random, maxMutations);
      for (let i = 0; i < mutations; i += 1) bytes = mutate(bytes, random);
    }
    return { read, bytes, intact };
  });
  for (let i = 0; i < 3; i += 1) {
    const read = form.card(random);
    sent.push({ read, bytes: form.encode(read), intact: true });
  }
  return sent;
}

function feed(form: Form, decoder: StreamDecoder, input: Buffer[], random: Random, where: string): DecodeEvent[] {
  const events: DecodeEvent[] = [];
  try {
    for (const burst of input) {
      for (const chunk of chunks(burst, random)) events.push(...decoder.push(chunk));
      if (form.bursts) clock.advance(200);
    }
    events.push(...decoder.end());
  } catch (error) {
    throw new Error(`${where}: decoder threw ${(error as Error).stack ?? String(error)}`);
  }
  return events;
}

/**
 * Every event is sane: bad frames bounded and explained, cards valid and re-encodable to
 * themselves. Plain checks first and `expect` only on failure: there are tens of thousands of events.
 */
function expectWellFormed(form: Form, events: DecodeEvent[], where: string): CardRead[] {
  const cards: CardRead[] = [];
  for (const event of events) {
    if (event.type === 'bad-frame') {
      if (event.reason.length === 0 || event.bytes.length === 0 || event.bytes.length > MAX_PENDING_BYTES) {
        expect.fail(`${where}: malformed bad-frame event ${JSON.stringify({ reason: event.reason, length: event.bytes.length })}`);
      }
      continue;
    }
    const { read } = event;
    let key: string;
    try {
      key = keyOf(read);
    } catch (error) {
      return expect.fail(`${where}: reported ${JSON.stringify(read)}: ${(error as Error).message}`);
    }
    if (read.kind === 'em4100' && read.number !== em4100Number(read.uid)) expect.fail(`${where}: wrong number in ${JSON.stringify(read)}`);
    const again = form.decoder();
    const back = [...again.push(form.encode(read)), ...again.end()];
    if (back.length !== 1 || back[0]?.type !== 'card' || keyOf(back[0].read) !== key) {
      expect.fail(`${where}: ${JSON.stringify(read)} does not re-encode to itself`);
    }
    cards.push(read);
  }
  return cards;
}

/** The keys of `wanted` appear in `seen` in order (other reads may come between). */
function missingInOrder(wanted: string[], seen: string[]): string[] {
  let at = 0;
  const missing: string[] = [];
  for (const key of wanted) {
    const found = seen.indexOf(key, at);
    if (found < 0) missing.push(key);
    else at = found + 1;
  }
  return missing;
}

/** Intact frames the decoder must report whatever happened around them. */
function mustSurvive(form: Form, sent: Sent[]): string[] {
  if (form.survival === 'tail') return sent.slice(-2).map((frame) => keyOf(frame.read));
  return sent
    .filter((frame, index) => frame.intact && (form.survival === 'all' || index === 0 || sent[index - 1]?.intact === true))
    .map((frame) => keyOf(frame.read));
}

let totalBytes = 0;
let streamsRun = 0;
const streamsPlanned = forms.reduce((sum, form) => sum + (form.alphabet ? 4 : 3), 0);

describe(`passive codec fuzz (seed ${SEED})`, () => {
  forms.forEach((form, index) => {
    const where = (stream: string) => `seed ${SEED}, ${form.name}, ${stream}`;

    it(`${form.name}: random bytes`, () => {
      const random = prng(SEED + index * 7919);
      const bytes = Buffer.from(Array.from({ length: 160_000 }, () => int(random, 256)));
      totalBytes += bytes.length;
      streamsRun += 1;
      const cards = expectWellFormed(form, feed(form, form.decoder(), [bytes], random, where('random bytes')), where('random bytes'));
      // Checked formats need a checksum or 26-34 parity-consistent characters in a row:
      // from uniform bytes that practically never happens.
      if (form.check !== 'none') expect(cards, where('random bytes')).toEqual([]);
    });

    if (form.alphabet) {
      const alphabet = form.alphabet;
      it(`${form.name}: near-miss random text`, () => {
        const random = prng(SEED + index * 7919 + 1);
        const bytes = Buffer.from(Array.from({ length: 60_000 }, () => alphabet.charCodeAt(int(random, alphabet.length))));
        totalBytes += bytes.length;
        streamsRun += 1;
        const events = feed(form, form.decoder(), [bytes], random, where('near-miss text'));
        expectWellFormed(form, events, where('near-miss text'));
        // Both kinds of event occur, so the parser was really exercised on both paths.
        expect(events.some((event) => event.type === 'card'), where('near-miss text')).toBe(true);
        expect(events.some((event) => event.type === 'bad-frame'), where('near-miss text')).toBe(true);
      });
    }

    for (const [label, maxMutations] of [['single corruptions', 1], ['multiple corruptions', 5]] as const) {
      it(`${form.name}: valid frames with ${label}`, () => {
        const random = prng(SEED + index * 7919 + maxMutations * 2);
        const sent = frames(form, random, 6000, 0.3, maxMutations);
        const input = form.bursts ? sent.map((frame) => frame.bytes) : [Buffer.concat(sent.map((frame) => frame.bytes))];
        totalBytes += input.reduce((sum, bytes) => sum + bytes.length, 0);
        streamsRun += 1;
        const context = where(label);
        const cards = expectWellFormed(form, feed(form, form.decoder(), input, random, context), context);
        const seen = cards.map(keyOf);

        const survivors = mustSurvive(form, sent);
        if (form.survival === 'tail') {
          expect(seen.slice(-2), `${context}: not back in step at the end`).toEqual(survivors);
        } else {
          const missing = missingInOrder(survivors, seen);
          expect(missing.slice(0, 5), `${context}: intact frames not reported (${missing.length})`).toEqual([]);
        }

        const sentKeys = new Set(sent.map((frame) => keyOf(frame.read)));
        const invented = seen.filter((key) => !sentKeys.has(key));
        if (form.check === 'strong' && maxMutations === 1) {
          expect(invented, `${context}: cards never sent`).toEqual([]);
        }
        if (form.check === 'bare' && maxMutations === 1) {
          // An extra character makes two windows per corrupted read, each passing 1 time in 256.
          const corrupted = sent.filter((frame) => !frame.intact).length;
          expect(invented.length, `${context}: ${invented.length} cards never sent from ${corrupted} corrupted reads`).toBeLessThanOrEqual(
            Math.ceil(corrupted / 64),
          );
        }
      });
    }
  });

  it('fed several megabytes in all', () => {
    // Only meaningful when the whole file ran (not under a -t filter).
    if (streamsRun === streamsPlanned) expect(totalBytes).toBeGreaterThan(4_000_000);
  });
});
