import { describe, expect, it } from 'vitest';
import type { DecodeEvent } from '../../firmware-bridge/codec.js';
import {
  BridgeFrameParser,
  BridgeStreamDecoder,
  cardReadFromBytes,
  encodeBridgeFrame,
  type BridgeCardKind,
  type BridgeMessage,
  type BridgeParseEvent,
} from '../../firmware-bridge/codecs/bridge-frame.js';
import { feedbackKinds } from '../../core/feedback.js';
import { prng } from '../support/prng.js';

const TARGET_BYTES = 3 * 1024 * 1024;
const uidLengths: Record<BridgeCardKind, number[]> = { em4100: [4, 5], mifare: [4, 7, 10], wiegand26: [3], wiegand34: [4] };
const kinds = Object.keys(uidLengths) as BridgeCardKind[];

interface Corpus {
  stream: Buffer;
  /** Every message encoded into the stream, mutated or not. */
  sent: Set<string>;
  /** Messages sent intact after a delimiter: the parser must report each of these. */
  intact: BridgeMessage[];
  /** Card reads sent intact, each with a fresh seq: the stream decoder must report each once. */
  intactCards: string[];
  sentCards: Set<string>;
}

function makeCorpus(seed: number): Corpus {
  const random = prng(seed);
  const int = (max: number): number => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const randomBytes = (length: number, zeros: boolean): Buffer =>
    Buffer.from(Array.from({ length }, () => (zeros ? int(256) : 1 + int(255))));
  let cardSeq = 0;

  const randomMessage = (): BridgeMessage => {
    switch (int(7)) {
      case 0:
        return { type: 'ack', ackSeq: int(0x10000) };
      case 1:
        return { type: 'heartbeat', uptimeMs: int(2 ** 32) };
      case 2:
        return { type: 'tamper', seq: int(0x10000), active: random() < 0.5 };
      case 3:
        return { type: 'feedback', seq: int(0x10000), feedback: { kind: pick(feedbackKinds), text: 'x'.repeat(int(33)) || 'ok' } };
      case 4:
        return {
          type: 'hello',
          seq: int(0x10000),
          boot: false,
          firmwareName: 'fw'.repeat(1 + int(16)),
          firmwareVersion: String(int(1000)),
          capabilities: { beeper: random() < 0.5, leds: true, display: false, tamperSwitch: random() < 0.5 },
          displayWidth: int(256),
        };
      default: {
        const kind = pick(kinds);
        const read = cardReadFromBytes(kind, randomBytes(pick(uidLengths[kind]), true));
        cardSeq = (cardSeq + 1) & 0xffff;
        return { type: 'card-read', seq: cardSeq, read, readAtMs: int(2 ** 32) };
      }
    }
  };

  const mutate = (frame: Buffer): Buffer => {
    const copy = Buffer.from(frame);
    switch (int(5)) {
      case 0: {
        const at = int(copy.length);
        copy[at] = (copy[at] as number) ^ (1 << int(8));
        return copy;
      }
      case 1:
        return copy.subarray(0, int(copy.length));
      case 2: {
        const at = int(copy.length);
        return Buffer.concat([copy.subarray(0, at), randomBytes(1 + int(4), true), copy.subarray(at)]);
      }
      case 3: {
        const at = int(copy.length);
        return Buffer.concat([copy.subarray(0, at), copy.subarray(at + 1 + int(4))]);
      }
      default:
        for (let n = 0; n < 1 + int(6); n += 1) copy[int(copy.length)] = int(256);
        return copy;
    }
  };

  const parts: Buffer[] = [];
  const sent = new Set<string>();
  const sentCards = new Set<string>();
  const intact: BridgeMessage[] = [];
  const intactCards: string[] = [];
  let size = 0;
  while (size < TARGET_BYTES) {
    const roll = random();
    let part: Buffer;
    if (roll < 0.8) {
      const message = randomMessage();
      const frame = encodeBridgeFrame(message);
      sent.add(JSON.stringify(message));
      if (message.type === 'card-read') sentCards.add(JSON.stringify(message.read));
      if (roll < 0.5) {
        part = frame;
        intact.push(message);
        if (message.type === 'card-read') intactCards.push(JSON.stringify(message.read));
      } else {
        // A spoiled frame is followed by a delimiter, so it can spoil nothing after it.
        part = Buffer.concat([mutate(frame), Buffer.from([0])]);
      }
    } else if (roll < 0.95) {
      part = Buffer.concat([randomBytes(int(300), true), Buffer.from([0])]);
    } else {
      part = Buffer.concat([randomBytes(100 + int(2000), false), Buffer.from([0])]);
    }
    parts.push(part);
    size += part.length;
  }
  return { stream: Buffer.concat(parts), sent, intact, intactCards, sentCards };
}

function* chunks(stream: Buffer, seed: number): Generator<Buffer> {
  const random = prng(seed);
  let at = 0;
  while (at < stream.length) {
    const size = random() < 0.1 ? 1 + Math.floor(random() * 2000) : 1 + Math.floor(random() * 40);
    yield stream.subarray(at, at + size);
    at += size;
  }
}

describe('bridge protocol fuzz', () => {
  const corpus = makeCorpus(0x5eed);

  it('BridgeFrameParser: no exception, only messages that were sent, every intact frame found', () => {
    expect(corpus.stream.length).toBeGreaterThan(TARGET_BYTES);
    const parser = new BridgeFrameParser();
    const events: BridgeParseEvent[] = [];
    expect(() => {
      for (const chunk of chunks(corpus.stream, 1)) events.push(...parser.push(chunk));
      events.push(...parser.end());
    }).not.toThrow();
    const messages = events.flatMap((event) => (event.type === 'message' ? [event.message] : []));
    for (const message of messages) expect(corpus.sent.has(JSON.stringify(message))).toBe(true);
    // Intact frames come out in order; spoiled ones either vanish or (rarely) still decode as sent.
    const keys = messages.map((message) => JSON.stringify(message));
    let at = 0;
    for (const message of corpus.intact) {
      const found = keys.indexOf(JSON.stringify(message), at);
      expect(found).toBeGreaterThanOrEqual(at);
      at = found + 1;
    }
    expect(events.filter((event) => event.type === 'bad-frame').length).toBeGreaterThan(1000);
  }, 15_000);

  it('BridgeStreamDecoder: no exception, every card reported was sent, every intact card reported', () => {
    const decoder = new BridgeStreamDecoder();
    const events: DecodeEvent[] = [];
    expect(() => {
      for (const chunk of chunks(corpus.stream, 2)) events.push(...decoder.push(chunk));
      events.push(...decoder.end());
    }).not.toThrow();
    const cards = events.flatMap((event) => (event.type === 'card' ? [JSON.stringify(event.read)] : []));
    for (const card of cards) expect(corpus.sentCards.has(card)).toBe(true);
    const reported = new Set(cards);
    for (const card of corpus.intactCards) expect(reported.has(card)).toBe(true);
    for (const event of events) if (event.type === 'bad-frame') expect(event.reason.length).toBeGreaterThan(0);
  }, 15_000);
});
