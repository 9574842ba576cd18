import { describe, expect, it } from 'vitest';
import { MAX_PENDING_BYTES, type DecodeEvent } from '../../firmware-bridge/codec.js';
import {
  buildInListPassiveTargetResponse,
  buildPn532Frame,
  PN532_ACK,
  PN532_ERROR_FRAME,
  PN532_NACK,
  Pn532FrameParser,
  Pn532ResponseDecoder,
} from '../../firmware-bridge/codecs/pn532-frame.js';

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Corpus {
  stream: Buffer;
  /** UIDs of every card frame put in the stream, intact or mutated. */
  sent: Set<string>;
  /** How many card frames went in intact. */
  intact: number;
}

function makeCorpus(seed: number, targetBytes: number): Corpus {
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  const cardFrame = (): { uid: string; frame: Buffer } => {
    const uid = randomBytes([4, 7, 10][int(3)] ?? 4);
    const response = buildInListPassiveTargetResponse([{ sensRes: Buffer.from([0x00, 0x44]), selRes: 0x00, uid }]);
    return { uid: uid.toString('hex').toUpperCase(), frame: buildPn532Frame(0xd5, response) };
  };
  const otherFrame = (): Buffer => {
    switch (int(5)) {
      case 0:
        return PN532_ACK;
      case 1:
        return PN532_NACK;
      case 2:
        return PN532_ERROR_FRAME;
      case 3:
        return buildPn532Frame(0xd5, Buffer.from([0x4b, 0x00]));
      default: // any response, extended frames included
        return buildPn532Frame(0xd5, randomBytes(1 + int(264)));
    }
  };
  const mutate = (frame: Buffer): Buffer => {
    const copy = Buffer.from(frame);
    switch (int(5)) {
      case 0: // flip bits in one byte
        copy[int(copy.length)] ^= 1 + int(255);
        return copy;
      case 1: // cut short
        return copy.subarray(0, int(copy.length));
      case 2: // drop a byte
        return Buffer.concat([copy.subarray(0, int(copy.length)), copy.subarray(int(copy.length) + 1)]);
      case 3: // insert random bytes
        return Buffer.concat([copy.subarray(0, int(copy.length)), randomBytes(1 + int(4)), copy.subarray(int(copy.length))]);
      default: // overwrite a run
        randomBytes(1 + int(6)).copy(copy, int(copy.length));
        return copy;
    }
  };

  const parts: Buffer[] = [];
  const sent = new Set<string>();
  let intact = 0;
  let size = 0;
  while (size < targetBytes) {
    let part: Buffer;
    const roll = random();
    if (roll < 0.3) {
      part = randomBytes(1 + int(600));
    } else if (roll < 0.6) {
      const card = cardFrame();
      sent.add(card.uid);
      intact += 1;
      part = card.frame;
    } else if (roll < 0.85) {
      const card = cardFrame();
      sent.add(card.uid);
      part = mutate(card.frame);
    } else {
      part = random() < 0.5 ? otherFrame() : mutate(otherFrame());
    }
    parts.push(part);
    size += part.length;
  }
  return { stream: Buffer.concat(parts), sent, intact };
}

function* chunks(stream: Buffer, seed: number): Generator<Buffer> {
  const random = prng(seed);
  for (let at = 0; at < stream.length; ) {
    // Mostly small reads, as a serial port gives them, sometimes large ones.
    const size = random() < 0.9 ? 1 + Math.floor(random() * 64) : 1 + Math.floor(random() * 4096);
    yield stream.subarray(at, at + size);
    at += size;
  }
}

describe('PN532 fuzz', () => {
  const corpus = makeCorpus(0x5eed_2024, 4_000_000);

  it('Pn532FrameParser survives random and mutated input in random chunks, within its buffer bound', () => {
    const parser = new Pn532FrameParser();
    let items = 0;
    let maxBuffered = 0;
    for (const chunk of chunks(corpus.stream, 1)) {
      items += parser.push(chunk).length;
      maxBuffered = Math.max(maxBuffered, parser.buffered);
    }
    items += parser.end().length;
    expect(items).toBeGreaterThan(corpus.intact);
    expect(maxBuffered).toBeLessThanOrEqual(MAX_PENDING_BYTES);
    expect(parser.buffered).toBe(0);
  });

  it('Pn532ResponseDecoder reports only cards that were sent, and nearly all intact ones', () => {
    const decoder = new Pn532ResponseDecoder();
    const events: DecodeEvent[] = [];
    for (const chunk of chunks(corpus.stream, 2)) events.push(...decoder.push(chunk));
    events.push(...decoder.end());
    const cards = events.flatMap((event) => (event.type === 'card' ? [event.read] : []));
    const strangers = cards.filter((read) => !corpus.sent.has(read.uid));
    expect(strangers).toEqual([]);
    for (const read of cards) expect(read.kind).toBe('mifare');
    // Garbage just before a frame can swallow it (a false start code whose length passes LCS),
    // so not every intact frame survives, but almost all must.
    expect(cards.length).toBeGreaterThan(corpus.intact * 0.95);
    expect(events.some((event) => event.type === 'bad-frame')).toBe(true);
  });

  it('decodes the same whether fed in one piece or in random chunks', () => {
    const whole = new Pn532ResponseDecoder();
    const expected = [...whole.push(corpus.stream.subarray(0, 200_000)), ...whole.end()];
    const chunked = new Pn532ResponseDecoder();
    const got: DecodeEvent[] = [];
    for (const chunk of chunks(corpus.stream.subarray(0, 200_000), 3)) got.push(...chunked.push(chunk));
    got.push(...chunked.end());
    const cardsOf = (events: DecodeEvent[]): string[] => events.flatMap((event) => (event.type === 'card' ? [event.read.uid] : []));
    expect(cardsOf(got)).toEqual(cardsOf(expected));
  });
});
