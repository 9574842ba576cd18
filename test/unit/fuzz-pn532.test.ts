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
import { prng } from '../support/prng.js';

/**
 * What damage a card frame takes. One corrupted byte is always caught (it changes the LEN/LCS
 * pair or the DCS sum). Dropped, inserted or overwritten runs of bytes and cuts change the sum
 * by a random amount, which an 8-bit checksum misses about once in 256: the format's limit.
 */
type Damage = 'one-byte' | 'any';

interface Corpus {
  stream: Buffer;
  /** UIDs of every card frame put in the stream, intact or damaged. */
  sent: Set<string>;
  /** Card frames a correct parser must read: intact, or damaged only in the unchecked preamble. */
  readable: number;
  /** Card frames damaged where a checksum covers them. */
  damaged: number;
}

function makeCorpus(seed: number, targetBytes: number, damage: Damage): Corpus {
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
  /** Corrupts one byte past the preamble (no check covers the preamble, so damage there is harmless). */
  const corruptOneByte = (frame: Buffer): Buffer => {
    const copy = Buffer.from(frame);
    const at = 1 + int(copy.length - 1);
    copy[at] = (copy[at] ?? 0) ^ (1 + int(255));
    return copy;
  };
  const mutate = (frame: Buffer): Buffer => {
    const copy = Buffer.from(frame);
    switch (int(5)) {
      case 0:
        return corruptOneByte(copy);
      case 1: // cut short
        return copy.subarray(0, int(copy.length));
      case 2: // drop a byte (a UART overrun)
        return Buffer.concat([copy.subarray(0, int(copy.length)), copy.subarray(int(copy.length) + 1)]);
      case 3: // insert line noise
        return Buffer.concat([copy.subarray(0, int(copy.length)), randomBytes(1 + int(4)), copy.subarray(int(copy.length))]);
      default: // overwrite a run
        randomBytes(1 + int(6)).copy(copy, int(copy.length));
        return copy;
    }
  };

  const parts: Buffer[] = [];
  const sent = new Set<string>();
  let readable = 0;
  let damaged = 0;
  let size = 0;
  while (size < targetBytes) {
    let part: Buffer;
    const roll = random();
    if (roll < 0.3) {
      part = randomBytes(1 + int(600));
    } else if (roll < 0.6) {
      const card = cardFrame();
      sent.add(card.uid);
      readable += 1;
      part = card.frame;
    } else if (roll < 0.85) {
      const card = cardFrame();
      sent.add(card.uid);
      damaged += 1;
      part = damage === 'one-byte' ? corruptOneByte(card.frame) : mutate(card.frame);
    } else {
      part = random() < 0.5 ? otherFrame() : mutate(otherFrame());
    }
    parts.push(part);
    size += part.length;
  }
  return { stream: Buffer.concat(parts), sent, readable, damaged };
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

function decodeInChunks(stream: Buffer, seed: number): DecodeEvent[] {
  const decoder = new Pn532ResponseDecoder();
  const events: DecodeEvent[] = [];
  for (const chunk of chunks(stream, seed)) events.push(...decoder.push(chunk));
  events.push(...decoder.end());
  return events;
}

const uidsOf = (events: DecodeEvent[]): string[] => events.flatMap((event) => (event.type === 'card' ? [event.read.uid] : []));

describe('PN532 fuzz', () => {
  const anyDamage = makeCorpus(0x5eed_2024, 3_000_000, 'any');
  const oneByteDamage = makeCorpus(0x0bad_f00d, 2_000_000, 'one-byte');

  it('Pn532FrameParser survives random and damaged input in random chunks, within its buffer bound', () => {
    const parser = new Pn532FrameParser();
    let items = 0;
    let maxBuffered = 0;
    for (const chunk of chunks(anyDamage.stream, 1)) {
      items += parser.push(chunk).length;
      maxBuffered = Math.max(maxBuffered, parser.buffered);
    }
    items += parser.end().length;
    expect(items).toBeGreaterThan(anyDamage.readable);
    expect(maxBuffered).toBeLessThanOrEqual(MAX_PENDING_BYTES);
    expect(parser.buffered).toBe(0);
  });

  it('Pn532ResponseDecoder reports only cards that were sent, refusing every frame with a corrupted byte', () => {
    const events = decodeInChunks(oneByteDamage.stream, 2);
    const uids = uidsOf(events);
    expect(uids.filter((uid) => !oneByteDamage.sent.has(uid))).toEqual([]);
    // Nearly all readable frames come through: garbage just before a frame can swallow it (a
    // false start code whose length passes LCS). None of the damaged ones may.
    expect(uids.length).toBeGreaterThan(oneByteDamage.readable * 0.98);
    expect(uids.length).toBeLessThanOrEqual(oneByteDamage.readable);
    expect(events.filter((event) => event.type === 'bad-frame').length).toBeGreaterThan(oneByteDamage.damaged * 0.9);
  });

  it('Pn532ResponseDecoder lets multi-byte damage through no more often than an 8-bit checksum must', () => {
    const events = decodeInChunks(anyDamage.stream, 3);
    const uids = uidsOf(events);
    const strangers = uids.filter((uid) => !anyDamage.sent.has(uid));
    // A dropped, inserted or overwritten run shifts the UID and changes the DCS sum by a random
    // amount: 1 in 256 passes. Four in five damage kinds are like that.
    const expectedMisses = (anyDamage.damaged * 0.8) / 256;
    expect(strangers.length).toBeLessThan(expectedMisses * 2);
    expect(uids.length - strangers.length).toBeGreaterThan(anyDamage.readable * 0.98);
  });

  it('decodes the same whether fed in one piece or in random chunks', () => {
    const slice = anyDamage.stream.subarray(0, 300_000);
    const whole = new Pn532ResponseDecoder();
    // Long garbage runs are flushed in pieces that depend on chunking; everything else may not.
    const framed = (events: DecodeEvent[]): string[] =>
      events.flatMap((event) => (event.type === 'card' ? [`card ${event.read.uid}`] : event.reason.endsWith('outside any frame') ? [] : [event.reason]));
    const expected = framed([...whole.push(slice), ...whole.end()]);
    expect(expected.length).toBeGreaterThan(1000);
    expect(framed(decodeInChunks(slice, 4))).toEqual(expected);
    expect(framed(decodeInChunks(slice, 5))).toEqual(expected);
  });
});
