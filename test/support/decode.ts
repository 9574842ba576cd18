import type { CardRead } from '../../core/credential.js';
import type { DecodeEvent, StreamDecoder } from '../../firmware-bridge/codec.js';

/** Feeds chunks (strings as latin1 bytes) then ends the stream: every event the decoder made. */
export function decodeAll(decoder: StreamDecoder, ...chunks: (Buffer | string)[]): DecodeEvent[] {
  const events = chunks.flatMap((chunk) => decoder.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'latin1')));
  return [...events, ...decoder.end()];
}

/** The cards of a stream that must hold no bad frame. */
export function cardsOnly(events: DecodeEvent[]): CardRead[] {
  return events.map((event) => {
    if (event.type !== 'card') throw new Error(`expected only cards, got bad frame: ${event.reason}`);
    return event.read;
  });
}
